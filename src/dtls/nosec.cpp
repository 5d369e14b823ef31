#include <lwm2m/dtls/nosec.hpp>

namespace lwm2m::dtls {

void NoSecChannel::on_datagram(TimePoint /*now*/, const PeerAddr& from, BytesView bytes) {
    if (bytes.empty()) return;
    events_.push_back(Plaintext{from, Bytes(bytes.begin(), bytes.end())});
}

std::optional<Datagram> NoSecChannel::poll_transmit() {
    if (tx_.empty()) return std::nullopt;
    Datagram d = std::move(tx_.front());
    tx_.pop_front();
    return d;
}

std::optional<Event> NoSecChannel::poll_event() {
    if (events_.empty()) return std::nullopt;
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
}

Result<void> NoSecChannel::send(TimePoint /*now*/, const PeerAddr& peer, BytesView plaintext) {
    if (plaintext.size() > max_datagram) return fail(Errc::message_too_large);
    tx_.push_back(Datagram{peer, Bytes(plaintext.begin(), plaintext.end())});
    return ok();
}

} // namespace lwm2m::dtls
