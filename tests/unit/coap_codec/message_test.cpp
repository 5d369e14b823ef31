// Message model helpers: Code names, Token, uint options, paths and queries, option order.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>

#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/message.hpp>

#include "test_util.hpp"

namespace lwm2m::coap {
namespace {

using test::hex;

// OptionValue keeps up to inline_capacity bytes in the object, more in one heap block: every
// copy, move and assignment across that boundary keeps the bytes, and a moved-from value is
// empty.
TEST(CoapOptionValue, InlineAndHeapValuesCopyMoveAndCompare) {
    const auto bytes = [](std::size_t n, int seed) {
        Bytes b(n);
        for (std::size_t i = 0; i < n; ++i)
            b[i] = static_cast<std::byte>(seed + static_cast<int>(i) * 7);
        return b;
    };
    const std::size_t cap = OptionValue::inline_capacity;
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, cap, cap + 1, std::size_t{1034}}) {
        const Bytes want = bytes(n, static_cast<int>(n));
        const OptionValue v(want);
        ASSERT_EQ(v.size(), n);
        EXPECT_EQ(v.empty(), n == 0);
        EXPECT_TRUE(v == BytesView(want));
        EXPECT_TRUE(std::equal(v.begin(), v.end(), want.begin(), want.end()));
        OptionValue copy(v);
        EXPECT_TRUE(copy == v);
        EXPECT_NE(copy.data(), v.data());
        OptionValue moved(std::move(copy));
        EXPECT_TRUE(moved == v);
        EXPECT_TRUE(copy.empty()); // NOLINT(bugprone-use-after-move): moved-from is empty
        for (const std::size_t m : {std::size_t{3}, cap + 9}) {
            const Bytes other_bytes = bytes(m, 99);
            OptionValue other(other_bytes);
            other = v; // copy-assign over an inline or a heap value
            EXPECT_TRUE(other == v);
            OptionValue target(other_bytes);
            target = std::move(other); // move-assign over an inline or a heap value
            EXPECT_TRUE(target == v);
            EXPECT_TRUE(other.empty()); // NOLINT(bugprone-use-after-move)
            EXPECT_FALSE(target == BytesView(other_bytes));
        }
        OptionValue self(want);
        const OptionValue& alias = self;
        self = alias;
        EXPECT_TRUE(self == BytesView(want));
    }
    // Options are kept sorted in a vector: values survive its reallocations.
    Message m;
    for (int i = 0; i < 40; ++i)
        m.add_option(option::uri_query, as_bytes(std::string(static_cast<std::size_t>(i), 'q')));
    ASSERT_EQ(m.options().size(), 40U);
    for (std::size_t i = 0; i < 40; ++i)
        EXPECT_EQ(as_string_view(m.options()[i].value), std::string(i, 'q'));
}

TEST(CoapCode, ToString) {
    EXPECT_EQ(code::get.to_string(), "GET");
    EXPECT_EQ(code::post.to_string(), "POST");
    EXPECT_EQ(code::put.to_string(), "PUT");
    EXPECT_EQ(code::delete_.to_string(), "DELETE");
    EXPECT_EQ(code::fetch.to_string(), "FETCH");
    EXPECT_EQ(code::patch.to_string(), "PATCH");
    EXPECT_EQ(code::ipatch.to_string(), "iPATCH");
    EXPECT_EQ(code::empty.to_string(), "0.00");
    EXPECT_EQ(Code(0, 9).to_string(), "0.09");
    EXPECT_EQ(code::content.to_string(), "2.05");
    EXPECT_EQ(code::continue_.to_string(), "2.31");
    EXPECT_EQ(code::not_found.to_string(), "4.04");
    EXPECT_EQ(code::request_entity_too_large.to_string(), "4.13");
    EXPECT_EQ(code::unprocessable_entity.to_string(), "4.22");
    EXPECT_EQ(code::gateway_timeout.to_string(), "5.04");
    EXPECT_EQ(Code(7, 31).to_string(), "7.31");
    EXPECT_EQ(Code(0x45).to_string(), "2.05");
}

