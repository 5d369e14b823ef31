// Credential generation and inspection (include/lwm2m/dtls/keygen.hpp) with GnuTLS 3.7.
#include <lwm2m/dtls/keygen.hpp>

#include <array>
#include <memory>
#include <type_traits>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <lwm2m/base/errc.hpp>

#include "engine.hpp"

namespace lwm2m::dtls {
namespace {

/// GnuTLS stays initialised for the process once a credential was generated (re-initialising
/// for every call would reload the system priorities each time).
bool gnutls_ready() {
    static const detail::GlobalInit init;
    return init.ok();
}

template <class Handle, void (*Deinit)(Handle)>
struct Deleter {
    void operator()(Handle h) const { Deinit(h); }
};
template <class Handle, void (*Deinit)(Handle)>
using Owned = std::unique_ptr<std::remove_pointer_t<Handle>, Deleter<Handle, Deinit>>;
using X509Privkey = Owned<gnutls_x509_privkey_t, gnutls_x509_privkey_deinit>;
using Privkey = Owned<gnutls_privkey_t, gnutls_privkey_deinit>;
using Pubkey = Owned<gnutls_pubkey_t, gnutls_pubkey_deinit>;
using Crt = Owned<gnutls_x509_crt_t, gnutls_x509_crt_deinit>;

using detail::datum;

/// Moves a GnuTLS-allocated datum into Bytes (and frees it).
Bytes take(gnutls_datum_t& d) {
    Bytes b(reinterpret_cast<const std::byte*>(d.data),
            reinterpret_cast<const std::byte*>(d.data) + d.size);
    gnutls_free(d.data);
    d.data = nullptr;
    d.size = 0;
    return b;
}

/// Moves a GnuTLS-allocated datum holding key material into SecretBytes, wiping the original.
SecretBytes take_secret(gnutls_datum_t& d) {
    SecretBytes s(BytesView(reinterpret_cast<const std::byte*>(d.data), d.size));
    secure_wipe(d.data, d.size);
    gnutls_free(d.data);
    d.data = nullptr;
    d.size = 0;
    return s;
}

Result<Privkey> import_private(const SecretBytes& der) {
    if (der.empty()) return fail(Errc::invalid_config);
    gnutls_privkey_t raw = nullptr;
    if (gnutls_privkey_init(&raw) < 0) return fail(Errc::internal_error);
    Privkey key(raw);
    gnutls_datum_t d = datum(der.view());
    if (gnutls_privkey_import_x509_raw(key.get(), &d, GNUTLS_X509_FMT_DER, nullptr, 0) < 0)
        return fail(Errc::invalid_config);
    return key;
}

Result<Bytes> spki_of(gnutls_privkey_t key) {
    gnutls_pubkey_t raw = nullptr;
    if (gnutls_pubkey_init(&raw) < 0) return fail(Errc::internal_error);
    Pubkey pub(raw);
    if (gnutls_pubkey_import_privkey(pub.get(), key, 0, 0) < 0) return fail(Errc::invalid_config);
    gnutls_datum_t out{};
    if (gnutls_pubkey_export2(pub.get(), GNUTLS_X509_FMT_DER, &out) < 0)
        return fail(Errc::internal_error);
    return take(out);
}

Result<Crt> import_crt(BytesView der) {
    if (der.empty()) return fail(Errc::invalid_config);
    gnutls_x509_crt_t raw = nullptr;
    if (gnutls_x509_crt_init(&raw) < 0) return fail(Errc::internal_error);
    Crt crt(raw);
    gnutls_datum_t d = datum(der);
    if (gnutls_x509_crt_import(crt.get(), &d, GNUTLS_X509_FMT_DER) < 0)
        return fail(Errc::invalid_config);
    return crt;
}

bool is_ca(gnutls_x509_crt_t crt) {
    unsigned critical = 0, ca = 0;
    int path_len = 0;
    return gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, &path_len) >= 0 && ca != 0;
}

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

} // namespace

Result<SecretBytes> generate_psk_key(Random& random, std::size_t size) {
    if (size < min_generated_psk_key_size || size > max_generated_psk_key_size)
        return lwm2m::fail(lwm2m::Errc::invalid_argument);
    std::array<std::byte, max_generated_psk_key_size> buf{};
    random.fill(std::span<std::byte>(buf.data(), size));
    SecretBytes key(BytesView(buf.data(), size));
    secure_wipe(buf.data(), buf.size());
    return key;
}

