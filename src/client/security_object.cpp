#include <lwm2m/client/security_object.hpp>

#include <algorithm>
#include <string>

#include <lwm2m/client/access.hpp>
#include <lwm2m/client/server_uri.hpp>

#include "client/value_util.hpp"

namespace lwm2m::client {

using detail::as_bool;
using detail::as_int;
using detail::as_opaque;
using detail::as_str;

bool is_supported_ciphersuite(std::uint64_t v) noexcept {
    return v == cs_psk_aes128_ccm8 || v == cs_psk_aes128_cbc_sha256 ||
           v == cs_ecdhe_ecdsa_aes128_ccm8 || v == cs_ecdhe_ecdsa_aes128_cbc_sha256;
}
bool is_psk_ciphersuite(std::uint16_t v) noexcept {
    return v == cs_psk_aes128_ccm8 || v == cs_psk_aes128_cbc_sha256;
}

bool operator==(const SecurityInstance& a, const SecurityInstance& b) {
    return a.server_uri == b.server_uri && a.bootstrap_server == b.bootstrap_server &&
           a.security_mode == b.security_mode &&
           a.public_key_or_identity == b.public_key_or_identity &&
           a.server_public_key == b.server_public_key &&
           a.secret_key.size() == b.secret_key.size() && a.secret_key.equals(b.secret_key.view()) &&
           a.sms_security_mode == b.sms_security_mode &&
           a.sms_key_parameters == b.sms_key_parameters &&
           a.sms_secret_key.size() == b.sms_secret_key.size() &&
           a.sms_secret_key.equals(b.sms_secret_key.view()) && a.sms_number == b.sms_number &&
           a.short_server_id == b.short_server_id && a.client_hold_off == b.client_hold_off &&
           a.bs_account_timeout == b.bs_account_timeout && a.matching_type == b.matching_type &&
           a.sni == b.sni && a.certificate_usage == b.certificate_usage &&
           a.ciphersuites == b.ciphersuites;
}

namespace {

namespace rid = security_rid;

Result<void> bad() {
    return fail(Status::bad_request);
}

const dm::Value* single(const dm::Resource& r) {
    if (r.multiple) return nullptr;
    return &r.value;
}

// MSISDN: E.164, up to 15 digits with an optional leading '+' (ITU-T E.164 §6).
bool valid_msisdn(std::string_view s) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty() || s.size() > 15) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<void> int_in(const dm::Resource& r, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    const dm::Value* v = single(r);
    if (v == nullptr) return bad();
    const auto i = as_int(*v);
    if (!i || *i < lo || *i > hi) return bad();
    out = *i;
    return ok();
}

// Opaque (and, for the PSK identity, a UTF-8 string: RFC 4279 §5.1 identities are text).
const Bytes* opaque_of(const dm::Resource& r) {
    const dm::Value* v = single(r);
    return v == nullptr ? nullptr : as_opaque(*v);
}

} // namespace

