// LwM2M TLV (LwM2M TS Core 1.1 §7.4.3; TS 1.0 §6.4.3).
//
// Header: byte 0 = type (bits 7-6: 00 object instance, 01 resource instance, 10 multiple
// resource, 11 resource with value) | id length (bit 5: 0 = 8 bits, 1 = 16 bits) | length type
// (bits 4-3: 00 = length in bits 2-0, 01/10/11 = 8/16/24-bit length field follows the id).
#include <cmath>
#include <cstring>

#include "common.hpp"
#include "formats.hpp"

namespace lwm2m::format::detail {
namespace {

enum class TlvType : std::uint8_t {
    object_instance = 0,
    resource_instance = 1,
    multiple_resource = 2,
    resource = 3
};

// ---------- encoding ----------

std::size_t int_len(std::int64_t v) {
    if (v >= INT8_MIN && v <= INT8_MAX) return 1;
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}
std::size_t uint_len(std::uint64_t v) {
    if (v <= 0xFF) return 1;
    if (v <= 0xFFFF) return 2;
    if (v <= 0xFFFFFFFFu) return 4;
    return 8;
}
bool float_exact(double d) {
    // TS 1.1 §7.4.3: Float is 4 or 8 bytes; the shorter when it holds the value exactly.
    if (std::isnan(d)) return true;
    return static_cast<double>(static_cast<float>(d)) == d;
}

Result<std::size_t> value_len(const dm::Value& v) {
    struct V {
        Result<std::size_t> operator()(std::monostate) const { return fail(Errc::invalid_content); }
        Result<std::size_t> operator()(const std::string& s) const { return s.size(); }
        Result<std::size_t> operator()(std::int64_t i) const { return int_len(i); }
        Result<std::size_t> operator()(std::uint64_t u) const { return uint_len(u); }
        Result<std::size_t> operator()(double d) const {
            return std::size_t{float_exact(d) ? 4u : 8u};
        }
        Result<std::size_t> operator()(bool) const { return std::size_t{1}; }
        Result<std::size_t> operator()(const Bytes& b) const { return b.size(); }
        Result<std::size_t> operator()(dm::Time t) const { return int_len(t.seconds); }
        Result<std::size_t> operator()(dm::Objlnk) const { return std::size_t{4}; }
        Result<std::size_t> operator()(const dm::Corelnk& c) const { return c.text.size(); }
    };
    return std::visit(V{}, v.storage());
}

std::size_t header_len(std::uint16_t id, std::size_t len) {
    std::size_t n = 1 + (id > 0xFF ? 2 : 1);
    if (len < 8) return n;
    if (len <= 0xFF) return n + 1;
    if (len <= 0xFFFF) return n + 2;
    return n + 3;
}

void put_be(Bytes& out, std::uint64_t v, std::size_t n) {
    for (std::size_t k = n; k-- > 0;)
        out.push_back(static_cast<std::byte>((v >> (8 * k)) & 0xFF));
}

Result<void> put_header(Bytes& out, TlvType t, std::uint16_t id, std::size_t len) {
    if (len > 0xFFFFFF) return fail(Errc::invalid_content); // TS: at most 16.7 MB
    auto b = static_cast<std::uint8_t>(static_cast<std::uint8_t>(t) << 6);
    if (id > 0xFF) b |= 0x20;
    std::size_t lf = 0;
    if (len < 8)
        b |= static_cast<std::uint8_t>(len);
    else if (len <= 0xFF) {
        b |= 0x08;
        lf = 1;
    } else if (len <= 0xFFFF) {
        b |= 0x10;
        lf = 2;
    } else {
        b |= 0x18;
        lf = 3;
    }
    out.push_back(static_cast<std::byte>(b));
    put_be(out, id, id > 0xFF ? 2 : 1);
    put_be(out, len, lf);
    return ok();
}

void put_value(Bytes& out, const dm::Value& v, std::size_t len) {
    struct V {
        Bytes& out;
        std::size_t len;
        void operator()(std::monostate) const {}
        void operator()(const std::string& s) const {
            const auto* p = reinterpret_cast<const std::byte*>(s.data());
            out.insert(out.end(), p, p + s.size());
        }
        void operator()(std::int64_t i) const { put_be(out, static_cast<std::uint64_t>(i), len); }
        void operator()(std::uint64_t u) const { put_be(out, u, len); }
        void operator()(double d) const {
            if (len == 4) {
                const auto f = static_cast<float>(d);
                std::uint32_t bits;
                std::memcpy(&bits, &f, 4);
                put_be(out, bits, 4);
            } else {
                std::uint64_t bits;
                std::memcpy(&bits, &d, 8);
                put_be(out, bits, 8);
            }
        }
        void operator()(bool b) const { out.push_back(static_cast<std::byte>(b ? 1 : 0)); }
        void operator()(const Bytes& b) const { out.insert(out.end(), b.begin(), b.end()); }
        void operator()(dm::Time t) const {
            put_be(out, static_cast<std::uint64_t>(t.seconds), len);
        }
        void operator()(dm::Objlnk l) const {
            put_be(out, l.oid, 2);
            put_be(out, l.iid, 2);
        }
        void operator()(const dm::Corelnk& c) const { (*this)(c.text); }
    };
    std::visit(V{out, len}, v.storage());
}

Result<void> put_leaf(Bytes& out, TlvType t, std::uint16_t id, const dm::Value& v) {
    LWM2M_TRY(len, value_len(v));
    LWM2M_TRY_VOID(put_header(out, t, id, len));
    put_value(out, v, len);
    return ok();
}

Result<std::size_t> resource_body_len(const dm::Resource& r) {
    if (!r.multiple) return value_len(r.value);
    std::size_t n = 0;
    for (const auto& [riid, v] : r.instances) {
        LWM2M_TRY(l, value_len(v));
        n += header_len(riid, l) + l;
    }
    return n;
}

Result<void> put_resource(Bytes& out, const dm::Resource& r) {
    if (!r.multiple) return put_leaf(out, TlvType::resource, r.id, r.value);
    LWM2M_TRY(len, resource_body_len(r));
    LWM2M_TRY_VOID(put_header(out, TlvType::multiple_resource, r.id, len));
    for (const auto& [riid, v] : r.instances)
        LWM2M_TRY_VOID(put_leaf(out, TlvType::resource_instance, riid, v));
    return ok();
}

Result<void> put_instance_body(Bytes& out, const dm::Instance& i) {
    for (const auto& [rid, r] : i.resources) {
        if (r.id != rid) return fail(Errc::invalid_content);
        LWM2M_TRY_VOID(put_resource(out, r));
    }
    return ok();
}

Result<std::size_t> instance_body_len(const dm::Instance& i) {
    std::size_t n = 0;
    for (const auto& [rid, r] : i.resources) {
        LWM2M_TRY(l, resource_body_len(r));
        n += header_len(rid, l) + l;
    }
    return n;
}

// ---------- decoding ----------

struct Entry {
    TlvType type;
    std::uint16_t id;
    BytesView value;
};

std::uint64_t get_be(BytesView b) {
    std::uint64_t v = 0;
    for (std::byte x : b)
        v = (v << 8) | std::to_integer<std::uint64_t>(x);
    return v;
}

class Reader {
public:
    Reader(BytesView in, std::size_t& budget)
        : in_(in)
        , budget_(budget) {}
    [[nodiscard]] bool done() const { return pos_ >= in_.size(); }
    Result<Entry> next() {
        if (budget_ == 0) return fail(Errc::limit_exceeded);
        --budget_;
        const std::size_t left = in_.size() - pos_;
        if (left < 2) return fail(Errc::malformed);
        const auto b = std::to_integer<std::uint8_t>(in_[pos_]);
        const std::size_t idn = (b & 0x20) ? 2 : 1;
        const std::size_t lt = (b >> 3) & 0x03;
        const std::size_t hdr = 1 + idn + lt;
        if (left < hdr) return fail(Errc::malformed);
        Entry e;
        e.type = static_cast<TlvType>(b >> 6);
        e.id = static_cast<std::uint16_t>(get_be(in_.subspan(pos_ + 1, idn)));
        const std::size_t len = lt == 0 ? (b & 0x07) : get_be(in_.subspan(pos_ + 1 + idn, lt));
        if (left - hdr < len) return fail(Errc::malformed);
        e.value = in_.subspan(pos_ + hdr, len);
        pos_ += hdr + len;
        return e;
    }

private:
    BytesView in_;
    std::size_t pos_ = 0;
    std::size_t& budget_;
};

std::int64_t sign_extend(std::uint64_t v, std::size_t n) {
    if (n == 8) return static_cast<std::int64_t>(v);
    const std::uint64_t sign = std::uint64_t{1} << (8 * n - 1);
    return static_cast<std::int64_t>((v ^ sign) - sign);
}

bool int_size(std::size_t n) {
    return n == 1 || n == 2 || n == 4 || n == 8;
}

Result<dm::Value> decode_value(const dm::ResourceDef& def, BytesView b) {
    using T = dm::DataType;
    switch (def.type) {
    case T::string:
    case T::corelnk: {
        std::string s(as_string_view(b));
        if (!is_valid_utf8(s)) return fail(Errc::type_mismatch);
        if (def.type == T::string) return dm::Value::string(std::move(s));
        return dm::Value::corelnk(std::move(s));
    }
    case T::integer:
        if (!int_size(b.size())) return fail(Errc::type_mismatch);
        return dm::Value::integer(sign_extend(get_be(b), b.size()));
    case T::time:
        if (!int_size(b.size())) return fail(Errc::type_mismatch);
        return dm::Value::time(sign_extend(get_be(b), b.size()));
    case T::unsigned_integer:
        if (!int_size(b.size())) return fail(Errc::type_mismatch);
        return dm::Value::unsigned_integer(get_be(b));
    case T::float_:
        if (b.size() == 4) {
            const auto bits = static_cast<std::uint32_t>(get_be(b));
            float f;
            std::memcpy(&f, &bits, 4);
            return dm::Value::float_(static_cast<double>(f));
        }
        if (b.size() == 8) {
            const std::uint64_t bits = get_be(b);
            double d;
            std::memcpy(&d, &bits, 8);
            return dm::Value::float_(d);
        }
        return fail(Errc::type_mismatch);
    case T::boolean:
        if (b.size() != 1) return fail(Errc::type_mismatch);
        if (b[0] == std::byte{0}) return dm::Value::boolean(false);
        if (b[0] == std::byte{1}) return dm::Value::boolean(true);
        return fail(Errc::type_mismatch);
    case T::opaque:
        return dm::Value::opaque(Bytes(b.begin(), b.end()));
    case T::objlnk:
        if (b.size() != 4) return fail(Errc::type_mismatch);
        return dm::Value::objlnk(static_cast<std::uint16_t>(get_be(b.subspan(0, 2))),
                                 static_cast<std::uint16_t>(get_be(b.subspan(2, 2))));
    case T::none:
        break;
    }
    return fail(Errc::type_mismatch);
}

// An unknown resource kept untyped (DecodeOptions::allow_unknown): TLV carries no type, so the
// values stay Opaque (the raw bytes); the TLV entry type tells single from multiple.
Result<dm::Resource> decode_untyped_resource(const Entry& e, std::size_t& budget) {
    if (e.type == TlvType::resource)
        return dm::Resource::single(e.id, dm::Value::opaque(Bytes(e.value.begin(), e.value.end())));
    if (e.type != TlvType::multiple_resource) return fail(Errc::malformed);
    dm::Resource r = dm::Resource::multi(e.id);
    Reader rd(e.value, budget);
    while (!rd.done()) {
        LWM2M_TRY(ie, rd.next());
        if (ie.type != TlvType::resource_instance) return fail(Errc::malformed);
        if (!r.instances
                 .try_emplace(ie.id, dm::Value::opaque(Bytes(ie.value.begin(), ie.value.end())))
                 .second)
            return fail(Errc::duplicate);
    }
    return r;
}

// `odef` is nullptr for an unknown object (only with allow_unknown).
Result<dm::Resource> decode_resource(const dm::ObjectDef* odef, const Entry& e, std::size_t& budget,
                                     const DecodeOptions& o) {
    const dm::ResourceDef* def = odef != nullptr ? odef->resource(e.id) : nullptr;
    if (def == nullptr) {
        if (o.allow_unknown) return decode_untyped_resource(e, budget);
        return fail(Errc::unknown_resource);
    }
    if (e.type == TlvType::resource) {
        if (def->multiple) return fail(Errc::structure_mismatch);
        LWM2M_TRY(v, decode_value(*def, e.value));
        return dm::Resource::single(e.id, std::move(v));
    }
    if (e.type != TlvType::multiple_resource) return fail(Errc::malformed);
    if (!def->multiple) return fail(Errc::structure_mismatch);
    dm::Resource r = dm::Resource::multi(e.id);
    Reader rd(e.value, budget);
    while (!rd.done()) {
        LWM2M_TRY(ie, rd.next());
        if (ie.type != TlvType::resource_instance) return fail(Errc::malformed);
        LWM2M_TRY(v, decode_value(*def, ie.value));
        if (!r.instances.try_emplace(ie.id, std::move(v)).second) return fail(Errc::duplicate);
    }
    return r;
}

Result<dm::Instance> decode_instance_body(const dm::ObjectDef* odef, std::uint16_t iid,
                                          BytesView body, std::size_t& budget,
                                          const DecodeOptions& o) {
    dm::Instance inst{iid, {}};
    Reader rd(body, budget);
    while (!rd.done()) {
        LWM2M_TRY(e, rd.next());
        LWM2M_TRY(r, decode_resource(odef, e, budget, o));
        const auto id = r.id;
        if (!inst.resources.try_emplace(id, std::move(r)).second) return fail(Errc::duplicate);
    }
    return inst;
}

} // namespace

Result<void> tlv_encode(const dm::Content& c, Bytes& out) {
    if (!node_matches_path(c)) return fail(Errc::invalid_content);
    switch (c.path.depth()) {
    case 1: {
        const auto& o = std::get<dm::Object>(c.node);
        for (const auto& [iid, i] : o.instances) {
            if (i.id != iid) return fail(Errc::invalid_content);
            LWM2M_TRY(len, instance_body_len(i));
            LWM2M_TRY_VOID(put_header(out, TlvType::object_instance, iid, len));
            LWM2M_TRY_VOID(put_instance_body(out, i));
        }
        return ok();
    }
    case 2:
        return put_instance_body(out, std::get<dm::Instance>(c.node));
    case 3:
        return put_resource(out, std::get<dm::Resource>(c.node));
    default:
        return put_leaf(out, TlvType::resource_instance, c.path.riid().v,
                        std::get<dm::Value>(c.node));
    }
}

Result<dm::Content> tlv_decode(BytesView in, const dm::Path& target, const dm::ObjectRegistry& reg,
                               const DecodeOptions& o) {
    if (target.depth() == 0) return fail(Errc::path_mismatch);
    const dm::ObjectDef* odef = reg.find(target.oid().v);
    if (odef == nullptr && !o.allow_unknown) return fail(Errc::unknown_object);
    std::size_t budget = o.max_records;
    dm::Content c;
    c.path = target;
    Reader rd(in, budget);
    switch (target.depth()) {
    case 1: {
        dm::Object obj{target.oid().v, {}};
        while (!rd.done()) {
            LWM2M_TRY(e, rd.next());
            if (e.type != TlvType::object_instance) return fail(Errc::malformed);
            if (e.id == 0xFFFF) return fail(Errc::malformed);
            LWM2M_TRY(inst, decode_instance_body(odef, e.id, e.value, budget, o));
            if (!obj.instances.try_emplace(e.id, std::move(inst)).second)
                return fail(Errc::duplicate);
        }
        c.node = std::move(obj);
        return c;
    }
    case 2: {
        // The resources directly, or (TS 1.1 §7.4.3) wrapped in one Object Instance TLV.
        BytesView body = in;
        if (!in.empty() && (std::to_integer<std::uint8_t>(in[0]) >> 6) == 0) {
            LWM2M_TRY(e, rd.next());
            if (!rd.done()) return fail(Errc::malformed);
            if (e.id != target.iid().v) return fail(Errc::path_mismatch);
            body = e.value;
        }
        LWM2M_TRY(inst, decode_instance_body(odef, target.iid().v, body, budget, o));
        c.node = std::move(inst);
        return c;
    }
    case 3: {
        const dm::ResourceDef* def = odef != nullptr ? odef->resource(target.rid().v) : nullptr;
        if (def == nullptr && !o.allow_unknown) return fail(Errc::unknown_resource);
        if (in.empty()) return fail(Errc::malformed);
        if ((std::to_integer<std::uint8_t>(in[0]) >> 6) == 1) {
            // Bare resource instances for a multiple resource.
            if (def != nullptr && !def->multiple) return fail(Errc::structure_mismatch);
            dm::Resource r = dm::Resource::multi(target.rid().v);
            while (!rd.done()) {
                LWM2M_TRY(ie, rd.next());
                if (ie.type != TlvType::resource_instance) return fail(Errc::malformed);
                if (def == nullptr) {
                    if (!r.instances
                             .try_emplace(
                                 ie.id, dm::Value::opaque(Bytes(ie.value.begin(), ie.value.end())))
                             .second)
                        return fail(Errc::duplicate);
                    continue;
                }
                LWM2M_TRY(v, decode_value(*def, ie.value));
                if (!r.instances.try_emplace(ie.id, std::move(v)).second)
                    return fail(Errc::duplicate);
            }
            c.node = std::move(r);
            return c;
        }
        LWM2M_TRY(e, rd.next());
        if (!rd.done()) return fail(Errc::malformed);
        if (e.id != target.rid().v) return fail(Errc::path_mismatch);
        LWM2M_TRY(r, decode_resource(odef, e, budget, o));
        c.node = std::move(r);
        return c;
    }
    default: {
        const dm::ResourceDef* def = odef != nullptr ? odef->resource(target.rid().v) : nullptr;
        if (def == nullptr && !o.allow_unknown) return fail(Errc::unknown_resource);
        if (def != nullptr && !def->multiple) return fail(Errc::structure_mismatch);
        LWM2M_TRY(e, rd.next());
        if (!rd.done()) return fail(Errc::malformed);
        if (e.type != TlvType::resource_instance) return fail(Errc::malformed);
        if (e.id != target.riid().v) return fail(Errc::path_mismatch);
        if (def == nullptr) {
            c.node = dm::Value::opaque(Bytes(e.value.begin(), e.value.end()));
            return c;
        }
        LWM2M_TRY(v, decode_value(*def, e.value));
        c.node = std::move(v);
        return c;
    }
    }
}

} // namespace lwm2m::format::detail
