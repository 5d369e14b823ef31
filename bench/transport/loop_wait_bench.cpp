// What one wake-up of transport::Loop costs with N sockets in its set, ppoll against epoll
// (LoopOptions::wait): the loop holds N UDP sockets (lwm2m-fleet: one per simulated device), a
// sender puts one datagram on one of them (a different one each time), and one run_once() wakes,
// reads it, hands it to the core and returns. CPU time per iteration (both the sender's sendto and
// the loop's work are on this thread).
//
//   build/<preset>/bench/transport/bench_transport_wait
//
// Args: {method (0 ppoll, 1 epoll), sockets}. 19,000 is the largest set under this machine's
// 20,000 open-files limit.
#include <benchmark/benchmark.h>

#include <optional>
#include <vector>

#include <sys/resource.h>

#include <lwm2m/transport/loop.hpp>

namespace lwm2m::transport {
namespace {

using namespace std::chrono_literals;

/// Counts datagrams; answers nothing.
class CountCore {
public:
    void on_datagram(TimePoint, std::uint16_t, const PeerAddr&, BytesView) { ++received; }
    void on_timeout(TimePoint) {}
    std::optional<Datagram> poll_transmit() { return std::nullopt; }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const { return std::nullopt; }
    std::uint64_t received = 0;
};

void BM_LoopWakeup(benchmark::State& state) {
    const bool epoll = state.range(0) != 0;
    const auto n = static_cast<std::size_t>(state.range(1));
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < n + 64) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, n + 64);
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    std::vector<UdpSocket> socks;
    socks.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto s = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
        if (!s) {
            state.SkipWithError("out of descriptors (ulimit -n)");
            return;
        }
        socks.push_back(std::move(*s));
    }
    std::vector<UdpSocket*> ptrs;
    for (auto& s : socks)
        ptrs.push_back(&s);
    auto sender = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    if (!sender) {
        state.SkipWithError("out of descriptors (ulimit -n)");
        return;
    }
    CountCore core;
    LoopOptions opt;
    opt.wait = epoll ? WaitMethod::epoll : WaitMethod::ppoll;
    Loop loop(core, ptrs, opt);
    const Bytes payload(64, std::byte{0x5a});
    std::size_t k = 0;
    for (auto _ : state) {
        (void)sender->send_to(socks[k].local_addr(), payload);
        k = (k * 7919 + 1) % n; // visits every socket, not in order
        (void)loop.run_once(1s);
    }
    state.counters["received"] = static_cast<double>(core.received);
    state.counters["per_wakeup_ready"] =
        static_cast<double>(loop.stats().wakeups_ready) /
        static_cast<double>(std::max<std::uint64_t>(loop.stats().iterations, 1));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

BENCHMARK(BM_LoopWakeup)
    ->ArgNames({"epoll", "sockets"})
    ->ArgsProduct({{0, 1}, {10, 1000, 5000, 19000}})
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(0.5);

} // namespace
} // namespace lwm2m::transport

BENCHMARK_MAIN();
