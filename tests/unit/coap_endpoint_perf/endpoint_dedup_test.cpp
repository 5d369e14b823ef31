// Endpoint-level behaviour of the (peer, MID) dedup cache (RFC 7252 §4.5) that the flat table
// must keep: replay of the cached reply across table growth, the global and per-peer limits
// (5.03 without state when full), recycling of an expired entry that on_timeout has not
// collected yet, and expiry freeing the peer.
#include <gtest/gtest.h>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/endpoint.hpp>

using namespace lwm2m;
using namespace lwm2m::coap;

namespace {

PeerAddr peer(std::uint32_t i) {
    return PeerAddr::v4(10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                        static_cast<std::uint8_t>(i), 5683);
}

Bytes request(MessageId mid, Type t = Type::con) {
    Message m;
    m.type = t;
    m.code = code::get;
    m.message_id = mid;
    m.token = Token::from_u64(0xa1a2a3a4ULL + mid);
    m.set_path("/3/0/0");
    return encode(m);
}

struct Fixture {
    SeededRandom rng{11};
    Config cfg;
    std::unique_ptr<Endpoint> ep;
    TimePoint now{};

    explicit Fixture(std::size_t max_entries = 1 << 20, std::size_t per_peer = 2048,
                     bool verified = false) {
        cfg.max_retransmit = 0;
        cfg.max_latency = std::chrono::seconds(1);
        cfg.processing_delay = std::chrono::seconds(1); // EXCHANGE_LIFETIME 3 s
        cfg.max_dedup_entries = max_entries;
        cfg.max_dedup_per_peer = per_peer;
        cfg.peers_verified_by_transport = verified;
        ep = std::make_unique<Endpoint>(cfg, rng);
    }
    /// Feeds a request; answers it (payload `tag`) if it is delivered. Returns the reply bytes.
    std::optional<Bytes> feed(const PeerAddr& p, MessageId mid, std::uint8_t tag,
                              bool* delivered = nullptr) {
        ep->on_datagram(now, p, request(mid));
        bool got = false;
        if (auto e = ep->poll_event()) {
            got = true;
            Message r;
            r.code = code::content;
            r.payload.assign(tag % 2 ? 100 : 10, std::byte{tag}); // inline and out-of-line replies
            EXPECT_TRUE(ep->send_response(now, std::get<IncomingRequest>(*e).id, std::move(r)));
        }
        if (delivered) *delivered = got;
        auto d = ep->poll_transmit();
        if (!d) return std::nullopt;
        EXPECT_EQ(d->peer, p);
        return d->bytes;
    }
};

TEST(EndpointDedup, ReplaysCachedReplyAfterTableGrowth) {
    Fixture f;
    std::vector<Bytes> first;
    for (std::uint32_t i = 0; i < 3000; ++i) {
        bool delivered = false;
        auto b = f.feed(peer(i % 300), static_cast<MessageId>(i), static_cast<std::uint8_t>(i),
                        &delivered);
        ASSERT_TRUE(b && delivered);
        first.push_back(*b);
    }
    for (std::uint32_t i = 0; i < 3000; i += 7) { // duplicates: same bytes, not re-delivered
        bool delivered = true;
        auto b = f.feed(peer(i % 300), static_cast<MessageId>(i), 0, &delivered);
        ASSERT_TRUE(b);
        EXPECT_FALSE(delivered);
        EXPECT_EQ(*b, first[i]) << i;
    }
    EXPECT_EQ(f.ep->stats().duplicates, (3000U + 6) / 7);
}

// Verified peers' entries (as over DTLS) are never evicted: a full table refuses new peers.
TEST(EndpointDedup, GlobalLimitRefusesWith503UntilExpiry) {
    Fixture f(100, 2048, true);
    for (std::uint32_t i = 0; i < 100; ++i)
        ASSERT_TRUE(f.feed(peer(i), 1, 1));
    bool delivered = true;
    auto b = f.feed(peer(500), 1, 1, &delivered);
    ASSERT_TRUE(b);
    EXPECT_FALSE(delivered);
    auto m = decode(*b);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->code, code::service_unavailable);
    EXPECT_EQ(f.ep->stats().refused, 1U);
    // The refusal left no state: a retransmission is refused again, not replayed.
    b = f.feed(peer(500), 1, 1, &delivered);
    EXPECT_FALSE(delivered);
    EXPECT_EQ(f.ep->stats().refused, 2U);
    EXPECT_EQ(f.ep->stats().duplicates, 0U);
    // After EXCHANGE_LIFETIME the entries expire and the cache accepts again.
    f.now += std::chrono::seconds(3);
    f.ep->on_timeout(f.now);
    EXPECT_EQ(f.ep->stats().peers, 0U);
    b = f.feed(peer(500), 1, 1, &delivered);
    EXPECT_TRUE(delivered);
}

// Unverified peers' entries (a flood of spoofed sources fills the table): the oldest one makes
// room for the newcomer instead of every new peer being refused.
TEST(EndpointDedup, GlobalLimitEvictsTheOldestUnverifiedEntry) {
    Fixture f(100);
    for (std::uint32_t i = 0; i < 100; ++i)
        ASSERT_TRUE(f.feed(peer(i), 1, 2));
    for (std::uint32_t i = 500; i < 520; ++i) {
        bool delivered = false;
        ASSERT_TRUE(f.feed(peer(i), 1, 2, &delivered));
        EXPECT_TRUE(delivered) << i;
    }
    EXPECT_EQ(f.ep->stats().refused, 0U);
    EXPECT_EQ(f.ep->stats().evicted, 20U);
    EXPECT_LE(f.ep->stats().peers, 100U); // evicted idle peers are gone at once
    // A newer entry is still deduplicated.
    bool delivered = true;
    ASSERT_TRUE(f.feed(peer(99), 1, 2, &delivered));
    EXPECT_FALSE(delivered);
}

