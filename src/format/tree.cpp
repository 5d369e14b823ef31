// Content <-> leaf records (the flat form of SenML, LwM2M JSON/CBOR and the composite operations).
#include <lwm2m/format/codec.hpp>

#include "common.hpp"
#include "formats.hpp"

namespace lwm2m::format {
namespace detail {
void leaves_of(const dm::Content& c, Leaves& out) {
    const dm::Path& p = c.path;
    auto resource = [&out](Oid o, Iid i, const dm::Resource& r) {
        if (!r.multiple) {
            out.push_back(LeafRef{dm::Path(o, i, Rid{r.id}), r.value, std::nullopt});
            return;
        }
        for (const auto& [riid, v] : r.instances)
            out.push_back(LeafRef{dm::Path(o, i, Rid{r.id}, Riid{riid}), v, std::nullopt});
    };
    auto instance = [&](Oid o, const dm::Instance& i) {
        for (const auto& [rid, r] : i.resources)
            resource(o, Iid{i.id}, r);
    };
    if (const auto* o = std::get_if<dm::Object>(&c.node)) {
        out.reserve(o->instances.size() * 16);
        for (const auto& [iid, i] : o->instances)
            instance(p.oid(), i);
    } else if (const auto* i = std::get_if<dm::Instance>(&c.node)) {
        out.reserve(i->resources.size() + 8);
        if (p.depth() >= 1) instance(p.oid(), *i);
    } else if (const auto* r = std::get_if<dm::Resource>(&c.node)) {
        if (p.depth() >= 2) resource(p.oid(), p.iid(), *r);
    } else if (const auto* v = std::get_if<dm::Value>(&c.node)) {
        out.push_back(LeafRef{p, *v, std::nullopt});
    }
}
} // namespace detail

std::vector<dm::Record> to_records(const dm::Content& c) {
    return dm::flatten(c);
}

Result<dm::Content> from_records(std::vector<dm::Record> records, const dm::Path& target,
                                 const dm::ObjectRegistry& registry, const DecodeOptions& options) {
    using detail::lookup;
    if (target.depth() == 0) return fail(Errc::path_mismatch);
    dm::Content c;
    c.path = target;
    dm::Object obj{target.oid().v, {}};
    dm::Instance single_inst{target.depth() >= 2 ? target.iid().v : std::uint16_t{0}, {}};
    dm::Resource single_res;
    bool leaf_set = false;
    dm::Value leaf;
    const dm::ObjectDef* odef = registry.find(target.oid().v); // every record is below target
    if (odef == nullptr && !options.allow_unknown) return fail(Errc::unknown_object);
    if (target.depth() >= 3) {
        const dm::ResourceDef* def = odef != nullptr ? odef->resource(target.rid().v) : nullptr;
        if (def == nullptr && !options.allow_unknown)
            return fail(odef == nullptr ? Errc::unknown_object : Errc::unknown_resource);
        single_res.id = target.rid().v;
        if (def != nullptr) {
            if (target.depth() == 4 && !def->multiple) return fail(Errc::structure_mismatch);
            single_res.multiple = def->multiple;
        } else {
            // Unknown resource kept untyped: multiple when the records carry instance ids.
            single_res.multiple =
                target.depth() == 4 || (!records.empty() && records.front().path.depth() == 4);
        }
    }
    // One block for the children of an instance target (records >= resources).
    if (target.depth() == 2) single_inst.resources.reserve(records.size());
    for (std::size_t ri = 0; ri < records.size(); ++ri) {
        auto& rec = records[ri];
        if (!target.is_prefix_of(rec.path)) return fail(Errc::path_mismatch);
        if (rec.path.depth() < 3 || rec.value.is_none()) return fail(Errc::malformed);
        const dm::ResourceDef* def = odef != nullptr ? odef->resource(rec.path.rid().v) : nullptr;
        if (def == nullptr && !options.allow_unknown) return fail(Errc::unknown_resource);
        // The value moves once, from the record (or the coerced copy) into the tree.
        dm::Value* v = &rec.value;
        dm::Value coerced;
        if (def != nullptr) {
            LWM2M_TRY_VOID(detail::check_multiplicity(*def, rec.path));
            if (!detail::already_typed(*def, rec.value)) {
                LWM2M_TRY(cv, detail::coerce(*def, std::move(rec.value)));
                coerced = std::move(cv);
                v = &coerced;
            }
        }
        const bool multiple = def != nullptr ? def->multiple : rec.path.depth() == 4;
        if (target.depth() == 4) {
            if (leaf_set) return fail(Errc::duplicate);
            leaf = std::move(*v);
            leaf_set = true;
            continue;
        }
        dm::Resource* res = nullptr;
        if (target.depth() == 3) {
            res = &single_res;
        } else {
            dm::Instance* inst = &single_inst;
            if (target.depth() == 1) {
                auto [it, fresh] = obj.instances.try_emplace(rec.path.iid().v);
                if (fresh) it->second.id = rec.path.iid().v;
                inst = &it->second;
            }
            auto [rit, rfresh] = inst->resources.try_emplace(rec.path.rid().v);
            res = &rit->second;
            if (rfresh) {
                res->id = rec.path.rid().v;
                res->multiple = multiple;
                if (res->multiple) {
                    // One block for the resource's instances: count the records of this resource
                    // that follow (encoders write them together).
                    std::size_t n = 1;
                    while (ri + n < records.size() && records[ri + n].path.depth() == 4 &&
                           records[ri + n].path.rid() == rec.path.rid() &&
                           records[ri + n].path.iid() == rec.path.iid())
                        ++n;
                    res->instances.reserve(n);
                }
            } else if (res->multiple != multiple) {
                return fail(Errc::structure_mismatch);
            } else if (!res->multiple) {
                return fail(Errc::duplicate);
            }
        }
        if (res->multiple != multiple) return fail(Errc::structure_mismatch);
        if (res->multiple) {
            auto [it, fresh] = res->instances.try_emplace(rec.path.riid().v, std::move(*v));
            if (!fresh) return fail(Errc::duplicate);
        } else {
            if (target.depth() == 3) {
                if (leaf_set) return fail(Errc::duplicate);
                leaf_set = true;
            }
            res->value = std::move(*v);
        }
    }
    switch (target.depth()) {
    case 1:
        c.node = std::move(obj);
        break;
    case 2:
        c.node = std::move(single_inst);
        break;
    case 3:
        if (!single_res.multiple && !leaf_set) return fail(Errc::malformed);
        c.node = std::move(single_res);
        break;
    default:
        if (!leaf_set) return fail(Errc::malformed);
        c.node = std::move(leaf);
        break;
    }
    return c;
}

} // namespace lwm2m::format
