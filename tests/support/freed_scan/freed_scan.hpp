// Finds secrets left in freed heap memory. Linking the `lwm2m_freed_scan` object library replaces
// the global operator new/delete of the executable: every block is zeroed when allocated (a hit
// cannot come from an earlier owner's data) and, while armed, scanned when freed for any
// 24-byte window of the registered needles. A hit is a copy of a secret freed without
// secure_wipe(). Only memory allocated through operator new is seen (not malloc, not stdio).
// Not thread-safe by design: the tests that use it run on one thread.
#pragma once

#include <cstddef>

namespace lwm2m::test {

/// Window length compared: long enough that random data does not match by chance.
inline constexpr std::size_t freed_scan_window = 24;

/// Starts scanning freed blocks for windows of the needles registered with freed_scan_add().
void freed_scan_arm() noexcept;
/// Stops scanning and forgets the needles; returns the number of freed blocks that held one.
std::size_t freed_scan_disarm() noexcept;
/// Registers every window of `data` (at least freed_scan_window bytes; the memory must stay
/// valid until freed_scan_disarm()). At most 64 needles.
void freed_scan_add(const void* data, std::size_t size) noexcept;

} // namespace lwm2m::test
