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
    // A ClientHello carrying a forged cookie: the last byte of the cookie field is flipped.
    TimePoint now{};
    // Warm up (first-use allocations inside GnuTLS and the deque).
    for (int i = 0; i < 64; ++i) {
        server->on_datagram(now, PeerAddr::v4(198, 51, 100, 1, static_cast<std::uint16_t>(i + 1)), hello);
        while (server->poll_transmit()) {
        }
    }
    const std::size_t before = heap_in_use();
    const std::size_t hvr_before = server->stats().hello_verify_sent;
    std::size_t hvrs = 0;
    for (std::uint32_t i = 0; i < 10000; ++i) {
        const auto from = PeerAddr::v4(10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
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
        server->on_datagram(TimePoint{}, PeerAddr::v4(203, 0, 113, 7, static_cast<std::uint16_t>(i + 1)), junk);
        while (server->poll_transmit()) {
        }
        ASSERT_EQ(server->size(), 0U);
    }
    EXPECT_GT(server->stats().dropped_datagrams, 1000U);
}

} // namespace
} // namespace lwm2m::dtls::test
