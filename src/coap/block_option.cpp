// Block1/Block2 option values (RFC 7959 §2.2).
#include <lwm2m/coap/block_option.hpp>

namespace lwm2m::coap {

std::optional<BlockOption> decode_block(std::uint64_t value) noexcept {
    // RFC 7959 §2.2: the value is 0 to 3 bytes, so NUM fits 20 bits.
    if (value > 0xffffffU) return std::nullopt;
    const auto szx = static_cast<std::uint8_t>(value & 0x7U);
    if (szx == 7) return std::nullopt; // reserved; §2.2: "MUST NOT be sent"
    BlockOption b;
    b.num = static_cast<std::uint32_t>(value >> 4);
    b.more = (value & 0x8U) != 0;
    b.szx = szx;
    return b;
}

std::optional<BlockOption> decode_block(BytesView option_value) noexcept {
    if (option_value.size() > 3) return std::nullopt;
    std::uint64_t v = 0;
    for (std::byte b : option_value)
        v = (v << 8) | std::to_integer<std::uint64_t>(b);
    return decode_block(v);
}

std::uint32_t encode_block(const BlockOption& b) noexcept {
    return ((b.num & BlockOption::max_num) << 4) | (b.more ? 0x8U : 0U) | (b.szx & 0x7U);
}

std::uint8_t szx_for_size(std::size_t n) noexcept {
    std::uint8_t szx = 0;
    while (szx < BlockOption::max_szx && (std::size_t{32} << szx) <= n)
        ++szx;
    return szx;
}

} // namespace lwm2m::coap
