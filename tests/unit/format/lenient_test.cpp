// Lenient decoding (DecodeOptions::allow_unknown and lenient_base64): what a server needs to read
// real clients that serve resources their registered object version does not define, vendor
// objects without a definition, and SenML "vd" in standard base64. Strict decoding is unchanged.
#include <gtest/gtest.h>

#include <lwm2m/format/codec.hpp>

#include "unit/format/test_defs.hpp"

namespace lwm2m::format {
namespace {

using test::err;
using test::hex;

DecodeOptions lenient() {
    DecodeOptions o;
    o.allow_unknown = true;
    o.lenient_base64 = true;
    return o;
}

const dm::Path dev0{Oid{3}, Iid{0}};

// TLV instance /3/0 with resource 0 (String "ab"), an unknown single resource 77 (2 bytes) and an
// unknown multiple resource 78 with instances 0 and 1.
Bytes tlv_with_unknown() {
    // 0xC8 = resource, 8-bit id, 3-bit length: C2 00 'a' 'b'
    // C2 4D 01 02            resource 77, 2 bytes
    // 86 4E 41 00 01 41 01 02   multiple resource 78, 6 bytes: instances 0 and 1 (1 byte each)
    return hex("C2 00 61 62  C2 4D 01 02  86 4E 41 00 01 41 01 02");
}

TEST(Lenient, TlvStrictRejectsAnUnknownResource) {
    const auto reg = test::registry();
    auto r = decode(ContentFormat::lwm2m_tlv, tlv_with_unknown(), dev0, reg);
    EXPECT_EQ(err(r), make_error_code(Errc::unknown_resource));
}

TEST(Lenient, TlvKeepsUnknownResourcesAsOpaqueAndTypesTheKnownOnes) {
    const auto reg = test::registry();
    auto r = decode(ContentFormat::lwm2m_tlv, tlv_with_unknown(), dev0, reg, lenient());
    ASSERT_TRUE(r) << r.error().message();
    const auto& inst = std::get<dm::Instance>(r->node);
    ASSERT_EQ(inst.resources.size(), 3U);
    EXPECT_EQ(inst.resources.at(0).value, dm::Value::string("ab"));
    EXPECT_EQ(inst.resources.at(77).value, dm::Value::opaque(hex("01 02")));
    ASSERT_TRUE(inst.resources.at(78).multiple);
    EXPECT_EQ(inst.resources.at(78).instances.at(0), dm::Value::opaque(hex("01")));
    EXPECT_EQ(inst.resources.at(78).instances.at(1), dm::Value::opaque(hex("02")));
}

TEST(Lenient, TlvUnknownObjectAndResourceTargets) {
    const auto reg = test::registry();
    // A vendor object without a definition: every value untyped.
    auto obj = decode(ContentFormat::lwm2m_tlv, hex("C2 4D 01 02"), dm::Path(Oid{10241}, Iid{0}),
                      reg, lenient());
    ASSERT_TRUE(obj) << obj.error().message();
    EXPECT_EQ(std::get<dm::Instance>(obj->node).resources.at(77).value,
              dm::Value::opaque(hex("01 02")));
    // A single unknown resource read alone, and one resource instance of an unknown resource.
    auto res = decode(ContentFormat::lwm2m_tlv, hex("C1 4D 07"), dm::Path(Oid{3}, Iid{0}, Rid{77}),
                      reg, lenient());
    ASSERT_TRUE(res) << res.error().message();
    EXPECT_EQ(std::get<dm::Resource>(res->node).value, dm::Value::opaque(hex("07")));
    auto ri = decode(ContentFormat::lwm2m_tlv, hex("41 02 09"),
                     dm::Path(Oid{3}, Iid{0}, Rid{78}, Riid{2}), reg, lenient());
    ASSERT_TRUE(ri) << ri.error().message();
    EXPECT_EQ(std::get<dm::Value>(ri->node), dm::Value::opaque(hex("09")));
}

TEST(Lenient, SenmlJsonKeepsUnknownResourcesWithTheirDecodedValues) {
    const auto reg = test::registry();
    const std::string_view p =
        R"([{"bn":"/3/0/","n":"0","vs":"x"},{"n":"77","v":42},{"n":"78/3","vb":true}])";
    EXPECT_EQ(err(decode(ContentFormat::senml_json, as_bytes(p), dev0, reg)),
              make_error_code(Errc::unknown_resource));
    auto r = decode(ContentFormat::senml_json, as_bytes(p), dev0, reg, lenient());
    ASSERT_TRUE(r) << r.error().message();
    const auto& inst = std::get<dm::Instance>(r->node);
    EXPECT_EQ(inst.resources.at(0).value, dm::Value::string("x"));
    EXPECT_EQ(inst.resources.at(77).value, dm::Value::integer(42));
    ASSERT_TRUE(inst.resources.at(78).multiple);
    EXPECT_EQ(inst.resources.at(78).instances.at(3), dm::Value::boolean(true));
}

TEST(Lenient, UnknownResourceMixingSingleAndInstancesIsStillAnError) {
    const auto reg = test::registry();
    const std::string_view p = R"([{"bn":"/3/0/","n":"77","v":1},{"n":"77/0","v":2}])";
    EXPECT_EQ(err(decode(ContentFormat::senml_json, as_bytes(p), dev0, reg, lenient())),
              make_error_code(Errc::structure_mismatch));
}

TEST(Lenient, KnownResourcesAreStillCheckedWhenUnknownOnesAreAllowed) {
    const auto reg = test::registry();
    const std::string_view p = R"([{"bn":"/3/0/","n":"0","v":1},{"n":"77","v":42}])";
    EXPECT_EQ(err(decode(ContentFormat::senml_json, as_bytes(p), dev0, reg, lenient())),
              make_error_code(Errc::type_mismatch));
}

TEST(Lenient, TextAndOpaqueOfAnUnknownResource) {
    const auto reg = test::registry();
    const dm::Path p77(Oid{3}, Iid{0}, Rid{77});
    EXPECT_EQ(err(decode(ContentFormat::text_plain, as_bytes("12"), p77, reg)),
              make_error_code(Errc::unknown_resource));
    auto t = decode(ContentFormat::text_plain, as_bytes("12"), p77, reg, lenient());
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_EQ(std::get<dm::Resource>(t->node).value, dm::Value::string("12"));
    auto o = decode(ContentFormat::octet_stream, hex("00 FF"), p77, reg, lenient());
    ASSERT_TRUE(o) << o.error().message();
    EXPECT_EQ(std::get<dm::Resource>(o->node).value, dm::Value::opaque(hex("00 FF")));
}

// Opaque resource 5 of object 9999 holds 0xFB 0xFF: "+/8=" in standard base64, "-_8" in base64url.
const dm::Path opaque_res{Oid{9999}, Iid{0}, Rid{5}};

TEST(Lenient, SenmlJsonVdInStandardBase64WithPadding) {
    const auto reg = test::registry();
    const std::string_view std_b64 = R"([{"bn":"/9999/0/5","vd":"+/8="}])";
    const std::string_view url_b64 = R"([{"bn":"/9999/0/5","vd":"-_8"}])";
    EXPECT_EQ(err(decode(ContentFormat::senml_json, as_bytes(std_b64), opaque_res, reg)),
              make_error_code(Errc::malformed));
    for (auto p : {std_b64, url_b64}) {
        auto r = decode(ContentFormat::senml_json, as_bytes(p), opaque_res, reg, lenient());
        ASSERT_TRUE(r) << p << ": " << r.error().message();
        EXPECT_EQ(std::get<dm::Resource>(r->node).value, dm::Value::opaque(hex("FB FF"))) << p;
    }
    // Strict base64url still decodes.
    auto strict = decode(ContentFormat::senml_json, as_bytes(url_b64), opaque_res, reg);
    ASSERT_TRUE(strict);
    // Garbage stays garbage.
    EXPECT_FALSE(decode(ContentFormat::senml_json, as_bytes(R"([{"bn":"/9999/0/5","vd":"*"}])"),
                        opaque_res, reg, lenient()));
}

TEST(Lenient, TextOpaqueAndLwm2mJsonAcceptTheUrlAlphabet) {
    const auto reg = test::registry();
    EXPECT_FALSE(decode(ContentFormat::text_plain, as_bytes("-_8"), opaque_res, reg));
    auto t = decode(ContentFormat::text_plain, as_bytes("-_8"), opaque_res, reg, lenient());
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_EQ(std::get<dm::Resource>(t->node).value, dm::Value::opaque(hex("FB FF")));
    const std::string_view j = R"({"bn":"/9999/0/","e":[{"n":"5","sv":"-_8"}]})";
    EXPECT_FALSE(decode(ContentFormat::lwm2m_json, as_bytes(j), opaque_res, reg));
    auto lj = decode(ContentFormat::lwm2m_json, as_bytes(j), opaque_res, reg, lenient());
    ASSERT_TRUE(lj) << lj.error().message();
    EXPECT_EQ(std::get<dm::Resource>(lj->node).value, dm::Value::opaque(hex("FB FF")));
}

TEST(Lenient, DecodeRecordsKeepsUnknownObjectsAndAcceptsStandardVd) {
    const auto reg = test::registry();
    const std::string_view p = R"([{"n":"/10241/0/1","v":3},{"n":"/9999/0/5","vd":"+/8="}])";
    auto r = decode_records(ContentFormat::senml_json, as_bytes(p), reg, lenient());
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 2U);
    EXPECT_EQ((*r)[0].value, dm::Value::integer(3));
    EXPECT_EQ((*r)[1].value, dm::Value::opaque(hex("FB FF")));
}

} // namespace
} // namespace lwm2m::format
