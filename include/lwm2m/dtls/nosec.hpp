// NoSecChannel: LwM2M "NoSec" security mode (Security Object resource 2 = 3) with the same
// sans-I/O interface as ClientSession / ServerTable, so the layer above is written once.
// Datagrams pass through unchanged; there is no handshake, no deadline and no identity.
#pragma once

#include <optional>

#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/ring_queue.hpp>
#include <lwm2m/dtls/types.hpp>

namespace lwm2m::dtls {

class NoSecChannel {
public:
    /// Every datagram becomes a Plaintext event (empty datagrams are dropped).
    void on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes);
    void on_timeout(TimePoint /*now*/) {}
    [[nodiscard]] std::optional<Datagram> poll_transmit();
    [[nodiscard]] std::optional<Event> poll_event();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const { return std::nullopt; }
    /// Queues the plaintext as one datagram to `peer`. Errors: Errc::message_too_large over
    /// `max_datagram`.
    Result<void> send(TimePoint now, const PeerAddr& peer, BytesView plaintext);
    void close(TimePoint /*now*/, const PeerAddr& /*peer*/) {}

    std::size_t max_datagram = 65507;

private:
    RingQueue<Datagram> tx_;
    RingQueue<Event> events_;
};

} // namespace lwm2m::dtls
