// Private entry points of the individual codecs (dispatched from codec.cpp, used by the fuzz
// targets and unit tests).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/format/codec.hpp>

namespace lwm2m::format::detail {

/// A leaf of the content to encode, referring to the caller's value (no copy).
struct LeafRef {
    dm::Path path;
    const dm::Value& value;
    std::optional<double> time;
};
using Leaves = std::vector<LeafRef>;
/// The leaves of `c` in path order (as to_records, without copying values).
void leaves_of(const dm::Content& c, Leaves& out);

// LwM2M TLV (TS 1.1 §7.4.3)
[[nodiscard]] Result<void> tlv_encode(const dm::Content& c, Bytes& out);
[[nodiscard]] Result<dm::Content> tlv_decode(BytesView in, const dm::Path& target,
                                             const dm::ObjectRegistry& reg, const DecodeOptions& o);

// text/plain (TS 1.1 §7.4.1) and octet-stream (§7.4.2)
[[nodiscard]] Result<void> text_encode(const dm::Content& c, Bytes& out);
[[nodiscard]] Result<dm::Content> text_decode(BytesView in, const dm::Path& target,
                                              const dm::ObjectRegistry& reg,
                                              const DecodeOptions& o);
[[nodiscard]] Result<void> opaque_encode(const dm::Content& c, Bytes& out);
[[nodiscard]] Result<dm::Content> opaque_decode(BytesView in, const dm::Path& target,
                                                const dm::ObjectRegistry& reg,
                                                const DecodeOptions& o);

// SenML JSON (RFC 8428; TS 1.1 §7.4.4); `base` is written as "bn" of the first record.
[[nodiscard]] Result<void> senml_json_encode(const Leaves& recs, const dm::Path* base,
                                             const EncodeOptions& o, Bytes& out);
[[nodiscard]] Result<std::vector<dm::Record>> senml_json_decode(BytesView in,
                                                                const DecodeOptions& o);
// SenML CBOR (RFC 8428 §6; TS 1.1 §7.4.5)
[[nodiscard]] Result<void> senml_cbor_encode(const Leaves& recs, const dm::Path* base,
                                             const EncodeOptions& o, Bytes& out);
[[nodiscard]] Result<std::vector<dm::Record>> senml_cbor_decode(BytesView in,
                                                                const DecodeOptions& o);
// LwM2M JSON (TS 1.1 §7.4.6, TS 1.0 §6.4.4)
[[nodiscard]] Result<void> lwm2m_json_encode(const Leaves& recs, const dm::Path* base,
                                             const EncodeOptions& o, Bytes& out);
[[nodiscard]] Result<std::vector<dm::Record>> lwm2m_json_decode(BytesView in,
                                                                const DecodeOptions& o);
// LwM2M CBOR (TS 1.2 §7.4.6)
[[nodiscard]] Result<void> lwm2m_cbor_encode(const Leaves& recs, Bytes& out);
[[nodiscard]] Result<std::vector<dm::Record>> lwm2m_cbor_decode(BytesView in,
                                                                const DecodeOptions& o);

} // namespace lwm2m::format::detail
