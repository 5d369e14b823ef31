// The Registration Interface parser (LwM2M TS 1.1 §6.2.1/§6.2.2, TS 1.0 §5.3, TS 1.2 §6.2):
// every parameter valid and invalid, lenient notes versus strict refusals, and the link payload.
#include <gtest/gtest.h>

#include <lwm2m/server/register_parser.hpp>

namespace lwm2m::server {
namespace {

struct Q {
    std::vector<std::string> items;
    QueryOptions o;
    Refusal why;
    Result<RegisterQuery> run() {
        std::vector<std::string_view> v(items.begin(), items.end());
        return parse_register_query(v, o, &why);
    }
};

Q reg(std::initializer_list<const char*> items, bool strict = false) {
    Q q;
    for (auto* i : items)
        q.items.emplace_back(i);
    q.o.strict = strict;
    return q;
}

TEST(RegisterQuery, AllParametersOfA11Register) {
    auto q = reg({"ep=urn:imei:490154203237518", "lt=300", "lwm2m=1.1", "b=UT", "Q", "sms=+123456"},
                 true);
    auto r = q.run();
    ASSERT_TRUE(r) << q.why.text;
    EXPECT_EQ(r->endpoint, "urn:imei:490154203237518");
    EXPECT_EQ(r->lifetime, 300U);
    EXPECT_EQ(r->version, dm::Lwm2mVersion::v1_1);
    EXPECT_EQ(r->binding, binding::udp | binding::tcp);
    EXPECT_TRUE(r->queue);
    EXPECT_EQ(r->sms, "+123456");
    EXPECT_EQ(r->notes, 0U);
}

TEST(RegisterQuery, DefaultsAreLeftToTheEngine) {
    auto q = reg({"ep=a"}, true);
    auto r = q.run();
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->lifetime);
    EXPECT_FALSE(r->version);
    EXPECT_FALSE(r->binding);
    EXPECT_FALSE(r->queue);
    EXPECT_FALSE(r->sms);
}

struct Bad {
    std::vector<const char*> items;
    Errc code;
    const char* text; // a fragment of the diagnostic
};

class RegisterQueryRefusal : public ::testing::TestWithParam<Bad> {};

TEST_P(RegisterQueryRefusal, GivesTheCodeAndADiagnostic) {
    Q q;
    for (auto* i : GetParam().items)
        q.items.emplace_back(i);
    q.o.strict = true;
    auto r = q.run();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(GetParam().code));
    EXPECT_EQ(q.why.code, GetParam().code);
    EXPECT_NE(q.why.text.find(GetParam().text), std::string::npos) << q.why.text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RegisterQueryRefusal,
    ::testing::Values(
        Bad{{"lt=60"}, Errc::bad_request, "ep: the endpoint name is required"},
        Bad{{"ep="}, Errc::bad_request, "empty endpoint name"},
        Bad{{"ep"}, Errc::bad_request, "a value is required"},
        Bad{{"ep=a", "ep=b"}, Errc::bad_request, "ep: given twice"},
        Bad{{"ep=a\x01"}, Errc::bad_request, "control character"},
        Bad{{"ep=\xff\xfe"}, Errc::bad_request, "not valid UTF-8"},
        Bad{{"ep=a", "lt=abc"}, Errc::bad_request, "not a number of seconds"},
        Bad{{"ep=a", "lt=-5"}, Errc::bad_request, "not a number of seconds"},
        Bad{{"ep=a", "lt=0"}, Errc::bad_request, "outside 1.."},
        Bad{{"ep=a", "lt=4294967296"}, Errc::bad_request, "outside"},
        Bad{{"ep=a", "lt=1", "lt=2"}, Errc::bad_request, "lt: given twice"},
        Bad{{"ep=a", "lwm2m=abc"}, Errc::bad_request, "not a version X.Y"},
        Bad{{"ep=a", "lwm2m=1"}, Errc::bad_request, "not a version X.Y"},
        Bad{{"ep=a", "lwm2m=1.3"}, Errc::unsupported_version, "not supported"},
        Bad{{"ep=a", "lwm2m=2.0"}, Errc::unsupported_version, "not supported"},
        Bad{{"ep=a", "b=X"}, Errc::bad_request, "not a LwM2M 1.0 binding"},
        Bad{{"ep=a", "lwm2m=1.0", "b=T"}, Errc::bad_request, "not a LwM2M 1.0 binding"},
        Bad{{"ep=a", "lwm2m=1.1", "b=UQ"}, Errc::bad_request, "Q is not a binding"},
        Bad{{"ep=a", "lwm2m=1.1", "b=M"}, Errc::bad_request, "not defined for LwM2M 1.1"},
        Bad{{"ep=a", "lwm2m=1.1", "b=UU"}, Errc::bad_request, "repeats a letter"},
        Bad{{"ep=a", "lwm2m=1.1", "b="}, Errc::bad_request, "empty binding"},
        Bad{{"ep=a", "lwm2m=1.1", "Q=1"}, Errc::bad_request, "Q: takes no value"},
        Bad{{"ep=a", "Q"}, Errc::bad_request, "not a LwM2M 1.0 parameter"},
        Bad{{"ep=a", "sms=abc"}, Errc::bad_request, "not an MSISDN"},
        Bad{{"ep=a", "sms=null"}, Errc::bad_request, "not an MSISDN"},
        Bad{{"ep=a", "sms=1234567890123456"}, Errc::bad_request, "not an MSISDN"},
        Bad{{"ep=a", "et=x"}, Errc::bad_request, "unknown parameter 'et'"}));

