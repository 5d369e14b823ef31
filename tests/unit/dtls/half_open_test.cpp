// Half-open DTLS handshakes (issue #7): cookie-verified ClientHellos that never continue are
// capped in total (max_handshakes, least recently active evicted once silent for
// half_open_eviction_idle, else the newcomer refused), per source address and per
// source prefix (refused), never push out established sessions or a client that is really
// handshaking, and their mass expiry raises the memory release hint.
#include <gtest/gtest.h>

#include "support/dtls_hello.hpp"
#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace half_open_test { // named: unity builds join the files

using lwm2m::test::cookie_of_hello_verify;
using lwm2m::test::with_cookie;

const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 1, 5684);

Bytes first_client_hello() {
    ClientConfig c;
    c.server = kServer;
    c.credentials = PskCredentials{to_bytes("flood"), SecretBytes(pattern(16, 1))};
    auto s = ClientSession::create(std::move(c));
    EXPECT_TRUE(s && s->connect(TimePoint{}));
    auto d = s->poll_transmit();
    EXPECT_TRUE(d);
    return d ? d->bytes : Bytes{};
}

/// Sends cookie-verified ClientHellos (the second ClientHello of RFC 6347 §4.2.1) to a table, as
/// many distinct clients that then go silent.
class HalfOpen {
public:
    explicit HalfOpen(ServerTable& s)
        : s_(&s)
        , hello_(first_client_hello()) {}

    /// One verified ClientHello from `from`; returns whether the server answered it (ServerHello
    /// flight) rather than dropping it.
    bool verified_hello(TimePoint now, const PeerAddr& from) {
        s_->on_datagram(now, from, hello_);
        auto hvr = s_->poll_transmit();
        EXPECT_TRUE(hvr);
        if (!hvr) return false;
        auto cookie = cookie_of_hello_verify(hvr->bytes);
        EXPECT_TRUE(cookie);
        if (!cookie) return false;
        const Bytes second = with_cookie(hello_, *cookie);
        EXPECT_FALSE(second.empty());
        s_->on_datagram(now, from, second);
        bool answered = false;
        while (auto d = s_->poll_transmit())
            answered = answered || d->peer == from;
        return answered;
    }
    std::vector<Event> events() {
        std::vector<Event> out;
        while (auto e = s_->poll_event())
            out.push_back(std::move(*e));
        return out;
    }

private:
    ServerTable* s_;
    Bytes hello_;
};

/// One address per /24 (IPv4): 11.a.b.1 for i = a*256 + b, so that only the global cap applies.
PeerAddr spread(std::uint32_t i) {
    return PeerAddr::v4(static_cast<std::uint8_t>(11 + (i >> 16)),
                        static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i), 1, 4000);
}

TEST(DtlsHalfOpen, DefaultsAreFarBelowMaxSessions) {
    const ServerConfig c;
    EXPECT_EQ(c.max_handshakes, 1000U);
    EXPECT_EQ(c.max_handshakes_per_address, 8U);
    EXPECT_EQ(c.max_handshakes_per_prefix, 64U);
    EXPECT_EQ(c.ipv4_prefix_bits, 24);
    EXPECT_EQ(c.ipv6_prefix_bits, 56);
    EXPECT_LT(c.max_handshakes * 50, c.max_sessions);
}

TEST(DtlsHalfOpen, VerifiedHandshakesAreCappedInTotal) {
    MemStore store;
    auto server = ServerTable::create(ServerConfig{}, store);
    ASSERT_TRUE(server);
    HalfOpen flood(*server);
    TimePoint now{};
    ASSERT_TRUE(flood.verified_hello(now, spread(0)));
    ASSERT_EQ(server->size(), 1U) << "the helper must create a real half-open session";
    for (std::uint32_t i = 1; i < 1000; ++i)
        ASSERT_TRUE(flood.verified_hello(now, spread(i)));
    // The flood's sessions stay silent; one second later they are fair game.
    now += std::chrono::seconds(1);
    for (std::uint32_t i = 1000; i < 1500; ++i)
        ASSERT_TRUE(flood.verified_hello(now, spread(i)));
    EXPECT_EQ(server->size(), 1000U);
    EXPECT_EQ(server->handshakes(), 1000U);
    EXPECT_EQ(server->stats().half_open_evictions, 500U);
    EXPECT_EQ(server->stats().refused_at_capacity, 0U);
    // The oldest (least recently active) went, each with HandshakeFailed{session_limit}.
    const auto failed = only<HandshakeFailed>(flood.events());
    ASSERT_EQ(failed.size(), 500U);
    for (std::uint32_t i = 0; i < 500; ++i) {
        EXPECT_EQ(failed[i].peer, spread(i));
        EXPECT_EQ(failed[i].error, make_error_code(Errc::session_limit));
    }
}

