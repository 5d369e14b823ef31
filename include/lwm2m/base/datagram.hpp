// Datagram: what a sans-I/O core hands to its driver through poll_transmit().
#pragma once

#include <cstdint>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/peer.hpp>

namespace lwm2m {

struct Datagram {
    PeerAddr peer;
    Bytes bytes;
    /// The index of the driver's local socket the datagram must leave from (a server listening
    /// on several ports answers from the port the request arrived on). The driver uses the first
    /// socket that can reach `peer` when this one cannot (or does not exist); 0 by default.
    std::uint16_t socket = 0;
};

} // namespace lwm2m
