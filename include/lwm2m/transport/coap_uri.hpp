// Strict parsing of coap:// URIs into the parts of a request (RFC 7252 §6.4, RFC 3986 §3).
// Lives at the edge: the CLI and apps turn user text into a destination and Uri-* options.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/result.hpp>

namespace lwm2m::transport {

struct CoapUri {
    std::string scheme;              ///< "coap" (lower case)
    std::string host;                ///< IP literal without brackets, or a reg-name (lower case)
    bool host_is_ip_literal = false; ///< IPv4 dotted quad or a bracketed IPv6 literal
    std::uint16_t port = 5683;       ///< RFC 7252 §6.1 default
    std::vector<std::string> path;   ///< percent-decoded Uri-Path segments (§6.4 step 8)
    std::vector<std::string> query;  ///< percent-decoded Uri-Query items (§6.4 step 9)

    /// "/a/b" (segments joined, not re-encoded) for logs.
    [[nodiscard]] std::string path_string() const;
};

/// Parses an absolute coap URI. Rejects (lwm2m::Errc::parse_error): a relative URI, another
/// scheme (coaps needs DTLS, which this parser's callers do not offer; "coap+tcp" is not UDP),
/// a fragment (§6.4 step 3), userinfo, an empty host, a malformed IPv4/IPv6 literal, a port
/// outside 1..65535 or with non-digits, a bad percent-encoding, and characters RFC 3986 does
/// not allow in the path or query (spaces, controls, non-ASCII).
[[nodiscard]] Result<CoapUri> parse_coap_uri(std::string_view text);

} // namespace lwm2m::transport
