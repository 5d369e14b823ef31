// text/plain (LwM2M TS Core 1.1 §7.4.1) and application/octet-stream (§7.4.2): a single-instance
// resource or one resource instance only.
#include <cmath>

#include "common.hpp"
#include "formats.hpp"

namespace lwm2m::format::detail {
namespace {

const dm::Value* single_value(const dm::Content& c) {
    if (c.path.depth() == 4) return std::get_if<dm::Value>(&c.node);
    if (c.path.depth() == 3) {
        const auto* r = std::get_if<dm::Resource>(&c.node);
        if (r != nullptr && !r->multiple) return &r->value;
    }
    return nullptr;
}

void append_str(Bytes& out, std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out.insert(out.end(), p, p + s.size());
}

// Shared target check: the target must address one value of the definition. nullptr: the
// resource is unknown and the caller allows unknown resources (the value stays untyped).
Result<const dm::ResourceDef*> leaf_def(const dm::Path& target, const dm::ObjectRegistry& reg,
                                        const DecodeOptions& o) {
    if (target.depth() < 3) return fail(Errc::format_not_allowed);
    auto found = lookup(reg, target.oid().v, target.rid().v);
    if (!found && o.allow_unknown) return static_cast<const dm::ResourceDef*>(nullptr);
    LWM2M_TRY(def, found);
    if (target.depth() == 3 && def->multiple) return fail(Errc::format_not_allowed);
    if (target.depth() == 4 && !def->multiple) return fail(Errc::structure_mismatch);
    return def;
}

dm::Content make_leaf(const dm::Path& target, dm::Value v) {
    dm::Content c;
    c.path = target;
    if (target.depth() == 3)
        c.node = dm::Resource::single(target.rid().v, std::move(v));
    else
        c.node = std::move(v);
    return c;
}

} // namespace

Result<void> text_encode(const dm::Content& c, Bytes& out) {
    if (c.path.depth() < 3) return fail(Errc::unsupported_level);
    if (!node_matches_path(c)) return fail(Errc::invalid_content);
    const dm::Value* v = single_value(c);
    if (v == nullptr) return fail(Errc::unsupported_level); // multiple resource
    std::string s;
    struct V {
        std::string& s;
        bool operator()(std::monostate) const { return false; }
        bool operator()(const std::string& x) const {
            s = x;
            return true;
        }
        bool operator()(std::int64_t i) const {
            append_integer(s, i);
            return true;
        }
        bool operator()(std::uint64_t u) const {
            append_unsigned(s, u);
            return true;
        }
        bool operator()(double d) const {
            if (!std::isfinite(d)) return false;
            append_double(s, d);
            return true;
        }
        bool operator()(bool b) const {
            s.push_back(b ? '1' : '0');
            return true;
        }
        bool operator()(const Bytes& b) const {
            append_base64(s, b);
            return true;
        }
        bool operator()(dm::Time t) const {
            append_integer(s, t.seconds);
            return true;
        }
        bool operator()(dm::Objlnk l) const {
            append_objlnk(s, l);
            return true;
        }
        bool operator()(const dm::Corelnk& l) const {
            s = l.text;
            return true;
        }
    };
    if (!std::visit(V{s}, v->storage())) return fail(Errc::invalid_content);
    append_str(out, s);
    return ok();
}

Result<dm::Content> text_decode(BytesView in, const dm::Path& target, const dm::ObjectRegistry& reg,
                                const DecodeOptions& o) {
    LWM2M_TRY(def, leaf_def(target, reg, o));
    const std::string_view s = as_string_view(in);
    if (def == nullptr) { // unknown resource, allowed: untyped text
        if (!is_valid_utf8(s)) return fail(Errc::type_mismatch);
        return make_leaf(target, dm::Value::string(std::string(s)));
    }
    using T = dm::DataType;
    dm::Value v;
    switch (def->type) {
    case T::string:
    case T::corelnk:
        if (!is_valid_utf8(s)) return fail(Errc::type_mismatch);
        v = def->type == T::string ? dm::Value::string(std::string(s))
                                   : dm::Value::corelnk(std::string(s));
        break;
    case T::integer:
    case T::time: {
        auto i = dm::parse_text(def->type, s);
        if (!i) {
            dm::Value n;
            if (parse_number(s, n) && !std::holds_alternative<double>(n.storage()))
                return fail(Errc::out_of_range);
            return fail(Errc::type_mismatch);
        }
        v = std::move(*i);
        break;
    }
    case T::unsigned_integer: {
        std::uint64_t u = 0;
        if (!parse_uint64(s, u)) {
            if (!s.empty() && s[0] == '-') return fail(Errc::out_of_range);
            return fail(Errc::type_mismatch);
        }
        v = dm::Value::unsigned_integer(u);
        break;
    }
    case T::float_: {
        dm::Value n;
        if (!parse_number(s, n)) return fail(Errc::type_mismatch);
        LWM2M_TRY(f, coerce(*def, std::move(n)));
        v = std::move(f);
        break;
    }
    case T::boolean:
        if (s == "0")
            v = dm::Value::boolean(false);
        else if (s == "1")
            v = dm::Value::boolean(true);
        else
            return fail(Errc::type_mismatch);
        break;
    case T::opaque: {
        // TS 1.1 §7.4.1: Opaque in text/plain is base64 (RFC 4648 §4).
        Bytes b;
        if (!base64_decode(s, b, Base64Alphabet::standard, o.lenient_base64))
            return fail(Errc::type_mismatch);
        v = dm::Value::opaque(std::move(b));
        break;
    }
    case T::objlnk: {
        dm::Objlnk l;
        if (!parse_objlnk(s, l)) return fail(Errc::type_mismatch);
        v = dm::Value::objlnk(l.oid, l.iid);
        break;
    }
    case T::none:
        return fail(Errc::type_mismatch);
    }
    return make_leaf(target, std::move(v));
}

Result<void> opaque_encode(const dm::Content& c, Bytes& out) {
    if (c.path.depth() < 3) return fail(Errc::unsupported_level);
    if (!node_matches_path(c)) return fail(Errc::invalid_content);
    const dm::Value* v = single_value(c);
    if (v == nullptr) return fail(Errc::unsupported_level);
    const auto* b = std::get_if<Bytes>(&v->storage());
    if (b == nullptr) return fail(Errc::unsupported_level); // TS 1.1 §7.4.2: Opaque resources only
    out.insert(out.end(), b->begin(), b->end());
    return ok();
}

Result<dm::Content> opaque_decode(BytesView in, const dm::Path& target,
                                  const dm::ObjectRegistry& reg, const DecodeOptions& o) {
    LWM2M_TRY(def, leaf_def(target, reg, o));
    if (def != nullptr && def->type != dm::DataType::opaque) return fail(Errc::format_not_allowed);
    return make_leaf(target, dm::Value::opaque(Bytes(in.begin(), in.end())));
}

} // namespace lwm2m::format::detail
