// Host name resolution at the edge (getaddrinfo). Cores only see PeerAddr.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/result.hpp>

namespace lwm2m::transport {

/// Resolves `host` (a name or an address literal, without brackets) to UDP addresses with `port`.
/// Blocking: call it before the loop runs. Errors: Errc::resolve_failed (unknown host, no IPv4 or
/// IPv6 address).
[[nodiscard]] Result<std::vector<PeerAddr>> resolve_udp(const std::string& host,
                                                        std::uint16_t port);

} // namespace lwm2m::transport
