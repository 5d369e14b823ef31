// server::Engine benchmarks (figures only, never pass/fail), in memory, NoSec, one thread:
//  - BM_Register/N: a Register (CON POST /rd?ep=..&lt=..&lwm2m=1.1&b=U, 10 links) of a new
//    endpoint while N clients are registered (BM_Reregister/N: a registered client registering
//    again, a replacement). Full path: CoAP decode + dedup, query and authorisation, interned
//    object list, slab slot, journal, held 2.01 released by a grouped commit to the
//    MemoryRegistrationStore every 64 registrations (one "loop iteration"), response encode.
//  - BM_Update/N: an Update (CON POST /rd/<location>, no parameters) of client i.
//  - BM_Memory: bytes per registered client at 100,000 clients (mallinfo2 delta / N), engine
//    alone and engine + memory store.
// Virtual time moves 2 ms per request so that the CoAP deduplication cache (EXCHANGE_LIFETIME)
// reaches a steady state of ~125k entries, as at a sustained 500 requests/s... per virtual second.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/server/engine.hpp>
#include <lwm2m/store/memory_stores.hpp>

#include "alloc_counter.hpp"
#include "support/coap_samples.hpp"

using namespace lwm2m;
using namespace std::chrono_literals;

namespace {

class Wall final : public WallClock {
public:
    [[nodiscard]] std::int64_t unix_seconds() const override { return 1'700'000'000; }
};

server::EngineConfig bench_config(bool journal) {
    server::EngineConfig c;
    c.nosec = server::NoSecPolicy::any;
    c.journal = journal;
    auto& coap = c.listeners[0].coap;
    coap.max_peers = 1 << 21;
    coap.max_dedup_entries = 1 << 22;
    return c;
}

std::string endpoint_name(std::size_t i) {
    std::string s = std::to_string(490154203000000ULL + i);
    return "urn:imei:" + s;
}

PeerAddr peer_of(std::size_t i) {
    return PeerAddr::v4(10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                        static_cast<std::uint8_t>(i), 40000);
}

Bytes register_datagram(std::size_t i) {
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::post;
    m.token = coap::Token::from_u64(0x1000 + i);
    m.set_path("/rd");
    m.add_queries("ep=" + endpoint_name(i) + "&lt=86400&lwm2m=1.1&b=U");
    m.add_uint_option(coap::option::content_format, coap::content_format::link_format);
    m.payload = to_bytes(test::register_links);
    return coap::encode(m);
}

void set_mid(Bytes& d, std::uint16_t mid) {
    d[2] = static_cast<std::byte>(mid >> 8);
    d[3] = static_cast<std::byte>(mid);
}

/// Prebuilt Register datagrams and MID counters of clients 0..n-1 (shared, built once: not part
/// of the measured memory).
struct Clients {
    std::vector<Bytes> datagrams;
    std::vector<std::uint16_t> mids;
    void ensure(std::size_t n) {
        datagrams.reserve(n);
        while (datagrams.size() < n)
            datagrams.push_back(register_datagram(datagrams.size()));
        mids.resize(std::max(mids.size(), n), 1);
    }
};
Clients& clients(std::size_t n) {
    static Clients c;
    c.ensure(n);
    return c;
}

struct Fleet {
    Fleet(std::size_t n, bool journal)
        : c(clients(n))
        , engine(std::move(*server::Engine::create(bench_config(journal), {security, rng, wall}))) {
        for (std::size_t i = 0; i < n; ++i) {
            registered(i);
            if (i % 64 == 63) commit();
        }
        commit();
    }

    void registered(std::size_t i) {
        set_mid(c.datagrams[i], c.mids[i]++);
        tick();
        engine.on_datagram(now, peer_of(i), c.datagrams[i]);
    }
    void tick() {
        now += 2ms;
        if (auto d = engine.next_deadline(); d && *d <= now) engine.on_timeout(now);
    }
    void commit() {
        const auto seq = engine.take_changes(batch); // reuses the batch's storage
        if (seq != 0 && store.commit(batch)) engine.on_persisted(now, seq);
        while (auto d = engine.poll_transmit())
            benchmark::DoNotOptimize(d->bytes.data());
        while (auto e = engine.poll_event())
            benchmark::DoNotOptimize(&*e);
    }

