#include <lwm2m/client/attributes.hpp>

#include <charconv>
#include <cstdlib>
#include <string>

#include <lwm2m/client/status.hpp>
#include <lwm2m/dm/value_text.hpp>
#include <lwm2m/format/link_format.hpp>

namespace lwm2m::client {

namespace {

Result<void> bad() {
    return fail(Status::bad_request);
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<double> parse_number(std::string_view s) {
    // The syntax was checked by format::validate_lwm2m_attr (a decimal number); parse_text gives
    // the exact double with the project's strict float rules.
    auto v = dm::parse_text(dm::DataType::float_, s);
    if (!v) return std::nullopt;
    return v->as_float();
}

bool numeric(const dm::ResourceDef* def) {
    if (def == nullptr) return false;
    return def->type == dm::DataType::integer || def->type == dm::DataType::unsigned_integer ||
           def->type == dm::DataType::float_;
}

} // namespace

void NotificationAttributes::inherit(const NotificationAttributes& p) {
    if (!pmin) pmin = p.pmin;
    if (!pmax) pmax = p.pmax;
    if (!epmin) epmin = p.epmin;
    if (!epmax) epmax = p.epmax;
    if (!gt) gt = p.gt;
    if (!lt) lt = p.lt;
    if (!st) st = p.st;
    if (!con) con = p.con;
}

Result<void> apply_write_attributes(NotificationAttributes& attrs,
                                    std::span<const std::string> queries, const dm::Path& path,
                                    const dm::ResourceDef* def, dm::Lwm2mVersion version) {
    if (path.is_root()) return bad();
    NotificationAttributes next = attrs;
    const bool resource_level = path.depth() >= 3;
    for (const std::string& q : queries) {
        const auto eq = q.find('=');
        const std::string_view name = std::string_view(q).substr(0, eq);
        std::optional<std::string> value;
        if (eq != std::string::npos) value = q.substr(eq + 1);
        const bool is_num_attr = name == "gt" || name == "lt" || name == "st";
        const bool known = name == "pmin" || name == "pmax" || name == "epmin" || name == "epmax" ||
                           is_num_attr || (name == "con" && version == dm::Lwm2mVersion::v1_2);
        if (!known) return bad(); // TS 1.1 §5.4.4: unknown / unsupported attribute
        // gt/lt/st: numeric resources (and 1.2 resource instances) only (TS 1.1 §5.1.2).
        if (is_num_attr && (!resource_level || !numeric(def) ||
                            (path.depth() == 4 && version != dm::Lwm2mVersion::v1_2) ||
                            (path.depth() == 3 && def->multiple)))
            return bad();
        if (!value) { // "pmin" alone: remove (TS 1.1 §5.4.4)
            if (name == "pmin") next.pmin.reset();
            if (name == "pmax") next.pmax.reset();
            if (name == "epmin") next.epmin.reset();
            if (name == "epmax") next.epmax.reset();
            if (name == "gt") next.gt.reset();
            if (name == "lt") next.lt.reset();
            if (name == "st") next.st.reset();
            if (name == "con") next.con.reset();
            continue;
        }
        if (!format::validate_lwm2m_attr(name, value)) return bad();
        if (name == "con") {
            next.con = *value == "1";
            continue;
        }
        if (is_num_attr) {
            const auto d = parse_number(*value);
            if (!d) return bad();
            if (name == "gt") next.gt = *d;
            if (name == "lt") next.lt = *d;
            if (name == "st") next.st = *d;
            continue;
        }
        const auto i = parse_int(*value);
        if (!i || *i < 0) return bad();
        if (name == "pmin") next.pmin = *i;
        if (name == "pmax") next.pmax = *i;
        if (name == "epmin") next.epmin = *i;
        if (name == "epmax") next.epmax = *i;
    }
    // TS 1.1 §5.1.2 consistency of one level.
    if (next.pmin && next.pmax && *next.pmin > *next.pmax) return bad();
    if (next.epmin && next.epmax && *next.epmin > *next.epmax) return bad();
    if (next.lt && next.gt && !(*next.lt < *next.gt)) return bad();
    if (next.lt && next.gt && next.st && !(*next.lt + 2 * *next.st < *next.gt)) return bad();
    attrs = next;
    return ok();
}

void append_link_attributes(std::string& out, const NotificationAttributes& a) {
    auto add_int = [&](std::string_view n, const std::optional<std::int64_t>& v) {
        if (!v) return;
        out += ';';
        out += n;
        out += '=';
        dm::append_integer(out, *v);
    };
    auto add_num = [&](std::string_view n, const std::optional<double>& v) {
        if (!v) return;
        out += ';';
        out += n;
        out += '=';
        (void)dm::append_float(out, *v);
    };
    add_int("pmin", a.pmin);
    add_int("pmax", a.pmax);
    add_num("gt", a.gt);
    add_num("lt", a.lt);
    add_num("st", a.st);
    add_int("epmin", a.epmin);
    add_int("epmax", a.epmax);
    if (a.con) out += *a.con ? ";con=1" : ";con=0";
}

} // namespace lwm2m::client
