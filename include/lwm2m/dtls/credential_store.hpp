// CredentialStore: how a ServerTable looks up client credentials (the LwM2M server backs it with
// SQLite or Redis; tests with a map). Called synchronously during the handshake, on the thread
// that owns the table.
#pragma once

#include <optional>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/dtls/types.hpp>

namespace lwm2m::dtls {

class CredentialStore {
public:
    virtual ~CredentialStore() = default;
    /// The PSK key of `identity` (binary, may contain 0x00), or nullopt when unknown: the
    /// handshake then fails with Errc::unknown_identity.
    [[nodiscard]] virtual std::optional<SecretBytes> psk_key(BytesView identity) = 0;
    /// Whether a client presenting this raw public key (SPKI DER, RFC 7250) may connect.
    /// false: the handshake fails with Errc::unknown_identity.
    [[nodiscard]] virtual bool rpk_allowed(BytesView spki_der) = 0;
    /// Whether a client whose X.509 chain verified against the configured CAs may connect
    /// (e.g. a subject DN / endpoint-name check). false: Errc::unknown_identity.
    [[nodiscard]] virtual bool certificate_allowed(const PeerIdentity& identity) {
        (void)identity;
        return true;
    }
};

} // namespace lwm2m::dtls
