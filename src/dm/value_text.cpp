// LwM2M Plain Text values (LwM2M TS Core 1.1 §7.4.1) and base64 (RFC 4648 §4, §5).
#include <lwm2m/dm/errc.hpp>
#include <lwm2m/dm/value_text.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

namespace lwm2m::dm {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_digit(c)) return false;
    return true;
}

Result<std::int64_t> parse_int64(std::string_view s) {
    std::string_view digits = s.substr(!s.empty() && s[0] == '-' ? 1 : 0);
    if (!all_digits(digits)) return fail(Errc::bad_value);
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return fail(Errc::bad_value);
    return v;
}

Result<std::uint64_t> parse_uint64(std::string_view s) {
    if (!all_digits(s)) return fail(Errc::bad_value);
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return fail(Errc::bad_value);
    return v;
}

// Decimal number grammar: -? (digits (. digits*)? | . digits) ([eE] [+-]? digits)?
bool is_decimal_number(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    if (i < n && s[i] == '-') ++i;
    std::size_t int_digits = 0, frac_digits = 0;
    while (i < n && is_digit(s[i]))
        ++i, ++int_digits;
    if (i < n && s[i] == '.') {
        ++i;
        while (i < n && is_digit(s[i]))
            ++i, ++frac_digits;
    }
    if (int_digits + frac_digits == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        std::size_t exp_digits = 0;
        while (i < n && is_digit(s[i]))
            ++i, ++exp_digits;
        if (exp_digits == 0) return false;
    }
    return i == n;
}

Result<double> parse_double(std::string_view s) {
    if (!is_decimal_number(s)) return fail(Errc::bad_value);
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
    if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
        return fail(Errc::bad_value);
    return v;
}

Result<std::uint16_t> parse_u16(std::string_view s) {
    LWM2M_TRY(v, parse_uint64(s));
    if (v > 0xffff) return fail(Errc::bad_value);
    return static_cast<std::uint16_t>(v);
}

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 256-entry decode tables: the 6-bit value, or kNotB64 (a bit no 6-bit value has) for characters
// outside the alphabet, so that one OR of a group's entries tells whether all were valid.
constexpr std::uint8_t kNotB64 = 0x40;
struct B64Table {
    std::array<std::uint8_t, 256> v{};
    constexpr explicit B64Table(const char* alphabet) {
        v.fill(kNotB64);
        for (std::uint8_t i = 0; i < 64; ++i)
            v[static_cast<unsigned char>(alphabet[i])] = i;
    }
};
constexpr B64Table kStdTable(kStd);
constexpr B64Table kUrlTable(kUrl);

} // namespace

bool is_valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        // ASCII fast path: 8 bytes without a high bit at a time.
        if (n - i >= 8) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return false;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

void append_base64(std::string& out, BytesView data, Base64Alphabet alphabet, bool pad) {
    const char* tbl = alphabet == Base64Alphabet::standard ? kStd : kUrl;
    const std::size_t full = data.size() / 3;
    const std::size_t rest = data.size() - full * 3;
    const std::size_t at = out.size();
    out.resize(at + full * 4 + (rest == 0 ? 0 : (pad ? 4 : rest + 1)));
    char* o = out.data() + at;
    const std::byte* in = data.data();
    for (std::size_t i = 0; i < full; ++i, in += 3) {
        const std::uint32_t v = (std::to_integer<std::uint32_t>(in[0]) << 16) |
                                (std::to_integer<std::uint32_t>(in[1]) << 8) |
                                std::to_integer<std::uint32_t>(in[2]);
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = tbl[(v >> 6) & 63];
        *o++ = tbl[v & 63];
    }
    if (rest != 0) {
        std::uint32_t v = std::to_integer<std::uint32_t>(in[0]) << 16;
        if (rest == 2) v |= std::to_integer<std::uint32_t>(in[1]) << 8;
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
        if (rest == 2) *o++ = tbl[(v >> 6) & 63];
        if (pad) {
            *o++ = '=';
            if (rest == 1) *o++ = '=';
        }
    }
}

std::string base64_encode(BytesView data, Base64Alphabet alphabet, bool pad) {
    std::string out;
    append_base64(out, data, alphabet, pad);
    return out;
}

Result<Bytes> base64_decode(std::string_view text, Base64Alphabet alphabet, bool padded) {
    return base64_decode(text, alphabet,
                         padded ? Base64Padding::required : Base64Padding::forbidden);
}

