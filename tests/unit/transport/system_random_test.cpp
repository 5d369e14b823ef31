#include <gtest/gtest.h>

#include <array>
#include <set>

#include <lwm2m/transport/errc.hpp>
#include <lwm2m/transport/resolve.hpp>
#include <lwm2m/transport/system_random.hpp>
#include <lwm2m/transport/time_source.hpp>

namespace lwm2m::transport {
namespace {

TEST(SystemRandom, InstancesAreSeededDifferently) {
    SystemRandom a;
    SystemRandom b;
    std::set<std::uint32_t> seen;
    bool differ = false;
    for (int i = 0; i < 64; ++i) {
        auto x = a.next_u32();
        auto y = b.next_u32();
        differ = differ || x != y;
        seen.insert(x);
    }
    EXPECT_TRUE(differ);
    EXPECT_GT(seen.size(), 60U); // 64 draws of 32 bits essentially never collide
}

TEST(SystemRandom, FillUsesTheKernel) {
    SystemRandom r;
    std::array<std::byte, 32> x{};
    std::array<std::byte, 32> y{};
    r.fill(x);
    r.fill(y);
    EXPECT_NE(x, y);
    EXPECT_NE(x, (std::array<std::byte, 32>{}));
}

TEST(SteadyTimeSource, IsMonotonicAndRoundTrips) {
    TimePoint a = SteadyTimeSource::now();
    TimePoint b = SteadyTimeSource::now();
    EXPECT_LE(a, b);
    auto s = std::chrono::steady_clock::now();
    EXPECT_EQ(SteadyTimeSource::to_steady(SteadyTimeSource::from_steady(s)), s);
    EXPECT_GT(SystemWallClock{}.unix_seconds(), 1'600'000'000); // after 2020
}

TEST(Resolve, LiteralsAndLocalhost) {
    auto v4 = resolve_udp("127.0.0.1", 5683);
    ASSERT_TRUE(v4) << v4.error().message();
    ASSERT_EQ(v4->size(), 1U);
    EXPECT_EQ((*v4)[0], PeerAddr::v4(127, 0, 0, 1, 5683));
    auto v6 = resolve_udp("::1", 1);
    ASSERT_TRUE(v6);
    EXPECT_EQ((*v6)[0].to_string(), "[::1]:1");
    auto bad = resolve_udp("no-such-host.invalid", 1); // RFC 2606: .invalid never resolves
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), make_error_code(Errc::resolve_failed));
}

} // namespace
} // namespace lwm2m::transport
