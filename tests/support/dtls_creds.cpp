#include "support/dtls_creds.hpp"

#include <chrono>
#include <ctime>
#include <stdexcept>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

namespace lwm2m::test {
namespace {

void check(int r, const char* what) {
    if (r < 0) throw std::runtime_error(std::string(what) + ": " + gnutls_strerror(r));
}

Bytes take(gnutls_datum_t& d) {
    Bytes b(reinterpret_cast<const std::byte*>(d.data),
            reinterpret_cast<const std::byte*>(d.data) + d.size);
    gnutls_free(d.data);
    d.data = nullptr;
    return b;
}

struct Generated {
    gnutls_x509_privkey_t key = nullptr;
    TestKey out;
};

Generated gen_key() {
    Generated g;
    check(gnutls_x509_privkey_init(&g.key), "privkey_init");
    check(gnutls_x509_privkey_generate(g.key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
          "privkey_generate");
    gnutls_datum_t der{};
    check(gnutls_x509_privkey_export2_pkcs8(g.key, GNUTLS_X509_FMT_DER, nullptr, GNUTLS_PKCS_PLAIN,
                                            &der),
          "export_pkcs8");
    {
        Bytes tmp = take(der);
        g.out.private_key_der = SecretBytes(tmp);
        secure_wipe(tmp.data(), tmp.size());
    }
    gnutls_privkey_t abs = nullptr;
    gnutls_pubkey_t pub = nullptr;
    check(gnutls_privkey_init(&abs), "privkey_init");
    check(gnutls_privkey_import_x509(abs, g.key, 0), "privkey_import");
    check(gnutls_pubkey_init(&pub), "pubkey_init");
    check(gnutls_pubkey_import_privkey(pub, abs, 0, 0), "pubkey_import");
    gnutls_datum_t spki{};
    check(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki), "pubkey_export");
    g.out.spki_der = take(spki);
    gnutls_pubkey_deinit(pub);
    gnutls_privkey_deinit(abs);
    return g;
}

struct Issued {
    gnutls_x509_crt_t crt = nullptr;
    gnutls_x509_privkey_t key = nullptr;
    TestCert out;
};

Issued issue(const std::string& dn, bool ca, const Issued* issuer, long not_before_offset_s,
             long not_after_offset_s, unsigned serial) {
    Issued is;
    auto g = gen_key();
    is.key = g.key;
    is.out.key = std::move(g.out);
    check(gnutls_x509_crt_init(&is.crt), "crt_init");
    check(gnutls_x509_crt_set_version(is.crt, 3), "set_version");
    unsigned char ser[4] = {0x01, static_cast<unsigned char>(serial >> 16),
                            static_cast<unsigned char>(serial >> 8),
                            static_cast<unsigned char>(serial)};
    check(gnutls_x509_crt_set_serial(is.crt, ser, sizeof ser), "set_serial");
    const std::time_t now = std::time(nullptr);
    check(gnutls_x509_crt_set_activation_time(is.crt, now + not_before_offset_s), "activation");
    check(gnutls_x509_crt_set_expiration_time(is.crt, now + not_after_offset_s), "expiration");
    const char* err = nullptr;
    check(gnutls_x509_crt_set_dn(is.crt, dn.c_str(), &err), "set_dn");
    check(gnutls_x509_crt_set_key(is.crt, is.key), "set_key");
    if (ca) {
        check(gnutls_x509_crt_set_basic_constraints(is.crt, 1, -1), "basic_constraints");
        check(gnutls_x509_crt_set_key_usage(is.crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN),
              "key_usage");
    } else {
        check(gnutls_x509_crt_set_basic_constraints(is.crt, 0, -1), "basic_constraints");
        check(gnutls_x509_crt_set_key_usage(is.crt, GNUTLS_KEY_DIGITAL_SIGNATURE), "key_usage");
    }
    unsigned char kid[64];
    size_t kid_size = sizeof kid;
    check(gnutls_x509_crt_get_key_id(is.crt, GNUTLS_KEYID_USE_SHA1, kid, &kid_size), "key_id");
    check(gnutls_x509_crt_set_subject_key_id(is.crt, kid, kid_size), "set_ski");
    if (issuer != nullptr) {
        unsigned char akid[64];
        size_t akid_size = sizeof akid;
        check(gnutls_x509_crt_get_subject_key_id(issuer->crt, akid, &akid_size, nullptr),
              "get_ski");
        check(gnutls_x509_crt_set_authority_key_id(is.crt, akid, akid_size), "set_aki");
        check(gnutls_x509_crt_sign2(is.crt, issuer->crt, issuer->key, GNUTLS_DIG_SHA256, 0),
              "sign");
    } else {
        check(gnutls_x509_crt_sign2(is.crt, is.crt, is.key, GNUTLS_DIG_SHA256, 0), "self-sign");
    }
    gnutls_datum_t der{};
    check(gnutls_x509_crt_export2(is.crt, GNUTLS_X509_FMT_DER, &der), "crt_export");
    is.out.der = take(der);
    is.out.subject_dn = dn;
    return is;
}

void release(Issued& i) {
    gnutls_x509_crt_deinit(i.crt);
    gnutls_x509_privkey_deinit(i.key);
}

TestPki make_pki() {
    gnutls_global_init();
    constexpr long day = 86400;
    TestPki p;
    Issued ca = issue("CN=lwm2m-test-ca", true, nullptr, -day, 3650 * day, 1);
    Issued other = issue("CN=other-ca", true, nullptr, -day, 3650 * day, 2);
    Issued server = issue("CN=server", false, &ca, -day, 365 * day, 3);
    Issued client = issue("CN=client-ep", false, &ca, -day, 365 * day, 4);
    Issued exp_s = issue("CN=expired-server", false, &ca, -30 * day, -2 * day, 5);
    Issued exp_c = issue("CN=expired-client", false, &ca, -30 * day, -2 * day, 6);
    Issued unt_c = issue("CN=untrusted-client", false, &other, -day, 365 * day, 7);
    Issued unt_s = issue("CN=untrusted-server", false, &other, -day, 365 * day, 8);
    p.ca = ca.out;
    p.other_ca = other.out;
    p.server = server.out;
    p.client = client.out;
    p.expired_server = exp_s.out;
    p.expired_client = exp_c.out;
    p.untrusted_client = unt_c.out;
    p.untrusted_server = unt_s.out;
    for (Issued* i : {&ca, &other, &server, &client, &exp_s, &exp_c, &unt_c, &unt_s})
        release(*i);
    auto k1 = gen_key();
    auto k2 = gen_key();
    auto k3 = gen_key();
    p.server_rpk = std::move(k1.out);
    p.client_rpk = std::move(k2.out);
    p.other_rpk = std::move(k3.out);
    for (auto* k : {&k1, &k2, &k3})
        gnutls_x509_privkey_deinit(k->key);
    return p;
}

} // namespace

TestKey generate_p256_key() {
    gnutls_global_init();
    auto g = gen_key();
    gnutls_x509_privkey_deinit(g.key);
    gnutls_global_deinit();
    return std::move(g.out);
}

const TestPki& test_pki() {
    static const TestPki pki = make_pki();
    return pki;
}

} // namespace lwm2m::test
