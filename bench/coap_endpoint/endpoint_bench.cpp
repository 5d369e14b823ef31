// Endpoint benchmarks (figures only, never pass/fail):
//  - BM_RoundTrip: client send_request -> server on_datagram -> IncomingRequest -> send_response
//    -> client on_datagram -> Response, all in memory.
//  - BM_ServerSideOnly: prebuilt request datagrams from many peers -> server on_datagram ->
//    IncomingRequest -> send_response -> poll_transmit (decode + event + response encode +
//    dedup bookkeeping).
// Virtual time advances per iteration so the dedup cache reaches a steady state (the figures
// include its insertion and expiry); the state sizes are reported as counters.
// allocs_per_iter: global operator new calls per iteration (counted by lwm2m_alloc_counter),
// including the benchmark's own copies (send_request/send_response take the Message by value).
#include <benchmark/benchmark.h>

#include <vector>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "alloc_counter.hpp"

using namespace lwm2m;
using namespace lwm2m::coap;

namespace {

const PeerAddr kClient = PeerAddr::v4(192, 0, 2, 1, 40000);
const PeerAddr kServer = PeerAddr::v4(192, 0, 2, 2, 5683);

Config bench_config() {
    Config c;
    c.max_dedup_per_peer = 1 << 20;
    c.max_dedup_entries = 1 << 22;
    c.max_peers = 1 << 20;
    return c;
}

Message request() {
    Message m;
    m.type = Type::con;
    m.code = code::get;
    m.set_path("/3/0/0");
    m.set_uint_option(option::accept, content_format::text_plain);
    return m;
}

Message response() {
    Message r;
    r.code = code::content;
    r.set_uint_option(option::content_format, content_format::text_plain);
    r.payload = to_bytes("Open Mobile Alliance");
    return r;
}

void BM_RoundTrip(benchmark::State& state) {
    SeededRandom r1(1), r2(2);
    Endpoint client(bench_config(), r1);
    Endpoint server(bench_config(), r2);
    TimePoint now{};
    // RFC 7252 §4.4: one peer pair cannot exceed 65536 MIDs per EXCHANGE_LIFETIME (~265/s), so
    // virtual time moves 5 ms per round trip.
    const Duration step = std::chrono::milliseconds(5);
    const Message req = request();
    const Message resp = response();
    std::uint64_t ok = 0;
    const std::size_t allocs0 = lwm2m::test::allocation_count();
    for (auto _ : state) {
        now += step;
        auto id = client.send_request(now, kServer, req);
        auto d = client.poll_transmit();
        server.on_datagram(now, kClient, d->bytes);
        auto e = server.poll_event();
        (void)server.send_response(now, std::get<IncomingRequest>(*e).id, resp);
        auto d2 = server.poll_transmit();
        client.on_datagram(now, kServer, d2->bytes);
        auto r = client.poll_event();
        ok += (r && std::holds_alternative<Response>(*r)) ? 1 : 0;
        if ((ok & 1023U) == 0) {
            if (auto t = client.next_deadline(); t && *t <= now) client.on_timeout(now);
            if (auto t = server.next_deadline(); t && *t <= now) server.on_timeout(now);
        }
        benchmark::DoNotOptimize(id);
    }
    state.counters["round_trips_per_s"] =
        benchmark::Counter(static_cast<double>(ok), benchmark::Counter::kIsRate);
    state.counters["failed"] = static_cast<double>(state.iterations() - ok);
    state.counters["allocs_per_iter"] =
        static_cast<double>(lwm2m::test::allocation_count() - allocs0) /
        static_cast<double>(state.iterations());
}
BENCHMARK(BM_RoundTrip);

void BM_ServerSideOnly(benchmark::State& state) {
    const auto peers = static_cast<std::size_t>(state.range(0));
    Config cfg = bench_config();
    // EXCHANGE_LIFETIME = 2 * MAX_LATENCY + PROCESSING_DELAY (MAX_RETRANSMIT 0): range(1) ms.
    // At one request per virtual microsecond the dedup cache holds range(1) * 1000 entries.
    const auto lifetime_ms = state.range(1);
    cfg.max_retransmit = 0;
    cfg.max_latency = std::chrono::microseconds(lifetime_ms * 1000 / 3);
    cfg.processing_delay = std::chrono::microseconds(lifetime_ms * 1000 / 3);
    SeededRandom rng(3);
    Endpoint server(cfg, rng);
    std::vector<PeerAddr> addrs;
    for (std::size_t i = 0; i < peers; ++i)
        addrs.push_back(PeerAddr::v4(10, static_cast<std::uint8_t>(i >> 16),
                                     static_cast<std::uint8_t>(i >> 8),
                                     static_cast<std::uint8_t>(i), 5683));
    Message req = request();
    req.token = Token::from_u64(0x1122334455667788ULL);
    Bytes bytes = encode(req);
    const Message resp = response();
    TimePoint now{};
    const Duration step = std::chrono::microseconds(1);
    std::uint64_t i = 0;
    std::uint64_t sent = 0;
    const std::size_t allocs0 = lwm2m::test::allocation_count();
    for (auto _ : state) {
        now += step;
        const std::size_t p = i % peers;
        const auto mid = static_cast<MessageId>(i / peers);
        bytes[2] = static_cast<std::byte>(mid >> 8);
        bytes[3] = static_cast<std::byte>(mid & 0xffU);
        server.on_datagram(now, addrs[p], bytes);
        if (auto e = server.poll_event()) {
            (void)server.send_response(now, std::get<IncomingRequest>(*e).id, resp);
        }
        if (auto d = server.poll_transmit()) {
            sent += 1;
            benchmark::DoNotOptimize(d->bytes.data());
        }
        if ((++i & 255U) == 0) {
            if (auto t = server.next_deadline(); t && *t <= now) server.on_timeout(now);
        }
    }
    state.counters["allocs_per_iter"] =
        static_cast<double>(lwm2m::test::allocation_count() - allocs0) /
        static_cast<double>(state.iterations());
    state.counters["requests_per_s"] =
        benchmark::Counter(static_cast<double>(sent), benchmark::Counter::kIsRate);
    state.counters["peers"] = static_cast<double>(server.stats().peers);
    state.counters["dedup_entries"] = static_cast<double>(lifetime_ms * 1000);
    state.counters["refused"] = static_cast<double>(server.stats().refused);
    state.counters["duplicates"] = static_cast<double>(server.stats().duplicates);
}
BENCHMARK(BM_ServerSideOnly)
    ->Args({1000, 3})
    ->Args({1000, 30})
    ->Args({1000, 300})
    ->Args({100000, 300});

} // namespace

BENCHMARK_MAIN();
