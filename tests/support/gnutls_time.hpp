// Virtual time for GnuTLS (tests only). GnuTLS reads a monotonic clock itself for DTLS
// retransmission timers; its exported private hook `_gnutls_global_set_gettime_function`
// (GNUTLS_PRIVATE_3_4, checked on Debian 12's 3.7.9) lets tests drive that clock from the same
// TimePoint they pass to the sans-I/O objects (docs/architecture.md §3). Certificate validity
// checks use the wall clock (gnutls_time), which this hook does not touch.
#pragma once

#include <lwm2m/base/time.hpp>

namespace lwm2m::test {

class GnutlsVirtualTime {
public:
    /// Installs the hook (idempotent) and sets the virtual time to `t`.
    static void install(TimePoint t = TimePoint{});
    /// Moves GnuTLS's clock to `t` (monotonic use is the caller's job).
    static void set(TimePoint t);
    [[nodiscard]] static TimePoint get();
};

} // namespace lwm2m::test
