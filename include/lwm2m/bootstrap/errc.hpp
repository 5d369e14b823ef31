// Errors of the bootstrap layer (docs/architecture.md §5): command errors of bootstrap::Engine and
// the causes carried in BootstrapFailed events. Messages are fixed texts (no values).
#pragma once

#include <system_error>

namespace lwm2m::bootstrap {

enum class Errc {
    invalid_config = 1,    ///< Engine::create(): no listener, too many, or an unusable CA
    unknown_endpoint,      ///< no configuration for the endpoint
    no_known_peer,         ///< server-initiated: no address known for the endpoint
    not_authenticated,     ///< the peer's DTLS identity is not the endpoint's bootstrap identity,
                           ///< or NoSec where it is not allowed
    no_such_listener,      ///< a listener index out of range
    session_limit,         ///< EngineConfig::max_sessions sessions are running
    no_session,            ///< no such session (or not waiting for what the call answers)
    credential_generation, ///< generating the DM credentials failed (e.g. no CA)
    superseded,            ///< a new Bootstrap-Request (or start) for the endpoint or the peer
    session_timeout,       ///< EngineConfig::session_timeout passed
    cancelled,             ///< Engine::cancel()
    dtls_closed,           ///< the DTLS session with the client ended
    bad_response,          ///< a 2.xx answer whose payload could not be used
    client_error,          ///< the client answered a step with an error code (see the event)
    refused,               ///< the Bootstrap-Request was refused (code in the event)
};

const std::error_category& bootstrap_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m::bootstrap

template <>
struct std::is_error_code_enum<lwm2m::bootstrap::Errc> : std::true_type {};
