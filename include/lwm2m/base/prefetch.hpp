// prefetch_line: starts loading the cache line at `p` (a hint: never faults, changes nothing).
#pragma once

namespace lwm2m {

inline void prefetch_line(const void* p) noexcept {
    __builtin_prefetch(p);
    // GCC 12's interprocedural pure-const analysis counts __builtin_prefetch as free of side
    // effects: a function made only of prefetches is found pure and its calls are deleted. The
    // empty volatile asm keeps the hint where it is written.
    asm volatile("" : : "r"(p));
}

} // namespace lwm2m
