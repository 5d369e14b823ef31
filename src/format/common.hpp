// Private helpers shared by the codecs of src/format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/object_def.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/dm/value_text.hpp>
#include <lwm2m/format/codec.hpp>
#include <lwm2m/format/errc.hpp>

namespace lwm2m::format::detail {

// Text forms shared with the data model (include/lwm2m/dm/value_text.hpp): UTF-8 validation,
// base64 (RFC 4648 §4/§5) and decimal integers have one implementation, in dm.
using dm::append_base64;
using dm::append_integer;
using dm::append_unsigned;
using dm::Base64Alphabet;
using dm::Base64Padding;
using dm::is_valid_utf8;

/// Decodes base64 of the given alphabet; padding is optional (exact when present). Bad
/// characters, a bad final quantum or non-zero trailing bits fail. With `lenient` the other
/// alphabet is accepted too (DecodeOptions::lenient_base64).
[[nodiscard]] bool base64_decode(std::string_view in, Bytes& out, Base64Alphabet alphabet,
                                 bool lenient = false);

/// Appends the shortest decimal form that reads back to the same double (std::to_chars), with
/// ".0" added to integral values. Precondition: finite.
void append_double(std::string& out, double v);
/// A time: integral values as integers, otherwise as append_double.
void append_time(std::string& out, double t);

/// Parses a JSON / text number: returns an Integer (int64), Unsigned (uint64 above int64) or
/// Float value. Strict RFC 8259 number grammar when `json`; text/plain accepts the same grammar.
[[nodiscard]] bool parse_number(std::string_view s, dm::Value& out);
/// Strict decimal (no sign, no leading zero) within uint64.
[[nodiscard]] bool parse_uint64(std::string_view s, std::uint64_t& out);
/// "oid:iid" with both parts 0..65535 decimal (dm::parse_text's Objlnk form).
[[nodiscard]] bool parse_objlnk(std::string_view s, dm::Objlnk& out);
void append_objlnk(std::string& out, dm::Objlnk l);

/// Parses an LwM2M path name of a record: "/" or "/3/0/1" (leading '/' required; the ids as
/// dm::Path::parse accepts them).
[[nodiscard]] bool parse_path(std::string_view s, dm::Path& out);
void append_path(std::string& out, const dm::Path& p);

/// Definition lookup with the format layer's errors.
[[nodiscard]] Result<const dm::ResourceDef*> lookup(const dm::ObjectRegistry& reg,
                                                    std::uint16_t oid, std::uint16_t rid);

/// How a decoder saw a value before it knows the resource type.
struct CoerceFlags {
    bool string_is_base64 = false; ///< LwM2M JSON "sv" carries Opaque as base64 (TS 1.0 §6.4.4)
    bool lenient_base64 = false;   ///< DecodeOptions::lenient_base64
};
/// Converts a decoded value to the resource's data type (LwM2M TS 1.1 Appendix C), or fails with
/// type_mismatch / out_of_range.
[[nodiscard]] Result<dm::Value> coerce(const dm::ResourceDef& def, dm::Value raw,
                                       CoerceFlags flags = {});

/// True when the value already has the storage alternative of the definition's type (no
/// conversion needed).
[[nodiscard]] bool already_typed(const dm::ResourceDef& def, const dm::Value& v) noexcept;

/// Checks the leaf path of a record against the definition's multiplicity.
[[nodiscard]] Result<void> check_multiplicity(const dm::ResourceDef& def, const dm::Path& leaf);

/// The level of the node alternative must agree with the path's level.
[[nodiscard]] bool node_matches_path(const dm::Content& c);

/// Resolves SenML time (RFC 8428 §4.5.3).
[[nodiscard]] double resolve_time(double t, const DecodeOptions& o);

/// Checks decoded records (values against the registry) in place.
[[nodiscard]] Result<void> check_records(std::vector<dm::Record>& recs,
                                         const dm::ObjectRegistry& reg, const DecodeOptions& o,
                                         CoerceFlags flags = {});

} // namespace lwm2m::format::detail
