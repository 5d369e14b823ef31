// ObjectRegistry: the object definitions a client or server knows (built-in Objects 0-7 plus
// user objects loaded from DDF XML at run time). Codecs check values against it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include <lwm2m/dm/object_def.hpp>

namespace lwm2m::dm {

/// LwM2M enabler versions whose core object definitions are built in.
enum class Lwm2mVersion : std::uint8_t { v1_0, v1_1, v1_2 };

/// "1.0", "1.1", "1.2".
[[nodiscard]] std::string_view to_string(Lwm2mVersion v);

class ObjectRegistry {
public:
    /// The built-in core objects (0-7) in the definitions of the given enabler version:
    ///  - v1_0: every object in version 1.0 (LwM2M 1.0.x).
    ///  - v1_1: the versions published with LwM2M 1.1/1.1.1: Security 1.1, Server 1.1,
    ///    Access Control 1.0, Device 1.1, Connectivity Monitoring 1.2, Firmware Update 1.0,
    ///    Location 1.0, Connectivity Statistics 1.0.
    ///  - v1_2: the latest published (LwM2M 1.2.x): Security 1.2, Server 1.2, Access Control 1.1,
    ///    Device 1.2, Connectivity Monitoring 1.3 (published with 1.2.1), Firmware Update 1.2,
    ///    Location 1.0, Connectivity Statistics 1.0.
    /// The split follows the TS release each version is listed with in the OMA registry (DDF.xml).
    /// Every other published version is available through builtin_object().
    static ObjectRegistry builtin(Lwm2mVersion version = Lwm2mVersion::v1_1);

    /// Adds or replaces the definition with the same object id.
    void add(ObjectDef def);
    /// Adds or replaces the definition with the same object id without copying it: the registry
    /// shares the immutable definition with its other owners (a served object's own definition,
    /// e.g. TypedObject::shared_definition()), so a client holds each definition once. A
    /// definition whose resources are not ordered by id is copied and sorted. A null pointer is
    /// ignored.
    void add(std::shared_ptr<const ObjectDef> def);
    [[nodiscard]] const ObjectDef* find(std::uint16_t oid) const;
    [[nodiscard]] const ResourceDef* find(std::uint16_t oid, std::uint16_t rid) const;
    /// The definitions by object id (immutable, shared with the registry's copies and with the
    /// other owners passed to add(std::shared_ptr)).
    [[nodiscard]] const std::map<std::uint16_t, std::shared_ptr<const ObjectDef>>& all() const {
        return defs_;
    }

private:
    std::map<std::uint16_t, std::shared_ptr<const ObjectDef>> defs_;
};

/// The version of core object `oid` that ObjectRegistry::builtin(version) holds (e.g. Device
/// "1.1" for LwM2M 1.1), without building any definition; nullopt for objects it does not hold.
[[nodiscard]] std::optional<std::string_view> builtin_object_version(Lwm2mVersion version,
                                                                     std::uint16_t oid);

/// One built-in definition by object id and object version ("1.0", "1.1", ...), or nullopt.
[[nodiscard]] std::optional<ObjectDef> builtin_object(std::uint16_t oid,
                                                      std::string_view object_version);

/// Every built-in definition: each published version of Objects 0-7, ordered by (id, version).
[[nodiscard]] std::vector<ObjectDef> builtin_objects();

} // namespace lwm2m::dm
