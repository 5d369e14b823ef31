// Datagram: what a sans-I/O core hands to its driver through poll_transmit().
#pragma once

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/peer.hpp>

namespace lwm2m {

struct Datagram {
    PeerAddr peer;
    Bytes bytes;
};

} // namespace lwm2m
