// Subcommands of the `lwm2m` CLI. Each returns the process exit code.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <lwm2m/base/log.hpp>

#include "credentials.hpp"

namespace lwm2m::app {

/// Exit codes of every `lwm2m` command (listed in `lwm2m --help`, docs/guide-cli.md).
inline constexpr int exit_success = 0;        ///< done; for requests: a 2.xx response
inline constexpr int exit_error_response = 1; ///< a 4.xx / 5.xx response
inline constexpr int exit_usage = 2;          ///< bad command line, URI, file or credentials
inline constexpr int exit_network = 3;        ///< network or DTLS failure (refused, unreachable,
                                              ///< resolve, handshake, reset, bind)
inline constexpr int exit_timeout = 4;        ///< no (complete) answer within --timeout
/// Admin commands: the REST API answered an HTTP error (4xx/5xx: unknown endpoint, bad request,
/// missing token, ...) other than a device timeout (4). admin_commands.hpp has it as well.
inline constexpr int exit_http = 5;
/// Stopped by a signal: 128 + the signal number (130 for SIGINT / Ctrl-C, 143 for SIGTERM).
inline constexpr int exit_signal_base = 128;
/// The usage error code under its former name (kept for the `coap serve` code).
inline constexpr int exit_failure = exit_usage;

/// The exit-status paragraph of --help.
inline constexpr const char* exit_status_help =
    "Exit status: 0 success (2.xx), 1 CoAP error response (4.xx/5.xx, also from a device "
    "through the REST API), 2 usage error (options, URI, path, value, files, credentials), 3 "
    "network or DTLS failure (connection refused e.g. lwm2m-server not running, unreachable, "
    "failed handshake e.g. a wrong PSK key - the key is never printed), 4 timeout (also: the "
    "device did not answer, HTTP 504), 5 HTTP error from the REST API (401 missing or wrong "
    "token, 404 unknown endpoint, 400 rejected input, ...), 130 interrupted (Ctrl-C; 128 + "
    "signal number, 143 for SIGTERM).";

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
    std::optional<int> accept;  ///< Accept option (RFC 7252 §5.10.4)
    bool quiet = false;         ///< -q: print only the payload
    std::optional<int> observe; ///< number of responses to wait for (the first counts)
    double timeout_s = 30;
    bool non = false;
    int block_size = 1024;
    std::optional<std::string> output_file; ///< "-": standard output
    CredentialOptions credentials;          ///< required for coaps:// URIs
};

int run_coap_serve(ServeOptions& o, Logger& log);
int run_coap_request(RequestOptions& o, Logger& log);

} // namespace lwm2m::app
