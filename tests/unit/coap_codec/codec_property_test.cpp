// Property tests: random messages round-trip; random bytes never crash the decoder, and any
// accepted datagram re-encodes byte for byte (RFC 7252 §3 has one encoding per message).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/codec.hpp>

#include "test_util.hpp"

namespace lwm2m::coap {
namespace {

Bytes random_bytes(SeededRandom& r, std::size_t n) {
    Bytes b(n);
    r.fill(b);
    return b;
}

// Lengths concentrated around the encoding boundaries (12/13, 268/269).
std::size_t random_length(SeededRandom& r) {
    switch (r.uniform(6)) {
    case 0:
        return 0;
    case 1:
        return r.uniform(13);
    case 2:
        return 11 + r.uniform(5);
    case 3:
        return 266 + r.uniform(6);
    case 4:
        return r.uniform(40);
    default:
        return r.uniform(600);
    }
}

std::uint16_t random_delta(SeededRandom& r) {
    switch (r.uniform(5)) {
    case 0:
        return 0;
    case 1:
        return static_cast<std::uint16_t>(r.uniform(14));
    case 2:
        return static_cast<std::uint16_t>(265 + r.uniform(8));
    case 3:
        return static_cast<std::uint16_t>(r.uniform(300));
    default:
        return static_cast<std::uint16_t>(r.uniform(3000));
    }
}

Message random_message(SeededRandom& r) {
    Message m;
    m.type = static_cast<Type>(r.uniform(4));
    m.message_id = static_cast<MessageId>(r.next_u32());
    if (r.uniform(10) == 0) { // an empty message (RFC 7252 §4.1): header only
        m.code = code::empty;
        return m;
    }
    m.code = Code(static_cast<std::uint8_t>(1 + r.uniform(255)));
    const auto tkl = r.uniform(9);
    m.token = Token(random_bytes(r, tkl));
    const auto n = r.uniform(static_cast<std::uint32_t>(MessageView::max_options) + 1);
    std::uint32_t number = 0;
    bool any = false;
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint16_t delta = random_delta(r);
        number += delta;
        if (number > 65535) break;
        std::size_t len = random_length(r);
        // Registered options follow the registry (encode(Message) enforces it; the breaking
        // cases are RandomRegistryViolationsAreRefused below).
        if (const option::Info* in = option::info(static_cast<std::uint16_t>(number))) {
            if (delta == 0 && any && !in->repeatable) continue;
            len = std::clamp<std::size_t>(len, in->min_length, in->max_length);
        }
        any = true;
        m.add_option(static_cast<std::uint16_t>(number), random_bytes(r, len));
    }
    if (r.uniform(3) != 0) m.payload = random_bytes(r, 1 + random_length(r));
    return m;
}

// encode(Message) refuses exactly the messages whose registered options break the registry.
TEST(CoapCodecProperty, RandomRegistryViolationsAreRefused) {
    SeededRandom r(7252543);
    const auto reg = option::registry();
    std::vector<std::byte> buf(4096);
    int refused = 0;
    for (int i = 0; i < 5000; ++i) {
        Message m;
        m.code = code::get;
        const option::Info& in = reg[r.uniform(static_cast<std::uint32_t>(reg.size()))];
        const std::size_t len = r.uniform(in.max_length + 3U);
        m.add_option(in.number, random_bytes(r, len));
        const bool twice = r.uniform(3) == 0;
        if (twice) m.add_option(in.number, random_bytes(r, in.min_length));
        const bool valid = in.length_ok(len) && (!twice || in.repeatable);
        EXPECT_EQ(m.options_valid(), valid) << in.name << " len=" << len << " twice=" << twice;
        auto w = encode(m, buf);
        EXPECT_EQ(w.has_value(), valid) << in.name << " len=" << len << " twice=" << twice;
        if (!valid) {
            ++refused;
            EXPECT_EQ(w.error(), lwm2m::Errc::invalid_argument);
        }
    }
    EXPECT_GT(refused, 1000);
}

TEST(CoapCodecProperty, RandomMessagesRoundTrip) {
    SeededRandom r(20261127);
    std::vector<std::byte> buf(64 * 1024);
    for (int i = 0; i < 10000; ++i) {
        const Message m = random_message(r);
        const std::size_t size = encoded_size(m);
        auto w = encode(m, buf);
        ASSERT_TRUE(w) << i << ": " << w.error().message();
        ASSERT_EQ(*w, size) << i;
        const BytesView wire(buf.data(), *w);
        MessageView v;
        auto d = decode_into(wire, v);
        ASSERT_TRUE(d) << i << ": " << d.error().message();
        ASSERT_EQ(v.type, m.type);
        ASSERT_EQ(v.code, m.code);
        ASSERT_EQ(v.message_id, m.message_id);
        ASSERT_EQ(v.token, m.token);
        ASSERT_EQ(v.option_count, m.options().size());
        for (std::size_t k = 0; k < v.option_count; ++k) {
            ASSERT_EQ(v.options()[k].number, m.options()[k].number) << i << "/" << k;
            ASSERT_TRUE(equal(v.options()[k].value, m.options()[k].value)) << i << "/" << k;
        }
        ASSERT_TRUE(equal(v.payload, m.payload)) << i;
        ASSERT_EQ(Message::from_view(v), m) << i;
        // The view re-encodes to the same bytes.
        std::vector<std::byte> again(*w);
        auto w2 = encode(v, again);
        ASSERT_TRUE(w2);
        ASSERT_TRUE(equal(again, wire)) << i;
    }
}

// Random datagrams: mostly pure noise, plus a header that passes the first checks so the option
// parser sees noise too, plus mutations of valid messages.
TEST(CoapCodecProperty, RandomBytesNeverCrashAndAcceptedInputsReencodeIdentically) {
    SeededRandom r(77);
    std::vector<std::byte> out(4096);
    int accepted = 0;
    for (int i = 0; i < 60000; ++i) {
        Bytes b;
        switch (i % 3) {
        case 0:
            b = random_bytes(r, r.uniform(64));
            break;
        case 1:
            b = random_bytes(r, 4 + r.uniform(80));
            b[0] = static_cast<std::byte>(0x40 | (r.uniform(4) << 4) | r.uniform(9));
            if (b[1] == std::byte{0}) b[1] = std::byte{1};
            break;
        default: {
            const Message m = random_message(r);
            b = encode(m);
            if (b.empty()) b = test::hex("40 01 00 00");
            for (int k = 0, flips = 1 + static_cast<int>(r.uniform(3)); k < flips; ++k)
                b[r.uniform(static_cast<std::uint32_t>(b.size()))] =
                    static_cast<std::byte>(r.next_u32());
            if (r.uniform(4) == 0) b.resize(r.uniform(static_cast<std::uint32_t>(b.size()) + 1));
            break;
        }
        }
        // Copy to an exactly sized heap buffer so an over-read is caught under ASan.
        auto exact = std::make_unique<std::byte[]>(b.size() + 1);
        std::copy(b.begin(), b.end(), exact.get());
        const BytesView in(exact.get(), b.size());
        MessageView v;
        if (!decode_into(in, v)) continue;
        ++accepted;
        if (out.size() < b.size()) out.resize(b.size());
        auto w = encode(v, out);
        ASSERT_TRUE(w) << i;
        ASSERT_TRUE(equal(BytesView(out.data(), *w), in)) << i << ": " << to_hex(in);
    }
    // The generator must exercise the success path too (not only rejections).
    EXPECT_GT(accepted, 10000);
}

} // namespace
} // namespace lwm2m::coap
