#include <lwm2m/store/bootstrap_config.hpp>

#include <algorithm>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/client/security_object.hpp>
#include <lwm2m/client/server_object.hpp>
#include <lwm2m/dm/value_check.hpp>
#include <lwm2m/dtls/keygen.hpp>

namespace lwm2m::store {

namespace {

using client::SecurityInstance;
using CMode = client::SecurityMode;

std::string at0(std::uint16_t iid) {
    return "/0/" + std::to_string(iid) + ": ";
}

bool printable_endpoint(std::string_view ep) {
    return std::none_of(ep.begin(), ep.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

CMode mode_for(GeneratedCredentials::Kind k) {
    switch (k) {
    case GeneratedCredentials::Kind::psk:
        return CMode::psk;
    case GeneratedCredentials::Kind::rpk:
        return CMode::rpk;
    case GeneratedCredentials::Kind::x509:
        break;
    }
    return CMode::certificate;
}

/// Fills resources 3 and 5 (and nothing else) with placeholders of the generated sizes, so that
/// the client's rules can be checked on what will be written.
void fill_placeholders(SecurityInstance& s, const GeneratedCredentials& g) {
    switch (g.kind) {
    case GeneratedCredentials::Kind::psk:
        s.public_key_or_identity = Bytes(g.psk_identity_size, std::byte{'x'});
        s.secret_key = SecretBytes(Bytes(g.psk_key_size, std::byte{0x5a}));
        break;
    case GeneratedCredentials::Kind::rpk:
    case GeneratedCredentials::Kind::x509:
        // A P-256 SPKI is 91 bytes, its PKCS#8 key 138 (or so): any non-empty value satisfies
        // the client's Finish rules, which only ask for the resources to be filled.
        s.public_key_or_identity = Bytes(91, std::byte{0x30});
        s.secret_key = SecretBytes(Bytes(138, std::byte{0x30}));
        break;
    }
}

void check_generation(const BootstrapConfig& c, const ValidationOptions& opt,
                      std::vector<std::string>& reasons) {
    for (const auto& [iid, g] : c.generate) {
        const std::string at = at0(iid);
        const auto it = c.accounts.security.find(iid);
        if (it == c.accounts.security.end()) {
            reasons.push_back(at + "credentials are to be generated for a Security instance "
                                   "that is not in the configuration");
            continue;
        }
        const SecurityInstance& s = it->second;
        if (s.is_bootstrap())
            reasons.push_back(at + "credentials cannot be generated for a Bootstrap-Server "
                                   "instance");
        if (s.security_mode != mode_for(g.kind))
            reasons.push_back(at + "generated " + std::string(to_string(g.kind)) +
                              " credentials need Security Mode " +
                              std::to_string(static_cast<int>(mode_for(g.kind))));
        if (!s.public_key_or_identity.empty() || !s.secret_key.empty())
            reasons.push_back(at + "resources 3 and 5 must be empty when their credentials are "
                                   "generated");
        switch (g.kind) {
        case GeneratedCredentials::Kind::psk:
            if (g.psk_key_size < dtls::min_generated_psk_key_size ||
                g.psk_key_size > dtls::max_generated_psk_key_size)
                reasons.push_back(at + "a generated PSK key must have 16 to 64 bytes");
            if (g.psk_identity_size > dtls::max_generated_psk_identity_size ||
                g.psk_identity_prefix.size() > g.psk_identity_size ||
                g.psk_identity_size - g.psk_identity_prefix.size() <
                    dtls::min_generated_identity_random_chars)
                reasons.push_back(at + "a generated PSK identity must have at most 128 bytes "
                                       "and at least 16 random characters after its prefix");
            if (std::any_of(g.psk_identity_prefix.begin(), g.psk_identity_prefix.end(),
                            [](char ch) { return ch < 0x21 || ch > 0x7e; }))
                reasons.push_back(at + "the PSK identity prefix must be printable ASCII without "
                                       "spaces");
            break;
        case GeneratedCredentials::Kind::rpk:
            break;
        case GeneratedCredentials::Kind::x509:
            if (!opt.certificate_issuer)
                reasons.push_back(at + "X.509 generation needs a certificate issuer (CA) in the "
                                       "engine configuration");
            if (c.endpoint.size() > 64)
                reasons.push_back(at + "X.509 generation needs an endpoint name of at most 64 "
                                       "bytes (the certificate CN, RFC 5280 ub-common-name)");
            if (g.certificate_validity_days < 1 || g.certificate_validity_days > 36500)
                reasons.push_back(at + "certificate validity must be 1 to 36500 days");
            break;
        }
    }
}

void check_security_instances(const BootstrapConfig& c, std::vector<std::string>& reasons) {
    for (const auto& [iid, s] : c.accounts.security) {
        const std::string at = at0(iid);
        if (iid == 0xffff) reasons.push_back(at + "instance id 65535 is reserved");
        if (s.is_bootstrap()) {
            reasons.push_back(at + "the Bootstrap-Server account is not part of a bootstrap "
                                   "configuration");
            continue;
        }
        if (s.security_mode == CMode::certificate_est)
            reasons.push_back(at + "Security Mode 4 (Certificate with EST) is not supported by "
                                   "the servers");
        // Each resource exactly as the client applies a Bootstrap-Write (4.00 otherwise).
        const dm::Instance in = client::to_dm_instance(iid, s, client::Audience::local);
        SecurityInstance scratch;
        for (const auto& [rid, r] : in.resources) {
            // An empty resource 3 or 4 is "not filled" and is not written (engine: strip_empty).
            if ((rid == client::security_rid::public_key_or_identity ||
                 rid == client::security_rid::server_public_key) &&
                !r.multiple && r.value.type() == dm::DataType::opaque &&
                r.value.as_opaque().empty())
                continue;
            if (!client::apply_security_resource(scratch, r))
                reasons.push_back(at + "resource " + std::to_string(rid) +
                                  " violates the Security Object rules (the client answers 4.00)");
        }
        if (!client::check_security_limits(scratch))
            reasons.push_back(at + "the PSK identity or key size violates the Security Object "
                                   "rules (the client answers 4.00)");
    }
}

void check_server_instances(const BootstrapConfig& c, std::vector<std::string>& reasons) {
    for (const auto& [iid, s] : c.accounts.servers) {
        const std::string at = "/1/" + std::to_string(iid) + ": ";
        if (iid == 0xffff) reasons.push_back(at + "instance id 65535 is reserved");
        client::ServerInstance scratch;
        for (const auto& [rid, r] : s.resources) {
            if (rid != r.id || !client::apply_server_resource(scratch, r))
                reasons.push_back(at + "resource " + std::to_string(rid) +
                                  " violates the Server Object rules (the client answers 4.00)");
        }
    }
}

void check_given_keys(const BootstrapConfig& c, const client::ClientConfig& filled,
                      std::vector<std::string>& reasons) {
    for (const auto& [iid, s] : filled.security) {
        if (s.is_bootstrap() || !s.security_mode) continue;
        const std::string at = at0(iid);
        const bool generated = c.generate.count(iid) != 0;
        if (generated && *s.security_mode == CMode::certificate) continue;
        if (!generated && *s.security_mode == CMode::rpk && !s.public_key_or_identity.empty() &&
            !s.secret_key.empty() && !dtls::check_key_pair(s.public_key_or_identity, s.secret_key))
            reasons.push_back(at + "resource 5 is not the private key of the public key in "
                                   "resource 3");
        if (!generated && *s.security_mode == CMode::certificate &&
            !s.public_key_or_identity.empty()) {
            const auto info = dtls::inspect_certificate(s.public_key_or_identity);
            if (!info) {
                reasons.push_back(at + "resource 3 is not an X.509 certificate (DER)");
                continue;
            }
            if (info->common_name.empty())
                reasons.push_back(at + "the certificate in resource 3 has no subject CN");
            if (!s.secret_key.empty() &&
                !dtls::check_key_pair(info->public_key_spki_der, s.secret_key))
                reasons.push_back(at + "resource 5 is not the private key of the certificate in "
                                       "resource 3");
            continue;
        }
        if (*s.security_mode == CMode::certificate_est) continue;
        if (s.short_server_id && s.server_uri) {
            if (!dm_credential_for(c.endpoint, s))
                reasons.push_back(at + "the account gives no valid credential record for the DM "
                                       "server");
        }
    }
}

void check_access_control(const BootstrapConfig& c, std::vector<std::string>& reasons) {
    if (c.access_control.size() > max_access_control_instances)
        reasons.push_back("too many Access Control instances");
    const dm::ObjectDef* def = bootstrap_registry().find(2);
    for (const auto& [iid, in] : c.access_control) {
        const std::string at = "/2/" + std::to_string(iid) + ": ";
        if (in.id != iid || iid == 0xffff) {
            reasons.push_back(at + "instance id mismatch or reserved");
            continue;
        }
        for (const auto& [rid, r] : in.resources) {
            const dm::ResourceDef* rd = def ? def->resource(rid) : nullptr;
            if (rd == nullptr || rid != r.id) {
                reasons.push_back(at + "resource " + std::to_string(rid) +
                                  " is not defined in Object 2");
                continue;
            }
            if (rd->multiple != r.multiple) {
                reasons.push_back(at + "resource " + std::to_string(rid) +
                                  (rd->multiple ? " must be multiple" : " must be single"));
                continue;
            }
            auto check = [&](const dm::Value& v) {
                auto cv = dm::coerce(v, rd->type);
                return cv && dm::check_value(*rd, *cv);
            };
            bool good = true;
            if (r.multiple) {
                for (const auto& [riid, v] : r.instances)
                    good = good && riid != 0xffff && check(v);
            } else {
                good = check(r.value);
            }
            if (!good)
                reasons.push_back(at + "resource " + std::to_string(rid) +
                                  " has a value outside the Object 2 definition");
        }
        if (def)
            for (const auto& rd : def->resources)
                if (rd.mandatory && in.resources.count(rd.id) == 0)
                    reasons.push_back(at + "mandatory resource " + std::to_string(rd.id) +
                                      " is missing");
    }
}

bool clears_accounts(const BootstrapConfig& c) {
    return std::any_of(c.deletes.begin(), c.deletes.end(), [](const dm::Path& p) {
        return p.is_root() || (p.depth() == 1 && (p.oid().v == 0 || p.oid().v == 1));
    });
}

} // namespace

std::string_view to_string(GeneratedCredentials::Kind k) noexcept {
    switch (k) {
    case GeneratedCredentials::Kind::psk:
        return "psk";
    case GeneratedCredentials::Kind::rpk:
        return "rpk";
    case GeneratedCredentials::Kind::x509:
        return "x509";
    }
    return "unknown";
}

const dm::ObjectRegistry& bootstrap_registry() {
    static const dm::ObjectRegistry reg = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_2);
    return reg;
}

std::vector<std::string> check_bootstrap_config(const BootstrapConfig& c,
                                                const ValidationOptions& options) {
    std::vector<std::string> reasons;
    if (c.endpoint.empty() || c.endpoint.size() > max_endpoint_name_size)
        reasons.push_back("the endpoint name must have 1 to 255 bytes");
    if (!printable_endpoint(c.endpoint))
        reasons.push_back("the endpoint name contains control characters");

    // How the device authenticates to the bootstrap server.
    if (c.bootstrap_credentials.endpoint != c.endpoint)
        reasons.push_back("bootstrap credentials: bound to another endpoint name");
    if (std::string why; !validate(c.bootstrap_credentials, &why))
        reasons.push_back("bootstrap credentials: " + why);
    if (c.bootstrap_credentials.x509_common_name.size() > 64)
        reasons.push_back("bootstrap credentials: a certificate CN has at most 64 bytes");
    if (c.bootstrap_credentials.rpk_public_key.size() > client::max_public_key_or_identity_size)
        reasons.push_back("bootstrap credentials: the raw public key is over 4096 bytes");

    // Bootstrap-Delete targets (TS 1.1 §5.2.7.5: "/", an object or an object instance).
    if (c.deletes.size() > max_bootstrap_deletes) reasons.push_back("too many delete targets");
    for (const auto& p : c.deletes)
        if (p.depth() > 2)
            reasons.push_back("delete " + p.to_string() +
                              ": Bootstrap-Delete targets \"/\", an object or an instance");

    // The accounts: the client's per-write rules, then its Bootstrap-Finish rules.
    if (c.accounts.bs_purge_at)
        reasons.push_back("the accounts carry client state (Bootstrap-Server purge deadline)");
    check_security_instances(c, reasons);
    check_server_instances(c, reasons);
    check_generation(c, options, reasons);
    client::ClientConfig filled = c.accounts;
    for (const auto& [iid, g] : c.generate) {
        const auto it = filled.security.find(iid);
        if (it != filled.security.end() && it->second.public_key_or_identity.empty() &&
            it->second.secret_key.empty())
            fill_placeholders(it->second, g);
    }
    for (auto& r : client::check_consistency(filled))
        reasons.push_back(std::move(r) + " (the client answers Bootstrap-Finish with 4.06)");
    check_given_keys(c, filled, reasons);
    if (clears_accounts(c) &&
        !std::any_of(filled.security.begin(), filled.security.end(),
                     [](const auto& kv) { return !kv.second.is_bootstrap(); }))
        reasons.push_back("the deletes clear the device's accounts but no DM-server account is "
                          "written: the device would need bootstrapping again");

    check_access_control(c, reasons);

    if (c.content_format) {
        using F = format::ContentFormat;
        const F f = *c.content_format;
        if (f != F::lwm2m_tlv && f != F::senml_json && f != F::senml_cbor && f != F::lwm2m_json &&
            f != F::lwm2m_cbor)
            reasons.push_back("content format: Bootstrap-Write of instances needs TLV, SenML "
                              "JSON/CBOR or LwM2M JSON/CBOR");
    }
    if (c.discover && c.discover->depth() > 1)
        reasons.push_back("discover " + c.discover->to_string() +
                          ": Bootstrap-Discover targets \"/\" or an object");
    if (c.reads.size() > max_bootstrap_reads) reasons.push_back("too many reads");
    for (const auto& p : c.reads)
        if (p.depth() < 1 || p.depth() > 2 || (p.oid().v != 1 && p.oid().v != 2))
            reasons.push_back("read " + p.to_string() +
                              ": Bootstrap-Read targets Object 1 or 2 or one of their instances");
    return reasons;
}

Result<void> validate(const BootstrapConfig& config, std::vector<std::string>* reasons,
                      const ValidationOptions& options) {
    auto r = check_bootstrap_config(config, options);
    if (r.empty()) return ok();
    if (reasons) *reasons = std::move(r);
    return lwm2m::fail(lwm2m::Errc::invalid_argument);
}

Result<DmCredential> dm_credential_for(std::string_view endpoint, const SecurityInstance& s) {
    const auto bad = [] { return lwm2m::fail(lwm2m::Errc::invalid_argument); };
    if (s.is_bootstrap() || !s.short_server_id || !s.server_uri || !s.security_mode) return bad();
    DmCredential out;
    out.ssid = *s.short_server_id;
    out.server_uri = *s.server_uri;
    out.info.endpoint = std::string(endpoint);
    switch (*s.security_mode) {
    case CMode::psk:
        out.info.mode = store::SecurityMode::psk;
        out.info.psk_identity = s.public_key_or_identity;
        out.info.psk_key = s.secret_key;
        break;
    case CMode::rpk:
        out.info.mode = store::SecurityMode::rpk;
        out.info.rpk_public_key = s.public_key_or_identity;
        break;
    case CMode::certificate: {
        const auto info = dtls::inspect_certificate(s.public_key_or_identity);
        if (!info || info->common_name.empty()) return bad();
        out.info.mode = store::SecurityMode::x509;
        out.info.x509_common_name = info->common_name;
        break;
    }
    case CMode::nosec:
        out.info.mode = store::SecurityMode::nosec;
        break;
    case CMode::certificate_est:
        return bad();
    }
    if (!validate(out.info)) return bad();
    return out;
}

Result<std::vector<DmCredential>> dm_credentials_for(std::string_view endpoint,
                                                     const client::ClientConfig& accounts) {
    std::vector<DmCredential> out;
    for (const auto& [iid, s] : accounts.security) {
        if (s.is_bootstrap()) continue;
        LWM2M_TRY(rec, dm_credential_for(endpoint, s));
        out.push_back(std::move(rec));
    }
    return out;
}

BootstrapConfigView public_view(const BootstrapConfig& c) {
    BootstrapConfigView v;
    v.endpoint = c.endpoint;
    v.bootstrap_mode = c.bootstrap_credentials.mode;
    v.bootstrap_psk_identity = c.bootstrap_credentials.psk_identity;
    v.bootstrap_psk_key = SecretSize{c.bootstrap_credentials.psk_key.size()};
    v.bootstrap_rpk = c.bootstrap_credentials.rpk_public_key;
    v.bootstrap_x509_common_name = c.bootstrap_credentials.x509_common_name;
    v.deletes = c.deletes;
    for (const auto& [iid, s] : c.accounts.security) {
        v.security.emplace(iid, client::to_dm_instance(iid, s, client::Audience::server));
        v.security_secret_key.emplace(iid, SecretSize{s.secret_key.size()});
    }
    for (const auto& [iid, s] : c.accounts.servers)
        v.servers.emplace(iid, client::to_dm_instance(iid, s));
    v.access_control = c.access_control;
    v.generate = c.generate;
    v.content_format = c.content_format;
    v.lwm2m_version = c.lwm2m_version;
    v.discover = c.discover;
    v.reads = c.reads;
    v.avoid_bootstrap_instance_id = c.avoid_bootstrap_instance_id;
    return v;
}

} // namespace lwm2m::store
