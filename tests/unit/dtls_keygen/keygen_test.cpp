// dtls::keygen: PSK keys and identities from Random::fill, P-256 key pairs, certificate issuing
// and inspection, key-pair and issuer checks. The issued certificate is verified by GnuTLS with
// the CA as trust anchor (tests/support/dtls_creds.hpp builds the test PKI).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <lwm2m/base/random.hpp>
#include <lwm2m/dtls/keygen.hpp>

#include "support/dtls_creds.hpp"

namespace lwm2m::dtls {
namespace {

TEST(PskKey, SizesAndRange) {
    SeededRandom rnd(1);
    for (std::size_t n : {16u, 32u, 64u}) {
        auto k = generate_psk_key(rnd, n);
        ASSERT_TRUE(k);
        EXPECT_EQ(k->size(), n);
    }
    EXPECT_EQ(generate_psk_key(rnd, 15).error(), make_error_code(lwm2m::Errc::invalid_argument));
    EXPECT_EQ(generate_psk_key(rnd, 65).error(), make_error_code(lwm2m::Errc::invalid_argument));
    const auto def = generate_psk_key(rnd);
    ASSERT_TRUE(def);
    EXPECT_EQ(def->size(), default_psk_key_size);
}

TEST(PskKey, DifferentEachTimeAndFromFill) {
    // A Random whose next_u32 is constant but whose fill() is not: keys must come from fill().
    struct FillOnly final : Random {
        std::uint32_t next_u32() override { return 7; }
        void fill(std::span<std::byte> out) override {
            for (auto& b : out)
                b = static_cast<std::byte>(++n);
        }
        unsigned n = 0;
    } rnd;
    auto a = generate_psk_key(rnd, 16);
    auto b = generate_psk_key(rnd, 16);
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(a->equals(b->view()));
    EXPECT_EQ(std::to_integer<int>(a->view()[0]), 1);
    EXPECT_EQ(std::to_integer<int>(b->view()[0]), 17);
}

TEST(PskIdentity, PrintableUniqueAndSized) {
    SeededRandom rnd(2);
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        auto id = generate_psk_identity(rnd, 128, "dev-");
        ASSERT_TRUE(id);
        ASSERT_EQ(id->size(), 128u);
        EXPECT_EQ(id->substr(0, 4), "dev-");
        for (char c : id->substr(4))
            ASSERT_TRUE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                << c;
        seen.insert(*id);
    }
    EXPECT_EQ(seen.size(), 200u);
    const auto def = generate_psk_identity(rnd);
    ASSERT_TRUE(def);
    EXPECT_EQ(def->size(), default_psk_identity_size);
}

TEST(PskIdentity, UsesWholeAlphabetRoughlyUniformly) {
    SeededRandom rnd(3);
    std::map<char, int> count;
    for (int i = 0; i < 500; ++i) {
        const auto id = generate_psk_identity(rnd, 128);
        ASSERT_TRUE(id);
        for (char c : *id)
            ++count[c];
    }
    EXPECT_EQ(count.size(), 62u);
    for (auto& [c, n] : count) {
        // 64000 draws over 62 symbols: ~1032 each; a modulo bias or a missing symbol shows.
        EXPECT_GT(n, 850) << c;
        EXPECT_LT(n, 1220) << c;
    }
}

TEST(PskIdentity, Rejects) {
    SeededRandom rnd(4);
    const auto bad = make_error_code(lwm2m::Errc::invalid_argument);
    EXPECT_EQ(generate_psk_identity(rnd, 129).error(), bad);
    EXPECT_EQ(generate_psk_identity(rnd, 15).error(), bad);
    EXPECT_EQ(generate_psk_identity(rnd, 20, "12345").error(), bad); // 15 random chars left
    EXPECT_TRUE(generate_psk_identity(rnd, 21, "12345"));
    EXPECT_EQ(generate_psk_identity(rnd, 40, "a b").error(), bad);
    EXPECT_EQ(generate_psk_identity(rnd, 40, std::string_view("a\0b", 3)).error(), bad);
    EXPECT_EQ(generate_psk_identity(rnd, 40, "caf\xc3\xa9").error(), bad);
}

TEST(KeyPair, GeneratedPairMatchesAndDiffers) {
    auto a = generate_p256_key_pair();
    auto b = generate_p256_key_pair();
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(a->public_key_spki_der.empty());
    EXPECT_FALSE(a->private_key_der.empty());
    EXPECT_NE(a->public_key_spki_der, b->public_key_spki_der);
    EXPECT_TRUE(check_key_pair(a->public_key_spki_der, a->private_key_der));
    EXPECT_EQ(check_key_pair(b->public_key_spki_der, a->private_key_der).error(),
              make_error_code(Errc::invalid_config));
    auto pub = public_key_of(a->private_key_der);
    ASSERT_TRUE(pub);
    EXPECT_EQ(*pub, a->public_key_spki_der);
}

TEST(KeyPair, ReadsTheTestPkiKeysAndRejectsGarbage) {
    const auto& pki = lwm2m::test::test_pki();
    EXPECT_TRUE(check_key_pair(pki.client_rpk.spki_der, pki.client_rpk.private_key_der));
    EXPECT_FALSE(public_key_of(SecretBytes(as_bytes("not a key"))));
    EXPECT_FALSE(public_key_of(SecretBytes{}));
}

TEST(Certificate, InspectTestPki) {
    const auto& pki = lwm2m::test::test_pki();
    auto ca = inspect_certificate(pki.ca.der);
    ASSERT_TRUE(ca);
    EXPECT_TRUE(ca->is_ca);
    EXPECT_EQ(ca->common_name, "lwm2m-test-ca");
    auto cl = inspect_certificate(pki.client.der);
    ASSERT_TRUE(cl);
    EXPECT_FALSE(cl->is_ca);
    EXPECT_EQ(cl->common_name, "client-ep");
    EXPECT_EQ(cl->public_key_spki_der, pki.client.key.spki_der);
    EXPECT_LT(cl->not_before, cl->not_after);
    EXPECT_EQ(inspect_certificate(as_bytes("junk")).error(), make_error_code(Errc::invalid_config));
}

TEST(Certificate, CheckIssuer) {
    const auto& pki = lwm2m::test::test_pki();
    EXPECT_TRUE(check_issuer({pki.ca.der, pki.ca.key.private_key_der}));
    // Not a CA.
    EXPECT_FALSE(check_issuer({pki.client.der, pki.client.key.private_key_der}));
    // Key of another certificate.
    EXPECT_FALSE(check_issuer({pki.ca.der, pki.other_ca.key.private_key_der}));
}

/// Verifies `der` against `ca_der` with GnuTLS (signature and chain; validity times not checked).
unsigned verify(const Bytes& der, const Bytes& ca_der) {
    gnutls_x509_crt_t crt = nullptr, ca = nullptr;
    gnutls_x509_crt_init(&crt);
    gnutls_x509_crt_init(&ca);
    gnutls_datum_t d{const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(der.data())),
                     static_cast<unsigned>(der.size())};
    gnutls_datum_t c{
        const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(ca_der.data())),
        static_cast<unsigned>(ca_der.size())};
    EXPECT_GE(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER), 0);
    EXPECT_GE(gnutls_x509_crt_import(ca, &c, GNUTLS_X509_FMT_DER), 0);
    unsigned status = ~0u;
    EXPECT_GE(gnutls_x509_crt_verify(crt, &ca, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status), 0);
    gnutls_x509_crt_deinit(crt);
    gnutls_x509_crt_deinit(ca);
    return status;
}

