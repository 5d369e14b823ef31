#include <lwm2m/dm/errc.hpp>
#include <lwm2m/dm/path.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using lwm2m::Iid;
using lwm2m::Oid;
using lwm2m::Rid;
using lwm2m::Riid;
using lwm2m::dm::Errc;
using lwm2m::dm::Path;

namespace {

Path P(std::string_view s) {
    auto r = Path::parse(s);
    EXPECT_TRUE(r.has_value()) << s;
    return r.value_or(Path{});
}

void expect_bad(std::string_view s) {
    auto r = Path::parse(s);
    ASSERT_FALSE(r.has_value()) << "accepted: '" << s << "'";
    EXPECT_EQ(r.error(), lwm2m::dm::make_error_code(Errc::bad_path));
}

} // namespace

TEST(Path, ParsesRootForms) {
    EXPECT_TRUE(P("").is_root());
    EXPECT_TRUE(P("/").is_root());
    EXPECT_EQ(P("/").to_string(), "/");
    EXPECT_EQ(P("").level(), Path::Level::root);
}

TEST(Path, AppendToAppendsTheTextForm) {
    std::string s = "</";
    s.pop_back();
    P("/3/0/1/2").append_to(s);
    Path().append_to(s);
    P("/65535").append_to(s);
    EXPECT_EQ(s, "</3/0/1/2//65535");
}

TEST(Path, ParsesEveryLevel) {
    const Path p = P("/3/0/1/2");
    EXPECT_EQ(p.depth(), 4);
    EXPECT_EQ(p.level(), Path::Level::resource_instance);
    EXPECT_EQ(p.oid(), Oid{3});
    EXPECT_EQ(p.iid(), Iid{0});
    EXPECT_EQ(p.rid(), Rid{1});
    EXPECT_EQ(p.riid(), Riid{2});
    EXPECT_EQ(p.to_string(), "/3/0/1/2");
    EXPECT_EQ(P("/3").level(), Path::Level::object);
    EXPECT_EQ(P("/3/0").level(), Path::Level::instance);
    EXPECT_EQ(P("/3/0/1").level(), Path::Level::resource);
    EXPECT_EQ(P("3/0/1"), Path(Oid{3}, Iid{0}, Rid{1})); // leading '/' optional
    EXPECT_EQ(P("/65535/0/65535/65535").to_string(), "/65535/0/65535/65535");
    EXPECT_EQ(P("/3/65534").iid(), Iid{65534});
    EXPECT_EQ(P("/00003/0").oid(), Oid{3}); // leading zeros are tolerated on input
}

TEST(Path, RejectsMalformed) {
    for (const char* s :
         {"/3//0", "//", "/3/", "/3/0/", "/65536", "/-1", "/+1", "/3/65535", "/3/0/1/2/3", "/a",
          "/3/0x1", " /3", "/3 ", "/99999999999999999999", "/3/0/1/2/", "3//"})
        expect_bad(s);
}

TEST(Path, ParentAndChild) {
    const Path p = P("/3/0/1/2");
    EXPECT_EQ(p.parent(), P("/3/0/1"));
    EXPECT_EQ(p.parent().parent().parent().parent(), Path{});
    EXPECT_EQ(Path{}.parent(), Path{});
    EXPECT_EQ(Path{}.child(5).child(1), P("/5/1"));
    EXPECT_EQ(P("/5/1").child(7).child(9), P("/5/1/7/9"));
    // parent() clears the dropped id so that equality and ordering stay canonical
    EXPECT_EQ(P("/3/7").parent().child(0), P("/3/0"));
}

TEST(Path, PrefixRelation) {
    EXPECT_TRUE(Path{}.is_prefix_of(P("/3/0/1")));
    EXPECT_TRUE(P("/3").is_prefix_of(P("/3/0/1")));
    EXPECT_TRUE(P("/3/0/1").is_prefix_of(P("/3/0/1")));
    EXPECT_FALSE(P("/3/0/1").is_prefix_of(P("/3/0")));
    EXPECT_FALSE(P("/3/1").is_prefix_of(P("/3/0/1")));
    EXPECT_FALSE(P("/3").is_prefix_of(P("/33")));
}

TEST(Path, OrderingIsDocumentOrder) {
    std::vector<Path> v{P("/3/0/1"), P("/1"), P("/3/0"),   P("/"),   P("/3/0/1/0"),
                        P("/2/5"),   P("/3"), P("/3/0/0"), P("/10"), P("/3/1")};
    std::sort(v.begin(), v.end());
    std::vector<std::string> got;
    for (const auto& p : v)
        got.push_back(p.to_string());
    EXPECT_EQ(got, (std::vector<std::string>{"/", "/1", "/2/5", "/3", "/3/0", "/3/0/0", "/3/0/1",
                                             "/3/0/1/0", "/3/1", "/10"}));
    EXPECT_TRUE(P("/3") < P("/3/0"));
    EXPECT_TRUE(P("/3/0/1") == P("/3/0/1"));
    EXPECT_EQ(P("/3/0/1") <=> P("/3/0/1"), std::strong_ordering::equal);
    EXPECT_TRUE(P("/3/65534") > P("/3/2/9"));
}

TEST(Path, RoundTripsThroughText) {
    for (const char* s : {"/", "/0", "/0/0", "/1/2/3", "/65535/65534/65535/65535", "/3/0/11/0"})
        EXPECT_EQ(P(s).to_string(), s);
}
