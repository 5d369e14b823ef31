#include <gtest/gtest.h>

#include <lwm2m/transport/coap_uri.hpp>

namespace lwm2m::transport {
namespace {

using Strings = std::vector<std::string>;

TEST(CoapUri, Ipv4WithPortPathAndQuery) {
    auto u = parse_coap_uri("coap://127.0.0.1:5699/rd/abc?ep=node1&lt=300");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->scheme, "coap");
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_TRUE(u->host_is_ip_literal);
    EXPECT_EQ(u->port, 5699);
    EXPECT_EQ(u->path, (Strings{"rd", "abc"}));
    EXPECT_EQ(u->query, (Strings{"ep=node1", "lt=300"}));
    EXPECT_EQ(u->path_string(), "/rd/abc");
}

TEST(CoapUri, DefaultPortAndEmptyPath) {
    for (const char* text : {"coap://127.0.0.1", "coap://127.0.0.1/", "COAP://127.0.0.1:/"}) {
        auto u = parse_coap_uri(text);
        ASSERT_TRUE(u) << text;
        EXPECT_EQ(u->port, 5683) << text;     // RFC 7252 §6.1
        EXPECT_TRUE(u->path.empty()) << text; // §6.4 step 8
        EXPECT_TRUE(u->query.empty()) << text;
    }
}

TEST(CoapUri, Ipv6LiteralAndHostName) {
    auto u = parse_coap_uri("coap://[::1]:61616/time");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_TRUE(u->host_is_ip_literal);
    EXPECT_EQ(u->port, 61616);
    EXPECT_EQ(u->path, (Strings{"time"}));
    auto h = parse_coap_uri("coap://LocalHost/x");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->host, "localhost");
    EXPECT_FALSE(h->host_is_ip_literal);
}

TEST(CoapUri, PercentDecodingAndEmptySegments) {
    // RFC 7252 §6.6 example: "/%7Esensors/temp" -> "~sensors", "temp"; "%2F" stays inside a
    // segment.
    auto u = parse_coap_uri("coap://198.51.100.1:61616//%2F//?%2F%2F&?%26");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->path, (Strings{"", "/", "", ""}));
    EXPECT_EQ(u->query, (Strings{"//", "?&"}));
    auto t = parse_coap_uri("coap://127.0.0.1/%7Esensors/temp");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->path, (Strings{"~sensors", "temp"}));
}

TEST(CoapUri, RejectsWhatRfc7252Section64Rejects) {
    for (const char* bad : {
             "",                          // empty
             "/hello",                    // relative
             "127.0.0.1:5683/hello",      // no scheme
             "http://127.0.0.1/",         // wrong scheme
             "coaps://127.0.0.1/",        // DTLS not offered here
             "coap+tcp://127.0.0.1/",     // not UDP
             "coap:/127.0.0.1/",          // no authority
             "coap://127.0.0.1/a#frag",   // fragment (§6.4 step 3)
             "coap:///hello",             // empty host
             "coap://user@127.0.0.1/",    // userinfo
             "coap://127.0.0.1:0/",       // port 0
             "coap://127.0.0.1:65536/",   // port too large
             "coap://127.0.0.1:56x/",     // non-digit port
             "coap://256.1.1.1/",         // bad IPv4
             "coap://1.2.3/",             // bad IPv4
             "coap://[::1/",              // unclosed literal
             "coap://[::g]/",             // bad IPv6
             "coap://[::1]x/",            // junk after literal
             "coap://[]/",                // empty literal
             "coap://127.0.0.1/a b",      // space
             "coap://127.0.0.1/%zz",      // bad escape
             "coap://127.0.0.1/%4",       // short escape
             "coap://127.0.0.1/?a=%",     // short escape in query
             "coap://127.0.0.1/\xc3\xa9", // non-ASCII
         }) {
        EXPECT_FALSE(parse_coap_uri(bad)) << "accepted: " << bad;
    }
}

} // namespace
} // namespace lwm2m::transport
