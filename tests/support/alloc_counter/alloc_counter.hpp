// Counts heap allocations: linking the `lwm2m_alloc_counter` library replaces the global
// operator new/delete of the whole executable with malloc/free versions that count every
// operator new. Used by the "no allocation" tests and by the benchmarks' allocs counters.
// `lwm2m_heap_counter` (LWM2M_HEAP_COUNTER) also tracks the bytes alive, at the cost of a
// malloc_usable_size on every new and delete. Not thread-safe by design: the programs that link
// either count on one thread.
#pragma once

#include <cstdint>

namespace lwm2m::test {

/// Number of global operator new / new[] calls since the program started.
[[nodiscard]] std::uint64_t allocation_count() noexcept;
#ifdef LWM2M_HEAP_COUNTER
/// Bytes of the operator-new blocks alive now (malloc_usable_size, so allocator rounding
/// included; memory from plain malloc, e.g. inside GnuTLS, is not counted).
[[nodiscard]] std::int64_t live_heap_bytes() noexcept;
#endif

} // namespace lwm2m::test
