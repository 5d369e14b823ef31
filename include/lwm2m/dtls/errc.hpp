// Errors of the DTLS layer (docs/architecture.md §5).
//
// Every handshake or session failure surfaces as one of these codes, in a HandshakeFailed or
// Closed event or as the error of a call. Messages never contain key material.
#pragma once

#include <system_error>

namespace lwm2m::dtls {

enum class Errc {
    handshake_failed = 1,     ///< the handshake failed for a reason not listed below
    handshake_timeout,        ///< no handshake completion within the configured time
    bad_credentials,          ///< key mismatch: Finished/record verification failed (wrong PSK key)
    unknown_identity,         ///< the server does not know the PSK identity or public key
    peer_verification_failed, ///< the peer's public key / certificate does not match the pin
    certificate_expired,      ///< the peer's certificate (chain) is expired or not yet valid
    certificate_untrusted,    ///< the peer's chain does not lead to a configured trust anchor
    peer_rejected,            ///< the peer rejected our credentials (fatal alert received)
    no_common_cipher_suite,   ///< no cipher suite / certificate type in common with the peer
    session_limit,            ///< the session was evicted (LRU) because the table was full
    idle_timeout,             ///< the session was idle for longer than the idle timeout
    closed,                   ///< the peer sent close_notify
    peer_alert,               ///< the peer sent a fatal alert on an established session
    replaced,                 ///< a new handshake from the same address replaced the session
    not_connected,            ///< send() before the handshake completed or after close
    message_too_large,        ///< the plaintext does not fit one record under the MTU
    invalid_config,           ///< configuration error (bad key, unsupported suite, empty identity)
    internal_error,           ///< a GnuTLS call failed unexpectedly (e.g. out of memory)
    /// PSK client: our Finished was retransmitted and the server never answered it (a server that
    /// cannot decrypt it may drop it silently, RFC 6347 §4.1.2.7): wrong key or identity?
    no_finished_reply,
    /// PSK client: the server ended the handshake with a non-specific alert (close_notify,
    /// handshake_failure, ...) in answer to our Finished: wrong key or identity?
    finished_refused,
    /// The session's cipher suite has no own record path (CBC-SHA256 suites stay on GnuTLS and
    /// cannot be exported or imported), or the session is not established yet.
    not_exportable,
    /// An encoded SessionState is truncated, has an unknown version or an invalid field.
    malformed_state,
    /// A sealed SessionState does not open: wrong cluster key, wrong peer address, or altered.
    authentication_failed,
    /// The 48-bit record sequence number space of the session (or of the caller's reserved
    /// range) is used up: a new handshake is needed (RFC 6347 §4.1).
    sequence_exhausted,
    /// import_session: the address already has a session or a handshake in progress (the
    /// client handshook again meanwhile); an import never replaces it.
    session_exists,
};

const std::error_category& dtls_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m::dtls

template <>
struct std::is_error_code_enum<lwm2m::dtls::Errc> : std::true_type {};
