// CoRE Link Format (RFC 6690 §2) for LwM2M (TS Core 1.1 §5.1.2 attributes, §6.2.1 registration,
// §6.3.4 Discover; TS 1.2 §5.1.2 adds edge, hqmax).
#include <lwm2m/format/link_format.hpp>

#include <cmath>

#include "common.hpp"

namespace lwm2m::format {
namespace {

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// RFC 6690 §2 / RFC 5987: parmname = 1*attr-char.
bool parmname_char(char c) {
    return is_alpha(c) || is_digit(c) || c == '!' || c == '#' || c == '$' || c == '&' || c == '+' ||
           c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~';
}
// RFC 6690 §2: ptokenchar.
bool ptoken_char(char c) {
    if (is_alpha(c) || is_digit(c)) return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case '-':
    case '.':
    case '/':
    case ':':
    case '<':
    case '=':
    case '>':
    case '?':
    case '@':
    case '[':
    case ']':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
        return true;
    default:
        return false;
    }
}
bool control(char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
    return detail::parse_uint64(s, v);
}

bool parse_decimal(std::string_view s) {
    dm::Value v;
    return detail::parse_number(s, v);
}

} // namespace

const LinkAttr* Link::find(std::string_view name) const {
    for (const auto& a : attrs)
        if (a.name == name) return &a;
    return nullptr;
}

Result<dm::Path> Link::path() const {
    dm::Path p;
    if (!detail::parse_path(target, p)) return fail(Errc::malformed);
    return p;
}

Result<void> validate_lwm2m_attr(std::string_view name, const std::optional<std::string>& value) {
    auto need = [&]() -> Result<std::string_view> {
        if (!value || value->empty()) return fail(Errc::malformed);
        return std::string_view(*value);
    };
    std::uint64_t u = 0;
    if (name == "pmin" || name == "pmax" || name == "epmin" || name == "epmax" || name == "hqmax") {
        // TS 1.1 §5.1.2: integer seconds (>= 0); hqmax TS 1.2 §5.1.2.
        LWM2M_TRY(v, need());
        if (!parse_u64(v, u) || u > 0xFFFFFFFFu) return fail(Errc::malformed);
        return ok();
    }
    if (name == "gt" || name == "lt" || name == "st") {
        LWM2M_TRY(v, need());
        if (!parse_decimal(v)) return fail(Errc::malformed);
        if (name == "st" && v[0] == '-') return fail(Errc::malformed); // step is >= 0
        return ok();
    }
    if (name == "con" || name == "edge") {
        LWM2M_TRY(v, need());
        if (v != "0" && v != "1") return fail(Errc::malformed);
        return ok();
    }
    if (name == "dim") {
        // TS 1.1 §6.3.4: number of resource instances, 0..65535.
        LWM2M_TRY(v, need());
        if (!parse_u64(v, u) || u > 0xFFFF) return fail(Errc::malformed);
        return ok();
    }
    if (name == "ssid") {
        // TS 1.1 §5.2.7.3 (Bootstrap-Discover): Short Server ID 1..65534.
        LWM2M_TRY(v, need());
        if (!parse_u64(v, u) || u == 0 || u > 65534) return fail(Errc::malformed);
        return ok();
    }
    if (name == "ver") {
        // TS 1.1 §6.2.1.1: "major.minor" (lwm2m= on the registration uses the same form).
        LWM2M_TRY(v, need());
        const auto dot = v.find('.');
        if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size())
            return fail(Errc::malformed);
        for (std::size_t k = 0; k < v.size(); ++k)
            if (k != dot && !is_digit(v[k])) return fail(Errc::malformed);
        return ok();
    }
    if (name == "ct") {
        // RFC 7252 §7.2.1: one or (quoted) space-separated Content-Format numbers 0..65535.
        LWM2M_TRY(v, need());
        std::size_t k = 0;
        while (k <= v.size()) {
            const auto sp = v.find(' ', k);
            const auto part =
                v.substr(k, sp == std::string_view::npos ? std::string_view::npos : sp - k);
            if (!parse_u64(part, u) || u > 0xFFFF) return fail(Errc::malformed);
            if (sp == std::string_view::npos) break;
            k = sp + 1;
        }
        return ok();
    }
    if (name == "uri") {
        LWM2M_TRY(v, need());
        (void)v;
        return ok();
    }
    return ok();
}

