// The Bootstrap-Request parser (LwM2M TS 1.1 §5.2.7.1, Transport §6.1 "Operation to Method and
// URI Mapping (Bootstrap Interface)": POST /bs?ep={Endpoint Client Name}&pct={Preferred Content
// Format}). Pure and allocation-light; fuzzed (tests/fuzz/bootstrap_request).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <lwm2m/base/result.hpp>
#include <lwm2m/coap/message.hpp>

namespace lwm2m::bootstrap {

struct BootstrapRequest {
    std::string endpoint;                          ///< `ep`, 1..255 bytes, no control characters
    std::optional<std::uint16_t> preferred_format; ///< `pct` (LwM2M 1.1+)
    friend bool operator==(const BootstrapRequest&, const BootstrapRequest&) = default;
};

/// Why a request to the bootstrap server is refused, with the CoAP code of the answer and a fixed
/// diagnostic text (RFC 7252 §5.5.2: a diagnostic payload for humans; it never echoes input).
struct RequestRefusal {
    coap::Code code;
    std::string_view diagnostic;
};

/// True when the request addresses the Bootstrap-Request resource (Uri-Path exactly "bs").
[[nodiscard]] bool is_bootstrap_path(const coap::Message& request);

/// Parses a request to /bs. Rules: method POST (else 4.05); exactly one `ep` of 1..255 bytes
/// without control characters (else 4.00); at most one `pct`, a decimal 0..65535 without sign or
/// leading zeros (else 4.00); other query parameters are ignored (TS 1.1 allows extensions; a
/// 1.2 client may send more). The payload is ignored. Returns nullopt and fills `out` when the
/// request is well-formed, else the refusal to answer with (4.00 or 4.05).
[[nodiscard]] std::optional<RequestRefusal> check_bootstrap_request(const coap::Message& request,
                                                                    BootstrapRequest& out);

} // namespace lwm2m::bootstrap
