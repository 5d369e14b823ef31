#include <lwm2m/transport/time_source.hpp>

namespace lwm2m::transport {

TimePoint SteadyTimeSource::now() noexcept {
    return from_steady(std::chrono::steady_clock::now());
}

TimePoint SteadyTimeSource::from_steady(std::chrono::steady_clock::time_point t) noexcept {
    return TimePoint(std::chrono::duration_cast<Duration>(t.time_since_epoch()));
}

std::chrono::steady_clock::time_point SteadyTimeSource::to_steady(TimePoint t) noexcept {
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(t.time_since_epoch()));
}

std::int64_t SystemWallClock::unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace lwm2m::transport
