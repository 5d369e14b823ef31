// A small DSL to build and inspect CoAP messages in tests, and a lockstep harness that drives one
// coap::Endpoint against a scripted peer in virtual time.
//
//   auto req = test::msg(Type::con, code::get).mid(0x1234).token("t1").path("/3/0").build();
//   Lockstep ep(cfg);                       // an Endpoint at t = 1 s, SeededRandom(1)
//   ep.receive(peer, req);                  // peer -> endpoint (encoded Message or raw bytes)
//   auto out = ep.expect_tx();              // decoded next datagram (fails the test if none)
//   EXPECT_EQ(out.code, code::content);
//   ep.advance_to_deadline();               // time jumps to next_deadline(), on_timeout runs
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/block_option.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/coap/message.hpp>

namespace lwm2m::test {

/// Fluent message builder.
class MsgBuilder {
public:
    MsgBuilder(coap::Type t, coap::Code c) {
        m_.type = t;
        m_.code = c;
    }
    MsgBuilder& mid(coap::MessageId id) {
        m_.message_id = id;
        return *this;
    }
    MsgBuilder& token(std::string_view t) {
        m_.token = coap::Token(as_bytes(t));
        return *this;
    }
    MsgBuilder& token(const coap::Token& t) {
        m_.token = t;
        return *this;
    }
    MsgBuilder& path(std::string_view p) {
        m_.set_path(p);
        return *this;
    }
    MsgBuilder& query(std::string_view q) {
        m_.add_queries(q);
        return *this;
    }
    MsgBuilder& payload(std::string_view p) {
        m_.payload = to_bytes(p);
        return *this;
    }
    MsgBuilder& payload(Bytes p) {
        m_.payload = std::move(p);
        return *this;
    }
    MsgBuilder& opt(std::uint16_t n, std::string_view v) {
        m_.add_option(n, v);
        return *this;
    }
    MsgBuilder& uint(std::uint16_t n, std::uint64_t v) {
        m_.set_uint_option(n, v);
        return *this;
    }
    MsgBuilder& observe(std::uint32_t v) { return uint(coap::option::observe, v); }
    MsgBuilder& block1(std::uint32_t num, bool more, std::uint8_t szx) {
        return uint(coap::option::block1, coap::encode_block({num, more, szx}));
    }
    MsgBuilder& block2(std::uint32_t num, bool more, std::uint8_t szx) {
        return uint(coap::option::block2, coap::encode_block({num, more, szx}));
    }
    [[nodiscard]] coap::Message build() const { return m_; }
    /// The datagram as a (possibly hostile) peer sends it: no option registry checks.
    [[nodiscard]] Bytes bytes() const;
    operator coap::Message() const { return m_; } // NOLINT(google-explicit-constructor)

private:
    coap::Message m_;
};

inline MsgBuilder msg(coap::Type t, coap::Code c) {
    return MsgBuilder(t, c);
}
inline MsgBuilder con(coap::Code c) {
    return MsgBuilder(coap::Type::con, c);
}
inline MsgBuilder non(coap::Code c) {
    return MsgBuilder(coap::Type::non, c);
}
inline MsgBuilder ack(coap::Code c = coap::code::empty) {
    return MsgBuilder(coap::Type::ack, c);
}
inline MsgBuilder rst() {
    return MsgBuilder(coap::Type::rst, coap::code::empty);
}

/// Encodes `m` without the option registry checks of coap::encode(Message) (through the
/// faithful MessageView encoder): what a scripted, possibly non-conformant peer sends.
Bytes raw_encode(const coap::Message& m);
/// Decodes bytes into an owning Message; nullopt if malformed.
std::optional<coap::Message> parse(BytesView bytes);
/// The Block1/Block2 option of a message, decoded.
std::optional<coap::BlockOption> block1_of(const coap::Message& m);
std::optional<coap::BlockOption> block2_of(const coap::Message& m);
/// "CON GET mid=.. tkn=.. opts.. payload=N" for failure messages.
std::string describe(const coap::Message& m);
/// Bytes 0, 1, 2, ... n-1 (mod 251) as a recognisable body.
Bytes pattern_body(std::size_t n, std::uint8_t salt = 0);

/// A Random whose every value is the same (unit() == value / 2^32): with 0 the initial ACK
/// timeout is exactly ACK_TIMEOUT.
class FixedRandom final : public Random {
public:
    explicit FixedRandom(std::uint32_t v = 0)
        : v_(v) {}
    std::uint32_t next_u32() override {
        v_ = v_ * 1664525U + 1013904223U;
        return fixed_ ? fixed_value_ : v_;
    }
    void fix(std::uint32_t value) {
        fixed_ = true;
        fixed_value_ = value;
    }

private:
    std::uint32_t v_;
    bool fixed_ = false;
    std::uint32_t fixed_value_ = 0;
};

/// Lockstep harness: one Endpoint, a virtual clock, decoded outputs.
class Lockstep {
    FixedRandom rng_; // declared first: the endpoint keeps a reference

public:
    explicit Lockstep(coap::Config cfg = {}, std::uint64_t seed = 1);

    coap::Endpoint ep;
    TimePoint now;

    /// peer -> endpoint: `m` encoded with raw_encode() (any options, even non-conformant ones).
    void receive(const PeerAddr& from, const coap::Message& m);
    void receive_bytes(const PeerAddr& from, BytesView b);
    /// Next transmitted datagram, decoded; records a test failure if none or undecodable.
    coap::Message expect_tx(const PeerAddr* to = nullptr);
    /// Raw next datagram (nullopt if none).
    std::optional<Datagram> tx();
    /// Records a failure if something is pending to transmit.
    void expect_no_tx();
    /// Drains every pending datagram.
    std::vector<coap::Message> drain_tx();
    /// Every pending event.
    std::vector<coap::Event> events();
    /// Next event of type E; records a failure (and returns a default) if the next event is
    /// missing or of another type.
    template <class E>
    E expect_event() {
        auto e = ep.poll_event();
        if (!e || !std::holds_alternative<E>(*e)) {
            fail_event(e.has_value());
            return E{};
        }
        return std::get<E>(std::move(*e));
    }
    void expect_no_event();
    /// Moves time to next_deadline() (which must exist) and runs on_timeout. Returns the
    /// time advanced.
    Duration advance_to_deadline();
    /// Moves time forward by d, running every timer that falls due on the way.
    void advance(Duration d);

    FixedRandom& random() { return rng_; }

private:
    void fail_event(bool other);
};

inline const PeerAddr kPeerA = PeerAddr::v4(10, 0, 0, 1, 5683);
inline const PeerAddr kPeerB = PeerAddr::v4(10, 0, 0, 2, 5683);

/// An endpoint configuration with deterministic timing: RFC 7252 §4.8 initial timeout exactly
/// ACK_TIMEOUT (ACK_RANDOM_FACTOR 1.0).
inline coap::Config det_config() {
    coap::Config c;
    c.ack_random_factor = 1.0;
    return c;
}

/// The Observe option value of a message, or ~0 when absent.
inline std::uint64_t obs_value(const coap::Message& m) {
    return m.uint_option(coap::option::observe).value_or(~0ULL);
}

} // namespace lwm2m::test
