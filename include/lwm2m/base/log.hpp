// Logging facade used by the core through an interface (docs/architecture.md §2: the core never
// prints). apps/ adapts it to spdlog; tests capture lines.
//
// Rule: never pass key material to a Logger. Use SecretBytes::redacted() where a size helps.
#pragma once

#include <string_view>

namespace lwm2m {

enum class LogLevel { trace, debug, info, warn, error, off };

class Logger {
public:
    virtual ~Logger() = default;
    [[nodiscard]] virtual bool enabled(LogLevel level) const = 0;
    virtual void write(LogLevel level, std::string_view component, std::string_view message) = 0;
};

/// Discards everything; the default where no logger is injected.
class NullLogger final : public Logger {
public:
    [[nodiscard]] bool enabled(LogLevel) const override { return false; }
    void write(LogLevel, std::string_view, std::string_view) override {}
    static NullLogger& instance() noexcept;
};

} // namespace lwm2m
