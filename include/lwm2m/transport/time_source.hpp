// The real clock, for drivers only (docs/architecture.md §2): the core's TimePoint has no now().
#pragma once

#include <chrono>

#include <lwm2m/base/time.hpp>

namespace lwm2m::transport {

/// Maps std::chrono::steady_clock onto lwm2m::TimePoint (nanoseconds since the steady clock's
/// epoch, so every SteadyTimeSource in a process agrees). Monotonic; never goes back.
class SteadyTimeSource {
public:
    [[nodiscard]] static TimePoint now() noexcept;
    [[nodiscard]] static TimePoint from_steady(std::chrono::steady_clock::time_point t) noexcept;
    [[nodiscard]] static std::chrono::steady_clock::time_point to_steady(TimePoint t) noexcept;
};

/// Wall-clock seconds since the Unix epoch (system_clock), for injection as lwm2m::WallClock.
class SystemWallClock final : public WallClock {
public:
    [[nodiscard]] std::int64_t unix_seconds() const override;
};

} // namespace lwm2m::transport
