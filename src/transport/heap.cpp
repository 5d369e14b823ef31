#include <lwm2m/transport/heap.hpp>

#include <cstdlib> // defines __GLIBC__ (via <features.h>) on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lwm2m::transport {

bool release_free_heap() noexcept {
#if defined(__GLIBC__)
    return malloc_trim(0) == 1;
#else
    return false;
#endif
}

} // namespace lwm2m::transport