TEST(CoapCode, Classes) {
    EXPECT_TRUE(code::get.is_request());
    EXPECT_FALSE(code::empty.is_request());
    EXPECT_TRUE(code::empty.is_empty());
    EXPECT_TRUE(code::changed.is_response());
    EXPECT_TRUE(code::changed.is_success());
    EXPECT_TRUE(code::bad_option.is_response());
    EXPECT_FALSE(code::bad_option.is_success());
    EXPECT_FALSE(Code(1, 0).is_response());
    EXPECT_EQ(code::content.value, 0x45);
}

TEST(CoapToken, FromU64AndBack) {
    const Token t = Token::from_u64(0x0102030405060708ULL);
    EXPECT_EQ(t.size(), 8U);
    EXPECT_EQ(Bytes(t.view().begin(), t.view().end()), hex("0102030405060708"));
    EXPECT_EQ(t.as_u64(), 0x0102030405060708ULL);
    const Token t4 = Token::from_u64(0xaabbccddeeULL, 4); // keeps the low 4 bytes
    EXPECT_EQ(Bytes(t4.view().begin(), t4.view().end()), hex("bbccddee"));
    EXPECT_EQ(t4.as_u64(), 0xbbccddeeULL);
    EXPECT_TRUE(Token::from_u64(5, 0).empty());
    EXPECT_EQ(Token::from_u64(5, 20).size(), 8U); // clamped to 8
    EXPECT_EQ(Token().as_u64(), 0U);
}

TEST(CoapToken, ConstructionAndEquality) {
    EXPECT_EQ(Token(hex("0102")), Token::from_u64(0x0102, 2));
    EXPECT_FALSE(Token(hex("0102")) == Token(hex("000102"))); // same value, other length
    EXPECT_FALSE(Token(hex("0102")) == Token(hex("0103")));
    EXPECT_TRUE(Token(hex("010203040506070809")).empty()); // > 8 bytes: documented empty
    EXPECT_EQ(Token(BytesView{}), Token());
}

TEST(CoapOption, NumbersAndKnown) {
    EXPECT_TRUE(option::is_critical(option::uri_path));
    EXPECT_FALSE(option::is_critical(option::content_format));
    EXPECT_TRUE(option::is_unsafe(option::uri_host));
    EXPECT_FALSE(option::is_unsafe(option::etag));
    for (std::uint16_t n :
         {option::uri_host, option::etag, option::observe, option::uri_port, option::location_path,
          option::uri_path, option::content_format, option::max_age, option::uri_query,
          option::accept, option::location_query, option::block2, option::block1, option::size2,
          option::size1, option::no_response})
        EXPECT_TRUE(option::is_known(n)) << n;
    for (std::uint16_t n : {0, 2, 10, 13, 16, 19, 21, 22, 24, 29, 61, 259, 2048, 65535})
        EXPECT_FALSE(option::is_known(static_cast<std::uint16_t>(n))) << n;
}

// RFC 7252 §5.4.1: a critical option that nothing acts on must not count as known, or a request
// carrying it is executed while ignoring it. If-Match/If-None-Match (§5.10.8), OSCORE (RFC 8613
// §2) and Proxy-Uri/Proxy-Scheme (§5.7.2) are critical and not implemented.
TEST(CoapOption, UnimplementedCriticalOptionsAreUnknown) {
    for (std::uint16_t n : {option::if_match, option::if_none_match, option::oscore,
                            option::proxy_uri, option::proxy_scheme}) {
        EXPECT_TRUE(option::is_critical(n)) << n;
        EXPECT_FALSE(option::is_known(n)) << n;
    }
}

