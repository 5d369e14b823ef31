#include "freed_scan.hpp"

#include <malloc.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // malloc/free pairing is correct
#endif

namespace {

struct Needle {
    const unsigned char* data = nullptr;
    std::size_t size = 0;
};

struct State {
    bool armed = false;
    std::array<Needle, 64> needles{};
    std::size_t count = 0;
    std::size_t hits = 0;
};
State g_state; // plain data: usable before main and from operator new

bool holds_window(const unsigned char* block, std::size_t n, const Needle& k) {
    constexpr std::size_t w = lwm2m::test::freed_scan_window;
    if (n < w) return false;
    for (std::size_t off = 0; off + w <= k.size; off += w / 2)
        if (memmem(block, n, k.data + off, w) != nullptr) return true;
    return k.size >= w && memmem(block, n, k.data + k.size - w, w) != nullptr;
}

void on_free(void* p) {
    if (!g_state.armed || p == nullptr) return;
    const std::size_t n = malloc_usable_size(p);
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t k = 0; k < g_state.count; ++k)
        if (holds_window(b, n, g_state.needles[k])) {
            ++g_state.hits;
            return;
        }
}

void* allocate(std::size_t n) {
    void* p = std::malloc(n == 0 ? 1 : n);
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, 0, malloc_usable_size(p));
    return p;
}

} // namespace

void* operator new(std::size_t n) {
    return allocate(n);
}
void* operator new[](std::size_t n) {
    return allocate(n);
}
void operator delete(void* p) noexcept {
    on_free(p);
    std::free(p);
}
void operator delete[](void* p) noexcept {
    on_free(p);
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    on_free(p);
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    on_free(p);
    std::free(p);
}

namespace lwm2m::test {

void freed_scan_arm() noexcept {
    g_state.hits = 0;
    g_state.armed = true;
}

std::size_t freed_scan_disarm() noexcept {
    g_state.armed = false;
    g_state.count = 0;
    return g_state.hits;
}

void freed_scan_add(const void* data, std::size_t size) noexcept {
    if (g_state.count < g_state.needles.size() && size >= freed_scan_window)
        g_state.needles[g_state.count++] = {static_cast<const unsigned char*>(data), size};
}

} // namespace lwm2m::test
