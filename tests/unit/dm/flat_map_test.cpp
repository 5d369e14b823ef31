// dm::FlatMap against std::map: the same operations give the same contents and results.
#include <lwm2m/dm/flat_map.hpp>
#include <lwm2m/dm/node.hpp>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

using lwm2m::dm::FlatMap;

namespace {

template <class A, class B>
void expect_same(const A& flat, const B& ref) {
    ASSERT_EQ(flat.size(), ref.size());
    auto it = ref.begin();
    for (const auto& [k, v] : flat) {
        EXPECT_EQ(k, it->first);
        EXPECT_EQ(v, it->second);
        ++it;
    }
}

} // namespace

TEST(FlatMap, RandomOperationsMatchStdMap) {
    std::mt19937 rng(7);
    FlatMap<std::uint16_t, std::string> f;
    std::map<std::uint16_t, std::string> m;
    for (int step = 0; step < 4000; ++step) {
        const auto k = static_cast<std::uint16_t>(rng() % 64);
        const std::string v = "value-" + std::to_string(rng() % 1000) + "-long-enough-to-allocate";
        switch (rng() % 8) {
        case 0: {
            auto a = f.try_emplace(k, v);
            auto b = m.try_emplace(k, v);
            EXPECT_EQ(a.second, b.second);
            EXPECT_EQ(a.first->second, b.first->second);
            break;
        }
        case 1: {
            auto a = f.emplace(k, v);
            auto b = m.emplace(k, v);
            EXPECT_EQ(a.second, b.second);
            break;
        }
        case 2:
            f[k] = v;
            m[k] = v;
            break;
        case 3:
            EXPECT_EQ(f.erase(k), m.erase(k));
            break;
        case 4: {
            EXPECT_EQ(f.contains(k), m.contains(k));
            EXPECT_EQ(f.count(k), m.count(k));
            auto a = f.find(k);
            auto b = m.find(k);
            ASSERT_EQ(a == f.end(), b == m.end());
            if (b != m.end()) {
                EXPECT_EQ(f.at(k), m.at(k));
            } else {
                EXPECT_THROW((void)f.at(k), std::out_of_range);
            }
            break;
        }
        case 5: {
            auto a = f.lower_bound(k);
            auto b = m.lower_bound(k);
            ASSERT_EQ(a == f.end(), b == m.end());
            if (b != m.end()) {
                EXPECT_EQ(a->first, b->first);
            }
            break;
        }
        case 6: {
            auto a = f.insert({k, v});
            auto b = m.insert({k, v});
            EXPECT_EQ(a.second, b.second);
            break;
        }
        default: {
            // erase(iterator) returns the next element, as std::map's does
            auto a = f.find(k);
            auto b = m.find(k);
            if (b == m.end()) break;
            auto na = f.erase(a);
            auto nb = m.erase(b);
            ASSERT_EQ(na == f.end(), nb == m.end());
            if (nb != m.end()) {
                EXPECT_EQ(na->first, nb->first);
            }
            break;
        }
        }
        expect_same(f, m);
        EXPECT_EQ(f.empty(), m.empty());
    }
}

TEST(FlatMap, ConstructionAndEquality) {
    // Initializer lists may be unsorted; the first of equal keys wins (as std::map).
    const FlatMap<int, int> a{{3, 30}, {1, 10}, {2, 20}, {1, 99}};
    const std::map<int, int> ref{{3, 30}, {1, 10}, {2, 20}, {1, 99}};
    expect_same(a, ref);
    const FlatMap<int, int> b(ref); // from a std::map
    EXPECT_EQ(a, b);
    FlatMap<int, int> c = b;
    c[4] = 40;
    EXPECT_NE(c, b);
    EXPECT_EQ(c.erase(4), 1u);
    EXPECT_EQ(c, b);
    c.clear();
    EXPECT_TRUE(c.empty());
    EXPECT_EQ(c.find(1), c.end());
}

TEST(FlatMap, DataModelNodesKeepMapSemantics) {
    using namespace lwm2m::dm;
    // Resource::multi still accepts a std::map of instances.
    const std::map<std::uint16_t, Value> inst{{2, Value::integer(2)}, {0, Value::integer(0)}};
    const Resource r = Resource::multi(7, inst);
    ASSERT_EQ(r.instances.size(), 2u);
    EXPECT_EQ(r.instances.begin()->first, 0); // ordered
    Instance i;
    i.resources[9] = Resource::single(9, Value::string("x"));
    i.resources.emplace(1, Resource::single(1, Value::boolean(true)));
    i.resources.emplace(9, Resource::single(9, Value::string("ignored"))); // existing key kept
    std::vector<std::uint16_t> order;
    for (const auto& [rid, res] : i.resources)
        order.push_back(rid);
    EXPECT_EQ(order, (std::vector<std::uint16_t>{1, 9}));
    EXPECT_EQ(i.resources.at(9).value, Value::string("x"));
}
