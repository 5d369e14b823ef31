// Test doubles for the client engine without GoogleTest (fuzz targets and benchmarks use them
// too): a generic object backed by a map, a map resolver, NoSec account configurations.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/client/access.hpp>
#include <lwm2m/client/engine.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/dm/registry.hpp>

#include "unit/client/test_configs.hpp"

namespace lwm2m::client::test {

/// A map from host names to addresses.
class MapResolver final : public Resolver {
public:
    std::map<std::string, PeerAddr> hosts;
    int calls = 0;
    Result<PeerAddr> resolve(std::string_view host, std::uint16_t port) override {
        ++calls;
        const auto it = hosts.find(std::string(host));
        if (it == hosts.end()) return fail(lwm2m::Errc::not_found);
        PeerAddr p = it->second;
        p.port = port;
        return p;
    }
};

/// An object backed by a map of single/multiple resources; operations follow the registry's
/// definition of the object (R / W / E), access() first.
class TestObject final : public ObjectHandler {
public:
    TestObject(std::uint16_t oid, const dm::ObjectRegistry& reg, std::string version = "1.0")
        : oid_(oid)
        , reg_(&reg)
        , version_(std::move(version)) {}

    std::map<std::uint16_t, std::map<std::uint16_t, dm::Resource>> data;
    std::vector<std::pair<dm::Path, std::string>> executed;
    ChangeListener* listener = nullptr;

    /// Sets a value as the application would, telling the engine.
    void set(std::uint16_t iid, std::uint16_t rid, dm::Value v) {
        data[iid][rid] = dm::Resource::single(rid, std::move(v));
        if (listener) listener->on_changed(dm::Path{Oid{oid_}, Iid{iid}, Rid{rid}});
    }

    [[nodiscard]] Oid oid() const override { return Oid{oid_}; }
    [[nodiscard]] std::vector<Iid> instances() const override {
        std::vector<Iid> v;
        for (const auto& [i, r] : data)
            v.emplace_back(i);
        return v;
    }
    [[nodiscard]] std::string_view version() const override { return version_; }

