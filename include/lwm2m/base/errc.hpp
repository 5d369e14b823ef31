// Errors of the base layer and the shared helper to declare a layer's error category.
//
// Every layer has one `enum class Errc` in its namespace with a std::error_category
// (docs/architecture.md §5). Layers compose into std::error_code.
#pragma once

#include <system_error>

namespace lwm2m {

/// Base-layer errors: caller misuse and resource limits shared by all layers.
enum class Errc {
    invalid_argument = 1, ///< the caller passed a value outside the documented domain
    invalid_state,        ///< the call is not allowed in the object's current state
    limit_exceeded,       ///< a configured cap (peers, bytes, exchanges) would be exceeded
    not_found,            ///< the addressed item does not exist
    buffer_too_small,     ///< the caller's output buffer cannot hold the result
    io_error,             ///< an operating-system call failed (edges only)
    parse_error,          ///< textual input (config, CLI) could not be parsed
};

const std::error_category& base_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m

template <>
struct std::is_error_code_enum<lwm2m::Errc> : std::true_type {};
