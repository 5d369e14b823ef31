#include "static_files.hpp"

#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <system_error>

namespace lwm2m::app {
namespace {

std::string_view content_type(const std::filesystem::path& p) {
    static constexpr std::pair<std::string_view, std::string_view> types[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    const std::string ext = p.extension().string();
    for (const auto& [e, t] : types)
        if (ext == e) return t;
    return "application/octet-stream";
}

} // namespace

void add_static_files(http::Router& router, std::filesystem::path root, http::Authenticator auth) {
    std::error_code ec;
    auto base = std::filesystem::weakly_canonical(root, ec);
    auto handler = [base, auth](http::Request& req, http::Reply reply) {
        std::string rel;
        if (auto it = req.params.find("path"); it != req.params.end()) rel = it->second;
        if (req.path == "/api" || req.path.rfind("/api/", 0) == 0) {
            if (auth && !auth(req)) {
                auto r =
                    http::Response::error(401, "unauthorized", "missing or invalid bearer token");
                r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"lwm2m\"");
                reply.send(std::move(r));
            } else {
                reply.send(http::Response::error(404, "not_found", "no such route"));
            }
            return;
        }
        auto not_found = [&] {
            reply.send(http::Response::error(404, "not_found", "no such file"));
        };
        std::filesystem::path p = base;
        std::stringstream segs(rel);
        for (std::string seg; std::getline(segs, seg, '/');) {
            if (seg.empty() || seg == ".") continue;
            if (seg == ".." || seg.find('\0') != std::string::npos) return not_found();
            p /= seg;
        }
        std::error_code e;
        if (std::filesystem::is_directory(p, e)) p /= "index.html";
        auto real = std::filesystem::weakly_canonical(p, e);
        if (e) return not_found();
        auto r = real.lexically_relative(base);
        if (r.empty() || r.native().rfind("..", 0) == 0) return not_found();
        if (!std::filesystem::is_regular_file(real, e)) return not_found();
        auto size = std::filesystem::file_size(real, e);
        if (e || size > (16u << 20)) return not_found();
        std::ifstream in(real, std::ios::binary);
        if (!in) return not_found();
        http::Response resp;
        resp.status = 200;
        resp.content_type = std::string(content_type(real));
        resp.body.resize(size);
        in.read(resp.body.data(), static_cast<std::streamsize>(size));
        resp.body.resize(static_cast<std::size_t>(in.gcount()));
        resp.headers.emplace_back("Cache-Control", "no-cache");
        resp.headers.emplace_back("X-Content-Type-Options", "nosniff");
        reply.send(std::move(resp));
    };
    router.add("GET", "/", handler, true);
    router.add("GET", "/{path...}", handler, true);
}

} // namespace lwm2m::app
