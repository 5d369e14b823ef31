// Injected randomness (docs/architecture.md §2): message IDs, tokens, ACK_RANDOM_FACTOR jitter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace lwm2m {

class Random {
public:
    virtual ~Random() = default;
    /// Uniform 32-bit value.
    virtual std::uint32_t next_u32() = 0;
    /// Fills `out` with random bytes (default: from next_u32()).
    virtual void fill(std::span<std::byte> out);
    /// Uniform in [0, bound) for bound > 0 (Lemire's method, no modulo bias).
    std::uint32_t uniform(std::uint32_t bound);
    /// Uniform double in [0, 1).
    double unit();
};

/// A small, fast, seeded PRNG (xoshiro128**). Deterministic: the simulator and tests use it,
/// and servers seed it from the OS at the edge (apps/, transport/).
class SeededRandom final : public Random {
public:
    explicit SeededRandom(std::uint64_t seed) noexcept;
    std::uint32_t next_u32() override;

private:
    std::uint32_t s_[4]{};
};

} // namespace lwm2m
