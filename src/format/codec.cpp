// Dispatch of encode / decode / encode_records / decode_records to the individual codecs.
#include <lwm2m/format/codec.hpp>

#include "common.hpp"
#include "formats.hpp"

namespace lwm2m::format {

namespace {
// The record formats (SenML JSON/CBOR, LwM2M JSON/CBOR) from leaves.
Result<void> encode_leaves(ContentFormat f, const detail::Leaves& leaves, const dm::Path* base,
                           const EncodeOptions& options, Bytes& out) {
    switch (f) {
#if LWM2M_FORMAT_SENML_JSON
    case ContentFormat::senml_json:
        return detail::senml_json_encode(leaves, base, options, out);
#endif
#if LWM2M_FORMAT_SENML_CBOR
    case ContentFormat::senml_cbor:
        return detail::senml_cbor_encode(leaves, base, options, out);
#endif
#if LWM2M_FORMAT_LWM2M_JSON
    case ContentFormat::lwm2m_json:
        return detail::lwm2m_json_encode(leaves, base, options, out);
#endif
#if LWM2M_FORMAT_LWM2M_CBOR
    case ContentFormat::lwm2m_cbor:
        return detail::lwm2m_cbor_encode(leaves, out);
#endif
    default:
        break;
    }
    (void)leaves;
    (void)base;
    (void)options;
    (void)out;
    return fail(Errc::unsupported_format);
}
} // namespace

// A format left out by LWM2M_FORMATS (lwm2m/features.hpp) is not referenced here, so a static
// link leaves its codec out; every entry point answers Errc::unsupported_format for it.

Result<Bytes> encode(ContentFormat f, const dm::Content& content, const EncodeOptions& options) {
    Bytes out;
    if (!detail::node_matches_path(content)) return fail(Errc::invalid_content);
    if (!built_in(f)) return fail(Errc::unsupported_format);
    switch (f) {
    case ContentFormat::text_plain:
        LWM2M_TRY_VOID(detail::text_encode(content, out));
        return out;
    case ContentFormat::octet_stream:
        LWM2M_TRY_VOID(detail::opaque_encode(content, out));
        return out;
    case ContentFormat::lwm2m_tlv:
#if LWM2M_FORMAT_TLV
        out.reserve(128);
        LWM2M_TRY_VOID(detail::tlv_encode(content, out));
        return out;
#else
        break;
#endif
    case ContentFormat::senml_json:
    case ContentFormat::senml_cbor:
    case ContentFormat::lwm2m_json:
    case ContentFormat::lwm2m_cbor: {
        detail::Leaves recs;
        detail::leaves_of(content, recs);
        for (const auto& r : recs)
            if (r.value.is_none()) return fail(Errc::invalid_content);
        LWM2M_TRY_VOID(encode_leaves(f, recs, &content.path, options, out));
        return out;
    }
    case ContentFormat::link_format:
        break;
    }
    return fail(Errc::unsupported_format);
}

namespace {
Result<std::vector<dm::Record>> decode_raw(ContentFormat f, BytesView payload,
                                           const DecodeOptions& o) {
    switch (f) {
#if LWM2M_FORMAT_SENML_JSON
    case ContentFormat::senml_json:
        return detail::senml_json_decode(payload, o);
#endif
#if LWM2M_FORMAT_SENML_CBOR
    case ContentFormat::senml_cbor:
        return detail::senml_cbor_decode(payload, o);
#endif
#if LWM2M_FORMAT_LWM2M_JSON
    case ContentFormat::lwm2m_json:
        return detail::lwm2m_json_decode(payload, o);
#endif
#if LWM2M_FORMAT_LWM2M_CBOR
    case ContentFormat::lwm2m_cbor:
        return detail::lwm2m_cbor_decode(payload, o);
#endif
    default:
        return fail(Errc::unsupported_format);
    }
}
} // namespace

Result<dm::Content> decode(ContentFormat f, BytesView payload, const dm::Path& target,
                           const dm::ObjectRegistry& registry, const DecodeOptions& options) {
    if (target.depth() == 0) return fail(Errc::path_mismatch);
    if (!built_in(f)) return fail(Errc::unsupported_format);
    switch (f) {
    case ContentFormat::text_plain:
        return detail::text_decode(payload, target, registry, options);
    case ContentFormat::octet_stream:
        return detail::opaque_decode(payload, target, registry, options);
    case ContentFormat::lwm2m_tlv:
#if LWM2M_FORMAT_TLV
        return detail::tlv_decode(payload, target, registry, options);
#else
        break;
#endif
    case ContentFormat::senml_json:
    case ContentFormat::senml_cbor:
    case ContentFormat::lwm2m_cbor: {
        LWM2M_TRY(recs, decode_raw(f, payload, options));
        return from_records(std::move(recs), target, registry, options);
    }
    case ContentFormat::lwm2m_json: {
        LWM2M_TRY(recs, decode_raw(f, payload, options));
        for (const auto& r : recs)
            if (r.value.is_none()) return fail(Errc::malformed);
        LWM2M_TRY_VOID(detail::check_records(recs, registry, options,
                                             detail::CoerceFlags{true, options.lenient_base64}));
        return from_records(std::move(recs), target, registry, options);
    }
    case ContentFormat::link_format:
        break;
    }
    return fail(Errc::unsupported_format);
}

Result<Bytes> encode_records(ContentFormat f, const std::vector<dm::Record>& in,
                             const EncodeOptions& options) {
    Bytes out;
    detail::Leaves records;
    records.reserve(in.size());
    for (const auto& r : in)
        records.push_back(detail::LeafRef{r.path, r.value, r.time});
    LWM2M_TRY_VOID(encode_leaves(f, records, nullptr, options, out));
    return out;
}

Result<std::vector<dm::Record>> decode_records(ContentFormat f, BytesView payload,
                                               const dm::ObjectRegistry& registry,
                                               const DecodeOptions& options) {
    LWM2M_TRY(recs, decode_raw(f, payload, options));
    detail::CoerceFlags flags;
    flags.string_is_base64 = f == ContentFormat::lwm2m_json;
    flags.lenient_base64 = options.lenient_base64;
    LWM2M_TRY_VOID(detail::check_records(recs, registry, options, flags));
    return recs;
}

} // namespace lwm2m::format