Result<std::vector<Link>> parse_links(std::string_view text, const LinkLimits& limits) {
    if (text.size() > limits.max_payload) return fail(Errc::limit_exceeded);
    if (!detail::is_valid_utf8(text)) return fail(Errc::malformed);
    std::vector<Link> links;
    std::size_t i = 0;
    const std::size_t n = text.size();
    if (n == 0) return links;
    while (true) {
        if (links.size() >= limits.max_links) return fail(Errc::limit_exceeded);
        if (i >= n || text[i] != '<') return fail(Errc::malformed);
        const auto close = text.find('>', i + 1);
        if (close == std::string_view::npos) return fail(Errc::malformed);
        Link link;
        const std::string_view target = text.substr(i + 1, close - i - 1);
        if (target.empty() || target.size() > limits.max_target) {
            return fail(target.empty() ? Errc::malformed : Errc::limit_exceeded);
        }
        for (char c : target)
            if (control(c) || c == ' ' || c == '<' || c == '"') return fail(Errc::malformed);
        link.target.assign(target);
        i = close + 1;
        while (i < n && text[i] == ';') {
            ++i;
            if (link.attrs.size() >= limits.max_attrs) return fail(Errc::limit_exceeded);
            const std::size_t ns = i;
            while (i < n && parmname_char(text[i]))
                ++i;
            if (i == ns) return fail(Errc::malformed);
            LinkAttr a;
            a.name.assign(text.substr(ns, i - ns));
            if (i < n && text[i] == '=') {
                ++i;
                std::string v;
                if (i < n && text[i] == '"') {
                    a.quoted = true;
                    ++i;
                    bool closed = false;
                    while (i < n) {
                        const char c = text[i];
                        if (control(c)) return fail(Errc::malformed);
                        if (c == '\\') {
                            if (i + 1 >= n || control(text[i + 1])) return fail(Errc::malformed);
                            v.push_back(text[i + 1]);
                            i += 2;
                            continue;
                        }
                        if (c == '"') {
                            closed = true;
                            ++i;
                            break;
                        }
                        v.push_back(c);
                        ++i;
                    }
                    if (!closed) return fail(Errc::malformed);
                } else {
                    const std::size_t vs = i;
                    while (i < n && ptoken_char(text[i]))
                        ++i;
                    if (i == vs) return fail(Errc::malformed);
                    v.assign(text.substr(vs, i - vs));
                }
                if (v.size() > limits.max_value) return fail(Errc::limit_exceeded);
                a.value = std::move(v);
            }
            if (limits.validate_lwm2m) {
                LWM2M_TRY_VOID(validate_lwm2m_attr(a.name, a.value));
                // LwM2M attributes may appear once per link (TS 1.1 §5.1.2).
                static constexpr std::string_view once[] = {
                    "pmin",  "pmax", "gt",  "lt",   "st",  "epmin", "epmax", "con",
                    "hqmax", "edge", "ver", "ssid", "dim", "uri",   "ct",    "rt"};
                for (auto o : once)
                    if (a.name == o && link.find(o) != nullptr) return fail(Errc::malformed);
            }
            link.attrs.push_back(std::move(a));
        }
        links.push_back(std::move(link));
        if (i == n) break;
        if (text[i] != ',') return fail(Errc::malformed);
        ++i;
        while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
            ++i;
    }
    return links;
}

std::string serialize_links(std::span<const Link> links) {
    std::string out;
    bool first = true;
    for (const auto& l : links) {
        if (!first) out.push_back(',');
        first = false;
        out.push_back('<');
        out.append(l.target);
        out.push_back('>');
        for (const auto& a : l.attrs) {
            out.push_back(';');
            out.append(a.name);
            if (!a.value) continue;
            out.push_back('=');
            bool token = !a.quoted && !a.value->empty();
            for (char c : *a.value)
                token = token && ptoken_char(c);
            if (token) {
                out.append(*a.value);
                continue;
            }
            out.push_back('"');
            for (char c : *a.value) {
                if (c == '"' || c == '\\') out.push_back('\\');
                out.push_back(c);
            }
            out.push_back('"');
        }
    }
    return out;
}

std::string encode_register_links(std::span<const RegisterObject> objects,
                                  const RegisterLinkOptions& options) {
    std::vector<Link> links;
    const std::string root =
        options.alternate_path.empty() ? std::string("/") : options.alternate_path;
    const bool alt = root != "/";
    if (alt || !options.content_formats.empty()) {
        Link l{"" + root, {}};
        l.attrs.push_back(LinkAttr{"rt", "oma.lwm2m", true});
        if (!options.content_formats.empty()) {
            std::string ct;
            for (auto c : options.content_formats) {
                if (!ct.empty()) ct.push_back(' ');
                detail::append_unsigned(ct, c);
            }
            // TS 1.1 §6.2.1.1: several formats as a quoted space-separated list.
            l.attrs.push_back(LinkAttr{"ct", ct, options.content_formats.size() > 1});
        }
        links.push_back(std::move(l));
    }
    const std::string prefix = alt ? root : std::string();
    for (const auto& o : objects) {
        std::string base = prefix;
        base.push_back('/');
        detail::append_unsigned(base, o.oid);
        const bool versioned = !o.version.empty() && o.version != "1.0";
        if (o.instances.empty() || versioned) {
            Link l{base, {}};
            if (versioned) l.attrs.push_back(LinkAttr{"ver", o.version, false});
            links.push_back(std::move(l));
        }
        for (auto iid : o.instances) {
            std::string t = base;
            t.push_back('/');
            detail::append_unsigned(t, iid);
            links.push_back(Link{std::move(t), {}});
        }
    }
    return serialize_links(links);
}

} // namespace lwm2m::format
