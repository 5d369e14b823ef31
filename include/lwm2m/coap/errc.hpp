// Errors of the CoAP layer (docs/architecture.md §5).
#pragma once

#include <system_error>

namespace lwm2m::coap {

enum class Errc {
    // codec (bad input from the network: drop and count, or answer 4.xx)
    truncated_header = 1,
    bad_version,
    bad_token_length,
    truncated_option,
    option_delta_reserved,
    option_length_reserved,
    option_number_overflow,
    too_many_options,
    payload_marker_without_payload,
    empty_message_not_empty,
    // exchanges ("no response" outcomes; a 4.xx/5.xx from a peer is data, not an error)
    timeout,           ///< MAX_RETRANSMIT reached or EXCHANGE_LIFETIME passed without an answer
    reset,             ///< the peer answered RST
    cancelled,         ///< cancelled by the caller
    peer_limit,        ///< too many peers / exchanges / buffered bytes (flood protection)
    block_mismatch,    ///< block-wise transfer broken (wrong NUM, changed ETag, size overflow)
    entity_too_large,  ///< body over the configured maximum
    message_too_large, ///< an encoded message does not fit the configured MTU
};

const std::error_category& coap_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m::coap

template <>
struct std::is_error_code_enum<lwm2m::coap::Errc> : std::true_type {};