TEST(DtlsHalfOpen, AtTheCapABurstOfLiveHandshakesRefusesNewcomersInsteadOfEvicting) {
    // A burst of real devices (e.g. a fleet coming back after an outage): every handshake in
    // progress spoke less than half_open_eviction_idle ago, so a new ClientHello is dropped
    // (its client retries after its timer) rather than a handshake half done thrown away.
    MemStore store;
    ServerConfig cfg;
    cfg.max_handshakes = 100;
    auto server = ServerTable::create(cfg, store);
    ASSERT_TRUE(server);
    HalfOpen flood(*server);
    TimePoint now{};
    for (std::uint32_t i = 0; i < 100; ++i)
        ASSERT_TRUE(flood.verified_hello(now, spread(i)));
    now += std::chrono::milliseconds(999);
    for (std::uint32_t i = 100; i < 150; ++i)
        EXPECT_FALSE(flood.verified_hello(now, spread(i)));
    EXPECT_EQ(server->handshakes(), 100U);
    EXPECT_EQ(server->stats().refused_at_capacity, 50U);
    EXPECT_EQ(server->stats().half_open_evictions, 0U);
    EXPECT_TRUE(flood.events().empty()) << "refusing evicts nobody";
    // Once the oldest has been silent for the whole idle time, a newcomer takes its place.
    now += std::chrono::milliseconds(1);
    EXPECT_TRUE(flood.verified_hello(now, spread(150)));
    EXPECT_EQ(server->stats().half_open_evictions, 1U);
    const auto failed = only<HandshakeFailed>(flood.events());
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_EQ(failed[0].peer, spread(0));
}

TEST(DtlsHalfOpen, PerAddressCapRefusesMoreHandshakesFromOneAddress) {
    MemStore store;
    auto server = ServerTable::create(ServerConfig{}, store);
    ASSERT_TRUE(server);
    HalfOpen flood(*server);
    TimePoint now{};
    int answered = 0;
    for (std::uint16_t port = 1000; port < 1020; ++port)
        answered += flood.verified_hello(now, PeerAddr::v4(198, 51, 100, 7, port)) ? 1 : 0;
    EXPECT_EQ(answered, 8);
    EXPECT_EQ(server->handshakes(), 8U);
    EXPECT_EQ(server->stats().refused_per_address, 12U);
    EXPECT_TRUE(flood.events().empty()) << "refusing evicts nobody";
    // A neighbour in the same /24 still gets in; the same address again does not.
    EXPECT_TRUE(flood.verified_hello(now, PeerAddr::v4(198, 51, 100, 8, 1000)));
    EXPECT_FALSE(flood.verified_hello(now, PeerAddr::v4(198, 51, 100, 7, 2000)));
    EXPECT_EQ(server->handshakes(), 9U);
}

TEST(DtlsHalfOpen, PerPrefixCapRefusesMoreHandshakesFromOneIpv4Prefix) {
    MemStore store;
    auto server = ServerTable::create(ServerConfig{}, store);
    ASSERT_TRUE(server);
    HalfOpen flood(*server);
    TimePoint now{};
    int answered = 0;
    for (int host = 1; host <= 100; ++host)
        answered += flood.verified_hello(
                        now, PeerAddr::v4(203, 0, 113, static_cast<std::uint8_t>(host), 5000))
                        ? 1
                        : 0;
    EXPECT_EQ(answered, 64);
    EXPECT_EQ(server->stats().refused_per_prefix, 36U);
    EXPECT_TRUE(flood.verified_hello(now, PeerAddr::v4(203, 0, 114, 1, 5000))); // next /24
    EXPECT_EQ(server->handshakes(), 65U);
}

