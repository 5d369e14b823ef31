// A Logger that keeps every line, for tests that assert what was (or was not) logged.
#pragma once

#include <string>
#include <vector>

#include <lwm2m/base/log.hpp>

namespace lwm2m::test {

class CaptureLogger final : public Logger {
public:
    struct Line {
        LogLevel level;
        std::string component;
        std::string message;
    };
    [[nodiscard]] bool enabled(LogLevel) const override { return true; }
    /// Every line as "component: message", one per line.
    [[nodiscard]] std::string all() const {
        std::string s;
        for (const auto& l : lines)
            s += l.component + ": " + l.message + "\n";
        return s;
    }
    std::vector<Line> lines;

protected:
    /// Keeps the record as the sink receives it (already escaped by Logger::write).
    void sink(LogLevel level, std::string_view component, std::string_view message) override {
        lines.push_back({level, std::string(component), std::string(message)});
    }
};

} // namespace lwm2m::test
