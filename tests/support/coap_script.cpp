#include "support/coap_script.hpp"

#include <gtest/gtest.h>

namespace lwm2m::test {

Bytes raw_encode(const coap::Message& m) {
    coap::MessageView v;
    v.type = m.type;
    v.code = m.code;
    v.message_id = m.message_id;
    v.token = m.token;
    v.payload = m.payload;
    if (m.options().size() > coap::MessageView::max_options) {
        ADD_FAILURE() << "raw_encode: more than " << coap::MessageView::max_options << " options";
        return {};
    }
    for (const auto& o : m.options())
        v.options_storage[v.option_count++] = coap::OptionView{o.number, BytesView(o.value)};
    std::size_t size = coap::encoded_size(m);
    Bytes out(size);
    auto r = coap::encode(v, out);
    if (!r) {
        ADD_FAILURE() << "raw_encode: " << r.error().message();
        return {};
    }
    out.resize(*r);
    return out;
}

Bytes MsgBuilder::bytes() const {
    return raw_encode(m_);
}

std::optional<coap::Message> parse(BytesView bytes) {
    auto v = coap::decode(bytes);
    if (!v) return std::nullopt;
    return coap::Message::from_view(*v);
}

namespace {
std::optional<coap::BlockOption> block_of(const coap::Message& m, std::uint16_t n) {
    const coap::Option* o = m.find(n);
    if (o == nullptr) return std::nullopt;
    return coap::decode_block(BytesView(o->value));
}
const char* type_name(coap::Type t) {
    switch (t) {
    case coap::Type::con:
        return "CON";
    case coap::Type::non:
        return "NON";
    case coap::Type::ack:
        return "ACK";
    case coap::Type::rst:
        return "RST";
    }
    return "?";
}
} // namespace

std::optional<coap::BlockOption> block1_of(const coap::Message& m) {
    return block_of(m, coap::option::block1);
}
std::optional<coap::BlockOption> block2_of(const coap::Message& m) {
    return block_of(m, coap::option::block2);
}

std::string describe(const coap::Message& m) {
    std::string s = type_name(m.type);
    s += " " + m.code.to_string() + " mid=" + std::to_string(m.message_id) +
         " tkn=" + to_hex(m.token.view());
    for (const auto& o : m.options())
        s += " opt" + std::to_string(o.number) + "=" + to_hex(o.value);
    s += " payload=" + std::to_string(m.payload.size());
    return s;
}

Bytes pattern_body(std::size_t n, std::uint8_t salt) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::byte>((i + salt) % 251);
    return b;
}

Lockstep::Lockstep(coap::Config cfg, std::uint64_t seed)
    : rng_(static_cast<std::uint32_t>(seed))
    , ep(cfg, rng_)
    , now(TimePoint{} + std::chrono::seconds(1)) {}

void Lockstep::receive(const PeerAddr& from, const coap::Message& m) {
    const Bytes b = raw_encode(m);
    ep.on_datagram(now, from, b);
}
void Lockstep::receive_bytes(const PeerAddr& from, BytesView b) {
    ep.on_datagram(now, from, b);
}

std::optional<Datagram> Lockstep::tx() {
    return ep.poll_transmit();
}

coap::Message Lockstep::expect_tx(const PeerAddr* to) {
    auto d = ep.poll_transmit();
    if (!d) {
        ADD_FAILURE() << "expected a datagram, none pending";
        return {};
    }
    if (to != nullptr) {
        EXPECT_EQ(d->peer, *to);
    }
    auto m = parse(d->bytes);
    if (!m) {
        ADD_FAILURE() << "transmitted datagram does not decode: " << to_hex(d->bytes);
        return {};
    }
    return *m;
}

void Lockstep::expect_no_tx() {
    if (auto d = ep.poll_transmit()) {
        auto m = parse(d->bytes);
        ADD_FAILURE() << "unexpected datagram: " << (m ? describe(*m) : to_hex(d->bytes));
    }
}

std::vector<coap::Message> Lockstep::drain_tx() {
    std::vector<coap::Message> v;
    while (auto d = ep.poll_transmit())
        if (auto m = parse(d->bytes)) v.push_back(*m);
    return v;
}

std::vector<coap::Event> Lockstep::events() {
    std::vector<coap::Event> v;
    while (auto e = ep.poll_event())
        v.push_back(std::move(*e));
    return v;
}

void Lockstep::expect_no_event() {
    if (auto e = ep.poll_event()) ADD_FAILURE() << "unexpected event, index " << e->index();
}

void Lockstep::fail_event(bool other) {
    ADD_FAILURE() << (other ? "next event has another type" : "expected an event, none pending");
}

Duration Lockstep::advance_to_deadline() {
    auto d = ep.next_deadline();
    if (!d) {
        ADD_FAILURE() << "no deadline pending";
        return Duration{0};
    }
    const Duration moved = *d - now;
    EXPECT_GE(moved.count(), 0) << "deadline in the past";
    if (*d > now) now = *d;
    ep.on_timeout(now);
    if (auto n = ep.next_deadline()) {
        EXPECT_GT(*n, now) << "deadline not moved past now";
    }
    return moved;
}

void Lockstep::advance(Duration d) {
    const TimePoint end = now + d;
    while (auto n = ep.next_deadline()) {
        if (*n > end) break;
        if (*n > now) now = *n;
        ep.on_timeout(now);
    }
    now = end;
    ep.on_timeout(now);
}

} // namespace lwm2m::test
