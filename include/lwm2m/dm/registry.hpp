// ObjectRegistry: the object definitions a client or server knows (built-in Objects 0-7 plus
// user objects loaded from DDF XML at run time). Codecs check values against it.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>

#include <lwm2m/dm/object_def.hpp>

namespace lwm2m::dm {

/// LwM2M enabler versions whose core object definitions are built in.
enum class Lwm2mVersion : std::uint8_t { v1_0, v1_1, v1_2 };

class ObjectRegistry {
public:
    /// The built-in core objects (0-7) in the definitions of the given enabler version.
    static ObjectRegistry builtin(Lwm2mVersion version = Lwm2mVersion::v1_1);

    /// Adds or replaces the definition with the same object id.
    void add(ObjectDef def);
    [[nodiscard]] const ObjectDef* find(std::uint16_t oid) const;
    [[nodiscard]] const ResourceDef* find(std::uint16_t oid, std::uint16_t rid) const;
    [[nodiscard]] const std::map<std::uint16_t, ObjectDef>& all() const { return defs_; }

private:
    std::map<std::uint16_t, ObjectDef> defs_;
};

} // namespace lwm2m::dm
