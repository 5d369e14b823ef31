// The driver with tiny cores over real loopback sockets. Bounded: every run has a timeout of a
// few seconds and normally finishes in milliseconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include <poll.h>
#include <sys/socket.h>

#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/sockaddr.hpp>

#include "test_cores.hpp"

namespace lwm2m::transport {
namespace {

using namespace std::chrono_literals;
using test::ClientCore;
using test::EchoCore;
using test::SocketEchoCore;

static_assert(SansIoCore<EchoCore>);
static_assert(SansIoCore<ClientCore>);
static_assert(SansIoCore<SocketEchoCore>);
static_assert(SocketAwareCore<SocketEchoCore>);
static_assert(!SocketAwareCore<EchoCore>);
static_assert(!SansIoCore<int>);
static_assert(AnswersOversized<test::OversizedCore>);
static_assert(!AnswersOversized<EchoCore>);

struct Case {
    const char* addr;
    std::size_t batch;
};

class LoopEcho : public ::testing::TestWithParam<Case> {};

TEST_P(LoopEcho, EchoesABurstThroughAServerLoopOnAnotherThread) {
    auto ss = UdpSocket::bind(*PeerAddr::parse(GetParam().addr));
    auto cs = UdpSocket::bind(*PeerAddr::parse(GetParam().addr));
    ASSERT_TRUE(ss && cs);
    LoopOptions opt;
    opt.batch_size = GetParam().batch;
    EchoCore echo;
    Loop server(echo, *ss, opt);
    std::thread t([&] { (void)server.run_for(10s); });

    ClientCore cc;
    Loop client(cc, *cs, opt);
    constexpr int n = 200;
    for (int i = 0; i < n; ++i)
        cc.send(ss->local_addr(), "ping " + std::to_string(i));
    auto done = client.run_until([&] { return cc.replies.size() == n; }, 5s);
    server.stop(); // from another thread: wakes the server's ppoll
    t.join();
    ASSERT_TRUE(done);
    EXPECT_TRUE(*done) << "got " << cc.replies.size();
    // Loopback keeps order; every reply comes from the server's address.
    for (int i = 0; i < n && static_cast<std::size_t>(i) < cc.replies.size(); ++i) {
        EXPECT_EQ(cc.replies[static_cast<std::size_t>(i)], "ping " + std::to_string(i));
        EXPECT_EQ(cc.reply_peers[static_cast<std::size_t>(i)], ss->local_addr());
    }
    EXPECT_EQ(echo.received, static_cast<std::size_t>(n));
    EXPECT_EQ(server.stats().datagrams_received, static_cast<std::uint64_t>(n));
    EXPECT_EQ(server.stats().datagrams_sent, static_cast<std::uint64_t>(n));
    EXPECT_EQ(client.stats().datagrams_sent, static_cast<std::uint64_t>(n));
    ASSERT_TRUE(echo.last_peer);
    EXPECT_EQ(*echo.last_peer, cs->local_addr());
}

INSTANTIATE_TEST_SUITE_P(Loopback, LoopEcho,
                         ::testing::Values(Case{"127.0.0.1:0", 32}, Case{"[::1]:0", 32},
                                           Case{"127.0.0.1:0", 1}, Case{"[::1]:0", 1}),
                         [](const auto& param_info) {
                             return std::string(param_info.param.addr[0] == '[' ? "v6" : "v4") +
                                    "_batch" + std::to_string(param_info.param.batch);
                         });

TEST(Loop, CallsOnTimeoutAtTheCoresDeadline) {
    auto s = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(s);
    ClientCore cc;
    Loop loop(cc, *s);
    const TimePoint start = LoopBase::now();
    cc.deadline = start + 30ms;
    auto done = loop.run_until([&] { return cc.fired_at.has_value(); }, 2s);
    ASSERT_TRUE(done);
    ASSERT_TRUE(*done);
    EXPECT_GE(*cc.fired_at, start + 30ms); // never early
    EXPECT_LT(*cc.fired_at, start + 1s);   // and not stuck until the run's timeout
    EXPECT_EQ(loop.stats().timeouts, 1U);
}

TEST(Loop, RunForReturnsAfterItsDurationWithoutTraffic) {
    auto s = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(s);
    EchoCore echo;
    Loop loop(echo, *s);
    const TimePoint start = LoopBase::now();
    ASSERT_TRUE(loop.run_for(50ms));
    const Duration took = LoopBase::now() - start;
    EXPECT_GE(took, 50ms);
    EXPECT_LT(took, 2s);
}

TEST(Loop, StopFromTheHookEndsRunFor) {
    auto s = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(s);
    ClientCore cc;
    Loop loop(cc, *s);
    int calls = 0;
    loop.set_hook([&](TimePoint now) {
        cc.deadline = now; // keeps every iteration short
        if (++calls == 3) loop.stop();
    });
    cc.deadline = LoopBase::now();
    const TimePoint start = LoopBase::now();
    ASSERT_TRUE(loop.run_for(10s));
    EXPECT_EQ(calls, 3);
    EXPECT_LT(LoopBase::now() - start, 5s);
    // The stop was consumed: a later run runs again.
    ASSERT_TRUE(loop.run_for(1ms));
    EXPECT_GE(calls, 4);
}

TEST(Loop, HookCanSendAndItGoesOutBeforeTheNextWait) {
    auto ss = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto cs = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(ss && cs);
    EchoCore echo;
    Loop server(echo, *ss);
    ClientCore cc;
    Loop client(cc, *cs);
    bool sent = false;
    client.set_hook([&](TimePoint) {
        if (!sent) {
            cc.send(ss->local_addr(), "from hook");
            sent = true;
        }
    });
    // Drive both loops from this thread, alternating short iterations.
    bool got = false;
    for (int i = 0; i < 400 && !got; ++i) {
        ASSERT_TRUE(client.run_once(5ms));
        ASSERT_TRUE(server.run_once(5ms));
        got = !cc.replies.empty();
    }
    ASSERT_TRUE(got);
    EXPECT_EQ(cc.replies[0], "from hook");
}

TEST(Loop, SurvivesIcmpUnreachableAndUnroutableAndOversizedDatagrams) {
    auto ss = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto cs = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(ss && cs);
    // A port that nobody listens on: the kernel answers ICMP port unreachable.
    PeerAddr closed;
    {
        auto tmp = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
        ASSERT_TRUE(tmp);
        closed = tmp->local_addr();
    }
    LoopOptions sopt;
    sopt.max_datagram = 256;
    EchoCore echo;
    Loop server(echo, *ss, sopt);
    ClientCore cc;
    Loop client(cc, *cs);
    for (int i = 0; i < 5; ++i)
        cc.send(closed, "nobody home");
    cc.send(*PeerAddr::parse("[::1]:5683"), "wrong family for a v4 socket");
    cc.send(ss->local_addr(), std::string(1000, 'x')); // longer than the server's max_datagram
    cc.send(ss->local_addr(), "still alive");
    bool got = false;
    for (int i = 0; i < 400 && !got; ++i) {
        ASSERT_TRUE(client.run_once(5ms));
        ASSERT_TRUE(server.run_once(5ms));
        got = !cc.replies.empty();
    }
    ASSERT_TRUE(got);
    EXPECT_EQ(cc.replies[0], "still alive");
    EXPECT_EQ(cc.replies.size(), 1U);
    EXPECT_EQ(client.stats().unroutable_dropped, 1U);
    EXPECT_EQ(server.stats().truncated_dropped, 1U);
    EXPECT_EQ(server.stats().datagrams_received, 1U);
    EXPECT_EQ(client.stats().receive_errors, 0U);
}

// A core with on_oversized() gets the readable head and the real size of a datagram longer
// than max_datagram (and can answer it); the datagram is never delivered as a message.
TEST(Loop, OversizedDatagramsGoToACoreThatAnswersThem) {
    auto ss = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto cs = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(ss && cs);
    LoopOptions sopt;
    sopt.max_datagram = 256;
    test::OversizedCore core;
    Loop server(core, *ss, sopt);
    ClientCore cc;
    Loop client(cc, *cs);
    std::string big(5000, 'x');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>('a' + i % 26);
    cc.send(ss->local_addr(), big);
    cc.send(ss->local_addr(), "small");
    for (int i = 0; i < 400 && cc.replies.size() < 2; ++i) {
        ASSERT_TRUE(client.run_once(5ms));
        ASSERT_TRUE(server.run_once(5ms));
    }
    ASSERT_EQ(cc.replies.size(), 2U);
    EXPECT_EQ(cc.replies[0], "too large");
    EXPECT_EQ(cc.replies[1], "small");
    ASSERT_EQ(core.sizes.size(), 1U);
    EXPECT_EQ(core.sizes[0], 5000U);
    ASSERT_EQ(core.heads[0].size(), 256U);
    EXPECT_EQ(as_string_view(core.heads[0]), big.substr(0, 256));
    EXPECT_EQ(core.received, 1U); // only "small" went through on_datagram
    EXPECT_EQ(server.stats().truncated_dropped, 1U);
}

TEST(Loop, PendingEconnrefusedOnTheSocketDoesNotStopTheLoop) {
    // Linux reports ICMP port unreachable as ECONNREFUSED on a connected UDP socket (udp(7)).
    // Connect the client's socket to a closed port so the error really lands on the socket, let
    // the loop hit it on recvmmsg/sendmmsg, then disconnect and check the loop still works.
    auto ss = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto cs = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(ss && cs);
    PeerAddr closed;
    {
        auto tmp = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
        ASSERT_TRUE(tmp);
        closed = tmp->local_addr();
    }
    sockaddr_storage sa;
    socklen_t len = to_sockaddr(closed, sa);
    ASSERT_EQ(::connect(cs->fd(), reinterpret_cast<const sockaddr*>(&sa), len), 0);
    EchoCore echo;
    Loop server(echo, *ss);
    ClientCore cc;
    Loop client(cc, *cs);
    ASSERT_TRUE(cs->send_to(closed, to_bytes("refused")));
    // Wait for the ICMP error to be queued on the socket (bounded).
    int err = 0;
    for (int i = 0; i < 200 && err == 0; ++i) {
        pollfd p{cs->fd(), 0, 0};
        ::poll(&p, 1, 5);
        if (p.revents & POLLERR) err = ECONNREFUSED;
    }
    ASSERT_EQ(err, ECONNREFUSED) << "the kernel did not report the ICMP error";
    // The loop wakes on POLLERR, reads, swallows ECONNREFUSED and carries on.
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(client.run_once(1ms));
    EXPECT_EQ(client.stats().receive_errors, 0U);
    sockaddr unspec{};
    unspec.sa_family = AF_UNSPEC;
    ASSERT_EQ(::connect(cs->fd(), &unspec, sizeof unspec), 0);
    cc.send(ss->local_addr(), "after the error");
    for (int i = 0; i < 400 && cc.replies.empty(); ++i) {
        ASSERT_TRUE(client.run_once(2ms));
        ASSERT_TRUE(server.run_once(2ms));
    }
    ASSERT_EQ(cc.replies.size(), 1U);
    EXPECT_EQ(cc.replies[0], "after the error");
}

TEST(Loop, TasksPostedFromAnotherThreadRunOnTheLoopThreadInOrderAndWakeIt) {
    auto s = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(s);
    EchoCore echo; // no deadline: without a wake-up the loop would sleep for the whole timeout
    Loop loop(echo, *s);
    std::vector<int> order;
    std::thread::id ran_on;
    const TimePoint start = LoopBase::now();
    std::thread poster([&] {
        for (int i = 0; i < 100; ++i) {
            loop.post([&order, &ran_on, i](TimePoint) {
                order.push_back(i);
                ran_on = std::this_thread::get_id();
            });
        }
    });
    auto done = loop.run_until([&] { return order.size() == 100; }, 10s);
    poster.join();
    ASSERT_TRUE(done);
    EXPECT_TRUE(*done);
    EXPECT_LT(LoopBase::now() - start, 5s);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    ASSERT_EQ(order.size(), 100U);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(Loop, PostedTaskCanFeedTheCoreAndItsOutputIsSent) {
    auto ss = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto cs = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(ss && cs);
    EchoCore echo;
    Loop server(echo, *ss);
    std::thread t([&] { (void)server.run_for(10s); });
    ClientCore cc;
    Loop client(cc, *cs);
    std::thread poster(
        [&] { client.post([&](TimePoint) { cc.send(ss->local_addr(), "posted"); }); });
    auto done = client.run_until([&] { return !cc.replies.empty(); }, 5s);
    poster.join();
    server.stop();
    t.join();
    ASSERT_TRUE(done);
    ASSERT_TRUE(*done);
    EXPECT_EQ(cc.replies[0], "posted");
}

TEST(Loop, TwoSocketsRouteRepliesByFamily) {
    auto s4 = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto s6 = UdpSocket::bind(*PeerAddr::parse("[::1]:0"));
    auto c4 = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto c6 = UdpSocket::bind(*PeerAddr::parse("[::1]:0"));
    ASSERT_TRUE(s4 && s6 && c4 && c6);
    EchoCore echo;
    UdpSocket* both[] = {&*s4, &*s6};
    Loop server(echo, std::span<UdpSocket* const>(both));
    ClientCore k4;
    ClientCore k6;
    Loop l4(k4, *c4);
    Loop l6(k6, *c6);
    k4.send(s4->local_addr(), "four");
    k6.send(s6->local_addr(), "six");
    for (int i = 0; i < 400 && (k4.replies.empty() || k6.replies.empty()); ++i) {
        ASSERT_TRUE(l4.run_once(2ms));
        ASSERT_TRUE(l6.run_once(2ms));
        ASSERT_TRUE(server.run_once(2ms));
    }
    ASSERT_EQ(k4.replies.size(), 1U);
    ASSERT_EQ(k6.replies.size(), 1U);
    EXPECT_EQ(k4.replies[0], "four");
    EXPECT_EQ(k6.replies[0], "six");
    EXPECT_EQ(k4.reply_peers[0], s4->local_addr());
    EXPECT_EQ(k6.reply_peers[0], s6->local_addr());
}

TEST(Loop, SocketAwareCoreLearnsTheArrivalSocketAndRepliesFromIt) {
    // Two ports of one family (a server's 5683 and 5684): the core is told which one a datagram
    // arrived on, and its reply (Datagram::socket) leaves from that port, not the first one.
    auto s0 = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto s1 = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto c = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(s0 && s1 && c);
    SocketEchoCore echo;
    UdpSocket* both[] = {&*s0, &*s1};
    Loop server(echo, std::span<UdpSocket* const>(both));
    ClientCore k;
    Loop lc(k, *c);
    k.send(s1->local_addr(), "to one");
    k.send(s0->local_addr(), "to zero");
    for (int i = 0; i < 400 && k.replies.size() < 2; ++i) {
        ASSERT_TRUE(lc.run_once(2ms));
        ASSERT_TRUE(server.run_once(2ms));
    }
    ASSERT_EQ(k.replies.size(), 2U);
    ASSERT_EQ(echo.sockets.size(), 2U);
    // Arrival order between two sockets is not guaranteed: match replies by text.
    for (std::size_t i = 0; i < 2; ++i) {
        const bool one = k.replies[i] == "to one";
        EXPECT_EQ(k.reply_peers[i], one ? s1->local_addr() : s0->local_addr()) << k.replies[i];
    }
    EXPECT_EQ(std::count(echo.sockets.begin(), echo.sockets.end(), std::uint16_t{1}), 1);
    EXPECT_EQ(std::count(echo.sockets.begin(), echo.sockets.end(), std::uint16_t{0}), 1);
}

TEST(Loop, DatagramSocketFallsBackToTheFirstSocketThatCanReachThePeer) {
    // sockets() = {v6, v4a, v4b}. A reply asking for the v6 socket (cannot reach an IPv4 peer)
    // or for a socket that does not exist leaves from the first IPv4 socket; one asking for v4b
    // leaves from v4b.
    auto s6 = UdpSocket::bind(*PeerAddr::parse("[::1]:0"));
    auto s4a = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto s4b = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto c = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(s6 && s4a && s4b && c);
    SocketEchoCore echo;
    UdpSocket* all[] = {&*s6, &*s4a, &*s4b};
    Loop server(echo, std::span<UdpSocket* const>(all));
    ClientCore k;
    Loop lc(k, *c);
    const std::uint16_t wanted[] = {0, 9, 2};
    const PeerAddr expected[] = {s4a->local_addr(), s4a->local_addr(), s4b->local_addr()};
    for (std::size_t n = 0; n < 3; ++n) {
        echo.force_socket = wanted[n];
        k.send(s4b->local_addr(), "x");
        for (int i = 0; i < 400 && k.replies.size() <= n; ++i) {
            ASSERT_TRUE(lc.run_once(2ms));
            ASSERT_TRUE(server.run_once(2ms));
        }
        ASSERT_EQ(k.replies.size(), n + 1);
        EXPECT_EQ(k.reply_peers[n], expected[n]) << "socket " << wanted[n];
        EXPECT_EQ(echo.sockets[n], 2U); // every request arrived on s4b
    }
    EXPECT_EQ(server.stats().unroutable_dropped, 0U);
}

} // namespace
} // namespace lwm2m::transport
