#include <lwm2m/client/config_codec.hpp>

#include <array>
#include <cstring>
#include <limits>
#include <variant>

namespace lwm2m::client {

namespace {

constexpr std::array<std::byte, 4> kMagic{std::byte{'L'}, std::byte{'w'}, std::byte{'C'},
                                          std::byte{'S'}};
constexpr std::size_t kHeader = 12;
constexpr std::size_t kTrailer = 4;
constexpr std::size_t kMaxResources = 64;
constexpr std::size_t kMaxResourceInstances = 64;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
        t[i] = c;
    }
    return t;
}
constexpr auto kCrcTable = make_crc_table();

// dm::Value::type() lives in the dm library; the tag is derived from the variant index here so
// that the codec is self-contained.
dm::DataType tag_of(const dm::Value& v) {
    switch (v.storage().index()) {
    case 1:
        return dm::DataType::string;
    case 2:
        return dm::DataType::integer;
    case 3:
        return dm::DataType::unsigned_integer;
    case 4:
        return dm::DataType::float_;
    case 5:
        return dm::DataType::boolean;
    case 6:
        return dm::DataType::opaque;
    case 7:
        return dm::DataType::time;
    case 8:
        return dm::DataType::objlnk;
    case 9:
        return dm::DataType::corelnk;
    default:
        return dm::DataType::none;
    }
}

// ---- writer ------------------------------------------------------------------------------------
// Writes into `out`, or only counts the bytes when `out` is null (the first pass of encode_config,
// which sizes the buffer exactly so that it never reallocates and frees a copy of the keys).
class Writer {
public:
    explicit Writer(Bytes* out)
        : out_(out) {}
    [[nodiscard]] std::size_t size() const { return n_; }
    void raw(BytesView b) {
        n_ += b.size();
        if (out_ != nullptr) out_->insert(out_->end(), b.begin(), b.end());
    }
    void u8(std::uint8_t v) {
        ++n_;
        if (out_ != nullptr) out_->push_back(static_cast<std::byte>(v));
    }
    void u16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v));
    }
    void u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v));
    }
    void u64(std::uint64_t v) {
        u32(static_cast<std::uint32_t>(v >> 32));
        u32(static_cast<std::uint32_t>(v));
    }
    void bytes(BytesView b) {
        u32(static_cast<std::uint32_t>(b.size()));
        raw(b);
    }
    void value(const dm::Value& v) {
        u8(static_cast<std::uint8_t>(tag_of(v)));
        std::visit(
            [&](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, std::monostate>) {
                } else if constexpr (std::is_same_v<T, std::string>) {
                    bytes(as_bytes(x));
                } else if constexpr (std::is_same_v<T, std::int64_t>) {
                    u64(static_cast<std::uint64_t>(x));
                } else if constexpr (std::is_same_v<T, std::uint64_t>) {
                    u64(x);
                } else if constexpr (std::is_same_v<T, double>) {
                    std::uint64_t bits = 0;
                    std::memcpy(&bits, &x, sizeof bits);
                    u64(bits);
                } else if constexpr (std::is_same_v<T, bool>) {
                    u8(x ? 1 : 0);
                } else if constexpr (std::is_same_v<T, Bytes>) {
                    bytes(x);
                } else if constexpr (std::is_same_v<T, dm::Time>) {
                    u64(static_cast<std::uint64_t>(x.seconds));
                } else if constexpr (std::is_same_v<T, dm::Objlnk>) {
                    u16(x.oid);
                    u16(x.iid);
                } else if constexpr (std::is_same_v<T, dm::Corelnk>) {
                    bytes(as_bytes(x.text));
                }
            },
            v.storage());
    }

private:
    Bytes* out_;
    std::size_t n_ = 0;
};

void wipe_value(dm::Value& v) {
    if (const auto* b = std::get_if<Bytes>(&v.storage())) {
        auto& mb = const_cast<Bytes&>(*b); // we own this temporary; wipe key copies
        if (!mb.empty()) secure_wipe(mb.data(), mb.size());
    }
}

void wipe_resource(dm::Resource& r) {
    wipe_value(r.value);
    for (auto& [riid, v] : r.instances)
        wipe_value(v);
}

void wipe_instance(dm::Instance& in) {
    for (auto& [rid, r] : in.resources)
        wipe_resource(r);
}

