// Datagrams per second through the UDP driver on loopback: an echo core in a server Loop (own
// thread) and a client Loop that keeps `window` datagrams in flight. Each echo is 2 datagrams
// received + 2 sent across the two loops; items/s below counts echoes (round trips).
//
//   build/<release>/bench/transport/bench_transport
//
// Args: {batch size, window, payload bytes}. Batch 1 = one syscall per datagram (recvmmsg /
// sendmmsg with vlen 1), the "non-batched" baseline.
#include <benchmark/benchmark.h>

#include <chrono>
#include <deque>
#include <thread>

#include <lwm2m/transport/loop.hpp>

namespace lwm2m::transport {
namespace {

using namespace std::chrono_literals;

class EchoCore {
public:
    void on_datagram(TimePoint, const PeerAddr& from, BytesView b) {
        out_.push_back({from, Bytes(b.begin(), b.end())});
    }
    void on_timeout(TimePoint) {}
    std::optional<Datagram> poll_transmit() {
        if (out_.empty()) return std::nullopt;
        Datagram d = std::move(out_.front());
        out_.pop_front();
        return d;
    }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const { return std::nullopt; }

private:
    std::deque<Datagram> out_;
};

/// Keeps `window` datagrams in flight; declares them lost after 50 ms of silence.
class PumpCore {
public:
    PumpCore(PeerAddr server, std::size_t window, std::size_t payload)
        : server_(server)
        , window_(window)
        , payload_(payload, std::byte{0x5a}) {}
    void on_datagram(TimePoint now, const PeerAddr&, BytesView) {
        ++replies;
        if (in_flight_ > 0) --in_flight_;
        last_ = now;
    }
    void on_timeout(TimePoint now) {
        lost += in_flight_;
        in_flight_ = 0;
        last_ = now;
    }
    std::optional<Datagram> poll_transmit() {
        if (in_flight_ >= window_) return std::nullopt;
        ++in_flight_;
        return Datagram{server_, payload_};
    }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const {
        if (in_flight_ == 0) return std::nullopt;
        return last_ + 50ms;
    }
    void start(TimePoint now) { last_ = now; }

    std::uint64_t replies = 0;
    std::uint64_t lost = 0;

private:
    PeerAddr server_;
    std::size_t window_;
    Bytes payload_;
    std::size_t in_flight_ = 0;
    TimePoint last_{};
};

void BM_UdpEcho(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const auto window = static_cast<std::size_t>(state.range(1));
    const auto payload = static_cast<std::size_t>(state.range(2));
    UdpSocketOptions so;
    so.receive_buffer_bytes = 1 << 21;
    so.send_buffer_bytes = 1 << 21;
    auto ss = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"), so);
    auto cs = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"), so);
    if (!ss || !cs) {
        state.SkipWithError("bind failed");
        return;
    }
    LoopOptions lo;
    lo.batch_size = batch;
    EchoCore echo;
    Loop server(echo, *ss, lo);
    std::thread t([&] { (void)server.run_for(600s); });

    PumpCore pump(ss->local_addr(), window, payload);
    Loop client(pump, *cs, lo);
    pump.start(LoopBase::now());
    constexpr std::uint64_t per_iteration = 20000;
    for (auto _ : state) {
        const std::uint64_t target = pump.replies + per_iteration;
        auto ok = client.run_until([&] { return pump.replies >= target; }, 30s);
        if (!ok || !*ok) {
            state.SkipWithError("echo stalled");
            break;
        }
    }
    server.stop();
    t.join();
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * per_iteration));
    state.counters["lost"] = static_cast<double>(pump.lost);
    state.counters["server_iterations"] = static_cast<double>(server.stats().iterations);
}

BENCHMARK(BM_UdpEcho)
    ->ArgNames({"batch", "window", "bytes"})
    ->Args({32, 64, 64})
    ->Args({1, 64, 64})
    ->Args({32, 1, 64})
    ->Args({32, 256, 64})
    ->Args({1, 256, 64})
    ->Args({32, 64, 1024})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

} // namespace
} // namespace lwm2m::transport

BENCHMARK_MAIN();