Result<void> apply_security_resource(SecurityInstance& inst, const dm::Resource& res) {
    std::int64_t n = 0;
    switch (res.id) {
    case rid::server_uri: {
        const dm::Value* v = single(res);
        const std::string* s = v ? as_str(*v) : nullptr;
        if (s == nullptr) return bad();
        if (!parse_server_uri(*s)) return bad(); // <= 255 bytes and parsable
        inst.server_uri = *s;
        return ok();
    }
    case rid::bootstrap_server: {
        const dm::Value* v = single(res);
        const auto b = v ? as_bool(*v) : std::nullopt;
        if (!b) return bad();
        inst.bootstrap_server = *b;
        return ok();
    }
    case rid::security_mode:
        LWM2M_TRY_VOID(int_in(res, 0, 4, n)); // 1.1: 0-4
        inst.security_mode = static_cast<SecurityMode>(n);
        return ok();
    case rid::public_key_or_identity: {
        const dm::Value* v = single(res);
        if (v == nullptr) return bad();
        if (const Bytes* b = as_opaque(*v)) {
            if (b->size() > max_public_key_or_identity_size) return bad();
            inst.public_key_or_identity = *b;
            return ok();
        }
        if (const std::string* s = as_str(*v)) {
            if (s->size() > max_public_key_or_identity_size) return bad();
            inst.public_key_or_identity = to_bytes(*s);
            return ok();
        }
        return bad();
    }
    case rid::server_public_key: {
        const Bytes* b = opaque_of(res);
        if (b == nullptr || b->size() > max_server_public_key_size) return bad();
        inst.server_public_key = *b;
        return ok();
    }
    case rid::secret_key: {
        const Bytes* b = opaque_of(res);
        if (b == nullptr || b->size() > max_secret_key_size) return bad();
        inst.secret_key = SecretBytes(*b);
        return ok();
    }
    case rid::sms_security_mode:
        LWM2M_TRY_VOID(int_in(res, 0, 255, n));
        inst.sms_security_mode = static_cast<std::uint8_t>(n);
        return ok();
    case rid::sms_key_parameters: {
        const Bytes* b = opaque_of(res);
        if (b == nullptr || b->size() != sms_key_parameters_size) return bad(); // exactly 6
        std::array<std::byte, 6> p{};
        std::copy(b->begin(), b->end(), p.begin());
        inst.sms_key_parameters = p;
        return ok();
    }
    case rid::sms_secret_key: {
        const Bytes* b = opaque_of(res);
        if (b == nullptr || (b->size() != 16 && b->size() != 32 && b->size() != 48)) return bad();
        inst.sms_secret_key = SecretBytes(*b);
        return ok();
    }
    case rid::sms_number: {
        // The change request says Integer, the published definitions String: store a string,
        // accept an integer-typed value and convert it.
        const dm::Value* v = single(res);
        if (v == nullptr) return bad();
        if (const std::string* s = as_str(*v)) {
            if (!valid_msisdn(*s)) return bad();
            inst.sms_number = *s;
            return ok();
        }
        const auto i = as_int(*v);
        if (!i || *i <= 0) return bad();
        std::string s = std::to_string(*i);
        if (!valid_msisdn(s)) return bad();
        inst.sms_number = std::move(s);
        return ok();
    }
    case rid::short_server_id:
        LWM2M_TRY_VOID(int_in(res, 1, 65534, n)); // 0 and 65535 reserved
        inst.short_server_id = static_cast<std::uint16_t>(n);
        return ok();
    case rid::client_hold_off:
        LWM2M_TRY_VOID(int_in(res, 0, max_seconds_value, n));
        inst.client_hold_off = n;
        return ok();
    case rid::bs_account_timeout:
        LWM2M_TRY_VOID(int_in(res, 0, max_seconds_value, n));
        inst.bs_account_timeout = n;
        return ok();
    case rid::matching_type:
        LWM2M_TRY_VOID(int_in(res, 0, 3, n));
        inst.matching_type = static_cast<std::uint8_t>(n);
        return ok();
    case rid::sni: {
        const dm::Value* v = single(res);
        const std::string* s = v ? as_str(*v) : nullptr;
        // RFC 6066 §3: a DNS host name; literal IP addresses are not permitted.
        if (s == nullptr || s->size() > 255 || !is_valid_hostname(*s)) return bad();
        inst.sni = *s;
        return ok();
    }
    case rid::certificate_usage:
        LWM2M_TRY_VOID(int_in(res, 0, 3, n));
        inst.certificate_usage = static_cast<std::uint8_t>(n);
        return ok();
    case rid::ciphersuite: {
        if (!res.multiple || res.instances.size() > max_ciphersuites) return bad();
        std::map<std::uint16_t, std::uint16_t> cs;
        for (const auto& [riid, v] : res.instances) {
            const auto i = as_int(v);
            if (!i || *i < 0 || !is_supported_ciphersuite(static_cast<std::uint64_t>(*i)))
                return bad();
            cs[riid] = static_cast<std::uint16_t>(*i);
        }
        inst.ciphersuites = std::move(cs);
        return ok();
    }
    case rid::oscore_mode: {
        // OSCORE is not supported: only the null link ("no OSCORE") is accepted, and not stored.
        const dm::Value* v = single(res);
        const auto l = v ? detail::as_objlnk(*v) : std::nullopt;
        if (l && l->oid == 0xffff && l->iid == 0xffff) return ok();
        return bad();
    }
    default:
        // 18-30 (LwM2M 1.2: TLS 1.3 groups/signature algorithms, secondary URIs, MQTT, COSE, RDS):
        // known but unsupported, 4.00 rather than storing values we would ignore.
        if (res.id >= 18 && res.id <= 30) return bad();
        return fail(Status::not_found);
    }
}

Result<void> check_security_limits(const SecurityInstance& inst) {
    if (inst.security_mode == SecurityMode::psk) {
        if (inst.public_key_or_identity.size() > max_psk_identity_size) return bad();
        if (inst.secret_key.size() > max_psk_key_size) return bad();
    }
    return ok();
}

