// RFC 7252 §3 codec: Appendix A examples byte for byte, every malformed case, extended
// delta/length boundaries, encode errors.
#include <gtest/gtest.h>

#include <vector>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/errc.hpp>

#include "support/coap_samples.hpp"
#include "test_util.hpp"

namespace lwm2m::coap {
namespace {

using test::cat;
using test::decode_error;
using test::hex;

Bytes encode_ok(const Message& m) {
    Bytes out = encode(m);
    EXPECT_EQ(out.size(), encoded_size(m));
    return out;
}

// ---------------------------------------------------------------------------------------------
// RFC 7252 Appendix A

TEST(CoapCodecRfc7252, Figure16ConGetTemperature) {
    Message m;
    m.type = Type::con;
    m.code = code::get;
    m.message_id = 0x7d34;
    m.set_path("/temperature");
    const Bytes expected = hex("40 01 7d 34 bb 74 65 6d 70 65 72 61 74 75 72 65");
    EXPECT_EQ(encode_ok(m), expected);

    auto v = decode(expected);
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_EQ(v->type, Type::con);
    EXPECT_EQ(v->code, code::get);
    EXPECT_EQ(v->message_id, 0x7d34);
    EXPECT_TRUE(v->token.empty());
    ASSERT_EQ(v->option_count, 1U);
    EXPECT_EQ(v->options()[0].number, option::uri_path);
    EXPECT_EQ(as_string_view(v->options()[0].value), "temperature");
    EXPECT_TRUE(v->payload.empty());
    EXPECT_EQ(v->path(), "/temperature");
}

TEST(CoapCodecRfc7252, Figure16AckContentPayload) {
    Message m;
    m.type = Type::ack;
    m.code = code::content;
    m.message_id = 0x7d34;
    m.payload = to_bytes("22.3 C");
    const Bytes expected = hex("60 45 7d 34 ff 32 32 2e 33 20 43");
    EXPECT_EQ(encode_ok(m), expected);

    auto v = decode(expected);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type, Type::ack);
    EXPECT_EQ(v->code, code::content);
    EXPECT_EQ(v->code.to_string(), "2.05");
    EXPECT_EQ(v->option_count, 0U);
    EXPECT_EQ(as_string_view(v->payload), "22.3 C");
}

TEST(CoapCodecRfc7252, Figure17WithToken) {
    Message req;
    req.type = Type::con;
    req.code = code::get;
    req.message_id = 0x7d34;
    req.token = Token(hex("20"));
    req.set_path("temperature");
    const Bytes req_bytes = hex("41 01 7d 34 20 bb 74 65 6d 70 65 72 61 74 75 72 65");
    EXPECT_EQ(encode_ok(req), req_bytes);

    Message rsp;
    rsp.type = Type::ack;
    rsp.code = code::content;
    rsp.message_id = 0x7d34;
    rsp.token = Token(hex("20"));
    rsp.payload = to_bytes("22.3 C");
    const Bytes rsp_bytes = hex("61 45 7d 34 20 ff 32 32 2e 33 20 43");
    EXPECT_EQ(encode_ok(rsp), rsp_bytes);

    auto v = decode(rsp_bytes);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->token, Token(hex("20")));
    EXPECT_EQ(Message::from_view(*v), rsp);
}

TEST(CoapCodecRfc7252, EmptyAckAndReset) {
    // §4.2 / Appendix A Figure 18: the empty ACK of a separate response.
    Message ack;
    ack.type = Type::ack;
    ack.message_id = 0x7d38;
    EXPECT_EQ(encode_ok(ack), hex("60 00 7d 38"));
    Message rst;
    rst.type = Type::rst;
    rst.message_id = 0x0001;
    EXPECT_EQ(encode_ok(rst), hex("70 00 00 01"));
    const Bytes empty_ack = hex("60 00 7d 38");
    auto v = decode(empty_ack);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->code.is_empty());
    EXPECT_EQ(v->type, Type::ack);
    EXPECT_EQ(v->message_id, 0x7d38);
    // CON with code 0.00 is a "CoAP ping" (§4.3): valid format.
    const Bytes ping = hex("40 00 12 34");
    EXPECT_TRUE(decode(ping));
}