/// Wipes a partly decoded instance or resource (it may hold Resource 5 or 8) on every path that
/// drops it; release() when it is handed on.
template <class T, void (*Wipe)(T&)>
class WipeGuard {
public:
    explicit WipeGuard(T& t)
        : t_(&t) {}
    WipeGuard(const WipeGuard&) = delete;
    WipeGuard& operator=(const WipeGuard&) = delete;
    ~WipeGuard() {
        if (t_ != nullptr) Wipe(*t_);
    }
    void release() { t_ = nullptr; }

private:
    T* t_;
};
using InstanceWipe = WipeGuard<dm::Instance, wipe_instance>;
using ResourceWipe = WipeGuard<dm::Resource, wipe_resource>;

// ---- reader ------------------------------------------------------------------------------------
class Reader {
public:
    explicit Reader(BytesView b)
        : b_(b) {}
    [[nodiscard]] std::size_t left() const { return b_.size() - pos_; }
    bool u8(std::uint8_t& v) {
        if (left() < 1) return false;
        v = static_cast<std::uint8_t>(b_[pos_++]);
        return true;
    }
    bool u16(std::uint16_t& v) {
        std::uint8_t a = 0, b = 0;
        if (!u8(a) || !u8(b)) return false;
        v = static_cast<std::uint16_t>((a << 8) | b);
        return true;
    }
    bool u32(std::uint32_t& v) {
        std::uint16_t a = 0, b = 0;
        if (!u16(a) || !u16(b)) return false;
        v = (static_cast<std::uint32_t>(a) << 16) | b;
        return true;
    }
    bool u64(std::uint64_t& v) {
        std::uint32_t a = 0, b = 0;
        if (!u32(a) || !u32(b)) return false;
        v = (static_cast<std::uint64_t>(a) << 32) | b;
        return true;
    }
    bool span(std::size_t n, BytesView& out) {
        if (left() < n) return false;
        out = b_.subspan(pos_, n);
        pos_ += n;
        return true;
    }

private:
    BytesView b_;
    std::size_t pos_ = 0;
};

#define LWM2M_NEED(cond, err)                                                                      \
    do {                                                                                           \
        if (!(cond)) return fail(err);                                                             \
    } while (0)

Result<dm::Value> read_value(Reader& r) {
    std::uint8_t tag = 0;
    LWM2M_NEED(r.u8(tag), Errc::config_bad_length);
    auto blob = [&](BytesView& out) -> Result<void> {
        std::uint32_t n = 0;
        LWM2M_NEED(r.u32(n), Errc::config_bad_length);
        LWM2M_NEED(n <= r.left(), Errc::config_bad_length);
        LWM2M_NEED(r.span(n, out), Errc::config_bad_length);
        return ok();
    };
    std::uint64_t u = 0;
    BytesView b;
    switch (static_cast<dm::DataType>(tag)) {
    case dm::DataType::string:
        LWM2M_TRY_VOID(blob(b));
        return dm::Value::string(std::string(as_string_view(b)));
    case dm::DataType::opaque:
        LWM2M_TRY_VOID(blob(b));
        return dm::Value::opaque(Bytes(b.begin(), b.end()));
    case dm::DataType::corelnk:
        LWM2M_TRY_VOID(blob(b));
        return dm::Value::corelnk(std::string(as_string_view(b)));
    case dm::DataType::integer:
        LWM2M_NEED(r.u64(u), Errc::config_bad_length);
        return dm::Value::integer(static_cast<std::int64_t>(u));
    case dm::DataType::unsigned_integer:
        LWM2M_NEED(r.u64(u), Errc::config_bad_length);
        return dm::Value::unsigned_integer(u);
    case dm::DataType::time:
        LWM2M_NEED(r.u64(u), Errc::config_bad_length);
        return dm::Value::time(static_cast<std::int64_t>(u));
    case dm::DataType::float_: {
        LWM2M_NEED(r.u64(u), Errc::config_bad_length);
        double d = 0;
        std::memcpy(&d, &u, sizeof d);
        return dm::Value::float_(d);
    }
    case dm::DataType::boolean: {
        std::uint8_t v = 0;
        LWM2M_NEED(r.u8(v), Errc::config_bad_length);
        LWM2M_NEED(v <= 1, Errc::config_bad_value);
        return dm::Value::boolean(v == 1);
    }
    case dm::DataType::objlnk: {
        std::uint16_t o = 0, i = 0;
        LWM2M_NEED(r.u16(o) && r.u16(i), Errc::config_bad_length);
        return dm::Value::objlnk(o, i);
    }
    default:
        return fail(Errc::config_bad_value);
    }
}

