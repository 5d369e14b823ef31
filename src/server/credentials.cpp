#include <lwm2m/server/credentials.hpp>

#include <cctype>

namespace lwm2m::server {

std::optional<std::string> common_name_of(std::string_view dn) {
    // RFC 4514 §3: RDNs separated by ',' (or '+' inside a multi-valued RDN), "type=value",
    // values with '\' escapes (a special character or two hex digits).
    std::size_t i = 0;
    const std::size_t n = dn.size();
    while (i < n) {
        while (i < n && (dn[i] == ' '))
            ++i;
        const std::size_t eq = dn.find('=', i);
        if (eq == std::string_view::npos) return std::nullopt;
        std::string_view type = dn.substr(i, eq - i);
        while (!type.empty() && type.back() == ' ')
            type.remove_suffix(1);
        std::string value;
        std::size_t k = eq + 1;
        for (; k < n; ++k) {
            const char c = dn[k];
            if (c == ',' || c == '+') break;
            if (c != '\\') {
                value.push_back(c);
                continue;
            }
            if (k + 1 >= n) return std::nullopt;
            const char e = dn[k + 1];
            auto hex = [](char h) { return h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10; };
            if (std::isxdigit(static_cast<unsigned char>(e)) && k + 2 < n &&
                std::isxdigit(static_cast<unsigned char>(dn[k + 2]))) {
                value.push_back(static_cast<char>(hex(e) * 16 + hex(dn[k + 2])));
                k += 2;
            } else {
                value.push_back(e);
                k += 1;
            }
        }
        const bool cn = type.size() == 2 && (type[0] == 'C' || type[0] == 'c') &&
                        (type[1] == 'N' || type[1] == 'n');
        if (cn) return value;
        i = k + 1;
    }
    return std::nullopt;
}

std::optional<SecretBytes> SecurityCredentials::psk_key(BytesView identity) {
    const auto* info = store_->find_by_psk_identity(identity);
    if (info == nullptr || info->mode != store::SecurityMode::psk) return std::nullopt;
    return info->psk_key;
}

bool SecurityCredentials::rpk_allowed(BytesView spki_der) {
    const auto* info = store_->find_by_rpk(spki_der);
    return info != nullptr && info->mode == store::SecurityMode::rpk;
}

bool SecurityCredentials::certificate_allowed(const dtls::PeerIdentity& identity) {
    return resolve(identity).has_value();
}

std::optional<BoundIdentity> SecurityCredentials::resolve(const dtls::PeerIdentity& id) const {
    using Kind = dtls::PeerIdentity::Kind;
    switch (id.kind) {
    case Kind::psk: {
        const auto* info = store_->find_by_psk_identity(id.psk_identity);
        if (info == nullptr || info->mode != store::SecurityMode::psk) return std::nullopt;
        return BoundIdentity{info->endpoint, store::SecurityMode::psk};
    }
    case Kind::raw_public_key: {
        const auto* info = store_->find_by_rpk(id.public_key_spki);
        if (info == nullptr || info->mode != store::SecurityMode::rpk) return std::nullopt;
        return BoundIdentity{info->endpoint, store::SecurityMode::rpk};
    }
    case Kind::x509: {
        auto cn = common_name_of(id.subject_dn);
        if (!cn || cn->empty()) return std::nullopt;
        if (const auto* info = store_->find_by_x509_cn(*cn)) {
            if (info->mode != store::SecurityMode::x509) return std::nullopt;
            return BoundIdentity{info->endpoint, store::SecurityMode::x509};
        }
        // A record for the CN as endpoint with another mode must not be bypassed by a cert.
        if (const auto* other = store_->find(*cn); other != nullptr) return std::nullopt;
        if (!cn_is_endpoint_) return std::nullopt;
        return BoundIdentity{std::move(*cn), store::SecurityMode::x509};
    }
    case Kind::none:
        break;
    }
    return std::nullopt;
}

} // namespace lwm2m::server
