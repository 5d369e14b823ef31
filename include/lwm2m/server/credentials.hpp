// SecurityCredentials: the dtls::CredentialStore of the DM server's DTLS listeners, over the
// SecurityStore (O(1) in-memory lookups on the engine thread), and the resolution of a completed
// handshake's identity to the endpoint it is bound to.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <lwm2m/dtls/credential_store.hpp>
#include <lwm2m/store/security_store.hpp>

namespace lwm2m::server {

/// The endpoint a DTLS identity may register as.
struct BoundIdentity {
    std::string endpoint;
    store::SecurityMode mode = store::SecurityMode::psk;
};

/// The first CN attribute of an RFC 4514 distinguished name ("CN=dev1,O=Acme" -> "dev1"),
/// unescaped; nullopt when there is none or it is malformed.
[[nodiscard]] std::optional<std::string> common_name_of(std::string_view subject_dn);

class SecurityCredentials final : public dtls::CredentialStore {
public:
    /// `store` must outlive this object. `cn_is_endpoint`: an X.509 client without a
    /// SecurityInfo is accepted as the endpoint named by its certificate CN.
    SecurityCredentials(const store::SecurityStore& store, bool cn_is_endpoint)
        : store_(&store)
        , cn_is_endpoint_(cn_is_endpoint) {}

    /// The key of a PSK record with this identity (binary-safe), else nullopt.
    [[nodiscard]] std::optional<SecretBytes> psk_key(BytesView identity) override;
    /// Whether an RPK record holds this SubjectPublicKeyInfo.
    [[nodiscard]] bool rpk_allowed(BytesView spki_der) override;
    /// Whether the verified chain's subject CN is an X.509 record's name (or, with
    /// cn_is_endpoint, any non-empty CN).
    [[nodiscard]] bool certificate_allowed(const dtls::PeerIdentity& identity) override;

    /// The endpoint an authenticated peer is bound to (nullopt: unknown identity, or a record
    /// of another security mode).
    [[nodiscard]] std::optional<BoundIdentity> resolve(const dtls::PeerIdentity& identity) const;

private:
    const store::SecurityStore* store_;
    bool cn_is_endpoint_;
};

} // namespace lwm2m::server
