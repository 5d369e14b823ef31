// Simulation of server::Engine with many clients (raw coap::Endpoints playing LwM2M clients)
// over a SimNetwork with loss, duplication and reordering: clients register, update, are read and
// observed, and notify; in one variant the server restarts from its store mid-run.
//
// Invariants:
//  - a client that received 2.01 finds its registration (same location) in the store at that
//    moment: acknowledged registrations are durable;
//  - every client ends registered, its Updates are accepted (also across the restart: no client
//    has to register again), reads are answered, notifications arrive;
//  - no node ever reports a deadline in the past.
//
// 3 seeds in the default `sim` run, 50 under `sim-long` (LWM2M_SIM_SEEDS).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/server/engine.hpp>
#include <lwm2m/store/memory_stores.hpp>

#include "support/coap_script.hpp"
#include "support/sim_network.hpp"

using namespace lwm2m;
using namespace std::chrono_literals;

namespace {

const PeerAddr kServerAddr = PeerAddr::v4(192, 0, 2, 1, 5683);

class Wall final : public WallClock {
public:
    explicit Wall(const test::SimNetwork& net)
        : net_(&net) {}
    [[nodiscard]] std::int64_t unix_seconds() const override {
        return 1'700'000'000 +
               std::chrono::duration_cast<std::chrono::seconds>(net_->now().time_since_epoch())
                   .count();
    }

private:
    const test::SimNetwork* net_;
};

/// The server node: an engine that can be restarted from its store (a new process).
struct Server {
    Server(test::SimNetwork& net, std::uint64_t seed)
        : rng(seed)
        , wall(net) {
        start(net.now(), false);
    }

    void start(TimePoint now, bool restore) {
        server::EngineConfig cfg;
        cfg.nosec = server::NoSecPolicy::any;
        cfg.listeners[0].coap.max_retransmit = 6;
        auto e = server::Engine::create(cfg, {security, rng, wall});
        ASSERT_TRUE(e);
        engine.emplace(std::move(*e));
        if (restore) {
            auto n = engine->restore(now, store);
            ASSERT_TRUE(n);
            restored = *n;
        }
    }

    // sans-I/O forwarding for SimNetwork
    void on_datagram(TimePoint now, const PeerAddr& from, BytesView b) {
        engine->on_datagram(now, from, b);
    }
    void on_timeout(TimePoint now) { engine->on_timeout(now); }
    std::optional<Datagram> poll_transmit() { return engine->poll_transmit(); }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const { return engine->next_deadline(); }

    void after(TimePoint now) {
        while (auto ev = engine->poll_event()) {
            if (auto* r = std::get_if<server::Registered>(&*ev)) {
                if (r->restored) continue;
                ++registered_events;
                (void)engine->send(now, r->endpoint,
                                   server::Request::read(dm::Path(Oid{3}, Iid{0}, Rid{9})));
                (void)engine->send(now, r->endpoint,
                                   server::Request::observe(dm::Path(Oid{3}, Iid{0}, Rid{9})));
            } else if (auto* resp = std::get_if<server::ResponseEvent>(&*ev)) {
                if (resp->op == server::Operation::read && resp->code == coap::code::content &&
                    resp->content)
                    ++reads_answered[resp->endpoint];
            } else if (auto* n = std::get_if<server::NotificationEvent>(&*ev)) {
                if (n->content) ++notifications[n->endpoint];
            } else if (std::holds_alternative<server::RequestFailed>(*ev)) {
                ++request_failures;
            }
        }
        const auto seq = engine->take_changes(batch);
        if (seq != 0) {
            EXPECT_TRUE(store.commit(batch));
            engine->on_persisted(now, seq);
        }
    }

    store::MemorySecurityStore security;
    store::MemoryRegistrationStore store;
    SeededRandom rng;
    Wall wall;
    std::optional<server::Engine> engine;
    std::vector<store::Change> batch;
    std::size_t restored = 0;
    std::size_t registered_events = 0;
    std::size_t request_failures = 0;
    std::map<std::string, int> reads_answered;
    std::map<std::string, int> notifications;
};

/// A scripted LwM2M client: Register, Update every 20 s, answers GET /3/0/9 (Observe too) and
/// notifies every 15 s.
struct Client {
    Client(std::string name, PeerAddr a, std::uint64_t seed, const store::RegistrationStore& s)
        : ep(std::move(name))
        , addr(a)
        , rng(seed)
        , coap(config(), rng)
        , store(&s) {}

