// SecretBytes: key material (PSK keys, private keys, SMS secret keys).
//
// Wiped from memory when dropped or overwritten; has no operator<< and no to_string, so it cannot
// be printed by accident. Use view() only where the bytes must reach a crypto API.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/inline_bytes.hpp>

namespace lwm2m {

/// Keys of up to 32 bytes (AES keys and salts, most PSK keys) live in the object itself, longer
/// ones in one heap block (InlineBytes). Either way the bytes are wiped before they are dropped,
/// and a move wipes the inline bytes it leaves behind.
class SecretBytes {
public:
    static constexpr std::size_t inline_capacity = 32;

    SecretBytes() noexcept = default;
    explicit SecretBytes(BytesView b)
        : bytes_(b) {}

    [[nodiscard]] BytesView view() const noexcept { return bytes_.view(); }
    [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
    [[nodiscard]] bool empty() const noexcept { return bytes_.empty(); }
    /// Constant-time comparison.
    [[nodiscard]] bool equals(BytesView other) const noexcept;
    /// A fixed text for logs: "<secret: N bytes>".
    [[nodiscard]] std::string redacted() const;

    void wipe() noexcept { bytes_.clear(); }

private:
    InlineBytes<inline_capacity, true> bytes_;
};

} // namespace lwm2m
