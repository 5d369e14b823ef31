// Errors of the device-management server engine (docs/architecture.md).
//
// A CoAP error response from a client is data (ResponseEvent::code), not an error; these codes
// are the "no answer" outcomes of downlink requests, refusals of the engine's API, and the reasons
// the registration parser gives (mapped to the response code the client receives).
#pragma once

#include <system_error>

namespace lwm2m::server {

enum class Errc {
    // Registration interface refusals (answered to the client, LwM2M Transport TS 1.1 §6.7 /
    // Table 6.7-2 "Response Codes: Client Registration Interface").
    bad_request = 1,     ///< 4.00 Bad Request: a parameter or the payload is invalid
    forbidden,           ///< 4.03 Forbidden: the endpoint may not register (credentials/policy)
    unsupported_version, ///< 4.12 Precondition Failed: the client's LwM2M version is not supported
    // Downlink requests
    not_registered,  ///< no registration for that endpoint
    invalid_request, ///< the Request is inconsistent (missing content, wrong level, bad attribute)
    queue_full,      ///< the client's request queue is full (EngineConfig::max_queued_requests)
    timeout,         ///< no answer within the request's timeout (waiting in the queue or in flight)
    cancelled,       ///< cancel() was called
    deregistered,    ///< the registration ended (De-register, expiry, replacement) first
    not_durable,     ///< the store could not make the registration change durable
    unknown_observation, ///< no such observation
};

const std::error_category& server_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m::server

template <>
struct std::is_error_code_enum<lwm2m::server::Errc> : std::true_type {};
