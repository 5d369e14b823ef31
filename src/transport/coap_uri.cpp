#include <lwm2m/transport/coap_uri.hpp>

#include <arpa/inet.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/base/peer.hpp>

namespace lwm2m::transport {
namespace {

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}
// RFC 3986 §2.3 unreserved, §2.2 sub-delims.
bool is_unreserved(char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_sub_delim(char c) {
    switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
        return true;
    default:
        return false;
    }
}
// RFC 3986 §3.3 pchar (without the pct-encoded form, handled by the caller).
bool is_pchar(char c) {
    return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@';
}

/// Percent-decodes `in` where every literal char must satisfy `allowed`.
template <class Allowed>
bool decode(std::string_view in, Allowed allowed, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return false;
            if (!is_hex(in[i + 1]) || !is_hex(in[i + 2])) return false;
            out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
            i += 2;
        } else if (allowed(c)) {
            out.push_back(c);
        } else {
            return false;
        }
    }
    return true;
}

std::string lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return r;
}

} // namespace

std::string CoapUri::path_string() const {
    std::string s;
    for (const auto& p : path)
        s += "/" + p;
    return s.empty() ? "/" : s;
}

Result<CoapUri> parse_coap_uri(std::string_view text) {
    CoapUri u;
    // scheme ":" (RFC 3986 §3.1)
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0 || !is_alpha(text[0]))
        return fail(Errc::parse_error);
    for (char c : text.substr(0, colon)) {
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
            return fail(Errc::parse_error);
    }
    u.scheme = lower(text.substr(0, colon));
    if (u.scheme != "coap") return fail(Errc::parse_error);
    std::string_view rest = text.substr(colon + 1);
    // RFC 7252 §6.4 step 3: no fragment.
    if (rest.find('#') != std::string_view::npos) return fail(Errc::parse_error);
    if (rest.substr(0, 2) != "//") return fail(Errc::parse_error);
    rest.remove_prefix(2);
    // authority ends at '/', '?' or the end.
    const auto auth_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, auth_end);
    rest = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
    if (authority.find('@') != std::string_view::npos)
        return fail(Errc::parse_error); // no userinfo
    std::string_view host;
    std::string_view port_text;
    bool has_port = false;
    if (!authority.empty() && authority[0] == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return fail(Errc::parse_error);
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return fail(Errc::parse_error);
            port_text = after.substr(1);
            has_port = true;
        }
        // IPv6 literal (RFC 3986 §3.2.2); zone ids (RFC 6874) and IPvFuture are not accepted.
        std::string h(host);
        in6_addr a6;
        if (h.empty() || ::inet_pton(AF_INET6, h.c_str(), &a6) != 1) return fail(Errc::parse_error);
        u.host = lower(host);
        u.host_is_ip_literal = true;
    } else {
        const auto c = authority.rfind(':');
        host = authority.substr(0, c);
        if (c != std::string_view::npos) {
            port_text = authority.substr(c + 1);
            has_port = true;
        }
        if (host.empty()) return fail(Errc::parse_error);
        std::string h;
        if (!decode(
                host, [](char ch) { return is_unreserved(ch) || is_sub_delim(ch); }, h)) {
            return fail(Errc::parse_error);
        }
        bool all_numeric = true;
        for (char ch : h)
            all_numeric = all_numeric && (is_digit(ch) || ch == '.');
        if (all_numeric) {
            // Looks like an IPv4 address: it must be a valid dotted quad.
            if (!PeerAddr::parse(h)) return fail(Errc::parse_error);
            u.host_is_ip_literal = true;
        }
        u.host = lower(h);
    }
    if (has_port && !port_text.empty()) {
        if (port_text.size() > 5) return fail(Errc::parse_error);
        unsigned p = 0;
        for (char ch : port_text) {
            if (!is_digit(ch)) return fail(Errc::parse_error);
            p = p * 10 + static_cast<unsigned>(ch - '0');
        }
        if (p == 0 || p > 65535) return fail(Errc::parse_error);
        u.port = static_cast<std::uint16_t>(p);
    }
    // path-abempty ["?" query]
    std::string_view path = rest.substr(0, rest.find('?'));
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) query = rest.substr(q + 1);
    // RFC 7252 §6.4 step 8: "" and "/" give no Uri-Path; otherwise every segment, even empty.
    if (!path.empty() && path != "/") {
        path.remove_prefix(1); // path-abempty starts with '/'
        std::size_t start = 0;
        while (true) {
            const auto slash = path.find('/', start);
            std::string seg;
            if (!decode(path.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                                           : slash - start),
                        is_pchar, seg)) {
                return fail(Errc::parse_error);
            }
            u.path.push_back(std::move(seg));
            if (slash == std::string_view::npos) break;
            start = slash + 1;
        }
    }
    // RFC 7252 §6.4 step 9: each "&"-separated argument is one Uri-Query.
    if (!query.empty()) {
        std::size_t start = 0;
        while (true) {
            const auto amp = query.find('&', start);
            std::string item;
            if (!decode(
                    query.substr(start, amp == std::string_view::npos ? std::string_view::npos
                                                                      : amp - start),
                    [](char ch) { return (is_pchar(ch) && ch != '&') || ch == '/' || ch == '?'; },
                    item)) {
                return fail(Errc::parse_error);
            }
            u.query.push_back(std::move(item));
            if (amp == std::string_view::npos) break;
            start = amp + 1;
        }
    }
    return u;
}

} // namespace lwm2m::transport
