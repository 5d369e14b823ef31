// Errors of the store layer (docs/architecture.md): one enum for the whole layer, used by the
// SQLite code (sqlite.hpp, lwm2m_store_sqlite) and by the server-side stores (registrations,
// observations, security credentials, event log; lwm2m_store).
#pragma once

#include <system_error>

namespace lwm2m::store {

enum class Errc {
    open_failed = 1, ///< the file could not be opened or is not a database
    sql_error,       ///< SQLite rejected a statement (a bug, or a schema from a newer version)
    busy,            ///< another process holds the database lock past the busy timeout
    constraint,      ///< a UNIQUE / NOT NULL / FOREIGN KEY constraint failed
    corrupt,         ///< the file is damaged (SQLITE_CORRUPT / SQLITE_NOTADB), or stored data
                     ///< could not be read back
    io_error,        ///< a disk I/O error (full disk, permissions)
    newer_schema,    ///< the database was written by a newer version of this program
    decrypt_failed,  ///< a sealed secret does not open with this key (wrong key or tampered)
    conflict,        ///< a credential (PSK identity, raw public key, certificate name) is already
                     ///< bound to another endpoint
    unavailable,     ///< the store cannot accept changes now (full, read-only, failed earlier)
};

const std::error_category& store_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m::store

template <>
struct std::is_error_code_enum<lwm2m::store::Errc> : std::true_type {};