Result<std::size_t> base64_decode_into(std::string_view text, std::span<std::byte> out,
                                       Base64Alphabet alphabet, Base64Padding padding) {
    std::size_t pad_count = 0;
    const bool padded = padding == Base64Padding::required ||
                        (padding == Base64Padding::optional && !text.empty() && text.back() == '=');
    if (padded) {
        if (text.size() % 4 != 0) return fail(Errc::bad_value);
        if (!text.empty() && text.back() == '=') ++pad_count;
        if (text.size() >= 2 && text[text.size() - 2] == '=') {
            if (pad_count == 0) return fail(Errc::bad_value); // "xx=x"
            ++pad_count;
        }
        text.remove_suffix(pad_count);
    } else if (text.size() % 4 == 1) {
        return fail(Errc::bad_value);
    }
    const auto& tbl = alphabet == Base64Alphabet::standard ? kStdTable.v : kUrlTable.v;
    const std::size_t full = text.size() / 4;
    const std::size_t rest = text.size() - full * 4; // 0, 2 or 3 (1 rejected above)
    const std::size_t size = full * 3 + (rest == 0 ? 0 : rest - 1);
    if (out.size() < size) return fail(Errc::bad_value);
    std::byte* o = out.data();
    const auto* in = reinterpret_cast<const unsigned char*>(text.data());
    for (std::size_t i = 0; i < full; ++i, in += 4) {
        const unsigned a = tbl[in[0]], b = tbl[in[1]], c = tbl[in[2]], d = tbl[in[3]];
        if (((a | b | c | d) & kNotB64) != 0)
            return fail(Errc::bad_value); // includes a '=' inside the data
        const auto v = (static_cast<std::uint32_t>(a) << 18) |
                       (static_cast<std::uint32_t>(b) << 12) |
                       (static_cast<std::uint32_t>(c) << 6) | static_cast<std::uint32_t>(d);
        *o++ = static_cast<std::byte>(v >> 16);
        *o++ = static_cast<std::byte>(v >> 8);
        *o++ = static_cast<std::byte>(v);
    }
    if (rest != 0) {
        const unsigned a = tbl[in[0]], b = tbl[in[1]], c = rest == 3 ? tbl[in[2]] : 0U;
        if (((a | b | c) & kNotB64) != 0) return fail(Errc::bad_value);
        const auto v = (static_cast<std::uint32_t>(a) << 18) |
                       (static_cast<std::uint32_t>(b) << 12) | (static_cast<std::uint32_t>(c) << 6);
        // Canonical encoding: the unused trailing bits must be zero (RFC 4648 §3.5).
        if (rest == 2 && (v & 0xffff) != 0) return fail(Errc::bad_value);
        if (rest == 3 && (v & 0xff) != 0) return fail(Errc::bad_value);
        *o++ = static_cast<std::byte>(v >> 16);
        if (rest == 3) *o++ = static_cast<std::byte>(v >> 8);
    }
    return size;
}

std::size_t base64_max_decoded_size(std::string_view text) noexcept {
    return text.size() / 4 * 3 + 2;
}

Result<Bytes> base64_decode(std::string_view text, Base64Alphabet alphabet, Base64Padding padding) {
    Bytes out(base64_max_decoded_size(text));
    LWM2M_TRY(n, base64_decode_into(text, out, alphabet, padding));
    out.resize(n); // shrinks in place: no second buffer
    return out;
}

void append_integer(std::string& out, std::int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_unsigned(std::string& out, std::uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

Result<void> append_float(std::string& out, double v) {
    if (!std::isfinite(v)) return fail(Errc::bad_value);
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v); // shortest round-trip form
    out.append(buf, r.ptr);
    return ok();
}

Result<Value> parse_text(DataType t, std::string_view text) {
    switch (t) {
    case DataType::none:
        if (!text.empty()) return fail(Errc::bad_value);
        return Value{};
    case DataType::string:
        if (!is_valid_utf8(text)) return fail(Errc::bad_value);
        return Value::string(std::string(text));
    case DataType::corelnk:
        if (!is_valid_utf8(text)) return fail(Errc::bad_value);
        return Value::corelnk(std::string(text));
    case DataType::integer: {
        LWM2M_TRY(v, parse_int64(text));
        return Value::integer(v);
    }
    case DataType::time: {
        LWM2M_TRY(v, parse_int64(text));
        return Value::time(v);
    }
    case DataType::unsigned_integer: {
        LWM2M_TRY(v, parse_uint64(text));
        return Value::unsigned_integer(v);
    }
    case DataType::float_: {
        LWM2M_TRY(v, parse_double(text));
        return Value::float_(v);
    }
    case DataType::boolean:
        if (text == "0") return Value::boolean(false);
        if (text == "1") return Value::boolean(true);
        return fail(Errc::bad_value);
    case DataType::objlnk: {
        const auto colon = text.find(':');
        if (colon == std::string_view::npos) return fail(Errc::bad_value);
        LWM2M_TRY(oid, parse_u16(text.substr(0, colon)));
        LWM2M_TRY(iid, parse_u16(text.substr(colon + 1)));
        return Value::objlnk(oid, iid);
    }
    case DataType::opaque: {
        LWM2M_TRY(b, base64_decode(text, Base64Alphabet::standard, true));
        return Value::opaque(std::move(b));
    }
    }
    return fail(Errc::bad_value);
}

Result<std::string> format_text(const Value& v) {
    std::string out;
    switch (v.type()) {
    case DataType::none:
        break;
    case DataType::string:
        out = v.as_string();
        break;
    case DataType::corelnk:
        out = v.as_corelnk();
        break;
    case DataType::integer:
        append_integer(out, v.as_integer());
        break;
    case DataType::time:
        append_integer(out, v.as_time());
        break;
    case DataType::unsigned_integer:
        append_unsigned(out, v.as_unsigned());
        break;
    case DataType::float_:
        LWM2M_TRY_VOID(append_float(out, v.as_float()));
        break;
    case DataType::boolean:
        out = v.as_boolean() ? "1" : "0";
        break;
    case DataType::objlnk:
        append_unsigned(out, v.as_objlnk().oid);
        out.push_back(':');
        append_unsigned(out, v.as_objlnk().iid);
        break;
    case DataType::opaque:
        out = base64_encode(v.as_opaque());
        break;
    }
    return out;
}

} // namespace lwm2m::dm
