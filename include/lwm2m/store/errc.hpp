// Errors of the server-side stores (ARCHITECTURE.md §5): registrations, observations, security
// credentials and the event log. I/O errors of a persistent store are std::system_category codes
// (SQLite maps its codes to these or to errno).
#pragma once

#include <system_error>

namespace lwm2m::store {

enum class Errc {
    conflict = 1, ///< a credential (PSK identity, raw public key, certificate name) is already
                  ///< bound to another endpoint
    unavailable,  ///< the store cannot accept changes now (full, read-only, failed earlier)
    corrupt,      ///< stored data could not be read back
};

const std::error_category& store_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m::store

template <>
struct std::is_error_code_enum<lwm2m::store::Errc> : std::true_type {};
