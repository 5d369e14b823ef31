// LwM2M CBOR (LwM2M TS Core 1.2 §7.4.6, application/vnd.oma.lwm2m+cbor): nested CBOR maps keyed by
// path ids from the root; a key is an unsigned integer (one id) or an array of unsigned integers
// (several ids), a value is a nested map or a resource value:
//   {[3, 0]: {0: "Open Mobile Alliance", 6: {0: 1, 1: 5}, 13: 1367491215}}
// Values: Integer/Time as major 0/1 (Time also accepted with tag 1), Unsigned as major 0, Float
// as the shortest exact float, Boolean, String/Corelnk/Objlnk ("oid:iid") as text, Opaque as a
// byte string, null for "no value" (composite requests). No timestamps.
#include <algorithm>
#include <cmath>

#include "cbor.hpp"
#include "common.hpp"
#include "formats.hpp"

namespace lwm2m::format::detail {
namespace {

int path_id(const dm::Path& p, int k) {
    switch (k) {
    case 0:
        return p.oid().v;
    case 1:
        return p.iid().v;
    case 2:
        return p.rid().v;
    default:
        return p.riid().v;
    }
}

bool path_less(const dm::Path& a, const dm::Path& b) {
    const int n = std::min(a.depth(), b.depth());
    for (int k = 0; k < n; ++k) {
        const int x = path_id(a, k), y = path_id(b, k);
        if (x != y) return x < y;
    }
    return a.depth() < b.depth();
}

void write_value(CborWriter& w, const dm::Value& v) {
    const auto& st = v.storage();
    switch (st.index()) {
    case 0:
        w.null();
        return;
    case 1:
        w.text(v.as_string());
        return;
    case 2:
        w.int64(v.as_integer());
        return;
    case 3:
        w.uint64(v.as_unsigned());
        return;
    case 4:
        w.float64(v.as_float());
        return;
    case 5:
        w.boolean(v.as_boolean());
        return;
    case 6:
        w.bytes(v.as_opaque());
        return;
    case 7:
        w.int64(v.as_time());
        return;
    case 8: {
        std::string s;
        append_objlnk(s, v.as_objlnk());
        w.text(s);
        return;
    }
    default:
        w.text(v.as_corelnk());
        return;
    }
}

using It = std::vector<const LeafRef*>::const_iterator;

// Encodes the records [b, e), which share their first `d` ids, as one map.
void write_map(CborWriter& w, It b, It e, int d) {
    std::uint64_t groups = 0;
    for (auto i = b; i != e;) {
        const int id = path_id((*i)->path, d);
        while (i != e && path_id((*i)->path, d) == id)
            ++i;
        ++groups;
    }
    w.head(cbor::map, groups);
    for (auto i = b; i != e;) {
        const int id = path_id((*i)->path, d);
        auto g = i;
        while (g != e && path_id((*g)->path, d) == id)
            ++g;
        // Extend the key while every record of the group shares the next id and none ends there.
        int k = d + 1;
        if (g - i == 1) k = (*i)->path.depth(); // a single leaf: the whole rest of the path
        while (g - i > 1) {
            bool extend = true;
            for (auto x = i; x != g && extend; ++x)
                extend =
                    (*x)->path.depth() > k + 1 && path_id((*x)->path, k) == path_id((*i)->path, k);
            if (!extend) break;
            ++k;
        }
        if (k == d + 1) {
            w.uint64(static_cast<std::uint64_t>(id));
        } else {
            w.head(cbor::array, static_cast<std::uint64_t>(k - d));
            for (int x = d; x < k; ++x)
                w.uint64(static_cast<std::uint64_t>(path_id((*i)->path, x)));
        }
        if (g - i == 1 && (*i)->path.depth() == k)
            write_value(w, (*i)->value);
        else
            write_map(w, i, g, k);
        i = g;
    }
}

struct DecodeCtx {
    CborReader& rd;
    const DecodeOptions& o;
    std::vector<dm::Record>& out;
};

dm::Path make_path(const std::uint16_t* ids, int n) {
    switch (n) {
    case 1:
        return dm::Path(Oid{ids[0]});
    case 2:
        return {Oid{ids[0]}, Iid{ids[1]}};
    case 3:
        return {Oid{ids[0]}, Iid{ids[1]}, Rid{ids[2]}};
    default:
        return {Oid{ids[0]}, Iid{ids[1]}, Rid{ids[2]}, Riid{ids[3]}};
    }
}

Result<void> read_id(CborReader& rd, std::uint16_t& id) {
    LWM2M_TRY(h, rd.head());
    if (h.major != cbor::uint_ || h.arg > 0xFFFF) return fail(Errc::malformed);
    id = static_cast<std::uint16_t>(h.arg);
    return ok();
}

Result<void> read_map(DecodeCtx& c, std::uint16_t* ids, int d) {
    LWM2M_TRY(count, c.rd.container(cbor::map));
    for (std::uint64_t i = 0;; ++i) {
        if (count == cbor::indefinite) {
            if (c.rd.peek_break()) {
                c.rd.take_break();
                return ok();
            }
        } else if (i == count) {
            return ok();
        }
        // Key: one id or an array of ids.
        std::uint8_t major = 0;
        if (!c.rd.peek_major(major)) return fail(Errc::malformed);
        int k = d;
        if (major == cbor::uint_) {
            if (k >= 4) return fail(Errc::malformed);
            LWM2M_TRY_VOID(read_id(c.rd, ids[k]));
            ++k;
        } else if (major == cbor::array) {
            LWM2M_TRY(n, c.rd.container(cbor::array));
            if (n == cbor::indefinite || n == 0 || n > static_cast<std::uint64_t>(4 - d))
                return fail(Errc::malformed);
            for (std::uint64_t x = 0; x < n; ++x) {
                LWM2M_TRY_VOID(read_id(c.rd, ids[k]));
                ++k;
            }
        } else {
            return fail(Errc::malformed);
        }
        if (k >= 2 && ids[1] == 0xFFFF) return fail(Errc::malformed);
        if (!c.rd.peek_major(major)) return fail(Errc::malformed);
        if (major == cbor::map) {
            if (k >= 4) return fail(Errc::malformed);
            LWM2M_TRY_VOID(read_map(c, ids, k));
            continue;
        }
        if (c.out.size() >= c.o.max_records) return fail(Errc::limit_exceeded);
        LWM2M_TRY(v, c.rd.scalar());
        if (const auto* f = std::get_if<double>(&v.storage()); f && !std::isfinite(*f))
            return fail(Errc::malformed);
        c.out.push_back(dm::Record{make_path(ids, k), std::move(v), std::nullopt});
    }
}

} // namespace

Result<void> lwm2m_cbor_encode(const Leaves& recs, Bytes& out) {
    std::vector<const LeafRef*> sorted;
    sorted.reserve(recs.size());
    for (const auto& r : recs) {
        if (r.time) return fail(Errc::invalid_content); // no timestamps in LwM2M CBOR
        if (r.path.depth() == 0) return fail(Errc::invalid_content);
        sorted.push_back(&r);
    }
    if (!std::is_sorted(sorted.begin(), sorted.end(), [](const LeafRef* a, const LeafRef* b) {
            return path_less(a->path, b->path);
        }))
        std::stable_sort(sorted.begin(), sorted.end(), [](const LeafRef* a, const LeafRef* b) {
            return path_less(a->path, b->path);
        });
    // A path that is another's prefix (or a duplicate) cannot be both a value and a map.
    for (std::size_t i = 1; i < sorted.size(); ++i) {
        const dm::Path& a = sorted[i - 1]->path;
        const dm::Path& b = sorted[i]->path;
        bool prefix = a.depth() <= b.depth();
        for (int k = 0; k < a.depth() && prefix; ++k)
            prefix = path_id(a, k) == path_id(b, k);
        if (prefix) return fail(Errc::invalid_content);
    }
    CborWriter w(out);
    out.reserve(out.size() + 8 + recs.size() * 12);
    write_map(w, sorted.cbegin(), sorted.cend(), 0);
    return ok();
}

Result<std::vector<dm::Record>> lwm2m_cbor_decode(BytesView in, const DecodeOptions& o) {
    CborReader rd(in);
    std::vector<dm::Record> out;
    DecodeCtx c{rd, o, out};
    std::uint16_t ids[4] = {0, 0, 0, 0};
    LWM2M_TRY_VOID(read_map(c, ids, 0));
    if (!rd.at_end()) return fail(Errc::malformed);
    return out;
}

} // namespace lwm2m::format::detail
