// Small text helpers shared by the DDF loader and the value checks (internal to lwm2m_dm).
#pragma once

#include <string_view>

namespace lwm2m::dm::detail {

/// XML and resource-value white space: space, tab, CR, LF.
[[nodiscard]] constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/// `s` without leading and trailing white space.
[[nodiscard]] constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

} // namespace lwm2m::dm::detail
