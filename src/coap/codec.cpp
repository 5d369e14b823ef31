// RFC 7252 §3 message format: zero-copy decode, exact-size encode.
#include <lwm2m/coap/codec.hpp>

#include <cstring>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::coap {

namespace {

constexpr std::uint8_t payload_marker = 0xff; // RFC 7252 §3
constexpr std::size_t header_size = 4;
// RFC 7252 §3.1: largest option delta / length the extended forms can express (65535 + 269).
constexpr std::size_t max_extended = 65535 + 269;

inline std::uint8_t at(const std::byte* p) noexcept {
    return std::to_integer<std::uint8_t>(*p);
}

// Size of the extended field for a delta or length value (RFC 7252 §3.1).
constexpr std::size_t ext_size(std::size_t v) noexcept {
    return v < 13 ? 0 : (v < 269 ? 1 : 2);
}

constexpr std::size_t option_size(std::size_t delta, std::size_t len) noexcept {
    return 1 + ext_size(delta) + ext_size(len) + len;
}

// Writes the nibble and the extended bytes for `v`; returns the nibble.
inline std::uint8_t put_ext(std::size_t v, std::byte*& ext) noexcept {
    if (v < 13) return static_cast<std::uint8_t>(v);
    if (v < 269) {
        *ext++ = static_cast<std::byte>(v - 13);
        return 13;
    }
    const std::size_t x = v - 269;
    *ext++ = static_cast<std::byte>(x >> 8);
    *ext++ = static_cast<std::byte>(x & 0xffU);
    return 14;
}

// Encodes header + token; `out` is known to be large enough.
inline std::byte* put_header(Type type, Code code, MessageId mid, const Token& token,
                             std::byte* p) noexcept {
    p[0] = static_cast<std::byte>(0x40U | (static_cast<unsigned>(type) << 4) | token.size());
    p[1] = static_cast<std::byte>(code.value);
    p[2] = static_cast<std::byte>(mid >> 8);
    p[3] = static_cast<std::byte>(mid & 0xffU);
    p += header_size;
    if (!token.empty()) {
        std::memcpy(p, token.view().data(), token.size());
        p += token.size();
    }
    return p;
}

inline std::byte* put_option(std::size_t delta, BytesView value, std::byte* p) noexcept {
    std::byte* head = p++;
    const std::uint8_t d = put_ext(delta, p);
    const std::uint8_t l = put_ext(value.size(), p);
    *head = static_cast<std::byte>((d << 4) | l);
    if (!value.empty()) {
        std::memcpy(p, value.data(), value.size());
        p += value.size();
    }
    return p;
}

// Shared by both encode() overloads. Opts is a range of elements with .number and .value.
// Checked: registered options must respect the option registry (length range, repetitions).
template <bool Checked, class Opts>
Result<std::size_t> encode_impl(Type type, Code code, MessageId mid, const Token& token,
                                const Opts& opts, BytesView payload,
                                MutableBytesView out) noexcept {
    // Size pass: validates order and lengths, so the write pass needs no checks.
    std::size_t size = header_size + token.size();
    std::uint16_t prev = 0;
    bool first = true;
    for (const auto& o : opts) {
        if (o.number < prev || o.value.size() > max_extended)
            return fail(lwm2m::Errc::invalid_argument);
        if constexpr (Checked) {
            // RFC 7252 §5.4.3 (length), §5.4.5 (repetition): never emit what a peer must treat
            // as unrecognized.
            if (const option::Info* in = option::info(o.number)) {
                if (!in->length_ok(o.value.size()) ||
                    (!first && o.number == prev && !in->repeatable))
                    return fail(lwm2m::Errc::invalid_argument);
            }
        }
        first = false;
        size += option_size(static_cast<std::size_t>(o.number - prev), o.value.size());
        prev = o.number;
    }
    if (!payload.empty()) size += 1 + payload.size();
    if (size > out.size()) return fail(lwm2m::Errc::buffer_too_small);

    std::byte* p = put_header(type, code, mid, token, out.data());
    prev = 0;
    for (const auto& o : opts) {
        p = put_option(static_cast<std::size_t>(o.number - prev), o.value, p);
        prev = o.number;
    }
    if (!payload.empty()) {
        *p++ = static_cast<std::byte>(payload_marker);
        std::memcpy(p, payload.data(), payload.size());
    }
    return size;
}

// Reads an extended delta/length (RFC 7252 §3.1). `nibble` is 0..14. Returns false when the
// extension runs past `end`.
inline bool get_ext(unsigned nibble, const std::byte*& p, const std::byte* end,
                    std::size_t& value) noexcept {
    if (nibble < 13) {
        value = nibble;
        return true;
    }
    if (nibble == 13) {
        if (p == end) return false;
        value = static_cast<std::size_t>(at(p)) + 13;
        p += 1;
        return true;
    }
    if (end - p < 2) return false;
    value = ((static_cast<std::size_t>(at(p)) << 8) | at(p + 1)) + 269;
    p += 2;
    return true;
}

} // namespace

