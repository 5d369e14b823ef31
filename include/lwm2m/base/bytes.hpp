// Byte buffers and views. Binary data is std::byte, never std::string (docs/architecture.md §6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lwm2m {

using Bytes = std::vector<std::byte>;
using BytesView = std::span<const std::byte>;
using MutableBytesView = std::span<std::byte>;

/// The bytes of a string, copied.
[[nodiscard]] Bytes to_bytes(std::string_view s);
/// A view of a string's bytes (no copy).
[[nodiscard]] inline BytesView as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
/// A string_view of bytes (no copy), for text that is carried as bytes.
[[nodiscard]] inline std::string_view as_string_view(BytesView b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}
/// Lower-case hex, two digits per byte.
[[nodiscard]] std::string to_hex(BytesView b);
/// Parses hex (upper or lower case, even length, no separators); nullopt-like empty result and
/// `ok=false` on bad input.
[[nodiscard]] bool from_hex(std::string_view hex, Bytes& out);
/// Equality of byte ranges.
[[nodiscard]] bool equal(BytesView a, BytesView b) noexcept;

} // namespace lwm2m
