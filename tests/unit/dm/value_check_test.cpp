#include <lwm2m/dm/errc.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/dm/value_check.hpp>

#include <gtest/gtest.h>

using namespace lwm2m::dm;

namespace {

ResourceDef def(DataType t, std::string range) {
    ResourceDef d;
    d.id = 1;
    d.name = "r";
    d.operations = Operations::rw;
    d.type = t;
    d.range_enumeration = std::move(range);
    return d;
}

std::error_code check(const ResourceDef& d, const Value& v) {
    auto r = check_value(d, v);
    return r ? std::error_code{} : r.error();
}

const std::error_code kOk{};
const std::error_code kRange = make_error_code(Errc::out_of_range);
const std::error_code kType = make_error_code(Errc::type_mismatch);

} // namespace

TEST(RangeParse, CommonRegistryForms) {
    using I = std::vector<std::pair<long double, long double>>;
    EXPECT_EQ(parse_range("0-255")->intervals, (I{{0, 255}}));
    EXPECT_EQ(parse_range("1..65534")->intervals, (I{{1, 65534}}));
    EXPECT_EQ(parse_range(" 0..3 ")->intervals, (I{{0, 3}}));
    EXPECT_EQ(parse_range("6")->intervals, (I{{6, 6}}));
    auto b = parse_range("6 bytes");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->bytes);
    EXPECT_EQ(b->intervals, (I{{6, 6}}));
    EXPECT_TRUE(parse_range("0..255 bytes")->bytes);
    EXPECT_EQ(parse_range("16,32,48")->intervals, (I{{16, 16}, {32, 32}, {48, 48}}));
    auto l = parse_range("16-32-48 bytes");
    ASSERT_TRUE(l);
    EXPECT_TRUE(l->bytes);
    EXPECT_EQ(l->intervals, (I{{16, 16}, {32, 32}, {48, 48}}));
    EXPECT_EQ(parse_range("-90.0..90.0")->intervals, (I{{-90, 90}}));
    EXPECT_EQ(parse_range("-40-85")->intervals, (I{{-40, 85}}));
    EXPECT_EQ(parse_range("1,3..5")->intervals, (I{{1, 1}, {3, 5}}));
    EXPECT_FALSE(parse_range("0..18446744073709551615")->bytes);
    EXPECT_FALSE(parse_range(""));
    EXPECT_FALSE(parse_range("16-bit"));
    EXPECT_FALSE(
        parse_range("The possible values are those listed in the LwM2M Core Specification"));
    EXPECT_FALSE(parse_range("5..1"));
    EXPECT_FALSE(parse_range("1,"));
    EXPECT_FALSE(parse_range("1..2..3"));
    EXPECT_FALSE(parse_range("bytes"));
}

TEST(CheckValue, TypeMustMatch) {
    EXPECT_EQ(check(def(DataType::integer, ""), Value::integer(1)), kOk);
    EXPECT_EQ(check(def(DataType::integer, ""), Value::unsigned_integer(1)), kType);
    EXPECT_EQ(check(def(DataType::string, ""), Value::corelnk("x")), kType);
    EXPECT_EQ(check(def(DataType::time, ""), Value::integer(1)), kType);
    EXPECT_EQ(check(def(DataType::none, ""), Value{}), kOk);
    EXPECT_EQ(check(def(DataType::none, ""), Value::integer(0)), kType);
    EXPECT_EQ(check(def(DataType::integer, ""), Value{}), kType);
}

TEST(CheckValue, NumericRanges) {
    const auto d = def(DataType::integer, "0..3");
    EXPECT_EQ(check(d, Value::integer(0)), kOk);
    EXPECT_EQ(check(d, Value::integer(3)), kOk);
    EXPECT_EQ(check(d, Value::integer(4)), kRange);
    EXPECT_EQ(check(d, Value::integer(-1)), kRange);
    const auto ssid = def(DataType::integer, "1-65534");
    EXPECT_EQ(check(ssid, Value::integer(0)), kRange);
    EXPECT_EQ(check(ssid, Value::integer(65535)), kRange);
    EXPECT_EQ(check(ssid, Value::integer(65534)), kOk);
    EXPECT_EQ(check(def(DataType::float_, "-90.0..90.0"), Value::float_(90.0001)), kRange);
    EXPECT_EQ(check(def(DataType::float_, "-90.0..90.0"), Value::float_(-90.0)), kOk);
    EXPECT_EQ(check(def(DataType::unsigned_integer, "0..18446744073709551615"),
                    Value::unsigned_integer(UINT64_MAX)),
              kOk);
    EXPECT_EQ(check(def(DataType::unsigned_integer, "0..18446744073709551614"),
                    Value::unsigned_integer(UINT64_MAX)),
              kRange);
    EXPECT_EQ(check(def(DataType::integer, "The possible values are listed"), Value::integer(99)),
              kOk);
    EXPECT_EQ(check(def(DataType::integer, "0-255 bytes"), Value::integer(999)),
              kOk); // unit mismatch: unchecked
    EXPECT_EQ(check(def(DataType::boolean, "0..1"), Value::boolean(true)), kOk);
}

