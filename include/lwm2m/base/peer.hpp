// PeerAddr: a transport address as a plain value, so that sans-I/O cores can key state by peer
// without including socket headers. src/transport converts to and from sockaddr.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace lwm2m {

struct PeerAddr {
    enum class Family : std::uint8_t { none = 0, ipv4 = 4, ipv6 = 6 };

    Family family = Family::none;
    std::array<std::uint8_t, 16> addr{}; ///< IPv4 in the first 4 bytes, network order
    std::uint16_t port = 0;              ///< host order
    std::uint32_t scope_id = 0;          ///< IPv6 scope (link-local)

    static PeerAddr v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                       std::uint16_t port) noexcept;
    static PeerAddr v6(const std::array<std::uint8_t, 16>& a, std::uint16_t port) noexcept;
    /// Parses "1.2.3.4:5683", "[::1]:5684", "1.2.3.4" (port 0) or "::1" (port 0).
    static std::optional<PeerAddr> parse(std::string_view text) noexcept;
    /// "1.2.3.4:5683" or "[::1]:5683".
    [[nodiscard]] std::string to_string() const;
    /// Two 64-bit loads and a multiply-xorshift mix (no byte loop): every per-peer table of
    /// the CoAP, DTLS and server layers hashes with it, at 1e5 peers on every datagram and
    /// rehash.
    [[nodiscard]] std::size_t hash() const noexcept {
        std::uint64_t a = 0;
        std::uint64_t b = 0;
        std::memcpy(&a, addr.data(), 8);
        std::memcpy(&b, addr.data() + 8, 8);
        const std::uint64_t c = (std::uint64_t{port} << 32) ^ (std::uint64_t{scope_id} << 8) ^
                                static_cast<std::uint64_t>(family);
        return static_cast<std::size_t>(
            mix64(a * 0x9e3779b97f4a7c15ULL ^ mix64(b ^ (c * 0xc2b2ae3d27d4eb4fULL))));
    }
    /// The finaliser of MurmurHash3's 64-bit mix (one multiply, two xorshifts).
    static constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        return x;
    }

    friend bool operator==(const PeerAddr&, const PeerAddr&) = default;
    friend auto operator<=>(const PeerAddr&, const PeerAddr&) = default;
};

struct PeerAddrHash {
    std::size_t operator()(const PeerAddr& p) const noexcept { return p.hash(); }
};

} // namespace lwm2m

template <>
struct std::hash<lwm2m::PeerAddr> {
    std::size_t operator()(const lwm2m::PeerAddr& p) const noexcept { return p.hash(); }
};
