// Lockstep harness for server::Engine: one engine with in-memory stores, a virtual clock and a
// fixed wall clock; scripted clients are raw CoAP messages (tests/support/coap_script.hpp).
//
//   ServerHarness h;                                  // NoSec listener, NoSecPolicy::any
//   h.receive(kPeerA, register_msg("ep1"));           // client -> server
//   h.expect_no_tx();                                 // 2.01 held until durable
//   h.persist();                                      // take_changes + commit + on_persisted
//   auto resp = h.expect_tx();                        // the 2.01
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/format/codec.hpp>
#include <lwm2m/server/engine.hpp>
#include <lwm2m/store/memory_stores.hpp>

#include "support/capture_logger.hpp"
#include "support/coap_script.hpp"

namespace lwm2m::server::test {

using namespace std::chrono_literals;
using lwm2m::test::con;
using lwm2m::test::kPeerA;
using lwm2m::test::kPeerB;

class TestWall final : public WallClock {
public:
    std::int64_t t = 1'700'000'000;
    [[nodiscard]] std::int64_t unix_seconds() const override { return t; }
};

inline EngineConfig open_config() {
    EngineConfig c;
    c.nosec = NoSecPolicy::any;
    c.listeners[0].coap.ack_random_factor = 1.0;
    // The scripted peers never answer an RFC 9175 Echo challenge, and the refusals' diagnostics
    // are compared whole: an unverified NoSec peer would get them cut to 3x its request (the
    // CoAP edge's amplification limit, tested in tests/unit/coap and tests/sim/coap).
    c.listeners[0].coap.address_validation = false;
    return c;
}

/// A Register request: CON POST /rd?<query> with a link-format payload.
inline coap::Message register_msg(std::string_view query, std::string_view links = "</1/0>,</3/0>",
                                  coap::MessageId mid = 0x100, std::string_view token = "r1") {
    auto b = con(coap::code::post).mid(mid).token(token).path("/rd");
    if (!query.empty()) b.query(query);
    b.uint(coap::option::content_format, coap::content_format::link_format);
    b.payload(links);
    return b.build();
}

/// A CON 2.05 notification (Observe `seq`) of /3/0/9 (battery level) = `value`, in TLV.
inline coap::Message battery_notification(const coap::Token& token, std::uint32_t seq,
                                          std::int64_t value, coap::MessageId mid) {
    const dm::Content v{dm::Path(Oid{3}, Iid{0}, Rid{9}),
                        dm::Resource::single(9, dm::Value::integer(value))};
    coap::Message n;
    n.type = coap::Type::con;
    n.code = coap::code::content;
    n.message_id = mid;
    n.token = token;
    n.add_uint_option(coap::option::observe, seq);
    n.add_uint_option(coap::option::content_format, 11542);
    n.payload = *format::encode(format::ContentFormat::lwm2m_tlv, v);
    return n;
}

inline std::string text_of(const coap::Message& m) {
    return std::string(as_string_view(m.payload));
}

class ServerHarness {
public:
    explicit ServerHarness(EngineConfig cfg = open_config(), std::uint64_t seed = 1)
        : rng(seed) {
        auto e = Engine::create(std::move(cfg), EngineDeps{security, rng, wall, log});
        if (!e) {
            ADD_FAILURE() << "Engine::create: " << e.error().message();
            return;
        }
        engine.emplace(std::move(*e));
    }

    store::MemorySecurityStore security;
    store::MemoryRegistrationStore store;
    /// Several engines sharing one store (read-through tests): persist() commits there.
    store::RegistrationStore* shared = nullptr;
    SeededRandom rng;
    TestWall wall;
    lwm2m::test::CaptureLogger log;
    std::optional<Engine> engine;
    TimePoint now = TimePoint{} + 1s;
    std::vector<Event> seen; ///< every event polled so far

    void receive(const PeerAddr& from, const coap::Message& m, std::uint16_t socket = 0) {
        const Bytes b = coap::encode(m);
        engine->on_datagram(now, socket, from, b);
    }