TEST(CheckValue, LengthRangesForStringAndOpaque) {
    const auto uri = def(DataType::string, "0-255 bytes");
    EXPECT_EQ(check(uri, Value::string(std::string(255, 'a'))), kOk);
    EXPECT_EQ(check(uri, Value::string(std::string(256, 'a'))), kRange);
    const auto kp = def(DataType::opaque, "6");
    EXPECT_EQ(check(kp, Value::opaque(lwm2m::Bytes(6))), kOk);
    EXPECT_EQ(check(kp, Value::opaque(lwm2m::Bytes(5))), kRange);
    const auto keys = def(DataType::opaque, "16,32,48");
    EXPECT_EQ(check(keys, Value::opaque(lwm2m::Bytes(32))), kOk);
    EXPECT_EQ(check(keys, Value::opaque(lwm2m::Bytes(33))), kRange);
    // A String range without "bytes" is still a length (e.g. "0..255" on a name)
    EXPECT_EQ(check(def(DataType::string, "0..3"), Value::string("abcd")), kRange);
}

TEST(CheckValue, AgainstBuiltinSecurityObject) {
    for (auto v : {Lwm2mVersion::v1_0, Lwm2mVersion::v1_1, Lwm2mVersion::v1_2}) {
        const auto reg = ObjectRegistry::builtin(v);
        EXPECT_EQ(check(*reg.find(0, 10), Value::integer(0)), kRange); // Short Server ID
        EXPECT_EQ(check(*reg.find(0, 10), Value::integer(65535)), kRange);
        EXPECT_EQ(check(*reg.find(0, 10), Value::integer(1)), kOk);
        EXPECT_EQ(check(*reg.find(0, 0), Value::string(std::string(256, 'u'))), kRange);
        EXPECT_EQ(check(*reg.find(0, 7), Value::opaque(lwm2m::Bytes(7))), kRange);
        EXPECT_EQ(check(*reg.find(0, 8), Value::opaque(lwm2m::Bytes(16))), kOk);
        EXPECT_EQ(check(*reg.find(0, 8), Value::opaque(lwm2m::Bytes(17))), kRange);
        EXPECT_EQ(check(*reg.find(0, 9), Value::string("+4915112345678")), kOk);
    }
}

TEST(Coerce, LosslessConversionsOnly) {
    EXPECT_EQ(coerce(Value::integer(5), DataType::unsigned_integer).value(),
              Value::unsigned_integer(5));
    EXPECT_FALSE(coerce(Value::integer(-5), DataType::unsigned_integer));
    EXPECT_FALSE(coerce(Value::unsigned_integer(UINT64_MAX), DataType::integer));
    EXPECT_EQ(coerce(Value::unsigned_integer(7), DataType::integer).value(), Value::integer(7));
    EXPECT_EQ(coerce(Value::integer(7), DataType::time).value(), Value::time(7));
    EXPECT_EQ(coerce(Value::time(7), DataType::integer).value(), Value::integer(7));
    EXPECT_EQ(coerce(Value::integer(3), DataType::float_).value(), Value::float_(3.0));
    EXPECT_FALSE(coerce(Value::integer((1LL << 53) + 1), DataType::float_));
    EXPECT_FALSE(coerce(Value::unsigned_integer(UINT64_MAX), DataType::float_));
    EXPECT_EQ(coerce(Value::string("</1>"), DataType::corelnk).value(), Value::corelnk("</1>"));
    EXPECT_FALSE(coerce(Value::string("1"), DataType::integer));
    EXPECT_FALSE(coerce(Value::float_(1.0), DataType::integer));
    EXPECT_EQ(coerce(Value::boolean(true), DataType::boolean).value(), Value::boolean(true));
}
