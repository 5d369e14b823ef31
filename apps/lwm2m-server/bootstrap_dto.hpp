// The REST form of a bootstrap configuration (http::BootstrapConfig, docs/rest-api.md) to and
// from the engine's form (store::BootstrapConfig, docs/bootstrap.md).
#pragma once

#include <string>

#include <tl/expected.hpp>

#include <lwm2m/http/api.hpp>
#include <lwm2m/store/bootstrap_config.hpp>

namespace lwm2m::app {

/// REST -> store. The Security entry with "bootstrap_server" gives how the device authenticates
/// to this bootstrap server (no such entry: NoSec); the other entries and the servers become the
/// accounts written; "generate" becomes generated PSK credentials (the given identity is the
/// prefix); ACLs become Object 2 instances; no delete paths means "/" (TS 1.1 §5.2.7.5).
/// Instance ids that are not given take the lowest free id. Errors: ApiError 400 with a message
/// that never holds key bytes. store::validate() runs later, in the store's put().
[[nodiscard]] tl::expected<store::BootstrapConfig, http::ApiError>
to_store(const http::BootstrapConfig& in);

/// store -> REST (secrets included in the value; http::to_json() never prints them).
/// `bootstrap_uri` is reported as the URI of the bootstrap-server entry (the store keeps only its
/// credentials); `bootstrap_uri_nosec` (the coap:// one) when those credentials are NoSec and it
/// is not empty, so that a configuration read back is accepted again by POST / PUT.
[[nodiscard]] http::BootstrapConfig to_rest(const store::BootstrapConfig& in,
                                            const std::string& bootstrap_uri,
                                            const std::string& bootstrap_uri_nosec = {});

} // namespace lwm2m::app
