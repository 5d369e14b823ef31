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
// reads them; ranges, which value checks use, stay). builtin_resource() and the BuiltinObject
// constructor drop the literals during constant initialisation, so they are not in the binary.
// Either way builtin_object() copies nothing: its definitions refer to these tables (DefText,
// ResourceList::from_static).
#ifndef LWM2M_DM_TEXTS
#define LWM2M_DM_TEXTS 1
#endif

namespace lwm2m::dm::detail {

inline constexpr bool builtin_texts = LWM2M_DM_TEXTS != 0;

/// One resource of a built-in table: a ResourceDef referring to the literals (constant
/// initialisation, no heap), without the texts when builtin_texts is false.
constexpr ResourceDef builtin_resource(std::uint16_t id, const char* name, Operations operations,
                                       bool multiple, bool mandatory, DataType type,
                                       const char* range_enumeration, const char* units,
                                       const char* description) {
    return ResourceDef{id,
                       DefText::from_static(builtin_texts ? name : ""),
                       operations,
                       multiple,
                       mandatory,
                       type,
                       DefText::from_static(range_enumeration),
                       DefText::from_static(builtin_texts ? units : ""),
                       DefText::from_static(builtin_texts ? description : "")};
}

struct BuiltinObject {
    constexpr BuiltinObject(std::uint16_t id_, const char* name_, const char* urn_,
                            const char* object_version_, const char* lwm2m_version_, bool multiple_,
                            bool mandatory_, const ResourceDef* resources_,
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
    const ResourceDef* resources; ///< a constant table: definitions refer to it
    std::size_t resource_count;
};

/// Every published version of Objects 0-7, ordered by (id, version).
std::span<const BuiltinObject> builtin_object_table() noexcept;

} // namespace lwm2m::dm::detail
