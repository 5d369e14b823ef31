// SecretBytes: key material (PSK keys, private keys, SMS secret keys).
//
// Wiped from memory when dropped or overwritten; has no operator<< and no to_string, so it cannot
// be printed by accident. Use view() only where the bytes must reach a crypto API.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <string>

#include <lwm2m/base/bytes.hpp>

namespace lwm2m {

/// Overwrites memory in a way the optimizer must not remove.
void secure_wipe(void* p, std::size_t n) noexcept;

/// Keys of up to `inline_capacity` bytes (AES keys and IVs, most PSK keys) live in the object
/// itself; longer ones in one heap block. Either way the bytes are wiped before they are dropped,
/// and a move wipes the inline bytes it leaves behind.
class SecretBytes {
public:
    static constexpr std::size_t inline_capacity = 32;

    SecretBytes() noexcept = default;
    explicit SecretBytes(BytesView b) { assign(b); }
    SecretBytes(const SecretBytes& o) { assign(o.view()); }
    SecretBytes(SecretBytes&& o) noexcept { take(o); }
    SecretBytes& operator=(const SecretBytes& o) {
        if (this != &o) {
            wipe();
            assign(o.view());
        }
        return *this;
    }
    SecretBytes& operator=(SecretBytes&& o) noexcept {
        if (this != &o) {
            wipe();
            take(o);
        }
        return *this;
    }
    ~SecretBytes() {
        if (size_ != 0) wipe(); // a moved-from or empty key costs no call
    }

    [[nodiscard]] BytesView view() const noexcept { return {bytes(), size_}; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// Constant-time comparison.
    [[nodiscard]] bool equals(BytesView other) const noexcept;
    /// A fixed text for logs: "<secret: N bytes>".
    [[nodiscard]] std::string redacted() const;

    void wipe() noexcept;

private:
    [[nodiscard]] const std::byte* bytes() const noexcept { return ext_ != nullptr ? ext_ : in_; }
    void assign(BytesView b);
    /// Moves `o`'s key here and leaves `o` empty. Inline keys: fixed-size copies (a few register
    /// moves, cheaper than a call per key on the hot DTLS paths) and the source zeroed; the empty
    /// asm statement that reads the memory keeps the compiler from dropping those stores (the
    /// pattern of BoringSSL's OPENSSL_cleanse).
    void take(SecretBytes& o) noexcept {
        size_ = o.size_;
        ext_ = o.ext_;
        if (ext_ == nullptr) {
            std::memcpy(in_, o.in_, inline_capacity);
            std::memset(o.in_, 0, inline_capacity);
            asm volatile("" : : "r"(o.in_) : "memory");
        }
        o.ext_ = nullptr;
        o.size_ = 0;
    }

    std::size_t size_ = 0;
    std::byte* ext_ = nullptr; ///< the heap block of a key longer than inline_capacity
    std::byte in_[inline_capacity]{};
};

} // namespace lwm2m
