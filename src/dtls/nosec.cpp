#include <lwm2m/dtls/nosec.hpp>

#include "dtls/queue.hpp"

namespace lwm2m::dtls {

void NoSecChannel::on_datagram(TimePoint /*now*/, const PeerAddr& from, BytesView bytes) {
    if (bytes.empty()) return;
    events_.emplace_back(Plaintext{from, Bytes(bytes.begin(), bytes.end())});
}

std::optional<Datagram> NoSecChannel::poll_transmit() {
    return detail::pop_front(tx_);
}

std::optional<Event> NoSecChannel::poll_event() {
    return detail::pop_front(events_);
}

Result<void> NoSecChannel::send(TimePoint /*now*/, const PeerAddr& peer, BytesView plaintext) {
    if (plaintext.size() > max_datagram) return fail(Errc::message_too_large);
    tx_.push_back(Datagram{peer, Bytes(plaintext.begin(), plaintext.end())});
    return ok();
}

} // namespace lwm2m::dtls