// RFC 7252 §5.10 Table 4 (+ RFC 7641, 7959, 8613, 9175, 7967): every row as registered.
TEST(CoapOption, RegistryRows) {
    struct Row {
        std::uint16_t n;
        std::string_view name;
        option::Format f;
        std::uint16_t min, max;
        bool repeatable;
    };
    using F = option::Format;
    const Row rows[] = {
        {1, "If-Match", F::opaque, 0, 8, true},
        {3, "Uri-Host", F::string, 1, 255, false},
        {4, "ETag", F::opaque, 1, 8, true},
        {5, "If-None-Match", F::empty, 0, 0, false},
        {6, "Observe", F::uint, 0, 3, false},
        {7, "Uri-Port", F::uint, 0, 2, false},
        {8, "Location-Path", F::string, 0, 255, true},
        {9, "OSCORE", F::opaque, 0, 255, false},
        {11, "Uri-Path", F::string, 0, 255, true},
        {12, "Content-Format", F::uint, 0, 2, false},
        {14, "Max-Age", F::uint, 0, 4, false},
        {15, "Uri-Query", F::string, 0, 255, true},
        {17, "Accept", F::uint, 0, 2, false},
        {20, "Location-Query", F::string, 0, 255, true},
        {23, "Block2", F::uint, 0, 3, false},
        {27, "Block1", F::uint, 0, 3, false},
        {28, "Size2", F::uint, 0, 4, false},
        {35, "Proxy-Uri", F::string, 1, 1034, false},
        {39, "Proxy-Scheme", F::string, 1, 255, false},
        {60, "Size1", F::uint, 0, 4, false},
        {252, "Echo", F::opaque, 1, 40, false},
        {258, "No-Response", F::uint, 0, 1, false},
    };
    ASSERT_EQ(option::registry().size(), std::size(rows));
    for (const auto& r : rows) {
        const option::Info* in = option::info(r.n);
        ASSERT_NE(in, nullptr) << r.n;
        EXPECT_EQ(in->number, r.n);
        EXPECT_EQ(in->name, r.name);
        EXPECT_EQ(in->format, r.f) << r.name;
        EXPECT_EQ(in->min_length, r.min) << r.name;
        EXPECT_EQ(in->max_length, r.max) << r.name;
        EXPECT_EQ(in->repeatable, r.repeatable) << r.name;
    }
    for (std::uint32_t n = 0; n <= 0xffff; ++n) {
        const bool listed =
            std::any_of(std::begin(rows), std::end(rows), [n](const Row& r) { return r.n == n; });
        EXPECT_EQ(option::info(static_cast<std::uint16_t>(n)) != nullptr, listed) << n;
    }
    // §5.4.6 properties from the number: Echo is elective, safe and no-cache-key (RFC 9175
    // §2.2.1); Size1 is no-cache-key; Uri-Host critical and unsafe.
    EXPECT_FALSE(option::info(option::echo)->critical());
    EXPECT_FALSE(option::info(option::echo)->unsafe());
    EXPECT_TRUE(option::info(option::echo)->no_cache_key());
    EXPECT_TRUE(option::info(option::size1)->no_cache_key());
    EXPECT_FALSE(option::info(option::uri_path)->no_cache_key());
    EXPECT_TRUE(option::info(option::uri_host)->critical());
    EXPECT_TRUE(option::info(option::uri_host)->unsafe());
}

// MessageView::check_options(): RFC 7252 §5.4.1/§5.4.3/§5.4.5.
TEST(CoapOption, CheckOptionsDropsElectiveAndRejectsCritical) {
    MessageView v;
    v.code = code::get;
    const Bytes four(4, std::byte{0});
    std::size_t i = 0;
    v.options_storage[i++] = OptionView{option::etag, BytesView{}};        // ETag 0 B: bad
    v.options_storage[i++] = OptionView{option::observe, BytesView(four)}; // 4 B: bad
    v.options_storage[i++] = OptionView{option::uri_path, as_bytes("a")};
    v.options_storage[i++] = OptionView{option::uri_path, as_bytes("b")};       // repeatable
    v.options_storage[i++] = OptionView{option::content_format, as_bytes("x")}; // first: kept
    v.options_storage[i++] = OptionView{option::content_format, as_bytes("y")}; // 2nd: dropped
    v.options_storage[i++] = OptionView{2048, BytesView(four)}; // unregistered elective: kept
    v.option_count = i;
    auto r = v.check_options();
    EXPECT_FALSE(r.reject);
    EXPECT_EQ(r.ignored, 3U);
    ASSERT_EQ(v.option_count, 4U);
    EXPECT_EQ(v.path(), "/a/b");
    EXPECT_EQ(as_string_view(v.find(option::content_format)->value), "x");
    EXPECT_NE(v.find(2048), nullptr);

    for (const OptionView bad :
         {OptionView{option::uri_port, BytesView(four)}, OptionView{option::uri_host, BytesView{}},
          OptionView{option::if_match, as_bytes("e")}, // not acted on
          OptionView{2049, BytesView{}}}) {            // unknown critical
        MessageView w;
        w.code = code::get;
        w.options_storage[0] = bad;
        w.option_count = 1;
        auto c = w.check_options();
        EXPECT_TRUE(c.reject) << bad.number;
        EXPECT_EQ(c.rejected_option, bad.number);
    }
    MessageView twice;
    twice.code = code::get;
    twice.options_storage[0] = OptionView{option::accept, as_bytes("\x28")};
    twice.options_storage[1] = OptionView{option::accept, as_bytes("\x28")};
    twice.option_count = 2;
    EXPECT_TRUE(twice.check_options().reject);
}

