// Flood: ClientHellos from 10,000 spoofed addresses are answered statelessly (RFC 6347 §4.2.1):
// no session is allocated and the heap does not grow with the number of senders.
#include <gtest/gtest.h>

#include <malloc.h>

#include <lwm2m/base/random.hpp>

#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace {

std::size_t heap_in_use() {
    const struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

Bytes real_client_hello() {
    ClientConfig c;
    c.server = PeerAddr::v4(10, 0, 0, 1, 5684);
    c.credentials = PskCredentials{to_bytes("flood"), SecretBytes(pattern(16, 1))};
    auto s = ClientSession::create(std::move(c));
    EXPECT_TRUE(s);
    EXPECT_TRUE(s->connect(TimePoint{}));
    auto d = s->poll_transmit();
    EXPECT_TRUE(d);
    return d ? d->bytes : Bytes{};
}

TEST(DtlsFlood, SpoofedClientHellosAllocateNoSession) {
    MemStore store;
    auto server = ServerTable::create(ServerConfig{}, store);
    ASSERT_TRUE(server);
    const Bytes hello = real_client_hello();
    ASSERT_GT(hello.size(), 60U);
    TimePoint now{};
    // Warm up (first-use allocations inside GnuTLS and the deque).
    for (int i = 0; i < 64; ++i) {
        server->on_datagram(now, PeerAddr::v4(198, 51, 100, 1, static_cast<std::uint16_t>(i + 1)),
                            hello);
        while (server->poll_transmit()) {
        }
    }
    const std::size_t before = heap_in_use();
    const std::size_t hvr_before = server->stats().hello_verify_sent;
    std::size_t hvrs = 0;
    for (std::uint32_t i = 0; i < 10000; ++i) {
        const auto from = PeerAddr::v4(
            10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
            static_cast<std::uint8_t>(i), static_cast<std::uint16_t>(1024 + i % 50000));
        server->on_datagram(now, from, hello);
        ASSERT_EQ(server->size(), 0U);
        while (auto d = server->poll_transmit()) {
            ++hvrs;
            EXPECT_EQ(d->peer, from);
            // HelloVerifyRequest: handshake record, message type 3 (RFC 6347 §4.2.1).
            ASSERT_GT(d->bytes.size(), 13U);
            EXPECT_EQ(d->bytes[0], std::byte{22});
            EXPECT_EQ(d->bytes[13], std::byte{3});
        }
        EXPECT_FALSE(server->poll_event());
    }
    const std::size_t after = heap_in_use();
    EXPECT_EQ(hvrs, 10000U);
    EXPECT_EQ(server->stats().hello_verify_sent - hvr_before, 10000U);
    EXPECT_EQ(server->size(), 0U);
    EXPECT_FALSE(server->next_deadline().has_value());
    const std::size_t growth = after > before ? after - before : 0;
    EXPECT_LT(growth, 16U * 1024U) << "heap grew by " << growth << " bytes";
}

// The second ClientHello of a real client at `a`, carrying the cookie the server gave to `a`.
Bytes client_hello_with_cookie(ServerTable& server, const PeerAddr& a) {
    ClientConfig c;
    c.server = PeerAddr::v4(10, 0, 0, 1, 5684);
    c.credentials = PskCredentials{to_bytes("flood"), SecretBytes(pattern(16, 1))};
    auto s = ClientSession::create(std::move(c));
    EXPECT_TRUE(s && s->connect(TimePoint{}));
    while (auto d = s->poll_transmit())
        server.on_datagram(TimePoint{}, a, d->bytes);
    while (auto d = server.poll_transmit())
        s->on_datagram(TimePoint{}, c.server, d->bytes);
    auto second = s->poll_transmit();
    EXPECT_TRUE(second);
    return second ? second->bytes : Bytes{};
}

TEST(DtlsFlood, ForgedOrReplayedCookiesAllocateNoSession) {
    MemStore store;
    store.psk[to_bytes("flood")] = SecretBytes(pattern(16, 1));
    auto server = ServerTable::create(ServerConfig{}, store);
    ASSERT_TRUE(server);
    const auto a = PeerAddr::v4(198, 51, 100, 7, 4000);
    const auto b = PeerAddr::v4(198, 51, 100, 8, 4000);
    const Bytes hello = client_hello_with_cookie(*server, a);
    // RFC 6347 §4.2.1 ClientHello: record header 13, handshake header 12, version 2, random 32,
    // session_id <0..32>, cookie <0..255>.
    ASSERT_GT(hello.size(), 61U);
    const std::size_t sid_len = std::to_integer<std::size_t>(hello[59]);
    const std::size_t cookie_len = std::to_integer<std::size_t>(hello[60 + sid_len]);
    ASSERT_GT(cookie_len, 0U) << "the second ClientHello must carry the cookie";

    // The cookie is bound to `a`: replayed from `b` it earns only a new HelloVerifyRequest.
    server->on_datagram(TimePoint{}, b, hello);
    EXPECT_EQ(server->size(), 0U);
    auto hvr = server->poll_transmit();
    ASSERT_TRUE(hvr);
    EXPECT_EQ(hvr->peer, b);
    EXPECT_EQ(hvr->bytes[13], std::byte{3});

    // A forged cookie (its last byte flipped) from the right address: no session either.
    Bytes forged = hello;
    forged[61 + sid_len + cookie_len - 1] ^= std::byte{0x01};
    server->on_datagram(TimePoint{}, a, forged);
    EXPECT_EQ(server->size(), 0U);
    while (server->poll_transmit()) {
    }

    // The genuine datagram from the right address does create the session: the checks above
    // are the cookie check at work, not a server that never allocates.
    server->on_datagram(TimePoint{}, a, hello);
    EXPECT_EQ(server->size(), 1U);
}

TEST(DtlsFlood, GarbageFromUnknownPeersIsDroppedSilently) {
    MemStore store;
    auto server = ServerTable::create(ServerConfig{}, store);
    ASSERT_TRUE(server);
    SeededRandom rnd(42);
    const Bytes hello = real_client_hello();
    for (int i = 0; i < 2000; ++i) {
        Bytes junk(rnd.uniform(200));
        rnd.fill(junk);
        if (i % 3 == 0 && !hello.empty()) { // damaged ClientHellos
            junk = hello;
            junk[rnd.uniform(static_cast<std::uint32_t>(junk.size()))] ^= std::byte{0x5A};
        }
        server->on_datagram(TimePoint{},
                            PeerAddr::v4(203, 0, 113, 7, static_cast<std::uint16_t>(i + 1)), junk);
        while (server->poll_transmit()) {
        }
        ASSERT_EQ(server->size(), 0U);
    }
    EXPECT_GT(server->stats().dropped_datagrams, 1000U);
}

} // namespace
} // namespace lwm2m::dtls::test
