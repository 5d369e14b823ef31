// RFC 7252 §3 message codec: zero-copy decode into MessageView, encode into a caller buffer.
#pragma once

#include <cstddef>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/coap/errc.hpp>
#include <lwm2m/coap/message.hpp>

namespace lwm2m::coap {

/// Decodes one datagram. Never allocates. Errors (coap::Errc):
///  - truncated_header, bad_version, bad_token_length (TKL 9-15, §3),
///  - truncated_option, option_delta_reserved / option_length_reserved (nibble 15, §3.1),
///  - option_number_overflow, too_many_options (> MessageView::max_options),
///  - payload_marker_without_payload (§3), empty_message_not_empty (§4.1: code 0.00 with token,
///    options or payload).
/// On error the caller drops the datagram (and, for a CON with a readable header, may answer RST
/// or 4.00/4.02 as §4.2 and §5.4.1 say; the Endpoint does that).
[[nodiscard]] Result<MessageView> decode(BytesView datagram) noexcept;
/// As decode(), writing into `out` (no copy of the large MessageView on return).
[[nodiscard]] Result<void> decode_into(BytesView datagram, MessageView& out) noexcept;

/// Exact encoded size of a message.
[[nodiscard]] std::size_t encoded_size(const Message& m) noexcept;
/// Encodes into `out`; returns the number of bytes written (== encoded_size). Never allocates.
/// Errors (lwm2m::Errc, base layer): buffer_too_small when `out` is shorter than the message;
/// invalid_argument when an option value is longer than 65804 bytes (RFC 7252 §3.1) or, for a
/// Message, a registered option breaks the option registry (option::info(): value length out
/// of range, RFC 7252 §5.4.3, or a non-repeatable option repeated, §5.4.5). A token can never
/// be too long (Token holds at most 8 bytes).
[[nodiscard]] Result<std::size_t> encode(const Message& m, MutableBytesView out) noexcept;
/// Re-encodes a decoded (or hand-built) view faithfully, without the registry checks (a relay,
/// a fuzzer or a test can reproduce any datagram). Errors: buffer_too_small; invalid_argument
/// when options are not in non-decreasing number order or a value is over 65804 bytes.
[[nodiscard]] Result<std::size_t> encode(const MessageView& m, MutableBytesView out) noexcept;
/// Encodes into a new buffer of exactly encoded_size(m) bytes (empty on the invalid_argument
/// cases above).
[[nodiscard]] Bytes encode(const Message& m);

} // namespace lwm2m::coap
