// InlineBytes<N, Wipe>: an owning byte string that keeps up to N bytes inside the object and a
// longer one in one heap block, so short values cost no allocation. coap::OptionValue (CoAP
// option values, N = 24) and SecretBytes (keys, N = 32, Wipe) are this class.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>

#include <lwm2m/base/bytes.hpp>

namespace lwm2m {

/// Overwrites memory in a way the optimizer must not remove.
void secure_wipe(void* p, std::size_t n) noexcept;

/// `Wipe`: the bytes are zeroed before they are dropped (clear, reassignment, destruction), and a
/// move zeroes the inline bytes it leaves behind.
template <std::size_t N, bool Wipe = false>
class InlineBytes {
public:
    static constexpr std::size_t inline_capacity = N;

    InlineBytes() noexcept = default;
    explicit InlineBytes(BytesView v) { assign(v); }
    InlineBytes(const InlineBytes& o) { assign(o.view()); }
    InlineBytes(InlineBytes&& o) noexcept { take(o); }
    InlineBytes& operator=(const InlineBytes& o) {
        if (this != &o) {
            InlineBytes copy(o);
            clear();
            take(copy);
        }
        return *this;
    }
    InlineBytes& operator=(InlineBytes&& o) noexcept {
        if (this != &o) {
            clear();
            take(o);
        }
        return *this;
    }
    ~InlineBytes() {
        if (size_ != 0) clear(); // an empty or moved-from value costs nothing
    }

    [[nodiscard]] const std::byte* data() const noexcept { return ext_ != nullptr ? ext_ : in_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] const std::byte* begin() const noexcept { return data(); }
    [[nodiscard]] const std::byte* end() const noexcept { return data() + size_; }
    [[nodiscard]] std::byte operator[](std::size_t i) const noexcept { return data()[i]; }
    [[nodiscard]] BytesView view() const noexcept { return {data(), size_}; }
    operator BytesView() const noexcept { return view(); } // NOLINT(google-explicit-constructor)

    friend bool operator==(const InlineBytes& a, BytesView b) noexcept {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }
    /// Needed beside the BytesView form: with only that one, a == b would match it and its
    /// C++20 reversed form equally well.
    friend bool operator==(const InlineBytes& a, const InlineBytes& b) noexcept {
        return a == b.view();
    }

    /// Drops the value (zeroed first when Wipe).
    void clear() noexcept {
        if constexpr (Wipe) {
            if (size_ != 0) secure_wipe(ext_ != nullptr ? ext_ : in_, size_);
        }
        if (ext_ != nullptr) {
            ::operator delete(ext_); // no call for an inline value
            ext_ = nullptr;
        }
        size_ = 0;
    }

private:
    void assign(BytesView v) {
        // ::operator new, as std::vector's allocator (allocation hooks in tests see the block).
        if (v.size() > N) ext_ = static_cast<std::byte*>(::operator new(v.size()));
        size_ = v.size();
        if (size_ != 0) std::memcpy(ext_ != nullptr ? ext_ : in_, v.data(), size_);
    }
    /// Takes `o`'s value (this one holds none) and leaves `o` empty. Inline values: fixed-size
    /// copies (a few register moves, no call); with Wipe the source is zeroed, and the empty asm
    /// statement that reads the memory keeps the compiler from dropping those stores (the pattern
    /// of BoringSSL's OPENSSL_cleanse).
    void take(InlineBytes& o) noexcept {
        size_ = o.size_;
        ext_ = o.ext_;
        if (ext_ == nullptr) {
            std::memcpy(in_, o.in_, N);
            if constexpr (Wipe) {
                std::memset(o.in_, 0, N);
                asm volatile("" : : "r"(o.in_) : "memory");
            }
        }
        o.ext_ = nullptr;
        o.size_ = 0;
    }

    std::size_t size_ = 0;
    std::byte* ext_ = nullptr; ///< the heap block of a value longer than N
    std::byte in_[N]{};
};

} // namespace lwm2m
