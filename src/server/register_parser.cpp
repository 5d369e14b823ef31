#include <lwm2m/server/register_parser.hpp>

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include <lwm2m/dm/path.hpp>
#include <lwm2m/dm/value_text.hpp>
#include <lwm2m/format/link_format.hpp>
#include <lwm2m/store/security_info.hpp>

namespace lwm2m::server {

namespace {

tl::unexpected<Error> refuse(Refusal* why, Errc code, std::string text) {
    if (why != nullptr) {
        why->code = code;
        why->text = std::move(text);
    }
    return tl::unexpected<Error>(make_error_code(code));
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Shown in diagnostics: printable ASCII only, at most 32 characters (the value came from the
// network).
std::string shown(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 32))
        out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    if (s.size() > 32) out += "...";
    return out;
}

std::optional<dm::Lwm2mVersion> known_version(std::uint8_t major, std::uint8_t minor) {
    if (major != 1) return std::nullopt;
    switch (minor) {
    case 0:
        return dm::Lwm2mVersion::v1_0;
    case 1:
        return dm::Lwm2mVersion::v1_1;
    case 2:
        return dm::Lwm2mVersion::v1_2;
    default:
        return std::nullopt;
    }
}

// The binding letters allowed for a version (TS 1.0 §5.3.1.1, 1.1 §6.2.1.1, 1.2 §6.2.1.1).
Result<std::uint8_t> parse_binding(std::string_view b, dm::Lwm2mVersion v, bool strict, bool& queue,
                                   std::uint32_t& notes, Refusal* why) {
    if (v == dm::Lwm2mVersion::v1_0 && strict) {
        // TS 1.0 Table 20: U, UQ, S, SQ, US, UQS.
        static constexpr std::string_view allowed[] = {"U", "UQ", "S", "SQ", "US", "UQS"};
        if (std::find(std::begin(allowed), std::end(allowed), b) == std::end(allowed))
            return refuse(why, Errc::bad_request,
                          "b: '" + shown(b) +
                              "' is not a LwM2M 1.0 binding (U, UQ, S, SQ, US, UQS)");
    }
    if (b.empty()) return refuse(why, Errc::bad_request, "b: empty binding");
    std::uint8_t bits = 0;
    for (char c : b) {
        std::uint8_t bit = 0;
        switch (c) {
        case 'U':
            bit = binding::udp;
            break;
        case 'S':
            bit = binding::sms;
            break;
        case 'T':
            bit = v != dm::Lwm2mVersion::v1_0 || !strict ? binding::tcp : 0;
            break;
        case 'N':
            bit = v != dm::Lwm2mVersion::v1_0 || !strict ? binding::non_ip : 0;
            break;
        case 'M':
            bit = v == dm::Lwm2mVersion::v1_2 || !strict ? binding::mqtt : 0;
            break;
        case 'H':
            bit = v == dm::Lwm2mVersion::v1_2 || !strict ? binding::http : 0;
            break;
        case 'Q':
            if (v == dm::Lwm2mVersion::v1_0) {
                if (queue) return refuse(why, Errc::bad_request, "b: Q given twice");
                queue = true;
                continue;
            }
            // TS 1.1 §6.2.1.1: queue mode is the separate "Q" parameter.
            if (strict)
                return refuse(why, Errc::bad_request,
                              "b: Q is not a binding since LwM2M 1.1 (use the Q parameter)");
            notes |= note::q_in_binding;
            queue = true;
            continue;
        default:
            break;
        }
        if (bit == 0)
            return refuse(why, Errc::bad_request,
                          "b: '" + shown(b) + "' has a binding letter not defined for LwM2M " +
                              std::string(dm::to_string(v)));
        if (bits & bit)
            return refuse(why, Errc::bad_request, "b: '" + shown(b) + "' repeats a letter");
        bits |= bit;
    }
    if (bits == 0) return refuse(why, Errc::bad_request, "b: no transport in '" + shown(b) + "'");
    return bits;
}

} // namespace

std::string binding_to_string(std::uint8_t bits) {
    std::string s;
    if (bits & binding::udp) s.push_back('U');
    if (bits & binding::mqtt) s.push_back('M');
    if (bits & binding::http) s.push_back('H');
    if (bits & binding::tcp) s.push_back('T');
    if (bits & binding::sms) s.push_back('S');
    if (bits & binding::non_ip) s.push_back('N');
    return s;
}

std::string describe_notes(std::uint32_t n) {
    static constexpr std::pair<std::uint32_t, std::string_view> texts[] = {
        {note::unknown_parameter, "unknown parameter ignored"},
        {note::q_from_1_0, "Q parameter from a LwM2M 1.0 client taken as queue mode"},
        {note::q_in_binding, "binding with Q from a LwM2M 1.1+ client taken as queue mode"},
        {note::register_param_in_update, "ep/lwm2m in an Update ignored"},
        {note::security_object_listed, "Security/OSCORE object links dropped"},
        {note::resource_link, "resource-level links ignored"},
        {note::duplicate_link, "duplicate links ignored"},
        {note::version_on_instance, "ver= on an instance link accepted"},
        {note::bad_attribute, "unusable ct=/ver= attribute ignored"},
        {note::no_content_format, "payload without Content-Format accepted as link format"},
        {note::outside_root, "links outside the alternate path accepted"},
    };
    std::string out;
    for (const auto& [bit, text] : texts) {
        if (!(n & bit)) continue;
        if (!out.empty()) out += "; ";
        out += text;
    }
    return out;
}

std::optional<std::pair<std::uint8_t, std::uint8_t>> parse_version(std::string_view t) noexcept {
    const auto dot = t.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const auto a = t.substr(0, dot);
    const auto b = t.substr(dot + 1);
    if (!all_digits(a) || !all_digits(b) || a.size() > 3 || b.size() > 3) return std::nullopt;
    unsigned x = 0;
    unsigned y = 0;
    std::from_chars(a.data(), a.data() + a.size(), x);
    std::from_chars(b.data(), b.data() + b.size(), y);
    if (x > 255 || y > 255) return std::nullopt;
    return std::pair<std::uint8_t, std::uint8_t>{static_cast<std::uint8_t>(x),
                                                 static_cast<std::uint8_t>(y)};
}

Result<RegisterQuery> parse_register_query(std::span<const std::string_view> items,
                                           const QueryOptions& o, Refusal* why) {
    RegisterQuery q;
    const bool reg = o.kind == RequestKind::register_;
    bool seen_ep = false;
    bool seen_q = false;
    std::optional<std::string_view> b_text;
    for (std::string_view item : items) {
        const auto eq = item.find('=');
        const std::string_view name = item.substr(0, eq);
        const std::optional<std::string_view> value =
            eq == std::string_view::npos ? std::nullopt
                                         : std::optional<std::string_view>(item.substr(eq + 1));
        auto dup = [&](bool seen) -> bool { return seen; };
        auto need_value = [&]() -> Result<std::string_view> {
            if (!value)
                return refuse(why, Errc::bad_request, std::string(name) + ": a value is required");
            return *value;
        };
        if (name == "ep" || name == "lwm2m") {
            if (!reg) {
                // TS 1.1 §6.2.2: Update carries lt, b, sms (and Q) only.
                if (o.strict)
                    return refuse(why, Errc::bad_request,
                                  std::string(name) + ": not an Update parameter");
                q.notes |= note::register_param_in_update;
                continue;
            }
        }
        if (name == "ep") {
            if (dup(seen_ep)) return refuse(why, Errc::bad_request, "ep: given twice");
            seen_ep = true;
            LWM2M_TRY(v, need_value());
            if (v.empty()) return refuse(why, Errc::bad_request, "ep: empty endpoint name");
            if (v.size() > store::max_endpoint_name_size)
                return refuse(why, Errc::bad_request, "ep: longer than 255 bytes");
            if (!dm::is_valid_utf8(v)) return refuse(why, Errc::bad_request, "ep: not valid UTF-8");
            for (char c : v)
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
                    return refuse(why, Errc::bad_request, "ep: control character");
            q.endpoint = v;
        } else if (name == "lt") {
            if (q.lifetime) return refuse(why, Errc::bad_request, "lt: given twice");
            LWM2M_TRY(v, need_value());
            std::uint64_t lt = 0;
            if (!all_digits(v) || v.size() > 12 ||
                std::from_chars(v.data(), v.data() + v.size(), lt).ec != std::errc())
                return refuse(why, Errc::bad_request,
                              "lt: '" + shown(v) + "' is not a number of seconds");
            if (lt < o.min_lifetime || lt > o.max_lifetime)
                return refuse(why, Errc::bad_request,
                              "lt: " + std::to_string(lt) + " is outside " +
                                  std::to_string(o.min_lifetime) + ".." +
                                  std::to_string(o.max_lifetime));
            q.lifetime = static_cast<std::uint32_t>(lt);
        } else if (name == "lwm2m") {
            if (q.version) return refuse(why, Errc::bad_request, "lwm2m: given twice");
            LWM2M_TRY(v, need_value());
            auto ver = parse_version(v);
            if (!ver)
                return refuse(why, Errc::bad_request,
                              "lwm2m: '" + shown(v) + "' is not a version X.Y");
            auto known = known_version(ver->first, ver->second);
            if (!known)
                // Transport TS 1.1 Table 6.7-2: 4.12 when the versions are not compatible.
                return refuse(why, Errc::unsupported_version,
                              "lwm2m: version " + shown(v) + " is not supported (1.0, 1.1, 1.2)");
            q.version = known;
        } else if (name == "b") {
            if (b_text) return refuse(why, Errc::bad_request, "b: given twice");
            LWM2M_TRY(v, need_value());
            b_text = v;
        } else if (name == "Q") {
            if (seen_q) return refuse(why, Errc::bad_request, "Q: given twice");
            seen_q = true;
            if (value) return refuse(why, Errc::bad_request, "Q: takes no value");
        } else if (name == "sms") {
            if (q.sms) return refuse(why, Errc::bad_request, "sms: given twice");
            LWM2M_TRY(v, need_value());
            const std::string_view digits = !v.empty() && v[0] == '+' ? v.substr(1) : v;
            if (!all_digits(digits) || digits.size() > 15)
                return refuse(why, Errc::bad_request, "sms: '" + shown(v) + "' is not an MSISDN");
            q.sms = v;
        } else {
            if (o.strict)
                return refuse(why, Errc::bad_request, "unknown parameter '" + shown(name) + "'");
            q.notes |= note::unknown_parameter;
        }
    }
    if (reg && !seen_ep) return refuse(why, Errc::bad_request, "ep: the endpoint name is required");
    const dm::Lwm2mVersion v =
        reg ? q.version.value_or(dm::Lwm2mVersion::v1_0) : o.registered_version;
    if (seen_q) {
        if (v == dm::Lwm2mVersion::v1_0) {
            // TS 1.0 has no Q parameter: queue mode is part of the binding.
            if (o.strict)
                return refuse(why, Errc::bad_request, "Q: not a LwM2M 1.0 parameter (use b=UQ)");
            q.notes |= note::q_from_1_0;
        }
        q.queue = true;
    }
    if (b_text) {
        bool queue = false;
        LWM2M_TRY(bits, parse_binding(*b_text, v, o.strict, queue, q.notes, why));
        q.binding = bits;
        q.queue = q.queue || queue;
    }
    return q;
}

Result<ObjectLinks> parse_object_links(std::string_view payload, const LinksOptions& o,
                                       Refusal* why) {
    ObjectLinks out;
    if (payload.empty()) return out;
    if (payload.size() > o.max_payload)
        return refuse(why, Errc::bad_request, "payload: larger than the limit");
    format::LinkLimits limits;
    limits.max_links = o.max_links;
    limits.max_payload = o.max_payload;
    limits.validate_lwm2m = false; // ver= and ct= are checked below, with a precise diagnostic
    auto parsed = format::parse_links(payload, limits);
    if (!parsed)
        return refuse(why, Errc::bad_request,
                      parsed.error() == format::Errc::limit_exceeded
                          ? "payload: too many links or too long"
                          : "payload: not a valid CoRE Link Format list of objects");
    auto& links = *parsed;

    // The root link (TS 1.1 §6.2.1.1): rt="oma.lwm2m", or else a link to "/".
    std::size_t root = links.size();
    for (std::size_t i = 0; i < links.size(); ++i) {
        const auto* rt = links[i].find("rt");
        bool lwm2m = false;
        if (rt != nullptr && rt->value) {
            std::string_view r = *rt->value;
            while (!r.empty()) {
                const auto sp = r.find(' ');
                if (r.substr(0, sp) == "oma.lwm2m") lwm2m = true;
                r = sp == std::string_view::npos ? std::string_view() : r.substr(sp + 1);
            }
        }
        if (lwm2m) {
            if (root < links.size() && links[root].find("rt") != nullptr)
                return refuse(why, Errc::bad_request, "payload: two links with rt=\"oma.lwm2m\"");
            root = i;
        } else if (links[i].target == "/" && root == links.size()) {
            root = i;
        }
    }
    std::string prefix; // alternate path without the trailing '/' ("" for "/")
    if (root < links.size()) {
        std::string_view t = links[root].target;
        if (t.size() > 1 && t.back() == '/') t.remove_suffix(1); // "</lwm2m/>"
        if (t.empty() || t[0] != '/' || t.find("//") != std::string_view::npos)
            return refuse(why, Errc::bad_request, "payload: the root link is not a path");
        out.root = std::string(t);
        if (t != "/") prefix = std::string(t);
        if (const auto* ct = links[root].find("ct"); ct != nullptr) {
            bool bad = !ct->value || ct->value->empty();
            std::vector<std::uint16_t> formats;
            if (!bad) {
                std::string_view r = *ct->value;
                while (true) {
                    const auto sp = r.find(' ');
                    const auto part = r.substr(0, sp);
                    unsigned v = 0;
                    if (!all_digits(part) || part.size() > 5 ||
                        std::from_chars(part.data(), part.data() + part.size(), v).ec !=
                            std::errc() ||
                        v > 0xFFFF) {
                        bad = true;
                        break;
                    }
                    formats.push_back(static_cast<std::uint16_t>(v));
                    if (sp == std::string_view::npos) break;
                    r = r.substr(sp + 1);
                }
            }
            if (bad) {
                if (o.strict) return refuse(why, Errc::bad_request, "payload: malformed ct=");
                out.notes |= note::bad_attribute;
            } else {
                out.content_formats = std::move(formats);
            }
        }
    }

    out.links.reserve(links.size());
    std::unordered_set<std::uint32_t> seen;
    for (std::size_t i = 0; i < links.size(); ++i) {
        if (i == root) continue;
        std::string_view t = links[i].target;
        if (!prefix.empty()) {
            if (t.size() > prefix.size() && t.substr(0, prefix.size()) == prefix &&
                t[prefix.size()] == '/') {
                t.remove_prefix(prefix.size());
            } else {
                if (o.strict)
                    return refuse(why, Errc::bad_request,
                                  "payload: link <" + shown(t) + "> is outside the alternate path");
                out.notes |= note::outside_root;
            }
        }
        if (t.empty() || t[0] != '/')
            return refuse(why, Errc::bad_request, "payload: link <" + shown(t) + "> is not a path");
        auto path = dm::Path::parse(t);
        if (!path || path->depth() == 0)
            return refuse(why, Errc::bad_request,
                          "payload: link <" + shown(t) + "> is not an object or instance path");
        if (path->depth() > 2) {
            if (o.strict)
                return refuse(why, Errc::bad_request,
                              "payload: link <" + shown(t) + "> is below an object instance");
            out.notes |= note::resource_link;
            continue;
        }
        const std::uint16_t oid = path->oid().v;
        if (oid == 0 || oid == 21) {
            // TS 1.1 §6.2.1: the Security and OSCORE objects MUST NOT be listed.
            if (o.strict)
                return refuse(why, Errc::bad_request,
                              "payload: Object " + std::to_string(oid) + " must not be listed");
            out.notes |= note::security_object_listed;
            continue;
        }
        ObjectLink l;
        l.oid = oid;
        if (path->depth() == 2) l.iid = path->iid().v;
        if (const auto* ver = links[i].find("ver"); ver != nullptr) {
            auto v = ver->value ? parse_version(*ver->value) : std::nullopt;
            if (!v) {
                if (o.strict)
                    return refuse(why, Errc::bad_request,
                                  "payload: malformed ver= on <" + shown(t) + ">");
                out.notes |= note::bad_attribute;
            } else {
                if (l.iid != ObjectLink::no_instance) {
                    // TS 1.1 §6.2.1.1 attaches ver to object links.
                    if (o.strict)
                        return refuse(why, Errc::bad_request,
                                      "payload: ver= on instance link <" + shown(t) + ">");
                    out.notes |= note::version_on_instance;
                }
                l.has_version = true;
                l.ver_major = v->first;
                l.ver_minor = v->second;
            }
        }
        // Linear for the usual short lists, a hash set for long ones (hostile payloads).
        const std::uint32_t key = (std::uint32_t{l.oid} << 16) | l.iid;
        bool duplicate = false;
        if (links.size() <= 32) {
            duplicate = std::any_of(out.links.begin(), out.links.end(), [&](const ObjectLink& e) {
                return e.oid == l.oid && e.iid == l.iid;
            });
        } else {
            duplicate = !seen.insert(key).second;
        }
        if (duplicate) {
            if (o.strict)
                return refuse(why, Errc::bad_request, "payload: link <" + shown(t) + "> repeated");
            out.notes |= note::duplicate_link;
            continue;
        }
        out.links.push_back(l);
    }
    return out;
}

} // namespace lwm2m::server
