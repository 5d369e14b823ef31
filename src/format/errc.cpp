#include <lwm2m/format/content_format.hpp>
#include <lwm2m/format/errc.hpp>

namespace lwm2m::format {
namespace {
class FormatCategory final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "lwm2m.format"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::malformed:
            return "malformed payload";
        case Errc::type_mismatch:
            return "value does not match the resource type";
        case Errc::out_of_range:
            return "value out of range for the resource type";
        case Errc::duplicate:
            return "path occurs more than once";
        case Errc::path_mismatch:
            return "payload path outside the target";
        case Errc::structure_mismatch:
            return "single/multiple resource instance mismatch";
        case Errc::limit_exceeded:
            return "payload exceeds a decoder limit";
        case Errc::unknown_object:
            return "unknown object";
        case Errc::unknown_resource:
            return "unknown resource";
        case Errc::unsupported_level:
            return "format cannot represent this level";
        case Errc::format_not_allowed:
            return "format not allowed for this target";
        case Errc::unsupported_format:
            return "unsupported content format";
        case Errc::invalid_content:
            return "content cannot be encoded";
        }
        return "unknown format error";
    }
};

constexpr std::uint8_t code(int cls, int detail) {
    return static_cast<std::uint8_t>((cls << 5) | detail);
}
} // namespace

const std::error_category& format_category() noexcept {
    static const FormatCategory c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), format_category()};
}

std::uint8_t coap_code_for(const std::error_code& e) noexcept {
    if (e.category() != format_category()) return code(5, 0);
    switch (static_cast<Errc>(e.value())) {
    case Errc::malformed:
    case Errc::type_mismatch:
    case Errc::out_of_range:
    case Errc::duplicate:
    case Errc::path_mismatch:
    case Errc::structure_mismatch:
    case Errc::limit_exceeded:
        return code(4, 0);
    case Errc::unknown_object:
    case Errc::unknown_resource:
        return code(4, 4);
    case Errc::unsupported_level:
        return code(4, 6);
    case Errc::format_not_allowed:
    case Errc::unsupported_format:
        return code(4, 15);
    case Errc::invalid_content:
        return code(5, 0);
    }
    return code(5, 0);
}

std::optional<ContentFormat> content_format_from(std::uint16_t number) noexcept {
    switch (number) {
    case 0:
    case 40:
    case 42:
    case 110:
    case 112:
    case 11542:
    case 11543:
    case 11544:
        return static_cast<ContentFormat>(number);
    default:
        return std::nullopt;
    }
}

std::string_view to_string(ContentFormat f) noexcept {
    switch (f) {
    case ContentFormat::text_plain:
        return "text/plain;charset=utf-8";
    case ContentFormat::link_format:
        return "application/link-format";
    case ContentFormat::octet_stream:
        return "application/octet-stream";
    case ContentFormat::senml_json:
        return "application/senml+json";
    case ContentFormat::senml_cbor:
        return "application/senml+cbor";
    case ContentFormat::lwm2m_tlv:
        return "application/vnd.oma.lwm2m+tlv";
    case ContentFormat::lwm2m_json:
        return "application/vnd.oma.lwm2m+json";
    case ContentFormat::lwm2m_cbor:
        return "application/vnd.oma.lwm2m+cbor";
    }
    return "unknown";
}

} // namespace lwm2m::format
