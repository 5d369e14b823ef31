#include "common.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>
#include <variant>

namespace lwm2m::format::detail {

bool base64_decode(std::string_view in, Bytes& out, Base64Alphabet alphabet, bool lenient) {
    auto r = dm::base64_decode(in, alphabet, Base64Padding::optional);
    if (!r && lenient) {
        // The alphabets differ only in 62/63 ('+' '/' vs '-' '_'): text in one decodes in the
        // other to the same bytes or fails, so trying both is unambiguous.
        const auto other =
            alphabet == Base64Alphabet::standard ? Base64Alphabet::url : Base64Alphabet::standard;
        r = dm::base64_decode(in, other, Base64Padding::optional);
    }
    if (!r) return false;
    out = std::move(*r);
    return true;
}

void append_double(std::string& out, double v) {
    const std::size_t at = out.size();
    (void)dm::append_float(out, v); // finite by precondition
    // Keep floats recognisable without the model ("1.0", not "1"), so that a receiver without
    // the object definition (DecodeOptions::allow_unknown) still sees a Float.
    if (std::string_view(out).substr(at).find_first_of(".eE") == std::string_view::npos)
        out.append(".0");
}

void append_time(std::string& out, double t) {
    if (std::trunc(t) == t && std::fabs(t) < 9.0e15)
        append_integer(out, static_cast<std::int64_t>(t));
    else
        append_double(out, t);
}

bool parse_uint64(std::string_view s, std::uint64_t& out) {
    if (s.empty() || s[0] < '0' || s[0] > '9') return false;
    if (s.size() > 1 && s[0] == '0') return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_number(std::string_view s, dm::Value& out) {
    // RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    std::size_t i = 0;
    const std::size_t n = s.size();
    if (i < n && s[i] == '-') ++i;
    if (i >= n) return false;
    if (s[i] == '0')
        ++i;
    else if (s[i] >= '1' && s[i] <= '9')
        while (i < n && s[i] >= '0' && s[i] <= '9')
            ++i;
    else
        return false;
    bool integral = true;
    if (i < n && s[i] == '.') {
        integral = false;
        ++i;
        const std::size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            ++i;
        if (i == d) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integral = false;
        ++i;
        if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
        const std::size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            ++i;
        if (i == d) return false;
    }
    if (i != n) return false;
    if (integral) {
        std::int64_t v = 0;
        auto r = std::from_chars(s.data(), s.data() + n, v);
        if (r.ec == std::errc() && r.ptr == s.data() + n) {
            out = dm::Value::integer(v);
            return true;
        }
        if (s[0] != '-') {
            std::uint64_t u = 0;
            auto r2 = std::from_chars(s.data(), s.data() + n, u);
            if (r2.ec == std::errc() && r2.ptr == s.data() + n) {
                out = dm::Value::unsigned_integer(u);
                return true;
            }
        }
    }
    double d = 0;
    auto r = std::from_chars(s.data(), s.data() + n, d);
    if (r.ec != std::errc() || r.ptr != s.data() + n || !std::isfinite(d)) return false;
    out = dm::Value::float_(d);
    return true;
}

bool parse_objlnk(std::string_view s, dm::Objlnk& out) {
    auto v = dm::parse_text(dm::DataType::objlnk, s);
    if (!v) return false;
    out = v->as_objlnk();
    return true;
}
void append_objlnk(std::string& out, dm::Objlnk l) {
    append_unsigned(out, l.oid);
    out.push_back(':');
    append_unsigned(out, l.iid);
}

bool parse_path(std::string_view s, dm::Path& out) {
    if (s.empty() || s[0] != '/') return false;
    auto p = dm::Path::parse(s);
    if (!p) return false;
    out = *p;
    return true;
}

void append_path(std::string& out, const dm::Path& p) {
    p.append_to(out);
}

Result<const dm::ResourceDef*> lookup(const dm::ObjectRegistry& reg, std::uint16_t oid,
                                      std::uint16_t rid) {
    const dm::ObjectDef* o = reg.find(oid);
    if (o == nullptr) return fail(Errc::unknown_object);
    const dm::ResourceDef* r = reg.find(oid, rid);
    if (r == nullptr) return fail(Errc::unknown_resource);
    return r;
}

namespace {
bool integral_double(double d) {
    return std::isfinite(d) && std::trunc(d) == d;
}
// 2^63 as a double: the first value not representable in int64.
constexpr double two63 = 9223372036854775808.0;
constexpr double two64 = 18446744073709551616.0;
} // namespace

// already_typed() relies on DataType values equalling the Value::Storage indices.
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(dm::DataType::string),
                                              dm::Value::Storage>,
                   std::string>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(dm::DataType::integer),
                                              dm::Value::Storage>,
                   std::int64_t>);
static_assert(std::is_same_v<
              std::variant_alternative_t<static_cast<std::size_t>(dm::DataType::unsigned_integer),
                                         dm::Value::Storage>,
              std::uint64_t>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(dm::DataType::float_),
                                              dm::Value::Storage>,
                   double>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(dm::DataType::boolean),
                                              dm::Value::Storage>,
                   bool>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(dm::DataType::opaque),
                                              dm::Value::Storage>,
                   Bytes>);
static_assert(std::is_same_v<std::variant_alternative_t<
                                 static_cast<std::size_t>(dm::DataType::time), dm::Value::Storage>,
                             dm::Time>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(dm::DataType::objlnk),
                                              dm::Value::Storage>,
                   dm::Objlnk>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(dm::DataType::corelnk),
                                              dm::Value::Storage>,
                   dm::Corelnk>);

bool already_typed(const dm::ResourceDef& def, const dm::Value& v) noexcept {
    const auto t = static_cast<std::size_t>(def.type);
    return t != 0 && v.storage().index() == t;
}

Result<dm::Value> coerce(const dm::ResourceDef& def, dm::Value raw, CoerceFlags flags) {
    using T = dm::DataType;
    const auto& st = raw.storage();
    switch (def.type) {
    case T::none:
        return fail(Errc::type_mismatch);
    case T::string:
        if (std::holds_alternative<std::string>(st)) return raw;
        if (std::holds_alternative<dm::Corelnk>(st)) return dm::Value::string(raw.as_corelnk());
        return fail(Errc::type_mismatch);
    case T::corelnk:
        if (std::holds_alternative<dm::Corelnk>(st)) return raw;
        if (std::holds_alternative<std::string>(st)) return dm::Value::corelnk(raw.as_string());
        return fail(Errc::type_mismatch);
    case T::integer:
        if (std::holds_alternative<std::int64_t>(st)) return raw;
        if (std::holds_alternative<std::uint64_t>(st)) return fail(Errc::out_of_range);
        if (std::holds_alternative<double>(st)) {
            const double d = raw.as_float();
            if (!integral_double(d)) return fail(Errc::type_mismatch);
            if (d < -two63 || d >= two63) return fail(Errc::out_of_range);
            return dm::Value::integer(static_cast<std::int64_t>(d));
        }
        return fail(Errc::type_mismatch);
    case T::unsigned_integer:
        if (std::holds_alternative<std::uint64_t>(st)) return raw;
        if (std::holds_alternative<std::int64_t>(st)) {
            if (raw.as_integer() < 0) return fail(Errc::out_of_range);
            return dm::Value::unsigned_integer(static_cast<std::uint64_t>(raw.as_integer()));
        }
        if (std::holds_alternative<double>(st)) {
            const double d = raw.as_float();
            if (!integral_double(d)) return fail(Errc::type_mismatch);
            if (d < 0 || d >= two64) return fail(Errc::out_of_range);
            return dm::Value::unsigned_integer(static_cast<std::uint64_t>(d));
        }
        return fail(Errc::type_mismatch);
    case T::float_:
        if (std::holds_alternative<double>(st)) return raw;
        if (std::holds_alternative<std::int64_t>(st))
            return dm::Value::float_(static_cast<double>(raw.as_integer()));
        if (std::holds_alternative<std::uint64_t>(st))
            return dm::Value::float_(static_cast<double>(raw.as_unsigned()));
        return fail(Errc::type_mismatch);
    case T::boolean:
        if (std::holds_alternative<bool>(st)) return raw;
        return fail(Errc::type_mismatch);
    case T::opaque:
        if (std::holds_alternative<Bytes>(st)) return raw;
        if (flags.string_is_base64 && std::holds_alternative<std::string>(st)) {
            Bytes b;
            if (!base64_decode(raw.as_string(), b, Base64Alphabet::standard, flags.lenient_base64))
                return fail(Errc::type_mismatch);
            return dm::Value::opaque(std::move(b));
        }
        return fail(Errc::type_mismatch);
    case T::time:
        if (std::holds_alternative<dm::Time>(st)) return raw;
        if (std::holds_alternative<std::int64_t>(st)) return dm::Value::time(raw.as_integer());
        if (std::holds_alternative<std::uint64_t>(st)) return fail(Errc::out_of_range);
        if (std::holds_alternative<double>(st)) {
            const double d = raw.as_float();
            if (!integral_double(d)) return fail(Errc::type_mismatch);
            if (d < -two63 || d >= two63) return fail(Errc::out_of_range);
            return dm::Value::time(static_cast<std::int64_t>(d));
        }
        return fail(Errc::type_mismatch);
    case T::objlnk:
        if (std::holds_alternative<dm::Objlnk>(st)) return raw;
        if (std::holds_alternative<std::string>(st)) {
            dm::Objlnk l;
            if (!parse_objlnk(raw.as_string(), l)) return fail(Errc::type_mismatch);
            return dm::Value::objlnk(l.oid, l.iid);
        }
        return fail(Errc::type_mismatch);
    }
    return fail(Errc::type_mismatch);
}

Result<void> check_multiplicity(const dm::ResourceDef& def, const dm::Path& leaf) {
    if (leaf.depth() == 4 && !def.multiple) return fail(Errc::structure_mismatch);
    if (leaf.depth() == 3 && def.multiple) return fail(Errc::structure_mismatch);
    return ok();
}

bool node_matches_path(const dm::Content& c) {
    switch (c.path.depth()) {
    case 1: {
        const auto* o = std::get_if<dm::Object>(&c.node);
        return o != nullptr && o->id == c.path.oid().v;
    }
    case 2: {
        const auto* i = std::get_if<dm::Instance>(&c.node);
        return i != nullptr && i->id == c.path.iid().v;
    }
    case 3: {
        const auto* r = std::get_if<dm::Resource>(&c.node);
        return r != nullptr && r->id == c.path.rid().v;
    }
    case 4:
        return std::holds_alternative<dm::Value>(c.node);
    default:
        return false;
    }
}

double resolve_time(double t, const DecodeOptions& o) {
    // RFC 8428 §4.5.3: values below 2**28 are relative to the current time.
    if (o.now && t < 268435456.0) return *o.now + t;
    return t;
}

Result<void> check_records(std::vector<dm::Record>& recs, const dm::ObjectRegistry& reg,
                           const DecodeOptions& o, CoerceFlags flags) {
    for (auto& r : recs) {
        if (r.value.is_none()) continue;
        if (r.path.depth() < 3) return fail(Errc::malformed);
        auto def = lookup(reg, r.path.oid().v, r.path.rid().v);
        if (!def) {
            if (o.allow_unknown &&
                (def.error() == Errc::unknown_object || def.error() == Errc::unknown_resource))
                continue;
            return fail(def.error());
        }
        LWM2M_TRY_VOID(check_multiplicity(**def, r.path));
        LWM2M_TRY(v, coerce(**def, std::move(r.value), flags));
        r.value = std::move(v);
    }
    return ok();
}

} // namespace lwm2m::format::detail