Result<SecurityInstance> security_from_instance(const dm::Instance& in) {
    SecurityInstance s;
    for (const auto& [id, r] : in.resources) {
        if (id != r.id) return fail(Status::bad_request);
        LWM2M_TRY_VOID(apply_security_resource(s, r));
    }
    LWM2M_TRY_VOID(check_security_limits(s));
    return s;
}

dm::Instance to_dm_instance(std::uint16_t iid, const SecurityInstance& s, Audience audience) {
    dm::Instance out;
    out.id = iid;
    auto put = [&](std::uint16_t id, dm::Value v) {
        out.resources.emplace(id, dm::Resource::single(id, std::move(v)));
    };
    if (s.server_uri) put(rid::server_uri, dm::Value::string(*s.server_uri));
    if (s.bootstrap_server) put(rid::bootstrap_server, dm::Value::boolean(*s.bootstrap_server));
    if (s.security_mode)
        put(rid::security_mode, dm::Value::integer(static_cast<std::int64_t>(*s.security_mode)));
    put(rid::public_key_or_identity, dm::Value::opaque(s.public_key_or_identity));
    put(rid::server_public_key, dm::Value::opaque(s.server_public_key));
    if (audience == Audience::local) {
        const BytesView k = s.secret_key.view();
        put(rid::secret_key, dm::Value::opaque(Bytes(k.begin(), k.end())));
    }
    if (s.sms_security_mode) put(rid::sms_security_mode, dm::Value::integer(*s.sms_security_mode));
    if (s.sms_key_parameters)
        put(rid::sms_key_parameters,
            dm::Value::opaque(Bytes(s.sms_key_parameters->begin(), s.sms_key_parameters->end())));
    if (audience == Audience::local && !s.sms_secret_key.empty()) {
        const BytesView k = s.sms_secret_key.view();
        put(rid::sms_secret_key, dm::Value::opaque(Bytes(k.begin(), k.end())));
    }
    if (s.sms_number) put(rid::sms_number, dm::Value::string(*s.sms_number));
    if (s.short_server_id) put(rid::short_server_id, dm::Value::integer(*s.short_server_id));
    if (s.client_hold_off) put(rid::client_hold_off, dm::Value::integer(*s.client_hold_off));
    if (s.bs_account_timeout)
        put(rid::bs_account_timeout, dm::Value::integer(*s.bs_account_timeout));
    if (s.matching_type) put(rid::matching_type, dm::Value::unsigned_integer(*s.matching_type));
    if (s.sni) put(rid::sni, dm::Value::string(*s.sni));
    if (s.certificate_usage)
        put(rid::certificate_usage, dm::Value::unsigned_integer(*s.certificate_usage));
    if (!s.ciphersuites.empty()) {
        std::map<std::uint16_t, dm::Value> inst;
        for (const auto& [riid, v] : s.ciphersuites)
            inst.emplace(riid, dm::Value::unsigned_integer(v));
        out.resources.emplace(rid::ciphersuite, dm::Resource::multi(rid::ciphersuite, inst));
    }
    return out;
}

namespace {
bool is_secret_rid(std::uint16_t r) {
    return r == rid::secret_key || r == rid::sms_secret_key;
}

void redact_instance(dm::Instance& in) {
    for (auto it = in.resources.begin(); it != in.resources.end();) {
        if (is_secret_rid(it->first))
            it = in.resources.erase(it);
        else
            ++it;
    }
}
} // namespace

void redact_secrets(dm::Content& c) {
    if (c.path.depth() >= 1 && c.path.oid().v != 0) return;
    if (auto* o = std::get_if<dm::Object>(&c.node)) {
        if (o->id != 0) return;
        for (auto& [iid, in] : o->instances)
            redact_instance(in);
    } else if (auto* in = std::get_if<dm::Instance>(&c.node)) {
        if (c.path.depth() == 2) redact_instance(*in);
    } else if (auto* r = std::get_if<dm::Resource>(&c.node)) {
        if (c.path.depth() == 3 && is_secret_rid(r->id)) {
            r->value = dm::Value{};
            r->instances.clear();
        }
    } else if (auto* v = std::get_if<dm::Value>(&c.node)) {
        if (c.path.depth() >= 3 && is_secret_rid(c.path.rid().v)) *v = dm::Value{};
    }
}

