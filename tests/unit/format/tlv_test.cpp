// LwM2M TLV (TS Core 1.1 §7.4.3) golden vectors and error cases.
#include <gtest/gtest.h>

#include <lwm2m/format/codec.hpp>

#include "unit/format/test_defs.hpp"

namespace lwm2m::format {
namespace tlv_test { // named: unity builds join the files

using test::hex;

// TS 1.1 §7.4.3.2 example: Read /3/0 of the Device object, byte for byte.
constexpr std::string_view ts_device_tlv =
    "C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65"
    "C8 01 16 4C 69 67 68 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74"
    "C8 02 09 33 34 35 30 30 30 31 32 33"
    "C3 03 31 2E 30"
    "86 06 41 00 01 41 01 05"
    "88 07 08 42 00 0E D8 42 01 13 88"
    "87 08 41 00 7D 42 01 03 84"
    "C1 09 64"
    "C1 0A 0F"
    "83 0B 41 00 00"
    "C4 0D 51 82 42 8F"
    "C6 0E 2B 30 32 3A 30 30"
    "C1 10 55";

dm::Content device_instance() {
    return dm::Content{dm::Path(Oid{3}, Iid{0}), test::ts_device_instance()};
}

TEST(Tlv, EncodesTheTsDeviceInstanceExampleByteForByte) {
    auto out = encode(ContentFormat::lwm2m_tlv, device_instance());
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(to_hex(*out), to_hex(hex(ts_device_tlv)));
    EXPECT_EQ(out->size(), 121u);
}

TEST(Tlv, EncodesTheObjectLevelExampleWithInstanceHeader) {
    // TS 1.1 §7.4.3.2: Read /3 wraps the instance: 08 00 79 (object instance 0, 121 bytes).
    dm::Object o{3, {{0, test::ts_device_instance()}}};
    auto out = encode(ContentFormat::lwm2m_tlv, dm::Content{dm::Path(Oid{3}), o});
    ASSERT_TRUE(out);
    EXPECT_EQ(to_hex(*out), "080079" + to_hex(hex(ts_device_tlv)));
}

TEST(Tlv, DecodesTheTsExampleAtInstanceAndObjectLevel) {
    const auto reg = test::registry();
    auto c = decode(ContentFormat::lwm2m_tlv, hex(ts_device_tlv), dm::Path(Oid{3}, Iid{0}), reg);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(*c, device_instance());
    // Wrapped in an Object Instance TLV, addressed to the instance (TS 1.1 §7.4.3).
    auto wrapped = hex("080079");
    const auto body = hex(ts_device_tlv);
    wrapped.insert(wrapped.end(), body.begin(), body.end());
    auto c2 = decode(ContentFormat::lwm2m_tlv, wrapped, dm::Path(Oid{3}, Iid{0}), reg);
    ASSERT_TRUE(c2);
    EXPECT_EQ(*c2, device_instance());
    auto c3 = decode(ContentFormat::lwm2m_tlv, wrapped, dm::Path(Oid{3}), reg);
    ASSERT_TRUE(c3);
    EXPECT_EQ(std::get<dm::Object>(c3->node).instances.at(0), test::ts_device_instance());
}

TEST(Tlv, DecodesTheTsExampleWithTheBuiltinRegistry) {
    // The dm layer's built-in Device object definition (1.1) agrees with the TS example.
    const auto reg = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_1);
    auto c = decode(ContentFormat::lwm2m_tlv, hex(ts_device_tlv), dm::Path(Oid{3}, Iid{0}), reg);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(*c, device_instance());
    for (auto f : {ContentFormat::senml_json, ContentFormat::senml_cbor, ContentFormat::lwm2m_json,
                   ContentFormat::lwm2m_cbor}) {
        auto bytes = encode(f, *c);
        ASSERT_TRUE(bytes);
        auto back = decode(f, *bytes, c->path, reg);
        ASSERT_TRUE(back) << to_string(f) << ": " << back.error().message();
        EXPECT_EQ(*back, *c);
    }
}

TEST(Tlv, MultipleResourceAndResourceInstanceLevels) {
    const auto reg = test::registry();
    const dm::Path p(Oid{3}, Iid{0}, Rid{7});
    auto c = decode(ContentFormat::lwm2m_tlv, hex("88 07 08 42 00 0E D8 42 01 13 88"), p, reg);
    ASSERT_TRUE(c);
    EXPECT_EQ(std::get<dm::Resource>(c->node).instances.at(1), dm::Value::integer(5000));
    // Bare resource instances addressed to the multiple resource are accepted too.
    auto c2 = decode(ContentFormat::lwm2m_tlv, hex("42 00 0E D8 42 01 13 88"), p, reg);
    ASSERT_TRUE(c2);
    EXPECT_EQ(*c2, *c);
    const dm::Path ri(Oid{3}, Iid{0}, Rid{7}, Riid{1});
    auto v = decode(ContentFormat::lwm2m_tlv, hex("42 01 13 88"), ri, reg);
    ASSERT_TRUE(v);
    EXPECT_EQ(std::get<dm::Value>(v->node), dm::Value::integer(5000));
    auto e = encode(ContentFormat::lwm2m_tlv, dm::Content{ri, dm::Value::integer(5000)});
    ASSERT_TRUE(e);
    EXPECT_EQ(to_hex(*e), "42011388");
}

TEST(Tlv, IntegerAndFloatWidths) {
    auto enc = [](dm::Value v) {
        auto out =
            encode(ContentFormat::lwm2m_tlv, dm::Content{dm::Path(Oid{9999}, Iid{0}, Rid{1}),
                                                         dm::Resource::single(1, std::move(v))});
        return out ? to_hex(*out) : std::string("error");
    };
    EXPECT_EQ(enc(dm::Value::integer(-1)), "c101ff");
    EXPECT_EQ(enc(dm::Value::integer(128)), "c2010080");
    EXPECT_EQ(enc(dm::Value::integer(-129)), "c201ff7f");
    EXPECT_EQ(enc(dm::Value::integer(1LL << 31)), "c801080000000080000000");
}

TEST(Tlv, FloatIsFourBytesWhenExact) {
    auto enc = [](double d) {
        auto out = encode(ContentFormat::lwm2m_tlv,
                          dm::Content{dm::Path(Oid{9999}, Iid{0}, Rid{3}),
                                      dm::Resource::single(3, dm::Value::float_(d))});
        return out ? to_hex(*out) : std::string("error");
    };
    EXPECT_EQ(enc(1.5), "c4033fc00000");
    EXPECT_EQ(enc(0.1), "c803083fb999999999999a");
}

TEST(Tlv, TypeRulesAreEnforced) {
    const auto reg = test::registry();
    auto dec = [&](std::uint16_t rid, std::string_view h) {
        return decode(ContentFormat::lwm2m_tlv, hex(h), dm::Path(Oid{9999}, Iid{0}, Rid{rid}), reg);
    };
    EXPECT_EQ(test::err(dec(1, "c3 01 00 00 01")), Errc::type_mismatch); // 3-byte integer
    EXPECT_EQ(test::err(dec(4, "c1 04 02")), Errc::type_mismatch);       // boolean 2
    EXPECT_EQ(test::err(dec(4, "c2 04 00 01")), Errc::type_mismatch);    // boolean of 2 bytes
    EXPECT_EQ(test::err(dec(3, "c2 03 00 01")), Errc::type_mismatch);    // float of 2 bytes
    EXPECT_EQ(test::err(dec(7, "c3 07 00 01 02")), Errc::type_mismatch); // objlnk of 3 bytes
    EXPECT_EQ(test::err(dec(0, "c2 00 c3 28")), Errc::type_mismatch);    // bad UTF-8
    EXPECT_EQ(test::err(dec(0, "c2 00 41")), Errc::malformed);           // truncated value
    EXPECT_EQ(test::err(dec(0, "c8 00")), Errc::malformed);              // truncated length
    EXPECT_EQ(test::err(dec(10, "c1 0a 01")), Errc::structure_mismatch); // single TLV for multiple
    EXPECT_EQ(test::err(dec(1, "83 01 41 00 01")), Errc::structure_mismatch);
    auto ok1 = dec(4, "c1 04 01");
    ASSERT_TRUE(ok1);
    EXPECT_EQ(std::get<dm::Resource>(ok1->node).value, dm::Value::boolean(true));
    auto u = dec(2, "c8 02 08 ff ff ff ff ff ff ff ff");
    ASSERT_TRUE(u);
    EXPECT_EQ(std::get<dm::Resource>(u->node).value, dm::Value::unsigned_integer(~0ULL));
    auto l = dec(7, "c4 07 00 03 00 01");
    ASSERT_TRUE(l);
    EXPECT_EQ(std::get<dm::Resource>(l->node).value, dm::Value::objlnk(3, 1));
}

TEST(Tlv, StructuralErrorsAndTheirCoapCodes) {
    const auto reg = test::registry();
    const dm::Path inst(Oid{3}, Iid{0});
    auto unknown_res = decode(ContentFormat::lwm2m_tlv, hex("c1 63 01"), inst, reg);
    EXPECT_EQ(test::err(unknown_res), Errc::unknown_resource);
    EXPECT_EQ(coap_code_for(test::err(unknown_res)), 0x84); // 4.04
    auto unknown_obj =
        decode(ContentFormat::lwm2m_tlv, hex("c1 00 01"), dm::Path(Oid{77}, Iid{0}), reg);
    EXPECT_EQ(test::err(unknown_obj), Errc::unknown_object);
    auto dup = decode(ContentFormat::lwm2m_tlv, hex("c1 09 01 c1 09 02"), inst, reg);
    EXPECT_EQ(test::err(dup), Errc::duplicate);
    EXPECT_EQ(coap_code_for(test::err(dup)), 0x80); // 4.00
    auto wrong_iid = decode(ContentFormat::lwm2m_tlv, hex("03 01 c1 09 01"), inst, reg);
    EXPECT_EQ(test::err(wrong_iid), Errc::path_mismatch);
    auto wrong_rid =
        decode(ContentFormat::lwm2m_tlv, hex("c1 0a 01"), dm::Path(Oid{3}, Iid{0}, Rid{9}), reg);
    EXPECT_EQ(test::err(wrong_rid), Errc::path_mismatch);
    auto nested_bad = decode(ContentFormat::lwm2m_tlv, hex("83 06 c1 00 01"), inst, reg);
    EXPECT_EQ(test::err(nested_bad), Errc::malformed);
    auto obj_with_res = decode(ContentFormat::lwm2m_tlv, hex("c1 09 01"), dm::Path(Oid{3}), reg);
    EXPECT_EQ(test::err(obj_with_res), Errc::malformed);
    auto exec = decode(ContentFormat::lwm2m_tlv, hex("c0 04"), inst, reg);
    EXPECT_EQ(test::err(exec), Errc::type_mismatch);
    DecodeOptions small;
    small.max_records = 3;
    auto many = decode(ContentFormat::lwm2m_tlv, hex("c1 09 01 c1 0a 01 c1 14 01 c1 15 01"), inst,
                       reg, small);
    EXPECT_EQ(test::err(many), Errc::limit_exceeded);
}

TEST(Tlv, SixteenBitIdsAndLongLengths) {
    const auto reg = [] {
        auto r = test::registry();
        dm::ObjectDef o;
        o.id = 300;
        o.resources = {test::res(1000, dm::DataType::opaque)};
        r.add(o);
        return r;
    }();
    Bytes big(70000, std::byte{0xAB});
    dm::Content c{
        dm::Path(Oid{300}, Iid{0x1234}),
        dm::Instance{0x1234, {{1000, dm::Resource::single(1000, dm::Value::opaque(big))}}}};
    auto e = encode(ContentFormat::lwm2m_tlv, c);
    ASSERT_TRUE(e);
    EXPECT_EQ(to_hex(BytesView(*e).first(6)), "f803e8011170"); // 16-bit id, 24-bit length
    auto d = decode(ContentFormat::lwm2m_tlv, *e, c.path, reg);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, c);
}

TEST(Tlv, EncodeRejectsInconsistentContent) {
    dm::Content bad{dm::Path(Oid{3}, Iid{0}), dm::Object{3, {}}};
    EXPECT_EQ(test::err(encode(ContentFormat::lwm2m_tlv, bad)), Errc::invalid_content);
    dm::Content none{dm::Path(Oid{3}, Iid{0}, Rid{1}), dm::Resource::single(1, dm::Value{})};
    EXPECT_EQ(test::err(encode(ContentFormat::lwm2m_tlv, none)), Errc::invalid_content);
    EXPECT_EQ(coap_code_for(make_error_code(Errc::invalid_content)), 0xA0); // 5.00
}

} // namespace tlv_test
} // namespace lwm2m::format
