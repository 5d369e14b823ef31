#include "spdlog_logger.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace lwm2m::app {
namespace {
spdlog::level::level_enum to_spdlog(LogLevel l) {
    switch (l) {
    case LogLevel::trace:
        return spdlog::level::trace;
    case LogLevel::debug:
        return spdlog::level::debug;
    case LogLevel::info:
        return spdlog::level::info;
    case LogLevel::warn:
        return spdlog::level::warn;
    case LogLevel::error:
        return spdlog::level::err;
    case LogLevel::off:
        return spdlog::level::off;
    }
    return spdlog::level::off;
}
} // namespace

bool SpdlogLogger::enabled(LogLevel level) const {
    return logger_->should_log(to_spdlog(level));
}

void SpdlogLogger::sink(LogLevel level, std::string_view component, std::string_view message) {
    logger_->log(to_spdlog(level), "[{}] {}", component, message);
}

std::shared_ptr<spdlog::logger> make_stderr_logger(std::string_view level) {
    static constexpr std::pair<std::string_view, spdlog::level::level_enum> names[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
        {"error", spdlog::level::err},   {"off", spdlog::level::off}};
    for (const auto& [name, lvl] : names) {
        if (name == level) {
            auto l = std::make_shared<spdlog::logger>(
                "lwm2m", std::make_shared<spdlog::sinks::stderr_sink_mt>());
            l->set_level(lvl);
            l->set_pattern("%H:%M:%S.%e %^%l%$ %v");
            return l;
        }
    }
    return nullptr;
}

} // namespace lwm2m::app
