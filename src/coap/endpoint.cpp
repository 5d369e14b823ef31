// The sans-I/O CoAP endpoint: RFC 7252 message layer, RFC 7959 block-wise, RFC 7641 Observe.
// See include/lwm2m/coap/endpoint.hpp for the documented design choices and endpoint_impl.hpp for
// the state layout and which file implements what.
#include <lwm2m/coap/endpoint.hpp>

#include "endpoint_impl.hpp"

namespace lwm2m::coap {

using namespace detail;

// --- Config -------------------------------------------------------------------------------------

Duration Config::max_transmit_span() const noexcept {
    // RFC 7252 §4.8.2: ACK_TIMEOUT * ((2 ** MAX_RETRANSMIT) - 1) * ACK_RANDOM_FACTOR
    const double f = std::max(1.0, ack_random_factor);
    return std::chrono::duration_cast<Duration>(
        ack_timeout * (static_cast<double>((1ULL << std::min(max_retransmit, 20U)) - 1) * f));
}
Duration Config::max_transmit_wait() const noexcept {
    // RFC 7252 §4.8.2: ACK_TIMEOUT * ((2 ** (MAX_RETRANSMIT + 1)) - 1) * ACK_RANDOM_FACTOR
    const double f = std::max(1.0, ack_random_factor);
    return std::chrono::duration_cast<Duration>(
        ack_timeout * (static_cast<double>((1ULL << (std::min(max_retransmit, 20U) + 1)) - 1) * f));
}
Duration Config::exchange_lifetime() const noexcept {
    // RFC 7252 §4.8.2: MAX_TRANSMIT_SPAN + 2 * MAX_LATENCY + PROCESSING_DELAY
    return max_transmit_span() + 2 * max_latency + processing_delay;
}
Duration Config::non_lifetime() const noexcept {
    // RFC 7252 §4.8.2: MAX_TRANSMIT_SPAN + MAX_LATENCY
    return max_transmit_span() + max_latency;
}

// --- Impl construction, stats ----------------------------------------------------------------

Endpoint::Impl::Impl(const Config& c, Random& r, Logger& l)
    : cfg(c)
    , rng(r)
    , log(l) {
    cfg.ack_random_factor = std::max(1.0, cfg.ack_random_factor);
    cfg.token_length = std::clamp<std::size_t>(cfg.token_length, 1, 8);
    szx = szx_for_size(std::clamp<std::size_t>(cfg.block_size, 16, 1024));
    cfg.block_size = std::size_t{1} << (szx + 4U);
    cfg.nstart = std::max(1U, cfg.nstart);
    exchange_lifetime = cfg.exchange_lifetime();
    non_timeout =
        cfg.non_response_timeout.count() > 0 ? cfg.non_response_timeout : cfg.max_transmit_wait();
    separate_timeout = cfg.separate_response_timeout.count() > 0 ? cfg.separate_response_timeout
                                                                 : exchange_lifetime;
    block_lifetime = cfg.block_lifetime.count() > 0 ? cfg.block_lifetime : exchange_lifetime;
    key_seed_ = (std::uint64_t{rng.next_u32()} << 32) | rng.next_u32();
}

Stats Endpoint::Impl::stats() const {
    Stats s = stats_;
    s.peers = peers_.size();
    s.buffered_bytes = buffered_;
    s.timer_entries = heap_.size();
    return s;
}

// --- Endpoint forwarding ------------------------------------------------------------------------

Endpoint::Endpoint(const Config& config, Random& random, Logger& logger)
    : impl_(std::make_unique<Impl>(config, random, logger)) {}
Endpoint::~Endpoint() = default;
Endpoint::Endpoint(Endpoint&&) noexcept = default;
Endpoint& Endpoint::operator=(Endpoint&&) noexcept = default;

void Endpoint::on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes) {
    impl_->on_datagram(now, from, bytes);
}
void Endpoint::on_oversized(TimePoint now, const PeerAddr& from, BytesView head, std::size_t size) {
    impl_->on_oversized(now, from, head, size);
}
void Endpoint::on_timeout(TimePoint now) {
    impl_->on_timeout(now);
}
std::optional<Datagram> Endpoint::poll_transmit() {
    if (impl_->out_.empty()) return std::nullopt;
    Datagram d = std::move(impl_->out_.front());
    impl_->out_.pop_front();
    return d;
}
std::optional<Event> Endpoint::poll_event() {
    if (impl_->events_.empty()) return std::nullopt;
    Event e = std::move(impl_->events_.front());
    impl_->events_.pop_front();
    return e;
}
std::optional<TimePoint> Endpoint::next_deadline() const {
    return impl_->next_deadline();
}
Result<RequestId> Endpoint::send_request(TimePoint now, const PeerAddr& to, Message req) {
    return impl_->send_request(now, to, std::move(req));
}
Result<void> Endpoint::cancel_request(TimePoint now, RequestId id) {
    return impl_->cancel_request(now, id);
}
Result<void> Endpoint::send_response(TimePoint now, IncomingId id, Message resp) {
    return impl_->send_response(now, id, std::move(resp));
}
Result<void> Endpoint::accept_separately(TimePoint now, IncomingId id) {
    return impl_->accept_separately(now, id);
}
Result<void> Endpoint::send_notification(TimePoint now, ObservationId id, Message n,
                                         bool confirmable) {
    return impl_->send_notification(now, id, std::move(n), confirmable);
}
std::optional<std::uint32_t> Endpoint::observation_seq(ObservationId id) const {
    return impl_->observation_seq(id);
}

Result<ObservationId> Endpoint::restore_observation(TimePoint now, const PeerAddr& peer,
                                                    const Token& token, std::uint32_t seq) {
    return impl_->restore_observation(now, peer, token, seq);
}

Result<void> Endpoint::cancel_observation(TimePoint now, ObservationId id) {
    return impl_->cancel_observation(now, id);
}
Stats Endpoint::stats() const {
    return impl_->stats();
}
const Config& Endpoint::config() const noexcept {
    return impl_->cfg;
}

} // namespace lwm2m::coap