// RFC 7641 §4.1 / Figure 3 style: GET with Observe: 0 (register) and the notification.
TEST(CoapCodecRfc7641, ObserveRegisterAndNotification) {
    Message req;
    req.type = Type::con;
    req.code = code::get;
    req.message_id = 0x1633;
    req.token = Token(hex("4a"));
    req.set_path("/temperature");
    req.add_uint_option(option::observe, 0); // zero-length (RFC 7252 §3.2)
    // Observe (6) precedes Uri-Path (11): 0x60, then delta 5 len 11: 0x5b.
    const Bytes req_bytes = cat(hex("41 01 16 33 4a 60 5b"), as_bytes("temperature"));
    EXPECT_EQ(encode_ok(req), req_bytes);

    Message ntf;
    ntf.type = Type::ack;
    ntf.code = code::content;
    ntf.message_id = 0x1633;
    ntf.token = Token(hex("4a"));
    ntf.add_uint_option(option::max_age, 15);
    ntf.add_uint_option(option::observe, 9);
    ntf.payload = to_bytes("18.5 Cel");
    const Bytes ntf_bytes = cat(hex("61 45 16 33 4a 61 09 81 0f ff"), as_bytes("18.5 Cel"));
    EXPECT_EQ(encode_ok(ntf), ntf_bytes);
    auto v = decode(ntf_bytes);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->uint_option(option::observe), 9U);
    EXPECT_EQ(v->uint_option(option::max_age), 15U);
    EXPECT_EQ(v->uint_option(option::etag), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// Malformed input: each kind maps to its Errc (RFC 7252 §3, §3.1, §4.1).

TEST(CoapCodecMalformed, TruncatedHeader) {
    EXPECT_EQ(decode_error({}), Errc::truncated_header);
    EXPECT_EQ(decode_error(hex("40")), Errc::truncated_header);
    EXPECT_EQ(decode_error(hex("40 01 00")), Errc::truncated_header);
    // TKL says 4, only 2 token bytes present.
    EXPECT_EQ(decode_error(hex("44 01 00 01 aa bb")), Errc::truncated_header);
    EXPECT_EQ(decode_error(hex("48 01 00 01 01 02 03 04 05 06 07")), Errc::truncated_header);
    EXPECT_FALSE(decode_error(hex("48 01 00 01 01 02 03 04 05 06 07 08")));
}

TEST(CoapCodecMalformed, BadVersion) {
    for (const char* h : {"00 01 00 01", "80 01 00 01", "c0 01 00 01", "30 45 00 01"})
        EXPECT_EQ(decode_error(hex(h)), Errc::bad_version) << h;
}

TEST(CoapCodecMalformed, TokenLength9To15) {
    for (int tkl = 9; tkl <= 15; ++tkl) {
        Bytes b = hex("40 01 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
        b[0] = static_cast<std::byte>(0x40 | tkl);
        EXPECT_EQ(decode_error(b), Errc::bad_token_length) << tkl;
    }
    // Reserved TKL on an empty message is still bad_token_length (checked first).
    EXPECT_EQ(decode_error(hex("49 00 00 01")), Errc::bad_token_length);
}

TEST(CoapCodecMalformed, EmptyMessageMustBeEmpty) {
    // RFC 7252 §4.1: code 0.00 with a token, options or payload is a format error.
    EXPECT_EQ(decode_error(hex("41 00 00 01 aa")), Errc::empty_message_not_empty);
    EXPECT_EQ(decode_error(hex("60 00 00 01 b1 61")), Errc::empty_message_not_empty);
    EXPECT_EQ(decode_error(hex("60 00 00 01 ff 61")), Errc::empty_message_not_empty);
    EXPECT_EQ(decode_error(hex("70 00 00 01 00")), Errc::empty_message_not_empty);
    // Even when the token is declared but missing.
    EXPECT_EQ(decode_error(hex("41 00 00 01")), Errc::empty_message_not_empty);
}

TEST(CoapCodecMalformed, OptionDeltaNibble15) {
    for (int len = 0; len < 15; ++len) {
        Bytes b = cat(hex("40 01 00 01"), Bytes{static_cast<std::byte>(0xf0 | len)});
        b.resize(b.size() + 20, std::byte{0x61});
        EXPECT_EQ(decode_error(b), Errc::option_delta_reserved) << len;
    }
}

TEST(CoapCodecMalformed, OptionLengthNibble15) {
    EXPECT_EQ(decode_error(hex("40 01 00 01 0f")), Errc::option_length_reserved);
    EXPECT_EQ(decode_error(hex("40 01 00 01 bf 61 62")), Errc::option_length_reserved);
    EXPECT_EQ(decode_error(hex("40 01 00 01 df 00 61")), Errc::option_length_reserved);
    // After a valid option too.
    EXPECT_EQ(decode_error(hex("40 01 00 01 b1 61 0f")), Errc::option_length_reserved);
}

TEST(CoapCodecMalformed, TruncatedOption) {
    EXPECT_EQ(decode_error(hex("40 01 00 01 d0")), Errc::truncated_option);       // ext delta 1B
    EXPECT_EQ(decode_error(hex("40 01 00 01 e0 00")), Errc::truncated_option);    // ext delta 2B
    EXPECT_EQ(decode_error(hex("40 01 00 01 0d")), Errc::truncated_option);       // ext len 1B
    EXPECT_EQ(decode_error(hex("40 01 00 01 0e 01")), Errc::truncated_option);    // ext len 2B
    EXPECT_EQ(decode_error(hex("40 01 00 01 dd 00")), Errc::truncated_option);    // len ext missing
    EXPECT_EQ(decode_error(hex("40 01 00 01 b3 61 62")), Errc::truncated_option); // value short
    EXPECT_EQ(decode_error(hex("40 01 00 01 0d 00 01 02")), Errc::truncated_option); // 13 > 3
    EXPECT_EQ(decode_error(hex("40 01 00 01 0e 00 00")), Errc::truncated_option);    // 269 > 0
    // A value that ends exactly at the end of the datagram is fine.
    EXPECT_FALSE(decode_error(hex("40 01 00 01 b2 61 62")));
}

TEST(CoapCodecMalformed, OptionNumberOverflow) {
    // Delta 14 + 0xffff + 269 exceeds 65535 on its own.
    EXPECT_EQ(decode_error(hex("40 01 00 01 e0 ff ff")), Errc::option_number_overflow);
    // 0xfef2 + 269 == 65535 exactly: valid; a further delta 0 is still 65535; delta 1 overflows.
    const Bytes max_number = hex("40 01 00 01 e0 fe f2 00");
    auto v = decode(max_number);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->option_count, 2U);
    EXPECT_EQ(v->options()[0].number, 65535);
    EXPECT_EQ(v->options()[1].number, 65535);
    EXPECT_EQ(decode_error(hex("40 01 00 01 e0 fe f2 10")), Errc::option_number_overflow);
    EXPECT_EQ(decode_error(hex("40 01 00 01 e0 fe f3")), Errc::option_number_overflow);
    // Two valid deltas (33037 each) accumulate past 65535.
    EXPECT_EQ(decode_error(hex("40 01 00 01 e0 80 00 e0 80 00")), Errc::option_number_overflow);
}

TEST(CoapCodecMalformed, TooManyOptions) {
    Bytes b = hex("40 01 00 01");
    b.resize(4 + MessageView::max_options, std::byte{0x00}); // max_options options #0, empty
    auto v = decode(b);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->option_count, MessageView::max_options);
    b.push_back(std::byte{0x00});
    EXPECT_EQ(decode_error(b), Errc::too_many_options);
}

