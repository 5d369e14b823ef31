#include <lwm2m/base/log.hpp>

#include <array>
#include <cstdint>

namespace lwm2m {
namespace {

// Byte classes for the scan: printable ASCII passes, the rest needs a closer look.
enum : std::uint8_t { cls_pass = 0, cls_escape = 1, cls_backslash = 2, cls_lead = 3 };

constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> t{};
    for (unsigned b = 0; b < 256; ++b) {
        if (b < 0x20 || b == 0x7F)
            t[b] = cls_escape;
        else if (b == '\\')
            t[b] = cls_backslash;
        else if (b >= 0x80)
            t[b] = cls_lead;
        else
            t[b] = cls_pass;
    }
    return t;
}
constexpr auto kClass = make_classes();

/// Length of the valid UTF-8 sequence starting at s[i] (2..4), or 0 when the bytes there are
/// not one (RFC 3629 §4 syntax: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
    const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const std::size_t left = s.size() - i;
    const unsigned b0 = at(0);
    const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
        return k < left && at(k) >= lo && at(k) <= hi;
    };
    if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
    if (b0 == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
    if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (b0 == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0; // no surrogates
    if (b0 == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (b0 >= 0xF1 && b0 <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (b0 == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

/// Valid sequences that are still escaped: C1 controls, line/paragraph separators, bidi
/// embedding/override/isolate controls.
bool escaped_code_point(std::string_view s, std::size_t i, std::size_t n) noexcept {
    const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    if (n == 2) return at(0) == 0xC2 && at(1) <= 0x9F; // U+0080..U+009F
    if (n == 3 && at(0) == 0xE2) {
        if (at(1) == 0x80) return at(2) >= 0xA8 && at(2) <= 0xAE; // U+2028..U+202E
        if (at(1) == 0x81) return at(2) >= 0xA6 && at(2) <= 0xA9; // U+2066..U+2069
    }
    return false;
}

void append_hex(std::string& out, unsigned char b) {
    static constexpr char digits[] = "0123456789abcdef";
    const char e[4] = {'\\', 'x', digits[b >> 4], digits[b & 0xF]};
    out.append(e, 4);
}

} // namespace

bool log_text_is_clean(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = kClass[static_cast<unsigned char>(s[i])];
        if (c == cls_pass) {
            ++i;
            continue;
        }
        if (c != cls_lead) return false;
        const std::size_t n = utf8_sequence(s, i);
        if (n == 0 || escaped_code_point(s, i, n)) return false;
        i += n;
    }
    return true;
}

void escape_log_text(std::string_view s, std::string& out) {
    out.reserve(out.size() + s.size() + 16);
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        const auto c = kClass[b];
        if (c == cls_pass) {
            std::size_t j = i + 1;
            while (j < s.size() && kClass[static_cast<unsigned char>(s[j])] == cls_pass)
                ++j;
            out.append(s.data() + i, j - i);
            i = j;
        } else if (c == cls_backslash) {
            out.append("\\\\", 2);
            ++i;
        } else if (c == cls_escape) {
            append_hex(out, b);
            ++i;
        } else {
            const std::size_t n = utf8_sequence(s, i);
            if (n == 0) {
                append_hex(out, b); // invalid: escape this byte, resynchronise on the next
                ++i;
            } else if (escaped_code_point(s, i, n)) {
                for (std::size_t k = 0; k < n; ++k)
                    append_hex(out, static_cast<unsigned char>(s[i + k]));
                i += n;
            } else {
                out.append(s.data() + i, n);
                i += n;
            }
        }
    }
}

void Logger::write(LogLevel level, std::string_view component, std::string_view message) {
    const bool component_clean = log_text_is_clean(component);
    const bool message_clean = log_text_is_clean(message);
    if (component_clean && message_clean) {
        sink(level, component, message);
        return;
    }
    std::string c, m;
    if (!component_clean) escape_log_text(component, c);
    if (!message_clean) escape_log_text(message, m);
    sink(level, component_clean ? component : std::string_view(c),
         message_clean ? message : std::string_view(m));
}

NullLogger& NullLogger::instance() noexcept {
    static NullLogger l;
    return l;
}

} // namespace lwm2m
