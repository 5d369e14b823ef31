// Test credentials for the DTLS layer, generated at run time with the GnuTLS API so that no key
// is checked in: a P-256 CA, server and client certificates, expired certificates, a second
// (untrusted) CA, and raw public keys (RFC 7250) from the same kind of keys.
#pragma once

#include <string>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/secret.hpp>

namespace lwm2m::test {

struct TestKey {
    Bytes spki_der;              ///< SubjectPublicKeyInfo DER
    SecretBytes private_key_der; ///< PKCS#8 DER, unencrypted
};

struct TestCert {
    Bytes der;
    TestKey key;
    std::string subject_dn;
};

struct TestPki {
    TestCert ca;               ///< trust anchor
    TestCert server;           ///< CN=server, issued by ca
    TestCert client;           ///< CN=client-ep, issued by ca
    TestCert expired_server;   ///< issued by ca, validity in the past
    TestCert expired_client;   ///< issued by ca, validity in the past
    TestCert other_ca;         ///< a CA nobody trusts
    TestCert untrusted_client; ///< issued by other_ca
    TestCert untrusted_server; ///< issued by other_ca
    TestKey server_rpk;
    TestKey client_rpk;
    TestKey other_rpk;
};

/// Generated once per process (ECDSA P-256 key generation takes a few ms each).
const TestPki& test_pki();

/// A fresh P-256 key.
TestKey generate_p256_key();

} // namespace lwm2m::test