TEST(DtlsHalfOpen, PerPrefixCapUsesTheConfiguredIpv6PrefixLength) {
    MemStore store;
    ServerConfig cfg;
    cfg.max_handshakes_per_prefix = 4;
    auto server = ServerTable::create(cfg, store);
    ASSERT_TRUE(server);
    HalfOpen flood(*server);
    TimePoint now{};
    // 2001:db8:0:ab00::/56: byte 7 varies inside the /56 (bits 56..63) and counts together.
    auto addr = [](std::uint8_t byte6, std::uint8_t byte7) {
        std::array<std::uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, byte6, byte7};
        a[15] = 1;
        return PeerAddr::v6(a, 6000);
    };
    int answered = 0;
    for (std::uint8_t b = 0; b < 10; ++b)
        answered += flood.verified_hello(now, addr(0xab, b)) ? 1 : 0;
    EXPECT_EQ(answered, 4);
    EXPECT_EQ(server->stats().refused_per_prefix, 6U);
    EXPECT_TRUE(flood.verified_hello(now, addr(0xac, 0))); // another /56
}

TEST(DtlsHalfOpen, FloodEvictsNeitherEstablishedSessionsNorAnActiveHandshake) {
    MemStore store;
    const Bytes id = to_bytes("endpoint-a");
    const Bytes key = pattern(32, 5);
    store.psk[id] = SecretBytes(key);
    ServerConfig cfg;
    cfg.max_handshakes = 100;
    cfg.half_open_eviction_idle = Duration::zero(); // evict the least recently active at once
    auto server = ServerTable::create(cfg, store);
    ASSERT_TRUE(server);
    lwm2m::test::GnutlsVirtualTime::install(TimePoint{});

    auto client = [&] {
        ClientConfig c;
        c.server = kServer;
        c.credentials = PskCredentials{id, SecretBytes(key)};
        auto s = ClientSession::create(std::move(c));
        EXPECT_TRUE(s);
        return std::move(*s);
    };
    // Three established sessions first.
    std::vector<ClientSession> done;
    for (std::uint8_t k = 0; k < 3; ++k) {
        done.push_back(client());
        Bench b(*server);
        b.add(PeerAddr::v4(192, 0, 2, k, 1000), done.back());
        ASSERT_TRUE(done.back().connect(b.now));
        ASSERT_TRUE(b.run_until([&] { return done.back().established(); }));
    }
    (void)server->poll_event();
    while (server->poll_event()) {
    }

    HalfOpen flood(*server);
    TimePoint now{};
    for (std::uint32_t i = 0; i < 100; ++i)
        ASSERT_TRUE(flood.verified_hello(now, spread(i)));

    // A real client handshakes while the flood goes on. Every datagram it sends makes its
    // handshake the most recently active one: 120 flood hellos (more than max_handshakes) arrive
    // while the server waits for its final flight, but its retransmitted ClientHello in between
    // moved it to the back of the eviction order.
    ClientSession c = client();
    const PeerAddr me = PeerAddr::v4(192, 0, 2, 200, 1000);
    auto client_to_server = [&] {
        std::vector<Bytes> sent;
        while (auto d = c.poll_transmit()) {
            server->on_datagram(now, me, d->bytes);
            sent.push_back(d->bytes);
        }
        return sent;
    };
    auto server_to_client = [&] {
        while (auto d = server->poll_transmit())
            if (d->peer == me) c.on_datagram(now, kServer, d->bytes);
    };
    ASSERT_TRUE(c.connect(now));
    client_to_server(); // ClientHello
    server_to_client(); // HelloVerifyRequest
    const auto hello2 = client_to_server();
    ASSERT_EQ(hello2.size(), 1U);
    ASSERT_EQ(server->size(), 103U); // 3 established + 100 half-open (one evicted for us)
    // The ServerHello flight reaches the client; its final flight waits (in flight, say).
    server_to_client();
    std::vector<Bytes> final_flight;
    while (auto d = c.poll_transmit())
        final_flight.push_back(d->bytes);
    ASSERT_FALSE(final_flight.empty());
    std::uint32_t next = 1000;
    for (int k = 0; k < 60; ++k)
        ASSERT_TRUE(flood.verified_hello(now, spread(next++)));
    server->on_datagram(now, me, hello2[0]); // retransmitted ClientHello: activity
    while (server->poll_transmit()) {
    }
    for (int k = 0; k < 60; ++k)
        ASSERT_TRUE(flood.verified_hello(now, spread(next++)));
    for (const auto& d : final_flight)
        server->on_datagram(now, me, d);
    server_to_client();
    EXPECT_TRUE(c.established());
    for (std::uint8_t k = 0; k < 3; ++k)
        EXPECT_TRUE(server->established(PeerAddr::v4(192, 0, 2, k, 1000)));
    EXPECT_TRUE(server->established(me));
    EXPECT_LE(server->handshakes(), 100U);
    EXPECT_EQ(server->size(), server->handshakes() + 4);
    EXPECT_EQ(server->stats().half_open_evictions, 121U);
}

