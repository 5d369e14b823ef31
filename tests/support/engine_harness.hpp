// Test doubles for the client engine (lockstep, sim, fuzz, bench): a generic object backed by a
// map, a map resolver, and a lockstep harness that runs an Engine against scripted servers built
// on coap::Endpoint, in virtual time (time jumps to the earliest deadline).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/client/access.hpp>
#include <lwm2m/client/engine.hpp>
#include <lwm2m/client/engine_state.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dm/registry.hpp>

#include "support/capture_logger.hpp"
#include "support/coap_script.hpp"
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
    Result<std::vector<LinkInfo>> discover(const Actor& actor,
                                           const dm::Path& p) const override {
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
            if (p.depth() <= 2) out.push_back(LinkInfo{dm::Path{Oid{oid_}, Iid{i}}, {}, {}, {}, {}});
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
    static dm::Instance instance(std::uint16_t iid, const std::map<std::uint16_t, dm::Resource>& rs) {
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

/// A scripted server: a coap::Endpoint the test drives, with every event kept.
struct ScriptedServer {
    ScriptedServer(const PeerAddr& a, Random& rnd)
        : addr(a)
        , ep(server_config(), rnd) {}
    static coap::Config server_config() {
        coap::Config c;
        c.ack_random_factor = 1.0;
        return c;
    }
    PeerAddr addr;
    coap::Endpoint ep;
    std::vector<coap::IncomingRequest> requests;
    std::vector<TimePoint> request_times; ///< virtual time each request arrived
    std::vector<coap::Response> responses;
    std::vector<coap::Notification> notifications;
    std::vector<coap::RequestFailed> failures;
    std::vector<Bytes> raw_in; ///< every datagram received (plaintext under NoSec)
    /// When set, requests are answered automatically (nullopt: left to the test).
    std::function<std::optional<coap::Message>(const coap::IncomingRequest&)> auto_reply;
    bool drop_all = false; ///< unreachable server: every datagram to it is lost
};

/// Engine + servers in virtual time.
class EngineLockstep {
public:
    /// `start` / `wall_seconds`: the virtual time and wall clock of the run (a restart test
    /// continues where the previous run stopped).
    explicit EngineLockstep(ClientConfig cfg, EngineConfig ecfg = default_engine_config(),
                            dm::Lwm2mVersion ver = dm::Lwm2mVersion::v1_1,
                            TimePoint start = TimePoint{} + std::chrono::seconds(1),
                            std::int64_t wall_seconds = 1'800'000'000)
        : wall(wall_seconds)
        , registry(dm::ObjectRegistry::builtin(ver))
        , store(std::move(cfg), wall, start)
        , device(3, registry, ver == dm::Lwm2mVersion::v1_0 ? "1.0" : "1.1") {
        ecfg.version = ver;
        resolver.hosts["dm.test"] = kDmAddr;
        resolver.hosts["bs.test"] = kBsAddr;
        fill_device(device);
        engine = std::make_unique<Engine>(ecfg, store, registry, rnd, wall, resolver, log);
        EXPECT_TRUE(engine->add_object(device));
        device.listener = engine.get();
        now = start;
    }
    static EngineConfig default_engine_config() {
        EngineConfig e;
        e.endpoint_name = "dev-1";
        e.coap.ack_random_factor = 1.0;
        e.bootstrap_jitter = std::chrono::seconds(0);
        return e;
    }

    ScriptedServer& server(const PeerAddr& a) {
        for (auto& s : servers)
            if (s->addr == a) return *s;
        servers.push_back(std::make_unique<ScriptedServer>(a, srv_rnd));
        return *servers.back();
    }

    /// Moves datagrams both ways and handles auto replies until nothing moves (no time passes).
    void settle() {
        for (int round = 0; round < 1000; ++round) {
            bool moved = false;
            while (auto d = engine->poll_transmit()) {
                moved = true;
                ++sent_by_client;
                all_client_datagrams.push_back(d->bytes);
                ScriptedServer& s = server(d->peer);
                if (s.drop_all || (filter && !filter(*d))) continue;
                s.raw_in.push_back(d->bytes);
                s.ep.on_datagram(now, kClientAddr, d->bytes);
            }
            for (auto& s : servers) {
                while (auto e = s->ep.poll_event()) {
                    moved = true;
                    if (auto* in = std::get_if<coap::IncomingRequest>(&*e)) {
                        s->requests.push_back(*in);
                        s->request_times.push_back(now);
                        if (s->auto_reply)
                            if (auto r = s->auto_reply(*in))
                                (void)s->ep.send_response(now, in->id, std::move(*r));
                    } else if (auto* r = std::get_if<coap::Response>(&*e)) {
                        s->responses.push_back(*r);
                    } else if (auto* n = std::get_if<coap::Notification>(&*e)) {
                        s->notifications.push_back(*n);
                    } else if (auto* f = std::get_if<coap::RequestFailed>(&*e)) {
                        s->failures.push_back(*f);
                    }
                }
                while (auto d = s->ep.poll_transmit()) {
                    moved = true;
                    if (s->drop_all) continue;
                    engine->on_datagram(now, s->addr, d->bytes);
                }
            }
            while (auto ev = engine->poll_event()) {
                moved = true;
                events.push_back(*ev);
            }
            if (!moved) return;
        }
        ADD_FAILURE() << "settle did not converge";
    }

    std::optional<TimePoint> earliest() const {
        std::optional<TimePoint> t = engine->next_deadline();
        for (const auto& s : servers)
            if (auto d = s->ep.next_deadline(); d && (!t || *d < *t)) t = d;
        return t;
    }

    /// Runs timers until `until` (virtual), settling after each.
    void run_until(TimePoint until) {
        settle();
        for (int i = 0; i < 200000; ++i) {
            auto t = earliest();
            if (!t || *t > until) break;
            if (*t > now) {
                wall.advance(std::chrono::duration_cast<std::chrono::seconds>(*t - now));
                now = *t;
            }
            if (auto d = engine->next_deadline(); d && *d <= now) engine->on_timeout(now);
            for (auto& s : servers)
                if (auto d = s->ep.next_deadline(); d && *d <= now) s->ep.on_timeout(now);
            settle();
        }
        if (until > now) {
            wall.advance(std::chrono::duration_cast<std::chrono::seconds>(until - now));
            now = until;
        }
    }
    void run_for(Duration d) { run_until(now + d); }
    /// Runs until pred() or `max` virtual time passed.
    bool run_until_pred(const std::function<bool()>& pred, Duration max) {
        const TimePoint end = now + max;
        settle();
        while (!pred()) {
            auto t = earliest();
            if (!t || *t > end) return pred();
            run_until(*t);
        }
        return true;
    }

    void start() {
        engine->start(now);
        settle();
    }

    /// A DM server answering Register 2.01 (Location-Path given) and Update 2.04.
    ScriptedServer& dm_server_ok(std::vector<std::string> location = {"rd", "5a3f"}) {
        ScriptedServer& s = server(kDmAddr);
        s.auto_reply = [location](const coap::IncomingRequest& in) -> std::optional<coap::Message> {
            coap::Message m;
            const std::string p = in.request.path();
            if (in.request.code == coap::code::post && p == "/rd") {
                m.code = coap::code::created;
                for (const auto& l : location)
                    m.add_option(coap::option::location_path, l);
                return m;
            }
            if (in.request.code == coap::code::post) {
                m.code = coap::code::changed;
                return m;
            }
            if (in.request.code == coap::code::delete_) {
                m.code = coap::code::deleted;
                return m;
            }
            return std::nullopt;
        };
        return s;
    }

    /// Sends a request from a server to the engine and returns the response (settled).
    std::optional<coap::Response> request(const PeerAddr& from, coap::Message m) {
        ScriptedServer& s = server(from);
        const std::size_t before = s.responses.size();
        auto id = s.ep.send_request(now, kClientAddr, std::move(m));
        if (!id) return std::nullopt;
        settle();
        for (std::size_t i = before; i < s.responses.size(); ++i)
            if (s.responses[i].id == *id) return s.responses[i];
        return std::nullopt;
    }

    std::size_t count_events(EngineEvent::Kind k) const {
        return static_cast<std::size_t>(std::count_if(
            events.begin(), events.end(), [k](const EngineEvent& e) { return e.kind == k; }));
    }

    ManualWallClock wall;
    SeededRandom rnd{7};
    SeededRandom srv_rnd{8};
    MapResolver resolver;
    lwm2m::test::CaptureLogger log;
    dm::ObjectRegistry registry;
    AccountStore store;
    TestObject device;
    std::unique_ptr<Engine> engine;
    std::vector<std::unique_ptr<ScriptedServer>> servers;
    std::vector<EngineEvent> events;
    std::vector<Bytes> all_client_datagrams;
    std::function<bool(const Datagram&)> filter; ///< false: lose this client datagram
    std::size_t sent_by_client = 0;
    TimePoint now;
};

/// Builds a request message.
inline coap::Message req(coap::Code c, std::string_view path) {
    coap::Message m;
    m.type = coap::Type::con;
    m.code = c;
    m.set_path(path);
    return m;
}

} // namespace lwm2m::client::test
