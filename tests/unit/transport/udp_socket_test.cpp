#include <gtest/gtest.h>

#include <poll.h>

#include <lwm2m/transport/errc.hpp>
#include <lwm2m/transport/udp_socket.hpp>

namespace lwm2m::transport {
namespace {

bool wait_readable(const UdpSocket& s, int ms = 2000) {
    pollfd p{s.fd(), POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
}

PeerAddr loopback(PeerAddr::Family f) {
    return f == PeerAddr::Family::ipv4 ? *PeerAddr::parse("127.0.0.1:0")
                                       : *PeerAddr::parse("[::1]:0");
}

class UdpSocketFamily : public ::testing::TestWithParam<PeerAddr::Family> {};

TEST_P(UdpSocketFamily, EphemeralBindReportsPortAndFamily) {
    auto s = UdpSocket::bind(loopback(GetParam()));
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_TRUE(s->is_open());
    EXPECT_NE(s->local_addr().port, 0);
    EXPECT_EQ(s->local_addr().family, GetParam());
    EXPECT_EQ(s->family(), GetParam());
}

TEST_P(UdpSocketFamily, BatchSendThenBatchReceivePreservesOrderAndSource) {
    auto a = UdpSocket::bind(loopback(GetParam()));
    auto b = UdpSocket::bind(loopback(GetParam()));
    ASSERT_TRUE(a && b);
    std::vector<Datagram> out;
    for (int i = 0; i < 40; ++i)
        out.push_back({b->local_addr(), to_bytes("d" + std::to_string(i))});
    SendOutcome r = a->send_batch(out, 32);
    EXPECT_EQ(r.consumed, 40U);
    EXPECT_EQ(r.sent, 40U);
    EXPECT_EQ(r.dropped, 0U);
    RecvBatch batch(16, 512);
    std::vector<std::string> got;
    while (got.size() < 40 && wait_readable(*b)) {
        auto n = b->receive_batch(batch);
        ASSERT_TRUE(n);
        EXPECT_LE(*n, 16U);
        for (std::size_t i = 0; i < *n; ++i) {
            ASSERT_TRUE(batch.peer(i));
            EXPECT_EQ(*batch.peer(i), a->local_addr());
            EXPECT_FALSE(batch.truncated(i));
            EXPECT_EQ(batch.datagram_size(i), batch.bytes(i).size());
            got.emplace_back(as_string_view(batch.bytes(i)));
        }
    }
    ASSERT_EQ(got.size(), 40U);
    for (int i = 0; i < 40; ++i)
        EXPECT_EQ(got[static_cast<std::size_t>(i)], "d" + std::to_string(i));
}

TEST_P(UdpSocketFamily, OversizedDatagramIsFlaggedTruncated) {
    auto a = UdpSocket::bind(loopback(GetParam()));
    auto b = UdpSocket::bind(loopback(GetParam()));
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->send_to(b->local_addr(), Bytes(100, std::byte{0x41})));
    RecvBatch batch(4, 64);
    ASSERT_TRUE(wait_readable(*b));
    auto n = b->receive_batch(batch);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 1U);
    EXPECT_TRUE(batch.truncated(0));
    EXPECT_EQ(batch.bytes(0).size(), 64U);
    EXPECT_EQ(batch.datagram_size(0), 100U); // the real size (MSG_TRUNC)
}

INSTANTIATE_TEST_SUITE_P(Loopback, UdpSocketFamily,
                         ::testing::Values(PeerAddr::Family::ipv4, PeerAddr::Family::ipv6));

TEST(UdpSocket, NothingWaitingReceivesZero) {
    auto a = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(a);
    RecvBatch batch;
    auto n = a->receive_batch(batch);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0U);
}