Result<dm::Instance> read_instance(Reader& r, std::uint16_t iid) {
    dm::Instance in;
    in.id = iid;
    InstanceWipe wipe_in(in); // every error return below drops `in`, maybe holding a key
    std::uint16_t n = 0;
    LWM2M_NEED(r.u16(n), Errc::config_bad_length);
    LWM2M_NEED(n <= kMaxResources && std::size_t{n} * 4 <= r.left(), Errc::config_bad_length);
    int prev = -1;
    for (std::uint16_t k = 0; k < n; ++k) {
        std::uint16_t rid = 0;
        std::uint8_t kind = 0;
        LWM2M_NEED(r.u16(rid) && r.u8(kind), Errc::config_bad_length);
        LWM2M_NEED(static_cast<int>(rid) > prev, Errc::config_bad_value);
        prev = rid;
        if (kind == 0) {
            LWM2M_TRY(v, read_value(r));
            in.resources.emplace(rid, dm::Resource::single(rid, std::move(v)));
        } else if (kind == 1) {
            std::uint16_t m = 0;
            LWM2M_NEED(r.u16(m), Errc::config_bad_length);
            LWM2M_NEED(m <= kMaxResourceInstances && std::size_t{m} * 3 <= r.left(),
                       Errc::config_bad_length);
            dm::Resource res = dm::Resource::multi(rid);
            ResourceWipe wipe_res(res);
            int prev_ri = -1;
            for (std::uint16_t j = 0; j < m; ++j) {
                std::uint16_t riid = 0;
                LWM2M_NEED(r.u16(riid), Errc::config_bad_length);
                LWM2M_NEED(static_cast<int>(riid) > prev_ri, Errc::config_bad_value);
                prev_ri = riid;
                LWM2M_TRY(v, read_value(r));
                res.instances.emplace(riid, std::move(v));
            }
            wipe_res.release();
            in.resources.emplace(rid, std::move(res));
        } else {
            return fail(Errc::config_bad_value);
        }
    }
    wipe_in.release(); // moved to the caller, which wipes it after use
    return in;
}

template <class Map, class FromInstance>
Result<void> read_object(Reader& r, std::size_t max_instances, Map& out, FromInstance from) {
    std::uint16_t n = 0;
    LWM2M_NEED(r.u16(n), Errc::config_bad_length);
    LWM2M_NEED(n <= max_instances && std::size_t{n} * 4 <= r.left(), Errc::config_bad_length);
    int prev = -1;
    for (std::uint16_t k = 0; k < n; ++k) {
        std::uint16_t iid = 0;
        LWM2M_NEED(r.u16(iid), Errc::config_bad_length);
        LWM2M_NEED(static_cast<int>(iid) > prev && iid != 0xffff, Errc::config_bad_value);
        prev = iid;
        LWM2M_TRY(in, read_instance(r, iid));
        auto obj = from(in);
        wipe_instance(in);
        if (!obj) return fail(Errc::config_bad_value);
        out.emplace(iid, std::move(*obj));
    }
    return ok();
}

void write_instance(Writer& w, const dm::Instance& in) {
    w.u16(in.id);
    w.u16(static_cast<std::uint16_t>(in.resources.size()));
    for (const auto& [rid, r] : in.resources) {
        w.u16(rid);
        if (!r.multiple) {
            w.u8(0);
            w.value(r.value);
        } else {
            w.u8(1);
            w.u16(static_cast<std::uint16_t>(r.instances.size()));
            for (const auto& [riid, v] : r.instances) {
                w.u16(riid);
                w.value(v);
            }
        }
    }
}

} // namespace

