// Configuration errors and the IANA suite mapping (Security Object resource 16).
#include <gtest/gtest.h>

#include <set>

#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace {

TEST(DtlsConfig, DefaultSuitesAreExactlyTheLwm2mOnes) {
    const auto d = default_cipher_suites();
    ASSERT_EQ(d.size(), 4U);
    EXPECT_EQ(static_cast<std::uint16_t>(d[0]), 0xC0A8);
    EXPECT_EQ(static_cast<std::uint16_t>(d[1]), 0x00AE);
    EXPECT_EQ(static_cast<std::uint16_t>(d[2]), 0xC0AE);
    EXPECT_EQ(static_cast<std::uint16_t>(d[3]), 0xC023);
}

TEST(DtlsConfig, IanaMapping) {
    auto ok = cipher_suites_from_iana({0xC0A8, 0xC023});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->size(), 2U);
    EXPECT_EQ(cipher_suites_from_iana({0xC0A8, 0x002F}).error(),
              make_error_code(Errc::invalid_config));
    EXPECT_EQ(cipher_suites_from_iana({}).error(), make_error_code(Errc::invalid_config));
}

TEST(DtlsConfig, ClientErrors) {
    auto psk = [](Bytes id, Bytes key) {
        ClientConfig c;
        c.credentials = PskCredentials{std::move(id), SecretBytes(key)};
        return c;
    };
    EXPECT_EQ(ClientSession::create(psk({}, pattern(16, 1))).error(),
              make_error_code(Errc::invalid_config));
    EXPECT_EQ(ClientSession::create(psk(pattern(4, 1), {})).error(),
              make_error_code(Errc::invalid_config));
    EXPECT_TRUE(ClientSession::create(psk(pattern(4, 1), pattern(16, 1))));
    {
        ClientConfig c = psk(pattern(4, 1), pattern(16, 1));
        c.cipher_suites = {CipherSuite::ecdhe_ecdsa_aes_128_ccm_8}; // no PSK suite for PSK creds
        EXPECT_EQ(ClientSession::create(std::move(c)).error(),
                  make_error_code(Errc::invalid_config));
    }
    {
        ClientConfig c; // RPK without a pinned server key: never accept "any key"
        c.credentials = RpkCredentials{lwm2m::test::test_pki().client_rpk.spki_der,
                                       lwm2m::test::test_pki().client_rpk.private_key_der};
        EXPECT_EQ(ClientSession::create(std::move(c)).error(),
                  make_error_code(Errc::invalid_config));
    }
    {
        ClientConfig c; // garbage private key
        c.credentials = RpkCredentials{lwm2m::test::test_pki().client_rpk.spki_der,
                                       SecretBytes(pattern(40, 1))};
        c.server_public_key = lwm2m::test::test_pki().server_rpk.spki_der;
        EXPECT_EQ(ClientSession::create(std::move(c)).error(),
                  make_error_code(Errc::invalid_config));
    }
    {
        ClientConfig c; // garbage certificate
        c.credentials =
            X509Credentials{{pattern(100, 1)}, lwm2m::test::test_pki().client.key.private_key_der};
        c.server_public_key = lwm2m::test::test_pki().server.der;
        EXPECT_EQ(ClientSession::create(std::move(c)).error(),
                  make_error_code(Errc::invalid_config));
    }
}

TEST(DtlsConfig, ServerErrors) {
    MemStore store;
    ServerConfig none;
    none.psk = false;
    EXPECT_EQ(ServerTable::create(none, store).error(), make_error_code(Errc::invalid_config));
    ServerConfig bad_ca;
    bad_ca.rpk = RpkCredentials{lwm2m::test::test_pki().server_rpk.spki_der,
                                lwm2m::test::test_pki().server_rpk.private_key_der};
    bad_ca.client_ca_der = {pattern(50, 3)};
    EXPECT_EQ(ServerTable::create(bad_ca, store).error(), make_error_code(Errc::invalid_config));
    ServerConfig zero;
    zero.max_sessions = 0;
    EXPECT_EQ(ServerTable::create(zero, store).error(), make_error_code(Errc::invalid_config));
}

TEST(DtlsConfig, ErrorMessagesAreDistinct) {
    std::set<std::string> seen;
    for (int e = 1; e <= static_cast<int>(Errc::finished_refused); ++e) {
        const auto msg = make_error_code(static_cast<Errc>(e)).message();
        EXPECT_FALSE(msg.empty());
        EXPECT_TRUE(seen.insert(msg).second) << msg;
    }
    EXPECT_STREQ(dtls_category().name(), "lwm2m.dtls");
}

} // namespace
} // namespace lwm2m::dtls::test
