#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/secret.hpp>

#include <cstring>

namespace lwm2m {

Bytes to_bytes(std::string_view s) {
    const auto v = as_bytes(s);
    return {v.begin(), v.end()};
}

std::string to_hex(BytesView b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(b.size() * 2);
    for (std::byte x : b) {
        const auto v = std::to_integer<unsigned>(x);
        out.push_back(digits[v >> 4]);
        out.push_back(digits[v & 0xfU]);
    }
    return out;
}

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
} // namespace

bool from_hex(std::string_view hex, Bytes& out) {
    out.clear();
    if (hex.size() % 2 != 0) return false;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_value(hex[i]);
        const int lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            out.clear();
            return false;
        }
        out.push_back(static_cast<std::byte>((hi << 4) | lo));
    }
    return true;
}

bool equal(BytesView a, BytesView b) noexcept {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

void secure_wipe(void* p, std::size_t n) noexcept {
    // A volatile function pointer stops the compiler from proving the stores dead.
    static void* (*const volatile do_memset)(void*, int, std::size_t) = std::memset;
    do_memset(p, 0, n);
}

bool SecretBytes::equals(BytesView other) const noexcept {
    if (other.size() != bytes_.size()) return false;
    unsigned diff = 0;
    for (std::size_t i = 0; i < bytes_.size(); ++i)
        diff |= std::to_integer<unsigned>(bytes_[i] ^ other[i]);
    return diff == 0;
}

std::string SecretBytes::redacted() const {
    return "<secret: " + std::to_string(bytes_.size()) + " bytes>";
}

} // namespace lwm2m
