#include <lwm2m/base/peer.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstring>

namespace lwm2m {

PeerAddr PeerAddr::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                      std::uint16_t port) noexcept {
    PeerAddr p;
    p.family = Family::ipv4;
    p.addr[0] = a;
    p.addr[1] = b;
    p.addr[2] = c;
    p.addr[3] = d;
    p.port = port;
    return p;
}

PeerAddr PeerAddr::v6(const std::array<std::uint8_t, 16>& a, std::uint16_t port) noexcept {
    PeerAddr p;
    p.family = Family::ipv6;
    p.addr = a;
    p.port = port;
    return p;
}

namespace {

bool parse_v4(std::string_view s, std::array<std::uint8_t, 16>& out) {
    int part = 0;
    std::size_t i = 0;
    while (part < 4) {
        std::size_t j = i;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9')
            ++j;
        if (j == i || j - i > 3) return false;
        unsigned v = 0;
        std::from_chars(s.data() + i, s.data() + j, v);
        if (v > 255) return false;
        out[static_cast<std::size_t>(part)] = static_cast<std::uint8_t>(v);
        ++part;
        if (part < 4) {
            if (j >= s.size() || s[j] != '.') return false;
            i = j + 1;
        } else if (j != s.size()) {
            return false;
        }
    }
    return true;
}

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 4291 §2.2 text forms, including "::" compression and a trailing dotted IPv4.
bool parse_v6(std::string_view s, std::array<std::uint8_t, 16>& out) {
    std::array<std::uint16_t, 8> groups{};
    int n = 0;
    int gap = -1;
    std::size_t i = 0;
    if (s.starts_with("::")) {
        gap = 0;
        i = 2;
        if (s.size() == 2) {
            out.fill(0);
            return true;
        }
    } else if (s.starts_with(":")) {
        return false;
    }
    while (i < s.size()) {
        if (n >= 8) return false;
        // Trailing IPv4?
        const std::size_t next_colon = s.find(':', i);
        const std::string_view tok = s.substr(
            i, next_colon == std::string_view::npos ? std::string_view::npos : next_colon - i);
        if (tok.find('.') != std::string_view::npos) {
            if (next_colon != std::string_view::npos || n > 6) return false;
            std::array<std::uint8_t, 16> v4{};
            if (!parse_v4(tok, v4)) return false;
            groups[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(v4[0] << 8 | v4[1]);
            groups[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(v4[2] << 8 | v4[3]);
            i = s.size();
            break;
        }
        if (tok.empty() || tok.size() > 4) return false;
        unsigned v = 0;
        for (char c : tok) {
            const int h = hexval(c);
            if (h < 0) return false;
            v = v << 4 | static_cast<unsigned>(h);
        }
        groups[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(v);
        i += tok.size();
        if (i == s.size()) break;
        // at ':'
        ++i;
        if (i < s.size() && s[i] == ':') {
            if (gap >= 0) return false;
            gap = n;
            ++i;
            if (i == s.size()) break;
        } else if (i == s.size()) {
            return false; // trailing single ':'
        }
    }
    std::array<std::uint16_t, 8> full{};
    if (gap >= 0) {
        if (n > 7) return false;
        // The groups before "::" stay in front, the ones after it move to the end.
        const auto head = static_cast<std::ptrdiff_t>(gap);
        const auto tail = static_cast<std::ptrdiff_t>(n - gap);
        std::copy_n(groups.begin(), head, full.begin());
        std::copy_n(groups.begin() + head, tail, full.end() - tail);
    } else {
        if (n != 8) return false;
        full = groups;
    }
    for (std::size_t k = 0; k < 8; ++k) {
        out[2 * k] = static_cast<std::uint8_t>(full[k] >> 8);
        out[2 * k + 1] = static_cast<std::uint8_t>(full[k] & 0xff);
    }
    return true;
}

bool parse_port(std::string_view s, std::uint16_t& port) {
    if (s.empty() || s.size() > 5) return false;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}

} // namespace

std::optional<PeerAddr> PeerAddr::parse(std::string_view text) noexcept {
    PeerAddr p;
    if (text.starts_with("[")) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        if (!parse_v6(text.substr(1, close - 1), p.addr)) return std::nullopt;
        p.family = Family::ipv6;
        const auto rest = text.substr(close + 1);
        if (rest.empty()) return p;
        if (rest[0] != ':' || !parse_port(rest.substr(1), p.port)) return std::nullopt;
        return p;
    }
    if (text.find(':') != text.rfind(':')) { // two or more colons: bare IPv6
        if (!parse_v6(text, p.addr)) return std::nullopt;
        p.family = Family::ipv6;
        return p;
    }
    const auto colon = text.find(':');
    const auto host = text.substr(0, colon);
    if (!parse_v4(host, p.addr)) return std::nullopt;
    p.family = Family::ipv4;
    if (colon != std::string_view::npos && !parse_port(text.substr(colon + 1), p.port))
        return std::nullopt;
    return p;
}

std::string PeerAddr::to_string() const {
    std::string out;
    if (family == Family::ipv4) {
        for (int i = 0; i < 4; ++i) {
            if (i) out += '.';
            out += std::to_string(addr[static_cast<std::size_t>(i)]);
        }
        out += ':';
    } else if (family == Family::ipv6) {
        // RFC 5952: lower case, longest run of zero groups (>= 2) compressed.
        std::array<unsigned, 8> g{};
        for (std::size_t k = 0; k < 8; ++k)
            g[k] = static_cast<unsigned>(addr[2 * k] << 8 | addr[2 * k + 1]);
        int best = -1, best_len = 0;
        for (int k = 0; k < 8;) {
            if (g[static_cast<std::size_t>(k)] != 0) {
                ++k;
                continue;
            }
            int j = k;
            while (j < 8 && g[static_cast<std::size_t>(j)] == 0)
                ++j;
            if (j - k > best_len && j - k >= 2) {
                best = k;
                best_len = j - k;
            }
            k = j;
        }
        out += '[';
        static constexpr char hex[] = "0123456789abcdef";
        for (int k = 0; k < 8; ++k) {
            if (k == best) {
                out += "::";
                k += best_len - 1;
                continue;
            }
            if (k && k != best + best_len) out += ':';
            unsigned v = g[static_cast<std::size_t>(k)];
            char buf[4];
            int len = 0;
            do {
                buf[len++] = hex[v & 0xf];
                v >>= 4;
            } while (v);
            while (len)
                out += buf[--len];
        }
        out += "]:";
    } else {
        return "<none>";
    }
    out += std::to_string(port);
    return out;
}

} // namespace lwm2m
