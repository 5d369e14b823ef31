// server::Engine benchmarks (figures only, never pass/fail), in memory, NoSec, one thread:
//  - BM_Register/N: a Register (CON POST /rd?ep=..&lt=..&lwm2m=1.1&b=U, 10 links) of a new
//    endpoint while N clients are registered, from a device not seen for the last 65,536
//    registrations (BM_RegisterHot/N: from a small set of devices that come back, see
//    register_newcomers; BM_Reregister/N: a registered client registering
//    again, a replacement). Full path: CoAP decode + dedup, query and authorisation, interned
//    object list, slab slot, journal, held 2.01 released by a grouped commit to the
//    MemoryRegistrationStore every 64 registrations (one "loop iteration"), response encode.
//  - BM_Update/N: an Update (CON POST /rd/<location>, no parameters) of client i.
//  - BM_Memory: bytes per registered client at 100,000 clients (mallinfo2 delta / N), engine
//    alone and engine + memory store.
//  - BM_DtlsPskRegister: a device's whole first contact over DTLS-PSK (128-byte identity, 64-byte
//    key, AES-128-CCM-8): cookie exchange, handshake, a CON Register through the DTLS listener,
//    the PSK identity -> endpoint authorisation, the grouped commit, and the 2.01 back through
//    the record layer; BM_BareGnutlsPsk, the same run's bare GnuTLS handshake (bench_dtls's
//    reference: cookie exchange, handshake, one record) for the ratio (issue #9: >= 80%).
//  - BM_DtlsPskRegisterSteady: the same loop with sessions and registrations expiring after 60 s
//    idle / 60 s lifetime (virtual time), so the server's tables stop growing (a steady state
//    beside BM_DtlsPskRegister's growing fleet; the target is on BM_DtlsPskRegister).
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
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/server/engine.hpp>
#include <lwm2m/store/memory_stores.hpp>

#include "alloc_counter.hpp"
#include "dtls/bare_gnutls.hpp"
#include "support/coap_samples.hpp"
#include "support/coap_script.hpp"

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

