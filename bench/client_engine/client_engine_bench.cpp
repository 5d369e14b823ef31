// Client engine benchmarks (figures only, never pass/fail), all in memory, NoSec:
//  - BM_HandleRead: a CON GET /3/0/9 datagram from the registered server -> on_datagram ->
//    decode, access check, handler read, text encode, piggybacked 2.05 -> poll_transmit.
//  - BM_HandleReadInstanceSenmlCbor: the same for /3/0 (SenML CBOR).
//  - BM_Notification: a value change (ChangeListener) -> on_timeout -> attribute evaluation,
//    read, encode, NON notification -> poll_transmit.
//  - BM_EngineHeap: heap held by the engine with one server and ten observations (operator new
//    bytes alive, malloc_usable_size; the AccountStore and objects are the app's and excluded).
// allocs_per_iter: global operator new calls per iteration (lwm2m_alloc_counter).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include <lwm2m/coap/codec.hpp>

#include <lwm2m/client/engine_state.hpp>

#include "alloc_counter.hpp"
#include "support/engine_objects.hpp"

using namespace lwm2m;
using namespace lwm2m::client;
using namespace lwm2m::client::test;

namespace {

struct Rig {
    ManualWallClock wall;
    SeededRandom rnd{1};
    MapResolver resolver;
    dm::ObjectRegistry registry = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_1);
    TimePoint now = TimePoint{} + std::chrono::seconds(1);
    AccountStore store{nosec_config(86400, false), wall, now};
    TestObject device{3, registry, "1.1"};
    std::unique_ptr<Engine> engine;
    std::int64_t heap_before = 0;

    Rig() {
        resolver.hosts["dm.test"] = kDmAddr;
        fill_device(device);
        heap_before = lwm2m::test::live_heap_bytes();
        EngineConfig cfg;
        cfg.endpoint_name = "bench";
        engine = std::make_unique<Engine>(cfg, store, registry, rnd, wall, resolver);
        (void)engine->add_object(device);
        device.listener = engine.get();
        engine->start(now);
        drain();
        drain();
    }
    std::size_t drain() {
        std::size_t n = 0;
        while (auto d = engine->poll_transmit()) {
            ++n;
            answer_register(*engine, now, *d);
        }
        while (engine->poll_event()) {
        }
        return n;
    }
    Bytes request(coap::MessageId mid, std::string_view path, bool observe = false) {
        coap::Message m;
        m.type = coap::Type::con;
        m.code = coap::code::get;
        m.message_id = mid;
        m.token = coap::Token::from_u64(mid, 4);
        if (observe) m.add_uint_option(coap::option::observe, 0);
        m.set_path(path);
        return coap::encode(m);
    }
};

void read_bench(benchmark::State& state, std::string_view path) {
    Rig rig;
    std::vector<Bytes> reqs;
    for (std::uint32_t i = 0; i < 4096; ++i)
        reqs.push_back(rig.request(static_cast<coap::MessageId>(i), path));
    std::size_t k = 0;
    const auto a0 = lwm2m::test::allocation_count();
    for (auto _ : state) {
        rig.engine->on_datagram(rig.now, kDmAddr, reqs[k++ & 4095]);
        benchmark::DoNotOptimize(rig.drain());
        // ~EXCHANGE_LIFETIME / 4096 per request: the dedup cache stays at a steady size.
        rig.now += std::chrono::milliseconds(70);
        if ((k & 63) == 0)
            if (auto d = rig.engine->next_deadline(); d && *d <= rig.now)
                rig.engine->on_timeout(rig.now);
    }
    state.counters["allocs_per_iter"] =
        benchmark::Counter(static_cast<double>(lwm2m::test::allocation_count() - a0) /
                           static_cast<double>(state.iterations()));
}

void BM_HandleRead(benchmark::State& state) {
    read_bench(state, "/3/0/9");
}
BENCHMARK(BM_HandleRead);

void BM_HandleReadInstanceSenmlCbor(benchmark::State& state) {
    read_bench(state, "/3/0");
}
BENCHMARK(BM_HandleReadInstanceSenmlCbor);

void BM_Notification(benchmark::State& state) {
    Rig rig;
    rig.engine->on_datagram(rig.now, kDmAddr, rig.request(1, "/3/0/9", true));
    rig.drain();
    std::int64_t v = 0;
    std::size_t sent = 0;
    const auto a0 = lwm2m::test::allocation_count();
    for (auto _ : state) {
        rig.device.set(0, 9, dm::Value::integer(++v));
        rig.now += std::chrono::milliseconds(1);
        rig.engine->on_timeout(rig.now);
        sent += rig.drain();
    }
    state.counters["allocs_per_iter"] =
        benchmark::Counter(static_cast<double>(lwm2m::test::allocation_count() - a0) /
                           static_cast<double>(state.iterations()));
    state.counters["datagrams_per_iter"] =
        benchmark::Counter(static_cast<double>(sent) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_Notification);

void BM_EngineHeap(benchmark::State& state) {
    for (auto _ : state) {
        Rig rig;
        const char* paths[] = {"/3/0/0", "/3/0/9", "/3/0/11", "/3/0/11/0", "/3/0",
                               "/3",     "/1/0/1", "/1/0/7",  "/1/0/6",    "/1/0"};
        coap::MessageId mid = 100;
        for (const char* p : paths) {
            rig.engine->on_datagram(rig.now, kDmAddr, rig.request(mid++, p, true));
            rig.drain();
        }
        // Past EXCHANGE_LIFETIME: the dedup cache of the ten requests has expired.
        for (int i = 0; i < 10; ++i) {
            rig.now += std::chrono::seconds(30);
            if (auto d = rig.engine->next_deadline(); d && *d <= rig.now)
                rig.engine->on_timeout(rig.now);
            rig.drain();
        }
        state.counters["engine_heap_bytes"] =
            static_cast<double>(lwm2m::test::live_heap_bytes() - rig.heap_before);
        auto st = decode_engine_state(rig.engine->snapshot().state);
        state.counters["observations"] = st ? static_cast<double>(st->observations.size()) : -1;
    }
}
BENCHMARK(BM_EngineHeap)->Iterations(1);

} // namespace

BENCHMARK_MAIN();
