// Shared body of the format_* fuzz targets. Input: byte 0 selects the target path, the rest is
// the payload. Checks beyond "no crash": every accepted payload re-encodes, and the re-encoding
// decodes to the same content (decode o encode is a fixed point); errors never map to 5.00.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <lwm2m/format/codec.hpp>

#include "unit/format/test_defs.hpp"

namespace lwm2m::format::fuzz {

inline void check(bool ok) {
    if (!ok) std::abort();
}

inline bool has_nan(const std::vector<dm::Record>& recs) {
    for (const auto& r : recs)
        if (const auto* d = std::get_if<double>(&r.value.storage()); d && std::isnan(*d))
            return true;
    return false;
}

inline const dm::ObjectRegistry& registry() {
    static const dm::ObjectRegistry reg = test::registry();
    return reg;
}

inline dm::Path target(std::uint8_t sel) {
    static const dm::Path targets[] = {dm::Path(Oid{3}),
                                       dm::Path(Oid{3}, Iid{0}),
                                       dm::Path(Oid{3}, Iid{0}, Rid{7}),
                                       dm::Path(Oid{3}, Iid{0}, Rid{7}, Riid{1}),
                                       dm::Path(Oid{9999}),
                                       dm::Path(Oid{9999}, Iid{0}),
                                       dm::Path(Oid{9999}, Iid{0}, Rid{0}),
                                       dm::Path(Oid{9999}, Iid{0}, Rid{3}),
                                       dm::Path(Oid{9999}, Iid{0}, Rid{5}),
                                       dm::Path(Oid{9999}, Iid{0}, Rid{13}, Riid{0})};
    return targets[sel % std::size(targets)];
}

inline int run(ContentFormat f, const std::uint8_t* data, std::size_t size, bool records) {
    if (size < 1) return 0;
    const dm::Path path = target(data[0]);
    const BytesView payload(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    const auto& reg = registry();
    auto c = decode(f, payload, path, reg);
    if (c) {
        check(c->path == path);
        auto e = encode(f, *c);
        check(e.has_value());
        auto c2 = decode(f, *e, path, reg);
        check(c2.has_value());
        if (!has_nan(to_records(*c))) check(*c2 == *c);
    } else {
        check(coap_code_for(c.error()) != 0xA0);
    }
    if (!records) return 0;
    DecodeOptions lax;
    lax.allow_unknown = true;
    auto r = decode_records(f, payload, reg, lax);
    if (r) {
        EncodeOptions abs;
        abs.use_base_time = false; // absolute times re-encode exactly
        auto e = encode_records(f, *r, abs);
        if (f == ContentFormat::lwm2m_cbor) {
            if (!e)
                return 0; // overlapping paths (a value and a map for one path) are not re-encodable
        }
        check(e.has_value());
        auto r2 = decode_records(f, *e, reg, lax);
        check(r2.has_value());
        if (!has_nan(*r) && f != ContentFormat::lwm2m_cbor) check(*r2 == *r); // LwM2M CBOR sorts
        if (f == ContentFormat::lwm2m_cbor) check(r2->size() == r->size());
    }
    return 0;
}

} // namespace lwm2m::format::fuzz
