#include "alloc_counter.hpp"

#include <cstdlib>
#include <new>

// GCC 12 flags malloc/free inside replaced operator new/delete once inlined; the pairing is
// correct (every operator new here uses malloc, every operator delete free).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::uint64_t g_allocations = 0;
} // namespace

namespace lwm2m::test {
std::uint64_t allocation_count() noexcept {
    return g_allocations;
}
} // namespace lwm2m::test

void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    return operator new(n);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
