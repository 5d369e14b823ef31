#include <gtest/gtest.h>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/secret.hpp>

namespace lwm2m {
namespace {

TEST(Bytes, HexRoundTrip) {
    const Bytes b{std::byte{0x00}, std::byte{0xab}, std::byte{0xff}};
    EXPECT_EQ(to_hex(b), "00abff");
    Bytes back;
    ASSERT_TRUE(from_hex("00ABff", back));
    EXPECT_EQ(back, b);
    EXPECT_FALSE(from_hex("0", back));
    EXPECT_FALSE(from_hex("zz", back));
    EXPECT_TRUE(back.empty());
}

TEST(SecretBytes, RedactsAndCompares) {
    const Bytes key = to_bytes("super-secret-key");
    SecretBytes s(key);
    EXPECT_EQ(s.redacted(), "<secret: 16 bytes>");
    EXPECT_EQ(s.redacted().find("super"), std::string::npos);
    EXPECT_TRUE(s.equals(key));
    EXPECT_FALSE(s.equals(to_bytes("super-secret-kex")));
    SecretBytes moved(std::move(s));
    EXPECT_TRUE(s.empty()); // NOLINT(bugprone-use-after-move): moved-from state is specified
    EXPECT_EQ(moved.size(), 16U);
    moved.wipe();
    EXPECT_TRUE(moved.empty());
}

TEST(SecretBytes, WipeZeroesTheBuffer) {
    std::vector<std::byte> buf(8, std::byte{0x5a});
    secure_wipe(buf.data(), buf.size());
    for (auto b : buf)
        EXPECT_EQ(b, std::byte{0});
}

} // namespace
} // namespace lwm2m
