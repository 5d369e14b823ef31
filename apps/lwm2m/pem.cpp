#include "pem.hpp"

#include <lwm2m/base/secret.hpp>

namespace lwm2m::app {
namespace {

int b64(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/// RFC 4648 §4 base64, whitespace ignored, '=' padding only at the end.
std::optional<Bytes> decode_base64(std::string_view s) {
    Bytes out;
    std::uint32_t acc = 0;
    int bits = 0;
    bool padding = false;
    for (char c : s) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        if (c == '=') {
            padding = true;
            continue;
        }
        const int v = b64(c);
        if (v < 0 || padding) {
            secure_wipe(out.data(), out.size());
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::byte>((acc >> bits) & 0xFF));
        }
    }
    acc = 0;
    return out;
}

} // namespace

std::optional<std::vector<PemBlock>> parse_pem(std::string_view text) {
    std::vector<PemBlock> blocks;
    constexpr std::string_view begin = "-----BEGIN ";
    std::size_t pos = 0;
    while ((pos = text.find(begin, pos)) != std::string_view::npos) {
        const std::size_t label_start = pos + begin.size();
        const std::size_t label_end = text.find("-----", label_start);
        if (label_end == std::string_view::npos) return std::nullopt;
        PemBlock b;
        b.label = std::string(text.substr(label_start, label_end - label_start));
        const std::string end_marker = "-----END " + b.label + "-----";
        const std::size_t body_start = label_end + 5;
        const std::size_t body_end = text.find(end_marker, body_start);
        if (body_end == std::string_view::npos) return std::nullopt;
        std::string_view body = text.substr(body_start, body_end - body_start);
        // RFC 1421 style headers ("Proc-Type: ...") are not supported: encrypted keys are refused.
        if (body.find(':') != std::string_view::npos) return std::nullopt;
        auto der = decode_base64(body);
        if (!der || der->empty()) return std::nullopt;
        b.der = std::move(*der);
        blocks.push_back(std::move(b));
        pos = body_end + end_marker.size();
    }
    return blocks;
}

} // namespace lwm2m::app
