// SlotIndex (include/lwm2m/base/slot_index.hpp): the flat index of the engine and the memory
// stores, checked against std::unordered_map under random inserts, re-points and erases (with
// tombstone reuse and growth), and with colliding tags.
#include <gtest/gtest.h>

#include <string>
#include <unordered_map>
#include <vector>

#include <lwm2m/base/random.hpp>
#include <lwm2m/base/slot_index.hpp>

namespace lwm2m {
namespace {

TEST(SlotIndex, BehavesLikeAMapUnderRandomOperations) {
    SeededRandom rng(42);
    std::vector<std::string> keys(2000); // slot -> key ("" = free)
    std::unordered_map<std::string, std::uint32_t> model;
    SlotIndex index;
    auto tag = [](const std::string& k) { return SlotIndex::tag_of(std::hash<std::string>{}(k)); };
    for (int step = 0; step < 200000; ++step) {
        const std::string key = "k" + std::to_string(rng.uniform(1500));
        const auto found = index.find(tag(key), [&](std::uint32_t s) { return keys[s] == key; });
        auto it = model.find(key);
        ASSERT_EQ(found.has_value(), it != model.end()) << step;
        if (found) {
            ASSERT_EQ(*found, it->second);
        }
        if (rng.uniform(3) == 0 && it != model.end()) {
            index.erase(tag(key), it->second);
            keys[it->second].clear();
            model.erase(it);
        } else if (it == model.end()) {
            std::uint32_t s = 0;
            while (!keys[s].empty())
                ++s;
            keys[s] = key;
            index.assign(tag(key), s, [&](std::uint32_t o) { return keys[o] == key; });
            model[key] = s;
        }
        ASSERT_EQ(index.size(), model.size());
        ASSERT_LE(index.size() * 2, index.capacity());
    }
    std::size_t visited = 0;
    index.for_each([&](std::uint32_t s) {
        EXPECT_FALSE(keys[s].empty());
        ++visited;
    });
    EXPECT_EQ(visited, model.size());
}

TEST(SlotIndex, AssignRepointsAnExistingKeyAndCollidingTagsStayApart) {
    SlotIndex index;
    // Every key has the same tag: the caller's comparison tells them apart.
    std::vector<int> owner = {7, 8, 7};
    index.assign(5, 0, [&](std::uint32_t s) { return owner[s] == 7; });
    index.assign(5, 1, [&](std::uint32_t s) { return owner[s] == 8; });
    EXPECT_EQ(index.size(), 2U);
    index.assign(5, 2, [&](std::uint32_t s) { return owner[s] == 7; }); // key 7 moves to slot 2
    EXPECT_EQ(index.size(), 2U);
    EXPECT_EQ(index.find(5, [&](std::uint32_t s) { return owner[s] == 7; }), 2U);
    EXPECT_EQ(index.find(5, [&](std::uint32_t s) { return owner[s] == 8; }), 1U);
    index.erase(5, 0); // not present any more: no-op
    EXPECT_EQ(index.size(), 2U);
    index.erase(5, 1);
    EXPECT_FALSE(index.find(5, [&](std::uint32_t s) { return owner[s] == 8; }));
    EXPECT_GE(SlotIndex::tag_of(0), 2U);
    EXPECT_GE(SlotIndex::tag_of(1), 2U);
}

TEST(SlotIndex, ChurnJustBelowHalfFullDoesNotRebuildOnEveryInsert) {
    // A fleet whose devices re-register from new addresses: the peer index erases the old key
    // and inserts the new one while its size stays put. At exactly capacity/2 live entries the
    // first version rebuilt the whole table on every insert (O(n) per Register).
    SlotIndex index;
    std::vector<std::uint64_t> key_of;
    auto tag = [](std::uint64_t k) { return SlotIndex::tag_of(k * 0x9e3779b97f4a7c15ULL); };
    auto put = [&](std::uint32_t slot, std::uint64_t k) {
        key_of[slot] = k;
        index.assign(tag(k), slot, [&](std::uint32_t s) { return key_of[s] == k; });
    };
    constexpr std::uint32_t n = 1024;
    key_of.resize(n);
    for (std::uint32_t s = 0; s < n; ++s)
        put(s, s);
    ASSERT_EQ(index.capacity(), 2 * n); // exactly half full
    const std::size_t before = index.rehashes();
    std::uint64_t next = n;
    constexpr std::uint32_t moves = 20 * n;
    for (std::uint32_t i = 0; i < moves; ++i) {
        const std::uint32_t s = i % n;
        index.erase(tag(key_of[s]), s);
        put(s, next++);
    }
    EXPECT_EQ(index.size(), n);
    // Each rebuild is followed by at least capacity/4 inserts (the first version: one per move).
    EXPECT_LE(index.rehashes() - before, 8 * moves / index.capacity() + 2);
    for (std::uint32_t s = 0; s < n; ++s)
        EXPECT_EQ(
            index.find(tag(key_of[s]), [&](std::uint32_t o) { return key_of[o] == key_of[s]; }), s);
}

} // namespace
} // namespace lwm2m
