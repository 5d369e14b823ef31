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
namespace {

// The option registry (see Info in message.hpp). "Acted on" (RFC 7252 §5.4.1): a critical option
// marked so is processed by the Endpoint or the application. If-Match (1) and If-None-Match (5)
// (§5.10.8), OSCORE (9) (RFC 8613 §2) and Proxy-Uri (35) / Proxy-Scheme (39) (§5.7.2) are
// critical and nothing here evaluates them, so they are deliberately NOT acted on: a CON request
// carrying one is answered 4.02 Bad Option (or 5.05 for the proxy options, by the Endpoint)
// instead of being executed as if the precondition, the proxy hop or the protection did not
// exist.
constexpr std::array<Info, 22> kRegistry{{
    // number, name, format, min, max, repeatable, acted on
    {if_match, "If-Match", Format::opaque, 0, 8, true, false},              // RFC 7252 §5.10.8.1
    {uri_host, "Uri-Host", Format::string, 1, 255, false, true},            // §5.10.1
    {etag, "ETag", Format::opaque, 1, 8, true, true},                       // §5.10.6
    {if_none_match, "If-None-Match", Format::empty, 0, 0, false, false},    // §5.10.8.2
    {observe, "Observe", Format::uint, 0, 3, false, true},                  // RFC 7641 §2
    {uri_port, "Uri-Port", Format::uint, 0, 2, false, true},                // §5.10.1
    {location_path, "Location-Path", Format::string, 0, 255, true, true},   // §5.10.7
    {oscore, "OSCORE", Format::opaque, 0, 255, false, false},               // RFC 8613 §2
    {uri_path, "Uri-Path", Format::string, 0, 255, true, true},             // §5.10.1
    {content_format, "Content-Format", Format::uint, 0, 2, false, true},    // §5.10.3
    {max_age, "Max-Age", Format::uint, 0, 4, false, true},                  // §5.10.5
    {uri_query, "Uri-Query", Format::string, 0, 255, true, true},           // §5.10.1
    {accept, "Accept", Format::uint, 0, 2, false, true},                    // §5.10.4
    {location_query, "Location-Query", Format::string, 0, 255, true, true}, // §5.10.7
    {block2, "Block2", Format::uint, 0, 3, false, true},                    // RFC 7959 §2.1
    {block1, "Block1", Format::uint, 0, 3, false, true},                    // RFC 7959 §2.1
    {size2, "Size2", Format::uint, 0, 4, false, true},                      // RFC 7959 §4
    {proxy_uri, "Proxy-Uri", Format::string, 1, 1034, false, false},        // §5.10.2
    {proxy_scheme, "Proxy-Scheme", Format::string, 1, 255, false, false},   // §5.10.2
    {size1, "Size1", Format::uint, 0, 4, false, true},             // §5.10.9, RFC 7959 §4
    {echo, "Echo", Format::opaque, 1, 40, false, true},            // RFC 9175 §2.2.1
    {no_response, "No-Response", Format::uint, 0, 1, false, true}, // RFC 7967 §2
}};

constexpr bool sorted_unique() {
    for (std::size_t i = 1; i < kRegistry.size(); ++i)
        if (kRegistry[i - 1].number >= kRegistry[i].number) return false;
    return true;
}
static_assert(sorted_unique(), "the registry is kept in increasing number order");

/// Index into kRegistry by number for the dense low range (all registered numbers < 64 but
/// Echo and No-Response); 0xff: not registered.
constexpr std::array<std::uint8_t, 64> make_low_index() {
    std::array<std::uint8_t, 64> ix{};
    for (auto& x : ix)
        x = 0xff;
    for (std::size_t i = 0; i < kRegistry.size(); ++i)
        if (kRegistry[i].number < 64) ix[kRegistry[i].number] = static_cast<std::uint8_t>(i);
    return ix;
}
constexpr std::array<std::uint8_t, 64> kLowIndex = make_low_index();

} // namespace

const Info* info(std::uint16_t n) noexcept {
    if (n < kLowIndex.size()) {
        const std::uint8_t i = kLowIndex[n];
        return i == 0xff ? nullptr : &kRegistry[i];
    }
    for (std::size_t i = kRegistry.size(); i-- > 0 && kRegistry[i].number >= 64;)
        if (kRegistry[i].number == n) return &kRegistry[i];
    return nullptr;
}

std::span<const Info> registry() noexcept {
    return kRegistry;
}

bool is_known(std::uint16_t n) {
    const Info* i = info(n);
    return i != nullptr && i->acted_on;
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

void MessageView::remove_option(std::uint16_t number) noexcept {
    std::size_t out = 0;
    for (std::size_t i = 0; i < option_count; ++i)
        if (options_storage[i].number != number) options_storage[out++] = options_storage[i];
    option_count = out;
}

MessageView::OptionCheck MessageView::check_options() noexcept {
    OptionCheck r;
    std::size_t out = 0;
    bool have_prev = false;
    std::uint16_t prev = 0;
    for (std::size_t i = 0; i < option_count; ++i) {
        const OptionView o = options_storage[i];
        // Decoded options are in non-decreasing order (RFC 7252 §3.1 deltas), so an occurrence
        // beyond the first follows its predecessor (§5.4.5).
        const bool repeat = have_prev && prev == o.number;
        have_prev = true;
        prev = o.number;
        bool unrecognized = false;
        if (const option::Info* in = option::info(o.number)) {
            unrecognized = !in->length_ok(o.value.size()) || (repeat && !in->repeatable) ||
                           (in->critical() && !in->acted_on);
        } else {
            unrecognized = option::is_critical(o.number); // unregistered elective: kept
        }
        if (!unrecognized) {
            options_storage[out++] = o;
            continue;
        }
        if (option::is_critical(o.number)) { // §5.4.1: reject the message
            if (!r.reject) r.rejected_option = o.number;
            r.reject = true;
            options_storage[out++] = o;
        } else {
            ++r.ignored; // §5.4.1: an unrecognized elective option is silently ignored
        }
    }
    option_count = out;
    return r;
}

// ---------------------------------------------------------------------------------------------
// Message

void Message::add_option(std::uint16_t number, BytesView value) {
    // Sorted by number; a repeated option goes after the existing ones (RFC 7252 §5.4.5 order).
    const auto pos =
        std::upper_bound(options_.begin(), options_.end(), number,
                         [](std::uint16_t n, const Option& o) { return n < o.number; });
    options_.insert(pos, Option{number, OptionValue(value)});
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

bool Message::options_valid() const noexcept {
    for (std::size_t i = 0; i < options_.size(); ++i) {
        const Option& o = options_[i];
        const option::Info* in = option::info(o.number);
        if (in == nullptr) continue;
        if (!in->length_ok(o.value.size())) return false;
        if (i > 0 && options_[i - 1].number == o.number && !in->repeatable) return false;
    }
    return true;
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
            m.options_.push_back(Option{o.number, OptionValue(o.value)});
        else
            m.add_option(o.number, o.value);
    }
    return m;
}

} // namespace lwm2m::coap
