// DedupTable (src/coap/dedup_table.hpp): insert/find/expire/grow/kill, collision-heavy hashes,
// and a lockstep run against a std::unordered_map + std::deque model. RingQueue: FIFO order
// across growth.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <unordered_map>

#include <lwm2m/base/ring_queue.hpp>

#include "coap/dedup_table.hpp"

using lwm2m::Bytes;
using lwm2m::BytesView;
using lwm2m::PeerAddr;
using lwm2m::TimePoint;
using lwm2m::coap::MessageId;
using DedupTable = lwm2m::coap::detail::DedupTable<int>;
using lwm2m::RingQueue;
using lwm2m::coap::detail::NodePool;

namespace {

PeerAddr peer(std::uint32_t i) {
    return PeerAddr::v4(10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                        static_cast<std::uint8_t>(i), 5683);
}
TimePoint at(std::int64_t ms) {
    return TimePoint{} + std::chrono::milliseconds(ms);
}
Bytes bytes_of(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::byte>(seed + i);
    return b;
}
/// Dereferences a pointer the test has just checked (aborts instead of UB if it is null).
template <typename T>
T& deref(T* p) {
    if (p == nullptr) std::abort();
    return *p;
}
bool same(BytesView a, const Bytes& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

TEST(DedupTable, InsertFindGetPop) {
    DedupTable t;
    EXPECT_EQ(t.find(1, peer(1), 7), nullptr);
    auto& e = t.push(1, peer(1), 7, at(100));
    const auto h = e.seq;
    EXPECT_NE(h, 0U);
    EXPECT_EQ(t.size(), 1U);
    EXPECT_EQ(t.find(1, peer(1), 7), &e);
    EXPECT_EQ(t.find(1, peer(1), 8), nullptr); // same hash, other MID
    EXPECT_EQ(t.find(1, peer(2), 7), nullptr); // same hash, other peer
    EXPECT_EQ(t.find(2, peer(1), 7), nullptr); // hash is part of the key
    EXPECT_EQ(t.get(h), &e);
    EXPECT_EQ(t.get(h + 1), nullptr);
    EXPECT_EQ(t.get(0), nullptr);
    EXPECT_EQ(t.front().expires, at(100));
    t.pop_front();
    EXPECT_TRUE(t.ring_empty());
    EXPECT_EQ(t.size(), 0U);
    EXPECT_EQ(t.find(1, peer(1), 7), nullptr);
    EXPECT_EQ(t.get(h), nullptr); // popped handles never resolve again
}

TEST(DedupTable, RepliesInlineAndLarge) {
    DedupTable t;
    auto& e = t.push(5, peer(1), 1, at(1));
    EXPECT_FALSE(e.has_reply());
    const Bytes small = bytes_of(DedupTable::kInline, 1);
    e.set_reply(small);
    EXPECT_TRUE(same(deref(t.get(e.seq)).reply(), small));
    const Bytes large = bytes_of(1200, 9);
    e.set_reply(large);
    EXPECT_EQ(e.reply_size(), 1200U);
    EXPECT_TRUE(same(e.reply(), large));
    const Bytes back = bytes_of(4, 3); // back to inline after a large one
    e.set_reply(back);
    EXPECT_TRUE(same(e.reply(), back));
    // Large replies survive ring growth (entries are moved).
    const auto h = e.seq;
    e.set_reply(large);
    for (std::uint16_t i = 0; i < 100; ++i)
        t.push(100 + i, peer(2), i, at(2));
    ASSERT_NE(t.get(h), nullptr);
    EXPECT_TRUE(same(deref(t.get(h)).reply(), large));
    EXPECT_GE(t.ring_capacity(), 101U);
}

TEST(DedupTable, KillLeavesDeadSlotUntilPopped) {
    DedupTable t;
    auto& a = t.push(3, peer(1), 1, at(10));
    const auto ha = a.seq;
    t.push(3, peer(1), 2, at(11));
    t.kill(deref(t.find(3, peer(1), 1)));
    EXPECT_EQ(t.size(), 1U);
    EXPECT_EQ(t.ring_size(), 2U);
    EXPECT_EQ(t.get(ha), nullptr);
    EXPECT_EQ(t.find(3, peer(1), 1), nullptr);
    ASSERT_NE(t.find(3, peer(1), 2), nullptr); // the collision chain survives the deletion
    // Re-insert the same key (recycling): a new handle.
    auto& a2 = t.push(3, peer(1), 1, at(12));
    EXPECT_NE(a2.seq, ha);
    EXPECT_FALSE(t.front().live);
    t.pop_front(); // the dead slot
    EXPECT_EQ(t.size(), 2U);
    EXPECT_NE(t.find(3, peer(1), 1), nullptr);
}

TEST(DedupTable, ShrinksAfterBurst) {
    DedupTable t;
    for (std::uint32_t i = 0; i < 20000; ++i)
        t.push(i * 0x9e3779b97f4a7c15ULL, peer(i), static_cast<MessageId>(i), at(i));
    const std::size_t big = t.ring_capacity();
    EXPECT_GE(big, 20000U);
    auto* last = t.find(19999 * 0x9e3779b97f4a7c15ULL, peer(19999), 19999);
    ASSERT_NE(last, nullptr);
    const auto h = last->seq;
    while (t.ring_size() > 100)
        t.pop_front();
    EXPECT_LT(t.ring_capacity(), big / 8);
    // Survivors are still found by key and handle after the rebuilds.
    for (std::uint32_t i = 19900; i < 20000; ++i)
        EXPECT_NE(t.find(i * 0x9e3779b97f4a7c15ULL, peer(i), static_cast<MessageId>(i)), nullptr)
            << i;
    ASSERT_NE(t.get(h), nullptr);
    EXPECT_EQ(deref(t.get(h)).mid, 19999 % 65536);
}

TEST(DedupTable, AllKeysInOneHashBucket) {
    // Worst case for linear probing: every key has the same hash. Deleting from the middle of
    // the cluster must keep every other key reachable (backward-shift deletion).
    DedupTable t;
    constexpr std::uint64_t h = 0xdeadbeef00000005ULL;
    for (std::uint16_t m = 0; m < 300; ++m)
        t.push(h, peer(m % 7), m, at(m));
    for (std::uint16_t m = 0; m < 300; m += 3)
        t.kill(deref(t.find(h, peer(m % 7), m)));
    for (std::uint16_t m = 0; m < 300; ++m) {
        const auto* e = t.find(h, peer(m % 7), m);
        if (m % 3 == 0) {
            EXPECT_EQ(e, nullptr) << m;
        } else {
            ASSERT_NE(e, nullptr) << m;
            EXPECT_EQ(deref(e).mid, m);
        }
    }
    EXPECT_EQ(t.size(), 200U);
}

TEST(DedupTable, WrapAroundClusterDeletion) {
    // Hashes near the end of the index wrap to its start; delete across the wrap.
    DedupTable t;
    for (std::uint16_t m = 0; m < 16; ++m)
        t.push(~std::uint64_t{0} - (m % 3), peer(1), m, at(m));
    for (std::uint16_t m = 0; m < 16; m += 2)
        t.kill(deref(t.find(~std::uint64_t{0} - (m % 3), peer(1), m)));
    for (std::uint16_t m = 1; m < 16; m += 2)
        EXPECT_NE(t.find(~std::uint64_t{0} - (m % 3), peer(1), m), nullptr) << m;
}

// Lockstep against a model: random push (fresh keys), kill, pop, get, find, with hashes drawn
// from a tiny range (collision-heavy) and a ring that grows and wraps many times.
TEST(DedupTable, LockstepAgainstModel) {
    for (const std::uint64_t hash_range : {std::uint64_t{4}, std::uint64_t{1} << 40}) {
        std::mt19937_64 rng(42 + hash_range);
        DedupTable t;
        struct M {
            std::uint64_t hash;
            PeerAddr peer;
            MessageId mid;
            bool live;
            Bytes reply;
        };
        std::deque<DedupTable::Handle> order; // ring order
        std::unordered_map<DedupTable::Handle, M> ms;
        std::map<std::tuple<std::uint32_t, MessageId>, DedupTable::Handle> live;
        auto key_of = [](const M& m) {
            std::uint32_t a = 0;
            std::memcpy(&a, m.peer.addr.data(), 4);
            return std::tuple<std::uint32_t, MessageId>{a, m.mid};
        };
        std::size_t max_ring = 0;
        for (int step = 0; step < 60000; ++step) {
            // Phases: grow (mostly pushes), then churn (the ring wraps many times), then drain.
            const int phase = step < 12000 ? 0 : step < 48000 ? 1 : 2;
            const int r = static_cast<int>(rng() % 100);
            const int push_pct = phase == 0 ? 70 : phase == 1 ? 40 : 10;
            const int op = r < push_pct ? 0 : r < push_pct + 15 ? 1 : r < 95 ? 2 : 3;
            if (op == 0) {
                M m{rng() % hash_range,
                    peer(static_cast<std::uint32_t>(rng() % 50)),
                    static_cast<MessageId>(rng() % 400),
                    true,
                    {}};
                if (hash_range < 16) m.hash |= (rng() % 2) << 63; // differ only in the tag
                if (live.contains(key_of(m))) continue;
                auto& e = t.push(m.hash, m.peer, m.mid, at(step));
                if (rng() % 2) {
                    m.reply = bytes_of(rng() % 2 ? 10 : 100, static_cast<std::uint8_t>(step));
                    e.set_reply(m.reply);
                }
                live[key_of(m)] = e.seq;
                order.push_back(e.seq);
                ms.emplace(e.seq, std::move(m));
            } else if (op == 1 && !live.empty()) {
                auto it = live.begin();
                std::advance(it, static_cast<long>(rng() % live.size()));
                DedupTable::Entry* e = t.get(it->second);
                ASSERT_NE(e, nullptr);
                t.kill(*e);
                ms.at(it->second).live = false;
                live.erase(it);
            } else if (op == 2 && !order.empty()) {
                ASSERT_FALSE(t.ring_empty());
                const M& m = ms.at(order.front());
                EXPECT_EQ(t.front().seq, order.front());
                EXPECT_EQ(t.front().live, m.live);
                if (m.live) live.erase(key_of(m));
                t.pop_front();
                ms.erase(order.front());
                order.pop_front();
            } else if (op == 3) {
                // Check a random sample by handle and by key.
                for (int k = 0; k < 8 && !order.empty(); ++k) {
                    const DedupTable::Handle h = order[rng() % order.size()];
                    const M& m = ms.at(h);
                    const DedupTable::Entry* byh = t.get(h);
                    const DedupTable::Entry* byk = t.find(m.hash, m.peer, m.mid);
                    if (m.live) {
                        ASSERT_NE(byh, nullptr);
                        EXPECT_EQ(byh, byk);
                        EXPECT_TRUE(same(deref(byh).reply(), m.reply));
                    } else {
                        EXPECT_EQ(byh, nullptr);
                        if (!live.contains(key_of(m))) {
                            EXPECT_EQ(byk, nullptr);
                        }
                    }
                }
            }
            ASSERT_EQ(t.size(), live.size());
            ASSERT_EQ(t.ring_size(), order.size());
            max_ring = std::max(max_ring, order.size());
        }
        // Everything still in the model is found by key and handle.
        for (const DedupTable::Handle h : order) {
            const M& m = ms.at(h);
            if (!m.live) continue;
            ASSERT_NE(t.get(h), nullptr);
            ASSERT_EQ(t.find(m.hash, m.peer, m.mid), t.get(h));
        }
        // The ring stays within 2x of the most entries it ever held (bounded memory).
        EXPECT_LE(t.ring_capacity(), 2 * std::max<std::size_t>(max_ring, 8));
    }
}

TEST(RingQueue, FifoAcrossGrowthAndWrap) {
    RingQueue<std::uint64_t> q;
    std::deque<std::uint64_t> model;
    std::mt19937 rng(7);
    std::uint64_t next = 0;
    for (int i = 0; i < 100000; ++i) {
        if (rng() % 3 != 0 || model.empty()) {
            q.push_back(next);
            model.push_back(next++);
        } else {
            ASSERT_EQ(q.front(), model.front());
            q.pop_front();
            model.pop_front();
        }
        ASSERT_EQ(q.size(), model.size());
    }
    while (!model.empty()) {
        ASSERT_EQ(q.front(), model.front());
        q.pop_front();
        model.pop_front();
    }
    EXPECT_TRUE(q.empty());
}

TEST(RingQueue, IndexAndEraseIfKeepOrderAcrossWrap) {
    RingQueue<int> q;
    std::deque<int> model;
    std::mt19937 rng(11);
    int next = 0;
    for (int i = 0; i < 20000; ++i) {
        const unsigned op = rng() % 8;
        if (op < 5 || model.empty()) {
            q.push_back(next);
            model.push_back(next++);
        } else if (op < 7) {
            q.pop_front();
            model.pop_front();
        } else {
            const int m = static_cast<int>(rng() % 3) + 2; // remove multiples of 2, 3 or 4
            const auto before = model.size();
            std::erase_if(model, [m](int v) { return v % m == 0; });
            ASSERT_EQ(q.erase_if([m](int v) { return v % m == 0; }), before - model.size());
        }
        ASSERT_EQ(q.size(), model.size());
        for (std::size_t k = 0; k < model.size(); ++k)
            ASSERT_EQ(q[k], model[k]) << "at " << k << " after step " << i;
    }
}

TEST(RingQueue, FirstAllocationHoldsAboutHalfAKilobyte) {
    struct Big {
        std::array<char, 300> b{};
    };
    RingQueue<Big> big;
    big.push_back(Big{});
    EXPECT_EQ(big.capacity(), 1U); // one 300-byte element, not eight
    RingQueue<std::uint64_t> small;
    small.push_back(1);
    EXPECT_EQ(small.capacity(), 8U);
}

TEST(RingQueue, ReleasesMemoryWhenDrainedAfterBurst) {
    RingQueue<int> q;
    for (int i = 0; i < 5000; ++i)
        q.push_back(i);
    for (int i = 0; i < 5000; ++i) {
        ASSERT_EQ(q.front(), i);
        q.pop_front();
    }
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.capacity(), 0U);
    q.push_back(7); // usable again
    EXPECT_EQ(q.front(), 7);
    EXPECT_LE(q.capacity(), 8U);
    EXPECT_EQ(q.size(), 1U);
}

TEST(RingQueue, OwnsMovedValues) {
    RingQueue<Bytes> q;
    for (int i = 0; i < 20; ++i)
        q.emplace_back(bytes_of(static_cast<std::size_t>(i + 1), 0));
    for (int i = 0; i < 20; ++i) {
        Bytes b = std::move(q.front());
        q.pop_front();
        EXPECT_EQ(b.size(), static_cast<std::size_t>(i + 1));
    }
    EXPECT_TRUE(q.empty());
}

TEST(NodePool, ReusesNodesKeepsMapSemanticsAndStaysBounded) {
    using Map = std::unordered_map<int, std::string>;
    Map m;
    NodePool<Map, 4> pool;
    auto it = pool.emplace(m, 1, std::string("one"));
    EXPECT_EQ(it->second, "one");
    // No overwrite when the key exists (as Map::emplace), with or without a pooled node.
    EXPECT_EQ(pool.emplace(m, 1, std::string("uno"))->second, "one");
    pool.emplace(m, 2, std::string("two"));
    pool.erase(m, m.find(2));
    EXPECT_EQ(pool.idle(), 1U);
    EXPECT_EQ(pool.emplace(m, 1, std::string("uno"))->second, "one");
    EXPECT_EQ(pool.idle(), 1U);                                    // the node came back
    const auto* addr = &*pool.emplace(m, 3, std::string("three")); // reuses the idle node
    EXPECT_EQ(pool.idle(), 0U);
    EXPECT_EQ(m.at(3), "three");
    EXPECT_EQ(pool.erase(m, 3), 1U);
    EXPECT_EQ(pool.erase(m, 3), 0U);
    EXPECT_EQ(&*pool.emplace(m, 4, std::string("four")), addr); // same node, no allocation
    EXPECT_EQ(m.size(), 2U);
    for (int k = 10; k < 30; ++k)
        pool.emplace(m, k, std::to_string(k));
    for (int k = 10; k < 30; ++k)
        EXPECT_EQ(pool.erase(m, k), 1U);
    EXPECT_EQ(pool.idle(), 4U); // bounded
    EXPECT_EQ(m.size(), 2U);
    EXPECT_EQ(m.at(1), "one");
    EXPECT_EQ(m.at(4), "four");
}

} // namespace
