#include <lwm2m/store/security_info.hpp>

#include <lwm2m/base/errc.hpp>

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

} // namespace lwm2m::store
