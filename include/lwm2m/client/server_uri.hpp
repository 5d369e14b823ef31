// LwM2M Server URI (Object 0 Resource 0): "coaps://host:port" (TS 1.1 E.1, RFC 7252 §6).
//
// Accepted: scheme coap (NoSec) or coaps (DTLS) only, case-insensitive (RFC 3986 §3.1): they are
// the bindings this project implements (UDP). coap+tcp / coaps+tcp (RFC 8323) and sms are rejected
// with 4.00 because storing an account the client cannot use only fails later and silently.
// Host: IPv4 dotted quad, IPv6 literal in brackets (RFC 3986 §3.2.2; no zone id), or an FQDN
// (RFC 1123: labels 1-63 of [A-Za-z0-9-], not starting/ending in '-', total <= 253, the last label
// not all-numeric so that "1.2.3.256" is not taken for a name). Port: optional, 1-65535, default
// 5683 (coap) / 5684 (coaps). No userinfo, path (a single trailing '/' is tolerated), query or
// fragment. At most 255 bytes (E.1 "0-255 bytes").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <lwm2m/base/result.hpp>

namespace lwm2m::client {

struct ServerUri {
    enum class Scheme : std::uint8_t { coap, coaps };
    enum class HostKind : std::uint8_t { ipv4, ipv6, name };
    Scheme scheme = Scheme::coap;
    HostKind host_kind = HostKind::name;
    std::string host;       ///< without brackets; names lower-cased
    std::uint16_t port = 0; ///< explicit or the scheme's default
    [[nodiscard]] bool secure() const { return scheme == Scheme::coaps; }
    friend bool operator==(const ServerUri&, const ServerUri&) = default;
};

inline constexpr std::size_t max_server_uri_size = 255;
inline constexpr std::uint16_t default_coap_port = 5683;
inline constexpr std::uint16_t default_coaps_port = 5684;

/// Parses a server URI. Errors: client::Status::bad_request (any violation of the rules above).
[[nodiscard]] Result<ServerUri> parse_server_uri(std::string_view text);

/// A DNS host name per the rules above (also used for the SNI resource, RFC 6066 §3).
[[nodiscard]] bool is_valid_hostname(std::string_view name) noexcept;

} // namespace lwm2m::client
