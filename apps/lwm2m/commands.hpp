// Subcommands of the `lwm2m` CLI. Each returns the process exit code.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <lwm2m/base/log.hpp>

#include "credentials.hpp"

namespace lwm2m::app {

/// Exit codes of `lwm2m coap get|put|post|delete` (and of usage errors everywhere).
inline constexpr int exit_success = 0;        ///< 2.xx response
inline constexpr int exit_error_response = 1; ///< 4.xx / 5.xx response
inline constexpr int exit_failure = 2;        ///< bad input, timeout, network error

/// DTLS session-table caps of `coap serve` (dtls::ServerConfig; unset: its defaults).
struct DtlsCapOptions {
    std::optional<std::size_t> max_sessions;
    std::optional<std::size_t> max_handshakes;
    std::optional<std::size_t> max_handshakes_per_address;
    std::optional<std::size_t> max_handshakes_per_prefix;
    std::optional<int> ipv4_prefix_bits;
    std::optional<int> ipv6_prefix_bits;
};

struct ServeOptions {
    std::string listen = "127.0.0.1:5683";
    std::string resources = "demo";
    double duration_s = 0;         ///< 0: until SIGINT/SIGTERM
    CredentialOptions credentials; ///< any PSK option given: serve coaps (DTLS) instead of coap
    DtlsCapOptions dtls_caps;
    /// coap:// only: RFC 9175 address validation (coap::Config::amplification_factor); 0 turns
    /// it off. Over DTLS the cookie exchange validates addresses (peers_verified_by_transport).
    unsigned amplification_factor = 3;
    std::size_t max_buffered_bytes = 64u << 20; ///< coap::Config::max_buffered_bytes
};

struct RequestOptions {
    std::string method; ///< "get", "put", "post", "delete"
    std::string uri;
    std::optional<std::string> payload;
    std::optional<std::string> payload_file;
    std::optional<int> content_format;
    std::optional<int> observe; ///< number of responses to wait for (the first counts)
    double timeout_s = 30;
    bool non = false;
    int block_size = 1024;
    std::optional<std::string> output_file;
    CredentialOptions credentials; ///< required for coaps:// URIs
};

int run_coap_serve(ServeOptions& o, Logger& log);
int run_coap_request(RequestOptions& o, Logger& log);

} // namespace lwm2m::app
