// PeerAddr <-> sockaddr conversion (the only place that knows both shapes).
#pragma once

#include <optional>

#include <sys/socket.h>

#include <lwm2m/base/peer.hpp>

namespace lwm2m::transport {

/// Fills `out` with the socket address of `peer`; returns its length, or 0 when the family is
/// none. With `map_v4_to_v6` an IPv4 peer becomes ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) for a
/// dual-stack IPv6 socket.
socklen_t to_sockaddr(const PeerAddr& peer, sockaddr_storage& out,
                      bool map_v4_to_v6 = false) noexcept;

/// The PeerAddr of an AF_INET / AF_INET6 socket address; an IPv4-mapped IPv6 address is returned
/// as IPv4 so that one peer has one key whichever socket it came through. nullopt for other
/// families or a short length.
std::optional<PeerAddr> from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;

} // namespace lwm2m::transport