    /// Every datagram the engine sends, decoded, with its destination.
    std::vector<std::pair<Datagram, coap::Message>> drain() {
        std::vector<std::pair<Datagram, coap::Message>> out;
        while (auto d = engine->poll_transmit()) {
            auto m = lwm2m::test::parse(d->bytes);
            if (!m) {
                ADD_FAILURE() << "undecodable datagram";
                continue;
            }
            out.emplace_back(std::move(*d), std::move(*m));
        }
        return out;
    }
    coap::Message expect_tx(const PeerAddr* to = nullptr) {
        auto d = engine->poll_transmit();
        if (!d) {
            ADD_FAILURE() << "nothing transmitted";
            return {};
        }
        if (to != nullptr) {
            EXPECT_EQ(d->peer, *to);
        }
        last_socket = d->socket;
        auto m = lwm2m::test::parse(d->bytes);
        if (!m) {
            ADD_FAILURE() << "undecodable datagram";
            return {};
        }
        return *m;
    }
    void expect_no_tx() {
        if (auto d = engine->poll_transmit()) {
            auto m = lwm2m::test::parse(d->bytes);
            ADD_FAILURE() << "unexpected datagram: " << (m ? lwm2m::test::describe(*m) : "?");
        }
    }

    /// take_changes + commit to the memory store + on_persisted; returns the changes taken.
    std::size_t persist() {
        std::vector<store::Change> batch;
        const auto seq = engine->take_changes(batch);
        if (seq == 0) return 0;
        store::RegistrationStore& target = shared != nullptr ? *shared : store;
        if (target.commit(batch))
            engine->on_persisted(now, seq);
        else
            engine->on_persist_failed(now, seq);
        return batch.size();
    }

    std::vector<Event> events() {
        std::vector<Event> out;
        while (auto e = engine->poll_event()) {
            seen.push_back(*e);
            out.push_back(std::move(*e));
        }
        return out;
    }
    template <class E>
    E expect_event() {
        auto e = engine->poll_event();
        if (!e) {
            ADD_FAILURE() << "no event";
            return E{};
        }
        seen.push_back(*e);
        if (!std::holds_alternative<E>(*e)) {
            ADD_FAILURE() << "event of another kind (index " << e->index() << ")";
            return E{};
        }
        return std::get<E>(std::move(*e));
    }
    template <class E>
    std::vector<E> events_of() {
        std::vector<E> out;
        for (auto& e : events())
            if (auto* p = std::get_if<E>(&e)) out.push_back(std::move(*p));
        return out;
    }

    /// Moves the clock forward by d, running every deadline on the way.
    void advance(Duration d) {
        const TimePoint end = now + d;
        for (int guard = 0; guard < 100000; ++guard) {
            auto dl = engine->next_deadline();
            if (!dl || *dl > end) break;
            if (*dl > now) now = *dl;
            engine->on_timeout(now);
        }
        now = end;
        engine->on_timeout(now);
    }

    /// Registers `ep` from `peer` and persists; returns the location id ("" on failure).
    std::string register_client(const PeerAddr& peer, std::string_view query,
                                std::string_view links = "</1/0>,</3/0>",
                                coap::MessageId mid = 0x100) {
        receive(peer, register_msg(query, links, mid));
        persist();
        auto resp = expect_tx(&peer);
        if (resp.code != coap::code::created) {
            ADD_FAILURE() << "Register answered " << resp.code.to_string() << ": " << text_of(resp);
            return {};
        }
        auto loc = resp.path(coap::option::location_path); // "/rd/<id>"
        events();
        return loc.size() > 4 ? loc.substr(4) : std::string();
    }

    /// The client's piggybacked answer to a request the engine sent.
    void reply(const PeerAddr& peer, const coap::Message& req, coap::Code code, Bytes payload = {},
               std::optional<std::uint16_t> cf = {}, std::optional<std::uint32_t> observe = {}) {
        coap::Message a;
        a.type = coap::Type::ack;
        a.code = code;
        a.message_id = req.message_id;
        a.token = req.token;
        if (observe) a.add_uint_option(coap::option::observe, *observe);
        if (cf) a.add_uint_option(coap::option::content_format, *cf);
        a.payload = std::move(payload);
        receive(peer, a);
    }

    /// What lwm2m-server does with Engine::poll_lookup(): each lookup answered from `from`
    /// (by endpoint when the engine names one, else by location). Returns the lookups served.
    std::vector<RegistrationLookup> serve_lookups(const store::RegistrationStore& from) {
        std::vector<RegistrationLookup> served;
        while (auto l = engine->poll_lookup()) {
            auto rec =
                l->endpoint.empty() ? from.find_by_location(l->location) : from.find(l->endpoint);
            EXPECT_TRUE(rec);
            if (rec && *rec)
                engine->provide_registration(now, l->id, std::move(**rec));
            else
                engine->registration_not_found(now, l->id);
            served.push_back(std::move(*l));
        }
        return served;
    }

    std::uint16_t last_socket = 0;
};

} // namespace lwm2m::server::test
