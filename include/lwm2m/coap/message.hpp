// CoAP message model (RFC 7252 §3, §5.10, §12) shared by the codec, the endpoint and LwM2M.
//
// Two shapes:
//  - MessageView: what decode() produces. Zero-copy: token, option values and payload are views
//    into the datagram, which must outlive the view. No heap allocation.
//  - Message: an owning message that callers build and encode().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/inline_bytes.hpp>

namespace lwm2m::coap {

/// RFC 7252 §3: message types.
enum class Type : std::uint8_t { con = 0, non = 1, ack = 2, rst = 3 };

/// RFC 7252 §3 / §12.1: the code byte, class.detail.
struct Code {
    std::uint8_t value = 0;

    constexpr Code() = default;
    constexpr explicit Code(std::uint8_t v)
        : value(v) {}
    constexpr Code(int cls, int detail)
        : value(static_cast<std::uint8_t>((cls << 5) | detail)) {}
    [[nodiscard]] constexpr int cls() const { return value >> 5; }
    [[nodiscard]] constexpr int detail() const { return value & 0x1f; }
    [[nodiscard]] constexpr bool is_empty() const { return value == 0; }
    [[nodiscard]] constexpr bool is_request() const { return cls() == 0 && value != 0; }
    [[nodiscard]] constexpr bool is_response() const { return cls() >= 2 && cls() <= 5; }
    [[nodiscard]] constexpr bool is_success() const { return cls() == 2; }
    /// "2.05", "4.04", "GET" for requests.
    [[nodiscard]] std::string to_string() const;
    friend constexpr bool operator==(Code, Code) = default;
};

namespace code {
inline constexpr Code empty{0, 0};
inline constexpr Code get{0, 1};
inline constexpr Code post{0, 2};
inline constexpr Code put{0, 3};
inline constexpr Code delete_{0, 4};
inline constexpr Code fetch{0, 5};  // RFC 8132
inline constexpr Code patch{0, 6};  // RFC 8132
inline constexpr Code ipatch{0, 7}; // RFC 8132
inline constexpr Code created{2, 1};
inline constexpr Code deleted{2, 2};
inline constexpr Code valid{2, 3};
inline constexpr Code changed{2, 4};
inline constexpr Code content{2, 5};
inline constexpr Code continue_{2, 31}; // RFC 7959 §2.9.1
inline constexpr Code bad_request{4, 0};
inline constexpr Code unauthorized{4, 1};
inline constexpr Code bad_option{4, 2};
inline constexpr Code forbidden{4, 3};
inline constexpr Code not_found{4, 4};
inline constexpr Code method_not_allowed{4, 5};
inline constexpr Code not_acceptable{4, 6};
inline constexpr Code request_entity_incomplete{4, 8}; // RFC 7959 §2.9.2
inline constexpr Code conflict{4, 9};                  // RFC 8132
inline constexpr Code precondition_failed{4, 12};
inline constexpr Code request_entity_too_large{4, 13}; // RFC 7959 §2.9.3
inline constexpr Code unsupported_content_format{4, 15};
inline constexpr Code unprocessable_entity{4, 22}; // RFC 8132
inline constexpr Code internal_server_error{5, 0};
inline constexpr Code not_implemented{5, 1};
inline constexpr Code bad_gateway{5, 2};
inline constexpr Code service_unavailable{5, 3};
inline constexpr Code gateway_timeout{5, 4};
inline constexpr Code proxying_not_supported{5, 5};
} // namespace code

using MessageId = std::uint16_t;

/// RFC 7252 §5.3.1: 0 to 8 bytes, stored inline.
class Token {
public:
    constexpr Token() = default;
    /// Precondition: b.size() <= 8 (larger input is truncated to nothing: returns empty token).
    explicit Token(BytesView b) noexcept;
    static Token from_u64(std::uint64_t v, std::size_t len = 8) noexcept;
    [[nodiscard]] BytesView view() const noexcept { return {bytes_.data(), len_}; }
    [[nodiscard]] std::size_t size() const noexcept { return len_; }
    [[nodiscard]] bool empty() const noexcept { return len_ == 0; }
    [[nodiscard]] std::uint64_t as_u64() const noexcept; ///< big-endian value, for hashing
    friend bool operator==(const Token& a, const Token& b) noexcept;

private:
    std::array<std::byte, 8> bytes_{};
    std::uint8_t len_ = 0;
};

/// Option numbers (RFC 7252 §5.10, RFC 7641 §2, RFC 7959 §2.1, RFC 8613, RFC 7967, RFC 9175).
namespace option {
inline constexpr std::uint16_t if_match = 1;
inline constexpr std::uint16_t uri_host = 3;
inline constexpr std::uint16_t etag = 4;
inline constexpr std::uint16_t if_none_match = 5;
inline constexpr std::uint16_t observe = 6;
inline constexpr std::uint16_t uri_port = 7;
inline constexpr std::uint16_t location_path = 8;
inline constexpr std::uint16_t oscore = 9;
inline constexpr std::uint16_t uri_path = 11;
inline constexpr std::uint16_t content_format = 12;
inline constexpr std::uint16_t max_age = 14;
inline constexpr std::uint16_t uri_query = 15;
inline constexpr std::uint16_t accept = 17;
inline constexpr std::uint16_t location_query = 20;
inline constexpr std::uint16_t block2 = 23;
inline constexpr std::uint16_t block1 = 27;
inline constexpr std::uint16_t size2 = 28;
inline constexpr std::uint16_t proxy_uri = 35;
inline constexpr std::uint16_t proxy_scheme = 39;
inline constexpr std::uint16_t size1 = 60;
inline constexpr std::uint16_t echo = 252; // RFC 9175 §2.2.1
inline constexpr std::uint16_t no_response = 258;

/// RFC 7252 §5.4.1: odd numbers are critical.
[[nodiscard]] constexpr bool is_critical(std::uint16_t n) {
    return (n & 1U) != 0;
}
/// RFC 7252 §5.4.2: bit 1 set means unsafe to forward.
[[nodiscard]] constexpr bool is_unsafe(std::uint16_t n) {
    return (n & 2U) != 0;
}
/// RFC 7252 §5.4.6: NoCacheKey is bits 2-4 all set (0b11100).
[[nodiscard]] constexpr bool is_no_cache_key(std::uint16_t n) {
    return (n & 0x1eU) == 0x1cU;
}

/// RFC 7252 §3.2: option value formats.
enum class Format : std::uint8_t { empty, opaque, uint, string };

/// One row of the option registry: RFC 7252 §5.10 Table 4, RFC 7641 §2 (Observe), RFC 7959
/// §2.1 and §4 (Block1/2, Size2), RFC 8613 §2 (OSCORE), RFC 9175 §2.2.1 (Echo), RFC 7967 §2
/// (No-Response). Critical, unsafe and no-cache-key follow from the number (§5.4.6).
/// This one table drives encode() (lengths, repetitions), MessageView::check_options() (what
/// the Endpoint treats as unrecognized, §5.4.1/§5.4.3/§5.4.5) and is_known().
struct Info {
    std::uint16_t number = 0;
    std::string_view name;
    Format format = Format::opaque;
    std::uint16_t min_length = 0;
    std::uint16_t max_length = 0;
    bool repeatable = false;
    /// Processed by this implementation (the Endpoint or the application). A critical option
    /// that is registered but not acted on (If-Match, If-None-Match, OSCORE, Proxy-Uri,
    /// Proxy-Scheme) is unrecognized (§5.4.1), never silently ignored.
    bool acted_on = false;

