// A small strict JSON (RFC 8259) reader and writer for the SenML JSON and LwM2M JSON codecs:
// no DOM, no allocation beyond the strings it returns, bounded nesting when skipping values.
// Chosen over nlohmann-json by measurement (Release, g++ 12, the 20-resource Device instance of
// bench/format, 560 bytes): nlohmann::json::parse alone (DOM only) 8.1 us; this reader producing
// SenML records 2.7 us. (nlohmann's parser does not recurse: it keeps an explicit stack, so deep
// nesting costs heap memory instead of call stack; but it has no depth limit of its own, so a
// hostile payload's nesting is bounded only by its size.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/value.hpp>

namespace lwm2m::format::detail {

class JsonReader {
public:
    explicit JsonReader(std::string_view in)
        : s_(in) {}
    void ws();
    /// Consumes `c` after whitespace; false if the next character differs.
    [[nodiscard]] bool eat(char c);
    [[nodiscard]] char peek();
    [[nodiscard]] bool at_end() {
        ws();
        return i_ >= s_.size();
    }
    /// A string token (escapes resolved, UTF-8 checked) into `out`.
    [[nodiscard]] bool string(std::string& out);
    /// A number token as Integer / Unsigned / Float.
    [[nodiscard]] bool number(dm::Value& out);
    /// A number token as double.
    [[nodiscard]] bool number(double& out);
    [[nodiscard]] bool boolean(bool& out);
    /// Skips any value (objects/arrays up to `depth` levels).
    [[nodiscard]] bool skip(int depth = 8);

private:
    std::string_view number_token();
    std::string_view s_;
    std::size_t i_ = 0;
};

/// Appends a JSON string literal (quotes, escapes).
void json_string(std::string& out, std::string_view s);

} // namespace lwm2m::format::detail
