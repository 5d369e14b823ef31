// Block1/Block2 option values (RFC 7959 §2.2, examples of §3).
#include <gtest/gtest.h>

#include <lwm2m/coap/block_option.hpp>
#include <lwm2m/coap/codec.hpp>

#include "test_util.hpp"

namespace lwm2m::coap {
namespace {

using test::hex;

TEST(CoapBlockOption, Rfc7959ValueExamples) {
    struct Case {
        std::uint32_t num;
        bool more;
        std::uint8_t szx;
        std::uint32_t value;
        std::size_t size;
    };
    // §3.1 Figure 2 (simple block-wise GET, 128-byte blocks: 0/1/128, 1/1/128, 2/0/128), the
    // brief's NUM=1 M=0 SZX=2, Figure 3's 64-byte late negotiation, and the 20-bit maximum.
    for (const Case c :
         {Case{0, true, 3, 0x0b, 128}, Case{1, true, 3, 0x1b, 128}, Case{2, false, 3, 0x23, 128},
          Case{1, false, 2, 0x12, 64}, Case{0, false, 0, 0x00, 16}, Case{0, false, 6, 0x06, 1024},
          Case{4, true, 2, 0x4a, 64}, Case{21, false, 6, 0x156, 1024},
          Case{0xfffff, true, 6, 0xfffffe, 1024}}) {
        const BlockOption b{c.num, c.more, c.szx};
        EXPECT_EQ(encode_block(b), c.value) << c.num;
        EXPECT_EQ(b.size(), c.size);
        EXPECT_EQ(b.offset(), c.num * c.size);
        auto d = decode_block(std::uint64_t{c.value});
        ASSERT_TRUE(d) << c.value;
        EXPECT_EQ(*d, b);
    }
}

TEST(CoapBlockOption, InvalidValues) {
    EXPECT_FALSE(decode_block(std::uint64_t{0x07}));      // SZX 7 reserved
    EXPECT_FALSE(decode_block(std::uint64_t{0x1f}));      // SZX 7 with NUM 1, M
    EXPECT_FALSE(decode_block(std::uint64_t{0x1000000})); // NUM >= 2^20 (4-byte value)
    EXPECT_FALSE(decode_block(~std::uint64_t{0}));
    EXPECT_FALSE(decode_block(hex("00000000"))); // 4-byte option value
    EXPECT_FALSE(decode_block(hex("0f")));
}

TEST(CoapBlockOption, FromOptionBytes) {
    auto b = decode_block(BytesView{});
    ASSERT_TRUE(b); // zero-length value: NUM 0, M 0, SZX 0 (16 bytes)
    EXPECT_EQ(b->size(), 16U);
    auto b2 = decode_block(hex("1b"));
    ASSERT_TRUE(b2);
    EXPECT_EQ(*b2, (BlockOption{1, true, 3}));
    auto b3 = decode_block(hex("fffffe"));
    ASSERT_TRUE(b3);
    EXPECT_EQ(b3->num, BlockOption::max_num);
}

TEST(CoapBlockOption, InMessageUsesMinimalUint) {
    Message m;
    m.code = code::get;
    m.add_uint_option(option::block2, encode_block({0, false, 6})); // 0x06: 1 byte
    m.add_uint_option(option::block1, encode_block({0, false, 0})); // 0: zero-length
    ASSERT_NE(m.find(option::block2), nullptr);
    EXPECT_EQ(m.find(option::block2)->value.size(), 1U);
    EXPECT_EQ(m.find(option::block1)->value.size(), 0U);
    m.set_uint_option(option::block2, encode_block({300, true, 6})); // 0x12ce: 2 bytes
    EXPECT_EQ(m.find(option::block2)->value, hex("12ce"));
    const Bytes wire = encode(m);
    auto v = decode(wire);
    ASSERT_TRUE(v);
    auto blk = decode_block(v->find(option::block2)->value);
    ASSERT_TRUE(blk);
    EXPECT_EQ(*blk, (BlockOption{300, true, 6}));
}

TEST(CoapBlockOption, SzxForSize) {
    EXPECT_EQ(szx_for_size(0), 0);
    EXPECT_EQ(szx_for_size(15), 0);
    EXPECT_EQ(szx_for_size(16), 0);
    EXPECT_EQ(szx_for_size(31), 0);
    EXPECT_EQ(szx_for_size(32), 1);
    EXPECT_EQ(szx_for_size(64), 2);
    EXPECT_EQ(szx_for_size(100), 2);
    EXPECT_EQ(szx_for_size(128), 3);
    EXPECT_EQ(szx_for_size(512), 5);
    EXPECT_EQ(szx_for_size(1023), 5);
    EXPECT_EQ(szx_for_size(1024), 6);
    EXPECT_EQ(szx_for_size(1152), 6);
    EXPECT_EQ(szx_for_size(1u << 20), 6);
    for (std::size_t n = 16; n <= 4096; ++n) {
        const BlockOption b{0, false, szx_for_size(n)};
        EXPECT_LE(b.size(), n);
        if (b.szx < 6) {
            EXPECT_GT(b.size() * 2, n) << n;
        }
    }
}

} // namespace
} // namespace lwm2m::coap