TEST(CoapOption, DecodeUint) {
    EXPECT_EQ(decode_uint({}), 0U);
    EXPECT_EQ(decode_uint(hex("00")), 0U);
    EXPECT_EQ(decode_uint(hex("28")), 40U);
    EXPECT_EQ(decode_uint(hex("0028")), 40U);
    EXPECT_EQ(decode_uint(hex("2d16")), 11542U);
    EXPECT_EQ(decode_uint(hex("ffffffff")), 0xffffffffU);
    EXPECT_EQ(decode_uint(hex("0102030405060708")), 0x0102030405060708ULL);
    EXPECT_EQ(decode_uint(hex("010203040506070809")), std::nullopt);
}

TEST(CoapMessage, UintOptionsAreMinimal) {
    struct Case {
        std::uint64_t v;
        const char* bytes;
    };
    for (const Case c : {Case{0, ""}, Case{1, "01"}, Case{255, "ff"}, Case{256, "0100"},
                         Case{65535, "ffff"}, Case{65536, "010000"}, Case{0xffffffff, "ffffffff"},
                         Case{0x100000000ULL, "0100000000"}}) {
        Message m;
        m.add_uint_option(option::max_age, c.v);
        ASSERT_NE(m.find(option::max_age), nullptr);
        EXPECT_EQ(m.find(option::max_age)->value, hex(c.bytes)) << c.v;
        EXPECT_EQ(m.uint_option(option::max_age), c.v);
    }
}

TEST(CoapMessage, OptionsSortedStableForRepeats) {
    Message m;
    m.add_option(option::uri_query, "a=1");
    m.add_option(option::uri_path, "x");
    m.add_uint_option(option::content_format, 42);
    m.add_option(option::uri_path, "y");
    m.add_option(option::uri_query, "b=2");
    m.add_option(option::if_match, hex("01"));
    m.add_option(option::uri_path, "z");
    std::vector<std::pair<std::uint16_t, std::string>> got;
    for (const auto& o : m.options())
        got.emplace_back(o.number, std::string(as_string_view(o.value)));
    const std::vector<std::pair<std::uint16_t, std::string>> want = {
        {option::if_match, "\x01"}, {option::uri_path, "x"},       {option::uri_path, "y"},
        {option::uri_path, "z"},    {option::content_format, "*"}, {option::uri_query, "a=1"},
        {option::uri_query, "b=2"}};
    EXPECT_EQ(got, want);
    EXPECT_EQ(m.path(), "/x/y/z");
    EXPECT_EQ(as_string_view(m.find(option::uri_path)->value), "x");
    EXPECT_EQ(m.find(option::etag), nullptr);
    EXPECT_EQ(m.uint_option(option::etag), std::nullopt);
}

TEST(CoapMessage, SetAndRemoveOptions) {
    Message m;
    m.add_uint_option(option::observe, 1);
    m.add_uint_option(option::observe, 2);
    m.set_uint_option(option::observe, 7);
    ASSERT_EQ(m.options().size(), 1U);
    EXPECT_EQ(m.uint_option(option::observe), 7U);
    m.add_option(option::uri_path, "a");
    m.remove_option(option::observe);
    ASSERT_EQ(m.options().size(), 1U);
    EXPECT_EQ(m.options()[0].number, option::uri_path);
    m.remove_option(option::observe); // absent: no-op
    EXPECT_EQ(m.options().size(), 1U);
}

