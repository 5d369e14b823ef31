// The node tree of the LwM2M data model (object, instance, single and multiple resource,
// resource instance), the unit the content formats encode and decode.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <variant>
#include <vector>

#include <lwm2m/dm/path.hpp>
#include <lwm2m/dm/value.hpp>

namespace lwm2m::dm {

/// A resource: single (one value) or multiple (resource instances by id, ordered).
struct Resource {
    std::uint16_t id = 0;
    bool multiple = false;
    Value value;                                    ///< when !multiple
    std::map<std::uint16_t, Value> instances;       ///< when multiple (riid -> value)

    static Resource single(std::uint16_t id, Value v) { return {id, false, std::move(v), {}}; }
    static Resource multi(std::uint16_t id, std::map<std::uint16_t, Value> inst = {}) {
        return {id, true, {}, std::move(inst)};
    }
    friend bool operator==(const Resource&, const Resource&) = default;
};

struct Instance {
    std::uint16_t id = 0;
    std::map<std::uint16_t, Resource> resources; ///< rid -> resource, ordered
    friend bool operator==(const Instance&, const Instance&) = default;
};

struct Object {
    std::uint16_t id = 0;
    std::map<std::uint16_t, Instance> instances; ///< iid -> instance, ordered
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

/// Flattens content into leaf records in path order; rebuilds content from records below `path`.
[[nodiscard]] std::vector<Record> flatten(const Content& c);

} // namespace lwm2m::dm