/// New endpoints registering while N are registered. Two ways to pick the newcomers:
///  - BM_RegisterHot/N (the first version of this benchmark): endpoints N..N+K-1 (K = N/4, at
///    most 4096) register, then (timing paused) the operator removes them and they register
///    again. At N = 1,000 the same 250 devices come back every 250 registrations, so their state
///    stays in the CPU caches; at 100,000 it is 4,096 devices: the ratio between the two mostly
///    measures K, not N.
///  - BM_Register/N: every Register comes from a device that has not talked to the server for
///    the last 65,536 registrations (a pool beyond N, used in turn), as in a real fleet where a
///    device registers once per boot or lifetime; K = 256 at a time, then removed (paused).
/// In both the count stays in [N, N+K].
void register_newcomers(benchmark::State& state, std::size_t k, std::size_t pool) {
    const auto n = static_cast<std::size_t>(state.range(0));
    Fleet& f = fleet(n);
    clients(n + pool);
    std::size_t next = 0; // the pool's next device
    std::size_t i = 0;    // newcomers registered since the last removal
    const auto allocs0 = test::allocation_count();
    std::uint64_t done = 0;
    std::uint64_t paused_allocs = 0;
    for (auto _ : state) {
        f.registered(n + next);
        if (++next == pool) next = 0;
        ++done;
        if (done % 64 == 0) f.commit();
        if (++i == k) {
            state.PauseTiming();
            const auto a = test::allocation_count();
            f.commit();
            for (std::size_t j = 0; j < k; ++j)
                (void)f.engine.deregister(f.now, endpoint_name(n + (next + pool - 1 - j) % pool));
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

void BM_Register(benchmark::State& state) {
    register_newcomers(state, 256, 65536);
}

void BM_RegisterHot(benchmark::State& state) {
    const auto k = std::min<std::size_t>(4096, static_cast<std::size_t>(state.range(0)) / 4);
    register_newcomers(state, k, k);
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

// ---- DTLS-PSK: handshake + Register against the same run's bare GnuTLS handshake ----------------

constexpr std::size_t kPskDevices = std::size_t{1} << 17;
const PeerAddr kServerAddr = PeerAddr::v4(10, 255, 0, 1, 5684);

std::string psk_endpoint(std::size_t i) {
    return "psk-dev-" + std::to_string(i);
}
/// Device i's 128-byte identity (unique per device) and 64-byte key.
Bytes psk_identity_of(std::size_t i) {
    std::string id = "id-" + std::to_string(i) + "-";
    id.resize(128, 'x');
    return to_bytes(id);
}
Bytes psk_key_of(std::size_t i) {
    Bytes k(64);
    for (std::size_t j = 0; j < k.size(); ++j)
        k[j] = static_cast<std::byte>(i * 31 + j);
    return k;
}

struct DtlsServer {
    /// `idle`: the DTLS sessions' idle timeout; `lifetime`: the devices' registration lifetime
    /// (the steady-state variant expires both while new devices come).
    explicit DtlsServer(std::chrono::seconds idle = std::chrono::hours(24),
                        std::uint32_t lifetime_s = 86400)
        : lifetime(lifetime_s) {
        provision();
        server::EngineConfig c;
        server::ListenerConfig l;
        l.security = server::ListenerSecurity::dtls;
        l.coap.max_peers = 1 << 21;
        l.coap.max_dedup_entries = 1 << 22;
        l.dtls.cipher_suites = {dtls::CipherSuite::psk_aes_128_ccm_8};
        l.dtls.max_sessions = 1 << 21;
        l.dtls.max_handshakes = 1 << 21;
        l.dtls.idle_timeout = idle;
        c.listeners = {l};
        c.journal = true;
        engine.emplace(std::move(*server::Engine::create(std::move(c), {security, rng, wall})));
    }
    /// Adds the next kPskDevices devices' credentials to the security store (the benchmark
    /// calls it, with the timer paused, whenever the devices provisioned so far have all
    /// registered: every iteration is a device never seen before).
    void provision() {
        const std::size_t end = provisioned + kPskDevices;
        for (std::size_t i = provisioned; i < end; ++i) {
            store::SecurityInfo info;
            info.endpoint = psk_endpoint(i);
            info.mode = store::SecurityMode::psk;
            info.psk_identity = psk_identity_of(i);
            info.psk_key = SecretBytes(psk_key_of(i));
            if (!security.put(std::move(info))) std::abort();
        }
        provisioned = end;
    }
    std::size_t provisioned = 0;
    std::uint32_t lifetime;
    store::MemorySecurityStore security;
    store::MemoryRegistrationStore store;
    SeededRandom rng{3};
    Wall wall;
    std::optional<server::Engine> engine;
    std::vector<store::Change> batch;
    TimePoint now{};
};

/// Device n, new (never registered before), registers from an address of its own with a fresh
/// DTLS client (the server keeps every session, as it would for a growing fleet); true on 2.01.
bool psk_register(DtlsServer& srv, std::size_t n, std::chrono::nanoseconds* server_time) {
    using bench::SideTimer;
    const std::size_t i = n;
    const PeerAddr self =
        PeerAddr::v4(11, static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                     static_cast<std::uint8_t>(n), 40000);
    dtls::ClientConfig cc;
    cc.server = kServerAddr;
    cc.credentials = dtls::PskCredentials{psk_identity_of(i), SecretBytes(psk_key_of(i))};
    cc.cipher_suites = {dtls::CipherSuite::psk_aes_128_ccm_8};
    auto session = dtls::ClientSession::create(std::move(cc));
    if (!session) return false;
    SeededRandom rng{n};
    coap::Endpoint coap(test::det_config(), rng);
    dtls::SecureEndpoint<dtls::ClientSession> se(coap, *session);
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::post;
    m.set_path("/rd");
    m.add_queries("ep=" + psk_endpoint(i) + "&lt=" + std::to_string(srv.lifetime) +
                  "&lwm2m=1.1&b=U");
    m.add_uint_option(coap::option::content_format, coap::content_format::link_format);
    m.payload = to_bytes(test::register_links);
    auto id = se.coap().send_request(srv.now, kServerAddr, std::move(m));
    if (!id) return false;
    se.flush(srv.now);
    auto& engine = *srv.engine;
    // The harness's own buffer for the server's output, reused across rounds and devices (the
    // bare loop's pipes cost it about as much).
    static std::vector<Datagram> out;
    for (int round = 0; round < 64; ++round) {
        bool moved = false;
        while (auto d = se.poll_transmit()) {
            const SideTimer t(server_time);
            engine.on_datagram(srv.now, 0, self, d->bytes);
            moved = true;
        }
        out.clear();
        {
            const SideTimer t(server_time);
            // One loop iteration of the driver: the registration becomes durable, the 2.01 goes
            // out.
            if (const auto seq = engine.take_changes(srv.batch);
                seq != 0 && srv.store.commit(srv.batch))
                engine.on_persisted(srv.now, seq);
            while (auto d = engine.poll_transmit())
                out.push_back(std::move(*d));
            while (engine.poll_event()) {
            }
        }
        for (auto& d : out) {
            if (d.peer == self) se.on_datagram(srv.now, kServerAddr, d.bytes);
            moved = true;
        }
        while (auto e = se.poll_event())
            if (auto* ce = std::get_if<coap::Event>(&*e))
                if (auto* r = std::get_if<coap::Response>(ce); r != nullptr && r->id == *id)
                    return r->response.code == coap::code::created;
        if (!moved) break;
    }
    return false;
}

/// The server's share of the loop (both ends run in the measured thread): its time per device
/// and the rate it alone would sustain.
void server_side_counters(benchmark::State& state, std::chrono::nanoseconds server_time) {
    const double us = static_cast<double>(server_time.count()) / 1e3 /
                      static_cast<double>(std::max<std::int64_t>(state.iterations(), 1));
    state.counters["server_us_per_device"] = us;
    state.counters["server_devices_per_s"] = us > 0 ? 1e6 / us : 0;
}

void psk_register_loop(benchmark::State& state, DtlsServer& srv, std::size_t& n) {
    std::chrono::nanoseconds server_time{0};
    for (auto _ : state) {
        if (n == srv.provisioned) {
            state.PauseTiming();
            srv.provision();
            state.ResumeTiming();
        }
        srv.now += 1ms;
        {
            const bench::SideTimer t(&server_time);
            if (auto d = srv.engine->next_deadline(); d && *d <= srv.now)
                srv.engine->on_timeout(srv.now);
        }
        if (!psk_register(srv, n++, &server_time)) {
            state.SkipWithError("DTLS-PSK registration failed");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    server_side_counters(state, server_time);
    // Registrations held at the end (the steady variant: those of the last ~90 s of virtual
    // time, 60 s lifetime + 30 s grace).
    state.counters["registered"] = static_cast<double>(srv.engine->stats().registrations);
}

void BM_DtlsPskRegister(benchmark::State& state) {
    static DtlsServer srv;
    static std::size_t n = 0;
    psk_register_loop(state, srv, n);
}

/// The same loop at a steady state (added beside BM_DtlsPskRegister, which keeps every device):
/// sessions idle for 60 s and registrations of lifetime 60 s expire (virtual time: 1 ms per
/// device, so ~60,000 devices stay registered), so the server's tables stop growing after the
/// first repetitions and their expiry is part of the server's measured work.
void BM_DtlsPskRegisterSteady(benchmark::State& state) {
    static DtlsServer srv(std::chrono::seconds(60), 60);
    static std::size_t n = 0;
    psk_register_loop(state, srv, n);
}

void BM_BareGnutlsPsk(benchmark::State& state) {
    bench::BareServer srv(false);
    std::chrono::nanoseconds server_time{0};
    for (auto _ : state)
        if (!bench::bare_handshake(srv, &server_time)) {
            state.SkipWithError("bare handshake failed");
            break;
        }
    state.SetItemsProcessed(state.iterations());
    server_side_counters(state, server_time);
}

} // namespace

BENCHMARK(BM_Register)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RegisterHot)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Reregister)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Update)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Memory)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BareGnutlsPsk)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DtlsPskRegister)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DtlsPskRegisterSteady)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
