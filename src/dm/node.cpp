// Node tree <-> flat records (the flat form of SenML / LwM2M JSON / LwM2M CBOR,
// LwM2M TS Core 1.1 §7.4.4-§7.4.6).
#include <lwm2m/dm/errc.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/registry.hpp>

#include <algorithm>

namespace lwm2m::dm {
namespace {

void flatten_resource(const Path& rpath, const Resource& r, std::vector<Record>& out) {
    if (!r.multiple) {
        out.push_back(Record{rpath, r.value, std::nullopt});
        return;
    }
    for (const auto& [riid, v] : r.instances)
        out.push_back(Record{rpath.child(riid), v, std::nullopt});
}

void flatten_instance(const Path& ipath, const Instance& inst, std::vector<Record>& out) {
    for (const auto& [rid, r] : inst.resources)
        flatten_resource(ipath.child(rid), r, out);
}

} // namespace

std::vector<Record> flatten(const Content& c) {
    std::vector<Record> out;
    std::visit(
        [&](const auto& node) {
            using N = std::decay_t<decltype(node)>;
            if constexpr (std::is_same_v<N, Object>) {
                for (const auto& [iid, inst] : node.instances)
                    flatten_instance(c.path.child(iid), inst, out);
            } else if constexpr (std::is_same_v<N, Instance>) {
                flatten_instance(c.path, node, out);
            } else if constexpr (std::is_same_v<N, Resource>) {
                flatten_resource(c.path, node, out);
            } else {
                out.push_back(Record{c.path, node, std::nullopt});
            }
        },
        c.node);
    return out;
}

namespace {

// Adds one leaf record to `inst` (the instance at `ipath`). `rec` is at depth 3 or 4.
Result<void> add_to_instance(Instance& inst, const Path& ipath, const Record& rec,
                             const ObjectRegistry* reg) {
    const std::uint16_t rid = rec.path.rid().v;
    const bool has_riid = rec.path.has_resource_instance();
    const ResourceDef* def = reg != nullptr ? reg->find(ipath.oid().v, rid) : nullptr;
    if (def != nullptr && def->multiple != has_riid) return fail(Errc::bad_structure);
    auto it = inst.resources.find(rid);
    if (it == inst.resources.end()) {
        Resource r = has_riid ? Resource::multi(rid) : Resource::single(rid, rec.value);
        if (has_riid) r.instances.emplace(rec.path.riid().v, rec.value);
        inst.resources.emplace(rid, std::move(r));
        return ok();
    }
    Resource& r = it->second;
    if (!r.multiple || !has_riid)
        return fail(Errc::bad_structure); // duplicate or single/multiple clash
    if (!r.instances.emplace(rec.path.riid().v, rec.value).second) return fail(Errc::bad_structure);
    return ok();
}

} // namespace

Result<Content> unflatten(const Path& base, std::span<const Record> records,
                          const ObjectRegistry* reg) {
    if (base.is_root()) return fail(Errc::bad_path);
    for (const Record& rec : records) {
        if (rec.path.depth() < 3 || !base.is_prefix_of(rec.path)) return fail(Errc::bad_path);
        if (rec.path.iid().v == 0xffff) return fail(Errc::bad_path);
    }
    switch (base.level()) {
    case Path::Level::object: {
        Object obj{base.oid().v, {}};
        for (const Record& rec : records) {
            const std::uint16_t iid = rec.path.iid().v;
            auto [it, inserted] = obj.instances.try_emplace(iid);
            if (inserted) it->second.id = iid;
            LWM2M_TRY_VOID(
                add_to_instance(it->second, Path(rec.path.oid(), rec.path.iid()), rec, reg));
        }
        return Content{base, std::move(obj)};
    }
    case Path::Level::instance: {
        Instance inst{base.iid().v, {}};
        for (const Record& rec : records)
            LWM2M_TRY_VOID(add_to_instance(inst, base, rec, reg));
        return Content{base, std::move(inst)};
    }
    case Path::Level::resource: {
        Instance inst{base.iid().v, {}};
        for (const Record& rec : records)
            LWM2M_TRY_VOID(add_to_instance(inst, base.parent(), rec, reg));
        auto it = inst.resources.find(base.rid().v);
        if (it == inst.resources.end()) {
            // No record: only an empty multiple resource can be meant.
            const ResourceDef* def =
                reg != nullptr ? reg->find(base.oid().v, base.rid().v) : nullptr;
            if (def == nullptr || !def->multiple) return fail(Errc::bad_structure);
            return Content{base, Resource::multi(base.rid().v)};
        }
        return Content{base, std::move(it->second)};
    }
    case Path::Level::resource_instance: {
        if (records.size() != 1) return fail(Errc::bad_structure);
        const ResourceDef* def = reg != nullptr ? reg->find(base.oid().v, base.rid().v) : nullptr;
        if (def != nullptr && !def->multiple) return fail(Errc::bad_structure);
        return Content{base, records[0].value};
    }
    case Path::Level::root:
        break;
    }
    return fail(Errc::bad_path);
}

} // namespace lwm2m::dm
