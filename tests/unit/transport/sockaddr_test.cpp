#include <gtest/gtest.h>

#include <netinet/in.h>

#include <lwm2m/transport/sockaddr.hpp>

namespace lwm2m::transport {
namespace {

TEST(Sockaddr, Ipv4RoundTrip) {
    PeerAddr p = PeerAddr::v4(192, 0, 2, 7, 5683);
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(p, ss);
    ASSERT_EQ(len, sizeof(sockaddr_in));
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    EXPECT_EQ(sin->sin_family, AF_INET);
    EXPECT_EQ(ntohs(sin->sin_port), 5683);
    EXPECT_EQ(ntohl(sin->sin_addr.s_addr), 0xC0000207U);
    auto back = from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, p);
}

TEST(Sockaddr, Ipv6RoundTripKeepsScope) {
    auto p = PeerAddr::parse("[fe80::1]:5684");
    ASSERT_TRUE(p);
    p->scope_id = 3;
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(*p, ss);
    ASSERT_EQ(len, sizeof(sockaddr_in6));
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    EXPECT_EQ(sin6->sin6_family, AF_INET6);
    EXPECT_EQ(ntohs(sin6->sin6_port), 5684);
    EXPECT_EQ(sin6->sin6_scope_id, 3U);
    EXPECT_EQ(sin6->sin6_addr.s6_addr[0], 0xfe);
    auto back = from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, *p);
}

TEST(Sockaddr, Ipv4MappedForDualStackAndBack) {
    PeerAddr p = PeerAddr::v4(127, 0, 0, 1, 9);
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(p, ss, /*map_v4_to_v6=*/true);
    ASSERT_EQ(len, sizeof(sockaddr_in6));
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    EXPECT_EQ(sin6->sin6_addr.s6_addr[10], 0xff);
    EXPECT_EQ(sin6->sin6_addr.s6_addr[11], 0xff);
    EXPECT_EQ(sin6->sin6_addr.s6_addr[12], 127);
    EXPECT_EQ(sin6->sin6_addr.s6_addr[15], 1);
    // A mapped address comes back as the IPv4 peer: one peer, one key.
    auto back = from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, p);
}

TEST(Sockaddr, RejectsUnknownFamilyAndShortLength) {
    sockaddr_storage ss;
    EXPECT_EQ(to_sockaddr(PeerAddr{}, ss), 0U);
    to_sockaddr(PeerAddr::v4(1, 2, 3, 4, 5), ss);
    EXPECT_FALSE(from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), 4));
    EXPECT_FALSE(from_sockaddr(nullptr, 0));
    sockaddr_storage unix_like{};
    unix_like.ss_family = AF_UNIX;
    EXPECT_FALSE(from_sockaddr(reinterpret_cast<const sockaddr*>(&unix_like), sizeof unix_like));
}

} // namespace
} // namespace lwm2m::transport
