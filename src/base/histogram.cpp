#include <lwm2m/base/histogram.hpp>

#include <algorithm>
#include <bit>
#include <cmath>

namespace lwm2m {

std::size_t LatencyHistogram::bucket_of(std::uint64_t us) noexcept {
    if (us < kLinear) return static_cast<std::size_t>(us);
    // us >= 16: exponent e = floor(log2 us) >= 4; the kSubBits bits below the leading one pick
    // the sub-bucket.
    const auto e = static_cast<std::size_t>(std::bit_width(us) - 1);
    const auto sub = static_cast<std::size_t>((us >> (e - kSubBits)) & ((1u << kSubBits) - 1));
    return kLinear + (e - 4) * (1u << kSubBits) + sub;
}

std::uint64_t LatencyHistogram::upper_bound_us(std::size_t bucket) noexcept {
    if (bucket < kLinear) return bucket;
    const std::size_t k = bucket - kLinear;
    const std::size_t e = 4 + k / (1u << kSubBits);
    const std::uint64_t sub = k % (1u << kSubBits);
    const std::uint64_t width = std::uint64_t{1} << (e - kSubBits);
    // Bucket covers [2^e + sub*width, 2^e + (sub+1)*width - 1].
    return (std::uint64_t{1} << e) + (sub + 1) * width - 1;
}

void LatencyHistogram::record_us(std::uint64_t us) noexcept {
    ++counts_[bucket_of(us)];
    ++count_;
    max_us_ = std::max(max_us_, us);
}

void LatencyHistogram::record(Duration d) noexcept {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    record_us(us > 0 ? static_cast<std::uint64_t>(us) : 0);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
    for (std::size_t i = 0; i < kBuckets; ++i)
        counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_us_ = std::max(max_us_, other.max_us_);
}

std::uint64_t LatencyHistogram::quantile_us(double q) const noexcept {
    if (count_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
    rank = std::max<std::uint64_t>(rank, 1);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::min(upper_bound_us(i), max_us_);
    }
    return max_us_;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> LatencyHistogram::buckets() const {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < kBuckets; ++i)
        if (counts_[i] != 0) out.emplace_back(upper_bound_us(i), counts_[i]);
    return out;
}

} // namespace lwm2m