void check_security_instance(std::uint16_t iid, const SecurityInstance& s,
                             std::vector<std::string>& reasons) {
    const std::string at = "/0/" + std::to_string(iid) + ": ";
    if (!s.server_uri) reasons.push_back(at + "resource 0 (LwM2M Server URI) is missing");
    if (!s.bootstrap_server) reasons.push_back(at + "resource 1 (Bootstrap-Server) is missing");
    if (!s.security_mode) {
        reasons.push_back(at + "resource 2 (Security Mode) is missing");
        return;
    }
    const SecurityMode mode = *s.security_mode;
    const std::string mode_text = "Security Mode " + std::to_string(static_cast<int>(mode));
    if (s.server_uri) {
        const auto uri = parse_server_uri(*s.server_uri);
        if (!uri) {
            reasons.push_back(at + "resource 0 (LwM2M Server URI) is not a valid coap/coaps URI");
        } else {
            const bool want_secure = mode != SecurityMode::nosec;
            if (uri->secure() != want_secure)
                reasons.push_back(
                    at + mode_text +
                    (want_secure ? " requires a coaps:// URI" : " (NoSec) requires a coap:// URI"));
        }
    }
    const bool has3 = !s.public_key_or_identity.empty();
    const bool has4 = !s.server_public_key.empty();
    const bool has5 = !s.secret_key.empty();
    switch (mode) {
    case SecurityMode::psk:
        if (!has3) reasons.push_back(at + "PSK mode requires resource 3 (PSK identity)");
        if (!has5) reasons.push_back(at + "PSK mode requires resource 5 (PSK key)");
        if (s.public_key_or_identity.size() > max_psk_identity_size)
            reasons.push_back(at + "PSK identity of " +
                              std::to_string(s.public_key_or_identity.size()) + " bytes exceeds " +
                              std::to_string(max_psk_identity_size));
        if (s.secret_key.size() > max_psk_key_size)
            reasons.push_back(at + "PSK key of " + std::to_string(s.secret_key.size()) +
                              " bytes exceeds " + std::to_string(max_psk_key_size));
        break;
    case SecurityMode::rpk:
    case SecurityMode::certificate:
    case SecurityMode::certificate_est:
        // EST (mode 4): this client implements no EST enrollment (RFC 7030), so it needs the same
        // initial credentials as Certificate mode: its certificate, the trust anchor and its key.
        if (!has3 || !has4 || !has5)
            reasons.push_back(at + mode_text + " requires resources 3, 4 and 5");
        break;
    case SecurityMode::nosec:
        if (has3 || has4 || has5)
            reasons.push_back(at + "NoSec mode must not carry resources 3, 4 or 5");
        break;
    }
    if (!s.ciphersuites.empty()) {
        if (mode == SecurityMode::nosec) {
            reasons.push_back(at + "NoSec mode must not list DTLS cipher suites (resource 16)");
        } else {
            const bool want_psk = mode == SecurityMode::psk;
            const bool any =
                std::any_of(s.ciphersuites.begin(), s.ciphersuites.end(), [&](const auto& kv) {
                    return is_psk_ciphersuite(kv.second) == want_psk;
                });
            if (!any) reasons.push_back(at + "no cipher suite in resource 16 fits " + mode_text);
        }
    }
}

std::vector<Iid> SecurityObject::instances() const {
    std::vector<Iid> out;
    out.reserve(instances_.size());
    for (const auto& kv : instances_)
        out.emplace_back(kv.first);
    return out;
}

const SecurityInstance* SecurityObject::find(Iid iid) const {
    const auto it = instances_.find(iid.v);
    return it == instances_.end() ? nullptr : &it->second;
}

std::optional<Iid> SecurityObject::bootstrap_instance() const {
    for (const auto& [iid, s] : instances_)
        if (s.is_bootstrap()) return Iid{iid};
    return std::nullopt;
}

Result<dm::Content> SecurityObject::build_content(const dm::Path& path, Audience audience) const {
    if (path.depth() < 1 || path.oid().v != 0) return fail(Status::not_found);
    if (path.depth() == 1) {
        dm::Object o;
        o.id = 0;
        for (const auto& [iid, s] : instances_)
            o.instances.emplace(iid, to_dm_instance(iid, s, audience));
        return dm::Content{path, std::move(o)};
    }
    const auto it = instances_.find(path.iid().v);
    if (it == instances_.end()) return fail(Status::not_found);
    if (path.depth() >= 3 && audience == Audience::server && is_secret_rid(path.rid().v))
        return fail(Status::unauthorized); // E.1: "MUST NOT be readable by any server"
    dm::Instance in = to_dm_instance(it->first, it->second, audience);
    if (path.depth() == 2) return dm::Content{path, std::move(in)};
    const auto r = in.resources.find(path.rid().v);
    if (r == in.resources.end()) return fail(Status::not_found);
    if (path.depth() == 3) return dm::Content{path, std::move(r->second)};
    if (!r->second.multiple) return fail(Status::not_found);
    const auto ri = r->second.instances.find(path.riid().v);
    if (ri == r->second.instances.end()) return fail(Status::not_found);
    return dm::Content{path, std::move(ri->second)};
}

