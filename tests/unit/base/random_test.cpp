#include <gtest/gtest.h>

#include <array>

#include <lwm2m/base/random.hpp>

namespace lwm2m {
namespace {

TEST(SeededRandom, DeterministicPerSeed) {
    SeededRandom a(42), b(42), c(43);
    for (int i = 0; i < 100; ++i) {
        const auto x = a.next_u32();
        EXPECT_EQ(x, b.next_u32());
        (void)c.next_u32();
    }
    EXPECT_NE(SeededRandom(1).next_u32(), SeededRandom(2).next_u32());
}

TEST(SeededRandom, UniformStaysInBoundAndCoversIt) {
    SeededRandom r(7);
    std::array<int, 6> hist{};
    for (int i = 0; i < 6000; ++i) {
        const auto v = r.uniform(6);
        ASSERT_LT(v, 6U);
        ++hist[v];
    }
    for (int h : hist)
        EXPECT_GT(h, 800);
    for (int i = 0; i < 1000; ++i) {
        const double u = r.unit();
        EXPECT_GE(u, 0.0);
        EXPECT_LT(u, 1.0);
    }
}

} // namespace
} // namespace lwm2m
