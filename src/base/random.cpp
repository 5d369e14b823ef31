#include <lwm2m/base/random.hpp>

#include <cstring>

namespace lwm2m {

void Random::fill(std::span<std::byte> out) {
    std::size_t i = 0;
    while (i < out.size()) {
        std::uint32_t v = next_u32();
        for (int k = 0; k < 4 && i < out.size(); ++k, ++i) {
            out[i] = static_cast<std::byte>(v & 0xffU);
            v >>= 8;
        }
    }
}

std::uint32_t Random::uniform(std::uint32_t bound) {
    if (bound == 0) return 0;
    // Lemire, "Fast Random Integer Generation in an Interval" (2019).
    std::uint64_t m = static_cast<std::uint64_t>(next_u32()) * bound;
    auto low = static_cast<std::uint32_t>(m);
    if (low < bound) {
        const std::uint32_t threshold = (0U - bound) % bound;
        while (low < threshold) {
            m = static_cast<std::uint64_t>(next_u32()) * bound;
            low = static_cast<std::uint32_t>(m);
        }
    }
    return static_cast<std::uint32_t>(m >> 32);
}

double Random::unit() {
    return static_cast<double>(next_u32()) / 4294967296.0;
}

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
constexpr std::uint32_t rotl(std::uint32_t x, int k) {
    return (x << k) | (x >> (32 - k));
}
} // namespace

SeededRandom::SeededRandom(std::uint64_t seed) noexcept {
    std::uint64_t x = seed;
    const std::uint64_t a = splitmix64(x);
    const std::uint64_t b = splitmix64(x);
    s_[0] = static_cast<std::uint32_t>(a);
    s_[1] = static_cast<std::uint32_t>(a >> 32);
    s_[2] = static_cast<std::uint32_t>(b);
    s_[3] = static_cast<std::uint32_t>(b >> 32);
}

std::uint32_t SeededRandom::next_u32() {
    // xoshiro128** 1.1 (Blackman & Vigna, public domain algorithm)
    const std::uint32_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint32_t t = s_[1] << 9;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 11);
    return result;
}

} // namespace lwm2m
