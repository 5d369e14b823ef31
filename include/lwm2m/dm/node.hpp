// The node tree of the LwM2M data model (object, instance, single and multiple resource,
// resource instance), the unit the content formats encode and decode.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/flat_map.hpp>
#include <lwm2m/dm/path.hpp>
#include <lwm2m/dm/value.hpp>

namespace lwm2m::dm {

/// A resource: single (one value) or multiple (resource instances by id, ordered).
struct Resource {
    std::uint16_t id = 0;
    bool multiple = false;
    Value value;                             ///< when !multiple
    FlatMap<std::uint16_t, Value> instances; ///< when multiple (riid -> value)

    static Resource single(std::uint16_t id, Value v) { return {id, false, std::move(v), {}}; }
    static Resource multi(std::uint16_t id, FlatMap<std::uint16_t, Value> inst = {}) {
        return {id, true, {}, std::move(inst)};
    }
    friend bool operator==(const Resource&, const Resource&) = default;
};

struct Instance {
    std::uint16_t id = 0;
    FlatMap<std::uint16_t, Resource> resources; ///< rid -> resource, ordered
    friend bool operator==(const Instance&, const Instance&) = default;
};

struct Object {
    std::uint16_t id = 0;
    FlatMap<std::uint16_t, Instance> instances; ///< iid -> instance, ordered
    friend bool operator==(const Object&, const Object&) = default;
};

/// Flat form used by SenML and LwM2M JSON/CBOR and by Read-Composite/Write-Composite:
/// one value per leaf path (a single resource or a resource instance), with an optional
/// timestamp (seconds since the Unix epoch, may be fractional).
struct Record {
    Path path;
    Value value;
    std::optional<double> time;
    friend bool operator==(const Record&, const Record&) = default;
};

/// What a Read / Write / Notify carries: the node at `path` and everything below it.
/// Exactly one alternative matches the path level: Object at /o, Instance at /o/i, Resource at
/// /o/i/r, a single Value at /o/i/r/ri.
struct Content {
    Path path;
    std::variant<Object, Instance, Resource, Value> node;
    friend bool operator==(const Content&, const Content&) = default;
};

class ObjectRegistry;

/// Flattens content into leaf records in path order (one record per single resource and per
/// resource instance; `time` is empty). Empty instances and empty multiple resources produce no
/// record: the flat form cannot carry them.
[[nodiscard]] std::vector<Record> flatten(const Content& c);

/// Rebuilds content at `base` (an object, instance, resource or resource-instance path; not the
/// root) from leaf records, in any order. A resource is multiple when its definition in `reg`
/// says so (when `reg` is given and knows it), otherwise when its records carry a resource
/// instance id. Record times are dropped; values are not checked against definitions (use
/// check_value). Errors (dm::Errc): bad_path (base is the root, a record is not a leaf below
/// `base`), bad_structure (duplicate path; single and instance records for one resource; a
/// record shape that contradicts the definition; no record for a resource-instance or unknown
/// single-resource base).
[[nodiscard]] Result<Content> unflatten(const Path& base, std::span<const Record> records,
                                        const ObjectRegistry* reg = nullptr);

} // namespace lwm2m::dm
