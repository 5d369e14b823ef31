// Bootstrap-server benchmarks (figures only, never pass/fail), in memory, NoSec, with the typical
// configuration (Bootstrap-Delete "/", Discover /0 for the Bootstrap-Server id, one Security and
// one Server instance written in TLV, Bootstrap-Finish):
//  - BM_EngineSession: the engine against a minimal responder that answers each CON request with
//    a piggybacked ACK of the right code without decoding payloads: the cost of the engine
//    (parse /bs, look-up, credential records, plan, TLV encoding, CoAP, events).
//  - BM_EndToEndSession: the engine against the scripted client (support/bootstrap_test_client:
//    the real AccountStore decoding TLV, checking every resource and the Finish rules).
//  - BM_EngineSessionGeneratedPsk: as BM_EngineSession with PSK credentials generated per
//    session (16-byte key, 32-character identity).
// sessions_per_s is the headline figure; allocs_per_session counts global operator new calls
// (lwm2m_alloc_counter) of the whole iteration. Virtual time advances 1 ms per session, and the
// endpoints (10,000, each with its own address) are used round robin.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include <lwm2m/bootstrap/engine.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/store/memory_bootstrap_config_store.hpp>

#include "alloc_counter.hpp"
#include "support/bootstrap_samples.hpp"
#include "support/bootstrap_test_client.hpp"

using namespace lwm2m;
using namespace std::chrono_literals;

namespace {

constexpr int kEndpoints = 10000;

class Wall final : public WallClock {
public:
    [[nodiscard]] std::int64_t unix_seconds() const override { return 1'800'000'000; }
};

PeerAddr addr_of(int i) {
    return PeerAddr::v4(10, static_cast<std::uint8_t>(1 + i / 60000),
                        static_cast<std::uint8_t>((i / 250) % 240),
                        static_cast<std::uint8_t>(1 + i % 250), 40000);
}

std::string ep_of(int i) {
    return "urn:dev:bench:" + std::to_string(i);
}

struct World {
    store::MemoryBootstrapConfigStore store;
    SeededRandom random{1};
    Wall wall;
    std::unique_ptr<bootstrap::Engine> engine;
    TimePoint now = TimePoint{} + 1s;

