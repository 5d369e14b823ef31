#include <lwm2m/client/server_object.hpp>

#include <algorithm>
#include <limits>

#include <lwm2m/client/access.hpp>

#include "client/value_util.hpp"

namespace lwm2m::client {

namespace {

using dm::DataType;
constexpr std::int64_t kMax32 = 0xffffffffLL;
constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();

// LwM2M TS 1.1/1.2 Appendix E.2 (Object 1 1.2 definition). Ranges: the definition's where it has
// one; otherwise the rules this project enforces (documented in server_object.hpp).
constexpr ServerResourceSpec kSpecs[] = {
    // id type                         multi  R      W      E      min max
    {0, DataType::integer, false, true, false, false, 1, 65534},
    {1, DataType::integer, false, true, true, false, 1, kMax32},
    {2, DataType::integer, false, true, true, false, 0, kMax32},
    {3, DataType::integer, false, true, true, false, 0, kMax32},
    {4, DataType::none, false, false, false, true, 0, 0},
    {5, DataType::integer, false, true, true, false, 0, kMax32},
    {6, DataType::boolean, false, true, true, false, 0, 1},
    {7, DataType::string, false, true, true, false, 0, 0},
    {8, DataType::none, false, false, false, true, 0, 0},
    {9, DataType::none, false, false, false, true, 0, 0},
    {10, DataType::objlnk, false, true, true, false, 0, 0},
    {11, DataType::unsigned_integer, false, true, false, false, 0, 255},
    {12, DataType::time, false, true, false, false, std::numeric_limits<std::int64_t>::min(),
     kMax64},
    {13, DataType::unsigned_integer, false, true, false, false, 0, kMax32},
    {14, DataType::unsigned_integer, false, true, true, false, 0, kMax32},
    {15, DataType::boolean, false, true, false, false, 0, 1},
    {16, DataType::boolean, false, true, false, false, 0, 1},
    {17, DataType::unsigned_integer, false, true, true, false, 1, kMax32},
    {18, DataType::unsigned_integer, false, true, true, false, 0, kMax32},
    {19, DataType::unsigned_integer, false, true, true, false, 0, kMax32},
    {20, DataType::unsigned_integer, false, true, true, false, 1, kMax32},
    {21, DataType::boolean, false, true, true, false, 0, 1},
    {22, DataType::string, false, true, true, false, 0, 0},
    {23, DataType::boolean, false, true, true, false, 0, 1},
    {24, DataType::objlnk, true, true, true, false, 0, 0},
    {25, DataType::string, true, true, true, false, 0, 0},
    {26, DataType::integer, false, true, true, false, 0, 1},
    {27, DataType::unsigned_integer, false, true, true, false, 0, 255},
};

Result<void> bad() {
    return fail(Status::bad_request);
}

Result<dm::Value> check_value(const ServerResourceSpec& spec, const dm::Value& v) {
    switch (spec.type) {
    case DataType::integer:
    case DataType::unsigned_integer: {
        const auto i = detail::as_int(v);
        if (!i || *i < spec.min || *i > spec.max) return fail(Status::bad_request);
        return spec.type == DataType::integer
                   ? dm::Value::integer(*i)
                   : dm::Value::unsigned_integer(static_cast<std::uint64_t>(*i));
    }
    case DataType::time: {
        const auto t = detail::as_time(v);
        if (!t) return fail(Status::bad_request);
        return dm::Value::time(*t);
    }
    case DataType::boolean: {
        const auto b = detail::as_bool(v);
        if (!b) return fail(Status::bad_request);
        return dm::Value::boolean(*b);
    }
    case DataType::string: {
        const std::string* s = detail::as_str(v);
        if (s == nullptr || s->size() > max_server_string_size) return fail(Status::bad_request);
        if (spec.id == server_rid::binding && !is_valid_binding(*s))
            return fail(Status::bad_request);
        if (spec.id == server_rid::preferred_transport &&
            !(*s == "U" || *s == "T" || *s == "S" || *s == "N"))
            return fail(Status::bad_request);
        return dm::Value::string(*s);
    }
    case DataType::objlnk: {
        const auto l = detail::as_objlnk(v);
        if (!l) return fail(Status::bad_request);
        return dm::Value::objlnk(l->oid, l->iid);
    }
    default:
        return fail(Status::bad_request);
    }
}

template <class T>
std::optional<T> get_int(const ServerInstance& s, std::uint16_t rid) {
    const auto it = s.resources.find(rid);
    if (it == s.resources.end() || it->second.multiple) return std::nullopt;
    const auto i = detail::as_int(it->second.value);
    if (!i) return std::nullopt;
    return static_cast<T>(*i);
}

} // namespace

// TS 1.1 §6.2.1.1 / E.2 Resource 7: transports U (UDP), T (TCP), S (SMS), N (Non-IP), plus Q
// (1.0 queue mode); each letter at most once, at least one transport.
bool is_valid_binding(std::string_view b) noexcept {
    if (b.empty() || b.size() > 5) return false;
    bool seen[256] = {};
    bool transport = false;
    for (char c : b) {
        if (c != 'U' && c != 'T' && c != 'S' && c != 'N' && c != 'Q') return false;
        if (seen[static_cast<unsigned char>(c)]) return false;
        seen[static_cast<unsigned char>(c)] = true;
        if (c != 'Q') transport = true;
    }
    return transport;
}

const ServerResourceSpec* server_resource_spec(std::uint16_t rid) noexcept {
    for (const auto& s : kSpecs)
        if (s.id == rid) return &s;
    return nullptr;
}

std::optional<std::uint16_t> ServerInstance::short_server_id() const {
    return get_int<std::uint16_t>(*this, server_rid::short_server_id);
}
std::optional<std::int64_t> ServerInstance::lifetime() const {
    return get_int<std::int64_t>(*this, server_rid::lifetime);
}
std::int64_t ServerInstance::default_pmin() const {
    return get_int<std::int64_t>(*this, server_rid::default_pmin).value_or(0);
}
std::optional<std::int64_t> ServerInstance::default_pmax() const {
    return get_int<std::int64_t>(*this, server_rid::default_pmax);
}
std::int64_t ServerInstance::disable_timeout() const {
    return get_int<std::int64_t>(*this, server_rid::disable_timeout).value_or(86400);
}
std::optional<bool> ServerInstance::notification_storing() const {
    const auto it = resources.find(server_rid::notification_storing);
    if (it == resources.end()) return std::nullopt;
    return detail::as_bool(it->second.value);
}
std::optional<std::string> ServerInstance::binding() const {
    const auto it = resources.find(server_rid::binding);
    if (it == resources.end()) return std::nullopt;
    const std::string* s = detail::as_str(it->second.value);
    if (s == nullptr) return std::nullopt;
    return *s;
}
std::uint64_t ServerInstance::communication_retry_count() const {
    return get_int<std::uint64_t>(*this, server_rid::communication_retry_count).value_or(5);
}
std::uint64_t ServerInstance::communication_retry_timer() const {
    return get_int<std::uint64_t>(*this, server_rid::communication_retry_timer).value_or(60);
}
std::uint64_t ServerInstance::communication_sequence_delay() const {
    return get_int<std::uint64_t>(*this, server_rid::communication_sequence_delay).value_or(86400);
}
std::uint64_t ServerInstance::communication_sequence_retry_count() const {
    return get_int<std::uint64_t>(*this, server_rid::communication_sequence_retry_count)
        .value_or(1);
}

Result<void> apply_server_resource(ServerInstance& inst, const dm::Resource& res) {
    const ServerResourceSpec* spec = server_resource_spec(res.id);
    if (spec == nullptr) return fail(Status::not_found);
    if (spec->executable) return fail(Status::method_not_allowed);
    if (res.multiple != spec->multiple) return bad();
    if (!spec->multiple) {
        LWM2M_TRY(v, check_value(*spec, res.value));
        inst.resources[res.id] = dm::Resource::single(res.id, std::move(v));
        return ok();
    }
    if (res.instances.size() > max_server_resource_instances) return bad();
    dm::Resource out = dm::Resource::multi(res.id);
    for (const auto& [riid, v] : res.instances) {
        if (riid == 0xffff) return bad();
        LWM2M_TRY(cv, check_value(*spec, v));
        out.instances.emplace(riid, std::move(cv));
    }
    inst.resources[res.id] = std::move(out);
    return ok();
}

Result<ServerInstance> server_from_instance(const dm::Instance& in) {
    ServerInstance s;
    for (const auto& [id, r] : in.resources) {
        if (id != r.id) return fail(Status::bad_request);
        LWM2M_TRY_VOID(apply_server_resource(s, r));
    }
    return s;
}

dm::Instance to_dm_instance(std::uint16_t iid, const ServerInstance& inst) {
    dm::Instance out;
    out.id = iid;
    out.resources = inst.resources;
    return out;
}

void check_server_instance(std::uint16_t iid, const ServerInstance& s,
                           std::vector<std::string>& reasons) {
    const std::string at = "/1/" + std::to_string(iid) + ": ";
    if (!s.short_server_id()) reasons.push_back(at + "resource 0 (Short Server ID) is missing");
    if (!s.lifetime()) reasons.push_back(at + "resource 1 (Lifetime) is missing");
    if (!s.notification_storing())
        reasons.push_back(at + "resource 6 (Notification Storing) is missing");
    const auto b = s.binding();
    if (!b)
        reasons.push_back(at + "resource 7 (Binding) is missing");
    else if (b->find('U') == std::string::npos)
        reasons.push_back(at +
                          "Binding has no 'U': UDP is the only transport this client implements");
}

std::vector<Iid> ServerObject::instances() const {
    std::vector<Iid> out;
    for (const auto& kv : instances_)
        out.emplace_back(kv.first);
    return out;
}

const ServerInstance* ServerObject::find(Iid iid) const {
    const auto it = instances_.find(iid.v);
    return it == instances_.end() ? nullptr : &it->second;
}

Result<void> ServerObject::owned_by(const Actor& actor, std::uint16_t iid) const {
    if (actor.kind != Actor::Kind::dm_server) return ok();
    const auto it = instances_.find(iid);
    if (it == instances_.end()) return fail(Status::not_found);
    if (it->second.short_server_id() != actor.ssid.v) return fail(Status::unauthorized);
    return ok();
}

Result<dm::Content> ServerObject::read(const Actor& actor, const dm::Path& path) const {
    LWM2M_TRY_VOID(check_access(actor, Operation::read, path));
    if (path.oid().v != 1) return fail(Status::not_found);
    const bool dm_actor = actor.kind == Actor::Kind::dm_server;
    if (path.depth() == 1) {
        dm::Object o;
        o.id = 1;
        for (const auto& [iid, s] : instances_)
            if (!dm_actor || s.short_server_id() == actor.ssid.v)
                o.instances.emplace(iid, to_dm_instance(iid, s));
        return dm::Content{path, std::move(o)};
    }
    LWM2M_TRY_VOID(owned_by(actor, path.iid().v));
    const auto it = instances_.find(path.iid().v);
    if (it == instances_.end()) return fail(Status::not_found);
    if (path.depth() == 2) return dm::Content{path, to_dm_instance(it->first, it->second)};
    const ServerResourceSpec* spec = server_resource_spec(path.rid().v);
    if (spec == nullptr) return fail(Status::not_found);
    if (spec->executable) return fail(Status::method_not_allowed);
    const auto r = it->second.resources.find(path.rid().v);
    if (r == it->second.resources.end()) return fail(Status::not_found);
    if (path.depth() == 3) return dm::Content{path, r->second};
    if (!r->second.multiple) return fail(Status::not_found);
    const auto ri = r->second.instances.find(path.riid().v);
    if (ri == r->second.instances.end()) return fail(Status::not_found);
    return dm::Content{path, ri->second};
}

Result<void> ServerObject::write_checked(const Actor& actor, const dm::Path& path,
                                         const dm::Content& content, WriteMode mode) {
    if (path.depth() == 0) return bad();
    if (path.oid().v != 1) return fail(Status::not_found);
    if (!(content.path == path)) return bad();
    const bool dm_actor = actor.kind == Actor::Kind::dm_server;
    auto next = instances_;
    auto check_dm_writable = [&](std::uint16_t rid) -> Result<void> {
        if (!dm_actor) return ok();
        const ServerResourceSpec* spec = server_resource_spec(rid);
        if (spec == nullptr) return fail(Status::not_found);
        if (!spec->writable) return fail(Status::method_not_allowed);
        return ok();
    };
    auto write_instance = [&](std::uint16_t iid, const dm::Instance& in,
                              WriteMode m) -> Result<void> {
        if (iid == 0xffff || in.id != iid) return bad();
        const auto it = next.find(iid);
        if (dm_actor && it == next.end()) return fail(Status::not_found);
        ServerInstance s =
            (m == WriteMode::replace || it == next.end()) ? ServerInstance{} : it->second;
        if (dm_actor && m == WriteMode::replace) {
            // A DM Write (replace) keeps what the server may not write (TS 1.1 §5.4.3).
            for (const auto& [rid, r] : it->second.resources) {
                const ServerResourceSpec* spec = server_resource_spec(rid);
                if (spec != nullptr && !spec->writable) s.resources[rid] = r;
            }
        }
        for (const auto& [id, r] : in.resources) {
            if (id != r.id) return bad();
            LWM2M_TRY_VOID(check_dm_writable(id));
            LWM2M_TRY_VOID(apply_server_resource(s, r));
        }
        next[iid] = std::move(s);
        // Fail early on oversized Object-level writes instead of growing the copy first.
        if (next.size() > max_server_instances) return fail(Status::request_entity_too_large);
        return ok();
    };
    switch (path.depth()) {
    case 1: {
        if (dm_actor) return fail(Status::method_not_allowed);
        const auto* o = std::get_if<dm::Object>(&content.node);
        if (o == nullptr || o->id != 1) return bad();
        for (const auto& [iid, in] : o->instances)
            LWM2M_TRY_VOID(write_instance(iid, in, mode));
        break;
    }
    case 2: {
        LWM2M_TRY_VOID(owned_by(actor, path.iid().v));
        const auto* in = std::get_if<dm::Instance>(&content.node);
        if (in == nullptr) return bad();
        LWM2M_TRY_VOID(write_instance(path.iid().v, *in, mode));
        break;
    }
    case 3: {
        LWM2M_TRY_VOID(owned_by(actor, path.iid().v));
        const auto* r = std::get_if<dm::Resource>(&content.node);
        if (r == nullptr || r->id != path.rid().v || path.iid().v == 0xffff) return bad();
        LWM2M_TRY_VOID(check_dm_writable(r->id));
        if (dm_actor && next.count(path.iid().v) == 0) return fail(Status::not_found);
        ServerInstance& s = next[path.iid().v];
        if (r->multiple && mode == WriteMode::partial) {
            dm::Resource merged = dm::Resource::multi(r->id);
            if (const auto old = s.resources.find(r->id); old != s.resources.end())
                merged.instances = old->second.instances;
            for (const auto& [riid, v] : r->instances)
                merged.instances[riid] = v;
            LWM2M_TRY_VOID(apply_server_resource(s, merged));
        } else {
            LWM2M_TRY_VOID(apply_server_resource(s, *r));
        }
        break;
    }
    case 4: {
        LWM2M_TRY_VOID(owned_by(actor, path.iid().v));
        const auto* v = std::get_if<dm::Value>(&content.node);
        if (v == nullptr) return bad();
        LWM2M_TRY_VOID(check_dm_writable(path.rid().v));
        const auto it = next.find(path.iid().v);
        if (it == next.end()) return fail(Status::not_found);
        const ServerResourceSpec* spec = server_resource_spec(path.rid().v);
        if (spec == nullptr) return fail(Status::not_found);
        if (!spec->multiple) return bad();
        dm::Resource merged = dm::Resource::multi(path.rid().v);
        if (const auto old = it->second.resources.find(path.rid().v);
            old != it->second.resources.end())
            merged.instances = old->second.instances;
        merged.instances[path.riid().v] = *v;
        LWM2M_TRY_VOID(apply_server_resource(it->second, merged));
        break;
    }
    default:
        return bad();
    }
    if (next.size() > max_server_instances) return fail(Status::request_entity_too_large);
    instances_ = std::move(next);
    return ok();
}

Result<void> ServerObject::write(const Actor& actor, const dm::Path& path,
                                 const dm::Content& content, WriteMode mode) {
    Result<void> r = check_access(actor, Operation::write, path);
    if (r) r = write_checked(actor, path, content, mode);
    if (log_->enabled(LogLevel::debug))
        log_->write(LogLevel::debug, "client.server",
                    std::string(to_string(actor.kind)) + " write " + path_text(path) + ": " +
                        (r ? std::string("ok") : r.error().message()));
    return r;
}

Result<Iid> ServerObject::create(const Actor& actor, std::optional<Iid> iid,
                                 const dm::Instance& content) {
    LWM2M_TRY_VOID(check_access(actor, Operation::create, dm::Path{Oid{1}}));
    std::uint16_t id = 0;
    if (iid) {
        if (iid->v == 0xffff || instances_.count(iid->v) != 0) return fail(Status::bad_request);
        id = iid->v;
    } else {
        while (instances_.count(id) != 0)
            ++id;
    }
    if (instances_.size() >= max_server_instances) return fail(Status::request_entity_too_large);
    LWM2M_TRY(s, server_from_instance(content));
    instances_.emplace(id, std::move(s));
    return Iid{id};
}

Result<void> ServerObject::delete_(const Actor& actor, const dm::Path& path) {
    LWM2M_TRY_VOID(check_access(actor, Operation::delete_, path));
    if (path.depth() >= 1 && path.oid().v != 1) return fail(Status::not_found);
    if (path.depth() <= 1) {
        instances_.clear(); // TS 1.1 §5.2.7.5: "/" and "/1" remove every Server instance
        return ok();
    }
    if (path.depth() != 2) return bad();
    if (instances_.erase(path.iid().v) == 0) return fail(Status::not_found);
    return ok();
}

Result<std::vector<LinkInfo>> ServerObject::discover(const Actor& actor,
                                                     const dm::Path& path) const {
    LWM2M_TRY_VOID(check_access(actor, Operation::discover, path));
    if (path.depth() >= 1 && path.oid().v != 1) return fail(Status::not_found);
    std::vector<LinkInfo> out;
    LinkInfo obj;
    obj.path = dm::Path{Oid{1}};
    obj.ver = "1.1";
    const bool dm_actor = actor.kind == Actor::Kind::dm_server;
    if (path.depth() <= 1) out.push_back(obj);
    for (const auto& [iid, s] : instances_) {
        if (path.depth() >= 2 && iid != path.iid().v) continue;
        if (dm_actor && s.short_server_id() != actor.ssid.v) continue;
        LinkInfo l;
        l.path = dm::Path{Oid{1}, Iid{iid}};
        if (!dm_actor) {
            l.ssid = s.short_server_id(); // Bootstrap-Discover: ssid only
            out.push_back(std::move(l));
            continue;
        }
        out.push_back(l);
        // DM Discover (TS 1.1 §5.4.2) lists the resources below the instance.
        for (const auto& [rid, r] : s.resources) {
            if (path.depth() >= 3 && rid != path.rid().v) continue;
            LinkInfo rl;
            rl.path = dm::Path{Oid{1}, Iid{iid}, Rid{rid}};
            if (r.multiple) rl.dim = static_cast<std::uint16_t>(r.instances.size());
            out.push_back(std::move(rl));
        }
    }
    if (path.depth() >= 2 && out.empty()) return fail(Status::not_found);
    return out;
}

Result<void> ServerObject::execute(const Actor& actor, const dm::Path& path, std::string_view) {
    LWM2M_TRY_VOID(check_access(actor, Operation::execute, path));
    if (path.depth() != 3 || path.oid().v != 1) return fail(Status::method_not_allowed);
    LWM2M_TRY_VOID(owned_by(actor, path.iid().v));
    const auto it = instances_.find(path.iid().v);
    if (it == instances_.end()) return fail(Status::not_found);
    const ServerResourceSpec* spec = server_resource_spec(path.rid().v);
    if (spec == nullptr) return fail(Status::not_found);
    if (!spec->executable) return fail(Status::method_not_allowed);
    ServerAction a{ServerAction::Kind::disable, it->second.short_server_id().value_or(0)};
    switch (path.rid().v) {
    case server_rid::disable:
        a.kind = ServerAction::Kind::disable;
        break;
    case server_rid::registration_update_trigger:
        a.kind = ServerAction::Kind::registration_update;
        break;
    default:
        a.kind = ServerAction::Kind::bootstrap_request;
        break;
    }
    if (std::find(actions_.begin(), actions_.end(), a) == actions_.end()) {
        if (actions_.size() >= 3 * max_server_instances) return fail(Status::service_unavailable);
        actions_.push_back(a);
    }
    return ok();
}

std::optional<ServerAction> ServerObject::poll_action() {
    if (actions_.empty()) return std::nullopt;
    ServerAction a = actions_.front();
    actions_.pop_front();
    return a;
}

} // namespace lwm2m::client
