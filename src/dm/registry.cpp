#include <lwm2m/dm/registry.hpp>

#include <algorithm>

#include "builtin_tables.hpp"

namespace lwm2m::dm {
namespace {

ObjectDef make_def(const detail::BuiltinObject& b) {
    ObjectDef d;
    d.id = b.id;
    // The tables are constant: the definition refers to their texts instead of copying them.
    d.name = DefText::from_static(b.name);
    d.urn = DefText::from_static(b.urn);
    d.object_version = DefText::from_static(b.object_version);
    d.lwm2m_version = DefText::from_static(b.lwm2m_version);
    d.multiple = b.multiple;
    d.mandatory = b.mandatory;
    d.resources = ResourceList::from_static({b.resources, b.resource_count});
    return d;
}

struct Pick {
    std::uint16_t oid;
    const char* version;
};

// Which object version belongs to which enabler release (OMA registry DDF.xml and the dates in
// the version_history files; see registry.hpp).
constexpr Pick picks_1_0[] = {{0, "1.0"}, {1, "1.0"}, {2, "1.0"}, {3, "1.0"},
                              {4, "1.0"}, {5, "1.0"}, {6, "1.0"}, {7, "1.0"}};
constexpr Pick picks_1_1[] = {{0, "1.1"}, {1, "1.1"}, {2, "1.0"}, {3, "1.1"},
                              {4, "1.2"}, {5, "1.0"}, {6, "1.0"}, {7, "1.0"}};
constexpr Pick picks_1_2[] = {{0, "1.2"}, {1, "1.2"}, {2, "1.1"}, {3, "1.2"},
                              {4, "1.3"}, {5, "1.2"}, {6, "1.0"}, {7, "1.0"}};

} // namespace

std::string_view to_string(Lwm2mVersion v) {
    switch (v) {
    case Lwm2mVersion::v1_0:
        return "1.0";
    case Lwm2mVersion::v1_1:
        return "1.1";
    case Lwm2mVersion::v1_2:
        return "1.2";
    }
    return "?";
}

const ResourceDef* ObjectDef::resource(std::uint16_t rid) const {
    // Dense ids (most objects number their resources 0..n-1): direct index.
    if (rid < resources.size() && resources[rid].id == rid) return &resources[rid];
    auto it = std::lower_bound(resources.begin(), resources.end(), rid,
                               [](const ResourceDef& r, std::uint16_t key) { return r.id < key; });
    if (it != resources.end() && it->id == rid) return &*it;
    // Tolerate hand-built definitions that are not sorted.
    for (const ResourceDef& r : resources)
        if (r.id == rid) return &r;
    return nullptr;
}

std::optional<ObjectDef> builtin_object(std::uint16_t oid, std::string_view object_version) {
    for (const auto& b : detail::builtin_object_table())
        if (b.id == oid && object_version == b.object_version) return make_def(b);
    return std::nullopt;
}

std::vector<ObjectDef> builtin_objects() {
    std::vector<ObjectDef> out;
    for (const auto& b : detail::builtin_object_table())
        out.push_back(make_def(b));
    return out;
}

namespace {
std::span<const Pick> picks_of(Lwm2mVersion version) {
    if (version == Lwm2mVersion::v1_0) return picks_1_0;
    if (version == Lwm2mVersion::v1_2) return picks_1_2;
    return picks_1_1;
}
} // namespace

std::optional<std::string_view> builtin_object_version(Lwm2mVersion version, std::uint16_t oid) {
    for (const Pick& p : picks_of(version))
        if (p.oid == oid) return std::string_view(p.version);
    return std::nullopt;
}

ObjectRegistry ObjectRegistry::builtin(Lwm2mVersion version) {
    ObjectRegistry reg;
    for (const Pick& p : picks_of(version)) {
        auto def = builtin_object(p.oid, p.version);
        if (def) reg.add(std::move(*def));
    }
    return reg;
}

namespace {
bool by_id(const ResourceDef& a, const ResourceDef& b) {
    return a.id < b.id;
}
} // namespace

void ObjectRegistry::add(ObjectDef def) {
    // Sorting a constant table's view would copy it: check first (the tables are sorted).
    const ResourceList& res = def.resources;
    if (!std::is_sorted(res.begin(), res.end(), by_id))
        std::sort(def.resources.begin(), def.resources.end(), by_id);
    const std::uint16_t id = def.id;
    defs_.insert_or_assign(id, std::make_shared<const ObjectDef>(std::move(def)));
}

void ObjectRegistry::add(std::shared_ptr<const ObjectDef> def) {
    if (!def) return;
    if (!std::is_sorted(def->resources.begin(), def->resources.end(), by_id)) {
        add(ObjectDef(*def)); // find(oid, rid) relies on the order
        return;
    }
    const std::uint16_t id = def->id;
    defs_.insert_or_assign(id, std::move(def));
}

const ObjectDef* ObjectRegistry::find(std::uint16_t oid) const {
    auto it = defs_.find(oid);
    return it == defs_.end() ? nullptr : it->second.get();
}

const ResourceDef* ObjectRegistry::find(std::uint16_t oid, std::uint16_t rid) const {
    const ObjectDef* d = find(oid);
    return d == nullptr ? nullptr : d->resource(rid);
}

} // namespace lwm2m::dm