    static coap::Config config() {
        coap::Config c;
        c.max_retransmit = 6;
        return c;
    }

    void on_datagram(TimePoint now, const PeerAddr& from, BytesView b) {
        coap.on_datagram(now, from, b);
    }
    void on_timeout(TimePoint now) {
        if (auto d = coap.next_deadline(); d && *d <= now) coap.on_timeout(now);
        after(now); // the script's own timer (wake)
    }
    std::optional<Datagram> poll_transmit() { return coap.poll_transmit(); }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const {
        auto a = coap.next_deadline();
        if (!a || wake < *a) return wake;
        return a;
    }

    void after(TimePoint now) {
        while (auto ev = coap.poll_event()) {
            if (auto* r = std::get_if<coap::Response>(&*ev)) {
                if (!pending || r->id != *pending) continue;
                pending.reset();
                const auto& m = r->response;
                if (m.code == coap::code::created) {
                    location = m.path(coap::option::location_path);
                    ++registrations;
                    // Durability: the store holds this registration before the client knows.
                    auto rec = store->find(ep);
                    EXPECT_TRUE(rec && *rec && "/rd/" + (*rec)->location == *location) << ep;
                } else if (m.code == coap::code::changed) {
                    ++updates_ok;
                } else if (m.code == coap::code::not_found) {
                    ++updates_refused; // location unknown: register again
                    location.reset();
                } else {
                    ADD_FAILURE() << ep << ": unexpected " << m.code.to_string();
                }
            } else if (auto* f = std::get_if<coap::RequestFailed>(&*ev)) {
                if (pending && f->id == *pending) pending.reset(); // retried below
            } else if (auto* in = std::get_if<coap::IncomingRequest>(&*ev)) {
                coap::Message resp;
                if (in->request.path() == "/3/0/9" && in->request.code == coap::code::get) {
                    resp.code = coap::code::content;
                    resp.add_uint_option(coap::option::content_format, 0);
                    resp.payload = to_bytes(std::to_string(battery));
                    if (in->observe_register) {
                        resp.add_uint_option(coap::option::observe, 1);
                        observation = in->observation;
                    }
                } else {
                    resp.code = coap::code::not_found;
                }
                (void)coap.send_response(now, in->id, std::move(resp));
            } else if (auto* end = std::get_if<coap::ObservationEnded>(&*ev)) {
                if (observation && end->id == *observation) observation.reset();
            }
        }
        if (now < wake) return;
        wake = now + 1s;
        if (!pending) {
            coap::Message m;
            m.type = coap::Type::con;
            m.code = coap::code::post;
            if (!location) {
                m.set_path("/rd");
                m.add_queries("ep=" + ep + "&lt=60&lwm2m=1.1&b=U");
                m.add_uint_option(coap::option::content_format, coap::content_format::link_format);
                m.payload = to_bytes("</1/0>,</3/0>");
                auto id = coap.send_request(now, kServerAddr, std::move(m));
                if (id) pending = *id;
            } else if (now >= next_update) {
                next_update = now + 20s;
                m.set_path(*location);
                auto id = coap.send_request(now, kServerAddr, std::move(m));
                if (id) pending = *id;
            }
        }
        if (observation && now >= next_notify) {
            next_notify = now + 15s;
            --battery;
            coap::Message n;
            n.code = coap::code::content;
            n.add_uint_option(coap::option::content_format, 0);
            n.payload = to_bytes(std::to_string(battery));
            (void)coap.send_notification(now, *observation, std::move(n), false);
        }
    }