std::uint32_t crc32(BytesView data) noexcept {
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::byte b : data)
        c = kCrcTable[(c ^ static_cast<std::uint8_t>(b)) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

namespace {

constexpr std::uint8_t kStateHasPurgeDeadline = 0x01;

SecretBytes encode_version(const ClientConfig& config, std::uint16_t version) {
    // The Object 0 instances hold copies of the keys: build them once, wipe them at the end.
    std::vector<dm::Instance> security;
    security.reserve(config.security.size());
    for (const auto& [iid, s] : config.security)
        security.push_back(to_dm_instance(iid, s, Audience::local));
    std::vector<dm::Instance> servers;
    servers.reserve(config.servers.size());
    for (const auto& [iid, s] : config.servers)
        servers.push_back(to_dm_instance(iid, s));

    auto write_all = [&](Writer& w, std::uint32_t payload_len) {
        w.raw(kMagic);
        w.u16(version);
        w.u16(0);
        w.u32(payload_len);
        w.u16(static_cast<std::uint16_t>(security.size()));
        for (const auto& in : security)
            write_instance(w, in);
        w.u16(static_cast<std::uint16_t>(servers.size()));
        for (const auto& in : servers)
            write_instance(w, in);
        if (version >= 2) {
            w.u8(config.bs_purge_at ? kStateHasPurgeDeadline : 0);
            if (config.bs_purge_at) w.u64(static_cast<std::uint64_t>(*config.bs_purge_at));
        }
    };
    // Pass 1 counts, pass 2 writes into a buffer of exactly that size: a growing vector would
    // free its old blocks, key bytes included, without wiping them.
    Writer counter(nullptr);
    write_all(counter, 0);
    const std::size_t total = counter.size() + kTrailer;
    Bytes out;
    out.reserve(total);
    Writer w(&out);
    write_all(w, static_cast<std::uint32_t>(counter.size() - kHeader));
    w.u32(crc32(out));
    SecretBytes result{BytesView(out)};
    secure_wipe(out.data(), out.size());
    for (auto& in : security)
        wipe_instance(in);
    return result;
}

} // namespace

SecretBytes encode_config(const ClientConfig& config) {
    return encode_version(config, config_format_version);
}

Result<ClientConfig> decode_config(BytesView bytes) {
    if (bytes.size() < kMagic.size()) return fail(Errc::config_truncated);
    if (!std::equal(kMagic.begin(), kMagic.end(), bytes.begin()))
        return fail(Errc::config_bad_magic);
    if (bytes.size() < kHeader) return fail(Errc::config_truncated);
    Reader h(bytes.subspan(4, kHeader - 4));
    std::uint16_t version = 0, flags = 0;
    std::uint32_t len = 0;
    (void)h.u16(version);
    (void)h.u16(flags);
    (void)h.u32(len);
    if (version < config_oldest_readable_version || version > config_format_version || flags != 0)
        return fail(Errc::config_bad_version);
    if (len > max_config_file_size - kHeader - kTrailer) return fail(Errc::config_bad_length);
    const std::size_t total = kHeader + len + kTrailer;
    if (bytes.size() < total) return fail(Errc::config_truncated);
    if (bytes.size() > total) return fail(Errc::config_trailing_bytes);
    Reader t(bytes.subspan(kHeader + len, kTrailer));
    std::uint32_t stored_crc = 0;
    (void)t.u32(stored_crc);
    if (crc32(bytes.first(kHeader + len)) != stored_crc) return fail(Errc::config_crc_mismatch);

    Reader r(bytes.subspan(kHeader, len));
    ClientConfig c;
    LWM2M_TRY_VOID(read_object(r, max_security_instances, c.security,
                               [](const dm::Instance& in) { return security_from_instance(in); }));
    LWM2M_TRY_VOID(read_object(r, max_server_instances, c.servers,
                               [](const dm::Instance& in) { return server_from_instance(in); }));
    if (version >= 2) {
        std::uint8_t state = 0;
        LWM2M_NEED(r.u8(state), Errc::config_bad_length);
        LWM2M_NEED((state & ~kStateHasPurgeDeadline) == 0, Errc::config_bad_value);
        if ((state & kStateHasPurgeDeadline) != 0) {
            std::uint64_t at = 0;
            LWM2M_NEED(r.u64(at), Errc::config_bad_length);
            c.bs_purge_at = static_cast<std::int64_t>(at);
        }
    }
    if (r.left() != 0) return fail(Errc::config_trailing_bytes);
    // Canonical form: the lenient value rules (an Integer where an Unsigned Integer is defined, a
    // string PSK identity) must not let two files decode to one configuration. Re-encoding and
    // comparing enforces one encoding per configuration (the file is small; start-up only).
    if (!equal(encode_version(c, version).view(), bytes)) return fail(Errc::config_bad_value);
    if (!check_consistency(c).empty()) return fail(Errc::config_inconsistent);
    return c;
}

LoadOutcome load_config(const Result<Bytes>& file, const std::optional<ClientConfig>& factory) {
    LoadOutcome out;
    if (file) {
        auto c = decode_config(*file);
        if (c) {
            out.source = LoadOutcome::Source::stored;
            out.config = std::move(*c);
            return out;
        }
        out.error = c.error();
    } else {
        out.error = file.error();
    }
    if (factory && check_consistency(*factory).empty()) {
        out.source = LoadOutcome::Source::factory;
        out.config = *factory;
    } else {
        out.source = LoadOutcome::Source::needs_bootstrap;
        out.config = ClientConfig{};
    }
    return out;
}

} // namespace lwm2m::client
