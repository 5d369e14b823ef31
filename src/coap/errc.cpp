// Error category of the CoAP layer (docs/architecture.md §5).
#include <lwm2m/coap/errc.hpp>

#include <string>

namespace lwm2m::coap {
namespace {
class CoapCategory final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "lwm2m.coap"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::truncated_header:
            return "CoAP message shorter than its header and token";
        case Errc::bad_version:
            return "CoAP version is not 1";
        case Errc::bad_token_length:
            return "CoAP token length 9-15 is reserved";
        case Errc::truncated_option:
            return "CoAP option runs past the end of the message";
        case Errc::option_delta_reserved:
            return "CoAP option delta 15 is reserved";
        case Errc::option_length_reserved:
            return "CoAP option length 15 is reserved";
        case Errc::option_number_overflow:
            return "CoAP option number exceeds 65535";
        case Errc::too_many_options:
            return "CoAP message has too many options";
        case Errc::payload_marker_without_payload:
            return "CoAP payload marker with empty payload";
        case Errc::empty_message_not_empty:
            return "CoAP empty message (0.00) carries data";
        case Errc::timeout:
            return "CoAP exchange timed out";
        case Errc::reset:
            return "CoAP peer answered with reset";
        case Errc::cancelled:
            return "CoAP exchange cancelled";
        case Errc::peer_limit:
            return "CoAP peer or exchange limit reached";
        case Errc::block_mismatch:
            return "CoAP block-wise transfer broken";
        case Errc::entity_too_large:
            return "CoAP body exceeds the configured maximum";
        case Errc::message_too_large:
            return "CoAP message does not fit the MTU";
        }
        return "unknown CoAP error";
    }
};
} // namespace

const std::error_category& coap_category() noexcept {
    static const CoapCategory c;
    return c;
}

std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), coap_category()};
}

} // namespace lwm2m::coap
