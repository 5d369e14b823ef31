// BootstrapCredentials: the DTLS key lookups of the bootstrap listeners, over the configuration
// store's indexes (a PSK identity, raw public key or certificate CN that belongs to a configured
// endpoint). Which endpoint a peer may bootstrap is checked later, on the Bootstrap-Request.
#pragma once

#include <lwm2m/dtls/credential_store.hpp>
#include <lwm2m/dtls/keygen.hpp>
#include <lwm2m/store/bootstrap_config_store.hpp>

namespace lwm2m::bootstrap::detail {

class BootstrapCredentials final : public dtls::CredentialStore {
public:
    explicit BootstrapCredentials(store::BootstrapConfigStore& store)
        : store_(&store) {}

    std::optional<SecretBytes> psk_key(BytesView identity) override {
        const auto c = store_->find_by_psk_identity(identity);
        if (!c || c->bootstrap_credentials.mode != store::SecurityMode::psk) return std::nullopt;
        return c->bootstrap_credentials.psk_key;
    }
    bool rpk_allowed(BytesView spki_der) override {
        const auto c = store_->find_by_rpk(spki_der);
        return c && c->bootstrap_credentials.mode == store::SecurityMode::rpk;
    }
    bool certificate_allowed(const dtls::PeerIdentity& identity) override {
        const auto info = dtls::inspect_certificate(identity.certificate_der);
        if (!info || info->common_name.empty()) return false;
        const auto c = store_->find_by_certificate_cn(info->common_name);
        return c && c->bootstrap_credentials.mode == store::SecurityMode::x509;
    }

private:
    store::BootstrapConfigStore* store_;
};

} // namespace lwm2m::bootstrap::detail
