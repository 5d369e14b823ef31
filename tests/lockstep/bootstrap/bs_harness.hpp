// Lockstep harness for bootstrap::Engine: the engine and scripted clients
// (support/bootstrap_test_client.hpp) exchange datagrams directly in virtual time; time jumps to
// the earliest deadline. Each client is bound to one engine listener (socket index).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include <lwm2m/bootstrap/engine.hpp>

#include "support/bootstrap_test_client.hpp"
#include "support/gnutls_time.hpp"

namespace lwm2m::bootstrap::test {

using namespace std::chrono_literals;
using lwm2m::test::BootstrapTestClient;

class ManualWall final : public WallClock {
public:
    [[nodiscard]] std::int64_t unix_seconds() const override { return t; }
    std::int64_t t = 1'800'000'000;
};

struct Harness {
    explicit Harness(Engine& e)
        : engine(&e) {
        lwm2m::test::GnutlsVirtualTime::install(now);
    }

    Engine* engine;
    TimePoint now = TimePoint{} + 1s;
    std::vector<Event> events;
    /// Return false to drop a datagram (to_server: client -> engine).
    std::function<bool(const Datagram&, bool to_server)> filter;

    struct Entry {
        BootstrapTestClient* client;
        std::uint16_t listener;
    };
    std::map<PeerAddr, Entry> clients;
    std::map<std::uint16_t, PeerAddr> server_addr;

    void add(const PeerAddr& addr, BootstrapTestClient& c, std::uint16_t listener = 0) {
        clients[addr] = {&c, listener};
        server_addr[listener] = c.options().server;
    }

    void set_now(TimePoint t) {
        now = t;
        lwm2m::test::GnutlsVirtualTime::set(t);
    }

    void collect() {
        while (auto e = engine->poll_event())
            events.push_back(std::move(*e));
    }

    /// Moves every datagram until nothing moves.
    void settle() {
        for (int round = 0; round < 100000; ++round) {
            bool moved = false;
            while (auto d = engine->poll_transmit()) {
                moved = true;
                const auto it = clients.find(d->peer);
                if (it == clients.end() || (filter && !filter(*d, false))) continue;
                EXPECT_EQ(d->socket, it->second.listener);
                it->second.client->on_datagram(now, server_addr[it->second.listener], d->bytes);
            }
            for (auto& [addr, entry] : clients) {
                while (auto d = entry.client->poll_transmit()) {
                    moved = true;
                    if (filter && !filter(*d, true)) continue;
                    engine->on_datagram(now, entry.listener, addr, d->bytes);
                }
            }
            collect();
            if (!moved) return;
        }
        ADD_FAILURE() << "settle did not converge";
    }

    std::optional<TimePoint> next_deadline() const {
        std::optional<TimePoint> d = engine->next_deadline();
        for (const auto& [addr, entry] : clients) {
            const auto c = entry.client->next_deadline();
            if (c && (!d || *c < *d)) d = c;
        }
        return d;
    }

    /// Runs deadlines until pred() holds or `limit` of virtual time passes. Returns pred().
    bool run_until(const std::function<bool()>& pred, Duration limit = 600s) {
        const TimePoint end = now + limit;
        settle();
        for (int i = 0; i < 100000 && !pred(); ++i) {
            const auto d = next_deadline();
            if (!d || *d > end) break;
            set_now(std::max(now, *d));
            engine->on_timeout(now);
            for (auto& [addr, entry] : clients)
                if (auto cd = entry.client->next_deadline(); cd && *cd <= now)
                    entry.client->on_timeout(now);
            settle();
        }
        return pred();
    }

    template <class E>
    std::vector<E> all() const {
        std::vector<E> out;
        for (const auto& e : events)
            if (const E* p = std::get_if<E>(&e)) out.push_back(*p);
        return out;
    }
    template <class E>
    std::size_t count() const {
        return all<E>().size();
    }
};

} // namespace lwm2m::bootstrap::test
