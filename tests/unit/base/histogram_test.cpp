#include <gtest/gtest.h>

#include <lwm2m/base/histogram.hpp>

namespace {

using lwm2m::LatencyHistogram;

TEST(LatencyHistogram, EmptyHasNoFigures) {
    LatencyHistogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.quantile_us(0.99), 0u);
    EXPECT_EQ(h.max_us(), 0u);
    EXPECT_TRUE(h.buckets().empty());
}

TEST(LatencyHistogram, BucketsCoverEveryValueWithinOneEighth) {
    // Every value lands in a bucket whose bounds hold it, and the bucket is at most 1/8 of its
    // lower bound wide (exact below 16 us).
    std::uint64_t prev_upper = 0;
    for (std::size_t b = 0; b < LatencyHistogram::kBuckets; ++b) {
        const std::uint64_t upper = LatencyHistogram::upper_bound_us(b);
        if (b > 0) {
            ASSERT_GT(upper, prev_upper) << b;
            const std::uint64_t lower = prev_upper + 1;
            ASSERT_EQ(LatencyHistogram::bucket_of(lower), b);
            ASSERT_EQ(LatencyHistogram::bucket_of(upper), b);
            if (lower >= 16) {
                ASSERT_LE(upper - lower + 1, lower / 8) << b;
            }
        }
        prev_upper = upper;
    }
    EXPECT_EQ(prev_upper, ~std::uint64_t{0});
    EXPECT_EQ(LatencyHistogram::bucket_of(~std::uint64_t{0}), LatencyHistogram::kBuckets - 1);
    for (std::uint64_t v = 0; v < 16; ++v)
        EXPECT_EQ(LatencyHistogram::upper_bound_us(LatencyHistogram::bucket_of(v)), v);
}

TEST(LatencyHistogram, QuantilesOfAUniformSpread) {
    LatencyHistogram h;
    for (std::uint64_t us = 1; us <= 10000; ++us)
        h.record_us(us);
    EXPECT_EQ(h.count(), 10000u);
    EXPECT_EQ(h.max_us(), 10000u);
    const auto p50 = h.quantile_us(0.5);
    const auto p99 = h.quantile_us(0.99);
    EXPECT_GE(p50, 5000u);
    EXPECT_LE(p50, 5000u + 5000u / 8);
    EXPECT_GE(p99, 9900u);
    EXPECT_LE(p99, 10000u); // capped by the exact maximum
    EXPECT_EQ(h.quantile_us(1.0), 10000u);
    EXPECT_EQ(h.quantile_us(0.0), 1u);
}

TEST(LatencyHistogram, RecordsDurationsAndMerges) {
    LatencyHistogram a;
    LatencyHistogram b;
    a.record(std::chrono::milliseconds(3));
    a.record(std::chrono::nanoseconds(-5)); // clock oddities count as 0
    b.record(std::chrono::seconds(2));
    a.merge(b);
    EXPECT_EQ(a.count(), 3u);
    EXPECT_EQ(a.max_us(), 2000000u);
    const auto buckets = a.buckets();
    ASSERT_EQ(buckets.size(), 3u);
    EXPECT_EQ(buckets[0], (std::pair<std::uint64_t, std::uint64_t>{0, 1}));
    EXPECT_GE(buckets[1].first, 3000u);
    EXPECT_EQ(buckets[2].second, 1u);
    EXPECT_EQ(a.quantile_us(0.5), buckets[1].first);
}

} // namespace
