// coap::Endpoint, address validation (RFC 9175 §2.3, §2.4 item 3; RFC 7252 §11.3): stateless
// Echo values. A value is 12 bytes: the creation time (seconds of the endpoint's clock, 32 bits)
// and a 64-bit SipHash-2-4 MAC over that time and the peer's address and port ("SHOULD contain
// the client's network address", §2.3), under a random key that rotates every echo_lifetime
// (the previous key still verifies, so a value stays usable for its whole lifetime).
#include "endpoint_impl.hpp"
#include "siphash.hpp"

namespace lwm2m::coap {

using namespace detail;

namespace {

constexpr std::size_t kEchoSize = 12;

std::uint32_t seconds_of(TimePoint t) {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

std::uint64_t echo_mac(const std::array<std::uint64_t, 2>& key, std::uint32_t ts,
                       const PeerAddr& peer) {
    std::array<std::byte, 4 + 1 + 16 + 2 + 4> in{};
    std::size_t i = 0;
    for (int s = 24; s >= 0; s -= 8)
        in[i++] = static_cast<std::byte>((ts >> s) & 0xffU);
    in[i++] = static_cast<std::byte>(peer.family);
    for (std::uint8_t b : peer.addr)
        in[i++] = static_cast<std::byte>(b);
    in[i++] = static_cast<std::byte>(peer.port >> 8);
    in[i++] = static_cast<std::byte>(peer.port & 0xffU);
    for (int s = 24; s >= 0; s -= 8)
        in[i++] = static_cast<std::byte>((peer.scope_id >> s) & 0xffU);
    return siphash24(key, BytesView(in.data(), i));
}

std::array<std::uint64_t, 2> random_key(Random& rng) {
    std::array<std::uint64_t, 2> k{};
    for (auto& w : k)
        w = (std::uint64_t{rng.next_u32()} << 32) | rng.next_u32();
    return k;
}

} // namespace

void Endpoint::Impl::rotate_echo_key(TimePoint now) {
    if (echo_keyed_ && now - echo_rotated_ < cfg.echo_lifetime) return;
    if (echo_keyed_) {
        echo_prev_key_ = echo_key_;
        echo_has_prev_ = true;
    }
    echo_key_ = random_key(rng);
    echo_keyed_ = true;
    echo_rotated_ = now;
}

Bytes Endpoint::Impl::make_echo(TimePoint now, const PeerAddr& peer) {
    rotate_echo_key(now);
    const std::uint32_t ts = seconds_of(now);
    const std::uint64_t mac = echo_mac(echo_key_, ts, peer);
    Bytes v(kEchoSize);
    for (std::size_t i = 0; i < 4; ++i)
        v[i] = static_cast<std::byte>((ts >> (24 - 8 * i)) & 0xffU);
    for (std::size_t i = 0; i < 8; ++i)
        v[4 + i] = static_cast<std::byte>((mac >> (56 - 8 * i)) & 0xffU);
    return v;
}

Endpoint::Impl::EchoCheck Endpoint::Impl::check_echo(TimePoint now, const PeerAddr& peer,
                                                     BytesView value) {
    EchoCheck r;
    if (value.size() != kEchoSize) return r;
    rotate_echo_key(now);
    std::uint32_t ts = 0;
    for (std::size_t i = 0; i < 4; ++i)
        ts = (ts << 8) | std::to_integer<std::uint32_t>(value[i]);
    std::uint64_t got = 0;
    for (std::size_t i = 4; i < kEchoSize; ++i)
        got = (got << 8) | std::to_integer<std::uint64_t>(value[i]);
    // One 64-bit comparison per key: no early exit on a matching prefix.
    const bool cur = echo_mac(echo_key_, ts, peer) == got;
    const bool prev = echo_has_prev_ && echo_mac(echo_prev_key_, ts, peer) == got;
    r.ours = cur || prev;
    const std::uint32_t now_s = seconds_of(now);
    const auto life = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(cfg.echo_lifetime).count());
    r.fresh = r.ours && ts <= now_s && now_s - ts <= life;
    return r;
}

} // namespace lwm2m::coap
