// Shared value types of the DTLS layer: credentials, cipher suites, identities and events.
//
// The layer is sans-I/O (docs/architecture.md §2): ciphertext datagrams in and out, plaintext in
// and out, one deadline. GnuTLS stays behind src/dtls/ (no GnuTLS type appears here).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/log.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/dtls/errc.hpp>

namespace lwm2m::dtls {

/// IANA TLS cipher suite values (LwM2M TS Core 1.1 §E.1, Security Object resource 16).
enum class CipherSuite : std::uint16_t {
    psk_aes_128_ccm_8 = 0xC0A8,              ///< TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655)
    psk_aes_128_cbc_sha256 = 0x00AE,         ///< TLS_PSK_WITH_AES_128_CBC_SHA256 (RFC 5487)
    ecdhe_ecdsa_aes_128_ccm_8 = 0xC0AE,      ///< TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (RFC 7251)
    ecdhe_ecdsa_aes_128_cbc_sha256 = 0xC023, ///< TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (RFC 5289)
};

/// The suites offered/accepted when the configuration names none, in this order.
[[nodiscard]] std::vector<CipherSuite> default_cipher_suites();
/// Maps IANA values (e.g. the Security Object resource 16 integers) to suites.
/// Errors: Errc::invalid_config when a value is not one of the suites this layer supports.
[[nodiscard]] Result<std::vector<CipherSuite>>
cipher_suites_from_iana(const std::vector<std::uint16_t>& values);

/// PSK credentials (RFC 4279). The identity is an arbitrary byte string (may contain 0x00),
/// 1..65535 bytes; the key 1..65535 bytes. LwM2M needs identity <= 128 and key <= 64 at least.
struct PskCredentials {
    Bytes identity;
    SecretBytes key;
};

/// Our own raw public key (RFC 7250): P-256 SubjectPublicKeyInfo DER and the matching private key
/// (DER: PKCS#8 or SEC1 "EC PRIVATE KEY").
struct RpkCredentials {
    Bytes public_key_spki_der;
    SecretBytes private_key_der;
};

/// Our own X.509 certificate chain (end-entity first, DER) and its private key (DER).
struct X509Credentials {
    std::vector<Bytes> chain_der;
    SecretBytes private_key_der;
};

/// LwM2M TS Core 1.1 Security Object resource 15 "Certificate Usage", with RFC 6698 §2.1.1
/// semantics. Default in LwM2M: domain_issued_certificate.
enum class CertificateUsage : std::uint8_t {
    ca_constraint = 0,                  ///< PKIX-TA: the pinned CA must be in the validated path
    service_certificate_constraint = 1, ///< PKIX-EE: EE == pinned and PKIX-valid to an anchor
    trust_anchor_assertion = 2,         ///< DANE-TA: the pinned cert is the (only) trust anchor
    domain_issued_certificate = 3,      ///< DANE-EE: EE == pinned, exact DER (RFC 7671 §5.1)
};

/// How the peer authenticated, delivered in HandshakeDone for the layer above.
struct PeerIdentity {
    enum class Kind : std::uint8_t { none, psk, raw_public_key, x509 };
    Kind kind = Kind::none;
    Bytes psk_identity;     ///< Kind::psk: the PSK identity bytes
    Bytes public_key_spki;  ///< Kind::raw_public_key and Kind::x509: the peer's SPKI DER
    std::string subject_dn; ///< Kind::x509: the end-entity subject DN (RFC 4514 text)
    Bytes certificate_der;  ///< Kind::x509: the end-entity certificate DER
};

/// Events polled from ClientSession / ServerTable.
struct HandshakeDone {
    PeerAddr peer;
    PeerIdentity identity;
    CipherSuite suite{}; ///< the negotiated suite
};
struct Plaintext {
    PeerAddr peer;
    Bytes data;
};
struct Closed {
    PeerAddr peer;
    Error reason; ///< Errc::closed, peer_alert, idle_timeout, session_limit, replaced
};
struct HandshakeFailed {
    PeerAddr peer;
    Error error; ///< see Errc
};
using Event = std::variant<HandshakeDone, Plaintext, Closed, HandshakeFailed>;

/// Settings shared by client and server.
struct CommonConfig {
    std::vector<CipherSuite> cipher_suites = default_cipher_suites();
    /// Maximum datagram size (DTLS records incl. headers) we send. IPv6 minimum MTU 1280 minus
    /// IP/UDP headers by default.
    std::size_t mtu = 1232;
    /// The whole handshake must complete within this time (our clock, not GnuTLS's).
    Duration handshake_timeout = std::chrono::seconds(60);
    /// Initial retransmission timeout (RFC 6347 §4.2.4.1), doubled up to 60 s by GnuTLS.
    Duration retransmit_timeout = std::chrono::seconds(1);
    /// Logger for handshake outcomes (never given key material). nullptr: NullLogger.
    Logger* logger = nullptr;
};

} // namespace lwm2m::dtls
