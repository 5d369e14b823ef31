#include <lwm2m/dm/errc.hpp>
#include <lwm2m/dm/value_text.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace lwm2m::dm;
using lwm2m::Bytes;
using lwm2m::to_bytes;

namespace {

Value parse_ok(DataType t, std::string_view s) {
    auto r = parse_text(t, s);
    EXPECT_TRUE(r.has_value()) << to_string(t) << " '" << s << "'";
    return r.value_or(Value{});
}

void parse_bad(DataType t, std::string_view s) {
    auto r = parse_text(t, s);
    ASSERT_FALSE(r.has_value()) << to_string(t) << " accepted '" << s << "'";
    EXPECT_EQ(r.error(), make_error_code(Errc::bad_value));
}

std::string fmt(const Value& v) {
    return format_text(v).value();
}

} // namespace

TEST(ValueText, Integer) {
    EXPECT_EQ(parse_ok(DataType::integer, "0"), Value::integer(0));
    EXPECT_EQ(parse_ok(DataType::integer, "-42"), Value::integer(-42));
    EXPECT_EQ(parse_ok(DataType::integer, "9223372036854775807"), Value::integer(INT64_MAX));
    EXPECT_EQ(parse_ok(DataType::integer, "-9223372036854775808"), Value::integer(INT64_MIN));
    for (const char* s : {"", "-", "+1", " 1", "1 ", "9223372036854775808", "-9223372036854775809",
                          "1.0", "0x10", "1e3", "--1", "١"})
        parse_bad(DataType::integer, s);
    EXPECT_EQ(fmt(Value::integer(INT64_MIN)), "-9223372036854775808");
    EXPECT_EQ(fmt(Value::integer(INT64_MAX)), "9223372036854775807");
}

TEST(ValueText, UnsignedAndTime) {
    EXPECT_EQ(parse_ok(DataType::unsigned_integer, "18446744073709551615"),
              Value::unsigned_integer(UINT64_MAX));
    parse_bad(DataType::unsigned_integer, "18446744073709551616");
    parse_bad(DataType::unsigned_integer, "-1");
    parse_bad(DataType::unsigned_integer, "-0");
    EXPECT_EQ(fmt(Value::unsigned_integer(UINT64_MAX)), "18446744073709551615");
    // Time is an integer number of seconds (TS Core 1.1 §7.4.1), may be negative
    EXPECT_EQ(parse_ok(DataType::time, "1700000000"), Value::time(1700000000));
    EXPECT_EQ(parse_ok(DataType::time, "-1"), Value::time(-1));
    parse_bad(DataType::time, "2023-01-01T00:00:00Z");
    EXPECT_EQ(fmt(Value::time(1700000000)), "1700000000");
}

TEST(ValueText, Float) {
    EXPECT_EQ(parse_ok(DataType::float_, "1.5"), Value::float_(1.5));
    EXPECT_EQ(parse_ok(DataType::float_, "-0.25"), Value::float_(-0.25));
    EXPECT_EQ(parse_ok(DataType::float_, "3"), Value::float_(3.0));
    EXPECT_EQ(parse_ok(DataType::float_, "1e3"), Value::float_(1000.0));
    EXPECT_EQ(parse_ok(DataType::float_, "2.5E-1"), Value::float_(0.25));
    EXPECT_EQ(parse_ok(DataType::float_, ".5"), Value::float_(0.5));
    const Value nz = parse_ok(DataType::float_, "-0.0");
    EXPECT_TRUE(std::signbit(nz.as_float()));
    EXPECT_EQ(fmt(Value::float_(-0.0)), "-0");
    for (const char* s : {"", "nan", "NaN", "inf", "-inf", "infinity", "1e400", "0x1p3", "1.", "+1",
                          "1e", "1e+", " 1", "1,5", "."})
        if (std::string_view(s) != "1.") {
            parse_bad(DataType::float_, s);
        }
    // shortest round trip
    EXPECT_EQ(fmt(Value::float_(0.1)), "0.1");
    EXPECT_EQ(fmt(Value::float_(1.0)), "1");
    EXPECT_EQ(fmt(Value::float_(-273.15)), "-273.15");
    for (double d :
         {0.1, 1.0 / 3.0, 1e300, 5e-324, std::numeric_limits<double>::max(), -1234.5678}) {
        const std::string s = fmt(Value::float_(d));
        EXPECT_EQ(parse_ok(DataType::float_, s).as_float(), d) << s;
    }
    // NaN and infinity have no TS text form
    EXPECT_FALSE(format_text(Value::float_(std::numeric_limits<double>::quiet_NaN())).has_value());
    EXPECT_FALSE(format_text(Value::float_(std::numeric_limits<double>::infinity())).has_value());
    std::string out = "x";
    EXPECT_FALSE(append_float(out, -std::numeric_limits<double>::infinity()).has_value());
    EXPECT_EQ(out, "x");
}

