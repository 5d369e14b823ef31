// Content-Format numbers of the LwM2M data formats (CoAP Content-Formats registry; LwM2M TS
// Core 1.1 §7.4, 1.2 §7.4.6). Same numbers as coap::content_format, declared here so the format
// layer does not depend on the CoAP layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <lwm2m/features.hpp>

namespace lwm2m::format {

enum class ContentFormat : std::uint16_t {
    text_plain = 0,     ///< text/plain;charset=utf-8 (TS 1.1 §7.4.1)
    link_format = 40,   ///< application/link-format (RFC 6690)
    octet_stream = 42,  ///< application/octet-stream, "Opaque" (TS 1.1 §7.4.2)
    senml_json = 110,   ///< application/senml+json (RFC 8428; TS 1.1 §7.4.4)
    senml_cbor = 112,   ///< application/senml+cbor (RFC 8428 §6; TS 1.1 §7.4.5)
    lwm2m_tlv = 11542,  ///< application/vnd.oma.lwm2m+tlv (TS 1.1 §7.4.3)
    lwm2m_json = 11543, ///< application/vnd.oma.lwm2m+json (TS 1.1 §7.4.6 / 1.0 §6.4.4)
    lwm2m_cbor = 11544, ///< application/vnd.oma.lwm2m+cbor (TS 1.2 §7.4.6)
};

/// Whether this build has the codec of `f`: text/plain, octet-stream and link-format always; the
/// others as selected by the CMake option LWM2M_FORMATS (all by default). format::encode/decode
/// answer Errc::unsupported_format for a format that is not built in.
[[nodiscard]] constexpr bool built_in(ContentFormat f) noexcept {
    switch (f) {
    case ContentFormat::text_plain:
    case ContentFormat::link_format:
    case ContentFormat::octet_stream:
        return true;
    case ContentFormat::senml_json:
        return LWM2M_FORMAT_SENML_JSON != 0;
    case ContentFormat::senml_cbor:
        return LWM2M_FORMAT_SENML_CBOR != 0;
    case ContentFormat::lwm2m_tlv:
        return LWM2M_FORMAT_TLV != 0;
    case ContentFormat::lwm2m_json:
        return LWM2M_FORMAT_LWM2M_JSON != 0;
    case ContentFormat::lwm2m_cbor:
        return LWM2M_FORMAT_LWM2M_CBOR != 0;
    }
    return false;
}

/// The format for a Content-Format option value, or nullopt for a number this layer does not know.
[[nodiscard]] std::optional<ContentFormat> content_format_from(std::uint16_t number) noexcept;
/// The media type, e.g. "application/senml+cbor".
[[nodiscard]] std::string_view to_string(ContentFormat f) noexcept;

} // namespace lwm2m::format