TEST(CoapCodecMalformed, PayloadMarkerWithoutPayload) {
    EXPECT_EQ(decode_error(hex("40 01 00 01 ff")), Errc::payload_marker_without_payload);
    EXPECT_EQ(decode_error(hex("41 01 00 01 aa b1 61 ff")), Errc::payload_marker_without_payload);
    const Bytes ff_payload = hex("40 01 00 01 ff ff");
    auto v = decode(ff_payload);
    ASSERT_TRUE(v); // a payload that is itself 0xff
    EXPECT_EQ(v->payload.size(), 1U);
}

TEST(CoapCodecMalformed, DecodeIntoResetsPreviousContent) {
    MessageView v;
    ASSERT_TRUE(decode_into(hex("40 01 00 01 b1 61 ff 62"), v));
    EXPECT_EQ(v.option_count, 1U);
    ASSERT_TRUE(decode_into(hex("60 00 00 02"), v));
    EXPECT_EQ(v.option_count, 0U);
    EXPECT_TRUE(v.payload.empty());
    EXPECT_EQ(v.message_id, 2);
}

TEST(CoapCodecErrc, CategoryAndMessages) {
    const std::error_code e = Errc::too_many_options;
    EXPECT_STREQ(e.category().name(), "lwm2m.coap");
    EXPECT_EQ(&e.category(), &coap_category());
    for (int i = static_cast<int>(Errc::truncated_header);
         i <= static_cast<int>(Errc::message_too_large); ++i)
        EXPECT_NE(coap_category().message(i), "unknown CoAP error") << i;
    EXPECT_EQ(coap_category().message(999), "unknown CoAP error");
}