    explicit World(bool generated) {
        for (int i = 0; i < kEndpoints; ++i) {
            const std::string ep = ep_of(i);
            auto c = generated ? test::generated_psk_config(ep, 32, 16)
                               : test::typical_bootstrap_config(ep);
            c.bootstrap_credentials = test::bs_nosec(ep);
            if (!store.put(std::move(c))) std::abort();
        }
        bootstrap::EngineConfig cfg;
        cfg.allow_nosec = true;
        cfg.coap.max_dedup_entries = 1 << 22;
        auto e = bootstrap::Engine::create(cfg, store, random, wall);
        if (!e) std::abort();
        engine = std::make_unique<bootstrap::Engine>(std::move(*e));
    }
};

/// Answers every CON request of the engine with a piggybacked ACK: DELETE 2.02, PUT 2.04,
/// GET 2.05 (a Bootstrap-Discover answer naming the Bootstrap-Server instance /0/0), POST 2.04.
Bytes answer(const coap::MessageView& v) {
    coap::Message m;
    m.type = coap::Type::ack;
    m.message_id = v.message_id;
    m.token = v.token;
    if (v.code == coap::code::delete_) {
        m.code = coap::code::deleted;
    } else if (v.code == coap::code::get) {
        m.code = coap::code::content;
        m.set_uint_option(coap::option::content_format, coap::content_format::link_format);
        m.payload = to_bytes("lwm2m=\"1.1\",</0>;ver=1.1,</0/0>;uri=\"coap://bs.example.com\"");
    } else {
        m.code = coap::code::changed;
    }
    return coap::encode(m);
}

void run_engine_sessions(benchmark::State& state, bool generated) {
    World w(generated);
    std::vector<Bytes> requests;
    for (int i = 0; i < kEndpoints; ++i) {
        coap::Message m;
        m.type = coap::Type::con;
        m.code = coap::code::post;
        m.token = coap::Token::from_u64(static_cast<std::uint64_t>(i), 4);
        m.set_path("/bs");
        m.add_option(coap::option::uri_query, "ep=" + ep_of(i));
        requests.push_back(coap::encode(m));
    }
    std::vector<std::uint16_t> mids(kEndpoints, 1);
    int i = 0;
    std::uint64_t sessions = 0;
    const auto allocs0 = test::allocation_count();
    for (auto _ : state) {
        const PeerAddr peer = addr_of(i);
        Bytes& req = requests[static_cast<std::size_t>(i)];
        req[2] = static_cast<std::byte>(mids[static_cast<std::size_t>(i)] >> 8);
        req[3] = static_cast<std::byte>(mids[static_cast<std::size_t>(i)] & 0xff);
        ++mids[static_cast<std::size_t>(i)];
        w.engine->on_datagram(w.now, peer, req);
        bool finished = false;
        while (!finished) {
            bool moved = false;
            while (auto d = w.engine->poll_transmit()) {
                moved = true;
                const auto v = coap::decode(d->bytes);
                if (v && v->type == coap::Type::con && v->code.is_request())
                    w.engine->on_datagram(w.now, peer, answer(*v));
            }
            while (auto e = w.engine->poll_event())
                if (std::holds_alternative<bootstrap::BootstrapFinished>(*e))
                    finished = true;
                else if (std::holds_alternative<bootstrap::BootstrapFailed>(*e))
                    std::abort();
            if (!moved && !finished) std::abort();
        }
        ++sessions;
        w.now += 1ms;
        i = (i + 1) % kEndpoints;
    }
    state.counters["sessions_per_s"] =
        benchmark::Counter(static_cast<double>(sessions), benchmark::Counter::kIsRate);
    state.counters["allocs_per_session"] =
        static_cast<double>(test::allocation_count() - allocs0) / static_cast<double>(sessions);
}

void BM_EngineSession(benchmark::State& state) {
    run_engine_sessions(state, false);
}
BENCHMARK(BM_EngineSession);

void BM_EngineSessionGeneratedPsk(benchmark::State& state) {
    run_engine_sessions(state, true);
}
BENCHMARK(BM_EngineSessionGeneratedPsk);

void BM_EndToEndSession(benchmark::State& state) {
    World w(false);
    const PeerAddr server = PeerAddr::v4(10, 0, 0, 1, 5683);
    std::vector<std::unique_ptr<test::BootstrapTestClient>> clients;
    constexpr int kClients = 1000;
    for (int i = 0; i < kClients; ++i) {
        test::BootstrapTestClient::Options o;
        o.endpoint = ep_of(i);
        o.server = server;
        o.seed = static_cast<std::uint64_t>(i) + 1;
        clients.push_back(std::make_unique<test::BootstrapTestClient>(o));
    }
    int i = 0;
    std::uint64_t sessions = 0;
    const auto allocs0 = test::allocation_count();
    for (auto _ : state) {
        test::BootstrapTestClient& c = *clients[static_cast<std::size_t>(i)];
        const PeerAddr peer = addr_of(i);
        const int before = c.finish_count;
        c.request_bootstrap(w.now);
        while (c.finish_count == before || w.engine->stats().active != 0) {
            bool moved = false;
            while (auto d = c.poll_transmit()) {
                moved = true;
                w.engine->on_datagram(w.now, peer, d->bytes);
            }
            while (auto d = w.engine->poll_transmit()) {
                moved = true;
                c.on_datagram(w.now, server, d->bytes);
            }
            while (w.engine->poll_event()) {
            }
            if (!moved) break;
        }
        if (!c.bootstrapped()) std::abort();
        ++sessions;
        w.now += 1ms;
        i = (i + 1) % kClients;
    }
    state.counters["sessions_per_s"] =
        benchmark::Counter(static_cast<double>(sessions), benchmark::Counter::kIsRate);
    state.counters["allocs_per_session"] =
        static_cast<double>(test::allocation_count() - allocs0) / static_cast<double>(sessions);
}
BENCHMARK(BM_EndToEndSession);

} // namespace

BENCHMARK_MAIN();
