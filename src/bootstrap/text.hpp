// Text helpers of the bootstrap layer: peer-controlled bytes (endpoint names, client diagnostic
// payloads) become printable, bounded text before they reach an event or a log line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <lwm2m/base/bytes.hpp>

namespace lwm2m::bootstrap {

/// Printable ASCII kept, '\\' and '"' escaped, every other byte as \xNN; at most `max` input
/// bytes (then "...").
std::string sanitize(BytesView bytes, std::size_t max = 512);
inline std::string sanitize(std::string_view s, std::size_t max = 512) {
    return sanitize(as_bytes(s), max);
}

} // namespace lwm2m::bootstrap