// ---------------------------------------------------------------------------------------------
// Extended option delta / length boundaries (RFC 7252 §3.1).

struct ExtCase {
    std::uint16_t number;
    const char* header_hex; // option header bytes for a zero-length option at `number`
};

TEST(CoapCodecBoundaries, OptionDeltaForms) {
    const std::vector<ExtCase> cases = {
        {0, "00"},         {12, "c0"},          {13, "d0 00"},     {14, "d0 01"},
        {268, "d0 ff"},    {269, "e0 00 00"},   {270, "e0 00 01"}, {524, "e0 00 ff"},
        {525, "e0 01 00"}, {65535, "e0 fe f2"},
    };
    for (const auto& c : cases) {
        Message m;
        m.code = code::get;
        m.add_option(c.number, BytesView{});
        const Bytes expected = cat(hex("40 01 00 00"), hex(c.header_hex));
        EXPECT_EQ(encode_ok(m), expected) << c.number;
        auto v = decode(expected);
        ASSERT_TRUE(v) << c.number;
        ASSERT_EQ(v->option_count, 1U);
        EXPECT_EQ(v->options()[0].number, c.number);
        EXPECT_TRUE(v->options()[0].value.empty());
    }
}

// The wire forms of lengths, on an unregistered option (2): a registered option would be held
// to its registry length range by encode(Message) (see CoapOptionRegistry tests).
TEST(CoapCodecBoundaries, OptionLengthForms) {
    struct LenCase {
        std::size_t len;
        const char* header_hex; // for option number 2 (unregistered, elective)
    };
    const std::vector<LenCase> cases = {
        {0, "20"},      {1, "21"},         {12, "2c"},        {13, "2d 00"},      {14, "2d 01"},
        {268, "2d ff"}, {269, "2e 00 00"}, {270, "2e 00 01"}, {1500, "2e 04 cf"},
    };
    ASSERT_EQ(option::info(2), nullptr);
    for (const auto& c : cases) {
        Message m;
        m.code = code::put;
        Bytes value(c.len);
        for (std::size_t i = 0; i < c.len; ++i)
            value[i] = static_cast<std::byte>(i * 7 + 1);
        m.add_option(2, value);
        const Bytes expected = cat(cat(hex("40 03 00 00"), hex(c.header_hex)), value);
        EXPECT_EQ(encode_ok(m), expected) << c.len;
        auto v = decode(expected);
        ASSERT_TRUE(v) << c.len;
        ASSERT_EQ(v->option_count, 1U);
        EXPECT_TRUE(equal(v->options()[0].value, value)) << c.len;
    }
}

TEST(CoapCodecBoundaries, EveryLengthUpTo300RoundTrips) {
    // Unregistered elective numbers 16 and 62 (delta 46: 1-byte extension).
    ASSERT_EQ(option::info(16), nullptr);
    ASSERT_EQ(option::info(62), nullptr);
    for (std::size_t len = 0; len <= 300; ++len) {
        Message m;
        m.code = code::post;
        m.add_option(16, Bytes(len, std::byte{'q'}));
        m.add_option(62, Bytes(len, std::byte{'s'}));
        m.payload = Bytes(len % 17, std::byte{'p'});
        const Bytes b = encode_ok(m);
        auto v = decode(b);
        ASSERT_TRUE(v) << len;
        EXPECT_EQ(Message::from_view(*v), m) << len;
    }
}

TEST(CoapCodecBoundaries, BothExtendedInOneHeader) {
    // delta 269 (14) and length 13 (13) in one byte: 0xed, then 2 delta bytes, then 1 length byte.
    Message m;
    m.code = code::get;
    m.add_option(269, Bytes(13, std::byte{0xaa}));
    const Bytes b = encode_ok(m);
    ASSERT_GE(b.size(), 8U);
    EXPECT_EQ(b[4], std::byte{0xed});
    EXPECT_EQ(b[5], std::byte{0x00});
    EXPECT_EQ(b[6], std::byte{0x00});
    EXPECT_EQ(b[7], std::byte{0x00});
    EXPECT_EQ(b.size(), 4U + 4U + 13U);
    auto v = decode(b);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->options()[0].number, 269);
}

