#include "alloc_counter.hpp"

#include <cstdlib>
#include <new>

#include <malloc.h>

// GCC 12 flags malloc/free inside replaced operator new/delete once inlined; the pairing is
// correct (every operator new here uses malloc, every operator delete free).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::uint64_t g_allocations = 0;
#ifdef LWM2M_HEAP_COUNTER
std::int64_t g_live_bytes = 0; // malloc_usable_size of the blocks alive (glibc)
#endif
} // namespace

namespace lwm2m::test {
std::uint64_t allocation_count() noexcept {
    return g_allocations;
}
#ifdef LWM2M_HEAP_COUNTER
std::int64_t live_heap_bytes() noexcept {
    return g_live_bytes;
}
#endif
} // namespace lwm2m::test

void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
#ifdef LWM2M_HEAP_COUNTER
        g_live_bytes += static_cast<std::int64_t>(malloc_usable_size(p));
#endif
        return p;
    }
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    return operator new(n);
}
void operator delete(void* p) noexcept {
#ifdef LWM2M_HEAP_COUNTER
    if (p != nullptr) g_live_bytes -= static_cast<std::int64_t>(malloc_usable_size(p));
#endif
    std::free(p);
}
void operator delete[](void* p) noexcept {
    operator delete(p);
}
void operator delete(void* p, std::size_t) noexcept {
    operator delete(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    operator delete(p);
}