TEST(RegisterQuery, EndpointOf255BytesIsAcceptedAnd256Refused) {
    auto ok255 = reg({}, true);
    ok255.items.push_back("ep=" + std::string(255, 'e'));
    EXPECT_TRUE(ok255.run());
    auto bad = reg({}, true);
    bad.items.push_back("ep=" + std::string(256, 'e'));
    EXPECT_FALSE(bad.run());
    EXPECT_NE(bad.why.text.find("longer than 255"), std::string::npos);
}

TEST(RegisterQuery, LifetimeBoundsComeFromTheOptions) {
    auto q = reg({"ep=a", "lt=30"}, true);
    q.o.min_lifetime = 60;
    EXPECT_FALSE(q.run());
    EXPECT_NE(q.why.text.find("outside 60.."), std::string::npos);
}

TEST(RegisterQuery, BindingsPerVersion) {
    struct C {
        const char* version;
        const char* b;
        std::uint8_t bits;
        bool queue;
    };
    for (auto c :
         {C{"1.0", "U", binding::udp, false}, C{"1.0", "UQ", binding::udp, true},
          C{"1.0", "SQ", binding::sms, true}, C{"1.0", "UQS", binding::udp | binding::sms, true},
          C{"1.1", "UTSN", binding::udp | binding::tcp | binding::sms | binding::non_ip, false},
          C{"1.2", "MH", binding::mqtt | binding::http, false}}) {
        auto q = reg({"ep=a"}, true);
        q.items.push_back(std::string("lwm2m=") + c.version);
        q.items.push_back(std::string("b=") + c.b);
        auto r = q.run();
        ASSERT_TRUE(r) << c.version << " " << c.b << ": " << q.why.text;
        EXPECT_EQ(*r->binding, c.bits) << c.b;
        EXPECT_EQ(r->queue, c.queue) << c.b;
    }
    EXPECT_EQ(binding_to_string(binding::udp | binding::sms | binding::mqtt), "UMS");
}

TEST(RegisterQuery, LenientModeRecordsWhatItTolerated) {
    auto q = reg({"ep=a", "et=thing", "Q", "d=domain"});
    auto r = q.run();
    ASSERT_TRUE(r) << q.why.text;
    EXPECT_TRUE(r->queue);
    EXPECT_EQ(r->notes, note::unknown_parameter | note::q_from_1_0);
    auto q2 = reg({"ep=a", "lwm2m=1.1", "b=UQ"});
    auto r2 = q2.run();
    ASSERT_TRUE(r2);
    EXPECT_TRUE(r2->queue);
    EXPECT_EQ(*r2->binding, binding::udp);
    EXPECT_EQ(r2->notes, note::q_in_binding);
    EXPECT_NE(describe_notes(r->notes).find("unknown parameter ignored"), std::string::npos);
}

TEST(UpdateQuery, AcceptsLtBSmsQAndUsesTheRegisteredVersion) {
    Q q;
    q.items = {"lt=60", "b=T", "sms=123", "Q"};
    q.o.kind = RequestKind::update;
    q.o.strict = true;
    q.o.registered_version = dm::Lwm2mVersion::v1_1;
    auto r = q.run();
    ASSERT_TRUE(r) << q.why.text;
    EXPECT_EQ(r->lifetime, 60U);
    EXPECT_EQ(*r->binding, binding::tcp);
    EXPECT_TRUE(r->queue);
    // T is not a 1.0 binding.
    q.o.registered_version = dm::Lwm2mVersion::v1_0;
    q.items = {"b=T"};
    EXPECT_FALSE(q.run());
    // ep in an Update: refused strictly, ignored leniently.
    q.items = {"ep=x"};
    EXPECT_FALSE(q.run());
    q.o.strict = false;
    auto l = q.run();
    ASSERT_TRUE(l);
    EXPECT_EQ(l->notes, note::register_param_in_update);
    EXPECT_TRUE(l->endpoint.empty());
}

// ------------------------------------------------------------------ links

Result<ObjectLinks> links(std::string_view p, bool strict, Refusal* why = nullptr) {
    LinksOptions o;
    o.strict = strict;
    return parse_object_links(p, o, why);
}