    [[nodiscard]] constexpr bool critical() const { return is_critical(number); }
    [[nodiscard]] constexpr bool unsafe() const { return is_unsafe(number); }
    [[nodiscard]] constexpr bool no_cache_key() const { return is_no_cache_key(number); }
    /// RFC 7252 §5.4.3: the value length is within the option's defined range.
    [[nodiscard]] constexpr bool length_ok(std::size_t n) const {
        return n >= min_length && n <= max_length;
    }
};

/// The registry row of an option number; nullptr when the number is not in the table.
[[nodiscard]] const Info* info(std::uint16_t n) noexcept;
/// Every row, in increasing number order.
[[nodiscard]] std::span<const Info> registry() noexcept;
/// True for every option number this implementation acts on (Info::acted_on).
[[nodiscard]] bool is_known(std::uint16_t n);
} // namespace option

/// Content-Format numbers used by LwM2M (IANA CoAP Content-Formats registry).
namespace content_format {
inline constexpr std::uint16_t text_plain = 0;
inline constexpr std::uint16_t link_format = 40;
inline constexpr std::uint16_t octet_stream = 42;
inline constexpr std::uint16_t cbor = 60;
inline constexpr std::uint16_t senml_json = 110;
inline constexpr std::uint16_t senml_cbor = 112;
inline constexpr std::uint16_t lwm2m_tlv = 11542;
inline constexpr std::uint16_t lwm2m_json = 11543;
inline constexpr std::uint16_t lwm2m_cbor = 11544;
} // namespace content_format

struct OptionView {
    std::uint16_t number = 0;
    BytesView value;
};

/// Decodes a uint option value (RFC 7252 §3.2: big-endian, no leading zeros required, <= 4 B
/// for the options that use it; up to 8 accepted here). nullopt if longer than 8 bytes.
[[nodiscard]] std::optional<std::uint64_t> decode_uint(BytesView v) noexcept;

/// A decoded message: views into the datagram it was decoded from.
struct MessageView {
    static constexpr std::size_t max_options = 48;

