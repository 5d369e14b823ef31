// client::Status: the CoAP response codes an object handler answers with (RFC 7252 §5.9,
// LwM2M TS Core 1.1 §8.x "Response codes" per operation), carried as a std::error_code so handler
// operations return Result<T> like every other layer. The numeric value of each enumerator is the
// CoAP code byte (class << 5 | detail), so the engine puts it on the wire unchanged.
//
// client::Errc (below) are the non-CoAP errors of the client layer: decoding a persisted
// configuration. Neither category's message() ever contains data: texts are fixed.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

#include <lwm2m/base/result.hpp>

namespace lwm2m::client {

enum class Status : std::uint8_t {
    bad_request = 0x80,                ///< 4.00 malformed or invalid value / unsupported resource
    unauthorized = 0x81,               ///< 4.01 access right permission denied
    bad_option = 0x82,                 ///< 4.02
    forbidden = 0x83,                  ///< 4.03
    not_found = 0x84,                  ///< 4.04 object, instance or resource does not exist
    method_not_allowed = 0x85,         ///< 4.05 operation not supported on this target
    not_acceptable = 0x86,             ///< 4.06 (Bootstrap-Finish: inconsistent configuration)
    request_entity_incomplete = 0x88,  ///< 4.08
    precondition_failed = 0x8c,        ///< 4.12
    request_entity_too_large = 0x8d,   ///< 4.13
    unsupported_content_format = 0x8f, ///< 4.15
    internal_server_error = 0xa0,      ///< 5.00
    not_implemented = 0xa1,            ///< 5.01
    service_unavailable = 0xa3,        ///< 5.03
};

const std::error_category& status_category() noexcept;
std::error_code make_error_code(Status s) noexcept;

/// The CoAP code byte (e.g. 0x80 for 4.00).
[[nodiscard]] constexpr std::uint8_t coap_code(Status s) noexcept {
    return static_cast<std::uint8_t>(s);
}
/// "4.00", "4.01", ... (fixed text).
[[nodiscard]] std::string_view code_text(Status s) noexcept;
/// The Status an error maps to on the wire: a Status error as is, anything else 5.00.
[[nodiscard]] Status status_of(const std::error_code& e) noexcept;

/// Errors of the client layer other than CoAP answers: a persisted configuration that cannot be
/// used. The caller falls back to the factory configuration or to "needs bootstrap".
enum class Errc {
    config_bad_magic = 1,  ///< not a lwm2m-cpp client state file
    config_bad_version,    ///< a format version this build does not read
    config_truncated,      ///< the file ends before its declared length
    config_bad_length,     ///< a length or count field is impossible or over a cap
    config_crc_mismatch,   ///< CRC-32 over the file does not match (corruption)
    config_bad_value,      ///< a value fails the Object 0/1 validation rules
    config_inconsistent,   ///< the decoded configuration fails the Bootstrap-Finish check
    config_trailing_bytes, ///< bytes after the end of the declared content
};

const std::error_category& client_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m::client

template <>
struct std::is_error_code_enum<lwm2m::client::Status> : std::true_type {};
template <>
struct std::is_error_code_enum<lwm2m::client::Errc> : std::true_type {};
