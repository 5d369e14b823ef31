// SenML JSON (RFC 8428 §4-§5) as profiled by LwM2M TS Core 1.1 §7.4.4:
//   names: "bn" + "n" form the path; values: "v" numbers (Integer, Unsigned, Float, Time),
//   "vs" String / Corelnk, "vb" Boolean, "vd" Opaque (base64url without padding, RFC 8428 §4.3),
//   "vlo" Objlnk ("oid:iid", TS 1.1 §7.4.4); times "bt" + "t" (RFC 8428 §4.5.3).
#include <cmath>

#include "common.hpp"
#include "formats.hpp"
#include "json.hpp"
#include "senml.hpp"

namespace lwm2m::format::detail {
namespace {

Result<void> write_value(std::string& s, const dm::Value& v) {
    const auto& st = v.storage();
    switch (st.index()) {
    case 0:
        return ok(); // no value: a name-only record (Read-Composite request)
    case 1:
        if (!is_valid_utf8(v.as_string())) return fail(Errc::invalid_content);
        s.append(",\"vs\":");
        json_string(s, v.as_string());
        return ok();
    case 2:
        s.append(",\"v\":");
        append_integer(s, v.as_integer());
        return ok();
    case 3:
        s.append(",\"v\":");
        append_unsigned(s, v.as_unsigned());
        return ok();
    case 4:
        if (!std::isfinite(v.as_float())) return fail(Errc::invalid_content);
        s.append(",\"v\":");
        append_double(s, v.as_float());
        return ok();
    case 5:
        s.append(v.as_boolean() ? ",\"vb\":true" : ",\"vb\":false");
        return ok();
    case 6:
        s.append(R"(,"vd":")");
        append_base64(s, v.as_opaque(), Base64Alphabet::url, false); // RFC 8428 §4.3
        s.push_back('"');
        return ok();
    case 7:
        s.append(",\"v\":");
        append_integer(s, v.as_time());
        return ok();
    case 8:
        s.append(R"(,"vlo":")");
        append_objlnk(s, v.as_objlnk());
        s.push_back('"');
        return ok();
    default:
        if (!is_valid_utf8(v.as_corelnk())) return fail(Errc::invalid_content);
        s.append(",\"vs\":");
        json_string(s, v.as_corelnk());
        return ok();
    }
}

} // namespace

Result<void> senml_json_encode(const Leaves& recs, const dm::Path* base, const EncodeOptions& o,
                               Bytes& out) {
    const SenmlPlan plan = plan_senml(recs, base, o);
    std::string s;
    s.reserve(16 + recs.size() * 40);
    std::string name;
    s.push_back('[');
    bool first = true;
    for (const auto& r : recs) {
        if (!first) s.push_back(',');
        s.push_back('{');
        // Each member is written with a leading ','; the first one's comma is dropped below.
        const std::size_t open = s.size();
        if (first && !plan.bn.empty()) {
            s.append(",\"bn\":");
            json_string(s, plan.bn);
        }
        if (first && plan.use_bt) {
            if (!std::isfinite(plan.bt)) return fail(Errc::invalid_content);
            s.append(",\"bt\":");
            append_time(s, plan.bt);
        }
        LWM2M_TRY_VOID(senml_name(plan, r.path, name));
        if (!name.empty()) {
            s.append(",\"n\":");
            json_string(s, name);
        }
        if (r.time) {
            const double t = plan.use_bt ? *r.time - plan.bt : *r.time;
            if (!std::isfinite(t)) return fail(Errc::invalid_content);
            if (!plan.use_bt || t != 0) {
                s.append(",\"t\":");
                append_time(s, t);
            }
        }
        LWM2M_TRY_VOID(write_value(s, r.value));
        if (s.size() > open) s.erase(open, 1);
        s.push_back('}');
        first = false;
    }
    s.push_back(']');
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out.insert(out.end(), p, p + s.size());
    return ok();
}

Result<std::vector<dm::Record>> senml_json_decode(BytesView in, const DecodeOptions& o) {
    JsonReader j(as_string_view(in));
    std::vector<dm::Record> out;
    if (!j.eat('[')) return fail(Errc::malformed);
    NameResolver names;
    std::string bn;
    double bt = 0;
    bool any_bt = false;
    std::string key, n, str;
    if (!j.eat(']')) {
        do {
            if (out.size() >= o.max_records) return fail(Errc::limit_exceeded);
            if (!j.eat('{')) return fail(Errc::malformed);
            unsigned seen = 0;
            auto once = [&seen](unsigned bit) {
                if (seen & bit) return false;
                seen |= bit;
                return true;
            };
            n.clear();
            double t = 0;
            dm::Value v;
            int values = 0;
            if (!j.eat('}')) {
                do {
                    if (!j.string(key) || !j.eat(':')) return fail(Errc::malformed);
                    if (key == "bn") {
                        if (!once(1) || !j.string(bn)) return fail(Errc::malformed);
                        names.set_base(bn);
                    } else if (key == "n") {
                        if (!once(2) || !j.string(n)) return fail(Errc::malformed);
                    } else if (key == "bt") {
                        if (!once(4) || !j.number(bt) || !std::isfinite(bt))
                            return fail(Errc::malformed);
                        any_bt = true;
                    } else if (key == "t") {
                        if (!once(8) || !j.number(t) || !std::isfinite(t))
                            return fail(Errc::malformed);
                    } else if (key == "v") {
                        if (!once(16) || !j.number(v)) return fail(Errc::malformed);
                        ++values;
                    } else if (key == "vs") {
                        if (!once(32) || !j.string(str)) return fail(Errc::malformed);
                        v = dm::Value::string(std::move(str));
                        str = {};
                        ++values;
                    } else if (key == "vb") {
                        bool b = false;
                        if (!once(64) || !j.boolean(b)) return fail(Errc::malformed);
                        v = dm::Value::boolean(b);
                        ++values;
                    } else if (key == "vd") {
                        Bytes b;
                        if (!once(128) || !j.string(str) ||
                            !base64_decode(str, b, Base64Alphabet::url, o.lenient_base64))
                            return fail(Errc::malformed);
                        v = dm::Value::opaque(std::move(b));
                        ++values;
                    } else if (key == "vlo") {
                        dm::Objlnk l;
                        if (!once(256) || !j.string(str) || !parse_objlnk(str, l))
                            return fail(Errc::malformed);
                        v = dm::Value::objlnk(l.oid, l.iid);
                        ++values;
                    } else if (key == "bv" || key == "bs" || key == "s" || key == "bver") {
                        // Base value / sum are not used by LwM2M; rejecting them is safer than
                        // silently mis-adding (RFC 8428 §4.1). bver > 10 is not understood.
                        if (key == "bver") {
                            double ver = 0;
                            if (!once(512) || !j.number(ver) || ver > 10)
                                return fail(Errc::malformed);
                        } else {
                            return fail(Errc::malformed);
                        }
                    } else if (!key.empty() && key.back() == '_') {
                        return fail(Errc::malformed); // RFC 8428 §4.4: must-understand label
                    } else {
                        if (!j.skip()) return fail(Errc::malformed); // "u", "bu", "ut", extensions
                    }
                } while (j.eat(','));
                if (!j.eat('}')) return fail(Errc::malformed);
            }
            if (values > 1) return fail(Errc::malformed);
            LWM2M_TRY(path, names.resolve(n));
            push_record(out, path, std::move(v), any_bt || (seen & 8), bt + t, o);
        } while (j.eat(','));
        if (!j.eat(']')) return fail(Errc::malformed);
    }
    if (!j.at_end()) return fail(Errc::malformed);
    return out;
}

} // namespace lwm2m::format::detail
