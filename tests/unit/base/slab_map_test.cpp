// SlabMap (include/lwm2m/base/slab_map.hpp): the flat per-peer map of the DTLS server table and
// the server engine, against std::map under random operations.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <lwm2m/base/random.hpp>
#include <lwm2m/base/slab_map.hpp>

namespace lwm2m {
namespace {

struct IdentityHash {
    std::size_t operator()(std::uint64_t k) const noexcept { return k; }
};
/// All keys collide: only the key comparison tells them apart.
struct ConstantHash {
    std::size_t operator()(std::uint64_t) const noexcept { return 42; }
};

template <class Hash>
void random_operations() {
    SlabMap<std::uint64_t, std::shared_ptr<std::uint64_t>, Hash> map;
    std::map<std::uint64_t, std::uint64_t> model;
    SeededRandom rng{7};
    for (int i = 0; i < 20000; ++i) {
        const std::uint64_t k = rng.next_u32() % 300;
        switch (rng.next_u32() % 4) {
        case 0: {
            auto [n, fresh] = map.try_emplace(k);
            EXPECT_EQ(fresh, !model.contains(k));
            EXPECT_EQ(n->first, k);
            n->second = std::make_shared<std::uint64_t>(k * 3 + 1);
            model[k] = k * 3 + 1;
            break;
        }
        case 1:
            EXPECT_EQ(map.erase(k), model.erase(k));
            break;
        case 2:
            if (auto* n = map.find(k); n != map.end()) {
                const std::weak_ptr<std::uint64_t> value = n->second;
                map.erase(n);
                EXPECT_TRUE(value.expired()); // the value is destroyed at once
                model.erase(k);
            }
            break;
        default: {
            auto* n = map.find(k);
            ASSERT_EQ(n != map.end(), model.contains(k));
            if (n != map.end()) {
                EXPECT_EQ(*n->second, model[k]);
            }
        }
        }
        ASSERT_EQ(map.size(), model.size());
    }
    for (const auto& [k, v] : model) {
        ASSERT_TRUE(map.contains(k));
        EXPECT_EQ(*map.find(k)->second, v);
    }
    map.clear();
    EXPECT_TRUE(map.empty());
    EXPECT_FALSE(map.contains(model.begin()->first));
}

TEST(SlabMap, BehavesLikeAMapUnderRandomOperations) {
    random_operations<IdentityHash>();
}

TEST(SlabMap, CollidingHashesStayApart) {
    random_operations<ConstantHash>();
}

TEST(SlabMap, NodesKeepTheirAddressWhileTheMapGrows) {
    SlabMap<std::uint64_t, std::uint64_t, IdentityHash> map;
    auto* first = map.try_emplace(1).first;
    first->second = 11;
    for (std::uint64_t k = 2; k < 5000; ++k)
        map[k] = k;
    EXPECT_EQ(map.find(1), first);
    EXPECT_EQ(first->second, 11U);
    // A freed node is reused for the next new key, with a fresh value.
    map.erase(first);
    auto [again, fresh] = map.try_emplace(9999);
    EXPECT_TRUE(fresh);
    EXPECT_EQ(again, first);
    EXPECT_EQ(again->second, 0U);
}

} // namespace
} // namespace lwm2m

TEST(SlabMap, NodesKeepTheirAddressesAcrossChunksOfGrowingSize) {
    // The first chunks are small (8, 8, 16, ... nodes), then 256 each: every node must stay
    // where it was handed out, whatever chunk holds it.
    lwm2m::SlabMap<std::uint64_t, std::uint64_t, std::hash<std::uint64_t>> map;
    std::vector<const std::uint64_t*> where;
    constexpr std::uint64_t count = 100'000; // far past the small chunks: about 400 chunks
    for (std::uint64_t k = 0; k < count; ++k) {
        auto [n, fresh] = map.try_emplace(k);
        ASSERT_TRUE(fresh);
        n->second = k * 7;
        where.push_back(&n->second);
    }
    for (std::uint64_t k = 0; k < count; ++k) {
        const auto* n = map.find(k);
        ASSERT_NE(n, map.end());
        EXPECT_EQ(&n->second, where[k]);
        EXPECT_EQ(n->second, k * 7);
    }
    std::set<const std::uint64_t*> distinct(where.begin(), where.end());
    EXPECT_EQ(distinct.size(), where.size());
}
