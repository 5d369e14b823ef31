// Object and resource definitions (LwM2M TS Core Appendix D / DDF, OMA LWM2M.xsd).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/dm/value.hpp>

namespace lwm2m::dm {

enum class Operations : std::uint8_t { none = 0, r, w, rw, e };

struct ResourceDef {
    std::uint16_t id = 0;
    std::string name;
    Operations operations = Operations::none;
    bool multiple = false;
    bool mandatory = false;
    DataType type = DataType::none;
    std::string range_enumeration; ///< as written in the definition, e.g. "0-255", "1..65534", ""
    std::string units;
    std::string description;

    [[nodiscard]] bool readable() const {
        return operations == Operations::r || operations == Operations::rw;
    }
    [[nodiscard]] bool writable() const {
        return operations == Operations::w || operations == Operations::rw;
    }
    [[nodiscard]] bool executable() const { return operations == Operations::e; }
    friend bool operator==(const ResourceDef&, const ResourceDef&) = default;
};

struct ObjectDef {
    std::uint16_t id = 0;
    std::string name;
    std::string urn;            ///< e.g. "urn:oma:lwm2m:oma:0:1.1"
    std::string object_version; ///< "1.0", "1.1", "1.2"
    std::string lwm2m_version;  ///< LwM2M enabler version of the definition
    bool multiple = false;
    bool mandatory = false;
    std::vector<ResourceDef> resources; ///< ordered by id

    [[nodiscard]] const ResourceDef* resource(std::uint16_t rid) const;
    friend bool operator==(const ObjectDef&, const ObjectDef&) = default;
};

} // namespace lwm2m::dm
