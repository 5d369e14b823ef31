#include <lwm2m/client/objects/typed_object.hpp>

#include <ranges>
#include <utility>

#include <lwm2m/client/access.hpp>
#include <lwm2m/dm/value_check.hpp>
#include <lwm2m/dm/value_text.hpp>

namespace lwm2m::client {

namespace {

constexpr std::uint16_t max_id = 0xffff; // TS 1.1 §7.2: 65535 is reserved (MAX_ID)

tl::unexpected<Error> bad() {
    return fail(Status::bad_request);
}

std::optional<std::size_t> value_size(const dm::Value& v) {
    const auto& s = v.storage();
    if (const auto* str = std::get_if<std::string>(&s)) return str->size();
    if (const auto* b = std::get_if<Bytes>(&s)) return b->size();
    if (const auto* c = std::get_if<dm::Corelnk>(&s)) return c->text.size();
    return std::nullopt;
}

} // namespace

TypedObject::TypedObject(dm::ObjectDef def, Options options, Logger& log)
    : TypedObject(std::make_shared<const dm::ObjectDef>(std::move(def)), options, log) {}

TypedObject::TypedObject(std::shared_ptr<const dm::ObjectDef> def, Options options, Logger& log)
    : def_(std::move(def))
    , options_(options)
    , log_(&log) {
    if (!def_) def_ = std::make_shared<const dm::ObjectDef>();
    if (!def_->multiple) options_.max_instances = 1;
}

TypedObject::~TypedObject() = default;

Result<void> TypedObject::set_validator(Rid rid, Validator v) {
    const dm::ResourceDef* d = def_->resource(rid.v);
    if (d == nullptr) return fail(Status::not_found);
    if (d->executable()) return bad();
    if (v)
        validators_[rid.v] = std::move(v);
    else
        validators_.erase(rid.v);
    return ok();
}

// ---- instances ----------------------------------------------------------------------------------

Result<void> TypedObject::create_instance(std::uint16_t iid) {
    if (iid == max_id || instances_.count(iid) != 0) return bad();
    // A single-instance object has exactly instance 0 (TS 1.1 §7.1 Object definition).
    if (!def_->multiple && (iid != 0 || !instances_.empty())) return bad();
    if (instances_.size() >= options_.max_instances) return fail(Status::request_entity_too_large);
    instances_.emplace(iid, InstanceState{});
    if (on_create_) {
        auto r = on_create_(*this, Iid{iid});
        if (!r) {
            instances_.erase(iid);
            return r;
        }
    }
    return ok();
}

void TypedObject::drop_instance(std::uint16_t iid) {
    if (instances_.erase(iid) != 0 && on_delete_) on_delete_(Iid{iid});
}

Result<void> TypedObject::add_instance(Iid iid) {
    if (iid.v == max_id || instances_.count(iid.v) != 0) return bad();
    if (!def_->multiple && !instances_.empty()) return bad();
    if (instances_.size() >= options_.max_instances) return fail(Status::request_entity_too_large);
    instances_.emplace(iid.v, InstanceState{});
    changed(dm::Path{Oid{def_->id}, iid});
    return ok();
}

Result<void> TypedObject::remove_instance(Iid iid) {
    if (instances_.count(iid.v) == 0) return fail(Status::not_found);
    drop_instance(iid.v);
    changed(dm::Path{Oid{def_->id}, iid});
    return ok();
}

std::vector<Iid> TypedObject::instances() const {
    std::vector<Iid> out;
    out.reserve(instances_.size());
    for (const auto& kv : instances_)
        out.emplace_back(kv.first);
    return out;
}

// ---- bindings -----------------------------------------------------------------------------------

Result<void> TypedObject::check_bind(Iid iid, Rid rid, bool (*accepts)(dm::DataType),
                                     bool multiple) const {
    if (instances_.count(iid.v) == 0) return fail(Status::not_found);
    const dm::ResourceDef* d = def_->resource(rid.v);
    if (d == nullptr) return fail(Status::not_found);
    if (d->executable() || d->multiple != multiple || !accepts(d->type)) return bad();
    return ok();
}

Result<void> TypedObject::attach(Iid iid, Rid rid, std::unique_ptr<detail::ResourceBinding> b) {
    Slot& s = instances_.at(iid.v)[rid.v];
    s.owned.reset();
    s.execute = {};
    s.binding = std::move(b);
    return ok();
}

Result<void> TypedObject::bind_execute(Iid iid, Rid rid, ExecuteHandler fn) {
    const auto it = instances_.find(iid.v);
    if (it == instances_.end()) return fail(Status::not_found);
    const dm::ResourceDef* d = def_->resource(rid.v);
    if (d == nullptr) return fail(Status::not_found);
    if (!d->executable() || !fn) return bad();
    Slot& s = it->second[rid.v];
    s.owned.reset();
    s.binding.reset();
    s.execute = std::move(fn);
    return ok();
}

Result<void> TypedObject::unbind(Iid iid, Rid rid) {
    const auto it = instances_.find(iid.v);
    if (it == instances_.end() || def_->resource(rid.v) == nullptr) return fail(Status::not_found);
    if (it->second.erase(rid.v) != 0) changed(dm::Path{Oid{def_->id}, iid, rid});
    return ok();
}

// ---- values -------------------------------------------------------------------------------------

std::optional<dm::Resource> TypedObject::current(const Slot& s, const dm::ResourceDef& d) const {
    if (s.binding) return s.binding->get(d.id, d.type);
    return s.owned;
}

std::optional<dm::Resource> TypedObject::resource(Iid iid, Rid rid) const {
    const auto it = instances_.find(iid.v);
    if (it == instances_.end()) return std::nullopt;
    const dm::ResourceDef* d = def_->resource(rid.v);
    const auto s = it->second.find(rid.v);
    if (d == nullptr || s == it->second.end()) return std::nullopt;
    return current(s->second, *d);
}

Result<dm::Value> TypedObject::prepare_value(const dm::ResourceDef& d, const dm::Value& v) const {
    // Lossless conversion to the definition's type, then its range (TS 1.1 Appendix C / D.1).
    auto cv = dm::coerce(v, d.type);
    if (!cv) return bad();
    if (!dm::check_value(d, *cv)) return bad();
    // TS 1.1 Appendix C: String (and Corelnk) values are UTF-8.
    if (const auto* str = std::get_if<std::string>(&cv->storage());
        str != nullptr && !dm::is_valid_utf8(*str))
        return bad();
    if (const auto* cl = std::get_if<dm::Corelnk>(&cv->storage());
        cl != nullptr && !dm::is_valid_utf8(cl->text))
        return bad();
    if (d.range_enumeration.empty()) {
        const auto n = value_size(*cv);
        if (n && *n > options_.max_value_size) return fail(Status::request_entity_too_large);
    }
    if (const auto vit = validators_.find(d.id); vit != validators_.end())
        LWM2M_TRY_VOID(vit->second(*cv));
    return std::move(*cv);
}

Result<dm::Resource> TypedObject::prepare(const Actor* actor, std::uint16_t iid,
                                          const dm::Resource& r, bool partial) const {
    const dm::ResourceDef* d = def_->resource(r.id);
    if (d == nullptr) return fail(Status::not_found);
    if (d->executable()) return fail(Status::method_not_allowed);
    // A DM server writes only W resources (TS 1.1 §5.4.3); the Bootstrap-Server and the factory
    // source may also write R resources unless the object's values come from the device.
    // The application itself (actor == nullptr, set()) provides every value.
    if (actor != nullptr && !d->writable() &&
        (actor->kind == Actor::Kind::dm_server || !options_.bootstrap_writes_read_only))
        return fail(Status::method_not_allowed);
    if (r.multiple != d->multiple) return bad();
    const Slot* slot = nullptr;
    if (const auto it = instances_.find(iid); it != instances_.end()) {
        if (const auto s = it->second.find(r.id); s != it->second.end()) slot = &s->second;
    }
    dm::Resource out;
    if (!d->multiple) {
        LWM2M_TRY(v, prepare_value(*d, r.value));
        out = dm::Resource::single(r.id, std::move(v));
    } else {
        out = dm::Resource::multi(r.id);
        if (partial && slot != nullptr) {
            if (auto cur = current(*slot, *d); cur && cur->multiple)
                out.instances = std::move(cur->instances);
        }
        for (const auto& [riid, v] : r.instances) {
            if (riid == max_id) return bad();
            LWM2M_TRY(cv, prepare_value(*d, v));
            out.instances.insert_or_assign(riid, std::move(cv));
        }
        if (out.instances.size() > options_.max_resource_instances)
            return fail(Status::request_entity_too_large);
    }
    if (slot != nullptr && slot->binding) {
        if (!slot->binding->settable()) return fail(Status::method_not_allowed);
        LWM2M_TRY_VOID(slot->binding->check(out));
    }
    return out;
}

Result<void> TypedObject::commit(std::vector<Change>& changes) {
    struct Undo {
        std::uint16_t iid;
        std::uint16_t rid;
        std::optional<dm::Resource> old;
    };
    std::vector<Undo> undo;
    undo.reserve(changes.size());
    auto rollback = [&] {
        for (auto& it : std::ranges::reverse_view(undo)) {
            Slot& s = instances_.at(it.iid)[it.rid];
            if (s.binding) {
                if (it.old) (void)s.binding->set(*it.old); // best effort: the old value fitted
            } else {
                s.owned = std::move(it.old);
            }
        }
    };
    for (Change& c : changes) {
        const dm::ResourceDef* d = def_->resource(c.rid);
        Slot& s = instances_.at(c.iid)[c.rid];
        undo.push_back({c.iid, c.rid, current(s, *d)});
        if (s.binding) {
            if (!c.value) continue; // removals are planned for owned storage only
            auto r = s.binding->set(*c.value);
            if (!r) {
                undo.pop_back();
                rollback();
                return r;
            }
        } else {
            s.owned = std::move(c.value);
        }
    }
    return ok();
}

Result<void> TypedObject::set_resource(Iid iid, const dm::Resource& r) {
    const auto it = instances_.find(iid.v);
    if (it == instances_.end()) return fail(Status::not_found);
    const dm::ResourceDef* d = def_->resource(r.id);
    if (d == nullptr) return fail(Status::not_found);
    if (d->executable()) return fail(Status::method_not_allowed);
    if (r.multiple != d->multiple) return bad();
    const auto sit = it->second.find(r.id);
    if (sit != it->second.end() && sit->second.binding && !sit->second.binding->settable())
        return fail(Status::method_not_allowed);
    LWM2M_TRY(prepared, prepare(nullptr, iid.v, r, false));
    Slot& s = it->second[r.id];
    const auto old = current(s, *d);
    if (s.binding) {
        LWM2M_TRY_VOID(s.binding->set(prepared));
    } else {
        s.owned = prepared;
    }
    if (!old || !(*old == prepared)) changed(dm::Path{Oid{def_->id}, iid, Rid{r.id}});
    return ok();
}

Result<void> TypedObject::set_value(Iid iid, Rid rid, dm::Value v) {
    const dm::ResourceDef* d = def_->resource(rid.v);
    if (d == nullptr) return fail(Status::not_found);
    if (d->multiple) return bad();
    return set_resource(iid, dm::Resource::single(rid.v, std::move(v)));
}

Result<void> TypedObject::set_value(Iid iid, Rid rid, Riid riid, dm::Value v) {
    const auto it = instances_.find(iid.v);
    if (it == instances_.end()) return fail(Status::not_found);
    const dm::ResourceDef* d = def_->resource(rid.v);
    if (d == nullptr) return fail(Status::not_found);
    if (d->executable()) return fail(Status::method_not_allowed);
    if (!d->multiple || riid.v == max_id) return bad();
    const auto sit = it->second.find(rid.v);
    if (sit != it->second.end() && sit->second.binding && !sit->second.binding->settable())
        return fail(Status::method_not_allowed);
    dm::Resource r = dm::Resource::multi(rid.v, {{riid.v, std::move(v)}});
    LWM2M_TRY(prepared, prepare(nullptr, iid.v, r, true));
    Slot& s = it->second[rid.v];
    const auto old = current(s, *d);
    if (s.binding) {
        LWM2M_TRY_VOID(s.binding->set(prepared));
    } else {
        s.owned = prepared;
    }
    const dm::Value& nv = prepared.instances.at(riid.v);
    bool same = false;
    if (old && old->multiple) {
        const auto o = old->instances.find(riid.v);
        same = o != old->instances.end() && o->second == nv;
    }
    if (!same) changed(dm::Path{Oid{def_->id}, iid, rid, riid});
    return ok();
}

Result<void> TypedObject::unset(Iid iid, Rid rid) {
    const auto it = instances_.find(iid.v);
    if (it == instances_.end() || def_->resource(rid.v) == nullptr) return fail(Status::not_found);
    const auto sit = it->second.find(rid.v);
    if (sit == it->second.end()) return fail(Status::not_found);
    if (sit->second.binding || sit->second.execute) return fail(Status::method_not_allowed);
    if (!sit->second.owned) return fail(Status::not_found);
    it->second.erase(sit);
    changed(dm::Path{Oid{def_->id}, iid, rid});
    return ok();
}

Result<void> TypedObject::erase_resource_instance(Iid iid, Rid rid, Riid riid) {
    const auto it = instances_.find(iid.v);
    const dm::ResourceDef* d = def_->resource(rid.v);
    if (it == instances_.end() || d == nullptr) return fail(Status::not_found);
    if (!d->multiple) return bad();
    const auto sit = it->second.find(rid.v);
    if (sit == it->second.end()) return fail(Status::not_found);
    Slot& s = sit->second;
    auto cur = current(s, *d);
    if (!cur || cur->instances.erase(riid.v) == 0) return fail(Status::not_found);
    if (s.binding) {
        if (!s.binding->settable()) return fail(Status::method_not_allowed);
        LWM2M_TRY_VOID(s.binding->check(*cur));
        LWM2M_TRY_VOID(s.binding->set(*cur));
    } else {
        s.owned = std::move(cur);
    }
    return ok();
}

Result<void> TypedObject::unset(Iid iid, Rid rid, Riid riid) {
    LWM2M_TRY_VOID(erase_resource_instance(iid, rid, riid));
    changed(dm::Path{Oid{def_->id}, iid, rid, riid});
    return ok();
}

void TypedObject::notify_changed(Iid iid, Rid rid) {
    changed(dm::Path{Oid{def_->id}, iid, rid});
}

void TypedObject::notify_changed(const dm::Path& path) {
    changed(path);
}

// ---- ObjectHandler ------------------------------------------------------------------------------

std::optional<dm::Instance> TypedObject::read_instance(std::uint16_t iid,
                                                       const InstanceState& st) const {
    dm::Instance out;
    out.id = iid;
    for (const auto& [rid, slot] : st) {
        const dm::ResourceDef* d = def_->resource(rid);
        if (d == nullptr || !d->readable()) continue;
        if (auto v = current(slot, *d)) out.resources.try_emplace(rid, std::move(*v));
    }
    return out;
}

Result<dm::Content> TypedObject::read(const Actor& actor, const dm::Path& path) const {
    LWM2M_TRY_VOID(check_access(actor, Operation::read, path));
    if (path.depth() == 0) return bad();
    if (path.oid().v != def_->id) return fail(Status::not_found);
    if (path.depth() == 1) {
        dm::Object o;
        o.id = def_->id;
        for (const auto& [iid, st] : instances_)
            o.instances.try_emplace(iid, *read_instance(iid, st));
        return dm::Content{path, std::move(o)};
    }
    const auto it = instances_.find(path.iid().v);
    if (it == instances_.end()) return fail(Status::not_found);
    if (path.depth() == 2) return dm::Content{path, *read_instance(it->first, it->second)};
    const dm::ResourceDef* d = def_->resource(path.rid().v);
    if (d == nullptr) return fail(Status::not_found);
    if (!d->readable()) return fail(Status::method_not_allowed); // W-only or E (TS 1.1 §5.4.1)
    const auto s = it->second.find(path.rid().v);
    if (s == it->second.end()) return fail(Status::not_found);
    auto r = current(s->second, *d);
    if (!r) return fail(Status::not_found);
    if (path.depth() == 3) return dm::Content{path, std::move(*r)};
    if (!r->multiple) return fail(Status::not_found);
    const auto ri = r->instances.find(path.riid().v);
    if (ri == r->instances.end()) return fail(Status::not_found);
    return dm::Content{path, ri->second};
}

Result<void> TypedObject::plan_instance(const Actor& actor, std::uint16_t iid,
                                        const dm::Instance& in, WriteMode mode,
                                        std::vector<std::uint16_t>& created,
                                        std::vector<Change>& changes) {
    if (iid == max_id || in.id != iid) return bad();
    if (instances_.count(iid) == 0) {
        // A DM Write never creates (TS 1.1 §5.4.3); a Bootstrap-Write does (§5.2.7.4).
        if (actor.kind == Actor::Kind::dm_server) return fail(Status::not_found);
        LWM2M_TRY_VOID(create_instance(iid));
        created.push_back(iid);
    }
    for (const auto& [rid, r] : in.resources) {
        if (rid != r.id) return bad();
        LWM2M_TRY(res, prepare(&actor, iid, r, mode == WriteMode::partial));
        changes.push_back({iid, rid, std::move(res)});
    }
    if (mode == WriteMode::replace) {
        // Replace: the owned optional W resources the payload does not carry are removed.
        const InstanceState& st = instances_.at(iid);
        for (const auto& [rid, slot] : st) {
            const dm::ResourceDef* d = def_->resource(rid);
            if (d == nullptr || !d->writable() || d->mandatory || slot.binding || !slot.owned)
                continue;
            if (in.resources.count(rid) == 0) changes.push_back({iid, rid, std::nullopt});
        }
    }
    return ok();
}

Result<void> TypedObject::write_checked(const Actor& actor, const dm::Path& path,
                                        const dm::Content& content, WriteMode mode,
                                        std::vector<std::uint16_t>& created,
                                        std::vector<Change>& changes) {
    if (path.depth() == 0) return bad();
    if (path.oid().v != def_->id) return fail(Status::not_found);
    if (!(content.path == path)) return bad();
    const bool dm_actor = actor.kind == Actor::Kind::dm_server;
    auto ensure_instance = [&](std::uint16_t iid) -> Result<void> {
        if (instances_.count(iid) != 0) return ok();
        if (dm_actor) return fail(Status::not_found);
        LWM2M_TRY_VOID(create_instance(iid));
        created.push_back(iid);
        return ok();
    };
    switch (path.depth()) {
    case 1: {
        if (dm_actor) return fail(Status::method_not_allowed);
        const auto* o = std::get_if<dm::Object>(&content.node);
        if (o == nullptr || o->id != def_->id) return bad();
        for (const auto& [iid, in] : o->instances)
            LWM2M_TRY_VOID(plan_instance(actor, iid, in, mode, created, changes));
        return ok();
    }
    case 2: {
        const auto* in = std::get_if<dm::Instance>(&content.node);
        if (in == nullptr) return bad();
        return plan_instance(actor, path.iid().v, *in, mode, created, changes);
    }
    case 3: {
        const auto* r = std::get_if<dm::Resource>(&content.node);
        if (r == nullptr || r->id != path.rid().v || path.iid().v == max_id) return bad();
        LWM2M_TRY_VOID(ensure_instance(path.iid().v));
        LWM2M_TRY(res, prepare(&actor, path.iid().v, *r, mode == WriteMode::partial));
        changes.push_back({path.iid().v, r->id, std::move(res)});
        return ok();
    }
    case 4: {
        const auto* v = std::get_if<dm::Value>(&content.node);
        if (v == nullptr || path.iid().v == max_id || path.riid().v == max_id) return bad();
        const dm::ResourceDef* d = def_->resource(path.rid().v);
        if (d == nullptr) return fail(Status::not_found);
        if (!d->multiple && !d->executable()) return bad();
        LWM2M_TRY_VOID(ensure_instance(path.iid().v));
        // One resource instance: a partial update of the multiple resource (TS 1.1 §5.4.3).
        const dm::Resource r = dm::Resource::multi(path.rid().v, {{path.riid().v, *v}});
        LWM2M_TRY(res, prepare(&actor, path.iid().v, r, true));
        changes.push_back({path.iid().v, r.id, std::move(res)});
        return ok();
    }
    default:
        return bad();
    }
}

Result<void> TypedObject::write(const Actor& actor, const dm::Path& path,
                                const dm::Content& content, WriteMode mode) {
    Result<void> r = check_access(actor, Operation::write, path);
    std::vector<std::uint16_t> created;
    std::vector<Change> changes;
    if (r) r = write_checked(actor, path, content, mode, created, changes);
    if (r) r = commit(changes);
    if (!r) {
        for (const std::uint16_t iid : created)
            drop_instance(iid);
    } else if (!actor.is_server()) {
        for (const std::uint16_t iid : created)
            changed(dm::Path{Oid{def_->id}, Iid{iid}});
        for (const Change& c : changes)
            changed(dm::Path{Oid{def_->id}, Iid{c.iid}, Rid{c.rid}});
    }
    log_op(actor, "write", path, r ? nullptr : &r.error());
    return r;
}

Result<Iid> TypedObject::create(const Actor& actor, std::optional<Iid> iid,
                                const dm::Instance& content) {
    const dm::Path opath{Oid{def_->id}};
    LWM2M_TRY_VOID(check_access(actor, Operation::create, opath));
    // TS 1.1 §5.4.4: Create on a single-instance object is not a supported operation.
    if (!def_->multiple && (actor.kind == Actor::Kind::dm_server || !instances_.empty()))
        return fail(Status::method_not_allowed);
    std::uint16_t id = 0;
    if (iid) {
        if (iid->v == max_id || instances_.count(iid->v) != 0) return bad();
        id = iid->v;
    } else {
        while (instances_.count(id) != 0)
            ++id;
    }
    LWM2M_TRY_VOID(create_instance(id));
    std::vector<Change> changes;
    auto plan = [&]() -> Result<void> {
        for (const auto& [rid, r] : content.resources) {
            if (rid != r.id) return bad();
            LWM2M_TRY(res, prepare(&actor, id, r, false));
            changes.push_back({id, rid, std::move(res)});
        }
        // Every mandatory writable resource without a binding must get a value (TS 1.1 §5.4.4).
        const InstanceState& st = instances_.at(id);
        for (const dm::ResourceDef& d : def_->resources) {
            if (!d.mandatory || !d.writable()) continue;
            const auto s = st.find(d.id);
            if (s != st.end() && s->second.binding) continue;
            if (content.resources.count(d.id) == 0) return bad();
        }
        return commit(changes);
    };
    auto r = plan();
    if (!r) {
        drop_instance(id);
        log_op(actor, "create", opath, &r.error());
        return tl::unexpected<Error>(r.error());
    }
    if (!actor.is_server()) changed(dm::Path{Oid{def_->id}, Iid{id}});
    log_op(actor, "create", dm::Path{Oid{def_->id}, Iid{id}}, nullptr);
    return Iid{id};
}

Result<void> TypedObject::delete_(const Actor& actor, const dm::Path& path) {
    LWM2M_TRY_VOID(check_access(actor, Operation::delete_, path));
    if (path.depth() >= 1 && path.oid().v != def_->id) return fail(Status::not_found);
    const bool dm_actor = actor.kind == Actor::Kind::dm_server;
    switch (path.depth()) {
    case 0:
    case 1: {
        // Bootstrap-Delete "/" or "/oid" (TS 1.1 §5.2.7.5).
        if (!bootstrap_deletes()) return ok();
        std::vector<std::uint16_t> ids;
        for (const auto& kv : instances_)
            ids.push_back(kv.first);
        for (const std::uint16_t iid : ids)
            drop_instance(iid);
        if (!actor.is_server() && !ids.empty()) changed(dm::Path{Oid{def_->id}});
        return ok();
    }
    case 2: {
        if (dm_actor && !def_->multiple) return fail(Status::method_not_allowed);
        if (!dm_actor && !bootstrap_deletes()) return bad();
        if (instances_.count(path.iid().v) == 0) return fail(Status::not_found);
        drop_instance(path.iid().v);
        if (!actor.is_server()) changed(path);
        log_op(actor, "delete", path, nullptr);
        return ok();
    }
    case 4: {
        // TS 1.1 §5.4.7: Delete of a Resource Instance of a writable multiple resource.
        const auto it = instances_.find(path.iid().v);
        if (it == instances_.end()) return fail(Status::not_found);
        const dm::ResourceDef* d = def_->resource(path.rid().v);
        if (d == nullptr) return fail(Status::not_found);
        if (!d->multiple) return bad();
        if (!d->writable()) return fail(Status::method_not_allowed);
        const auto s = it->second.find(path.rid().v);
        if (s == it->second.end()) return fail(Status::not_found);
        if (s->second.binding && !s->second.binding->settable())
            return fail(Status::method_not_allowed);
        LWM2M_TRY_VOID(erase_resource_instance(path.iid(), path.rid(), path.riid()));
        if (!actor.is_server()) changed(path);
        log_op(actor, "delete", path, nullptr);
        return ok();
    }
    default:
        return fail(Status::method_not_allowed);
    }
}

Result<std::vector<LinkInfo>> TypedObject::discover(const Actor& actor,
                                                    const dm::Path& path) const {
    LWM2M_TRY_VOID(check_access(actor, Operation::discover, path));
    if (path.depth() >= 1 && path.oid().v != def_->id) return fail(Status::not_found);
    std::vector<LinkInfo> out;
    LinkInfo obj;
    obj.path = dm::Path{Oid{def_->id}};
    if (def_->object_version != "1.0" && !def_->object_version.empty())
        obj.ver = def_->object_version;
    if (actor.kind != Actor::Kind::dm_server || path.depth() == 0) {
        // Bootstrap-Discover (TS 1.1 §5.2.7.3): the object and its instances, no resources.
        out.push_back(obj);
        for (const auto& kv : instances_)
            out.push_back(LinkInfo{dm::Path{Oid{def_->id}, Iid{kv.first}}, {}, {}, {}, {}});
        return out;
    }
    auto resource_link = [&](std::uint16_t iid, std::uint16_t rid, const Slot& s) {
        LinkInfo l;
        l.path = dm::Path{Oid{def_->id}, Iid{iid}, Rid{rid}};
        const dm::ResourceDef* d = def_->resource(rid);
        if (d != nullptr && d->multiple) {
            const auto r = current(s, *d);
            l.dim = static_cast<std::uint16_t>(r ? r->instances.size() : 0);
        }
        return l;
    };
    auto present = [&](const Slot& s, std::uint16_t rid) {
        const dm::ResourceDef* d = def_->resource(rid);
        return d != nullptr && s.present() && (s.execute || current(s, *d).has_value());
    };
    // DM Discover (TS 1.1 §5.4.2): the object level adds `ver`; instances list their resources.
    if (path.depth() == 1) out.push_back(obj);
    for (const auto& [iid, st] : instances_) {
        if (path.depth() >= 2 && iid != path.iid().v) continue;
        if (path.depth() <= 2)
            out.push_back(LinkInfo{dm::Path{Oid{def_->id}, Iid{iid}}, {}, {}, {}, {}});
        for (const auto& [rid, s] : st) {
            if (path.depth() == 3 && rid != path.rid().v) continue;
            if (present(s, rid)) out.push_back(resource_link(iid, rid, s));
        }
    }
    if (path.depth() >= 2 && out.empty()) return fail(Status::not_found);
    if (path.depth() >= 3 && def_->resource(path.rid().v) == nullptr)
        return fail(Status::not_found);
    return out;
}

Result<void> TypedObject::execute(const Actor& actor, const dm::Path& path, std::string_view args) {
    Result<void> r = check_access(actor, Operation::execute, path);
    if (r) {
        r = [&]() -> Result<void> {
            if (path.oid().v != def_->id) return fail(Status::not_found);
            if (path.depth() != 3) return fail(Status::method_not_allowed);
            const auto it = instances_.find(path.iid().v);
            if (it == instances_.end()) return fail(Status::not_found);
            const dm::ResourceDef* d = def_->resource(path.rid().v);
            if (d == nullptr) return fail(Status::not_found);
            if (!d->executable()) return fail(Status::method_not_allowed); // TS 1.1 §5.4.5
            const auto s = it->second.find(path.rid().v);
            if (s == it->second.end() || !s->second.execute) return fail(Status::not_found);
            // Copy: the callback may rebind or remove this very resource.
            const ExecuteHandler fn = s->second.execute;
            return fn(args);
        }();
    }
    log_op(actor, "execute", path, r ? nullptr : &r.error());
    return r;
}

void TypedObject::log_op(const Actor& actor, std::string_view op, const dm::Path& path,
                         const std::error_code* err) const {
    if (!log_->enabled(LogLevel::debug)) return;
    std::string m(to_string(actor.kind));
    m += ' ';
    m += op;
    m += ' ';
    m += path_text(path);
    m += ": ";
    m += err == nullptr ? std::string("ok") : err->message();
    log_->write(LogLevel::debug, "client.objects", m);
}

} // namespace lwm2m::client
