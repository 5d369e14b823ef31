#include "content_formats.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace lwm2m::app {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 10> kNames{{
    {"text", 0},           // text/plain;charset=utf-8
    {"link", 40},          // application/link-format (RFC 6690)
    {"opaque", 42},        // application/octet-stream
    {"cbor", 60},          // application/cbor (RFC 8949)
    {"senml-json", 110},   // application/senml+json (RFC 8428)
    {"senml-cbor", 112},   // application/senml+cbor (RFC 8428 §6)
    {"tlv", 11542},        // application/vnd.oma.lwm2m+tlv
    {"lwm2m-json", 11543}, // application/vnd.oma.lwm2m+json
    {"lwm2m-cbor", 11544}, // application/vnd.oma.lwm2m+cbor (TS 1.2)
    {"json", 50},          // application/json
}};

} // namespace

std::optional<int> parse_content_format(std::string_view text) {
    for (const auto& [name, number] : kNames)
        if (text == name) return number;
    int v = -1;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || v < 0 || v > 65535)
        return std::nullopt;
    return v;
}

std::string content_format_names() {
    std::string out;
    for (const auto& [name, number] : kNames) {
        if (!out.empty()) out += ", ";
        out += std::string(name) + " (" + std::to_string(number) + ")";
    }
    return out;
}

} // namespace lwm2m::app