TEST(DtlsHalfOpen, MassExpiryFreesEverySessionAndRaisesTheReleaseHintOnce) {
    MemStore store;
    ServerConfig cfg;
    cfg.max_handshakes = 2000;
    cfg.release_hint_sessions = 1024;
    auto server = ServerTable::create(cfg, store);
    ASSERT_TRUE(server);
    HalfOpen flood(*server);
    TimePoint now{};
    for (std::uint32_t i = 0; i < 1500; ++i)
        ASSERT_TRUE(flood.verified_hello(now, spread(i)));
    EXPECT_EQ(server->size(), 1500U);
    EXPECT_FALSE(server->take_release_hint()) << "nothing was freed yet";

    now += cfg.handshake_timeout + std::chrono::seconds(1);
    server->on_timeout(now);
    EXPECT_EQ(server->size(), 0U);
    EXPECT_EQ(server->handshakes(), 0U);
    EXPECT_EQ(server->stats().sessions_freed, 1500U);
    EXPECT_EQ(only<HandshakeFailed>(flood.events()).size(), 1500U);
    EXPECT_TRUE(server->take_release_hint());
    EXPECT_FALSE(server->take_release_hint()) << "one hint per shrink";
    EXPECT_EQ(server->stats().release_hints, 1U);
    EXPECT_FALSE(server->next_deadline().has_value());

    // A few sessions freed again do not raise it: only a shrink by release_hint_sessions.
    for (std::uint32_t i = 0; i < 100; ++i)
        ASSERT_TRUE(flood.verified_hello(now, spread(i)));
    now += cfg.handshake_timeout + std::chrono::seconds(1);
    server->on_timeout(now);
    EXPECT_EQ(server->size(), 0U);
    EXPECT_FALSE(server->take_release_hint());
}

TEST(DtlsHalfOpen, InvalidCapsAreRefused) {
    MemStore store;
    auto bad = [&](auto&& mutate) {
        ServerConfig c;
        mutate(c);
        auto t = ServerTable::create(c, store);
        return !t && t.error() == make_error_code(Errc::invalid_config);
    };
    EXPECT_TRUE(bad([](ServerConfig& c) { c.max_handshakes = 0; }));
    EXPECT_TRUE(bad([](ServerConfig& c) { c.max_handshakes_per_address = 0; }));
    EXPECT_TRUE(bad([](ServerConfig& c) { c.max_handshakes_per_prefix = 0; }));
    EXPECT_TRUE(bad([](ServerConfig& c) { c.ipv4_prefix_bits = 0; }));
    EXPECT_TRUE(bad([](ServerConfig& c) { c.ipv4_prefix_bits = 33; }));
    EXPECT_TRUE(bad([](ServerConfig& c) { c.ipv6_prefix_bits = 129; }));
    EXPECT_TRUE(bad([](ServerConfig& c) { c.release_hint_sessions = 0; }));
    EXPECT_FALSE(bad([](ServerConfig& c) { c.ipv6_prefix_bits = 128; }));
}

} // namespace half_open_test
} // namespace lwm2m::dtls::test
