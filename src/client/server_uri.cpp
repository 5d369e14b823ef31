#include <lwm2m/client/server_uri.hpp>

#include <charconv>

#include <lwm2m/base/peer.hpp>
#include <lwm2m/client/status.hpp>

namespace lwm2m::client {
namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// Dotted quad: four decimal parts 0-255, no leading zeros (avoids the octal ambiguity of
// inet_aton), nothing else.
bool is_ipv4(std::string_view s) {
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        std::size_t j = i;
        while (j < s.size() && s[j] >= '0' && s[j] <= '9')
            ++j;
        const std::size_t n = j - i;
        if (n == 0 || n > 3) return false;
        if (n > 1 && s[i] == '0') return false;
        unsigned v = 0;
        std::from_chars(s.data() + i, s.data() + j, v);
        if (v > 255) return false;
        ++parts;
        if (j == s.size()) break;
        if (s[j] != '.' || parts == 4) return false;
        i = j + 1;
    }
    return parts == 4;
}

} // namespace

bool is_valid_hostname(std::string_view name) noexcept {
    if (name.empty() || name.size() > 253) return false;
    std::size_t start = 0;
    std::string_view last;
    while (start <= name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) dot = name.size();
        const std::string_view label = name.substr(start, dot - start);
        if (label.empty() || label.size() > 63) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        for (char c : label) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-';
            if (!ok) return false;
        }
        last = label;
        if (dot == name.size()) break;
        start = dot + 1;
    }
    // RFC 1123 §2.1 / RFC 3986 §3.2.2: a name whose top label is numeric would be read as an
    // IPv4 address; reject it rather than guess.
    return !all_digits(last);
}

Result<ServerUri> parse_server_uri(std::string_view text) {
    if (text.empty() || text.size() > max_server_uri_size) return fail(Status::bad_request);
    for (char c : text)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            return fail(Status::bad_request); // no spaces, controls or raw non-ASCII
    const std::size_t sep = text.find("://");
    if (sep == std::string_view::npos) return fail(Status::bad_request);
    ServerUri u;
    const std::string_view scheme = text.substr(0, sep);
    if (iequals(scheme, "coap")) {
        u.scheme = ServerUri::Scheme::coap;
        u.port = default_coap_port;
    } else if (iequals(scheme, "coaps")) {
        u.scheme = ServerUri::Scheme::coaps;
        u.port = default_coaps_port;
    } else {
        return fail(Status::bad_request); // coap+tcp, coaps+tcp, sms, http...: not supported
    }
    std::string_view rest = text.substr(sep + 3);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find_first_of("/?#@") != std::string_view::npos) return fail(Status::bad_request);
    std::string_view host;
    std::string_view port;
    bool has_port = false;
    if (!rest.empty() && rest.front() == '[') {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos) return fail(Status::bad_request);
        host = rest.substr(1, close - 1);
        const std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return fail(Status::bad_request);
            port = after.substr(1);
            has_port = true;
        }
        if (host.empty() || host.find(':') == std::string_view::npos ||
            host.find('%') != std::string_view::npos)
            return fail(Status::bad_request);
        const auto addr = PeerAddr::parse(host);
        if (!addr || addr->family != PeerAddr::Family::ipv6) return fail(Status::bad_request);
        u.host_kind = ServerUri::HostKind::ipv6;
        u.host.assign(host);
    } else {
        const std::size_t colon = rest.find(':');
        host = rest.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = rest.substr(colon + 1);
            has_port = true;
        }
        if (host.empty()) return fail(Status::bad_request);
        if (is_ipv4(host)) {
            u.host_kind = ServerUri::HostKind::ipv4;
            u.host.assign(host);
        } else if (is_valid_hostname(host)) {
            u.host_kind = ServerUri::HostKind::name;
            u.host.reserve(host.size());
            for (char c : host)
                u.host += lower(c);
        } else {
            return fail(Status::bad_request);
        }
    }
    if (has_port) {
        if (!all_digits(port) || port.size() > 5) return fail(Status::bad_request);
        unsigned v = 0;
        std::from_chars(port.data(), port.data() + port.size(), v);
        if (v == 0 || v > 65535) return fail(Status::bad_request);
        u.port = static_cast<std::uint16_t>(v);
    }
    return u;
}

} // namespace lwm2m::client
