#include <gtest/gtest.h>

#include <lwm2m/store/security_info.hpp>

namespace lwm2m::store {
namespace {

SecurityInfo psk(std::size_t identity_size, std::size_t key_size) {
    SecurityInfo i;
    i.endpoint = "dev-1";
    i.mode = SecurityMode::psk;
    i.psk_identity = Bytes(identity_size, std::byte{0});
    i.psk_key = SecretBytes(Bytes(key_size, std::byte{0x42}));
    return i;
}

TEST(SecurityInfo, PskSizesOfTheChangeRequestAreAccepted) {
    EXPECT_TRUE(validate(psk(1, 1)));
    EXPECT_TRUE(validate(psk(128, 64)));
    EXPECT_TRUE(validate(psk(1024, 16)));
}

TEST(SecurityInfo, OversizedOrMissingPskFieldsAreRefusedWithoutKeyBytes) {
    std::string why;
    EXPECT_FALSE(validate(psk(128, 65), &why));
    EXPECT_EQ(why, "the PSK key is longer than 64 bytes");
    EXPECT_EQ(why.find('B'), std::string::npos); // 0x42 never shows
    EXPECT_FALSE(validate(psk(1025, 16), &why));
    EXPECT_FALSE(validate(psk(0, 16), &why));
    EXPECT_EQ(why, "a PSK identity is required");
    EXPECT_FALSE(validate(psk(16, 0), &why));
}

TEST(SecurityInfo, EndpointAndModeFieldsAreChecked) {
    auto i = psk(16, 16);
    i.endpoint.clear();
    EXPECT_FALSE(validate(i));
    i.endpoint = std::string(256, 'e');
    EXPECT_FALSE(validate(i));
    i.endpoint = std::string(255, 'e');
    EXPECT_TRUE(validate(i));
    i.rpk_public_key = Bytes(10, std::byte{1});
    EXPECT_FALSE(validate(i));

    SecurityInfo n;
    n.endpoint = "dev";
    n.mode = SecurityMode::nosec;
    EXPECT_TRUE(validate(n));
    n.psk_identity = Bytes(1, std::byte{1});
    EXPECT_FALSE(validate(n));
}

TEST(SecurityInfo, ModeNamesRoundTrip) {
    for (auto m : {SecurityMode::psk, SecurityMode::rpk, SecurityMode::x509, SecurityMode::nosec})
        EXPECT_EQ(security_mode_from_string(to_string(m)), m);
    EXPECT_FALSE(security_mode_from_string("PSK"));
}

} // namespace
} // namespace lwm2m::store
