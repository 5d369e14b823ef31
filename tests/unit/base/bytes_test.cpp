#include <gtest/gtest.h>

#include <new>
#include <string_view>

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

TEST(SecretBytes, InlineAndHeapKeysCopyMoveAndAssign) {
    // 16 and 32 bytes are kept inline, 33 and 64 on the heap: every path must keep the bytes.
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{16}, std::size_t{32},
                                std::size_t{33}, std::size_t{64}}) {
        Bytes key(n);
        for (std::size_t i = 0; i < n; ++i)
            key[i] = static_cast<std::byte>(i * 7 + 1);
        SecretBytes a(key);
        ASSERT_EQ(a.size(), n);
        EXPECT_TRUE(a.equals(key));
        SecretBytes copy(a);
        EXPECT_TRUE(copy.equals(key));
        EXPECT_TRUE(a.equals(key)); // the source keeps its bytes
        SecretBytes moved(std::move(copy));
        EXPECT_TRUE(moved.equals(key));
        EXPECT_TRUE(copy.empty()); // NOLINT(bugprone-use-after-move): specified state
        SecretBytes assigned(to_bytes("something else entirely, longer than thirty-two"));
        assigned = a;
        EXPECT_TRUE(assigned.equals(key));
        SecretBytes move_assigned(to_bytes("short"));
        move_assigned = std::move(assigned);
        EXPECT_TRUE(move_assigned.equals(key));
        EXPECT_TRUE(assigned.empty()); // NOLINT(bugprone-use-after-move): specified state
        move_assigned = SecretBytes(to_bytes("x"));
        EXPECT_TRUE(move_assigned.equals(to_bytes("x")));
    }
}

TEST(SecretBytes, AMoveLeavesNoKeyBytesBehind) {
    // An inline key moves by copy: the source's storage must not keep it.
    alignas(SecretBytes) std::byte raw[sizeof(SecretBytes)];
    auto* source = new (raw) SecretBytes(to_bytes("0123456789abcdef"));
    SecretBytes moved(std::move(*source));
    const std::string_view storage(reinterpret_cast<const char*>(raw), sizeof raw);
    EXPECT_EQ(storage.find("0123456789"), std::string_view::npos);
    source->~SecretBytes();
    EXPECT_TRUE(moved.equals(to_bytes("0123456789abcdef")));
}

TEST(SecretBytes, WipeZeroesTheBuffer) {
    std::vector<std::byte> buf(8, std::byte{0x5a});
    secure_wipe(buf.data(), buf.size());
    for (auto b : buf)
        EXPECT_EQ(b, std::byte{0});
}

} // namespace
} // namespace lwm2m
