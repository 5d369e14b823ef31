// Private helpers of the client objects: typed views of dm::Value with the leniency the objects
// allow (an Integer and an Unsigned Integer are interchangeable when in range).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/dm/value.hpp>

namespace lwm2m::client::detail {

inline std::optional<std::int64_t> as_int(const dm::Value& v) {
    const auto& s = v.storage();
    if (const auto* i = std::get_if<std::int64_t>(&s)) return *i;
    if (const auto* u = std::get_if<std::uint64_t>(&s)) {
        if (*u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return std::nullopt;
        return static_cast<std::int64_t>(*u);
    }
    return std::nullopt;
}
inline std::optional<bool> as_bool(const dm::Value& v) {
    if (const auto* b = std::get_if<bool>(&v.storage())) return *b;
    return std::nullopt;
}
inline const std::string* as_str(const dm::Value& v) {
    return std::get_if<std::string>(&v.storage());
}
inline const Bytes* as_opaque(const dm::Value& v) {
    return std::get_if<Bytes>(&v.storage());
}
inline std::optional<dm::Objlnk> as_objlnk(const dm::Value& v) {
    if (const auto* o = std::get_if<dm::Objlnk>(&v.storage())) return *o;
    return std::nullopt;
}
inline std::optional<std::int64_t> as_time(const dm::Value& v) {
    if (const auto* t = std::get_if<dm::Time>(&v.storage())) return t->seconds;
    return as_int(v);
}
inline bool is_none(const dm::Value& v) {
    return std::holds_alternative<std::monostate>(v.storage());
}

} // namespace lwm2m::client::detail
