// The loop's epoll wait (large socket sets: lwm2m-fleet's one socket per device) against the
// ppoll wait: the same behaviour, a cost per wake-up that follows the ready sockets, nanosecond
// deadlines. Bounded like loop_test.cpp: every run has a timeout of a few seconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include <lwm2m/transport/loop.hpp>

#include "test_cores.hpp"

namespace lwm2m::transport {
namespace {

using namespace std::chrono_literals;
using test::ClientCore;
using test::EchoCore;
using test::SocketEchoCore;

std::vector<UdpSocket> bind_many(std::size_t n, const char* addr = "127.0.0.1:0") {
    std::vector<UdpSocket> v;
    v.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto s = UdpSocket::bind(*PeerAddr::parse(addr));
        if (!s) return {};
        v.push_back(std::move(*s));
    }
    return v;
}

std::vector<UdpSocket*> pointers(std::vector<UdpSocket>& v) {
    std::vector<UdpSocket*> p;
    for (auto& s : v)
        p.push_back(&s);
    return p;
}

TEST(LoopEpoll, AutomaticChoosesPpollForFewSocketsAndEpollForMany) {
    auto few = bind_many(2);
    auto many = bind_many(80);
    ASSERT_EQ(few.size(), 2U);
    ASSERT_EQ(many.size(), 80U);
    SocketEchoCore core;
    LoopOptions opt;
    opt.epoll_min_sockets = 64;
    EXPECT_FALSE(Loop(core, pointers(few), opt).uses_epoll());
    EXPECT_TRUE(Loop(core, pointers(many), opt).uses_epoll());
    opt.wait = WaitMethod::epoll;
    EXPECT_TRUE(Loop(core, pointers(few), opt).uses_epoll());
    opt.wait = WaitMethod::ppoll;
    EXPECT_FALSE(Loop(core, pointers(many), opt).uses_epoll());
}

class LoopEpollEcho : public ::testing::TestWithParam<const char*> {};

TEST_P(LoopEpollEcho, EchoesABurstLikeThePpollLoop) {
    auto ss = UdpSocket::bind(*PeerAddr::parse(GetParam()));
    auto cs = UdpSocket::bind(*PeerAddr::parse(GetParam()));
    ASSERT_TRUE(ss && cs);
    LoopOptions opt;
    opt.wait = WaitMethod::epoll;
    opt.batch_size = 4;
    EchoCore echo;
    Loop server(echo, *ss, opt);
    ASSERT_TRUE(server.uses_epoll());
    std::thread t([&] { (void)server.run_for(10s); });
    ClientCore cc;
    Loop client(cc, *cs, opt);
    constexpr int n = 200; // within the default receive buffer (about 256 small datagrams)
    for (int i = 0; i < n; ++i)
        cc.send(ss->local_addr(), "ping " + std::to_string(i));
    auto done = client.run_until([&] { return cc.replies.size() == n; }, 5s);
    server.stop(); // from another thread: wakes the server's epoll wait through the eventfd
    t.join();
    ASSERT_TRUE(done);
    EXPECT_TRUE(*done) << "got " << cc.replies.size();
    for (int i = 0; i < n && static_cast<std::size_t>(i) < cc.replies.size(); ++i)
        EXPECT_EQ(cc.replies[static_cast<std::size_t>(i)], "ping " + std::to_string(i));
    EXPECT_EQ(server.stats().datagrams_received, static_cast<std::uint64_t>(n));
    EXPECT_EQ(server.stats().datagrams_sent, static_cast<std::uint64_t>(n));
}

INSTANTIATE_TEST_SUITE_P(Loopback, LoopEpollEcho, ::testing::Values("127.0.0.1:0", "[::1]:0"),
                         [](const auto& param_info) {
                             return std::string(param_info.param[0] == '[' ? "v6" : "v4");
                         });

// 2,000 sockets in one loop: a datagram to socket k reaches the core with index k and the answer
// leaves from socket k; a wake-up for one datagram finds exactly one ready socket (the wait's
// work follows the ready sockets, not the 2,000).
TEST(LoopEpoll, RoutesByArrivalSocketAcrossTwoThousandSockets) {
    // Needs more than the usual soft limit of 1,024 descriptors: raise it up to the hard limit.
    rlimit rl{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 2100 && rl.rlim_max > rl.rlim_cur) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 2100);
        ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    const std::size_t n = std::min<std::size_t>(2000, rl.rlim_cur - 100);
    auto socks = bind_many(n);
    ASSERT_EQ(socks.size(), n);
    SocketEchoCore core;
    Loop server(core, pointers(socks), {});
    ASSERT_TRUE(server.uses_epoll());
    auto cs = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(cs);
    ClientCore cc;
    Loop client(cc, *cs);
    const std::vector<std::size_t> targets = {0, 1, n / 3, n / 2 + 1, n - 1};
    for (const std::size_t k : targets) {
        const std::uint64_t ready_before = server.stats().wakeups_ready;
        const std::size_t replies_before = cc.replies.size();
        cc.send(socks[k].local_addr(), "to " + std::to_string(k));
        ASSERT_TRUE(client.run_once(0ms)); // sends
        // The datagram is on loopback: the next wait sees it (bounded).
        for (int i = 0; i < 200 && core.sockets.size() < replies_before + 1; ++i)
            ASSERT_TRUE(server.run_once(20ms));
        ASSERT_EQ(core.sockets.size(), replies_before + 1);
        EXPECT_EQ(core.sockets.back(), k);
        EXPECT_EQ(server.stats().wakeups_ready - ready_before, 1U);
        for (int i = 0; i < 200 && cc.replies.size() < replies_before + 1; ++i)
            ASSERT_TRUE(client.run_once(20ms));
        ASSERT_EQ(cc.replies.size(), replies_before + 1);
        EXPECT_EQ(cc.replies.back(), "to " + std::to_string(k));
        EXPECT_EQ(cc.reply_peers.back(), socks[k].local_addr()); // answered from socket k
    }
    EXPECT_EQ(server.stats().datagrams_received, targets.size());
}

