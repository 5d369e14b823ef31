// SecurityInfo: what a server knows about how one device authenticates (the server-side mirror of
// the device's Security Object instance for that server, LwM2M TS 1.1 §7.1 and Appendix E.1).
//
// Shared by the device-management server (which authenticates DTLS handshakes and authorises
// registrations with it: a client authenticated as X may register only as the endpoint X is bound
// to), the bootstrap server (which provisions these credentials into devices and records them for
// the DM server in the same transaction) and the stores (memory, SQLite, Redis) behind the REST
// API.
//
// Secrets (the PSK key) live in SecretBytes: wiped, never printable. The REST API never returns
// them (write-only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>

namespace lwm2m::store {

/// How a device authenticates to a server. Values mirror Object 0 Resource 2 (0 PSK, 1 RPK,
/// 2 Certificate, 3 NoSec); Certificate with EST (4) is not supported by the servers.
enum class SecurityMode : std::uint8_t { psk = 0, rpk = 1, x509 = 2, nosec = 3 };

/// "psk", "rpk", "x509", "nosec".
[[nodiscard]] std::string_view to_string(SecurityMode m) noexcept;
[[nodiscard]] std::optional<SecurityMode> security_mode_from_string(std::string_view s) noexcept;

// Size rules (RFC 4279 §5.3 and the Security Object change request: identities of up to 128 bytes
// and keys of up to 64 bytes MUST be supported). The servers accept what the client accepts
// (include/lwm2m/client/security_object.hpp: identities up to 1024 bytes, keys up to 64 bytes)
// and generate keys of 16..64 bytes.
inline constexpr std::size_t max_psk_identity_size = 1024;
inline constexpr std::size_t max_psk_key_size = 64;
inline constexpr std::size_t max_endpoint_name_size = 255;

struct SecurityInfo {
    std::string endpoint; ///< the LwM2M Client Endpoint Name these credentials are bound to
    SecurityMode mode = SecurityMode::psk;
    Bytes psk_identity;   ///< psk: binary-safe identity bytes (RFC 4279)
    SecretBytes psk_key;  ///< psk: the key (never logged, never returned by the API)
    Bytes rpk_public_key; ///< rpk: the device's SubjectPublicKeyInfo DER (RFC 7250)
    /// x509: the device certificate's expected subject Common Name; empty means "the endpoint
    /// name" (TS 1.1 §7.1.9: the CN carries the endpoint name).
    std::string x509_common_name;

    friend bool operator==(const SecurityInfo& a, const SecurityInfo& b) {
        return a.endpoint == b.endpoint && a.mode == b.mode && a.psk_identity == b.psk_identity &&
               a.psk_key.equals(b.psk_key.view()) && a.psk_key.size() == b.psk_key.size() &&
               a.rpk_public_key == b.rpk_public_key && a.x509_common_name == b.x509_common_name;
    }
};

/// Checks one record: a non-empty endpoint of at most 255 bytes; PSK: identity 1..1024 bytes, key
/// 1..64 bytes; RPK: a non-empty key; no fields of another mode set. Errors: lwm2m::Errc::
/// invalid_argument; `why` (when given) receives a fixed reason that never contains key bytes.
[[nodiscard]] Result<void> validate(const SecurityInfo& info, std::string* why = nullptr);
/// The certificate common name an X.509 record expects: its x509_common_name, or its endpoint
/// when that is empty.
[[nodiscard]] inline std::string_view x509_cn_of(const SecurityInfo& info) noexcept {
    return info.x509_common_name.empty() ? std::string_view(info.endpoint)
                                         : std::string_view(info.x509_common_name);
}

} // namespace lwm2m::store
