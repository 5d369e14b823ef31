// SenML JSON (TS 1.1 §7.4.4, RFC 8428) and SenML CBOR (TS 1.1 §7.4.5, RFC 8428 §6).
#include <gtest/gtest.h>

#include <lwm2m/format/codec.hpp>

#include "unit/format/test_defs.hpp"

namespace lwm2m::format {
namespace senml_test { // named: unity builds join the files

using test::hex;

// TS 1.1 §7.4.4 example (Read /3/0), whitespace removed.
constexpr std::string_view ts_device_senml_json =
    R"([{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},)"
    R"({"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},)"
    R"({"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},)"
    R"({"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},)"
    R"({"n":"14","vs":"+02:00"},{"n":"16","vs":"U"}])";

dm::Content device_instance() {
    return dm::Content{dm::Path(Oid{3}, Iid{0}), test::ts_device_instance()};
}

std::string str(const Bytes& b) {
    return std::string(as_string_view(b));
}

TEST(SenmlJson, EncodesTheTsDeviceExample) {
    auto out = encode(ContentFormat::senml_json, device_instance());
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(str(*out), ts_device_senml_json);
}

TEST(SenmlJson, DecodesTheTsDeviceExampleWithWhitespace) {
    const auto reg = test::registry();
    std::string spaced(ts_device_senml_json);
    // Insert insignificant whitespace after every ',' and ':' to exercise the reader.
    std::string ws;
    for (char c : spaced) {
        ws.push_back(c);
        if (c == '[' || c == '{') ws.append("\n  ");
    }
    auto c = decode(ContentFormat::senml_json, as_bytes(ws), dm::Path(Oid{3}, Iid{0}), reg);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(*c, device_instance());
}

TEST(SenmlJson, SingleResourceUsesBaseNameOnly) {
    dm::Content c{dm::Path(Oid{3}, Iid{0}, Rid{0}),
                  dm::Resource::single(0, dm::Value::string("x"))};
    auto out = encode(ContentFormat::senml_json, c);
    ASSERT_TRUE(out);
    EXPECT_EQ(str(*out), R"([{"bn":"/3/0/0","vs":"x"}])");
    auto back = decode(ContentFormat::senml_json, *out, c.path, test::registry());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
}

TEST(SenmlJson, AllValueKinds) {
    dm::Instance i{0, {}};
    i.resources[0] = dm::Resource::single(0, dm::Value::string("a\"b\\c\n\x01"));
    i.resources[2] = dm::Resource::single(2, dm::Value::unsigned_integer(18446744073709551615ULL));
    i.resources[3] = dm::Resource::single(3, dm::Value::float_(-0.1));
    i.resources[4] = dm::Resource::single(4, dm::Value::boolean(false));
    i.resources[5] = dm::Resource::single(5, dm::Value::opaque(hex("fbff00")));
    i.resources[7] = dm::Resource::single(7, dm::Value::objlnk(3, 65535));
    i.resources[8] = dm::Resource::single(8, dm::Value::corelnk("</3/0>"));
    dm::Content c{dm::Path(Oid{9999}, Iid{0}), i};
    auto out = encode(ContentFormat::senml_json, c);
    ASSERT_TRUE(out);
    EXPECT_EQ(
        str(*out),
        R"([{"bn":"/9999/0/","n":"0","vs":"a\"b\\c\n\u0001"},{"n":"2","v":18446744073709551615},)"
        R"({"n":"3","v":-0.1},{"n":"4","vb":false},{"n":"5","vd":"-_8A"},{"n":"7","vlo":"3:65535"},)"
        R"({"n":"8","vs":"</3/0>"}])");
    auto back = decode(ContentFormat::senml_json, *out, c.path, test::registry());
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, c);
}

TEST(SenmlJson, TimestampedRecordsUseBaseTime) {
    std::vector<dm::Record> recs = {
        {dm::Path(Oid{3}, Iid{0}, Rid{9}), dm::Value::integer(90), 1.7e9},
        {dm::Path(Oid{3}, Iid{0}, Rid{9}), dm::Value::integer(89), 1.7e9 + 10},
    };
    auto out = encode_records(ContentFormat::senml_json, recs);
    ASSERT_TRUE(out);
    EXPECT_EQ(str(*out), R"([{"bt":1700000000,"n":"/3/0/9","v":90},{"n":"/3/0/9","t":10,"v":89}])");
    auto back = decode_records(ContentFormat::senml_json, *out, test::registry());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, recs);
    // RFC 8428 §4.5.3: times below 2**28 are relative to now.
    DecodeOptions o;
    o.now = 1.8e9;
    auto rel = decode_records(ContentFormat::senml_json,
                              as_bytes(R"([{"n":"/3/0/9","t":-5,"v":1}])"), test::registry(), o);
    ASSERT_TRUE(rel);
    EXPECT_EQ((*rel)[0].time, 1.8e9 - 5);
}

