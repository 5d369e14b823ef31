// Errors of the content-format layer (docs/architecture.md §5) and their CoAP response codes.
#pragma once

#include <cstdint>
#include <system_error>

namespace lwm2m::format {

/// Decoder errors come from bad network input: the caller answers with coap_code_for(e).
/// Encoder errors are either "this format cannot carry this level" (answer 4.06 to the Read)
/// or caller bugs (invalid_content).
enum class Errc {
    malformed = 1, ///< syntax error in the payload (bad TLV header, bad JSON/CBOR)      -> 4.00
    type_mismatch, ///< a value does not match the resource's data type                   -> 4.00
    out_of_range,  ///< a number does not fit the type (e.g. TLV integer of 3 bytes, overflow)
                   ///< -> 4.00
    duplicate,     ///< the same path occurs twice in one payload                          -> 4.00
    path_mismatch, ///< payload data lies outside the target path                          -> 4.00
    structure_mismatch, ///< single vs multiple-instance resource disagree with the definition
                        ///< -> 4.00
    limit_exceeded, ///< nesting depth, record count or size limits                         -> 4.00
    unknown_object, ///< the object id is not in the ObjectRegistry                         -> 4.04
    unknown_resource,   ///< the resource id is not defined for the object -> 4.04
    unsupported_level,  ///< encode: the format cannot represent this level (Read -> 4.06) -> 4.06
    format_not_allowed, ///< decode: the payload's format is not allowed at the target level or
                        ///< for the resource type (e.g. text/plain for an instance, octet-stream
                        ///< for an Integer) -> 4.15
    unsupported_format, ///< the content-format number is not implemented -> 4.15
    invalid_content,    ///< encode: the caller's Content is inconsistent (path vs node, None value,
                        ///< NaN in JSON): a bug in the caller -> 5.00
};

const std::error_category& format_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

/// The CoAP response code (RFC 7252 §12.1.2 encoding: class << 5 | detail, e.g. 4.04 -> 0x84)
/// a server or client answers when a format operation fails with `e`.
///   malformed, type_mismatch, out_of_range, duplicate, path_mismatch, structure_mismatch,
///   limit_exceeded                            -> 4.00 Bad Request (LwM2M TS Core 1.1 §6.3.3)
///   unknown_object, unknown_resource          -> 4.04 Not Found   (URI/target not found)
///   unsupported_level                         -> 4.06 Not Acceptable (Read with an Accept the
///                                                level cannot use, TS 1.1 §6.3.1)
///   format_not_allowed, unsupported_format    -> 4.15 Unsupported Content-Format (TS 1.1 §6.3.3)
///   invalid_content and errors of other categories -> 5.00 Internal Server Error
[[nodiscard]] std::uint8_t coap_code_for(const std::error_code& e) noexcept;

} // namespace lwm2m::format

template <>
struct std::is_error_code_enum<lwm2m::format::Errc> : std::true_type {};
