#include <lwm2m/client/objects/access_control_object.hpp>

#include <set>
#include <utility>

#include <lwm2m/client/access.hpp>
#include <lwm2m/dm/registry.hpp>

#include "client/value_util.hpp"

namespace lwm2m::client {

namespace {

namespace rid = acl_rid;
constexpr std::uint16_t acl_oid = 2;
constexpr std::uint16_t server_oid = 1;
constexpr std::uint16_t security_oid = 0;

tl::unexpected<Error> bad() {
    return fail(Status::bad_request);
}

bool read_like(Operation op) {
    return op == Operation::read || op == Operation::observe || op == Operation::discover ||
           op == Operation::write_attributes;
}

// TS 1.1 E.3 Resource 2: R covers Read, Observe, Discover and Write-Attributes.
std::uint16_t right_for(Operation op) {
    switch (op) {
    case Operation::write:
        return acl_right::write;
    case Operation::execute:
        return acl_right::execute;
    case Operation::delete_:
        return acl_right::delete_;
    case Operation::create:
        return acl_right::create;
    default:
        return acl_right::read;
    }
}

std::optional<std::uint16_t> int_in(const dm::Value& v, std::int64_t lo, std::int64_t hi) {
    const auto i = detail::as_int(v);
    if (!i || *i < lo || *i > hi) return std::nullopt;
    return static_cast<std::uint16_t>(*i);
}

} // namespace

std::uint16_t acl_rights(const AclInstance& inst, std::uint16_t ssid) noexcept {
    // TS 1.1 §7.3.2: the server's own ACL entry; else the owner's implicit full rights; else the
    // default entry (Resource Instance 0); else nothing.
    if (const auto it = inst.acl.find(ssid); it != inst.acl.end()) return it->second;
    if (inst.owner && *inst.owner == ssid) return acl_right::all;
    if (const auto it = inst.acl.find(0); it != inst.acl.end()) return it->second;
    return 0;
}

AccessControlObject::AccessControlObject(Version version, Logger& log)
    : def_(std::make_shared<const dm::ObjectDef>(
          *dm::builtin_object(acl_oid, version == Version::v1_1 ? "1.1" : "1.0")))
    , max_acl_value_(version == Version::v1_1 ? 31 : 0xffff) // "0..31" (1.1), "16-bit" (1.0)
    , log_(&log) {}

// ---- AccessController ---------------------------------------------------------------------------

const AclInstance* AccessControlObject::find_for(Oid oid, Iid iid) const {
    for (const auto& kv : instances_) {
        const AclInstance& a = kv.second;
        if (a.object_id == oid.v && a.object_instance_id == iid.v) return &a;
    }
    return nullptr;
}

std::optional<std::uint16_t> AccessControlObject::rights(ShortServerId ssid, Oid oid,
                                                         Iid iid) const {
    const AclInstance* a = find_for(oid, iid);
    if (a == nullptr) return std::nullopt;
    return acl_rights(*a, ssid.v);
}

Decision AccessControlObject::check(ShortServerId ssid, Operation op, const dm::Path& path) const {
    const int d = path.depth();
    if (d == 0) return Decision::deny(Status::method_not_allowed);
    const std::uint16_t o = path.oid().v;
    // E.1: Object 0 is never reachable by a DM server; SSIDs 0 and 65535 name no server.
    if (o == security_oid || ssid.v == 0 || ssid.v == acl_max_id)
        return Decision::deny(Status::unauthorized);
    if (o == acl_oid) {
        // Object 2 follows its own rules (see the header).
        if (read_like(op)) return Decision::allow();
        switch (op) {
        case Operation::write: {
            if (d < 2) return Decision::deny(Status::method_not_allowed);
            const auto it = instances_.find(path.iid().v);
            if (it == instances_.end()) return Decision::deny(Status::not_found);
            if (it->second.owner == ssid.v) return Decision::allow();
            return Decision::deny(Status::unauthorized);
        }
        case Operation::create:
        case Operation::delete_:
            return Decision::deny(Status::unauthorized);
        default:
            return Decision::deny(Status::method_not_allowed);
        }
    }
    if (op == Operation::create) {
        // Create needs C in the object-level instance (Object Instance ID 65535).
        if (d != 1) return Decision::deny(Status::method_not_allowed);
        const auto r = rights(ssid, Oid{o}, Iid{acl_max_id});
        if (r && (*r & acl_right::create) != 0) return Decision::allow();
        return Decision::deny(Status::unauthorized);
    }
    if (d == 1) {
        if (!read_like(op)) return Decision::deny(Status::method_not_allowed);
        if (o == server_oid) return Decision::allow(); // the Server Object filters by SSID
        // A whole object: allowed when the server may read at least one of its instances; the
        // engine keeps only those (TS 1.1 §7.3.2).
        for (const auto& kv : instances_) {
            const AclInstance& a = kv.second;
            if (a.object_id == o && a.object_instance_id && *a.object_instance_id != acl_max_id &&
                (acl_rights(a, ssid.v) & acl_right::read) != 0)
                return Decision::allow();
        }
        return Decision::deny(Status::unauthorized);
    }
    const auto r = rights(ssid, Oid{o}, path.iid());
    if (!r) {
        if (o == server_oid) return Decision::allow(); // own-account rule of the Server Object
        return Decision::deny(Status::unauthorized);
    }
    if ((*r & right_for(op)) != 0) return Decision::allow();
    return Decision::deny(Status::unauthorized);
}

void AccessControlObject::on_instance_created(Oid oid, Iid iid, ShortServerId creator) {
    if (oid.v == security_oid || oid.v == acl_oid || iid.v == acl_max_id) return;
    AclInstance fresh;
    fresh.object_id = oid.v;
    fresh.object_instance_id = iid.v;
    fresh.owner = creator.v;
    for (auto& [aiid, a] : instances_) {
        if (a.object_id == oid.v && a.object_instance_id == iid.v) {
            a = fresh; // a stale instance for a target that did not exist: the creator owns it
            changed(dm::Path{Oid{acl_oid}, Iid{aiid}});
            return;
        }
    }
    if (instances_.size() >= max_acl_instances) {
        if (log_->enabled(LogLevel::warn))
            log_->write(LogLevel::warn, "client.acl",
                        "no Access Control instance for " + path_text(dm::Path{oid, iid}) +
                            ": the limit of instances is reached");
        return;
    }
    std::uint16_t id = 0;
    while (instances_.count(id) != 0)
        ++id;
    instances_.emplace(id, std::move(fresh));
    changed(dm::Path{Oid{acl_oid}, Iid{id}});
}

void AccessControlObject::on_instance_deleted(Oid oid, Iid iid) {
    if (oid.v == acl_oid) return;
    for (auto it = instances_.begin(); it != instances_.end();) {
        if (it->second.object_id == oid.v && it->second.object_instance_id == iid.v) {
            const std::uint16_t id = it->first;
            it = instances_.erase(it);
            changed(dm::Path{Oid{acl_oid}, Iid{id}});
        } else {
            ++it;
        }
    }
}

void AccessControlObject::remove_server_entries(ShortServerId ssid) {
    if (ssid.v == 0) return; // the default entry is not a server's
    for (auto& [id, a] : instances_)
        if (a.acl.erase(ssid.v) != 0) changed(dm::Path{Oid{acl_oid}, Iid{id}, Rid{rid::acl}});
}

void AccessControlObject::check_consistency(std::vector<std::string>& reasons) const {
    std::set<std::pair<std::uint16_t, std::uint16_t>> targets;
    for (const auto& [id, a] : instances_) {
        const std::string at = "/2/" + std::to_string(id) + ": ";
        if (!a.object_id) reasons.push_back(at + "resource 0 (Object ID) is missing");
        if (!a.object_instance_id)
            reasons.push_back(at + "resource 1 (Object Instance ID) is missing");
        if (!a.owner) reasons.push_back(at + "resource 3 (Access Control Owner) is missing");
        if (a.object_id && a.object_instance_id &&
            !targets.emplace(*a.object_id, *a.object_instance_id).second)
            reasons.push_back(at + "a second Access Control instance for " +
                              path_text(dm::Path{Oid{*a.object_id}}) + "/" +
                              std::to_string(*a.object_instance_id));
    }
}

// ---- values -------------------------------------------------------------------------------------

Result<void> AccessControlObject::apply(AclInstance& inst, const dm::Resource& r, bool dm_actor,
                                        bool partial) const {
    const dm::ResourceDef* d = def_->resource(r.id);
    if (d == nullptr) return fail(Status::not_found);
    // Object ID and Object Instance ID are R for DM servers (E.3); the Bootstrap-Server sets them.
    if (dm_actor && !d->writable()) return fail(Status::method_not_allowed);
    if (r.multiple != d->multiple) return bad();
    switch (r.id) {
    case rid::object_id: {
        const auto v = int_in(r.value, 1, 65534);
        if (!v) return bad();
        inst.object_id = *v;
        return ok();
    }
    case rid::object_instance_id: {
        const auto v = int_in(r.value, 0, 65535);
        if (!v) return bad();
        inst.object_instance_id = *v;
        return ok();
    }
    case rid::access_control_owner: {
        const auto v = int_in(r.value, 0, 65535);
        if (!v) return bad();
        inst.owner = *v;
        return ok();
    }
    case rid::acl: {
        std::map<std::uint16_t, std::uint16_t> next;
        if (partial) next = inst.acl;
        for (const auto& [ssid, v] : r.instances) {
            if (ssid == acl_max_id) return bad(); // 65535 is no server
            const auto bits = int_in(v, 0, max_acl_value_);
            if (!bits) return bad();
            next[ssid] = *bits;
        }
        if (next.size() > max_acl_entries) return fail(Status::request_entity_too_large);
        inst.acl = std::move(next);
        return ok();
    }
    default:
        return fail(Status::not_found);
    }
}

Result<void>
AccessControlObject::check_unique(const std::map<std::uint16_t, AclInstance>& m) const {
    std::set<std::pair<std::uint16_t, std::uint16_t>> targets;
    for (const auto& kv : m) {
        const AclInstance& a = kv.second;
        if (a.object_id && a.object_instance_id &&
            !targets.emplace(*a.object_id, *a.object_instance_id).second)
            return bad(); // two instances for one target would make the rights ambiguous
    }
    return ok();
}

dm::Instance AccessControlObject::to_dm(std::uint16_t iid, const AclInstance& a) const {
    dm::Instance out;
    out.id = iid;
    if (a.object_id)
        out.resources.try_emplace(
            rid::object_id, dm::Resource::single(rid::object_id, dm::Value::integer(*a.object_id)));
    if (a.object_instance_id)
        out.resources.try_emplace(rid::object_instance_id,
                                  dm::Resource::single(rid::object_instance_id,
                                                       dm::Value::integer(*a.object_instance_id)));
    if (!a.acl.empty()) {
        dm::Resource r = dm::Resource::multi(rid::acl);
        for (const auto& [ssid, bits] : a.acl)
            r.instances.try_emplace(ssid, dm::Value::integer(bits));
        out.resources.try_emplace(rid::acl, std::move(r));
    }
    if (a.owner)
        out.resources.try_emplace(
            rid::access_control_owner,
            dm::Resource::single(rid::access_control_owner, dm::Value::integer(*a.owner)));
    return out;
}

// ---- ObjectHandler ------------------------------------------------------------------------------

std::vector<Iid> AccessControlObject::instances() const {
    std::vector<Iid> out;
    out.reserve(instances_.size());
    for (const auto& kv : instances_)
        out.emplace_back(kv.first);
    return out;
}

Result<dm::Content> AccessControlObject::read(const Actor& actor, const dm::Path& path) const {
    LWM2M_TRY_VOID(check_access(actor, Operation::read, path));
    if (path.depth() == 0) return bad();
    if (path.oid().v != acl_oid) return fail(Status::not_found);
    if (path.depth() == 1) {
        dm::Object o;
        o.id = acl_oid;
        for (const auto& [iid, a] : instances_)
            o.instances.try_emplace(iid, to_dm(iid, a));
        return dm::Content{path, std::move(o)};
    }
    const auto it = instances_.find(path.iid().v);
    if (it == instances_.end()) return fail(Status::not_found);
    dm::Instance in = to_dm(it->first, it->second);
    if (path.depth() == 2) return dm::Content{path, std::move(in)};
    const auto r = in.resources.find(path.rid().v);
    if (r == in.resources.end()) return fail(Status::not_found);
    if (path.depth() == 3) return dm::Content{path, std::move(r->second)};
    if (!r->second.multiple) return fail(Status::not_found);
    const auto ri = r->second.instances.find(path.riid().v);
    if (ri == r->second.instances.end()) return fail(Status::not_found);
    return dm::Content{path, ri->second};
}

Result<void> AccessControlObject::write_checked(const Actor& actor, const dm::Path& path,
                                                const dm::Content& content, WriteMode mode,
                                                std::map<std::uint16_t, AclInstance>& next) const {
    if (path.depth() == 0) return bad();
    if (path.oid().v != acl_oid) return fail(Status::not_found);
    if (!(content.path == path)) return bad();
    const bool dm_actor = actor.kind == Actor::Kind::dm_server;
    // E.3 Resource 3: only the Access Control Owner manages an instance (owner 65535: nobody
    // but the Bootstrap-Server).
    auto owned = [&](std::uint16_t iid) -> Result<void> {
        if (!dm_actor) return ok();
        const auto it = next.find(iid);
        if (it == next.end()) return fail(Status::not_found);
        if (it->second.owner != actor.ssid.v) return fail(Status::unauthorized);
        return ok();
    };
    auto write_instance = [&](std::uint16_t iid, const dm::Instance& in) -> Result<void> {
        if (iid == acl_max_id || in.id != iid) return bad();
        const auto it = next.find(iid);
        if (dm_actor && it == next.end()) return fail(Status::not_found);
        AclInstance s;
        if (it != next.end()) {
            if (mode == WriteMode::partial) {
                s = it->second;
            } else if (dm_actor) {
                // A DM replace keeps what a DM server cannot write (0, 1) and the mandatory
                // Owner when the payload has none (TS 1.1 §5.4.3).
                s.object_id = it->second.object_id;
                s.object_instance_id = it->second.object_instance_id;
                s.owner = it->second.owner;
            }
        }
        for (const auto& [id, r] : in.resources) {
            if (id != r.id) return bad();
            LWM2M_TRY_VOID(apply(s, r, dm_actor, mode == WriteMode::partial));
        }
        next[iid] = std::move(s);
        if (next.size() > max_acl_instances) return fail(Status::request_entity_too_large);
        return ok();
    };
    switch (path.depth()) {
    case 1: {
        if (dm_actor) return fail(Status::method_not_allowed);
        const auto* o = std::get_if<dm::Object>(&content.node);
        if (o == nullptr || o->id != acl_oid) return bad();
        for (const auto& [iid, in] : o->instances)
            LWM2M_TRY_VOID(write_instance(iid, in));
        break;
    }
    case 2: {
        LWM2M_TRY_VOID(owned(path.iid().v));
        const auto* in = std::get_if<dm::Instance>(&content.node);
        if (in == nullptr) return bad();
        LWM2M_TRY_VOID(write_instance(path.iid().v, *in));
        break;
    }
    case 3: {
        LWM2M_TRY_VOID(owned(path.iid().v));
        const auto* r = std::get_if<dm::Resource>(&content.node);
        if (r == nullptr || r->id != path.rid().v || path.iid().v == acl_max_id) return bad();
        if (dm_actor && next.count(path.iid().v) == 0) return fail(Status::not_found);
        if (next.count(path.iid().v) == 0 && next.size() >= max_acl_instances)
            return fail(Status::request_entity_too_large);
        LWM2M_TRY_VOID(apply(next[path.iid().v], *r, dm_actor, mode == WriteMode::partial));
        break;
    }
    case 4: {
        LWM2M_TRY_VOID(owned(path.iid().v));
        const auto* v = std::get_if<dm::Value>(&content.node);
        if (v == nullptr || path.iid().v == acl_max_id) return bad();
        const dm::ResourceDef* d = def_->resource(path.rid().v);
        if (d == nullptr) return fail(Status::not_found);
        if (!d->multiple) return bad();
        if (dm_actor && next.count(path.iid().v) == 0) return fail(Status::not_found);
        if (next.count(path.iid().v) == 0 && next.size() >= max_acl_instances)
            return fail(Status::request_entity_too_large);
        const dm::Resource r = dm::Resource::multi(path.rid().v, {{path.riid().v, *v}});
        LWM2M_TRY_VOID(apply(next[path.iid().v], r, dm_actor, true));
        break;
    }
    default:
        return bad();
    }
    return check_unique(next);
}

Result<void> AccessControlObject::write(const Actor& actor, const dm::Path& path,
                                        const dm::Content& content, WriteMode mode) {
    Result<void> r = check_access(actor, Operation::write, path);
    std::map<std::uint16_t, AclInstance> next;
    if (r) {
        next = instances_;
        r = write_checked(actor, path, content, mode, next);
    }
    if (r) {
        instances_ = std::move(next);
        if (!actor.is_server()) changed(path);
    }
    if (log_->enabled(LogLevel::debug))
        log_->write(LogLevel::debug, "client.acl",
                    std::string(to_string(actor.kind)) + " write " + path_text(path) + ": " +
                        (r ? std::string("ok") : r.error().message()));
    return r;
}

Result<Iid> AccessControlObject::add(const AclInstance& inst, std::optional<Iid> iid) {
    if (!inst.object_id || *inst.object_id < 1 || *inst.object_id > 65534 ||
        !inst.object_instance_id || !inst.owner)
        return bad();
    for (const auto& [ssid, bits] : inst.acl)
        if (ssid == acl_max_id || bits > max_acl_value_) return bad();
    if (inst.acl.size() > max_acl_entries) return fail(Status::request_entity_too_large);
    if (instances_.size() >= max_acl_instances) return fail(Status::request_entity_too_large);
    std::uint16_t id = 0;
    if (iid) {
        if (iid->v == acl_max_id || instances_.count(iid->v) != 0) return bad();
        id = iid->v;
    } else {
        while (instances_.count(id) != 0)
            ++id;
    }
    auto next = instances_;
    next.emplace(id, inst);
    LWM2M_TRY_VOID(check_unique(next));
    instances_ = std::move(next);
    changed(dm::Path{Oid{acl_oid}, Iid{id}});
    return Iid{id};
}

Result<Iid> AccessControlObject::create(const Actor& actor, std::optional<Iid> iid,
                                        const dm::Instance& content) {
    LWM2M_TRY_VOID(check_access(actor, Operation::create, dm::Path{Oid{acl_oid}}));
    // Access Control instances follow object instances; a DM server does not create them.
    if (actor.kind == Actor::Kind::dm_server) return fail(Status::unauthorized);
    AclInstance a;
    for (const auto& [id, r] : content.resources) {
        if (id != r.id) return bad();
        LWM2M_TRY_VOID(apply(a, r, false, false));
    }
    return add(a, iid); // only the factory source and the application get here
}

Result<void> AccessControlObject::delete_(const Actor& actor, const dm::Path& path) {
    LWM2M_TRY_VOID(check_access(actor, Operation::delete_, path));
    if (path.depth() >= 1 && path.oid().v != acl_oid) return fail(Status::not_found);
    if (actor.kind == Actor::Kind::dm_server) return fail(Status::unauthorized);
    switch (path.depth()) {
    case 0:
    case 1: // Bootstrap-Delete "/" or "/2" (TS 1.1 §5.2.7.5)
        if (!instances_.empty() && !actor.is_server()) changed(dm::Path{Oid{acl_oid}});
        instances_.clear();
        return ok();
    case 2:
        if (instances_.erase(path.iid().v) == 0) return fail(Status::not_found);
        if (!actor.is_server()) changed(path);
        return ok();
    case 4: {
        const auto it = instances_.find(path.iid().v);
        if (it == instances_.end() || path.rid().v != rid::acl ||
            it->second.acl.erase(path.riid().v) == 0)
            return fail(Status::not_found);
        if (!actor.is_server()) changed(path);
        return ok();
    }
    default:
        return fail(Status::method_not_allowed);
    }
}

Result<std::vector<LinkInfo>> AccessControlObject::discover(const Actor& actor,
                                                            const dm::Path& path) const {
    LWM2M_TRY_VOID(check_access(actor, Operation::discover, path));
    if (path.depth() >= 1 && path.oid().v != acl_oid) return fail(Status::not_found);
    std::vector<LinkInfo> out;
    LinkInfo obj;
    obj.path = dm::Path{Oid{acl_oid}};
    if (def_->object_version != "1.0") obj.ver = def_->object_version;
    if (actor.kind != Actor::Kind::dm_server || path.depth() == 0) {
        out.push_back(obj); // Bootstrap-Discover (TS 1.1 §5.2.7.3)
        for (const auto& kv : instances_)
            out.push_back(LinkInfo{dm::Path{Oid{acl_oid}, Iid{kv.first}}, {}, {}, {}, {}});
        return out;
    }
    if (path.depth() == 1) out.push_back(obj);
    for (const auto& [iid, a] : instances_) {
        if (path.depth() >= 2 && iid != path.iid().v) continue;
        if (path.depth() <= 2)
            out.push_back(LinkInfo{dm::Path{Oid{acl_oid}, Iid{iid}}, {}, {}, {}, {}});
        const dm::Instance in = to_dm(iid, a);
        for (const auto& [r, res] : in.resources) {
            if (path.depth() == 3 && r != path.rid().v) continue;
            LinkInfo l;
            l.path = dm::Path{Oid{acl_oid}, Iid{iid}, Rid{r}};
            if (res.multiple) l.dim = static_cast<std::uint16_t>(res.instances.size());
            out.push_back(std::move(l));
        }
    }
    if (path.depth() >= 2 && out.empty()) return fail(Status::not_found);
    return out;
}

Result<void> AccessControlObject::execute(const Actor& actor, const dm::Path& path,
                                          std::string_view) {
    LWM2M_TRY_VOID(check_access(actor, Operation::execute, path));
    if (path.oid().v != acl_oid) return fail(Status::not_found);
    if (path.depth() != 3) return fail(Status::method_not_allowed);
    if (instances_.count(path.iid().v) == 0 || def_->resource(path.rid().v) == nullptr)
        return fail(Status::not_found);
    return fail(Status::method_not_allowed);
}

} // namespace lwm2m::client
