// Core time types (docs/architecture.md §2).
//
// CoreClock has no now(): code in src/ cannot read the time. Drivers in src/transport convert from
// std::chrono::steady_clock; the simulator counts from zero. Wall-clock needs (SenML base time,
// Device Current Time) go through an injected WallClock.
#pragma once

#include <chrono>
#include <cstdint>

namespace lwm2m {

struct CoreClock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<CoreClock>;
    static constexpr bool is_steady = true;
};

using TimePoint = CoreClock::time_point;
using Duration = CoreClock::duration;

/// Wall-clock time as seconds since the Unix epoch, injected where LwM2M needs real time.
class WallClock {
public:
    virtual ~WallClock() = default;
    [[nodiscard]] virtual std::int64_t unix_seconds() const = 0;
};

/// Milliseconds of a duration, rounded down (for logs and wire fields).
[[nodiscard]] constexpr std::int64_t to_ms(Duration d) noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

} // namespace lwm2m
