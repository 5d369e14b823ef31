// SecretBytes: key material (PSK keys, private keys, SMS secret keys).
//
// Wiped from memory when dropped or overwritten; has no operator<< and no to_string, so it cannot
// be printed by accident. Use view() only where the bytes must reach a crypto API.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <lwm2m/base/bytes.hpp>

namespace lwm2m {

/// Overwrites memory in a way the optimizer must not remove.
void secure_wipe(void* p, std::size_t n) noexcept;

class SecretBytes {
public:
    SecretBytes() = default;
    explicit SecretBytes(BytesView b)
        : data_(b.begin(), b.end()) {}
    SecretBytes(const SecretBytes& o) = default;
    SecretBytes(SecretBytes&& o) noexcept
        : data_(std::move(o.data_)) {
        o.data_.clear();
    }
    SecretBytes& operator=(const SecretBytes& o) {
        if (this != &o) {
            wipe();
            data_ = o.data_;
        }
        return *this;
    }
    SecretBytes& operator=(SecretBytes&& o) noexcept {
        if (this != &o) {
            wipe();
            data_ = std::move(o.data_);
            o.data_.clear();
        }
        return *this;
    }
    ~SecretBytes() { wipe(); }

    [[nodiscard]] BytesView view() const noexcept { return data_; }
    [[nodiscard]] std::size_t size() const noexcept { return data_.size(); }
    [[nodiscard]] bool empty() const noexcept { return data_.empty(); }
    /// Constant-time comparison.
    [[nodiscard]] bool equals(BytesView other) const noexcept;
    /// A fixed text for logs: "<secret: N bytes>".
    [[nodiscard]] std::string redacted() const;

    void wipe() noexcept {
        if (!data_.empty()) secure_wipe(data_.data(), data_.size());
        data_.clear();
    }

private:
    std::vector<std::byte> data_;
};

} // namespace lwm2m
