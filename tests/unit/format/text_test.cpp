// text/plain (TS 1.1 §7.4.1), octet-stream (§7.4.2), levels and error-code mapping.
#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/format/codec.hpp>

#include "unit/format/test_defs.hpp"

namespace lwm2m::format {
namespace text_test { // named: unity builds join the files

using test::hex;

std::string str(const Bytes& b) {
    return std::string(as_string_view(b));
}

dm::Content leaf(std::uint16_t rid, dm::Value v) {
    return dm::Content{dm::Path(Oid{9999}, Iid{0}, Rid{rid}),
                       dm::Resource::single(rid, std::move(v))};
}

TEST(Text, EncodesEveryTypeInItsTextForm) {
    auto enc = [](std::uint16_t rid, dm::Value v) {
        auto out = encode(ContentFormat::text_plain, leaf(rid, std::move(v)));
        return out ? str(*out) : std::string("error");
    };
    EXPECT_EQ(enc(0, dm::Value::string("Open Mobile Alliance")), "Open Mobile Alliance");
    EXPECT_EQ(enc(1, dm::Value::integer(-42)), "-42");
    EXPECT_EQ(enc(2, dm::Value::unsigned_integer(18446744073709551615ULL)), "18446744073709551615");
    EXPECT_EQ(enc(3, dm::Value::float_(1.5)), "1.5");
    EXPECT_EQ(enc(4, dm::Value::boolean(true)), "1");
    EXPECT_EQ(enc(5, dm::Value::opaque(hex("fbff00"))), "+/8A");
    EXPECT_EQ(enc(6, dm::Value::time(1367491215)), "1367491215");
    EXPECT_EQ(enc(7, dm::Value::objlnk(3, 0)), "3:0");
    EXPECT_EQ(enc(8, dm::Value::corelnk("</3/0>")), "</3/0>");
}

TEST(Text, DecodesAndChecksTypes) {
    const auto reg = test::registry();
    auto dec = [&](std::uint16_t rid, std::string_view s) {
        return decode(ContentFormat::text_plain, as_bytes(s), dm::Path(Oid{9999}, Iid{0}, Rid{rid}),
                      reg);
    };
    for (std::uint16_t rid = 0; rid < 9; ++rid) {
        const char* samples[] = {"x",    "-42",        "42",  "1.5",   "1",
                                 "+/8A", "1367491215", "3:0", "</3/0>"};
        auto c = dec(rid, samples[rid]);
        ASSERT_TRUE(c) << rid;
        auto back = encode(ContentFormat::text_plain, *c);
        ASSERT_TRUE(back);
        EXPECT_EQ(str(*back), samples[rid]);
    }
    EXPECT_EQ(test::err(dec(1, "12a")), Errc::type_mismatch);
    EXPECT_EQ(test::err(dec(1, "9223372036854775808")), Errc::out_of_range);
    EXPECT_EQ(test::err(dec(2, "-1")), Errc::out_of_range);
    EXPECT_EQ(test::err(dec(4, "true")), Errc::type_mismatch);
    EXPECT_EQ(test::err(dec(4, "2")), Errc::type_mismatch);
    EXPECT_EQ(test::err(dec(5, "+/9")), Errc::type_mismatch);
    EXPECT_EQ(test::err(dec(7, "3:65536")), Errc::type_mismatch);
    EXPECT_EQ(test::err(dec(3, "1e999")), Errc::type_mismatch);
    EXPECT_EQ(test::err(dec(0, "\xff")), Errc::type_mismatch);
    EXPECT_EQ(coap_code_for(test::err(dec(1, "x"))), 0x80);
}

TEST(Text, OnlySingleValuesAreAllowed) {
    const auto reg = test::registry();
    // Encode (Read with Accept text/plain) of an instance or a multiple resource: 4.06.
    dm::Content inst{dm::Path(Oid{9999}, Iid{0}), dm::Instance{0, {}}};
    auto e1 = encode(ContentFormat::text_plain, inst);
    EXPECT_EQ(test::err(e1), Errc::unsupported_level);
    EXPECT_EQ(coap_code_for(test::err(e1)), 0x86);
    dm::Content multi{dm::Path(Oid{9999}, Iid{0}, Rid{11}),
                      dm::Resource::multi(11, {{0, dm::Value::integer(1)}})};
    EXPECT_EQ(test::err(encode(ContentFormat::text_plain, multi)), Errc::unsupported_level);
    // A resource instance is fine.
    dm::Content ri{dm::Path(Oid{9999}, Iid{0}, Rid{11}, Riid{0}), dm::Value::integer(1)};
    auto e2 = encode(ContentFormat::text_plain, ri);
    ASSERT_TRUE(e2);
    EXPECT_EQ(str(*e2), "1");
    // Decode (Write with text/plain) to an instance or a multiple resource: 4.15.
    auto d1 = decode(ContentFormat::text_plain, as_bytes("1"), dm::Path(Oid{9999}, Iid{0}), reg);
    EXPECT_EQ(test::err(d1), Errc::format_not_allowed);
    EXPECT_EQ(coap_code_for(test::err(d1)), 0x8F);
    EXPECT_EQ(test::err(decode(ContentFormat::text_plain, as_bytes("1"),
                               dm::Path(Oid{9999}, Iid{0}, Rid{11}), reg)),
              Errc::format_not_allowed);
    auto d2 = decode(ContentFormat::text_plain, as_bytes("7"),
                     dm::Path(Oid{9999}, Iid{0}, Rid{11}, Riid{3}), reg);
    ASSERT_TRUE(d2);
    EXPECT_EQ(std::get<dm::Value>(d2->node), dm::Value::integer(7));
    EXPECT_EQ(test::err(decode(ContentFormat::text_plain, as_bytes("1"),
                               dm::Path(Oid{77}, Iid{0}, Rid{1}), reg)),
              Errc::unknown_object);
}

TEST(Opaque, RawBytesForOpaqueResourcesOnly) {
    const auto reg = test::registry();
    auto e = encode(ContentFormat::octet_stream, leaf(5, dm::Value::opaque(hex("00ff10"))));
    ASSERT_TRUE(e);
    EXPECT_EQ(to_hex(*e), "00ff10");
    EXPECT_EQ(test::err(encode(ContentFormat::octet_stream, leaf(1, dm::Value::integer(1)))),
              Errc::unsupported_level);
    auto d = decode(ContentFormat::octet_stream, hex("00ff10"), dm::Path(Oid{9999}, Iid{0}, Rid{5}),
                    reg);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, leaf(5, dm::Value::opaque(hex("00ff10"))));
    EXPECT_EQ(test::err(decode(ContentFormat::octet_stream, hex("00"),
                               dm::Path(Oid{9999}, Iid{0}, Rid{1}), reg)),
              Errc::format_not_allowed);
    EXPECT_EQ(test::err(decode(ContentFormat::link_format, hex("00"),
                               dm::Path(Oid{9999}, Iid{0}, Rid{1}), reg)),
              Errc::unsupported_format);
    EXPECT_EQ(coap_code_for(make_error_code(Errc::unsupported_format)), 0x8F);
}

TEST(ContentFormats, EveryErrcHasACoapCodeAndMessage) {
    const std::pair<Errc, int> table[] = {
        {Errc::malformed, 0x80},          {Errc::type_mismatch, 0x80},
        {Errc::out_of_range, 0x80},       {Errc::duplicate, 0x80},
        {Errc::path_mismatch, 0x80},      {Errc::structure_mismatch, 0x80},
        {Errc::limit_exceeded, 0x80},     {Errc::unknown_object, 0x84},
        {Errc::unknown_resource, 0x84},   {Errc::unsupported_level, 0x86},
        {Errc::format_not_allowed, 0x8F}, {Errc::unsupported_format, 0x8F},
        {Errc::invalid_content, 0xA0}};
    for (auto [e, code] : table) {
        EXPECT_EQ(coap_code_for(make_error_code(e)), code) << static_cast<int>(e);
        EXPECT_NE(make_error_code(e).message(), "unknown format error");
        EXPECT_STREQ(make_error_code(e).category().name(), "lwm2m.format");
    }
}

TEST(ContentFormats, NumbersAndNames) {
    EXPECT_EQ(content_format_from(11542), ContentFormat::lwm2m_tlv);
    EXPECT_EQ(content_format_from(112), ContentFormat::senml_cbor);
    EXPECT_EQ(content_format_from(50), std::nullopt);
    EXPECT_EQ(to_string(ContentFormat::lwm2m_cbor), "application/vnd.oma.lwm2m+cbor");
    EXPECT_EQ(coap_code_for(make_error_code(lwm2m::Errc::invalid_argument)), 0xA0);
    EXPECT_EQ(make_error_code(Errc::malformed).message(), "malformed payload");
}

} // namespace text_test
} // namespace lwm2m::format