// ---------------------------------------------------------------------------------------------
// Encode errors and re-encode of views.

TEST(CoapCodecEncode, BufferTooSmall) {
    Message m;
    m.code = code::get;
    m.message_id = 7;
    m.token = Token::from_u64(0x0102030405060708ULL);
    m.set_path("/rd/abc");
    m.payload = to_bytes("xyz");
    const std::size_t n = encoded_size(m);
    std::vector<std::byte> buf(n);
    for (std::size_t k = 0; k < n; ++k) {
        auto r = encode(m, MutableBytesView(buf.data(), k));
        ASSERT_FALSE(r) << k;
        EXPECT_EQ(r.error(), lwm2m::Errc::buffer_too_small);
    }
    auto r = encode(m, buf);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, n);
}

TEST(CoapCodecEncode, ViewReencodesByteIdentically) {
    // Non-minimal uint (leading zero), a repeated option and a payload all survive.
    const Bytes in = hex("52 02 ab cd 01 02 b2 72 64 03 61 62 63 12 00 28 ff 3c 2f 3e");
    auto v = decode(in);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->type, Type::non);
    EXPECT_EQ(v->uint_option(option::content_format), 40U);
    EXPECT_EQ(v->path(), "/rd/abc");
    std::vector<std::byte> out(in.size());
    auto r = encode(*v, out);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, in.size());
    EXPECT_EQ(Bytes(out.begin(), out.end()), in);
    // A too-small buffer is refused for views as well.
    auto small = encode(*v, MutableBytesView(out.data(), in.size() - 1));
    ASSERT_FALSE(small);
    EXPECT_EQ(small.error(), lwm2m::Errc::buffer_too_small);
}

TEST(CoapCodecEncode, UnsortedViewRejected) {
    MessageView v;
    v.code = code::get;
    v.options_storage[0] = OptionView{option::uri_query, as_bytes("a=b")};
    v.options_storage[1] = OptionView{option::uri_path, as_bytes("rd")};
    v.option_count = 2;
    std::array<std::byte, 64> out{};
    auto r = encode(v, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), lwm2m::Errc::invalid_argument);
}

TEST(CoapCodecEncode, OversizedOptionValueRejected) {
    Message m;
    m.code = code::put;
    m.add_option(2, Bytes(65535 + 269 + 1, std::byte{1})); // unregistered: no range
    std::vector<std::byte> out(70000);
    auto r = encode(m, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), lwm2m::Errc::invalid_argument);
    EXPECT_TRUE(encode(m).empty());
    // The largest encodable length works.
    Message ok_m;
    ok_m.code = code::put;
    ok_m.add_option(2, Bytes(65535 + 269, std::byte{1}));
    auto r2 = encode(ok_m, out);
    ASSERT_TRUE(r2);
    auto v = decode(BytesView(out.data(), *r2));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->options()[0].value.size(), 65535U + 269U);
}

