// ICMP errors on the CLI's client socket (a closed port answers "port unreachable" at once).
// transport::UdpSocket swallows asynchronous ICMP errors on receive; with IP_RECVERR /
// IPV6_RECVERR the kernel also queues each one with the address it concerns, and the client reads
// that queue after every loop iteration, so "connection refused" is reported as soon as the ICMP
// message arrives instead of after --timeout (RFC 1122 §4.1.3.3: pass ICMP errors to the
// application).
#pragma once

#include <optional>
#include <string>

#include <lwm2m/base/peer.hpp>

namespace lwm2m::app {

struct IcmpError {
    int error = 0;    ///< errno value: ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ...
    std::string what; ///< "connection refused", ...
};

/// Turns on IP_RECVERR (and IPV6_RECVERR on an IPv6 socket). Returns false when not supported.
bool enable_icmp_errors(int fd, bool ipv6) noexcept;

/// Drains the socket's error queue; returns the first ICMP error about `peer`, if any.
[[nodiscard]] std::optional<IcmpError> take_icmp_error(int fd, const PeerAddr& peer);

} // namespace lwm2m::app
