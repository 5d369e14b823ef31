#include <lwm2m/dtls/errc.hpp>

namespace lwm2m::dtls {
namespace {
class DtlsCategory final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "lwm2m.dtls"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::handshake_failed:
            return "DTLS handshake failed";
        case Errc::handshake_timeout:
            return "DTLS handshake timed out";
        case Errc::bad_credentials:
            return "DTLS handshake failed: key mismatch (wrong PSK key or private key)";
        case Errc::unknown_identity:
            return "DTLS handshake failed: the PSK identity or public key is not known to the "
                   "server";
        case Errc::peer_verification_failed:
            return "DTLS handshake failed: the peer's public key or certificate does not match the "
                   "configured one";
        case Errc::certificate_expired:
            return "DTLS handshake failed: the peer's certificate is expired or not yet valid";
        case Errc::certificate_untrusted:
            return "DTLS handshake failed: the peer's certificate chain is not trusted";
        case Errc::peer_rejected:
            return "DTLS handshake failed: the peer rejected our credentials";
        case Errc::no_common_cipher_suite:
            return "DTLS handshake failed: no cipher suite or certificate type in common";
        case Errc::session_limit:
            return "DTLS session evicted: session table full";
        case Errc::idle_timeout:
            return "DTLS session closed after the idle timeout";
        case Errc::closed:
            return "DTLS session closed by the peer (close_notify)";
        case Errc::peer_alert:
            return "DTLS session closed by a fatal alert from the peer";
        case Errc::replaced:
            return "DTLS session replaced by a new handshake from the same address";
        case Errc::not_connected:
            return "no established DTLS session with this peer";
        case Errc::message_too_large:
            return "plaintext does not fit one DTLS record under the MTU";
        case Errc::invalid_config:
            return "invalid DTLS configuration";
        case Errc::internal_error:
            return "internal DTLS library error";
        case Errc::no_finished_reply:
            return "DTLS handshake failed: no reply to our Finished: wrong PSK key or identity?";
        case Errc::finished_refused:
            return "DTLS handshake failed: the server ended the handshake in answer to our "
                   "Finished: wrong PSK key or identity?";
        case Errc::not_exportable:
            return "the DTLS session cannot be exported (not established, or a CBC suite)";
        case Errc::malformed_state:
            return "malformed DTLS session state";
        case Errc::authentication_failed:
            return "sealed DTLS session state does not authenticate (wrong key or address)";
        case Errc::sequence_exhausted:
            return "DTLS record sequence numbers exhausted";
        case Errc::session_exists:
            return "the address already has a DTLS session or handshake";
        }
        return "unknown DTLS error";
    }
};
} // namespace

const std::error_category& dtls_category() noexcept {
    static const DtlsCategory c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), dtls_category()};
}

} // namespace lwm2m::dtls
