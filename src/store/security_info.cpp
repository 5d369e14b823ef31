#include <lwm2m/store/security_info.hpp>

#include <string>
#include <unordered_map>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/errc.hpp>
#include <lwm2m/store/security_store.hpp>

namespace lwm2m::store {

std::string_view to_string(SecurityMode m) noexcept {
    switch (m) {
    case SecurityMode::psk:
        return "psk";
    case SecurityMode::rpk:
        return "rpk";
    case SecurityMode::x509:
        return "x509";
    case SecurityMode::nosec:
        return "nosec";
    }
    return "unknown";
}

std::optional<SecurityMode> security_mode_from_string(std::string_view s) noexcept {
    for (auto m : {SecurityMode::psk, SecurityMode::rpk, SecurityMode::x509, SecurityMode::nosec})
        if (s == to_string(m)) return m;
    return std::nullopt;
}

Result<void> validate(const SecurityInfo& info, std::string* why) {
    auto reject = [&](const char* reason) -> Result<void> {
        if (why) *why = reason;
        return lwm2m::fail(lwm2m::Errc::invalid_argument);
    };
    if (info.endpoint.empty()) return reject("the endpoint name is empty");
    if (info.endpoint.size() > max_endpoint_name_size)
        return reject("the endpoint name is longer than 255 bytes");
    const bool psk_fields = !info.psk_identity.empty() || !info.psk_key.empty();
    const bool rpk_fields = !info.rpk_public_key.empty();
    const bool x509_fields = !info.x509_common_name.empty();
    switch (info.mode) {
    case SecurityMode::psk:
        if (info.psk_identity.empty()) return reject("a PSK identity is required");
        if (info.psk_identity.size() > max_psk_identity_size)
            return reject("the PSK identity is longer than 1024 bytes");
        if (info.psk_key.empty()) return reject("a PSK key is required");
        if (info.psk_key.size() > max_psk_key_size)
            return reject("the PSK key is longer than 64 bytes");
        if (rpk_fields || x509_fields) return reject("PSK credentials carry RPK or X.509 fields");
        break;
    case SecurityMode::rpk:
        if (!rpk_fields) return reject("a raw public key is required");
        if (psk_fields || x509_fields) return reject("RPK credentials carry PSK or X.509 fields");
        break;
    case SecurityMode::x509:
        if (psk_fields || rpk_fields) return reject("X.509 credentials carry PSK or RPK fields");
        break;
    case SecurityMode::nosec:
        if (psk_fields || rpk_fields || x509_fields)
            return reject("NoSec credentials carry key fields");
        break;
    default:
        return reject("unknown security mode");
    }
    return ok();
}

namespace {

/// The credential of `info` in the form that must be unique, and the kind's name ("" for NoSec).
std::pair<std::string_view, std::string_view> credential_of(const SecurityInfo& info) {
    switch (info.mode) {
    case SecurityMode::psk:
        return {"psk", as_string_view(info.psk_identity)};
    case SecurityMode::rpk:
        return {"rpk", as_string_view(info.rpk_public_key)};
    case SecurityMode::x509:
        return {"x509", x509_cn_of(info)};
    case SecurityMode::nosec:
        break;
    }
    return {"", ""};
}

const char* conflict_reason(std::string_view kind) {
    if (kind == "psk") return "the PSK identity is bound to another endpoint";
    if (kind == "rpk") return "the raw public key is bound to another endpoint";
    return "the certificate name is bound to another endpoint";
}

} // namespace

Result<void> check_security_puts(const SecurityStore& store, std::span<const SecurityInfo> infos,
                                 std::string* why) {
    std::unordered_map<std::string, std::string_view> earlier; // credential -> endpoint
    auto name = [&](std::size_t i) {
        if (why && infos.size() > 1)
            *why =
                "record " + std::to_string(i) + " (endpoint '" + infos[i].endpoint + "'): " + *why;
    };
    for (std::size_t i = 0; i < infos.size(); ++i) {
        const SecurityInfo& info = infos[i];
        if (auto v = validate(info, why); !v) {
            name(i);
            return v;
        }
        const auto [kind, key] = credential_of(info);
        if (kind.empty()) continue;
        const SecurityInfo* holder = nullptr;
        if (kind == "psk")
            holder = store.find_by_psk_identity(info.psk_identity);
        else if (kind == "rpk")
            holder = store.find_by_rpk(info.rpk_public_key);
        else
            holder = store.find_by_x509_cn(key);
        bool taken = holder != nullptr && holder->endpoint != info.endpoint;
        if (!taken && infos.size() > 1) {
            // Taken by an earlier record of the span (bulk puts: a map, not a quadratic scan).
            auto [it, fresh] =
                earlier.try_emplace(std::string(kind) + '\0' + std::string(key), info.endpoint);
            taken = !fresh && it->second != info.endpoint;
        }
        if (taken) {
            if (why) *why = conflict_reason(kind);
            name(i);
            return fail(Errc::conflict);
        }
    }
    return ok();
}

} // namespace lwm2m::store
