// LwM2M JSON (TS 1.0 §6.4.4 / 1.1 §7.4.6) and LwM2M CBOR (TS 1.2 §7.4.6).
#include <gtest/gtest.h>

#include <lwm2m/format/codec.hpp>

#include "unit/format/test_defs.hpp"

namespace lwm2m::format {
namespace {

using test::hex;

std::string str(const Bytes& b) {
    return std::string(as_string_view(b));
}
dm::Content device_instance() {
    return dm::Content{dm::Path(Oid{3}, Iid{0}), test::ts_device_instance()};
}

// TS 1.0 §6.4.4 example (Read /3/0), whitespace removed.
constexpr std::string_view ts_device_lwm2m_json =
    R"({"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},)"
    R"({"n":"2","sv":"345000123"},{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},)"
    R"({"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},)"
    R"({"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},)"
    R"({"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}]})";

TEST(Lwm2mJson, EncodesAndDecodesTheTsDeviceExample) {
    auto out = encode(ContentFormat::lwm2m_json, device_instance());
    ASSERT_TRUE(out);
    EXPECT_EQ(str(*out), ts_device_lwm2m_json);
    auto back = decode(ContentFormat::lwm2m_json, *out, dm::Path(Oid{3}, Iid{0}), test::registry());
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, device_instance());
}

TEST(Lwm2mJson, OpaqueIsBase64InSvAndObjlnkInOv) {
    dm::Instance i{0, {}};
    i.resources[5] = dm::Resource::single(5, dm::Value::opaque(hex("fbff00")));
    i.resources[7] = dm::Resource::single(7, dm::Value::objlnk(3, 0));
    i.resources[4] = dm::Resource::single(4, dm::Value::boolean(true));
    dm::Content c{dm::Path(Oid{9999}, Iid{0}), i};
    auto out = encode(ContentFormat::lwm2m_json, c);
    ASSERT_TRUE(out);
    EXPECT_EQ(
        str(*out),
        R"({"bn":"/9999/0/","e":[{"n":"4","bv":true},{"n":"5","sv":"+/8A"},{"n":"7","ov":"3:0"}]})");
    auto back = decode(ContentFormat::lwm2m_json, *out, c.path, test::registry());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
}

TEST(Lwm2mJson, TimestampsAreRelativeToBt) {
    std::vector<dm::Record> recs = {
        {dm::Path(Oid{3}, Iid{0}, Rid{9}), dm::Value::integer(90), 1.7e9},
        {dm::Path(Oid{3}, Iid{0}, Rid{9}), dm::Value::integer(80), 1.7e9 + 60.5},
    };
    auto out = encode_records(ContentFormat::lwm2m_json, recs);
    ASSERT_TRUE(out);
    EXPECT_EQ(str(*out),
              R"({"bt":1700000000,"e":[{"n":"/3/0/9","v":90},{"n":"/3/0/9","v":80,"t":60.5}]})");
    auto back = decode_records(ContentFormat::lwm2m_json, *out, test::registry());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, recs);
}

TEST(Lwm2mJson, Errors) {
    const auto reg = test::registry();
    auto dec = [&](std::string_view j) {
        return decode(ContentFormat::lwm2m_json, as_bytes(j), dm::Path(Oid{3}, Iid{0}), reg);
    };
    EXPECT_EQ(test::err(dec(R"({"bn":"/3/0/"})")), Errc::malformed); // no "e"
    EXPECT_EQ(test::err(dec(R"({"e":[{"n":"/3/0/9","v":1,"bv":true}]})")), Errc::malformed);
    EXPECT_EQ(test::err(dec(R"({"e":[{"n":"/3/0/9","sv":"x"}]})")), Errc::type_mismatch);
    EXPECT_EQ(test::err(dec(R"({"e":[{"n":"/3/0/9"}]})")), Errc::malformed); // no value
    EXPECT_EQ(test::err(dec(R"({"e":[{"n":"/3/0/9","v":1}],"e":[]})")), Errc::malformed);
    EXPECT_EQ(test::err(decode(ContentFormat::lwm2m_json,
                               as_bytes(R"({"e":[{"n":"/9999/0/5","sv":"!!"}]})"),
                               dm::Path(Oid{9999}, Iid{0}), reg)),
              Errc::type_mismatch); // bad base64
}

