#include "support/gnutls_time.hpp"

#include <atomic>
#include <cstdint>
#include <ctime>

extern "C" void _gnutls_global_set_gettime_function(void (*)(struct timespec*));

namespace lwm2m::test {
namespace {
std::atomic<std::int64_t> g_ns{0};
// A base far from zero, as GnuTLS subtracts timestamps.
constexpr std::int64_t kBaseSeconds = 1'000'000;

void virtual_gettime(struct timespec* ts) {
    const std::int64_t ns = g_ns.load(std::memory_order_relaxed);
    ts->tv_sec = static_cast<time_t>(kBaseSeconds + ns / 1'000'000'000);
    ts->tv_nsec = static_cast<long>(ns % 1'000'000'000);
}
} // namespace

void GnutlsVirtualTime::install(TimePoint t) {
    set(t);
    _gnutls_global_set_gettime_function(&virtual_gettime);
}

void GnutlsVirtualTime::set(TimePoint t) {
    g_ns.store(t.time_since_epoch().count(), std::memory_order_relaxed);
}

TimePoint GnutlsVirtualTime::get() {
    return TimePoint{Duration{g_ns.load()}};
}

} // namespace lwm2m::test