Result<std::string> generate_psk_identity(Random& random, std::size_t size,
                                          std::string_view prefix) {
    if (size > max_generated_psk_identity_size || prefix.size() > size ||
        size - prefix.size() < min_generated_identity_random_chars)
        return lwm2m::fail(lwm2m::Errc::invalid_argument);
    for (char c : prefix)
        if (c < 0x21 || c > 0x7e) return lwm2m::fail(lwm2m::Errc::invalid_argument);
    std::string out(prefix);
    out.reserve(size);
    // Rejection sampling: bytes >= 248 (= 4 * 62) are discarded so that every character is
    // equally likely.
    std::array<std::byte, 64> buf{};
    while (out.size() < size) {
        random.fill(buf);
        for (std::byte b : buf) {
            const auto v = std::to_integer<unsigned>(b);
            if (v >= 4 * kAlphabet.size()) continue;
            out.push_back(kAlphabet[v % kAlphabet.size()]);
            if (out.size() == size) break;
        }
    }
    return out;
}

Result<KeyPair> generate_p256_key_pair() {
    if (!gnutls_ready()) return fail(Errc::internal_error);
    gnutls_x509_privkey_t raw = nullptr;
    if (gnutls_x509_privkey_init(&raw) < 0) return fail(Errc::internal_error);
    X509Privkey key(raw);
    if (gnutls_x509_privkey_generate(key.get(), GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0)
        return fail(Errc::internal_error);
    gnutls_datum_t der{};
    if (gnutls_x509_privkey_export2_pkcs8(key.get(), GNUTLS_X509_FMT_DER, nullptr,
                                          GNUTLS_PKCS_PLAIN, &der) < 0)
        return fail(Errc::internal_error);
    KeyPair pair;
    pair.private_key_der = take_secret(der);
    gnutls_privkey_t abs_raw = nullptr;
    if (gnutls_privkey_init(&abs_raw) < 0) return fail(Errc::internal_error);
    Privkey abs(abs_raw);
    if (gnutls_privkey_import_x509(abs.get(), key.get(), 0) < 0) return fail(Errc::internal_error);
    auto spki = spki_of(abs.get());
    if (!spki) return fail(Errc::internal_error);
    pair.public_key_spki_der = std::move(*spki);
    return pair;
}

Result<Bytes> public_key_of(const SecretBytes& private_key_der) {
    if (!gnutls_ready()) return fail(Errc::internal_error);
    LWM2M_TRY(key, import_private(private_key_der));
    return spki_of(key.get());
}

Result<void> check_key_pair(BytesView public_key_spki_der, const SecretBytes& private_key_der) {
    LWM2M_TRY(spki, public_key_of(private_key_der));
    if (!equal(spki, public_key_spki_der)) return fail(Errc::invalid_config);
    return ok();
}

Result<CertificateInfo> inspect_certificate(BytesView der) {
    if (!gnutls_ready()) return fail(Errc::internal_error);
    LWM2M_TRY(crt, import_crt(der));
    CertificateInfo info;
    gnutls_datum_t dn{};
    if (gnutls_x509_crt_get_dn3(crt.get(), &dn, 0) >= 0) {
        Bytes b = take(dn);
        info.subject_dn.assign(as_string_view(b));
    }
    // The first CN attribute value as stored (not the RFC 4514 escaped form).
    gnutls_x509_dn_t subject = nullptr;
    if (gnutls_x509_crt_get_subject(crt.get(), &subject) >= 0) {
        bool found = false;
        for (int rdn = 0; !found; ++rdn) {
            gnutls_x509_ava_st ava{};
            if (gnutls_x509_dn_get_rdn_ava(subject, rdn, 0, &ava) < 0) break;
            for (int k = 0; !found; ++k) {
                if (k > 0 && gnutls_x509_dn_get_rdn_ava(subject, rdn, k, &ava) < 0) break;
                // ava.oid is the dotted OID text; its size may or may not count a NUL.
                std::string_view oid(reinterpret_cast<const char*>(ava.oid.data), ava.oid.size);
                while (!oid.empty() && oid.back() == '\0')
                    oid.remove_suffix(1);
                if (oid == GNUTLS_OID_X520_COMMON_NAME) {
                    info.common_name.assign(reinterpret_cast<const char*>(ava.value.data),
                                            ava.value.size);
                    found = true;
                }
            }
        }
    }
    gnutls_pubkey_t raw = nullptr;
    if (gnutls_pubkey_init(&raw) < 0) return fail(Errc::internal_error);
    Pubkey pub(raw);
    gnutls_datum_t spki{};
    if (gnutls_pubkey_import_x509(pub.get(), crt.get(), 0) < 0 ||
        gnutls_pubkey_export2(pub.get(), GNUTLS_X509_FMT_DER, &spki) < 0)
        return fail(Errc::invalid_config);
    info.public_key_spki_der = take(spki);
    info.not_before = static_cast<std::int64_t>(gnutls_x509_crt_get_activation_time(crt.get()));
    info.not_after = static_cast<std::int64_t>(gnutls_x509_crt_get_expiration_time(crt.get()));
    info.is_ca = is_ca(crt.get());
    return info;
}

Result<void> check_issuer(const CertificateIssuer& issuer) {
    LWM2M_TRY(info, inspect_certificate(issuer.certificate_der));
    if (!info.is_ca) return fail(Errc::invalid_config);
    return check_key_pair(info.public_key_spki_der, issuer.private_key_der);
}

Result<Bytes> issue_certificate(const CertificateIssuer& issuer, const CertificateRequest& request,
                                Random& random) {
    if (!gnutls_ready()) return fail(Errc::internal_error);
    // RFC 5280 Appendix A: ub-common-name 64.
    if (request.common_name.empty() || request.common_name.size() > 64 ||
        request.not_after <= request.not_before)
        return fail(Errc::invalid_config);
    LWM2M_TRY_VOID(check_issuer(issuer));
    LWM2M_TRY(ca, import_crt(issuer.certificate_der));
    LWM2M_TRY(ca_key, import_private(issuer.private_key_der));
    gnutls_pubkey_t pub_raw = nullptr;
    if (gnutls_pubkey_init(&pub_raw) < 0) return fail(Errc::internal_error);
    Pubkey pub(pub_raw);
    gnutls_datum_t spki = datum(request.public_key_spki_der);
    if (request.public_key_spki_der.empty() ||
        gnutls_pubkey_import(pub.get(), &spki, GNUTLS_X509_FMT_DER) < 0)
        return fail(Errc::invalid_config);

    gnutls_x509_crt_t crt_raw = nullptr;
    if (gnutls_x509_crt_init(&crt_raw) < 0) return fail(Errc::internal_error);
    Crt crt(crt_raw);
    auto step = [](int r) { return r >= 0; };
    // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets; 16 random bytes, top bit clear
    // (positive) and a non-zero first octet (minimal DER).
    std::array<std::byte, 16> serial{};
    random.fill(serial);
    serial[0] = (serial[0] & std::byte{0x7f}) | std::byte{0x01};
    std::array<unsigned char, 64> kid{};
    std::size_t kid_size = kid.size();
    std::array<unsigned char, 64> akid{};
    std::size_t akid_size = akid.size();
    unsigned akid_critical = 0;
    const bool ok_all =
        step(gnutls_x509_crt_set_version(crt.get(), 3)) &&
        step(gnutls_x509_crt_set_serial(crt.get(), serial.data(), serial.size())) &&
        step(gnutls_x509_crt_set_activation_time(crt.get(),
                                                 static_cast<time_t>(request.not_before))) &&
        step(gnutls_x509_crt_set_expiration_time(crt.get(),
                                                 static_cast<time_t>(request.not_after))) &&
        step(gnutls_x509_crt_set_dn_by_oid(crt.get(), GNUTLS_OID_X520_COMMON_NAME, 0,
                                           request.common_name.data(),
                                           static_cast<unsigned>(request.common_name.size()))) &&
        step(gnutls_x509_crt_set_pubkey(crt.get(), pub.get())) &&
        step(gnutls_x509_crt_set_basic_constraints(crt.get(), 0, -1)) &&
        step(gnutls_x509_crt_set_key_usage(crt.get(), GNUTLS_KEY_DIGITAL_SIGNATURE)) &&
        step(gnutls_x509_crt_set_key_purpose_oid(crt.get(), GNUTLS_KP_TLS_WWW_CLIENT, 0)) &&
        step(gnutls_x509_crt_get_key_id(crt.get(), GNUTLS_KEYID_USE_SHA1, kid.data(), &kid_size)) &&
        step(gnutls_x509_crt_set_subject_key_id(crt.get(), kid.data(), kid_size));
    if (!ok_all) return fail(Errc::internal_error);
    // The authority key identifier is the CA's subject key identifier, or its key id when the CA
    // certificate carries none.
    if (gnutls_x509_crt_get_subject_key_id(ca.get(), akid.data(), &akid_size, &akid_critical) < 0) {
        akid_size = akid.size();
        if (gnutls_x509_crt_get_key_id(ca.get(), GNUTLS_KEYID_USE_SHA1, akid.data(), &akid_size) <
            0)
            return fail(Errc::internal_error);
    }
    if (gnutls_x509_crt_set_authority_key_id(crt.get(), akid.data(), akid_size) < 0)
        return fail(Errc::internal_error);
    if (gnutls_x509_crt_privkey_sign(crt.get(), ca.get(), ca_key.get(), GNUTLS_DIG_SHA256, 0) < 0)
        return fail(Errc::internal_error);
    gnutls_datum_t der{};
    if (gnutls_x509_crt_export2(crt.get(), GNUTLS_X509_FMT_DER, &der) < 0)
        return fail(Errc::internal_error);
    return take(der);
}

} // namespace lwm2m::dtls
