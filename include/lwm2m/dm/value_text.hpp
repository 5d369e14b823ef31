// Values as text: the LwM2M Plain Text format (LwM2M TS Core 1.1 §7.4.1, Table 7.4.1-1), also
// used by the string forms of SenML / LwM2M JSON, and base64 (RFC 4648).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/value.hpp>

namespace lwm2m::dm {

/// Parses `text` as a value of type `t` (LwM2M TS Core 1.1 §7.4.1):
///  - String, Corelnk: the text itself; must be valid UTF-8.
///  - Integer, Time: optional '-', decimal digits, within int64 ("-9223372036854775808" ok).
///  - Unsigned Integer: decimal digits within uint64.
///  - Float: a decimal number, optional sign, fraction and exponent ("1", "-0.5", "1.5e3");
///    NaN, infinity, hex floats, and values that overflow a double are rejected.
///  - Boolean: exactly "0" or "1".
///  - Objlnk: "oid:iid", each a decimal 0..65535.
///  - Opaque: standard base64 with padding (RFC 4648 §4); the empty text is an empty value.
///  - none: only the empty text.
/// No leading/trailing whitespace is accepted. Errors: dm::Errc::bad_value.
[[nodiscard]] Result<Value> parse_text(DataType t, std::string_view text);

/// Formats a value as Plain Text (inverse of parse_text for the value's own type). Floats use
/// the shortest text that reads back to the same double (may use an exponent, e.g. "1e+300").
/// Errors: dm::Errc::bad_value for a NaN or infinite Float (not representable in the TS text
/// forms).
[[nodiscard]] Result<std::string> format_text(const Value& v);

/// Appends the Plain Text form of an Integer / Unsigned / Float without allocating a Value.
void append_integer(std::string& out, std::int64_t v);
void append_unsigned(std::string& out, std::uint64_t v);
/// Errors: dm::Errc::bad_value for NaN / infinity (nothing is appended).
[[nodiscard]] Result<void> append_float(std::string& out, double v);

/// Base64 alphabets of RFC 4648: §4 standard ("+/") and §5 URL-safe ("-_", used with padding
/// omitted by SenML "vd", RFC 8428 §4.3).
enum class Base64Alphabet : std::uint8_t { standard, url };

[[nodiscard]] std::string
base64_encode(BytesView data, Base64Alphabet alphabet = Base64Alphabet::standard, bool pad = true);
/// Appends the base64 form of `data` to `out` (as base64_encode, without a temporary string).
void append_base64(std::string& out, BytesView data,
                   Base64Alphabet alphabet = Base64Alphabet::standard, bool pad = true);

/// How base64_decode treats '=' padding: `required` (length 4n, exact padding), `forbidden` (no
/// '=', length 4n+1 rejected) or `optional` (either form; padding, when present, must be exact).
/// `optional` serves receivers of SenML "vd", which RFC 8428 §4.3 / LwM2M TS Core 1.1 §7.4.4
/// define as base64url without padding but which some peers send padded.
enum class Base64Padding : std::uint8_t { required, forbidden, optional };
/// Strict decoding: only the alphabet's characters; with `padded`, the length is a multiple of 4
/// and '=' padding is exact; without, no '=' may appear and a length of 4n+1 is rejected. Unused
/// trailing bits must be zero (canonical encoding). Errors: dm::Errc::bad_value.
[[nodiscard]] Result<Bytes> base64_decode(std::string_view text,
                                          Base64Alphabet alphabet = Base64Alphabet::standard,
                                          bool padded = true);
/// As above with an explicit padding rule. Errors: dm::Errc::bad_value.
[[nodiscard]] Result<Bytes> base64_decode(std::string_view text, Base64Alphabet alphabet,
                                          Base64Padding padding);
/// The same decoder writing into a caller's buffer (for key material: the caller owns, sizes and
/// wipes the only copy; nothing is allocated). `out` must hold base64_max_decoded_size(text)
/// bytes. Returns the number of bytes written. Errors: dm::Errc::bad_value (bad input, or `out`
/// too small); on error `out` may hold partial output, which the caller wipes.
[[nodiscard]] Result<std::size_t> base64_decode_into(std::string_view text,
                                                     std::span<std::byte> out,
                                                     Base64Alphabet alphabet,
                                                     Base64Padding padding);
/// An upper bound of the decoded size of `text` (exact within two bytes).
[[nodiscard]] std::size_t base64_max_decoded_size(std::string_view text) noexcept;

/// True when `s` is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view s) noexcept;

} // namespace lwm2m::dm
