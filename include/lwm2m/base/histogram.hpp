// LatencyHistogram: a fixed-size log-linear histogram of durations (no allocation, no clock),
// for latency figures a server reports about itself (GET /api/stats).
//
// Values are recorded in microseconds. Below 16 us every microsecond has its bucket; above, each
// power of two is split into 8 buckets, so a bucket's width is at most 1/8 of its lower bound
// (percentiles are exact to within 12.5%, reported as the bucket's upper bound). 60 powers of
// two cover every Duration. Counts are cumulative since construction: a reader that wants a
// window takes two snapshots and subtracts (the API exposes the buckets for that).
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include <lwm2m/base/time.hpp>

namespace lwm2m {

class LatencyHistogram {
public:
    static constexpr std::size_t kSubBits = 3;
    static constexpr std::size_t kLinear = 16; ///< values below are their own bucket
    static constexpr std::size_t kBuckets = kLinear + (64 - 4) * (1u << kSubBits);

    /// Records one duration (negative durations count as 0).
    void record(Duration d) noexcept;
    /// Records a value in microseconds.
    void record_us(std::uint64_t us) noexcept;
    /// Adds another histogram's counts.
    void merge(const LatencyHistogram& other) noexcept;

    [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
    /// The largest value recorded, in microseconds (exact); 0 when empty.
    [[nodiscard]] std::uint64_t max_us() const noexcept { return max_us_; }
    /// The q-quantile (0 <= q <= 1) in microseconds: the upper bound of the bucket holding the
    /// ceil(q * count)-th smallest value, capped by max_us(). 0 when empty.
    [[nodiscard]] std::uint64_t quantile_us(double q) const noexcept;

    /// The bucket index of a value and a bucket's inclusive upper bound, in microseconds.
    [[nodiscard]] static std::size_t bucket_of(std::uint64_t us) noexcept;
    [[nodiscard]] static std::uint64_t upper_bound_us(std::size_t bucket) noexcept;

    /// The non-empty buckets as (upper bound in us, count), ascending.
    [[nodiscard]] std::vector<std::pair<std::uint64_t, std::uint64_t>> buckets() const;

private:
    std::array<std::uint64_t, kBuckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t max_us_ = 0;
};

} // namespace lwm2m