Result<void> decode_into(BytesView datagram, MessageView& out) noexcept {
    const std::byte* p = datagram.data();
    const std::size_t n = datagram.size();
    // RFC 7252 §3: fixed 4-byte header.
    if (n < header_size) return fail(Errc::truncated_header);
    const std::uint8_t b0 = at(p);
    if ((b0 >> 6) != 1) return fail(Errc::bad_version);
    const unsigned tkl = b0 & 0x0fU;
    if (tkl > 8) return fail(Errc::bad_token_length); // §3: 9-15 reserved, format error
    const std::uint8_t code = at(p + 1);
    // §4.1: an Empty message has TKL 0 and nothing after the Message ID.
    if (code == 0 && (tkl != 0 || n != header_size)) return fail(Errc::empty_message_not_empty);
    if (n < header_size + tkl) return fail(Errc::truncated_header);

    out.type = static_cast<Type>((b0 >> 4) & 0x3U);
    out.code = Code(code);
    out.message_id = static_cast<MessageId>((at(p + 2) << 8) | at(p + 3));
    out.token = Token(BytesView(p + header_size, tkl));
    out.option_count = 0;
    out.payload = {};

    const std::byte* const end = p + n;
    p += header_size + tkl;
    std::size_t number = 0;
    std::size_t count = 0;
    while (p != end) {
        const std::uint8_t b = at(p++);
        if (b == payload_marker) {
            // §3: a marker followed by a zero-length payload is a format error.
            if (p == end) return fail(Errc::payload_marker_without_payload);
            out.payload = BytesView(p, static_cast<std::size_t>(end - p));
            break;
        }
        const unsigned dn = b >> 4;
        const unsigned ln = b & 0x0fU;
        // §3.1: nibble 15 is reserved except as the whole 0xFF marker byte.
        if (dn == 15) return fail(Errc::option_delta_reserved);
        if (ln == 15) return fail(Errc::option_length_reserved);
        std::size_t delta = 0;
        std::size_t len = 0;
        if (!get_ext(dn, p, end, delta) || !get_ext(ln, p, end, len))
            return fail(Errc::truncated_option);
        number += delta;
        if (number > 0xffff) return fail(Errc::option_number_overflow);
        if (static_cast<std::size_t>(end - p) < len) return fail(Errc::truncated_option);
        if (count == MessageView::max_options) return fail(Errc::too_many_options);
        OptionView& o = out.options_storage[count++];
        o.number = static_cast<std::uint16_t>(number);
        o.value = BytesView(p, len);
        p += len;
    }
    out.option_count = count;
    return ok();
}

Result<MessageView> decode(BytesView datagram) noexcept {
    // One named return object (NRVO): the ~1.2 KB view is built in place, never copied.
    Result<MessageView> r{tl::in_place};
    if (auto e = decode_into(datagram, *r); !e) r = fail(e.error());
    return r;
}

std::size_t encoded_size(const Message& m) noexcept {
    std::size_t size = header_size + m.token.size();
    std::uint16_t prev = 0;
    for (const auto& o : m.options()) {
        size += option_size(static_cast<std::size_t>(o.number - prev), o.value.size());
        prev = o.number;
    }
    if (!m.payload.empty()) size += 1 + m.payload.size();
    return size;
}

Result<std::size_t> encode(const Message& m, MutableBytesView out) noexcept {
    return encode_impl<true>(m.type, m.code, m.message_id, m.token, m.options(), m.payload, out);
}

Result<std::size_t> encode(const MessageView& m, MutableBytesView out) noexcept {
    return encode_impl<false>(m.type, m.code, m.message_id, m.token, m.options(), m.payload, out);
}

// This overload fails for an option value longer than 65804 bytes (RFC 7252 §3.1: 13 + 256 +
// 65535 is the largest length the option header can express) and for a registered option that
// breaks the registry (length out of range, forbidden repetition); options are kept sorted by
// Message. It then returns an EMPTY buffer. Every valid CoAP message is at least the
// 4-byte header (§3), so empty is unambiguous, but it is NOT a datagram: a caller about to send
// must check for it (or check sizes first, as coap::Endpoint does: it refuses such a message
// with coap::Errc::message_too_large and never sends a 0-byte datagram). Code that needs the
// error itself uses the Result-returning overload above.
Bytes encode(const Message& m) {
    Bytes out(encoded_size(m));
    auto r = encode(m, out);
    if (!r)
        out.clear();
    else
        out.resize(*r);
    return out;
}

} // namespace lwm2m::coap