TEST(ValueText, Boolean) {
    EXPECT_EQ(parse_ok(DataType::boolean, "0"), Value::boolean(false));
    EXPECT_EQ(parse_ok(DataType::boolean, "1"), Value::boolean(true));
    for (const char* s : {"", "true", "false", "2", "01", "1 "})
        parse_bad(DataType::boolean, s);
    EXPECT_EQ(fmt(Value::boolean(true)), "1");
    EXPECT_EQ(fmt(Value::boolean(false)), "0");
}

TEST(ValueText, Objlnk) {
    EXPECT_EQ(parse_ok(DataType::objlnk, "3:0"), Value::objlnk(3, 0));
    EXPECT_EQ(parse_ok(DataType::objlnk, "65535:65535"), Value::objlnk(65535, 65535));
    for (const char* s : {"", ":", "3:", ":0", "3", "3:0:1", "65536:0", "3:-1", "3 :0", "a:b"})
        parse_bad(DataType::objlnk, s);
    EXPECT_EQ(fmt(Value::objlnk(3303, 12)), "3303:12");
}

TEST(ValueText, StringAndCorelnk) {
    EXPECT_EQ(parse_ok(DataType::string, ""), Value::string(""));
    EXPECT_EQ(parse_ok(DataType::string, " ACME \xc3\xa9 "), Value::string(" ACME \xc3\xa9 "));
    parse_bad(DataType::string, "\xc3");             // truncated sequence
    parse_bad(DataType::string, "\xc0\xaf");         // overlong
    parse_bad(DataType::string, "\xed\xa0\x80");     // surrogate
    parse_bad(DataType::string, "\xf4\x90\x80\x80"); // > U+10FFFF
    EXPECT_EQ(parse_ok(DataType::corelnk, "</3/0>;ver=1.1"), Value::corelnk("</3/0>;ver=1.1"));
    EXPECT_EQ(fmt(Value::corelnk("</1>")), "</1>");
    EXPECT_EQ(fmt(Value::string("a\nb")), "a\nb");
    EXPECT_EQ(parse_ok(DataType::none, ""), Value{});
    parse_bad(DataType::none, "x");
    EXPECT_EQ(fmt(Value{}), "");
}

TEST(ValueText, OpaqueIsBase64) {
    EXPECT_EQ(parse_ok(DataType::opaque, ""), Value::opaque({}));
    EXPECT_EQ(parse_ok(DataType::opaque, "Zg=="), Value::opaque(to_bytes("f")));
    EXPECT_EQ(parse_ok(DataType::opaque, "Zm8="), Value::opaque(to_bytes("fo")));
    EXPECT_EQ(parse_ok(DataType::opaque, "Zm9v"), Value::opaque(to_bytes("foo")));
    EXPECT_EQ(parse_ok(DataType::opaque, "Zm9vYmFy"), Value::opaque(to_bytes("foobar")));
    EXPECT_EQ(fmt(Value::opaque(to_bytes("fooba"))), "Zm9vYmE=");
    // padding and alphabet errors
    for (const char* s :
         {"Zg", "Zg=", "Zg===", "Z===", "Zm9", "Zm=v", "=Zm9", "Zm9v\n", "Zh==" /*non-zero bits*/,
          "Zm9=" /*non-zero bits*/, "Zm-v", "Zm_v", "Zm9v===="})
        parse_bad(DataType::opaque, s);
}

