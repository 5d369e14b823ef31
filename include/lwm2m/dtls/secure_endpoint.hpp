// SecureEndpoint: CoAP over DTLS (RFC 7252 §9.1) as one sans-I/O object, composing a
// coap::Endpoint with a DTLS channel: ServerTable (server role), ClientSession (client role) or
// NoSecChannel (LwM2M NoSec). Same contract as its parts (docs/architecture.md §2):
//
//   on_datagram(now, from, ciphertext) / on_timeout(now) / poll_transmit() (ciphertext) /
//   poll_event() (CoAP or DTLS events) / next_deadline()
//
// The application talks CoAP through coap(): after calling send_request / send_response /
// send_notification on it, call flush(now) so the CoAP datagrams are encrypted and queued.
// Client role: a CoAP datagram to the server starts the handshake when there is no session;
// up to `max_pending` datagrams wait for it (dropped on HandshakeFailed: CoAP then times out).
// Server role: CoAP datagrams to a peer without a session are dropped and counted.
//
// Header-only; link lwm2m::coap and lwm2m::dtls.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <variant>

#include <lwm2m/base/ring_queue.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/nosec.hpp>
#include <lwm2m/dtls/server_table.hpp>

namespace lwm2m::dtls {

template <class Channel>
class SecureEndpoint {
public:
    using Event = std::variant<coap::Event, dtls::Event>;

    /// Both must outlive this object.
    SecureEndpoint(coap::Endpoint& coap, Channel& channel, std::size_t max_pending = 32)
        : coap_(&coap)
        , channel_(&channel)
        , max_pending_(max_pending) {}

    void on_datagram(TimePoint now, const PeerAddr& from, BytesView ciphertext) {
        channel_->on_datagram(now, from, ciphertext);
        pump(now);
    }
    void on_timeout(TimePoint now) {
        if (auto d = channel_->next_deadline(); d && *d <= now) channel_->on_timeout(now);
        if (auto d = coap_->next_deadline(); d && *d <= now) coap_->on_timeout(now);
        pump(now);
    }
    /// Moves CoAP output through DTLS; call after using coap() directly.
    void flush(TimePoint now) { pump(now); }

    [[nodiscard]] std::optional<Datagram> poll_transmit() { return channel_->poll_transmit(); }
    [[nodiscard]] std::optional<Event> poll_event() {
        if (events_.empty()) return std::nullopt;
        Event e = std::move(events_.front());
        events_.pop_front();
        return e;
    }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const {
        auto a = channel_->next_deadline();
        auto b = coap_->next_deadline();
        if (!a) return b;
        if (!b) return a;
        return std::min(*a, *b);
    }

    [[nodiscard]] coap::Endpoint& coap() noexcept { return *coap_; }
    [[nodiscard]] Channel& channel() noexcept { return *channel_; }
    /// CoAP datagrams dropped: no session (server role) or the pending queue was full.
    [[nodiscard]] std::size_t dropped() const noexcept { return dropped_; }

private:
    static constexpr bool is_client = std::is_same_v<Channel, ClientSession>;

    void pump(TimePoint now) {
        for (int round = 0; round < 1024; ++round) {
            bool progress = false;
            while (auto e = channel_->poll_event()) {
                progress = true;
                std::visit([&](auto& ev) { on_security_event(now, ev); }, *e);
                if (!std::holds_alternative<Plaintext>(*e)) events_.emplace_back(std::move(*e));
            }
            while (auto d = coap_->poll_transmit()) {
                progress = true;
                send_secure(now, std::move(*d));
            }
            while (auto e = coap_->poll_event()) {
                progress = true;
                events_.emplace_back(std::move(*e));
            }
            if (!progress) return;
        }
    }

    void on_security_event(TimePoint now, Plaintext& p) { coap_->on_datagram(now, p.peer, p.data); }
    void on_security_event(TimePoint now, HandshakeDone& h) {
        if constexpr (is_client) {
            RingQueue<Datagram> q;
            std::swap(q, pending_);
            for (; !q.empty(); q.pop_front())
                if (q.front().peer == h.peer) send_secure(now, std::move(q.front()));
        } else {
            (void)now;
            (void)h;
        }
    }
    void on_security_event(TimePoint, HandshakeFailed& f) { drop_pending(f.peer); }
    void on_security_event(TimePoint, Closed& c) { drop_pending(c.peer); }

    void drop_pending(const PeerAddr& peer) {
        dropped_ += pending_.erase_if([&](const Datagram& d) { return d.peer == peer; });
    }

    void send_secure(TimePoint now, Datagram d) {
        auto r = channel_->send(now, d.peer, d.bytes);
        if (r) return;
        if constexpr (is_client) {
            if (r.error() == make_error_code(Errc::not_connected) && d.peer == channel_->server()) {
                if (pending_.size() >= max_pending_) {
                    ++dropped_;
                    return;
                }
                pending_.push_back(std::move(d));
                (void)channel_->connect(now); // invalid_state while a handshake runs: fine
                return;
            }
        }
        ++dropped_;
    }

    coap::Endpoint* coap_;
    Channel* channel_;
    std::size_t max_pending_;
    RingQueue<Datagram> pending_;
    RingQueue<Event> events_;
    std::size_t dropped_ = 0;
};

} // namespace lwm2m::dtls
