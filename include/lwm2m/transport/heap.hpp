// Returning freed heap to the operating system (edge only: the cores never call this).
//
// GnuTLS and the cores allocate through the global malloc. After a mass expiry (e.g. 10^5
// half-open DTLS handshakes timing out, dtls::ServerTable::take_release_hint()) glibc keeps the
// freed pages mapped unless they sit at the top of the heap, so the process RSS stays at its
// peak. The driver calls release_free_heap() when a core reports such a shrink.
#pragma once

namespace lwm2m::transport {

/// glibc malloc_trim(0): gives every whole free page of every arena back to the OS
/// (madvise(MADV_DONTNEED)). Cost grows with the heap size (a few ms per GB), so call it after
/// a mass release, not per freed object. Returns true when some memory was released; false
/// when none could be, or on a C library without malloc_trim. Never fails otherwise.
bool release_free_heap() noexcept;

} // namespace lwm2m::transport