TEST(Certificate, IssueVerifiesAgainstTheCa) {
    const auto& pki = lwm2m::test::test_pki();
    auto pair = generate_p256_key_pair();
    ASSERT_TRUE(pair);
    SeededRandom rnd(5);
    const std::int64_t now = 1'700'000'000;
    CertificateRequest req{"urn:dev:ops:ACME-1234", pair->public_key_spki_der, now - 3600,
                           now + 365 * 86400};
    auto der = issue_certificate({pki.ca.der, pki.ca.key.private_key_der}, req, rnd);
    ASSERT_TRUE(der) << der.error().message();
    auto info = inspect_certificate(*der);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->common_name, "urn:dev:ops:ACME-1234");
    EXPECT_EQ(info->public_key_spki_der, pair->public_key_spki_der);
    EXPECT_EQ(info->not_before, now - 3600);
    EXPECT_EQ(info->not_after, now + 365 * 86400);
    EXPECT_FALSE(info->is_ca);
    EXPECT_TRUE(check_key_pair(info->public_key_spki_der, pair->private_key_der));
    EXPECT_EQ(verify(*der, pki.ca.der), 0u); // signature and chain ok (time is not checked here)
    EXPECT_NE(verify(*der, pki.other_ca.der), 0u);
    // A CN with characters that need RFC 4514 escaping is stored raw, not parsed as a DN.
    req.common_name = "a,CN=evil+O=x";
    auto der2 = issue_certificate({pki.ca.der, pki.ca.key.private_key_der}, req, rnd);
    ASSERT_TRUE(der2);
    const auto info2 = inspect_certificate(*der2);
    ASSERT_TRUE(info2);
    EXPECT_EQ(info2->common_name, "a,CN=evil+O=x");
    EXPECT_NE(*der, *der2);
}

TEST(Certificate, IssueRejects) {
    const auto& pki = lwm2m::test::test_pki();
    auto pair = generate_p256_key_pair();
    ASSERT_TRUE(pair);
    SeededRandom rnd(6);
    const CertificateIssuer ca{pki.ca.der, pki.ca.key.private_key_der};
    const auto bad = make_error_code(Errc::invalid_config);
    CertificateRequest req{"ep", pair->public_key_spki_der, 100, 200};
    EXPECT_EQ(issue_certificate(ca, {"", req.public_key_spki_der, 100, 200}, rnd).error(), bad);
    EXPECT_EQ(issue_certificate(ca, {std::string(65, 'x'), req.public_key_spki_der, 100, 200}, rnd)
                  .error(),
              bad);
    EXPECT_EQ(issue_certificate(ca, {"ep", req.public_key_spki_der, 200, 200}, rnd).error(), bad);
    EXPECT_EQ(issue_certificate(ca, {"ep", to_bytes("junk"), 100, 200}, rnd).error(), bad);
    EXPECT_EQ(issue_certificate({pki.client.der, pki.client.key.private_key_der}, req, rnd).error(),
              bad);
    EXPECT_TRUE(issue_certificate(ca, req, rnd));
}

} // namespace
} // namespace lwm2m::dtls
