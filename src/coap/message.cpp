// CoAP message model helpers (RFC 7252 §3, §5.10, §6.4, §12.1).
#include <lwm2m/coap/message.hpp>

#include <algorithm>
#include <cstring>

namespace lwm2m::coap {

// ---------------------------------------------------------------------------------------------
// Code

std::string Code::to_string() const {
    // RFC 7252 §12.1.1 method names, RFC 8132 §2-§3 for FETCH/PATCH/iPATCH.
    if (cls() == 0) {
        switch (detail()) {
        case 1:
            return "GET";
        case 2:
            return "POST";
        case 3:
            return "PUT";
        case 4:
            return "DELETE";
        case 5:
            return "FETCH";
        case 6:
            return "PATCH";
        case 7:
            return "iPATCH";
        default:
            break;
        }
    }
    // RFC 7252 §3: "c.dd", class one digit, detail two digits.
    std::string s(4, '0');
    s[0] = static_cast<char>('0' + cls());
    s[1] = '.';
    s[2] = static_cast<char>('0' + detail() / 10);
    s[3] = static_cast<char>('0' + detail() % 10);
    return s;
}

// ---------------------------------------------------------------------------------------------
// Token

Token::Token(BytesView b) noexcept {
    if (b.size() > bytes_.size()) return; // documented: oversized input gives the empty token
    if (!b.empty()) std::memcpy(bytes_.data(), b.data(), b.size());
    len_ = static_cast<std::uint8_t>(b.size());
}

Token Token::from_u64(std::uint64_t v, std::size_t len) noexcept {
    Token t;
    len = std::min<std::size_t>(len, 8);
    for (std::size_t i = 0; i < len; ++i)
        t.bytes_[len - 1 - i] = static_cast<std::byte>((v >> (8 * i)) & 0xffU);
    t.len_ = static_cast<std::uint8_t>(len);
    return t;
}

std::uint64_t Token::as_u64() const noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < len_; ++i)
        v = (v << 8) | std::to_integer<std::uint64_t>(bytes_[i]);
    return v;
}

bool operator==(const Token& a, const Token& b) noexcept {
    return a.len_ == b.len_ && std::memcmp(a.bytes_.data(), b.bytes_.data(), a.len_) == 0;
}

// ---------------------------------------------------------------------------------------------
// Options

namespace option {
// "Known" means acted on (RFC 7252 §5.4.1): a critical option listed here is processed by the
// Endpoint or the application. If-Match (1) and If-None-Match (5) (§5.10.8), OSCORE (9)
// (RFC 8613 §2) and Proxy-Uri (35) / Proxy-Scheme (39) (§5.7.2) are critical and nothing here
// evaluates them, so they are deliberately NOT known: a CON request carrying one is answered
// 4.02 Bad Option (or 5.05 for the proxy options, by the Endpoint) instead of being executed
// as if the precondition, the proxy hop or the protection did not exist.
bool is_known(std::uint16_t n) {
    switch (n) {
    case uri_host:
    case etag:
    case observe:
    case uri_port:
    case location_path:
    case uri_path:
    case content_format:
    case max_age:
    case uri_query:
    case accept:
    case location_query:
    case block2:
    case block1:
    case size2:
    case size1:
    case no_response:
        return true;
    default:
        return false;
    }
}
} // namespace option

std::optional<std::uint64_t> decode_uint(BytesView v) noexcept {
    // RFC 7252 §3.2: non-negative integer in network byte order, leading zeros allowed.
    if (v.size() > 8) return std::nullopt;
    std::uint64_t x = 0;
    for (std::byte b : v)
        x = (x << 8) | std::to_integer<std::uint64_t>(b);
    return x;
}

