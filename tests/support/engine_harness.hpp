// A lockstep harness that runs a client Engine against scripted servers built on coap::Endpoint,
// in virtual time (time jumps to the earliest deadline). Objects and configurations:
// engine_objects.hpp.
#pragma once

#include <functional>
#include <memory>

#include <gtest/gtest.h>

#include <lwm2m/base/random.hpp>
#include <lwm2m/client/engine_state.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "support/capture_logger.hpp"
#include "support/coap_script.hpp"
#include "support/engine_objects.hpp"

namespace lwm2m::client::test {

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