Result<dm::Content> SecurityObject::read(const Actor& actor, const dm::Path& path) const {
    if (const auto d = access(actor, Operation::read, path); !d.allowed) {
        log_result(actor, "read", path, fail(d.status));
        return fail(d.status);
    }
    // Defence in depth: whatever the policy says, a server never gets 5 or 8.
    return build_content(path, actor.is_server() ? Audience::server : Audience::local);
}

void SecurityObject::log_result(const Actor& actor, std::string_view op, const dm::Path& path,
                                const Result<void>& r) const {
    const LogLevel level = r ? LogLevel::debug : LogLevel::info;
    if (!log_->enabled(level)) return;
    std::string m;
    m.append(to_string(actor.kind))
        .append(" ")
        .append(op)
        .append(" ")
        .append(path_text(path))
        .append(": ");
    m.append(r ? std::string("ok") : r.error().message()); // fixed texts only, never values
    log_->write(level, "client.security", m);
}

Result<void> SecurityObject::write_checked(const dm::Path& path, const dm::Content& content,
                                           WriteMode mode) {
    if (path.depth() == 0) return bad();
    if (path.oid().v != 0) return fail(Status::not_found);
    if (!(content.path == path)) return bad();
    auto next = instances_;
    auto write_instance = [&](std::uint16_t iid, const dm::Instance& in,
                              WriteMode m) -> Result<void> {
        if (iid == 0xffff || in.id != iid) return bad();
        const auto it = next.find(iid);
        SecurityInstance s =
            (m == WriteMode::replace || it == next.end()) ? SecurityInstance{} : it->second;
        for (const auto& [id, r] : in.resources) {
            if (id != r.id) return bad();
            LWM2M_TRY_VOID(apply_security_resource(s, r));
        }
        LWM2M_TRY_VOID(check_security_limits(s));
        next[iid] = std::move(s);
        // Fail early on oversized Object-level writes instead of growing the copy first.
        if (next.size() > max_security_instances) return fail(Status::request_entity_too_large);
        return ok();
    };
    switch (path.depth()) {
    case 1: {
        const auto* o = std::get_if<dm::Object>(&content.node);
        if (o == nullptr || o->id != 0) return bad();
        for (const auto& [iid, in] : o->instances)
            LWM2M_TRY_VOID(write_instance(iid, in, mode));
        break;
    }
    case 2: {
        const auto* in = std::get_if<dm::Instance>(&content.node);
        if (in == nullptr) return bad();
        LWM2M_TRY_VOID(write_instance(path.iid().v, *in, mode));
        break;
    }
    case 3: {
        const auto* r = std::get_if<dm::Resource>(&content.node);
        if (r == nullptr || r->id != path.rid().v) return bad();
        if (path.iid().v == 0xffff) return bad();
        SecurityInstance& s = next[path.iid().v]; // Bootstrap-Write creates a missing instance
        if (r->id == rid::ciphersuite && mode == WriteMode::partial && r->multiple) {
            dm::Resource merged = dm::Resource::multi(r->id);
            for (const auto& [riid, v] : s.ciphersuites)
                merged.instances.emplace(riid, dm::Value::unsigned_integer(v));
            for (const auto& [riid, v] : r->instances)
                merged.instances[riid] = v;
            LWM2M_TRY_VOID(apply_security_resource(s, merged));
        } else {
            LWM2M_TRY_VOID(apply_security_resource(s, *r));
        }
        LWM2M_TRY_VOID(check_security_limits(s));
        break;
    }
    case 4: {
        const auto* v = std::get_if<dm::Value>(&content.node);
        if (v == nullptr) return bad();
        if (path.rid().v != rid::ciphersuite)
            return fail(path.rid().v <= 30 ? Status::bad_request : Status::not_found);
        const auto it = next.find(path.iid().v);
        if (it == next.end()) return fail(Status::not_found);
        dm::Resource merged = dm::Resource::multi(rid::ciphersuite);
        for (const auto& [riid, cs] : it->second.ciphersuites)
            merged.instances.emplace(riid, dm::Value::unsigned_integer(cs));
        merged.instances[path.riid().v] = *v;
        LWM2M_TRY_VOID(apply_security_resource(it->second, merged));
        break;
    }
    default:
        return bad();
    }
    if (next.size() > max_security_instances) return fail(Status::request_entity_too_large);
    instances_ = std::move(next);
    return ok();
}

