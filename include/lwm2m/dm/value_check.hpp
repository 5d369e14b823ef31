// Checking values against resource definitions: data type and the DDF <RangeEnumeration>
// (LwM2M TS Core 1.1 Appendix D.1, OMA LWM2M.xsd). Used by clients on Write and by codecs.
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/object_def.hpp>
#include <lwm2m/dm/value.hpp>

namespace lwm2m::dm {

/// A machine-readable <RangeEnumeration>: the allowed closed intervals (a single value is an
/// interval of width 0). `bytes` means a length in bytes ("0-255 bytes"); for String, Opaque
/// and Corelnk resources a range is always a length in bytes.
struct RangeSpec {
    std::vector<std::pair<long double, long double>> intervals;
    bool bytes = false;
    [[nodiscard]] bool contains(long double x) const;
    friend bool operator==(const RangeSpec&, const RangeSpec&) = default;
};

/// Parses the common forms of the OMA registry: "0-255", "1..65534", "-90.0..90.0", "6",
/// "6 bytes", "0..255 bytes", "16,32,48", "16-32-48 bytes" (a list: more than two numbers
/// joined by '-'), and comma lists of values and intervals ("1,3..5"). Free text ("The
/// possible values are listed in ..."), "16-bit", empty text and inverted intervals give nullopt:
/// no machine-checkable constraint.
[[nodiscard]] std::optional<RangeSpec> parse_range(std::string_view text);

/// Checks a value against a definition:
///  - the value's type must be the definition's (an executable resource takes no value);
///  - when the definition's range parses (parse_range): numbers (Integer, Unsigned Integer,
///    Float, Time) must fall in it; String/Opaque/Corelnk lengths in bytes must fall in it;
///    Boolean and Objlnk ranges are not checked; a numeric type with a "bytes" range is not
///    checked.
/// Errors (dm::Errc): type_mismatch (answer 4.00 Bad Request), out_of_range (4.00).
[[nodiscard]] Result<void> check_value(const ResourceDef& def, const Value& v);

/// Converts a value to `target` where it is lossless: Integer <-> Unsigned Integer (in range),
/// Integer <-> Time, String <-> Corelnk, Integer/Unsigned -> Float (exactly representable);
/// the same type is returned unchanged. For decoders that see a resource's definition only
/// after a value was typed (e.g. TLV, CBOR integers). Errors: dm::Errc::type_mismatch.
[[nodiscard]] Result<Value> coerce(const Value& v, DataType target);

} // namespace lwm2m::dm