TEST(ObjectLinksParse, TheTsExample) {
    // TS 1.1 §6.2.1.1 example shape.
    auto r = links("</>;ct=110,</1/0>,</1/1>,</2/0>,</3/0>,</4/0>,</5>", true);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->root, "/");
    EXPECT_EQ(r->content_formats, std::vector<std::uint16_t>{110});
    ASSERT_EQ(r->links.size(), 6U);
    EXPECT_EQ(r->links[0], (ObjectLink{1, 0, 1, 0, false}));
    EXPECT_EQ(r->links[5].oid, 5);
    EXPECT_EQ(r->links[5].iid, ObjectLink::no_instance);
}

TEST(ObjectLinksParse, AlternatePathVersionsAndContentFormatList) {
    auto r = links(R"(</lwm2m>;rt="oma.lwm2m";ct="60 110 11543",</lwm2m/1/0>,</lwm2m/3>;ver=1.1,)"
                   R"(</lwm2m/3/0>,</lwm2m/3303>;ver=2.0)",
                   true);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->root, "/lwm2m");
    EXPECT_EQ(r->content_formats, (std::vector<std::uint16_t>{60, 110, 11543}));
    ASSERT_EQ(r->links.size(), 4U);
    EXPECT_EQ(r->links[1], (ObjectLink{3, ObjectLink::no_instance, 1, 1, true}));
    EXPECT_EQ(r->links[3], (ObjectLink{3303, ObjectLink::no_instance, 2, 0, true}));
}

struct BadLinks {
    const char* payload;
    const char* text;
};
class ObjectLinksRefusal : public ::testing::TestWithParam<BadLinks> {};

TEST_P(ObjectLinksRefusal, StrictRefusesWith400) {
    Refusal why;
    auto r = links(GetParam().payload, true, &why);
    ASSERT_FALSE(r) << GetParam().payload;
    EXPECT_EQ(why.code, Errc::bad_request);
    EXPECT_NE(why.text.find(GetParam().text), std::string::npos) << why.text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ObjectLinksRefusal,
    ::testing::Values(BadLinks{"garbage", "not a valid CoRE Link Format"},
                      BadLinks{"</1/0>,", "not a valid CoRE Link Format"},
                      BadLinks{"<x/1>", "not a path"},
                      BadLinks{"</abc>", "not an object or instance path"},
                      BadLinks{"</1/65535>", "not an object or instance path"},
                      BadLinks{"</70000>", "not an object or instance path"},
                      BadLinks{"</3/0/1>", "below an object instance"},
                      BadLinks{"</0/0>,</1/0>", "Object 0 must not be listed"},
                      BadLinks{"</21/0>", "Object 21 must not be listed"},
                      BadLinks{"</3>;ver=x", "malformed ver="},
                      BadLinks{"</3/0>;ver=1.1", "ver= on instance link"},
                      BadLinks{"</1/0>,</1/0>", "repeated"},
                      BadLinks{"</>;ct=abc,</1/0>", "malformed ct="},
                      BadLinks{R"(</a>;rt="oma.lwm2m",</b>;rt="oma.lwm2m")", "two links"},
                      BadLinks{R"(</lwm2m>;rt="oma.lwm2m",</1/0>)", "outside the alternate path"}));

TEST(ObjectLinksParse, LenientDropsAndIgnoresWithNotes) {
    auto r = links("</0/0>,</1/0>,</3/0/1>,</1/0>,</3/0>;ver=1.1,</4>;ver=bad", false);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->links.size(), 3U);
    EXPECT_EQ(r->links[0], (ObjectLink{1, 0, 1, 0, false}));
    EXPECT_EQ(r->links[1], (ObjectLink{3, 0, 1, 1, true}));
    EXPECT_EQ(r->links[2], (ObjectLink{4, ObjectLink::no_instance, 1, 0, false}));
    EXPECT_EQ(r->notes, note::security_object_listed | note::resource_link | note::duplicate_link |
                            note::version_on_instance | note::bad_attribute);
}

TEST(ObjectLinksParse, ManyLinksAndDuplicatesInALongList) {
    std::string p;
    for (int i = 0; i < 1000; ++i) {
        if (!p.empty()) p += ',';
        p += "</3303/" + std::to_string(i) + ">";
    }
    auto r = links(p, true);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->links.size(), 1000U);
    Refusal why;
    EXPECT_FALSE(links(p + ",</3303/7>", true, &why));
    auto l = links(p + ",</3303/7>", false);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->links.size(), 1000U);
    EXPECT_EQ(l->notes, note::duplicate_link);
}

TEST(ObjectLinksParse, EmptyPayloadGivesNoLinksAndVersionParsing) {
    auto r = links("", true);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->links.empty());
    EXPECT_EQ(parse_version("1.2"), (std::pair<std::uint8_t, std::uint8_t>{1, 2}));
    EXPECT_FALSE(parse_version("1."));
    EXPECT_FALSE(parse_version(".1"));
    EXPECT_FALSE(parse_version("1.256"));
    EXPECT_FALSE(parse_version("a.b"));
}

} // namespace
} // namespace lwm2m::server