    Result<dm::Content> read(const Actor& actor, const dm::Path& p) const override {
        LWM2M_TRY_VOID(check_access(actor, Operation::read, p));
        if (p.depth() == 1) {
            dm::Object o;
            o.id = oid_;
            for (const auto& [i, rs] : data)
                o.instances.emplace(i, instance(i, rs));
            return dm::Content{p, std::move(o)};
        }
        const auto it = data.find(p.iid().v);
        if (it == data.end()) return fail(Status::not_found);
        if (p.depth() == 2) return dm::Content{p, instance(p.iid().v, it->second)};
        const dm::ResourceDef* def = reg_->find(oid_, p.rid().v);
        if (def != nullptr && def->executable()) return fail(Status::method_not_allowed);
        const auto r = it->second.find(p.rid().v);
        if (r == it->second.end()) return fail(Status::not_found);
        if (p.depth() == 3) return dm::Content{p, r->second};
        if (!r->second.multiple) return fail(Status::not_found);
        const auto ri = r->second.instances.find(p.riid().v);
        if (ri == r->second.instances.end()) return fail(Status::not_found);
        return dm::Content{p, ri->second};
    }
    Result<void> write(const Actor& actor, const dm::Path& p, const dm::Content& c,
                       WriteMode mode) override {
        LWM2M_TRY_VOID(check_access(actor, Operation::write, p));
        if (p.depth() == 2) {
            const auto* in = std::get_if<dm::Instance>(&c.node);
            if (in == nullptr) return fail(Status::bad_request);
            if (actor.kind == Actor::Kind::dm_server && data.count(p.iid().v) == 0)
                return fail(Status::not_found);
            auto next = mode == WriteMode::replace ? std::map<std::uint16_t, dm::Resource>{}
                                                   : data[p.iid().v];
            for (const auto& [rid, r] : in->resources) {
                if (!writable(actor, rid)) return fail(Status::method_not_allowed);
                next[rid] = r;
            }
            data[p.iid().v] = std::move(next);
            return ok();
        }
        if (p.depth() == 3) {
            const auto* r = std::get_if<dm::Resource>(&c.node);
            if (r == nullptr) return fail(Status::bad_request);
            if (data.count(p.iid().v) == 0) return fail(Status::not_found);
            if (!writable(actor, p.rid().v)) return fail(Status::method_not_allowed);
            data[p.iid().v][p.rid().v] = *r;
            return ok();
        }
        if (p.depth() == 4) {
            const auto* v = std::get_if<dm::Value>(&c.node);
            if (v == nullptr || data.count(p.iid().v) == 0) return fail(Status::not_found);
            if (!writable(actor, p.rid().v)) return fail(Status::method_not_allowed);
            auto& r = data[p.iid().v][p.rid().v];
            if (!r.multiple) r = dm::Resource::multi(p.rid().v);
            r.instances[p.riid().v] = *v;
            return ok();
        }
        if (p.depth() == 1 && actor.kind != Actor::Kind::dm_server) {
            const auto* o = std::get_if<dm::Object>(&c.node);
            if (o == nullptr) return fail(Status::bad_request);
            for (const auto& [i, in] : o->instances)
                for (const auto& [rid, r] : in.resources)
                    data[i][rid] = r;
            return ok();
        }
        return fail(Status::method_not_allowed);
    }
    Result<Iid> create(const Actor& actor, std::optional<Iid> iid,
                       const dm::Instance& content) override {
        LWM2M_TRY_VOID(check_access(actor, Operation::create, dm::Path{Oid{oid_}}));
        std::uint16_t id = 0;
        if (iid) {
            if (data.count(iid->v) != 0) return fail(Status::bad_request);
            id = iid->v;
        } else {
            while (data.count(id) != 0)
                ++id;
        }
        auto& m = data[id];
        for (const auto& [rid, r] : content.resources)
            m[rid] = r;
        return Iid{id};
    }
    Result<void> delete_(const Actor& actor, const dm::Path& p) override {
        LWM2M_TRY_VOID(check_access(actor, Operation::delete_, p));
        if (p.depth() <= 1) {
            data.clear();
            return ok();
        }
        if (data.erase(p.iid().v) == 0) return fail(Status::not_found);
        return ok();
    }
    Result<std::vector<LinkInfo>> discover(const Actor& actor, const dm::Path& p) const override {
        LWM2M_TRY_VOID(check_access(actor, Operation::discover, p));
        std::vector<LinkInfo> out;
        if (p.depth() == 1) {
            LinkInfo o;
            o.path = dm::Path{Oid{oid_}};
            if (version_ != "1.0") o.ver = version_;
            out.push_back(o);
        }
        for (const auto& [i, rs] : data) {
            if (p.depth() >= 2 && i != p.iid().v) continue;
            if (p.depth() <= 2)
                out.push_back(LinkInfo{dm::Path{Oid{oid_}, Iid{i}}, {}, {}, {}, {}});
            for (const auto& [rid, r] : rs) {
                if (p.depth() >= 3 && rid != p.rid().v) continue;
                LinkInfo l;
                l.path = dm::Path{Oid{oid_}, Iid{i}, Rid{rid}};
                if (r.multiple) l.dim = static_cast<std::uint16_t>(r.instances.size());
                out.push_back(l);
            }
        }
        if (p.depth() >= 2 && out.empty()) return fail(Status::not_found);
        return out;
    }
    Result<void> execute(const Actor& actor, const dm::Path& p, std::string_view args) override {
        LWM2M_TRY_VOID(check_access(actor, Operation::execute, p));
        const dm::ResourceDef* def = reg_->find(oid_, p.rid().v);
        if (def == nullptr) return fail(Status::not_found);
        if (!def->executable()) return fail(Status::method_not_allowed);
        if (data.count(p.iid().v) == 0) return fail(Status::not_found);
        executed.emplace_back(p, std::string(args));
        return ok();
    }

private:
    bool writable(const Actor& actor, std::uint16_t rid) const {
        if (actor.kind != Actor::Kind::dm_server) return true;
        const dm::ResourceDef* def = reg_->find(oid_, rid);
        return def == nullptr || def->writable();
    }
    static dm::Instance instance(std::uint16_t iid,
                                 const std::map<std::uint16_t, dm::Resource>& rs) {
        dm::Instance in;
        in.id = iid;
        for (const auto& [rid, r] : rs)
            in.resources.emplace(rid, r);
        return in;
    }
    std::uint16_t oid_;
    const dm::ObjectRegistry* reg_;
    std::string version_;
};

/// A Device object (3) with a few values: 0 Manufacturer, 9 Battery Level, 4 Reboot (E).
inline void fill_device(TestObject& dev) {
    dev.data[0][0] = dm::Resource::single(0, dm::Value::string("ACME"));
    dev.data[0][9] = dm::Resource::single(9, dm::Value::integer(80));
    dev.data[0][11] = dm::Resource::multi(11, {{std::uint16_t{0}, dm::Value::integer(0)}});
}

/// NoSec accounts: bootstrap /0/0 (coap://bs.test) and one DM server /0/1 (ssid 101) with /1/0.
inline ClientConfig nosec_config(std::int64_t lifetime = 300, bool with_bootstrap = true,
                                 bool storing = false) {
    ClientConfig c;
    if (with_bootstrap) c.security[0] = sec(bootstrap_account(0, "coap://bs.test:5683"));
    dm::Instance dmacc;
    dmacc.id = 1;
    dmacc.resources[0] = res(0, dm::Value::string("coap://dm.test:5683"));
    dmacc.resources[1] = res(1, dm::Value::boolean(false));
    dmacc.resources[2] = res(2, dm::Value::integer(3));
    dmacc.resources[10] = res(10, dm::Value::integer(101));
    c.security[1] = sec(dmacc);
    auto si = server_instance(0, 101, lifetime);
    si.resources[6] = res(6, dm::Value::boolean(storing));
    c.servers[0] = srv(si);
    return c;
}

inline const PeerAddr kDmAddr = PeerAddr::v4(192, 0, 2, 10, 5683);
inline const PeerAddr kBsAddr = PeerAddr::v4(192, 0, 2, 20, 5683);
inline const PeerAddr kClientAddr = PeerAddr::v4(192, 0, 2, 1, 40000);

/// If `d` is a Register (CON POST /rd) from the engine, answers it with a piggybacked 2.01 and
/// Location-Path rd/1 (fuzz targets and benchmarks register without a server endpoint).
inline bool answer_register(Engine& engine, TimePoint now, const Datagram& d) {
    auto v = coap::decode(d.bytes);
    if (!v || v->type != coap::Type::con || v->code != coap::code::post || v->path() != "/rd")
        return false;
    coap::Message ack;
    ack.type = coap::Type::ack;
    ack.code = coap::code::created;
    ack.message_id = v->message_id;
    ack.token = v->token;
    ack.add_option(coap::option::location_path, std::string_view("rd"));
    ack.add_option(coap::option::location_path, std::string_view("1"));
    engine.on_datagram(now, d.peer, coap::encode(ack));
    return true;
}

} // namespace lwm2m::client::test
