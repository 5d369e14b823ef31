// LwM2M JSON (LwM2M TS Core 1.0 §6.4.4, 1.1 §7.4.6, application/vnd.oma.lwm2m+json):
//   {"bn":"/3/0/","bt":1.5e9,"e":[{"n":"0","sv":"..."},{"n":"6/0","v":1},{"n":"5","bv":true,"t":-5}]}
// Values: "v" numbers (Integer, Unsigned, Float, Time), "bv" Boolean, "sv" String / Corelnk /
// Opaque (base64, RFC 4648 §4), "ov" Objlnk ("oid:iid"). "t" is relative to "bt".
#include <cmath>

#include "common.hpp"
#include "formats.hpp"
#include "json.hpp"
#include "senml.hpp"

namespace lwm2m::format::detail {

Result<void> lwm2m_json_encode(const Leaves& recs, const dm::Path* base, const EncodeOptions& o,
                               Bytes& out) {
    SenmlPlan plan = plan_senml(recs, base, o);
    std::string s;
    s.reserve(32 + recs.size() * 40);
    s.push_back('{');
    std::size_t open = s.size();
    if (!plan.bn.empty()) {
        s.append(",\"bn\":");
        json_string(s, plan.bn);
    }
    if (plan.use_bt) {
        if (!std::isfinite(plan.bt)) return fail(Errc::invalid_content);
        s.append(",\"bt\":");
        append_time(s, plan.bt);
    }
    s.append(",\"e\":[");
    s.erase(open, 1);
    std::string name;
    bool first = true;
    for (const auto& r : recs) {
        if (!first) s.push_back(',');
        first = false;
        s.push_back('{');
        open = s.size();
        LWM2M_TRY_VOID(senml_name(plan, r.path, name));
        if (!name.empty()) {
            s.append(",\"n\":");
            json_string(s, name);
        }
        const auto& v = r.value;
        switch (v.storage().index()) {
        case 0:
            break;
        case 1:
            if (!is_valid_utf8(v.as_string())) return fail(Errc::invalid_content);
            s.append(",\"sv\":");
            json_string(s, v.as_string());
            break;
        case 2:
            s.append(",\"v\":");
            append_integer(s, v.as_integer());
            break;
        case 3:
            s.append(",\"v\":");
            append_unsigned(s, v.as_unsigned());
            break;
        case 4:
            if (!std::isfinite(v.as_float())) return fail(Errc::invalid_content);
            s.append(",\"v\":");
            append_double(s, v.as_float());
            break;
        case 5:
            s.append(v.as_boolean() ? ",\"bv\":true" : ",\"bv\":false");
            break;
        case 6:
            s.append(R"(,"sv":")");
            append_base64(s, v.as_opaque());
            s.push_back('"');
            break;
        case 7:
            s.append(",\"v\":");
            append_integer(s, v.as_time());
            break;
        case 8:
            s.append(R"(,"ov":")");
            append_objlnk(s, v.as_objlnk());
            s.push_back('"');
            break;
        default:
            if (!is_valid_utf8(v.as_corelnk())) return fail(Errc::invalid_content);
            s.append(",\"sv\":");
            json_string(s, v.as_corelnk());
            break;
        }
        if (r.time) {
            const double t = plan.use_bt ? *r.time - plan.bt : *r.time;
            if (!std::isfinite(t)) return fail(Errc::invalid_content);
            if (!plan.use_bt || t != 0) {
                s.append(",\"t\":");
                append_time(s, t);
            }
        }
        if (s.size() > open) s.erase(open, 1);
        s.push_back('}');
    }
    s.append("]}");
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out.insert(out.end(), p, p + s.size());
    return ok();
}

Result<std::vector<dm::Record>> lwm2m_json_decode(BytesView in, const DecodeOptions& o) {
    JsonReader j(as_string_view(in));
    if (!j.eat('{')) return fail(Errc::malformed);
    std::string bn;
    double bt = 0;
    bool have_bn = false, have_bt = false, have_e = false;
    struct Entry {
        std::string n;
        dm::Value v;
        std::optional<double> t;
    };
    std::vector<Entry> entries;
    std::string key, str;
    if (!j.eat('}')) {
        do {
            if (!j.string(key) || !j.eat(':')) return fail(Errc::malformed);
            if (key == "bn") {
                if (have_bn || !j.string(bn)) return fail(Errc::malformed);
                have_bn = true;
            } else if (key == "bt") {
                if (have_bt || !j.number(bt) || !std::isfinite(bt)) return fail(Errc::malformed);
                have_bt = true;
            } else if (key == "e") {
                if (have_e || !j.eat('[')) return fail(Errc::malformed);
                have_e = true;
                if (j.eat(']')) continue;
                do {
                    if (entries.size() >= o.max_records) return fail(Errc::limit_exceeded);
                    if (!j.eat('{')) return fail(Errc::malformed);
                    Entry e;
                    int values = 0;
                    unsigned seen = 0;
                    auto once = [&seen](unsigned bit) {
                        if (seen & bit) return false;
                        seen |= bit;
                        return true;
                    };
                    if (!j.eat('}')) {
                        do {
                            if (!j.string(key) || !j.eat(':')) return fail(Errc::malformed);
                            if (key == "n") {
                                if (!once(1) || !j.string(e.n)) return fail(Errc::malformed);
                            } else if (key == "t") {
                                double t = 0;
                                if (!once(2) || !j.number(t) || !std::isfinite(t))
                                    return fail(Errc::malformed);
                                e.t = t;
                            } else if (key == "v") {
                                if (!once(4) || !j.number(e.v)) return fail(Errc::malformed);
                                ++values;
                            } else if (key == "sv") {
                                if (!once(8) || !j.string(str)) return fail(Errc::malformed);
                                e.v = dm::Value::string(std::move(str));
                                str = {};
                                ++values;
                            } else if (key == "bv") {
                                bool b = false;
                                if (!once(16) || !j.boolean(b)) return fail(Errc::malformed);
                                e.v = dm::Value::boolean(b);
                                ++values;
                            } else if (key == "ov") {
                                dm::Objlnk l;
                                if (!once(32) || !j.string(str) || !parse_objlnk(str, l))
                                    return fail(Errc::malformed);
                                e.v = dm::Value::objlnk(l.oid, l.iid);
                                ++values;
                            } else {
                                if (!j.skip()) return fail(Errc::malformed);
                            }
                        } while (j.eat(','));
                        if (!j.eat('}')) return fail(Errc::malformed);
                    }
                    if (values > 1) return fail(Errc::malformed);
                    entries.push_back(std::move(e));
                } while (j.eat(','));
                if (!j.eat(']')) return fail(Errc::malformed);
            } else {
                if (!j.skip()) return fail(Errc::malformed);
            }
        } while (j.eat(','));
        if (!j.eat('}')) return fail(Errc::malformed);
    }
    if (!j.at_end() || !have_e) return fail(Errc::malformed);
    std::vector<dm::Record> out;
    out.reserve(entries.size());
    for (auto& e : entries) {
        LWM2M_TRY(path, senml_resolve(bn, e.n));
        dm::Record r{path, std::move(e.v), std::nullopt};
        if (have_bt || e.t) r.time = resolve_time(bt + e.t.value_or(0), o);
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace lwm2m::format::detail
