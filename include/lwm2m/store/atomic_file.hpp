// Crash-safe whole-file replacement and capped reads (POSIX). Used to persist the client accounts
// (Objects 0 and 1) and any other small state that must be either the old or the new version
// after a crash, never a mix.
//
// write_file_atomic(path, bytes):
//   1. open "<path>.tmp.<pid>" with O_CREAT|O_EXCL|O_WRONLY|O_CLOEXEC|O_NOFOLLOW, mode 0600 (a
//      stale temporary of the same name, left by a killed process with a recycled pid, is removed
//      and the open retried once);
//   2. write everything, at most write_chunk_size bytes per write() call, retrying on EINTR and
//      short writes; fchmod 0600 (umask cannot widen it, but make the mode exact);
//   3. fsync the file, close it;
//   4. rename() over `path` (atomic on POSIX file systems);
//   5. fsync the containing directory so the rename itself is durable.
//   On any error the temporary is removed and `path` is untouched.
// Errors: std::system_category errno codes (the failing call's errno).
#pragma once

#include <cstddef>
#include <string>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>

namespace lwm2m::store {

inline constexpr std::size_t write_chunk_size = std::size_t{64} * 1024;

/// Atomically replaces `path` with `data` (file mode `mode`, default 0600).
[[nodiscard]] Result<void> write_file_atomic(const std::string& path, BytesView data,
                                             unsigned mode = 0600);

/// Reads a whole regular file of at most `max_size` bytes.
/// Errors: errno codes (ENOENT when missing), lwm2m::Errc::limit_exceeded when larger than
/// `max_size`, lwm2m::Errc::invalid_argument when not a regular file.
[[nodiscard]] Result<Bytes> read_file(const std::string& path, std::size_t max_size);

/// Removes "<path>.tmp.<digits>" leftovers of writers that were killed mid-write. Returns how many
/// were removed. Call at start-up, before any writer of `path` runs.
std::size_t remove_stale_temporaries(const std::string& path);

} // namespace lwm2m::store