TEST(Lwm2mCbor, NestedMapsWithPathArrayKeys) {
    dm::Instance i{0, {}};
    i.resources[0] = dm::Resource::single(0, dm::Value::string("ab"));
    i.resources[6] =
        dm::Resource::multi(6, {{0, dm::Value::integer(1)}, {1, dm::Value::integer(5)}});
    i.resources[9] = dm::Resource::single(9, dm::Value::integer(100));
    dm::Content c{dm::Path(Oid{3}, Iid{0}), i};
    auto out = encode(ContentFormat::lwm2m_cbor, c);
    ASSERT_TRUE(out);
    // {[3, 0]: {0: "ab", 6: {0: 1, 1: 5}, 9: 100}}
    EXPECT_EQ(to_hex(*out), "a1"
                            "820300"
                            "a3"
                            "00626162"
                            "06a200010105"
                            "091864");
    auto back = decode(ContentFormat::lwm2m_cbor, *out, c.path, test::registry());
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, c);
    // The same data written fully nested decodes the same: {3: {0: {0: "ab", 6: {0: 1, 1: 5}, 9:
    // 100}}}
    auto nested =
        decode(ContentFormat::lwm2m_cbor, hex("a1 03 a1 00 a3 00626162 06a200010105 091864"),
               c.path, test::registry());
    ASSERT_TRUE(nested);
    EXPECT_EQ(*nested, c);
    // A single resource: {[3, 0, 9]: 100}
    dm::Content leaf{dm::Path(Oid{3}, Iid{0}, Rid{9}),
                     dm::Resource::single(9, dm::Value::integer(100))};
    auto l = encode(ContentFormat::lwm2m_cbor, leaf);
    ASSERT_TRUE(l);
    EXPECT_EQ(to_hex(*l), "a1830300091864");
}

TEST(Lwm2mCbor, RoundTripsTheTsDeviceExampleAndComposite) {
    auto out = encode(ContentFormat::lwm2m_cbor, device_instance());
    ASSERT_TRUE(out);
    auto back = decode(ContentFormat::lwm2m_cbor, *out, dm::Path(Oid{3}, Iid{0}), test::registry());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, device_instance());
    std::vector<dm::Record> recs = {
        {dm::Path(Oid{3}, Iid{0}, Rid{9}), dm::Value::integer(1), std::nullopt},
        {dm::Path(Oid{9999}, Iid{1}, Rid{7}), dm::Value::objlnk(3, 0), std::nullopt},
        {dm::Path(Oid{1}, Iid{0}), dm::Value{}, std::nullopt},
    };
    auto c = encode_records(ContentFormat::lwm2m_cbor, recs);
    ASSERT_TRUE(c);
    auto r = decode_records(ContentFormat::lwm2m_cbor, *c, test::registry());
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[0].path, dm::Path(Oid{1}, Iid{0})); // sorted by path
    EXPECT_TRUE((*r)[0].value.is_none());
    EXPECT_EQ((*r)[2].value, dm::Value::objlnk(3, 0));
}

TEST(Lwm2mCbor, Errors) {
    const auto reg = test::registry();
    const dm::Path inst(Oid{3}, Iid{0});
    auto dec = [&](std::string_view h) {
        return decode(ContentFormat::lwm2m_cbor, hex(h), inst, reg);
    };
    EXPECT_EQ(test::err(dec("a1 820300 a1 09 6131")), Errc::type_mismatch); // text for integer
    EXPECT_EQ(test::err(dec("a1 820300 a1 09")), Errc::malformed);          // truncated
    EXPECT_EQ(test::err(dec("a1 8403000000 a1 00 01")), Errc::malformed);   // 5 ids
    EXPECT_EQ(test::err(dec("a1 820300 a1 6131 01")), Errc::malformed);     // text key
    EXPECT_EQ(test::err(dec("a1 820301 a1 09 01")), Errc::path_mismatch);   // other instance
    EXPECT_EQ(test::err(dec("a1 820300 a2 09 01 09 02")), Errc::duplicate);
    EXPECT_EQ(test::err(dec("a1 820300 a1 19ffff 01")), Errc::unknown_resource);
    EXPECT_EQ(test::err(dec("a1 820300 a1 1a00010000 01")), Errc::malformed); // id > 65535
    std::vector<dm::Record> timed = {
        {dm::Path(Oid{3}, Iid{0}, Rid{9}), dm::Value::integer(1), 5.0}};
    EXPECT_EQ(test::err(encode_records(ContentFormat::lwm2m_cbor, timed)), Errc::invalid_content);
    std::vector<dm::Record> overlap = {
        {dm::Path(Oid{3}, Iid{0}), dm::Value{}, std::nullopt},
        {dm::Path(Oid{3}, Iid{0}, Rid{9}), dm::Value::integer(1), std::nullopt}};
    EXPECT_EQ(test::err(encode_records(ContentFormat::lwm2m_cbor, overlap)), Errc::invalid_content);
}

} // namespace
} // namespace lwm2m::format