    Type type = Type::con;
    Code code;
    MessageId message_id = 0;
    Token token;
    std::array<OptionView, max_options> options_storage{};
    std::size_t option_count = 0;
    BytesView payload;

    [[nodiscard]] std::span<const OptionView> options() const noexcept {
        return {options_storage.data(), option_count};
    }
    /// First option with this number, if any.
    [[nodiscard]] const OptionView* find(std::uint16_t number) const noexcept;
    /// First option with this number decoded as uint (nullopt if absent or too long).
    [[nodiscard]] std::optional<std::uint64_t> uint_option(std::uint16_t number) const noexcept;
    /// Concatenates repeated Uri-Path (or Location-Path) segments as "/a/b/c".
    [[nodiscard]] std::string path(std::uint16_t number = option::uri_path) const;
    /// Removes every option with this number (no allocation).
    void remove_option(std::uint16_t number) noexcept;

    /// What check_options() found.
    struct OptionCheck {
        /// A critical option is unrecognized (RFC 7252 §5.4.1): not in the registry or not acted
        /// on, a value length outside its range (§5.4.3), or an occurrence beyond the first of a
        /// non-repeatable option (§5.4.5). The message must be rejected: 4.02 Bad Option for a
        /// CON request, silently dropped for a NON request, RST for a response.
        bool reject = false;
        std::uint16_t rejected_option = 0; ///< the first such option number
        std::size_t ignored = 0;           ///< elective occurrences removed
    };
    /// RFC 7252 §5.4.1, §5.4.3, §5.4.5 against the option registry: elective options with a
    /// value length out of range, and the occurrences beyond the first of a non-repeatable
    /// elective option, are treated as unrecognized, i.e. removed from this view (ignored); a
    /// critical one sets `reject`. Unregistered elective options are kept (the application may
    /// read them). Never allocates.
    OptionCheck check_options() noexcept;
};

/// An owning option value: up to 24 bytes are kept inside the object (every option of a typical
/// LwM2M message: Uri-Path segments, Uri-Query items such as "lt=86400", Content-Format, Observe,
/// Block, ETag), a longer one in one heap block. A message's options thus cost no allocation each
/// (bench_server's DTLS-PSK Register loop made 25 per device for them).
using OptionValue = InlineBytes<24>;

/// An owning option.
struct Option {
    std::uint16_t number = 0;
    OptionValue value;
    friend bool operator==(const Option&, const Option&) = default;
};

/// An owning message, built by callers and encoded by encode().
class Message {
public:
    Type type = Type::con;
    Code code;
    MessageId message_id = 0;
    Token token;
    Bytes payload;

    /// Options kept sorted by number (stable for repeated options: insertion order kept).
    [[nodiscard]] const std::vector<Option>& options() const noexcept { return options_; }
    void add_option(std::uint16_t number, BytesView value);
    void add_option(std::uint16_t number, std::string_view value);
    /// Adds a uint option in minimal big-endian form (RFC 7252 §3.2: 0 is zero-length).
    void add_uint_option(std::uint16_t number, std::uint64_t value);
    /// Replaces every option with this number by one uint option.
    void set_uint_option(std::uint16_t number, std::uint64_t value);
    void remove_option(std::uint16_t number);
    [[nodiscard]] const Option* find(std::uint16_t number) const noexcept;
    [[nodiscard]] std::optional<std::uint64_t> uint_option(std::uint16_t number) const noexcept;
    /// Splits "/rd/abc" (or "rd/abc") into Uri-Path options (or Location-Path).
    void set_path(std::string_view path, std::uint16_t number = option::uri_path);
    [[nodiscard]] std::string path(std::uint16_t number = option::uri_path) const;
    /// Adds one Uri-Query option per "a=b" item of "a=b&c=d".
    void add_queries(std::string_view query);
    /// True when every registered option has a value length in its range and no non-repeatable
    /// option occurs twice (option::info(); what encode() requires, RFC 7252 §5.4.3, §5.4.5).
    [[nodiscard]] bool options_valid() const noexcept;

    /// Copies a decoded view into an owning message.
    static Message from_view(const MessageView& v);

    friend bool operator==(const Message&, const Message&) = default;

private:
    std::vector<Option> options_;
};

} // namespace lwm2m::coap