    std::string ep;
    PeerAddr addr;
    SeededRandom rng;
    coap::Endpoint coap;
    const store::RegistrationStore* store;
    std::optional<std::string> location;
    std::optional<coap::RequestId> pending;
    std::optional<coap::ObservationId> observation;
    TimePoint wake{};
    TimePoint next_update{};
    TimePoint next_notify{};
    int battery = 100;
    int registrations = 0;
    int updates_ok = 0;
    int updates_refused = 0;
};

test::LinkConfig lossy() {
    test::LinkConfig l;
    l.delay = 30ms;
    l.jitter = 20ms;
    l.loss = 0.05;
    l.duplicate = 0.03;
    l.reorder = 0.03;
    l.reorder_delay = 200ms;
    return l;
}

struct World {
    explicit World(std::uint64_t seed, int n)
        : net(seed)
        , server(net, seed * 7 + 1) {
        net.set_default_link(lossy());
        net.add_node(kServerAddr,
                     test::make_sim_node(server, [this](TimePoint now) { server.after(now); }));
        clients.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            auto c = std::make_unique<Client>(
                "sim-" + std::to_string(i),
                PeerAddr::v4(10, 9, 0, static_cast<std::uint8_t>(i + 1), 40000),
                seed * 1000 + static_cast<std::uint64_t>(i), server.store);
            c->wake = net.now() + std::chrono::milliseconds(37 * i); // staggered start
            Client* p = c.get();
            net.add_node(c->addr, test::make_sim_node(*p, [p](TimePoint now) { p->after(now); }));
            clients.push_back(std::move(c));
        }
        net.kick();
    }
    test::SimNetwork net;
    Server server;
    std::vector<std::unique_ptr<Client>> clients;
};

class ServerSim : public ::testing::TestWithParam<int> {};

TEST_P(ServerSim, ManyClientsRegisterUpdateAndAreReadAndObserved) {
    World w(static_cast<std::uint64_t>(GetParam()), 40);
    w.net.run_for(5min);
    EXPECT_EQ(w.net.stats().deadline_violations, 0U);
    EXPECT_EQ(w.server.engine->registration_count(), w.clients.size());
    EXPECT_EQ(*w.server.store.size(), w.clients.size());
    for (const auto& c : w.clients) {
        EXPECT_TRUE(c->location) << c->ep;
        EXPECT_GE(c->registrations, 1) << c->ep;
        EXPECT_GE(c->updates_ok, 10) << c->ep; // every 20 s for ~5 min
        EXPECT_EQ(c->updates_refused, 0) << c->ep;
        EXPECT_GE(w.server.reads_answered[c->ep], 1) << c->ep;
        EXPECT_GE(w.server.notifications[c->ep], 5) << c->ep;
    }
}

TEST_P(ServerSim, ARestartedServerKeepsEveryRegistration) {
    World w(static_cast<std::uint64_t>(GetParam()) + 100, 30);
    w.net.run_for(2min);
    ASSERT_EQ(*w.server.store.size(), w.clients.size());
    std::map<std::string, int> registrations_before;
    for (const auto& c : w.clients)
        registrations_before[c->ep] = c->registrations;
    // The server process dies and starts again from its store (its CoAP state is lost).
    w.server.start(w.net.now(), true);
    EXPECT_EQ(w.server.restored, w.clients.size());
    w.net.kick();
    w.net.run_for(3min);
    EXPECT_EQ(w.net.stats().deadline_violations, 0U);
    EXPECT_EQ(w.server.engine->registration_count(), w.clients.size());
    for (const auto& c : w.clients) {
        // Updates carried on with the old locations: nobody had to register again.
        EXPECT_EQ(c->registrations, registrations_before[c->ep]) << c->ep;
        EXPECT_EQ(c->updates_refused, 0) << c->ep;
        EXPECT_GE(c->updates_ok, 10) << c->ep;
    }
    // Observations came back at the clients' next Update (same token) and notifications flow.
    std::size_t observed = 0;
    for (const auto& c : w.clients)
        observed += w.server.engine->observations(c->ep).size();
    EXPECT_EQ(observed, w.clients.size());
}

INSTANTIATE_TEST_SUITE_P(Seeds, ServerSim,
                         ::testing::Range(1, 1 + static_cast<int>(lwm2m::test::sim_seeds(3))));

} // namespace
