// The web UI's static files, served at "/" by lwm2m-server when --web-root names a folder.
#pragma once

#include <filesystem>

#include <lwm2m/http/router.hpp>

namespace lwm2m::app {

/// Registers public GET routes "/" and "/{path...}" after the API routes (register them last):
/// files under `root` only (no "..", no symlink out of it), "index.html" for "/" and folders,
/// Content-Type by extension, at most 16 MiB a file. Paths under /api/ keep the API's answers:
/// 401 without a valid token (`auth`), 404 otherwise.
void add_static_files(http::Router& router, std::filesystem::path root, http::Authenticator auth);

} // namespace lwm2m::app
