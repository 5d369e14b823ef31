// lwm2m::Logger on top of spdlog (apps only: the core never prints, docs/architecture.md §2).
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/logger.h>

#include <lwm2m/base/log.hpp>

namespace lwm2m::app {

class SpdlogLogger final : public Logger {
public:
    explicit SpdlogLogger(std::shared_ptr<spdlog::logger> logger)
        : logger_(std::move(logger)) {}
    [[nodiscard]] bool enabled(LogLevel level) const override;
    [[nodiscard]] spdlog::logger& raw() noexcept { return *logger_; }

protected:
    /// Logger::write() has escaped control bytes and invalid UTF-8 already.
    void sink(LogLevel level, std::string_view component, std::string_view message) override;

private:
    std::shared_ptr<spdlog::logger> logger_;
};

/// A stderr logger named "lwm2m" at `level` ("trace", "debug", "info", "warn", "error", "off").
/// Returns nullptr for an unknown level name.
std::shared_ptr<spdlog::logger> make_stderr_logger(std::string_view level);

} // namespace lwm2m::app
