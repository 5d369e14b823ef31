// Compact constant tables of the built-in object definitions (generated into
// builtin_objects.cpp by tools/ddf_to_cpp.py). Private to src/dm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>

#include <lwm2m/dm/object_def.hpp>

namespace lwm2m::dm::detail {

struct BuiltinResource {
    std::uint16_t id;
    const char* name;
    Operations operations;
    bool multiple;
    bool mandatory;
    DataType type;
    const char* range_enumeration;
    const char* units;
    const char* description;
};

struct BuiltinObject {
    std::uint16_t id;
    const char* name;
    const char* urn;
    const char* object_version;
    const char* lwm2m_version;
    bool multiple;
    bool mandatory;
    const BuiltinResource* resources;
    std::size_t resource_count;
};

/// Every published version of Objects 0-7, ordered by (id, version).
std::span<const BuiltinObject> builtin_object_table() noexcept;

} // namespace lwm2m::dm::detail