TEST(UdpSocket, WrongFamilyIsRefusedNotSent) {
    auto a = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(a);
    auto r = a->send_to(*PeerAddr::parse("[::1]:9"), to_bytes("x"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::unsupported_family));
    std::vector<Datagram> out{{*PeerAddr::parse("[::1]:9"), to_bytes("x")},
                              {PeerAddr{}, to_bytes("y")}};
    SendOutcome o = a->send_batch(out);
    EXPECT_EQ(o.consumed, 2U);
    EXPECT_EQ(o.dropped, 2U);
    EXPECT_EQ(o.sent, 0U);
    EXPECT_FALSE(UdpSocket::bind(PeerAddr{}));
}

TEST(UdpSocket, BindingABusyPortFailsWithErrno) {
    auto a = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(a);
    auto b = UdpSocket::bind(a->local_addr());
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error(), std::error_code(EADDRINUSE, std::system_category()));
}

TEST(UdpSocket, ReusePortGroupSharesThePortAndSpreadsPeers) {
    UdpSocketOptions opt;
    opt.reuse_port = true;
    auto a = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"), opt);
    ASSERT_TRUE(a) << a.error().message();
    auto b = UdpSocket::bind(a->local_addr(), opt);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(b->local_addr(), a->local_addr());
    // A socket without the option cannot join the group.
    auto c = UdpSocket::bind(a->local_addr());
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), std::error_code(EADDRINUSE, std::system_category()));
    // 64 peers (64 source ports): each datagram reaches exactly one member, and (by the 4-tuple
    // hash) both members get some: the chance that all 64 land on one member is 2^-63.
    std::vector<UdpSocket> peers;
    for (int i = 0; i < 64; ++i) {
        auto p = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
        ASSERT_TRUE(p);
        ASSERT_TRUE(p->send_to(a->local_addr(), to_bytes("x")));
        peers.push_back(std::move(*p));
    }
    std::size_t at_a = 0;
    std::size_t at_b = 0;
    RecvBatch batch(64, 64);
    for (int round = 0; round < 200 && at_a + at_b < 64; ++round) {
        pollfd p[2] = {{a->fd(), POLLIN, 0}, {b->fd(), POLLIN, 0}};
        if (::poll(p, 2, 2000) <= 0) break;
        if (auto n = a->receive_batch(batch); n) at_a += *n;
        if (auto n = b->receive_batch(batch); n) at_b += *n;
    }
    EXPECT_EQ(at_a + at_b, 64U);
    EXPECT_GT(at_a, 0U);
    EXPECT_GT(at_b, 0U);
}

TEST(UdpSocket, DualStackSocketServesIpv4PeersAsIpv4) {
    UdpSocketOptions opt;
    opt.v6_only = false;
    auto server = UdpSocket::bind(*PeerAddr::parse("[::]:0"), opt);
    ASSERT_TRUE(server) << server.error().message();
    auto client = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(client);
    EXPECT_TRUE(server->can_reach(client->local_addr()));
    PeerAddr to = PeerAddr::v4(127, 0, 0, 1, server->local_addr().port);
    ASSERT_TRUE(client->send_to(to, to_bytes("hi")));
    ASSERT_TRUE(wait_readable(*server));
    RecvBatch batch;
    auto n = server->receive_batch(batch);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 1U);
    ASSERT_TRUE(batch.peer(0));
    EXPECT_EQ(*batch.peer(0), client->local_addr()); // IPv4, not ::ffff:127.0.0.1
    // And the answer goes back through the v6 socket to the IPv4 peer.
    ASSERT_TRUE(server->send_to(*batch.peer(0), to_bytes("ho")));
    ASSERT_TRUE(wait_readable(*client));
    n = client->receive_batch(batch);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, 1U);
    EXPECT_EQ(as_string_view(batch.bytes(0)), "ho");
}

TEST(UdpSocket, MovedFromSocketIsClosed) {
    auto a = UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(a);
    int fd = a->fd();
    UdpSocket b = std::move(*a);
    EXPECT_FALSE(a->is_open());
    EXPECT_EQ(b.fd(), fd);
}

} // namespace
} // namespace lwm2m::transport