TEST(SenmlJson, CompositeRequestNamesWithoutValues) {
    auto recs = decode_records(
        ContentFormat::senml_json,
        as_bytes(R"([{"n":"/3/0/9"},{"n":"/1/0"},{"bn":"/3/0/","n":"6/1"}])"), test::registry());
    ASSERT_TRUE(recs) << recs.error().message();
    ASSERT_EQ(recs->size(), 3u);
    EXPECT_EQ((*recs)[1].path, dm::Path(Oid{1}, Iid{0}));
    EXPECT_TRUE((*recs)[1].value.is_none());
    EXPECT_EQ((*recs)[2].path, dm::Path(Oid{3}, Iid{0}, Rid{6}, Riid{1}));
    auto out = encode_records(ContentFormat::senml_json, *recs);
    ASSERT_TRUE(out);
    EXPECT_EQ(str(*out), R"([{"n":"/3/0/9"},{"n":"/1/0"},{"n":"/3/0/6/1"}])");
}

TEST(SenmlJson, Errors) {
    const auto reg = test::registry();
    const dm::Path inst(Oid{3}, Iid{0});
    auto dec = [&](std::string_view j, dm::Path p = dm::Path(Oid{3}, Iid{0})) {
        return decode(ContentFormat::senml_json, as_bytes(j), p, reg);
    };
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","v":1})")), Errc::malformed); // unterminated
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","v":1,"vs":"x"}])")), Errc::malformed); // two values
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","v":1,"n":"x"}])")),
              Errc::malformed);                                               // duplicate key
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","v":01}])")), Errc::malformed); // JSON number
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","v":1,"foo_":1}])")),
              Errc::malformed); // must-understand
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","vs":"1"}])")), Errc::type_mismatch);
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","v":1.5}])")), Errc::type_mismatch);
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","v":9223372036854775808}])")), Errc::out_of_range);
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/1/9","v":1}])")), Errc::path_mismatch);
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/99","v":1}])")), Errc::unknown_resource);
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/6","v":1}])")), Errc::structure_mismatch);
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","v":1},{"n":"/3/0/9","v":2}])")), Errc::duplicate);
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9/x","v":1}])")), Errc::malformed);
    // RFC 8428 §4.3 says base64url without padding; padded input is tolerated (interop).
    EXPECT_TRUE(dec(R"([{"n":"/9999/0/5","vd":"AA=="}])", dm::Path(Oid{9999}, Iid{0})));
    EXPECT_EQ(test::err(dec(R"([{"n":"/9999/0/5","vd":"AA+/"}])", dm::Path(Oid{9999}, Iid{0}))),
              Errc::malformed); // standard alphabet
    EXPECT_EQ(test::err(dec(R"([{"n":"/9999/0/5","vd":"A"}])", dm::Path(Oid{9999}, Iid{0}))),
              Errc::malformed);
    EXPECT_EQ(test::err(dec(R"([{"n":"/3/0/9","v":1}] x)")), Errc::malformed);
    EXPECT_EQ(test::err(dec("[{\"n\":\"/3/0/0\",\"vs\":\"\xc3\x28\"}]")),
              Errc::malformed); // bad UTF-8
    EXPECT_EQ(coap_code_for(test::err(dec(R"([{"n":"/3/0/99","v":1}])"))), 0x84);
}

// TS 1.1 §7.4.5: the SenML CBOR form of the same data (labels per RFC 8428 §6).
TEST(SenmlCbor, EncodesIntegerLabelsAndShortestNumbers) {
    dm::Instance i{0, {}};
    i.resources[0] = dm::Resource::single(0, dm::Value::string("ab"));
    i.resources[9] = dm::Resource::single(9, dm::Value::integer(100));
    i.resources[13] = dm::Resource::single(13, dm::Value::time(0x5182428F));
    dm::Content c{dm::Path(Oid{3}, Iid{0}), i};
    auto out = encode(ContentFormat::senml_cbor, c);
    ASSERT_TRUE(out);
    EXPECT_EQ(to_hex(*out), "83"
                            "a3"
                            "21"
                            "652f332f302f"
                            "00"
                            "6130"
                            "03"
                            "626162"
                            "a2"
                            "00"
                            "6139"
                            "02"
                            "1864"
                            "a2"
                            "00"
                            "623133"
                            "02"
                            "1a5182428f");
    auto back = decode(ContentFormat::senml_cbor, *out, c.path, test::registry());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
}

TEST(SenmlCbor, RoundTripsTheTsDeviceExample) {
    auto out = encode(ContentFormat::senml_cbor, device_instance());
    ASSERT_TRUE(out);
    EXPECT_EQ(to_hex(BytesView(*out).first(3)), "90a321"); // 16 records, first with bn
    auto back = decode(ContentFormat::senml_cbor, *out, dm::Path(Oid{3}, Iid{0}), test::registry());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, device_instance());
}

