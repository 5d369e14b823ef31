#include <lwm2m/client/engine_state.hpp>

#include <bit>
#include <cstring>

#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/client/status.hpp>

namespace lwm2m::client {

namespace {

constexpr std::uint16_t kVersion = 1;
constexpr std::size_t kHeader = 10;

class Writer {
public:
    Bytes out;
    void u8(std::uint8_t v) { out.push_back(static_cast<std::byte>(v)); }
    void u16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v));
    }
    void u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v));
    }
    void i64(std::int64_t v) {
        const auto u = static_cast<std::uint64_t>(v);
        u32(static_cast<std::uint32_t>(u >> 32));
        u32(static_cast<std::uint32_t>(u));
    }
    void f64(double d) { i64(static_cast<std::int64_t>(std::bit_cast<std::uint64_t>(d))); }
    void bytes(BytesView b) {
        u16(static_cast<std::uint16_t>(b.size()));
        out.insert(out.end(), b.begin(), b.end());
    }
    void str(const std::string& s) { bytes(as_bytes(s)); }
    void path(const dm::Path& p) {
        u8(static_cast<std::uint8_t>(p.depth()));
        if (p.depth() >= 1) u16(p.oid().v);
        if (p.depth() >= 2) u16(p.iid().v);
        if (p.depth() >= 3) u16(p.rid().v);
        if (p.depth() >= 4) u16(p.riid().v);
    }
};

class Reader {
public:
    explicit Reader(BytesView b)
        : b_(b) {}
    bool ok = true;
    [[nodiscard]] std::size_t left() const { return b_.size() - pos_; }
    std::uint8_t u8() {
        if (left() < 1) {
            ok = false;
            return 0;
        }
        return std::to_integer<std::uint8_t>(b_[pos_++]);
    }
    std::uint16_t u16() {
        const std::uint16_t hi = u8();
        return static_cast<std::uint16_t>((hi << 8) | u8());
    }
    std::uint32_t u32() {
        const std::uint32_t hi = u16();
        return (hi << 16) | u16();
    }
    std::int64_t i64() {
        const std::uint64_t hi = u32();
        return static_cast<std::int64_t>((hi << 32) | u32());
    }
    double f64() { return std::bit_cast<double>(static_cast<std::uint64_t>(i64())); }
    Bytes bytes() {
        const std::size_t n = u16();
        if (!ok || left() < n) {
            ok = false;
            return {};
        }
        Bytes r(b_.begin() + static_cast<std::ptrdiff_t>(pos_),
                b_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
        pos_ += n;
        return r;
    }
    std::string str() {
        const Bytes b = bytes();
        return std::string(as_string_view(b));
    }
    dm::Path path() {
        const int d = u8();
        if (d > 4) {
            ok = false;
            return {};
        }
        std::uint16_t ids[4] = {0, 0, 0, 0};
        for (int k = 0; k < d; ++k)
            ids[k] = u16();
        switch (d) {
        case 1:
            return dm::Path{Oid{ids[0]}};
        case 2:
            return dm::Path{Oid{ids[0]}, Iid{ids[1]}};
        case 3:
            return dm::Path{Oid{ids[0]}, Iid{ids[1]}, Rid{ids[2]}};
        case 4:
            return dm::Path{Oid{ids[0]}, Iid{ids[1]}, Rid{ids[2]}, Riid{ids[3]}};
        default:
            return {};
        }
    }

private:
    BytesView b_;
    std::size_t pos_ = 0;
};

} // namespace

Bytes encode_engine_state(const EngineState& s) {
    Writer w;
    w.out = to_bytes("LwES");
    w.u16(kVersion);
    w.u32(0); // length, patched below
    w.u8(s.bootstrap_at ? 1 : 0);
    if (s.bootstrap_at) w.i64(*s.bootstrap_at);
    w.u16(static_cast<std::uint16_t>(s.registrations.size()));
    for (const auto& r : s.registrations) {
        w.u16(r.ssid);
        w.u8(static_cast<std::uint8_t>(r.location.size()));
        for (const auto& l : r.location)
            w.bytes(l);
        w.i64(r.lifetime);
        w.str(r.binding);
        w.str(r.object_links);
        w.i64(r.registered_at);
        w.u8(r.queue_mode ? 1 : 0);
    }
    w.u16(static_cast<std::uint16_t>(s.attributes.size()));
    for (const auto& a : s.attributes) {
        w.u16(a.ssid);
        w.path(a.path);
        const auto& t = a.attrs;
        const std::uint8_t mask = (t.pmin ? 1 : 0) | (t.pmax ? 2 : 0) | (t.epmin ? 4 : 0) |
                                  (t.epmax ? 8 : 0) | (t.gt ? 16 : 0) | (t.lt ? 32 : 0) |
                                  (t.st ? 64 : 0) | (t.con ? 128 : 0);
        w.u8(mask);
        if (t.pmin) w.i64(*t.pmin);
        if (t.pmax) w.i64(*t.pmax);
        if (t.epmin) w.i64(*t.epmin);
        if (t.epmax) w.i64(*t.epmax);
        if (t.gt) w.f64(*t.gt);
        if (t.lt) w.f64(*t.lt);
        if (t.st) w.f64(*t.st);
        if (t.con) w.u8(*t.con ? 1 : 0);
    }
    w.u16(static_cast<std::uint16_t>(s.observations.size()));
    for (const auto& o : s.observations) {
        w.u16(o.ssid);
        w.u8(static_cast<std::uint8_t>(o.token.size()));
        w.out.insert(w.out.end(), o.token.begin(), o.token.end());
        w.u16(o.format);
        w.u8(o.composite ? 1 : 0);
        w.u8(static_cast<std::uint8_t>(o.paths.size()));
        for (const auto& p : o.paths)
            w.path(p);
        w.u32(o.seq);
    }
    const auto n = static_cast<std::uint32_t>(w.out.size() - kHeader);
    for (int k = 0; k < 4; ++k)
        w.out[6 + k] = static_cast<std::byte>(n >> (24 - 8 * k));
    w.u32(crc32(w.out));
    return std::move(w.out);
}