// The peer table full of unverified peers (max_peers): a new peer still gets in, the oldest
// idle unverified peer goes; verified peers are never pushed out.
TEST(EndpointDedup, FullPeerTableMakesRoomFromUnverifiedPeers) {
    SeededRandom rng{3};
    Config cfg;
    cfg.max_peers = 50;
    Endpoint ep(cfg, rng);
    const TimePoint now = TimePoint{} + std::chrono::seconds(1);
    auto feed = [&](const PeerAddr& p, MessageId mid) {
        ep.on_datagram(now, p, request(mid));
        bool got = false;
        if (auto e = ep.poll_event()) {
            got = true;
            Message r;
            r.code = code::content;
            EXPECT_TRUE(ep.send_response(now, std::get<IncomingRequest>(*e).id, std::move(r)));
        }
        while (ep.poll_transmit()) {
        }
        return got;
    };
    for (std::uint32_t i = 0; i < 200; ++i)
        EXPECT_TRUE(feed(peer(i), 1)) << i;
    EXPECT_LE(ep.stats().peers, 50U);
    EXPECT_EQ(ep.stats().refused, 0U);
    EXPECT_GE(ep.stats().evicted, 150U);

    Config vcfg = cfg;
    vcfg.peers_verified_by_transport = true;
    Endpoint vep(vcfg, rng);
    int refused = 0;
    for (std::uint32_t i = 0; i < 60; ++i) {
        vep.on_datagram(now, peer(i), request(1));
        if (auto e = vep.poll_event()) {
            Message r;
            r.code = code::content;
            EXPECT_TRUE(vep.send_response(now, std::get<IncomingRequest>(*e).id, std::move(r)));
        } else {
            ++refused;
        }
        while (vep.poll_transmit()) {
        }
    }
    EXPECT_EQ(refused, 10);
    EXPECT_EQ(vep.stats().evicted, 0U);
}

TEST(EndpointDedup, PerPeerLimit) {
    Fixture f(1 << 20, 5);
    for (MessageId m = 0; m < 5; ++m)
        ASSERT_TRUE(f.feed(peer(1), m, 1));
    bool delivered = true;
    ASSERT_TRUE(f.feed(peer(1), 5, 1, &delivered));
    EXPECT_FALSE(delivered);
    ASSERT_TRUE(f.feed(peer(2), 5, 1, &delivered)); // another peer is not affected
    EXPECT_TRUE(delivered);
}

TEST(EndpointDedup, ExpiredEntryNotYetCollectedIsRecycled) {
    Fixture f;
    bool delivered = false;
    ASSERT_TRUE(f.feed(peer(1), 42, 1, &delivered));
    ASSERT_TRUE(delivered);
    f.now += std::chrono::seconds(3); // expired, on_timeout not called
    ASSERT_TRUE(f.feed(peer(1), 42, 2, &delivered));
    EXPECT_TRUE(delivered); // a new request, not a duplicate
    EXPECT_EQ(f.ep->stats().duplicates, 0U);
    ASSERT_TRUE(f.feed(peer(1), 42, 3, &delivered));
    EXPECT_FALSE(delivered); // now it is a duplicate of the recycled entry
    // The old slot's expiry must not remove the recycled entry.
    f.now += std::chrono::seconds(1);
    f.ep->on_timeout(f.now);
    ASSERT_TRUE(f.feed(peer(1), 42, 4, &delivered));
    EXPECT_FALSE(delivered);
    EXPECT_EQ(f.ep->stats().duplicates, 2U);
    // Both slots gone after the recycled entry's lifetime: the peer is reclaimed.
    f.now += std::chrono::seconds(3);
    f.ep->on_timeout(f.now);
    EXPECT_EQ(f.ep->stats().peers, 0U);
    EXPECT_EQ(f.ep->stats().buffered_bytes, 0U);
    EXPECT_FALSE(f.ep->next_deadline().has_value());
}

TEST(EndpointDedup, PendingDuplicateGetsEmptyAckThenPiggybackIsNotCached) {
    Fixture f;
    f.ep->on_datagram(f.now, peer(1), request(7));
    auto e = f.ep->poll_event();
    ASSERT_TRUE(e);
    f.ep->on_datagram(f.now, peer(1), request(7)); // duplicate while pending: empty ACK (§4.2)
    auto ack = f.ep->poll_transmit();
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->bytes.size(), 4U);
    f.ep->on_datagram(f.now, peer(1), request(7)); // replay of the cached empty ACK
    auto ack2 = f.ep->poll_transmit();
    ASSERT_TRUE(ack2);
    EXPECT_EQ(ack2->bytes, ack->bytes);
    Message r;
    r.code = code::content;
    ASSERT_TRUE(f.ep->send_response(f.now, std::get<IncomingRequest>(*e).id, std::move(r)));
    auto sep = f.ep->poll_transmit(); // separate CON response (§5.2.2)
    ASSERT_TRUE(sep);
    auto m = decode(sep->bytes);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, Type::con);
}

} // namespace
