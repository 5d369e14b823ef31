// Compact constant tables of the built-in object definitions (generated into
// builtin_objects.cpp by tools/ddf_to_cpp.py). Private to src/dm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>

#include <lwm2m/dm/object_def.hpp>

// LWM2M_DM_TEXTS=0 (CMake option LWM2M_DM_TEXTS=OFF, for devices): the built-in definitions
// carry no names, descriptions or units (documentation only: no codec, check or engine rule
// reads them; ranges, which value checks use, stay). The constructors drop the literals during
// constant initialisation, so they are neither in the binary nor copied to the heap by
// builtin_object().
#ifndef LWM2M_DM_TEXTS
#define LWM2M_DM_TEXTS 1
#endif

namespace lwm2m::dm::detail {

inline constexpr bool builtin_texts = LWM2M_DM_TEXTS != 0;

struct BuiltinResource {
    constexpr BuiltinResource(std::uint16_t id_, const char* name_, Operations operations_,
                              bool multiple_, bool mandatory_, DataType type_,
                              const char* range_enumeration_, const char* units_,
                              const char* description_)
        : id(id_)
        , name(builtin_texts ? name_ : "")
        , operations(operations_)
        , multiple(multiple_)
        , mandatory(mandatory_)
        , type(type_)
        , range_enumeration(range_enumeration_)
        , units(builtin_texts ? units_ : "")
        , description(builtin_texts ? description_ : "") {}

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
    constexpr BuiltinObject(std::uint16_t id_, const char* name_, const char* urn_,
                            const char* object_version_, const char* lwm2m_version_, bool multiple_,
                            bool mandatory_, const BuiltinResource* resources_,
                            std::size_t resource_count_)
        : id(id_)
        , name(builtin_texts ? name_ : "")
        , urn(urn_)
        , object_version(object_version_)
        , lwm2m_version(lwm2m_version_)
        , multiple(multiple_)
        , mandatory(mandatory_)
        , resources(resources_)
        , resource_count(resource_count_) {}

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
