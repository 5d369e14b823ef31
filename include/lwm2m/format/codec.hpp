// Encoding and decoding of LwM2M content (LwM2M TS Core 1.1 §7.4, 1.2 §7.4): pure functions
// over dm::Content / dm::Record, checked against the object definitions of an ObjectRegistry.
//
// Levels a format can carry (TS 1.1 §7.4.1-§7.4.6):
//   text/plain, octet-stream   a single-instance resource or one resource instance only
//                              (octet-stream only for Opaque resources)
//   TLV, SenML JSON/CBOR, LwM2M JSON, LwM2M CBOR   object, instance, resource, resource instance
//   link-format                not a value format (see link_format.hpp): unsupported_format here
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/path.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/format/content_format.hpp>
#include <lwm2m/format/errc.hpp>

namespace lwm2m::format {

struct EncodeOptions {
    /// SenML / LwM2M JSON record forms: write "bt" once (the first record's time) and each
    /// record's "t" relative to it (RFC 8428 §4.5.3). When false every timestamp is an absolute
    /// "t" of its own.
    bool use_base_time = true;
};

struct DecodeOptions {
    /// SenML times below 2**28 are relative to "now" (RFC 8428 §4.5.3). When set (seconds since
    /// the Unix epoch, from the caller's WallClock) such times are resolved to absolute ones;
    /// when not set they are returned as they are (possibly zero or negative).
    std::optional<double> now;
    /// Lenient decoding of data from real devices (a server reading a client that serves
    /// resources its registered object version does not define, or vendor objects without a
    /// definition): values of an object or resource that is not in the registry are kept
    /// untyped instead of failing the whole payload with unknown_object / unknown_resource.
    /// Untyped values are what the format itself tells: SenML / LwM2M JSON and CBOR values as
    /// decoded (numbers as Integer/Unsigned/Float), TLV values as Opaque (the raw bytes),
    /// text/plain as String, octet-stream as Opaque. A resource is multiple when its records
    /// carry a resource instance id (TLV: a Multiple Resource entry). decode() and
    /// decode_records() honour it.
    bool allow_unknown = false;
    /// Opaque values in base64 (SenML JSON "vd", LwM2M JSON "sv", text/plain) are accepted in
    /// either alphabet of RFC 4648 (§4 standard and §5 URL-safe), padded or not. Real clients
    /// write SenML "vd" in standard base64 with padding where RFC 8428 §4.3 asks for base64url.
    bool lenient_base64 = false;
    /// Upper bound of records / TLV entries in one payload (hostile input).
    std::size_t max_records = 65536;
};

/// Encodes the content in the given format.
/// Errors: unsupported_level (the format cannot carry content.path's level, answer 4.06),
///         unsupported_format (link-format or an unknown format),
///         invalid_content (None value, node kind not matching the path level, NaN/Inf in JSON).
[[nodiscard]] Result<Bytes> encode(ContentFormat f, const dm::Content& content,
                                   const EncodeOptions& options = {});

/// Decodes a payload addressed to `target` (the request's URI path; not the root) and checks
/// every value against the registry's definitions. The result's path is `target`.
/// Errors: see Errc; map with coap_code_for().
[[nodiscard]] Result<dm::Content> decode(ContentFormat f, BytesView payload, const dm::Path& target,
                                         const dm::ObjectRegistry& registry,
                                         const DecodeOptions& options = {});

/// Record forms (SenML JSON/CBOR, LwM2M JSON, LwM2M CBOR) for the composite operations and for
/// timestamped notifications / Send. Records may have a None value (Read-Composite and
/// Observe-Composite request bodies carry names only) and a timestamp (not LwM2M CBOR).
/// Errors (encode): unsupported_format for the other formats, invalid_content (NaN in JSON,
/// timestamp in LwM2M CBOR).
[[nodiscard]] Result<Bytes> encode_records(ContentFormat f, const std::vector<dm::Record>& records,
                                           const EncodeOptions& options = {});
/// Errors (decode): as decode(); paths may lie anywhere (no target). A record without a value is
/// returned with a None value; leaf records with a value are checked against the registry.
[[nodiscard]] Result<std::vector<dm::Record>> decode_records(ContentFormat f, BytesView payload,
                                                             const dm::ObjectRegistry& registry,
                                                             const DecodeOptions& options = {});

/// Helpers shared with the client/server layers.
/// Flattens content into leaf records in path order (no timestamps).
[[nodiscard]] std::vector<dm::Record> to_records(const dm::Content& content);
/// Rebuilds the content at `target` from leaf records, checking each against the registry
/// (unknown_object/resource, type_mismatch, structure_mismatch, duplicate, path_mismatch).
/// With options.allow_unknown, records of unknown objects/resources keep their values as they
/// are (see DecodeOptions).
[[nodiscard]] Result<dm::Content> from_records(std::vector<dm::Record> records,
                                               const dm::Path& target,
                                               const dm::ObjectRegistry& registry,
                                               const DecodeOptions& options = {});

} // namespace lwm2m::format
