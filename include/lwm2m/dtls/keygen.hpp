// Credential generation and inspection for servers that provision devices (the bootstrap server,
// LwM2M TS 1.1 §5.2 and Transport §5.2 / TS 1.2 Transport §5.2: "LwM2M Clients MUST use keys,
// which are unique to each LwM2M Client"): PSK keys and printable PSK identities (RFC 4279),
// P-256 key pairs for raw public keys (RFC 7250) and X.509 certificates issued by a configured CA
// (RFC 5280), plus the checks a server needs before it writes given credentials into a device.
//
// Key bytes come from Random::fill(). transport::SystemRandom::fill() reads the kernel CSPRNG
// (getrandom); never pass a plain SeededRandom outside tests. P-256 keys come from GnuTLS's own
// generator. GnuTLS stays behind src/dtls: no GnuTLS type appears here. Nothing here reads a
// clock: validity times are given by the caller (from its WallClock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/errc.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/dtls/errc.hpp>

namespace lwm2m::dtls {

/// PSK key sizes a server generates (RFC 4279 §5.3: keys of up to 64 bytes MUST be supported by
/// LwM2M clients per the Security Object change request; 16 = 128 bits is the floor).
inline constexpr std::size_t min_generated_psk_key_size = 16;
inline constexpr std::size_t max_generated_psk_key_size = 64;
/// 16 bytes: see docs/bootstrap.md "Generated credentials" (128-bit security of the mandatory
/// TLS_PSK_WITH_AES_128_CCM_8 suite; accepted by every client stack, including mbedTLS builds
/// with MBEDTLS_PSK_MAX_LEN 16).
inline constexpr std::size_t default_psk_key_size = 16;
/// Generated identities: up to 128 bytes (the size every LwM2M client must support), at least
/// 16 random characters (~95 bits: unique in any fleet).
inline constexpr std::size_t max_generated_psk_identity_size = 128;
inline constexpr std::size_t min_generated_identity_random_chars = 16;
inline constexpr std::size_t default_psk_identity_size = 32;

/// `size` random bytes from random.fill(). Errors: lwm2m::Errc::invalid_argument (size outside
/// 16..64).
[[nodiscard]] Result<SecretBytes> generate_psk_key(Random& random,
                                                   std::size_t size = default_psk_key_size);

/// A printable identity: `prefix` followed by random characters of [A-Za-z0-9] (uniform, by
/// rejection sampling over random.fill() bytes) up to `size` bytes in total.
/// Errors: lwm2m::Errc::invalid_argument (size over 128; fewer than 16 random characters left
/// after the prefix; a prefix byte outside printable ASCII 0x21..0x7e).
[[nodiscard]] Result<std::string>
generate_psk_identity(Random& random, std::size_t size = default_psk_identity_size,
                      std::string_view prefix = {});

/// A key pair in the forms LwM2M writes into Object 0 (resources 3 and 5) and dtls::
/// RpkCredentials takes: SubjectPublicKeyInfo DER and unencrypted PKCS#8 DER.
struct KeyPair {
    Bytes public_key_spki_der;
    SecretBytes private_key_der;
};

/// A fresh ECDSA P-256 (secp256r1) key pair (RFC 7251 suites, TS 1.1 §7.1 / Transport §5.2).
/// Errors: Errc::internal_error (GnuTLS failed).
[[nodiscard]] Result<KeyPair> generate_p256_key_pair();

/// The SubjectPublicKeyInfo DER of a private key (PKCS#8 or SEC1 "EC PRIVATE KEY" DER, the forms
/// dtls::RpkCredentials accepts). Errors: Errc::invalid_config (not a private key we can read).
[[nodiscard]] Result<Bytes> public_key_of(const SecretBytes& private_key_der);

/// Whether `private_key_der` is the private half of `public_key_spki_der`.
/// Errors: Errc::invalid_config (unreadable key, or the halves do not match).
[[nodiscard]] Result<void> check_key_pair(BytesView public_key_spki_der,
                                          const SecretBytes& private_key_der);

/// What a server needs to know about a certificate (DER).
struct CertificateInfo {
    std::string subject_dn;  ///< RFC 4514 text
    std::string common_name; ///< the first subject CN (empty when none)
    Bytes public_key_spki_der;
    std::int64_t not_before = 0; ///< Unix seconds
    std::int64_t not_after = 0;  ///< Unix seconds
    bool is_ca = false;          ///< basicConstraints cA = TRUE
};

/// Parses a certificate. Errors: Errc::invalid_config (not an X.509 DER certificate).
[[nodiscard]] Result<CertificateInfo> inspect_certificate(BytesView der);

/// A CA that issues device certificates: its certificate and private key (DER).
struct CertificateIssuer {
    Bytes certificate_der;
    SecretBytes private_key_der;
};

/// Checks that the issuer is usable: the certificate parses, is a CA (basicConstraints cA), and
/// the key is its private key. Errors: Errc::invalid_config.
[[nodiscard]] Result<void> check_issuer(const CertificateIssuer& issuer);

struct CertificateRequest {
    std::string common_name;     ///< subject CN (the LwM2M Endpoint Client Name, TS 1.1 §7.1.9)
    Bytes public_key_spki_der;   ///< the device's public key
    std::int64_t not_before = 0; ///< Unix seconds
    std::int64_t not_after = 0;  ///< Unix seconds
};

/// Issues an X.509 v3 end-entity certificate for a TLS/DTLS client (RFC 5280): subject CN,
/// basicConstraints cA=FALSE, keyUsage digitalSignature, extKeyUsage clientAuth, subject and
/// authority key identifiers, a positive 16-byte serial from random.fill(), ECDSA/SHA-256 (or
/// the CA key's algorithm) signature. Errors: Errc::invalid_config (issuer unusable, empty or
/// over-long CN (> 64 bytes, RFC 5280 ub-common-name), bad public key, not_after <= not_before),
/// Errc::internal_error.
[[nodiscard]] Result<Bytes> issue_certificate(const CertificateIssuer& issuer,
                                              const CertificateRequest& request, Random& random);

} // namespace lwm2m::dtls
