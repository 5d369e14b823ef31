// Rule "Resource 0 LwM2M Server URI" (docs/security-object.md): coap(s)://host:port, IP literal or
// FQDN, default ports, <= 255 bytes, else 4.00.
#include <gtest/gtest.h>

#include <string>

#include <lwm2m/client/server_uri.hpp>
#include <lwm2m/client/status.hpp>

namespace lwm2m::client {
namespace {

TEST(ServerUri, ParsesSchemesHostsAndDefaultPorts) {
    struct Case {
        const char* text;
        ServerUri::Scheme scheme;
        ServerUri::HostKind kind;
        const char* host;
        std::uint16_t port;
    };
    const Case cases[] = {
        {"coaps://leshan.eclipseprojects.io:5684", ServerUri::Scheme::coaps,
         ServerUri::HostKind::name, "leshan.eclipseprojects.io", 5684},
        {"coap://leshan.eclipseprojects.io", ServerUri::Scheme::coap, ServerUri::HostKind::name,
         "leshan.eclipseprojects.io", 5683},
        {"coaps://server", ServerUri::Scheme::coaps, ServerUri::HostKind::name, "server", 5684},
        {"COAPS://Server.Example.COM:1", ServerUri::Scheme::coaps, ServerUri::HostKind::name,
         "server.example.com", 1},
        {"coap://192.0.2.1:65535", ServerUri::Scheme::coap, ServerUri::HostKind::ipv4, "192.0.2.1",
         65535},
        {"coaps://192.0.2.1", ServerUri::Scheme::coaps, ServerUri::HostKind::ipv4, "192.0.2.1",
         5684},
        {"coaps://[2001:db8::1]:5684", ServerUri::Scheme::coaps, ServerUri::HostKind::ipv6,
         "2001:db8::1", 5684},
        {"coap://[::1]", ServerUri::Scheme::coap, ServerUri::HostKind::ipv6, "::1", 5683},
        {"coap://[::ffff:192.0.2.1]:7", ServerUri::Scheme::coap, ServerUri::HostKind::ipv6,
         "::ffff:192.0.2.1", 7},
        {"coaps://a-b.c-d.example/", ServerUri::Scheme::coaps, ServerUri::HostKind::name,
         "a-b.c-d.example", 5684},
    };
    for (const auto& c : cases) {
        const auto u = parse_server_uri(c.text);
        ASSERT_TRUE(u) << c.text;
        EXPECT_EQ(u->scheme, c.scheme) << c.text;
        EXPECT_EQ(u->host_kind, c.kind) << c.text;
        EXPECT_EQ(u->host, c.host) << c.text;
        EXPECT_EQ(u->port, c.port) << c.text;
    }
}

TEST(ServerUri, RejectsUnsupportedOrMalformedWith400) {
    const char* bad[] = {
        "",
        "coaps://",
        "coaps:/host",
        "host:5684",
        "http://host",
        "coap+tcp://host", // RFC 8323 binding not implemented
        "coaps+tcp://host",
        "sms://+123456",
        "coaps://host:0",
        "coaps://host:65536",
        "coaps://host:",
        "coaps://host:+5",
        "coaps://host:5684x",
        "coaps://host/path",
        "coaps://host?q=1",
        "coaps://host#f",
        "coaps://user@host",
        "coaps://-host.example",
        "coaps://host-.example",
        "coaps://ho_st.example",
        "coaps://host..example",
        "coaps://1.2.3.256", // numeric top label: not a name, not a valid IPv4
        "coaps://1.2.3",
        "coaps://01.2.3.4",
        "coaps://[2001:db8::1",
        "coaps://[192.0.2.1]",
        "coaps://[fe80::1%eth0]",
        "coaps://[::1]x",
        "coaps://2001:db8::1",
        "coaps://ho st",
        "coaps://h\xc3\xa9st",
    };
    for (const char* t : bad) {
        const auto u = parse_server_uri(t);
        ASSERT_FALSE(u) << t;
        EXPECT_EQ(u.error(), make_error_code(Status::bad_request)) << t;
    }
}

TEST(ServerUri, LengthLimitIs255Bytes) {
    // "coaps://" (8) + name + ":5684" (5): a name of 242 bytes gives exactly 255.
    auto name_of = [](std::size_t n) {
        std::string s;
        while (s.size() < n) {
            if (!s.empty()) s += '.';
            s += std::string(std::min<std::size_t>(63, n - s.size()), 'a');
            if (s.back() == '.') s.back() = 'a';
        }
        return s;
    };
    const std::string at_limit = "coaps://" + name_of(242) + ":5684";
    ASSERT_EQ(at_limit.size(), 255u);
    EXPECT_TRUE(parse_server_uri(at_limit));
    const std::string over = "coaps://" + name_of(243) + ":5684";
    ASSERT_EQ(over.size(), 256u);
    EXPECT_FALSE(parse_server_uri(over));
}

} // namespace
} // namespace lwm2m::client