// Many sockets ready at once, more than one wake-up takes (max_events_per_wakeup): level-
// triggered epoll reports the rest on the next wake-up; nothing is lost.
TEST(LoopEpoll, TakesMoreReadySocketsThanOneWakeupHolds) {
    constexpr std::size_t n = 300;
    auto socks = bind_many(n);
    ASSERT_EQ(socks.size(), n);
    SocketEchoCore core;
    LoopOptions opt;
    opt.max_events_per_wakeup = 16;
    opt.max_batches_per_wakeup = 1;
    opt.batch_size = 1;
    Loop server(core, pointers(socks), opt);
    ASSERT_TRUE(server.uses_epoll());
    auto cs = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(cs);
    for (std::size_t k = 0; k < n; ++k)
        for (int j = 0; j < 2; ++j) // two per socket: batch_size 1 leaves one for later
            ASSERT_TRUE(cs->send_to(socks[k].local_addr(), to_bytes("x")));
    auto done = server.run_until([&] { return core.sockets.size() == 2 * n; }, 5s);
    ASSERT_TRUE(done);
    EXPECT_TRUE(*done) << core.sockets.size();
    std::vector<int> per(n, 0);
    for (const auto s : core.sockets)
        ++per.at(s);
    for (std::size_t k = 0; k < n; ++k)
        EXPECT_EQ(per[k], 2) << "socket " << k;
    EXPECT_GE(server.stats().iterations, 2 * n / opt.max_events_per_wakeup);
}

// epoll_wait() takes milliseconds; the loop must neither wake before a deadline between two
// milliseconds (then spin on zero waits until it passes) nor after a rounded-up millisecond.
TEST(LoopEpoll, MeetsSubMillisecondDeadlinesWithoutSpinning) {
    auto socks = bind_many(100);
    ASSERT_EQ(socks.size(), 100U);
    ClientCore cc;
    Loop loop(cc, pointers(socks), {});
    ASSERT_TRUE(loop.uses_epoll());
    for (const auto offset : {2'300us, 5'700us, 10'050us}) {
        cc.fired_at.reset();
        const std::uint64_t it0 = loop.stats().iterations;
        const TimePoint deadline = LoopBase::now() + offset;
        cc.deadline = deadline;
        auto done = loop.run_until([&] { return cc.fired_at.has_value(); }, 2s);
        ASSERT_TRUE(done);
        ASSERT_TRUE(*done);
        EXPECT_GE(*cc.fired_at, deadline); // never early
        // One wait to the deadline (a second if a signal or a late scheduler cut it short); a
        // millisecond-rounded early wake-up would make it spin hundreds of times.
        EXPECT_LE(loop.stats().iterations - it0, 3U);
    }
}

TEST(LoopEpoll, PostedTasksAndStopWakeTheWait) {
    auto socks = bind_many(70);
    ASSERT_EQ(socks.size(), 70U);
    ClientCore cc;
    Loop loop(cc, pointers(socks), {});
    ASSERT_TRUE(loop.uses_epoll());
    std::atomic<int> ran{0};
    std::thread t([&] {
        std::this_thread::sleep_for(20ms);
        loop.post([&](TimePoint) { ++ran; });
        std::this_thread::sleep_for(20ms);
        loop.stop();
    });
    const TimePoint start = LoopBase::now();
    ASSERT_TRUE(loop.run_for(10s));
    t.join();
    EXPECT_EQ(ran.load(), 1);
    EXPECT_LT(LoopBase::now() - start, 5s); // stop() ended the 10 s run
}

} // namespace
} // namespace lwm2m::transport
