// Block1/Block2 option values (RFC 7959 §2.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <lwm2m/base/bytes.hpp>

namespace lwm2m::coap {

/// The decoded value of a Block1 or Block2 option: NUM (block number, < 2^20), M (more blocks
/// follow), SZX (block size exponent 0..6; size = 2^(SZX+4), 16..1024 bytes).
struct BlockOption {
    static constexpr std::uint32_t max_num = (1U << 20) - 1; ///< NUM is at most 20 bits
    static constexpr std::uint8_t max_szx = 6;               ///< SZX 7 is reserved (§2.2)

    std::uint32_t num = 0;
    bool more = false;
    std::uint8_t szx = 0;

    /// Block size in bytes: 2^(SZX+4).
    [[nodiscard]] constexpr std::size_t size() const noexcept {
        return std::size_t{1} << (szx + 4U);
    }
    /// Byte offset of this block in the body: NUM * size (RFC 7959 §2.2).
    [[nodiscard]] constexpr std::size_t offset() const noexcept {
        return std::size_t{num} * size();
    }

    friend constexpr bool operator==(const BlockOption&, const BlockOption&) = default;
};

/// Decodes a Block1/Block2 uint value (RFC 7959 §2.2: 0-3 bytes, NUM | M << 3 | SZX).
/// nullopt when SZX is 7 (reserved) or the value does not fit 24 bits (NUM >= 2^20).
[[nodiscard]] std::optional<BlockOption> decode_block(std::uint64_t value) noexcept;
/// As above from the raw option value (nullopt if longer than 3 bytes).
[[nodiscard]] std::optional<BlockOption> decode_block(BytesView option_value) noexcept;

/// Encodes to the option's uint value (put it with Message::add_uint_option, which gives the
/// minimal 0-3 byte form). Precondition: num <= max_num and szx <= max_szx (out-of-range fields
/// are masked to their bit width).
[[nodiscard]] std::uint32_t encode_block(const BlockOption& b) noexcept;

/// Largest SZX whose block size is <= n, clamped to 0..6 (n < 16 gives 0, n >= 1024 gives 6).
[[nodiscard]] std::uint8_t szx_for_size(std::size_t n) noexcept;

} // namespace lwm2m::coap