namespace {

// Minimal big-endian form (RFC 7252 §3.2: the value 0 is the empty string).
std::size_t uint_bytes(std::uint64_t value, std::array<std::byte, 8>& buf) noexcept {
    std::size_t n = 0;
    for (std::uint64_t v = value; v != 0; v >>= 8)
        ++n;
    for (std::size_t i = 0; i < n; ++i)
        buf[n - 1 - i] = static_cast<std::byte>((value >> (8 * i)) & 0xffU);
    return n;
}

template <class OptionRange>
std::string join_path(const OptionRange& opts, std::uint16_t number) {
    std::string out;
    for (const auto& o : opts) {
        if (o.number != number) continue;
        out.push_back('/');
        out.append(as_string_view(o.value));
    }
    if (out.empty())
        out.push_back('/'); // the root path (push_back: avoids a GCC 12 -Wrestrict false positive)
    return out;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// MessageView

const OptionView* MessageView::find(std::uint16_t number) const noexcept {
    for (const auto& o : options())
        if (o.number == number) return &o;
    return nullptr;
}

std::optional<std::uint64_t> MessageView::uint_option(std::uint16_t number) const noexcept {
    const OptionView* o = find(number);
    if (o == nullptr) return std::nullopt;
    return decode_uint(o->value);
}

std::string MessageView::path(std::uint16_t number) const {
    return join_path(options(), number);
}

// ---------------------------------------------------------------------------------------------
// Message

void Message::add_option(std::uint16_t number, BytesView value) {
    // Sorted by number; a repeated option goes after the existing ones (RFC 7252 §5.4.5 order).
    const auto pos =
        std::upper_bound(options_.begin(), options_.end(), number,
                         [](std::uint16_t n, const Option& o) { return n < o.number; });
    options_.insert(pos, Option{number, Bytes(value.begin(), value.end())});
}

void Message::add_option(std::uint16_t number, std::string_view value) {
    add_option(number, as_bytes(value));
}

void Message::add_uint_option(std::uint16_t number, std::uint64_t value) {
    std::array<std::byte, 8> buf{};
    const std::size_t n = uint_bytes(value, buf);
    add_option(number, BytesView(buf.data(), n));
}

void Message::set_uint_option(std::uint16_t number, std::uint64_t value) {
    remove_option(number);
    add_uint_option(number, value);
}

void Message::remove_option(std::uint16_t number) {
    std::erase_if(options_, [number](const Option& o) { return o.number == number; });
}

const Option* Message::find(std::uint16_t number) const noexcept {
    for (const auto& o : options_)
        if (o.number == number) return &o;
    return nullptr;
}

std::optional<std::uint64_t> Message::uint_option(std::uint16_t number) const noexcept {
    const Option* o = find(number);
    if (o == nullptr) return std::nullopt;
    return decode_uint(o->value);
}

void Message::set_path(std::string_view path, std::uint16_t number) {
    // RFC 7252 §6.4 step 8: an empty path or "/" gives no option; otherwise one option per
    // segment, empty segments included ("/a/" is "a" and ""). Segments are raw bytes: no
    // percent-decoding is applied here.
    remove_option(number);
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    if (path.empty()) return;
    for (;;) {
        const auto slash = path.find('/');
        add_option(number, path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
}

std::string Message::path(std::uint16_t number) const {
    return join_path(options_, number);
}

void Message::add_queries(std::string_view query) {
    // One Uri-Query per '&'-separated item (RFC 7252 §6.4 step 9); empty items are skipped, a
    // leading '?' is ignored. Items are raw bytes (no percent-decoding).
    if (!query.empty() && query.front() == '?') query.remove_prefix(1);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto item = query.substr(0, amp);
        if (!item.empty()) add_option(option::uri_query, item);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
}

Message Message::from_view(const MessageView& v) {
    Message m;
    m.type = v.type;
    m.code = v.code;
    m.message_id = v.message_id;
    m.token = v.token;
    m.payload.assign(v.payload.begin(), v.payload.end());
    m.options_.reserve(v.option_count);
    // A decoded view is already sorted; add_option keeps this correct for hand-built views too.
    for (const auto& o : v.options()) {
        if (m.options_.empty() || m.options_.back().number <= o.number)
            m.options_.push_back(Option{o.number, Bytes(o.value.begin(), o.value.end())});
        else
            m.add_option(o.number, o.value);
    }
    return m;
}

} // namespace lwm2m::coap
