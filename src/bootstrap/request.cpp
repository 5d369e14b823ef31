#include <lwm2m/bootstrap/request.hpp>

#include <algorithm>

namespace lwm2m::bootstrap {

namespace {

constexpr std::size_t kMaxEndpoint = 255;

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

std::optional<std::uint16_t> parse_u16(std::string_view s) {
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (v > 0xffff) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

} // namespace

bool is_bootstrap_path(const coap::Message& request) {
    const coap::Option* only = nullptr;
    for (const auto& o : request.options()) {
        if (o.number != coap::option::uri_path) continue;
        if (only != nullptr) return false;
        only = &o;
    }
    return only != nullptr && as_string_view(only->value) == "bs";
}

std::optional<RequestRefusal> check_bootstrap_request(const coap::Message& request,
                                                      BootstrapRequest& out) {
    // Transport TS: Bootstrap-Request is a POST; Bootstrap-Pack-Request (1.2) is GET /bspack.
    if (request.code != coap::code::post)
        return RequestRefusal{coap::code::method_not_allowed, "Bootstrap-Request is a POST"};
    bool have_ep = false;
    bool have_pct = false;
    for (const auto& o : request.options()) {
        if (o.number != coap::option::uri_query) continue;
        const std::string_view q = as_string_view(o.value);
        const auto eq = q.find('=');
        const std::string_view name = q.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : q.substr(eq + 1);
        if (name == "ep") {
            if (have_ep) return RequestRefusal{coap::code::bad_request, "duplicate ep parameter"};
            have_ep = true;
            if (eq == std::string_view::npos || value.empty() || value.size() > kMaxEndpoint ||
                has_control(value))
                return RequestRefusal{coap::code::bad_request,
                                      "ep must be 1 to 255 bytes without control characters"};
            out.endpoint.assign(value);
        } else if (name == "pct") {
            if (have_pct) return RequestRefusal{coap::code::bad_request, "duplicate pct parameter"};
            have_pct = true;
            const auto v = parse_u16(value);
            if (eq == std::string_view::npos || !v)
                return RequestRefusal{coap::code::bad_request,
                                      "pct must be a Content-Format number"};
            out.preferred_format = *v;
        }
    }
    if (!have_ep)
        return RequestRefusal{coap::code::bad_request, "the ep parameter (Endpoint Client Name) "
                                                       "is required"};
    return std::nullopt;
}

} // namespace lwm2m::bootstrap