TEST(ValueText, Base64RoundTripsAllLengthsBothAlphabets) {
    Bytes data;
    for (int n = 0; n < 70; ++n) {
        for (auto alpha : {Base64Alphabet::standard, Base64Alphabet::url}) {
            for (bool pad : {true, false}) {
                const std::string enc = base64_encode(data, alpha, pad);
                auto dec = base64_decode(enc, alpha, pad);
                ASSERT_TRUE(dec) << enc;
                EXPECT_EQ(*dec, data);
                if (!pad) {
                    EXPECT_EQ(enc.find('='), std::string::npos);
                }
            }
        }
        data.push_back(static_cast<std::byte>(n * 37 + 250));
    }
    const Bytes hi{std::byte{0xfb}, std::byte{0xff}};
    EXPECT_EQ(base64_encode(hi), "+/8=");
    EXPECT_EQ(base64_encode(hi, Base64Alphabet::url, false), "-_8");
    EXPECT_FALSE(base64_decode("+/8", Base64Alphabet::url, false));
    EXPECT_FALSE(base64_decode("-_8=", Base64Alphabet::url, false));  // no '=' when unpadded
    EXPECT_FALSE(base64_decode("Zm9vY", Base64Alphabet::url, false)); // 4n+1
}

TEST(ValueText, Base64AppendAndOptionalPadding) {
    // append_base64 appends (keeps the prefix) and matches base64_encode.
    std::string s = "x:";
    append_base64(s, to_bytes("foob"), Base64Alphabet::url, false);
    EXPECT_EQ(s, "x:Zm9vYg");
    append_base64(s, to_bytes("fo"));
    EXPECT_EQ(s, "x:Zm9vYgZm8=");
    // Base64Padding::optional (SenML "vd" receivers, RFC 8428 §4.3): both forms, exact padding
    // only.
    for (const char* ok : {"Zm9vYg", "Zm9vYg==", "Zm8", "Zm8=", "", "Zm9v"}) {
        auto d = base64_decode(ok, Base64Alphabet::standard, Base64Padding::optional);
        ASSERT_TRUE(d) << ok;
    }
    EXPECT_EQ(*base64_decode("Zm9vYg", Base64Alphabet::standard, Base64Padding::optional),
              to_bytes("foob"));
    EXPECT_EQ(*base64_decode("-_8=", Base64Alphabet::url, Base64Padding::optional),
              (Bytes{std::byte{0xfb}, std::byte{0xff}}));
    for (const char* bad :
         {"Zm9vYg=", "Zm8==", "Zm9vY", "Zm9vYg===", "Z===", "Zm=v", "Zh==", "Zm-v"}) {
        EXPECT_FALSE(base64_decode(bad, Base64Alphabet::standard, Base64Padding::optional)) << bad;
    }
    EXPECT_FALSE(base64_decode("Zm8=", Base64Alphabet::standard, Base64Padding::forbidden));
    EXPECT_FALSE(base64_decode("Zm8", Base64Alphabet::standard, Base64Padding::required));
}

TEST(ValueText, EveryTypeRoundTrips) {
    const Value values[] = {Value::string("héllo"),     Value::integer(-7),
                            Value::unsigned_integer(7), Value::float_(2.75),
                            Value::boolean(true),       Value::opaque(to_bytes("\x01\x02\xff")),
                            Value::time(86400),         Value::objlnk(1, 2),
                            Value::corelnk("</5>"),     Value{}};
    for (const Value& v : values) {
        auto s = format_text(v);
        ASSERT_TRUE(s);
        EXPECT_EQ(parse_text(v.type(), *s).value(), v) << *s;
    }
}
