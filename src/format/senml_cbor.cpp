// SenML CBOR (RFC 8428 §6) as profiled by LwM2M TS Core 1.1 §7.4.5: integer labels
// (bver -1, bn -2, bt -3, bu -4, bv -5, bs -6, n 0, u 1, v 2, vs 3, vb 4, s 5, t 6, ut 7, vd 8)
// and the text label "vlo" for Objlnk. Opaque is a CBOR byte string, numbers are CBOR integers
// (major 0/1) or the shortest exact float.
#include <cmath>

#include "cbor.hpp"
#include "common.hpp"
#include "formats.hpp"
#include "senml.hpp"

namespace lwm2m::format::detail {
namespace {
namespace label {
constexpr std::int64_t bver = -1, bn = -2, bt = -3, bv = -5, bs = -6, n = 0, v = 2, vs = 3, vb = 4,
                       s = 5, t = 6, vd = 8;
} // namespace label

void write_time(CborWriter& w, double t) {
    if (std::trunc(t) == t && std::fabs(t) < 9.0e15)
        w.int64(static_cast<std::int64_t>(t));
    else
        w.float64(t);
}

Result<void> write_value(CborWriter& w, const dm::Value& v) {
    const auto& st = v.storage();
    switch (st.index()) {
    case 0:
        return ok();
    case 1:
        w.int64(label::vs);
        w.text(v.as_string());
        return ok();
    case 2:
        w.int64(label::v);
        w.int64(v.as_integer());
        return ok();
    case 3:
        w.int64(label::v);
        w.uint64(v.as_unsigned());
        return ok();
    case 4:
        w.int64(label::v);
        w.float64(v.as_float());
        return ok();
    case 5:
        w.int64(label::vb);
        w.boolean(v.as_boolean());
        return ok();
    case 6:
        w.int64(label::vd);
        w.bytes(v.as_opaque());
        return ok();
    case 7:
        w.int64(label::v);
        w.int64(v.as_time());
        return ok();
    case 8: {
        std::string s;
        append_objlnk(s, v.as_objlnk());
        w.text("vlo");
        w.text(s);
        return ok();
    }
    default:
        w.int64(label::vs);
        w.text(v.as_corelnk());
        return ok();
    }
}

} // namespace

Result<void> senml_cbor_encode(const Leaves& recs, const dm::Path* base, const EncodeOptions& o,
                               Bytes& out) {
    const SenmlPlan plan = plan_senml(recs, base, o);
    CborWriter w(out);
    out.reserve(out.size() + 8 + recs.size() * 16);
    w.head(cbor::array, recs.size());
    std::string name;
    bool first = true;
    for (const auto& r : recs) {
        LWM2M_TRY_VOID(senml_name(plan, r.path, name));
        const bool bn = first && !plan.bn.empty();
        const bool bt = first && plan.use_bt;
        double t = 0;
        bool has_t = false;
        if (r.time) {
            t = plan.use_bt ? *r.time - plan.bt : *r.time;
            has_t = !plan.use_bt || t != 0;
        }
        const std::uint64_t count =
            std::uint64_t{bn} + bt + !name.empty() + has_t + !r.value.is_none();
        w.head(cbor::map, count);
        if (bn) {
            w.int64(label::bn);
            w.text(plan.bn);
        }
        if (bt) {
            w.int64(label::bt);
            write_time(w, plan.bt);
        }
        if (!name.empty()) {
            w.int64(label::n);
            w.text(name);
        }
        if (has_t) {
            w.int64(label::t);
            write_time(w, t);
        }
        LWM2M_TRY_VOID(write_value(w, r.value));
        first = false;
    }
    return ok();
}

Result<std::vector<dm::Record>> senml_cbor_decode(BytesView in, const DecodeOptions& o) {
    CborReader rd(in);
    LWM2M_TRY(count, rd.container(cbor::array));
    std::vector<dm::Record> out;
    if (count != cbor::indefinite)
        out.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(count, o.max_records)));
    NameResolver names;
    std::string scratch_n, scratch_k;
    double bt = 0;
    bool any_bt = false;
    for (std::uint64_t i = 0;; ++i) {
        if (count == cbor::indefinite) {
            if (rd.peek_break()) {
                rd.take_break();
                break;
            }
        } else if (i == count) {
            break;
        }
        if (out.size() >= o.max_records) return fail(Errc::limit_exceeded);
        LWM2M_TRY(fields, rd.container(cbor::map));
        std::string_view n;
        double t = 0;
        dm::Value v;
        int values = 0;
        unsigned seen = 0;
        auto once = [&seen](unsigned bit) {
            if (seen & bit) return false;
            seen |= bit;
            return true;
        };
        for (std::uint64_t k = 0;; ++k) {
            if (fields == cbor::indefinite) {
                if (rd.peek_break()) {
                    rd.take_break();
                    break;
                }
            } else if (k == fields) {
                break;
            }
            std::uint8_t major = 0;
            if (!rd.peek_major(major)) return fail(Errc::malformed);
            if (major == cbor::text) {
                LWM2M_TRY(key, rd.text_view(scratch_k));
                if (key == "vlo") {
                    LWM2M_TRY(s, rd.text());
                    dm::Objlnk l;
                    if (!once(256) || !parse_objlnk(s, l)) return fail(Errc::malformed);
                    v = dm::Value::objlnk(l.oid, l.iid);
                    ++values;
                } else if (!key.empty() && key.back() == '_') {
                    return fail(Errc::malformed); // RFC 8428 §4.4
                } else {
                    LWM2M_TRY_VOID(rd.skip());
                }
                continue;
            }
            std::int64_t key = 0;
            if (!rd.int64(key)) return fail(Errc::malformed);
            switch (key) {
            case label::bn: {
                if (!once(1)) return fail(Errc::malformed);
                LWM2M_TRY(s, rd.text_view(scratch_k));
                names.set_base(s);
                break;
            }
            case label::n: {
                if (!once(2)) return fail(Errc::malformed);
                LWM2M_TRY(s, rd.text_view(scratch_n));
                n = s;
                break;
            }
            case label::bt: {
                if (!once(4)) return fail(Errc::malformed);
                LWM2M_TRY(d, rd.real());
                bt = d;
                any_bt = true;
                break;
            }
            case label::t: {
                if (!once(8)) return fail(Errc::malformed);
                LWM2M_TRY(d, rd.real());
                t = d;
                break;
            }
            case label::v: {
                if (!once(16)) return fail(Errc::malformed);
                LWM2M_TRY(x, rd.number());
                if (const auto* f = std::get_if<double>(&x.storage()); f && !std::isfinite(*f))
                    return fail(Errc::malformed);
                v = std::move(x);
                ++values;
                break;
            }
            case label::vs: {
                if (!once(32)) return fail(Errc::malformed);
                LWM2M_TRY(s, rd.text());
                v = dm::Value::string(std::move(s));
                ++values;
                break;
            }
            case label::vb: {
                if (!once(64)) return fail(Errc::malformed);
                LWM2M_TRY(x, rd.scalar());
                if (!std::holds_alternative<bool>(x.storage())) return fail(Errc::malformed);
                v = std::move(x);
                ++values;
                break;
            }
            case label::vd: {
                if (!once(128)) return fail(Errc::malformed);
                LWM2M_TRY(b, rd.bytes());
                v = dm::Value::opaque(std::move(b));
                ++values;
                break;
            }
            case label::bver: {
                if (!once(512)) return fail(Errc::malformed);
                LWM2M_TRY(d, rd.real());
                if (d > 10) return fail(Errc::malformed);
                break;
            }
            case label::bv:
            case label::bs:
            case label::s:
                return fail(Errc::malformed); // not used by LwM2M, see senml_json.cpp
            default: // "u", "bu", "ut" and registered extensions (RFC 8428 §12.2)
                LWM2M_TRY_VOID(rd.skip());
                break;
            }
        }
        if (values > 1) return fail(Errc::malformed);
        LWM2M_TRY(path, names.resolve(n));
        push_record(out, path, std::move(v), any_bt || (seen & 8), bt + t, o);
    }
    if (!rd.at_end()) return fail(Errc::malformed);
    return out;
}

} // namespace lwm2m::format::detail