    Clients& c;
    store::MemorySecurityStore security;
    store::MemoryRegistrationStore store;
    SeededRandom rng{1};
    Wall wall;
    server::Engine engine;
    TimePoint now{};
    std::vector<store::Change> batch;
};

Fleet& fleet(std::size_t n) {
    static std::vector<std::pair<std::size_t, std::unique_ptr<Fleet>>> fleets;
    for (auto& [k, f] : fleets)
        if (k == n) return *f;
    fleets.emplace_back(n, std::make_unique<Fleet>(n, true));
    return *fleets.back().second;
}

/// New endpoints registering while N are registered: endpoints N..N+K-1 register, then (timing
/// paused) the operator removes them and they register again. The count stays in [N, N+K].
void BM_Register(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::size_t k = std::min<std::size_t>(4096, n / 4);
    Fleet& f = fleet(n);
    clients(n + k);
    std::size_t i = 0;
    const auto allocs0 = test::allocation_count();
    std::uint64_t done = 0;
    std::uint64_t paused_allocs = 0;
    for (auto _ : state) {
        f.registered(n + i);
        ++done;
        if (done % 64 == 0) f.commit();
        if (++i == k) {
            state.PauseTiming();
            const auto a = test::allocation_count();
            f.commit();
            for (std::size_t j = 0; j < k; ++j)
                (void)f.engine.deregister(f.now, endpoint_name(n + j));
            f.commit();
            paused_allocs += test::allocation_count() - a;
            i = 0;
            state.ResumeTiming();
        }
    }
    f.commit();
    state.SetItemsProcessed(static_cast<std::int64_t>(done));
    state.counters["allocs_per_reg"] =
        static_cast<double>(test::allocation_count() - allocs0 - paused_allocs) /
        static_cast<double>(done);
    state.counters["registrations"] = static_cast<double>(f.engine.registration_count());
    state.counters["refused"] = static_cast<double>(f.engine.stats().refused);
}

/// A registered client registering again (replacement, TS 1.1 §6.2.1): the count stays N.
void BM_Reregister(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    Fleet& f = fleet(n);
    std::size_t i = 0;
    const auto allocs0 = test::allocation_count();
    std::uint64_t done = 0;
    for (auto _ : state) {
        f.registered(i);
        if (++i == n) i = 0;
        if (++done % 64 == 0) f.commit();
    }
    f.commit();
    state.SetItemsProcessed(static_cast<std::int64_t>(done));
    state.counters["allocs_per_reg"] =
        static_cast<double>(test::allocation_count() - allocs0) / static_cast<double>(done);
    state.counters["registrations"] = static_cast<double>(f.engine.registration_count());
}

void BM_Update(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    Fleet& f = fleet(n);
    std::vector<Bytes> updates(n);
    for (std::size_t k = 0; k < n; ++k) {
        coap::Message m;
        m.type = coap::Type::con;
        m.code = coap::code::post;
        m.token = coap::Token::from_u64(0x9000 + k);
        m.set_path("/rd/" + f.engine.registration(endpoint_name(k))->location);
        updates[k] = coap::encode(m);
    }
    std::size_t i = 0;
    std::uint64_t done = 0;
    const auto updates0 = f.engine.stats().updates;
    for (auto _ : state) {
        set_mid(updates[i], f.c.mids[i]++);
        f.tick();
        f.engine.on_datagram(f.now, peer_of(i), updates[i]);
        if (++i == n) i = 0;
        if (++done % 64 == 0) f.commit();
    }
    f.commit();
    state.SetItemsProcessed(static_cast<std::int64_t>(done));
    state.counters["accepted"] =
        static_cast<double>(f.engine.stats().updates - updates0) / static_cast<double>(done);
}

void BM_Memory(benchmark::State& state) {
    constexpr std::size_t n = 100000;
    clients(n);
    double engine_only = 0;
    double with_store = 0;
    for (auto _ : state) {
        {
            malloc_trim(0);
            const auto before = mallinfo2().uordblks;
            auto f = std::make_unique<Fleet>(n, false);
            const auto after = mallinfo2().uordblks;
            engine_only = static_cast<double>(after - before) / n;
            benchmark::DoNotOptimize(f.get());
        }
        {
            malloc_trim(0);
            const auto before = mallinfo2().uordblks;
            auto f = std::make_unique<Fleet>(n, true);
            const auto after = mallinfo2().uordblks;
            with_store = static_cast<double>(after - before) / n;
            benchmark::DoNotOptimize(f.get());
        }
    }
    state.counters["bytes_per_client_engine"] = engine_only;
    state.counters["bytes_per_client_engine_and_store"] = with_store;
}

} // namespace

BENCHMARK(BM_Register)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Reregister)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Update)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Memory)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
