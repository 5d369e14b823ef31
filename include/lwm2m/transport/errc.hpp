// Errors of the transport layer (docs/architecture.md §5). Operating-system failures are reported
// as std::system_category() codes (errno) so the caller sees the real cause; these are the
// transport's own conditions.
#pragma once

#include <system_error>

namespace lwm2m::transport {

enum class Errc {
    unsupported_family = 1, ///< the address family is none, or does not match the socket
    resolve_failed,         ///< getaddrinfo() found no usable address for the host
    no_socket,              ///< a driver was started without any socket
};

const std::error_category& transport_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m::transport

template <>
struct std::is_error_code_enum<lwm2m::transport::Errc> : std::true_type {};
