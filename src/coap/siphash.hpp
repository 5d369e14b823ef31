// Private to lwm2m_coap: SipHash-2-4 (Aumasson, Bernstein 2012), a keyed 64-bit PRF. The
// endpoint MACs its stateless Echo values with it (RFC 9175 §2.3, Appendix A "integrity
// protected timestamp"); it is a MAC over public data here, not encryption.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include <lwm2m/base/bytes.hpp>

namespace lwm2m::coap::detail {

constexpr std::uint64_t rotl64(std::uint64_t x, unsigned b) noexcept {
    return (x << b) | (x >> (64U - b));
}

/// SipHash-2-4 of `data` under the 128-bit key {k[0], k[1]} (k[0] = the key's first 8 bytes,
/// little-endian, as in the reference implementation).
inline std::uint64_t siphash24(const std::array<std::uint64_t, 2>& k, BytesView data) noexcept {
    std::uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL;
    std::uint64_t v1 = k[1] ^ 0x646f72616e646f6dULL;
    std::uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL;
    std::uint64_t v3 = k[1] ^ 0x7465646279746573ULL;
    auto round = [&] {
        v0 += v1;
        v1 = rotl64(v1, 13);
        v1 ^= v0;
        v0 = rotl64(v0, 32);
        v2 += v3;
        v3 = rotl64(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl64(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl64(v1, 17);
        v1 ^= v2;
        v2 = rotl64(v2, 32);
    };
    const std::size_t n = data.size();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t m = 0;
        for (std::size_t j = 0; j < 8; ++j)
            m |= std::to_integer<std::uint64_t>(data[i + j]) << (8 * j);
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
    std::uint64_t b = static_cast<std::uint64_t>(n & 0xffU) << 56;
    for (std::size_t j = 0; i + j < n; ++j)
        b |= std::to_integer<std::uint64_t>(data[i + j]) << (8 * j);
    v3 ^= b;
    round();
    round();
    v0 ^= b;
    v2 ^= 0xff;
    round();
    round();
    round();
    round();
    return v0 ^ v1 ^ v2 ^ v3;
}

} // namespace lwm2m::coap::detail
