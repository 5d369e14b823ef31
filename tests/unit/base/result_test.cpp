#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/base/result.hpp>

namespace lwm2m {
namespace {

Result<int> parse_positive(int v) {
    if (v <= 0) return fail(Errc::invalid_argument);
    return v;
}

Result<int> doubled(int v) {
    LWM2M_TRY(x, parse_positive(v));
    return x * 2;
}

Result<void> check(int v) {
    LWM2M_TRY_VOID(parse_positive(v).map([](int) {}));
    return ok();
}

TEST(Result, ValueAndError) {
    EXPECT_EQ(*doubled(21), 42);
    auto r = doubled(-1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Errc::invalid_argument);
    EXPECT_STREQ(r.error().category().name(), "lwm2m.base");
    EXPECT_TRUE(check(1));
    EXPECT_FALSE(check(0));
}

} // namespace
} // namespace lwm2m
