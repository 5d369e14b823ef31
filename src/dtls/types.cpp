#include <lwm2m/dtls/types.hpp>

namespace lwm2m::dtls {

std::vector<CipherSuite> default_cipher_suites() {
    // LwM2M TS Transport 1.1 §5.2.8: CCM_8 suites are mandatory; CBC_SHA256 for interop.
    return {CipherSuite::psk_aes_128_ccm_8, CipherSuite::psk_aes_128_cbc_sha256,
            CipherSuite::ecdhe_ecdsa_aes_128_ccm_8, CipherSuite::ecdhe_ecdsa_aes_128_cbc_sha256};
}

Result<std::vector<CipherSuite>> cipher_suites_from_iana(const std::vector<std::uint16_t>& values) {
    std::vector<CipherSuite> out;
    out.reserve(values.size());
    for (auto v : values) {
        switch (static_cast<CipherSuite>(v)) {
        case CipherSuite::psk_aes_128_ccm_8:
        case CipherSuite::psk_aes_128_cbc_sha256:
        case CipherSuite::ecdhe_ecdsa_aes_128_ccm_8:
        case CipherSuite::ecdhe_ecdsa_aes_128_cbc_sha256:
            out.push_back(static_cast<CipherSuite>(v));
            break;
        default:
            return fail(Errc::invalid_config);
        }
    }
    if (out.empty()) return fail(Errc::invalid_config);
    return out;
}

} // namespace lwm2m::dtls
