// The Bootstrap-Request parser (TS 1.1 §5.2.7.1; Transport: POST /bs?ep=..&pct=..).
#include <gtest/gtest.h>

#include <lwm2m/bootstrap/request.hpp>

namespace lwm2m::bootstrap {
namespace {

coap::Message bs(coap::Code method, std::initializer_list<std::string_view> queries,
                 std::string_view path = "/bs") {
    coap::Message m;
    m.code = method;
    m.set_path(path);
    for (auto q : queries)
        m.add_option(coap::option::uri_query, q);
    return m;
}

TEST(BootstrapRequest, Path) {
    EXPECT_TRUE(is_bootstrap_path(bs(coap::code::post, {})));
    EXPECT_FALSE(is_bootstrap_path(bs(coap::code::post, {}, "/bs/x")));
    EXPECT_FALSE(is_bootstrap_path(bs(coap::code::post, {}, "/rd")));
    EXPECT_FALSE(is_bootstrap_path(bs(coap::code::post, {}, "/")));
    EXPECT_FALSE(is_bootstrap_path(bs(coap::code::post, {}, "/bspack")));
}

TEST(BootstrapRequest, Accepted) {
    BootstrapRequest r;
    EXPECT_FALSE(check_bootstrap_request(bs(coap::code::post, {"ep=urn:dev:ops:1"}), r));
    EXPECT_EQ(r.endpoint, "urn:dev:ops:1");
    EXPECT_FALSE(r.preferred_format);
    BootstrapRequest r2;
    EXPECT_FALSE(
        check_bootstrap_request(bs(coap::code::post, {"pct=112", "ep=a=b", "lt=5", "flag"}), r2));
    EXPECT_EQ(r2.endpoint, "a=b"); // the value is everything after the first '='
    EXPECT_EQ(r2.preferred_format, 112);
    BootstrapRequest r3;
    EXPECT_FALSE(
        check_bootstrap_request(bs(coap::code::post, {"ep=" + std::string(255, 'e')}), r3));
    EXPECT_FALSE(check_bootstrap_request(bs(coap::code::post, {"ep=x", "pct=0"}), r3));
    EXPECT_EQ(r3.preferred_format, 0);
    EXPECT_FALSE(check_bootstrap_request(bs(coap::code::post, {"ep=x", "pct=65535"}), r3));
}

TEST(BootstrapRequest, Refused) {
    struct Case {
        coap::Message m;
        coap::Code code;
    };
    const Case cases[] = {
        {bs(coap::code::get, {"ep=x"}), coap::code::method_not_allowed},
        {bs(coap::code::put, {"ep=x"}), coap::code::method_not_allowed},
        {bs(coap::code::post, {}), coap::code::bad_request},
        {bs(coap::code::post, {"ep"}), coap::code::bad_request},
        {bs(coap::code::post, {"ep="}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a", "ep=a"}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=" + std::string(256, 'e')}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a\nb"}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a\x7f"}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a", "pct=65536"}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a", "pct=-1"}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a", "pct=+1"}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a", "pct=011"}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a", "pct="}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a", "pct"}), coap::code::bad_request},
        {bs(coap::code::post, {"ep=a", "pct=1", "pct=2"}), coap::code::bad_request},
    };
    for (const auto& k : cases) {
        BootstrapRequest r;
        const auto refusal = check_bootstrap_request(k.m, r);
        ASSERT_TRUE(refusal) << k.m.path();
        EXPECT_EQ(refusal->code, k.code);
        EXPECT_FALSE(refusal->diagnostic.empty());
    }
}

} // namespace
} // namespace lwm2m::bootstrap