// The owning encode() reports a failure (here an option value > 65804 bytes) as an empty buffer;
// that is unambiguous because every valid message is at least the 4-byte header (RFC 7252 §3).
TEST(CoapCodecEncode, OwningEncodeEmptyOnlyOnFailure) {
    Message empty_msg; // 0.00, no token: the smallest message
    EXPECT_EQ(encode(empty_msg).size(), 4U);
    Message limit;
    limit.code = code::get;
    limit.add_option(16, Bytes(65804, std::byte{'q'})); // unregistered: no length range
    const Bytes ok_bytes = encode(limit);
    EXPECT_EQ(ok_bytes.size(), encoded_size(limit));
    EXPECT_GE(ok_bytes.size(), 4U + 65804U);
    // One byte more in any option, wherever it sits, gives the empty buffer and the Result
    // overload the error.
    Message over = limit;
    over.add_option(option::uri_path, "a");
    over.add_option(62, Bytes(65805, std::byte{0}));
    EXPECT_TRUE(encode(over).empty());
    std::vector<std::byte> out(encoded_size(over));
    auto r = encode(over, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), lwm2m::Errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// The option registry drives encode(Message): RFC 7252 §5.4.3 (length), §5.4.5 (repetition).

TEST(CoapOptionRegistry, EncodeRefusesOptionsBreakingTheRegistry) {
    auto refused = [](const Message& m) {
        std::vector<std::byte> out(encoded_size(m) + 16);
        auto r = encode(m, out);
        return !r && r.error() == lwm2m::Errc::invalid_argument && encode(m).empty() &&
               !m.options_valid();
    };
    Message m;
    m.code = code::get;
    m.add_option(option::uri_port, BytesView(hex("00 16 33"))); // 3 bytes, range 0-2
    EXPECT_TRUE(refused(m));
    m = Message{};
    m.code = code::get;
    m.add_option(option::uri_host, BytesView{}); // range 1-255
    EXPECT_TRUE(refused(m));
    m = Message{};
    m.code = code::get;
    m.add_uint_option(option::accept, 40);
    m.add_uint_option(option::accept, 50); // not repeatable
    EXPECT_TRUE(refused(m));
    m = Message{};
    m.code = code::content;
    m.add_option(option::etag, BytesView(Bytes(9, std::byte{1}))); // 1-8
    EXPECT_TRUE(refused(m));
    m = Message{};
    m.code = code::get;
    m.add_option(option::echo, BytesView(Bytes(41, std::byte{1}))); // RFC 9175: 1-40
    EXPECT_TRUE(refused(m));
    // Repeatable options repeat; boundary lengths pass.
    m = Message{};
    m.code = code::content;
    m.add_option(option::etag, BytesView(Bytes(8, std::byte{1})));
    m.add_option(option::etag, BytesView(Bytes(1, std::byte{2})));
    m.add_option(option::uri_host, BytesView(Bytes(255, std::byte{'h'})));
    m.add_option(option::echo, BytesView(Bytes(40, std::byte{3})));
    m.add_uint_option(option::size1, 0xffffffffULL);
    m.set_path("/a/b/c");
    EXPECT_TRUE(m.options_valid());
    EXPECT_FALSE(encode(m).empty());
    // A decoded view is re-encoded faithfully even when it breaks the registry.
    const Bytes bad = hex("40 01 00 01 73 00 16 33"); // GET, Uri-Port of 3 bytes
    auto v = decode(bad);
    ASSERT_TRUE(v);
    std::vector<std::byte> out(bad.size());
    auto r = encode(*v, out);
    ASSERT_TRUE(r);
    EXPECT_EQ(Bytes(out.begin(), out.end()), bad);
}

// ---------------------------------------------------------------------------------------------
// A typical LwM2M Register request (LwM2M TS Transport 1.1 §6.4.1 / Core §6.2.1).

using lwm2m::test::make_register;
using lwm2m::test::register_links;

TEST(CoapCodecLwm2m, RegisterRequest) {
    const Message m = make_register();
    const Bytes b = encode_ok(m);
    // Header, 8-byte token, Uri-Path "rd" (0xb2), Content-Format 40 (0x11 0x28), first
    // Uri-Query with a 27-byte value (delta 3, length 13+14: 0x3d 0x0e).
    const Bytes prefix = hex("48 02 12 34 a1 b2 c3 d4 e5 f6 07 18 b2 72 64 11 28 3d 0e");
    ASSERT_GE(b.size(), prefix.size());
    EXPECT_EQ(Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(prefix.size())), prefix);

    auto v = decode(b);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->code.to_string(), "POST");
    EXPECT_EQ(v->path(), "/rd");
    EXPECT_EQ(v->uint_option(option::content_format), content_format::link_format);
    std::vector<std::string_view> queries;
    for (const auto& o : v->options())
        if (o.number == option::uri_query) queries.push_back(as_string_view(o.value));
    const std::vector<std::string_view> expected_q = {"ep=urn:imei:490154203237518", "lt=86400",
                                                      "lwm2m=1.1", "b=U"};
    EXPECT_EQ(queries, expected_q);
    EXPECT_EQ(as_string_view(v->payload), register_links);
    EXPECT_EQ(Message::from_view(*v), m);
    std::vector<std::byte> again(b.size());
    auto r = encode(*v, again);
    ASSERT_TRUE(r);
    EXPECT_EQ(Bytes(again.begin(), again.end()), b);
}

} // namespace
} // namespace lwm2m::coap