Result<EngineState> decode_engine_state(BytesView in) {
    if (in.size() < 4 || as_string_view(in.first(4)) != "LwES") return fail(Errc::config_bad_magic);
    if (in.size() < kHeader + 4) return fail(Errc::config_truncated);
    Reader h(in.subspan(4, 6));
    if (h.u16() != kVersion) return fail(Errc::config_bad_version);
    const std::uint32_t n = h.u32();
    if (n > max_engine_state_size - kHeader - 4) return fail(Errc::config_bad_length);
    if (in.size() < kHeader + n + 4) return fail(Errc::config_truncated);
    if (in.size() > kHeader + n + 4) return fail(Errc::config_trailing_bytes);
    Reader c(in.subspan(kHeader + n, 4));
    if (c.u32() != crc32(in.first(kHeader + n))) return fail(Errc::config_crc_mismatch);

    Reader r(in.subspan(kHeader, n));
    EngineState s;
    const std::uint8_t flags = r.u8();
    if ((flags & ~1u) != 0) return fail(Errc::config_bad_value);
    if (flags & 1u) s.bootstrap_at = r.i64();
    // Every element needs at least a few bytes: bound the counts by what is left.
    const std::size_t regs = r.u16();
    if (regs > r.left() / 4) return fail(Errc::config_bad_length);
    for (std::size_t i = 0; i < regs && r.ok; ++i) {
        PersistedRegistration p;
        p.ssid = r.u16();
        const std::size_t locs = r.u8();
        for (std::size_t k = 0; k < locs && r.ok; ++k)
            p.location.push_back(r.bytes());
        p.lifetime = r.i64();
        p.binding = r.str();
        p.object_links = r.str();
        p.registered_at = r.i64();
        const std::uint8_t q = r.u8();
        if (q > 1 || p.ssid == 0 || p.ssid == 0xffff) return fail(Errc::config_bad_value);
        p.queue_mode = q == 1;
        s.registrations.push_back(std::move(p));
    }
    const std::size_t attrs = r.u16();
    if (!r.ok || attrs > r.left() / 4) return fail(Errc::config_bad_length);
    for (std::size_t i = 0; i < attrs && r.ok; ++i) {
        PersistedAttributes a;
        a.ssid = r.u16();
        a.path = r.path();
        const std::uint8_t m = r.u8();
        auto& t = a.attrs;
        if (m & 1) t.pmin = r.i64();
        if (m & 2) t.pmax = r.i64();
        if (m & 4) t.epmin = r.i64();
        if (m & 8) t.epmax = r.i64();
        if (m & 16) t.gt = r.f64();
        if (m & 32) t.lt = r.f64();
        if (m & 64) t.st = r.f64();
        if (m & 128) {
            const std::uint8_t v = r.u8();
            if (v > 1) return fail(Errc::config_bad_value);
            t.con = v == 1;
        }
        if (a.path.is_root()) return fail(Errc::config_bad_value);
        s.attributes.push_back(std::move(a));
    }
    const std::size_t obs = r.u16();
    if (!r.ok || obs > r.left() / 4) return fail(Errc::config_bad_length);
    for (std::size_t i = 0; i < obs && r.ok; ++i) {
        PersistedObservation o;
        o.ssid = r.u16();
        const std::size_t tl = r.u8();
        if (tl > 8 || r.left() < tl) return fail(Errc::config_bad_value);
        for (std::size_t k = 0; k < tl; ++k)
            o.token.push_back(static_cast<std::byte>(r.u8()));
        o.format = r.u16();
        const std::uint8_t comp = r.u8();
        if (comp > 1) return fail(Errc::config_bad_value);
        o.composite = comp == 1;
        const std::size_t np = r.u8();
        for (std::size_t k = 0; k < np && r.ok; ++k)
            o.paths.push_back(r.path());
        o.seq = r.u32();
        s.observations.push_back(std::move(o));
    }
    if (!r.ok) return fail(Errc::config_truncated);
    if (r.left() != 0) return fail(Errc::config_trailing_bytes);
    return s;
}

} // namespace lwm2m::client