Result<void> SecurityObject::write(const Actor& actor, const dm::Path& path,
                                   const dm::Content& content, WriteMode mode) {
    Result<void> r = check_access(actor, Operation::write, path);
    if (r) r = write_checked(path, content, mode);
    log_result(actor, "write", path, r);
    return r;
}

Result<Iid> SecurityObject::create(const Actor& actor, std::optional<Iid> iid,
                                   const dm::Instance& content) {
    const dm::Path target{Oid{0}};
    if (auto r = check_access(actor, Operation::create, target); !r) {
        log_result(actor, "create", target, r);
        return fail(r.error());
    }
    std::uint16_t id = 0;
    if (iid) {
        if (iid->v == 0xffff || instances_.count(iid->v) != 0) return fail(Status::bad_request);
        id = iid->v;
    } else {
        while (instances_.count(id) != 0)
            ++id; // bounded by max_security_instances
    }
    if (instances_.size() >= max_security_instances) return fail(Status::request_entity_too_large);
    dm::Instance in = content;
    in.id = id;
    auto s = security_from_instance(in);
    if (!s) {
        log_result(actor, "create", dm::Path{Oid{0}, Iid{id}}, fail(s.error()));
        return fail(s.error());
    }
    instances_.emplace(id, std::move(*s));
    log_result(actor, "create", dm::Path{Oid{0}, Iid{id}}, ok());
    return Iid{id};
}

Result<void> SecurityObject::delete_(const Actor& actor, const dm::Path& path) {
    Result<void> r = check_access(actor, Operation::delete_, path);
    if (r) {
        if (path.depth() >= 1 && path.oid().v != 0) {
            r = fail(Status::not_found);
        } else if (path.depth() <= 1) {
            // TS 1.1 §5.2.7.5: "/" and "/0" remove every instance except the Bootstrap-Server
            // account (the factory source resets everything only through replace_all()).
            for (auto it = instances_.begin(); it != instances_.end();) {
                if (it->second.is_bootstrap())
                    ++it;
                else
                    it = instances_.erase(it);
            }
        } else if (path.depth() == 2) {
            const auto it = instances_.find(path.iid().v);
            if (it == instances_.end()) {
                r = fail(Status::not_found);
            } else if (it->second.is_bootstrap() && actor.kind == Actor::Kind::bootstrap_server) {
                // TS 1.1 §5.2.7.5: the Bootstrap-Server account is "not affected by any Delete
                // operation"; naming it explicitly is answered 4.00 Bad Request (TS 1.1 §8.2.x).
                r = fail(Status::bad_request);
            } else {
                instances_.erase(it);
            }
        } else {
            r = fail(Status::bad_request);
        }
    }
    log_result(actor, "delete", path, r);
    return r;
}

Result<std::vector<LinkInfo>> SecurityObject::discover(const Actor& actor,
                                                       const dm::Path& path) const {
    if (auto r = check_access(actor, Operation::discover, path); !r) {
        log_result(actor, "discover", path, r);
        return fail(r.error());
    }
    if (path.depth() >= 1 && path.oid().v != 0) return fail(Status::not_found);
    std::vector<LinkInfo> out;
    LinkInfo obj;
    obj.path = dm::Path{Oid{0}};
    obj.ver = "1.1";
    out.push_back(std::move(obj));
    for (const auto& [iid, s] : instances_) {
        LinkInfo l;
        l.path = dm::Path{Oid{0}, Iid{iid}};
        if (!s.is_bootstrap() && s.short_server_id) l.ssid = *s.short_server_id;
        if (s.server_uri) l.uri = *s.server_uri; // TS 1.1 §5.2.7.3: ssid and uri, no other values
        out.push_back(std::move(l));
    }
    return out;
}

Result<void> SecurityObject::execute(const Actor& actor, const dm::Path& path, std::string_view) {
    Result<void> r = check_access(actor, Operation::execute, path);
    if (r) r = fail(Status::method_not_allowed); // no executable resource in Object 0
    log_result(actor, "execute", path, r);
    return r;
}

} // namespace lwm2m::client
