#include <gtest/gtest.h>

#include <lwm2m/base/peer.hpp>

namespace lwm2m {
namespace {

TEST(PeerAddr, ParsesAndFormatsIpv4) {
    auto p = PeerAddr::parse("127.0.0.1:5683");
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, PeerAddr::v4(127, 0, 0, 1, 5683));
    EXPECT_EQ(p->to_string(), "127.0.0.1:5683");
    EXPECT_FALSE(PeerAddr::parse("256.0.0.1:1"));
    EXPECT_FALSE(PeerAddr::parse("1.2.3:1"));
    EXPECT_FALSE(PeerAddr::parse("1.2.3.4:65536"));
    EXPECT_FALSE(PeerAddr::parse("1.2.3.4:"));
}

TEST(PeerAddr, ParsesAndFormatsIpv6) {
    auto p = PeerAddr::parse("[::1]:5684");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->family, PeerAddr::Family::ipv6);
    EXPECT_EQ(p->addr[15], 1);
    EXPECT_EQ(p->to_string(), "[::1]:5684");
    auto q = PeerAddr::parse("[2001:db8::8:800:200c:417a]:1");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->to_string(), "[2001:db8::8:800:200c:417a]:1");
    auto m = PeerAddr::parse("::ffff:1.2.3.4");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->addr[12], 1);
    EXPECT_EQ(m->addr[15], 4);
    EXPECT_FALSE(PeerAddr::parse("[1::2::3]:1"));
    EXPECT_FALSE(PeerAddr::parse("[::1"));
    EXPECT_FALSE(PeerAddr::parse("[12345::]:1"));
}

TEST(PeerAddr, HashDistinguishesPorts) {
    auto a = PeerAddr::v4(10, 0, 0, 1, 1);
    auto b = PeerAddr::v4(10, 0, 0, 1, 2);
    EXPECT_NE(a.hash(), b.hash());
    EXPECT_NE(a, b);
}

} // namespace
} // namespace lwm2m
