// CoRE Link Format (RFC 6690) for LwM2M registration and Discover.
#include <gtest/gtest.h>

#include <lwm2m/format/link_format.hpp>

#include "unit/format/test_defs.hpp"

namespace lwm2m::format {
namespace {

TEST(LinkFormat, ParsesARegistrationPayload) {
    auto links = parse_links(R"(</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>;ver=1.1)");
    ASSERT_TRUE(links) << links.error().message();
    ASSERT_EQ(links->size(), 3u);
    EXPECT_EQ((*links)[0].target, "/");
    ASSERT_NE((*links)[0].find("rt"), nullptr);
    EXPECT_EQ((*links)[0].find("rt")->value, "oma.lwm2m");
    EXPECT_TRUE((*links)[0].find("rt")->quoted);
    EXPECT_EQ((*links)[0].find("ct")->value, "11543");
    EXPECT_EQ((*links)[2].find("ver")->value, "1.1");
    auto p = (*links)[2].path();
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, dm::Path(Oid{3}, Iid{0}));
    EXPECT_EQ(serialize_links(*links), R"(</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>;ver=1.1)");
}

TEST(LinkFormat, ParsesDiscoverResultsWithAttributes) {
    const std::string_view text =
        R"(</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/6>;dim=2,</3/0/7>;gt=50.5;lt=-10;st=0.5;epmin=1;epmax=30;con=1;hqmax=5;edge=0)";
    auto links = parse_links(text);
    ASSERT_TRUE(links) << links.error().message();
    ASSERT_EQ(links->size(), 4u);
    EXPECT_EQ((*links)[2].find("dim")->value, "2");
    EXPECT_EQ((*links)[3].attrs.size(), 8u);
    EXPECT_EQ(serialize_links(*links), text);
    // Bootstrap-Discover (TS 1.1 §5.2.7.3): ssid and a quoted uri.
    auto bs = parse_links(
        R"(</>;lwm2m=1.1,</0/0>;uri="coap://server:5683",</0/1>;ssid=101;uri="coaps://x",</1/0>;ssid=101)");
    ASSERT_TRUE(bs) << bs.error().message();
    EXPECT_EQ((*bs)[2].find("uri")->value, "coaps://x");
    // Whitespace after ',' is tolerated.
    auto ws = parse_links("</1/0>, </3/0>");
    ASSERT_TRUE(ws);
    EXPECT_EQ(ws->size(), 2u);
    // Escapes in quoted strings; a bare parameter.
    auto q = parse_links(R"(</x>;title="a \"b\" \\c";obs)");
    ASSERT_TRUE(q);
    EXPECT_EQ((*q)[0].attrs[0].value, R"(a "b" \c)");
    EXPECT_EQ((*q)[0].attrs[1].value, std::nullopt);
    EXPECT_EQ(serialize_links(*q), R"(</x>;title="a \"b\" \\c";obs)");
    EXPECT_TRUE(parse_links("")->empty());
}

TEST(LinkFormat, StrictValidation) {
    auto bad = [](std::string_view s) { return test::err(parse_links(s)); };
    EXPECT_EQ(bad("<>"), Errc::malformed);
    EXPECT_EQ(bad("</3/0"), Errc::malformed);
    EXPECT_EQ(bad("/3/0"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;pmin="), Errc::malformed);
    EXPECT_EQ(bad(R"(</3/0>;rt="oma)"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>,"), Errc::malformed);
    EXPECT_EQ(bad("</3/\x01>"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;title=\"a\x07\""), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;pmin=abc"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;pmin=-1"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;gt=1e"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;st=-1"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;con=2"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;ver=1"), Errc::malformed);
    EXPECT_EQ(bad("</0/0>;ssid=0"), Errc::malformed);
    EXPECT_EQ(bad("</0/0>;ssid=65535"), Errc::malformed);
    EXPECT_EQ(bad("</3/0/6>;dim=65536"), Errc::malformed);
    EXPECT_EQ(bad("</3/0>;pmin=1;pmin=2"), Errc::malformed);
    EXPECT_EQ(bad(R"(</>;ct="60 x")"), Errc::malformed);
    EXPECT_TRUE(parse_links(R"(</>;ct="60 110 112")"));
    EXPECT_EQ(bad("<" + std::string(300, 'a') + ">"), Errc::limit_exceeded);
    LinkLimits few;
    few.max_links = 2;
    EXPECT_EQ(test::err(parse_links("</1>,</2>,</3>", few)), Errc::limit_exceeded);
    LinkLimits lax;
    lax.validate_lwm2m = false;
    EXPECT_TRUE(parse_links("</3/0>;pmin=abc", lax));
    const Link not_a_path{"/x/y", {}};
    EXPECT_EQ(test::err(not_a_path.path()), Errc::malformed);
}

TEST(LinkFormat, EncodesRegisterLinks) {
    std::vector<RegisterObject> objs = {
        {1, "", {0}}, {3, "1.1", {0}}, {5, "", {}}, {3303, "", {0, 1}}};
    RegisterLinkOptions o;
    o.content_formats = {11543};
    EXPECT_EQ(encode_register_links(objs, o),
              R"(</>;rt="oma.lwm2m";ct=11543,</1/0>,</3>;ver=1.1,</3/0>,</5>,</3303/0>,</3303/1>)");
    RegisterLinkOptions alt;
    alt.alternate_path = "/lwm2m";
    alt.content_formats = {110, 112};
    EXPECT_EQ(encode_register_links(std::span(objs).first(1), alt),
              R"(</lwm2m>;rt="oma.lwm2m";ct="110 112",</lwm2m/1/0>)");
    EXPECT_EQ(encode_register_links(std::span(objs).first(1)), "</1/0>");
    auto parsed = parse_links(encode_register_links(objs, o));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->size(), 7u);
}

} // namespace
} // namespace lwm2m::format
