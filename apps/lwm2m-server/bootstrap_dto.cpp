#include "bootstrap_dto.hpp"

#include <algorithm>
#include <set>

#include <lwm2m/client/security_object.hpp>
#include <lwm2m/client/server_object.hpp>

namespace lwm2m::app {
namespace {

tl::unexpected<http::ApiError> bad(std::string m) {
    return tl::unexpected(http::ApiError::bad_request(std::move(m)));
}

client::SecurityMode client_mode(store::SecurityMode m) {
    switch (m) {
    case store::SecurityMode::psk:
        return client::SecurityMode::psk;
    case store::SecurityMode::rpk:
        return client::SecurityMode::rpk;
    case store::SecurityMode::x509:
        return client::SecurityMode::certificate;
    case store::SecurityMode::nosec:
        break;
    }
    return client::SecurityMode::nosec;
}

store::SecurityMode store_mode(client::SecurityMode m) {
    switch (m) {
    case client::SecurityMode::psk:
        return store::SecurityMode::psk;
    case client::SecurityMode::rpk:
        return store::SecurityMode::rpk;
    case client::SecurityMode::certificate:
        return store::SecurityMode::x509;
    default:
        break;
    }
    return store::SecurityMode::nosec;
}

/// The given id, else the lowest id not given to any entry.
template <class Entries>
std::vector<std::uint16_t> assign_ids(const Entries& entries) {
    std::set<std::uint16_t> used;
    for (const auto& e : entries)
        if (e.instance_id) used.insert(*e.instance_id);
    std::vector<std::uint16_t> ids;
    std::uint16_t next = 0;
    for (const auto& e : entries) {
        if (e.instance_id) {
            ids.push_back(*e.instance_id);
            continue;
        }
        while (used.count(next) != 0)
            ++next;
        used.insert(next);
        ids.push_back(next);
    }
    return ids;
}

bool printable(BytesView b) {
    return std::all_of(b.begin(), b.end(), [](std::byte c) {
        auto v = static_cast<unsigned char>(c);
        return v >= 0x21 && v <= 0x7e;
    });
}

std::optional<std::int64_t> int_resource(const dm::Instance& in, std::uint16_t rid) {
    auto it = in.resources.find(rid);
    if (it == in.resources.end() || it->second.multiple) return std::nullopt;
    const auto& st = it->second.value.storage();
    if (const auto* i = std::get_if<std::int64_t>(&st)) return *i;
    if (const auto* u = std::get_if<std::uint64_t>(&st)) return static_cast<std::int64_t>(*u);
    return std::nullopt;
}

} // namespace

tl::expected<store::BootstrapConfig, http::ApiError> to_store(const http::BootstrapConfig& in) {
    store::BootstrapConfig out;
    out.endpoint = in.endpoint;
    out.bootstrap_credentials.endpoint = in.endpoint;
    out.bootstrap_credentials.mode = store::SecurityMode::nosec;
    if (in.delete_paths) out.deletes = *in.delete_paths; // else the default "/"
    out.content_format = in.format;

    const auto sec_ids = assign_ids(in.security);
    bool have_bootstrap = false;
    for (std::size_t i = 0; i < in.security.size(); ++i) {
        const auto& s = in.security[i];
        if (s.bootstrap_server) {
            if (have_bootstrap) return bad("more than one bootstrap_server security instance");
            have_bootstrap = true;
            auto& bc = out.bootstrap_credentials;
            bc.mode = s.mode;
            switch (s.mode) {
            case store::SecurityMode::psk:
                if (s.generate)
                    return bad("the bootstrap-server account cannot have generated credentials");
                bc.psk_identity = s.psk_identity;
                bc.psk_key = SecretBytes(s.psk_key.view());
                break;
            case store::SecurityMode::rpk:
                bc.rpk_public_key = s.public_key;
                break;
            case store::SecurityMode::x509: // the expected CN is the endpoint name (TS 1.1 §7.1.9)
            case store::SecurityMode::nosec: // nothing to copy
                break;
            }
            continue;
        }
        client::SecurityInstance si;
        si.server_uri = s.uri;
        si.bootstrap_server = false;
        si.security_mode = client_mode(s.mode);
        si.short_server_id = s.short_server_id;
        if (s.client_hold_off) si.client_hold_off = *s.client_hold_off;
        si.server_public_key = s.server_public_key;
        if (s.mode == store::SecurityMode::psk) {
            if (s.generate) {
                if (!printable(s.psk_identity))
                    return bad("security instance: a psk_identity used as the prefix of a "
                               "generated identity must be printable ASCII");
                store::GeneratedCredentials g;
                g.kind = store::GeneratedCredentials::Kind::psk;
                g.psk_key_size = s.generate->psk_key_bytes;
                g.psk_identity_size = s.generate->psk_identity_bytes;
                g.psk_identity_prefix.assign(reinterpret_cast<const char*>(s.psk_identity.data()),
                                             s.psk_identity.size());
                out.generate.emplace(sec_ids[i], std::move(g));
            } else {
                si.public_key_or_identity = s.psk_identity;
                si.secret_key = SecretBytes(s.psk_key.view());
            }
        } else if (s.mode != store::SecurityMode::nosec) {
            si.public_key_or_identity = s.public_key;
            si.secret_key = SecretBytes(s.private_key.view());
        }
        out.accounts.security.emplace(sec_ids[i], std::move(si));
    }

    const auto srv_ids = assign_ids(in.servers);
    for (std::size_t i = 0; i < in.servers.size(); ++i) {
        const auto& s = in.servers[i];
        client::ServerInstance si;
        auto put = [&si](std::uint16_t rid, dm::Value v) {
            si.resources.emplace(rid, dm::Resource::single(rid, std::move(v)));
        };
        put(0, dm::Value::integer(s.short_server_id));
        put(1, dm::Value::integer(s.lifetime));
        if (s.default_min_period) put(2, dm::Value::integer(*s.default_min_period));
        if (s.default_max_period) put(3, dm::Value::integer(*s.default_max_period));
        if (s.disable_timeout) put(5, dm::Value::integer(*s.disable_timeout));
        put(6, dm::Value::boolean(s.notification_storing));
        put(7, dm::Value::string(s.binding));
        out.accounts.servers.emplace(srv_ids[i], std::move(si));
    }

    const auto acl_ids = assign_ids(in.acls);
    for (std::size_t i = 0; i < in.acls.size(); ++i) {
        const auto& a = in.acls[i];
        dm::Instance inst;
        inst.id = acl_ids[i];
        inst.resources.emplace(0, dm::Resource::single(0, dm::Value::integer(a.object_id)));
        inst.resources.emplace(1,
                               dm::Resource::single(1, dm::Value::integer(a.object_instance_id)));
        dm::FlatMap<std::uint16_t, dm::Value> rights;
        for (const auto& [ssid, r] : a.acl)
            rights.emplace(ssid, dm::Value::integer(r));
        inst.resources.emplace(2, dm::Resource::multi(2, std::move(rights)));
        inst.resources.emplace(3, dm::Resource::single(3, dm::Value::integer(a.owner)));
        out.access_control.emplace(inst.id, std::move(inst));
    }
    return out;
}

http::BootstrapConfig to_rest(const store::BootstrapConfig& in, const std::string& bootstrap_uri,
                              const std::string& bootstrap_uri_nosec) {
    http::BootstrapConfig out;
    out.endpoint = in.endpoint;
    out.delete_paths = in.deletes;
    out.format = in.content_format;
    {
        const auto& bc = in.bootstrap_credentials;
        http::BootstrapSecurity b;
        b.uri = bc.mode == store::SecurityMode::nosec && !bootstrap_uri_nosec.empty()
                    ? bootstrap_uri_nosec
                    : bootstrap_uri;
        b.bootstrap_server = true;
        b.mode = bc.mode;
        b.psk_identity = bc.psk_identity;
        b.psk_key = SecretBytes(bc.psk_key.view());
        b.public_key = bc.rpk_public_key;
        out.security.push_back(std::move(b));
    }
    for (const auto& [iid, si] : in.accounts.security) {
        http::BootstrapSecurity s;
        s.instance_id = iid;
        s.uri = si.server_uri.value_or("");
        s.mode = store_mode(si.security_mode.value_or(client::SecurityMode::nosec));
        s.short_server_id = si.short_server_id;
        if (si.client_hold_off) s.client_hold_off = static_cast<std::uint32_t>(*si.client_hold_off);
        s.server_public_key = si.server_public_key;
        if (auto g = in.generate.find(iid); g != in.generate.end()) {
            s.generate = http::BootstrapSecurity::Generate{g->second.psk_key_size,
                                                           g->second.psk_identity_size};
            const auto& p = g->second.psk_identity_prefix;
            s.psk_identity.assign(reinterpret_cast<const std::byte*>(p.data()),
                                  reinterpret_cast<const std::byte*>(p.data()) + p.size());
        } else if (s.mode == store::SecurityMode::psk) {
            s.psk_identity = si.public_key_or_identity;
            s.psk_key = SecretBytes(si.secret_key.view());
        } else if (s.mode != store::SecurityMode::nosec) {
            s.public_key = si.public_key_or_identity;
            s.private_key = SecretBytes(si.secret_key.view());
        }
        out.security.push_back(std::move(s));
    }
    for (const auto& [iid, si] : in.accounts.servers) {
        http::BootstrapServer s;
        s.instance_id = iid;
        s.short_server_id = si.short_server_id().value_or(0);
        s.lifetime = static_cast<std::uint32_t>(si.lifetime().value_or(86400));
        s.binding = si.binding().value_or("U");
        if (si.resources.count(2) != 0)
            s.default_min_period = static_cast<std::uint32_t>(si.default_pmin());
        if (auto p = si.default_pmax()) s.default_max_period = static_cast<std::uint32_t>(*p);
        if (si.resources.count(5) != 0)
            s.disable_timeout = static_cast<std::uint32_t>(si.disable_timeout());
        s.notification_storing = si.notification_storing().value_or(true);
        out.servers.push_back(std::move(s));
    }
    for (const auto& [iid, inst] : in.access_control) {
        http::BootstrapAcl a;
        a.instance_id = iid;
        a.object_id = static_cast<std::uint16_t>(int_resource(inst, 0).value_or(0));
        a.object_instance_id = static_cast<std::uint16_t>(int_resource(inst, 1).value_or(0));
        a.owner = static_cast<std::uint16_t>(int_resource(inst, 3).value_or(0));
        if (auto it = inst.resources.find(2); it != inst.resources.end() && it->second.multiple) {
            for (const auto& [ssid, v] : it->second.instances) {
                const auto& st = v.storage();
                std::int64_t r = 0;
                if (const auto* i = std::get_if<std::int64_t>(&st))
                    r = *i;
                else if (const auto* u = std::get_if<std::uint64_t>(&st))
                    r = static_cast<std::int64_t>(*u);
                a.acl.emplace_back(ssid, static_cast<std::uint8_t>(r));
            }
        }
        out.acls.push_back(std::move(a));
    }
    return out;
}

} // namespace lwm2m::app