TEST(SenmlCbor, FloatsUseTheShortestExactWidth) {
    auto enc = [](double d) {
        std::vector<dm::Record> r = {
            {dm::Path(Oid{9999}, Iid{0}, Rid{3}), dm::Value::float_(d), std::nullopt}};
        auto out = encode_records(ContentFormat::senml_cbor, r);
        // 81 a2 00 69 "/9999/0/3" 02 <float>
        return out ? to_hex(BytesView(*out).subspan(14)) : std::string("error");
    };
    EXPECT_EQ(enc(1.5), "f93e00");
    EXPECT_EQ(enc(-0.0), "f98000");
    EXPECT_EQ(enc(65504.0), "f97bff");
    EXPECT_EQ(enc(5.960464477539063e-8), "f90001"); // smallest half subnormal
    EXPECT_EQ(enc(100000.0), "fa47c35000");
    EXPECT_EQ(enc(0.1), "fb3fb999999999999a");
}

TEST(SenmlCbor, DecodesIndefiniteLengthsTagsAndVlo) {
    const auto reg = test::registry();
    // [_ {_ 0: "/9999/0/7", "vlo": "3:1"}, {-2: "/9999/0/", 0: (_ "1", "3")}]: a name-only record
    auto recs = decode_records(ContentFormat::senml_cbor,
                               hex("9f bf 00 69 2f393939392f302f37 63 766c6f 63 333a31 ff"
                                   "a2 21 68 2f393939392f302f 00 7f 6131 6133 ff ff"),
                               reg);
    ASSERT_TRUE(recs) << recs.error().message();
    ASSERT_EQ(recs->size(), 2u);
    EXPECT_EQ((*recs)[0].value, dm::Value::objlnk(3, 1));
    EXPECT_EQ((*recs)[1].path, dm::Path(Oid{9999}, Iid{0}, Rid{13}));
    EXPECT_TRUE((*recs)[1].value.is_none());
    // {-2: "/9999/0/", 0: "6", 2: 1(5)}: a tagged epoch time for the Time resource /9999/0/6
    auto t = decode_records(ContentFormat::senml_cbor,
                            hex("81 a3 21 68 2f393939392f302f 00 6136 02 c1 05"), reg);
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_EQ((*t)[0].value, dm::Value::time(5));
    // The multiple resource /9999/0/13 cannot take a value without a resource instance id.
    auto bad = decode_records(ContentFormat::senml_cbor,
                              hex("81 a3 21 68 2f393939392f302f 00 623133 02 05"), reg);
    EXPECT_EQ(test::err(bad), Errc::structure_mismatch);
    // Missing map value: the second map declares 3 pairs but has 2.
    auto trunc =
        decode_records(ContentFormat::senml_cbor, hex("81 a3 21 68 2f393939392f302f 00 6136"), reg);
    EXPECT_EQ(test::err(trunc), Errc::malformed);
}

TEST(SenmlCbor, Errors) {
    const auto reg = test::registry();
    auto dec = [&](std::string_view h) {
        return decode(ContentFormat::senml_cbor, hex(h), dm::Path(Oid{3}, Iid{0}), reg);
    };
    EXPECT_EQ(test::err(dec("81 a2 00 66 2f332f302f39 02")), Errc::malformed);      // truncated
    EXPECT_EQ(test::err(dec("81 a2 00 66 2f332f302f39 03 1864")), Errc::malformed); // vs not text
    EXPECT_EQ(test::err(dec("81 a2 00 66 2f332f302f39 02 6131")), Errc::malformed); // v not number
    EXPECT_EQ(test::err(dec("81 a2 00 66 2f332f302f39 04 01")), Errc::malformed);   // vb not bool
    EXPECT_EQ(test::err(dec("81 a2 00 66 2f332f302f39 02 f93e00")),
              Errc::type_mismatch); // 1.5 integer
    EXPECT_EQ(test::err(dec("81 a2 00 66 2f332f302f39 02 3bffffffffffffffff")), Errc::out_of_range);
    EXPECT_EQ(test::err(dec("81 a2 00 66 2f332f302f39 02 01 00")), Errc::malformed); // trailing
    EXPECT_EQ(test::err(dec("9b ffffffffffffffff")), Errc::malformed);               // huge count
    EXPECT_EQ(test::err(dec("81 a2 00 66 2f332f302f39 02 1c")), Errc::malformed);    // reserved AI
    EXPECT_EQ(test::err(dec("81 a2 00 66 2f332f302f39 02 f7")), Errc::malformed);    // undefined
    EXPECT_EQ(test::err(dec("81 a3 00 66 2f332f302f39 02 01 05 01")),
              Errc::malformed); // "s" unsupported
    // An unknown label (99) whose value nests 20 arrays deep is bounded by the skip depth.
    std::string n = "81a300662f332f302f3902011863";
    for (int k = 0; k < 20; ++k)
        n += "81";
    n += "01";
    EXPECT_EQ(test::err(decode(ContentFormat::senml_cbor, hex(n), dm::Path(Oid{3}, Iid{0}), reg)),
              Errc::limit_exceeded);
}

} // namespace senml_test
} // namespace lwm2m::format