TEST(CoapMessage, SetPath) {
    Message m;
    m.set_path("/rd/5a3f");
    EXPECT_EQ(m.path(), "/rd/5a3f");
    ASSERT_EQ(m.options().size(), 2U);
    m.set_path("3/0/1"); // replaces, leading slash optional
    EXPECT_EQ(m.path(), "/3/0/1");
    EXPECT_EQ(m.options().size(), 3U);
    m.set_path("/");
    EXPECT_TRUE(m.options().empty());
    EXPECT_EQ(m.path(), "/");
    m.set_path("");
    EXPECT_TRUE(m.options().empty());
    // RFC 7252 §6.4: empty segments are kept; no percent-decoding of raw segments.
    m.set_path("/a//b/");
    ASSERT_EQ(m.options().size(), 4U);
    EXPECT_TRUE(m.options()[1].value.empty());
    EXPECT_TRUE(m.options()[3].value.empty());
    EXPECT_EQ(m.path(), "/a//b/");
    m.set_path("/a%2Fb");
    ASSERT_EQ(m.options().size(), 1U);
    EXPECT_EQ(as_string_view(m.options()[0].value), "a%2Fb");
    // Location-Path is independent of Uri-Path.
    m.set_path("/rd/x", option::location_path);
    EXPECT_EQ(m.path(option::location_path), "/rd/x");
    EXPECT_EQ(m.path(), "/a%2Fb");
    EXPECT_EQ(m.options().front().number, option::location_path); // 8 < 11
}

TEST(CoapMessage, AddQueries) {
    Message m;
    m.add_queries("ep=node1&lt=300&&b=UQ&");
    std::vector<std::string> q;
    for (const auto& o : m.options()) {
        EXPECT_EQ(o.number, option::uri_query);
        q.emplace_back(as_string_view(o.value));
    }
    EXPECT_EQ(q, (std::vector<std::string>{"ep=node1", "lt=300", "b=UQ"}));
    Message m2;
    m2.add_queries("?a=b");
    ASSERT_EQ(m2.options().size(), 1U);
    EXPECT_EQ(as_string_view(m2.options()[0].value), "a=b");
    Message m3;
    m3.add_queries("");
    EXPECT_TRUE(m3.options().empty());
}

TEST(CoapMessage, FromViewCopiesEverything) {
    Bytes datagram = hex("42 45 00 09 aa bb 60 51 32 ff 68 69");
    auto v = decode(datagram);
    ASSERT_TRUE(v);
    Message m = Message::from_view(*v);
    datagram.assign(datagram.size(), std::byte{0}); // the copy no longer depends on the input
    EXPECT_EQ(m.type, Type::con);
    EXPECT_EQ(m.code, code::content);
    EXPECT_EQ(m.message_id, 9);
    EXPECT_EQ(m.token, Token(hex("aabb")));
    ASSERT_EQ(m.options().size(), 2U);
    EXPECT_EQ(m.uint_option(option::observe), 0U);
    EXPECT_EQ(m.path(), "/2");
    EXPECT_EQ(m.payload, to_bytes("hi"));
}

TEST(CoapMessage, FromUnsortedHandBuiltViewSorts) {
    MessageView v;
    v.options_storage[0] = OptionView{option::uri_query, as_bytes("q")};
    v.options_storage[1] = OptionView{option::uri_path, as_bytes("p")};
    v.options_storage[2] = OptionView{option::uri_query, as_bytes("r")};
    v.option_count = 3;
    Message m = Message::from_view(v);
    ASSERT_EQ(m.options().size(), 3U);
    EXPECT_EQ(m.options()[0].number, option::uri_path);
    EXPECT_EQ(as_string_view(m.options()[1].value), "q");
    EXPECT_EQ(as_string_view(m.options()[2].value), "r");
}

TEST(CoapMessageView, FindAndPath) {
    const Bytes datagram = hex("40 01 00 01 81 05 32 72 64 03 61 62 63");
    auto v = decode(datagram);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->find(option::location_path), &v->options()[0]);
    EXPECT_EQ(v->path(option::location_path), "/\x05");
    EXPECT_EQ(v->path(), "/rd/abc");
    EXPECT_EQ(v->find(option::uri_query), nullptr);
    const Bytes no_options = hex("40 01 00 01");
    auto empty = decode(no_options);
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->path(), "/");
}

} // namespace
} // namespace lwm2m::coap
