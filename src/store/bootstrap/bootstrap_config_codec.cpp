#include <lwm2m/store/bootstrap_config_codec.hpp>

#include <array>
#include <limits>

#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/client/security_object.hpp>
#include <lwm2m/client/server_object.hpp>
#include <lwm2m/format/codec.hpp>
#include <lwm2m/store/bootstrap_config_store.hpp>

namespace lwm2m::store {

namespace {

constexpr std::array<std::byte, 4> kMagic{std::byte{'L'}, std::byte{'w'}, std::byte{'B'},
                                          std::byte{'C'}};
constexpr std::size_t kHeader = 12;
constexpr std::size_t kTrailer = 4;

// ---- writer: counts when out_ is null, writes otherwise (two passes, exact size) -------------

class Writer {
public:
    explicit Writer(std::byte* out)
        : out_(out) {}
    void u8(std::uint64_t v) { put(static_cast<std::byte>(v & 0xff)); }
    void u16(std::uint64_t v) {
        u8(v >> 8);
        u8(v);
    }
    void u32(std::uint64_t v) {
        u16(v >> 16);
        u16(v);
    }
    void raw(BytesView b) {
        if (out_ != nullptr)
            for (std::byte x : b)
                out_[n_++] = x;
        else
            n_ += b.size();
    }
    void bytes8(BytesView b) {
        u8(b.size());
        raw(b);
    }
    void bytes16(BytesView b) {
        u16(b.size());
        raw(b);
    }
    void bytes32(BytesView b) {
        u32(b.size());
        raw(b);
    }
    void path(const dm::Path& p) {
        u8(static_cast<std::uint64_t>(p.depth()));
        if (p.depth() >= 1) u16(p.oid().v);
        if (p.depth() >= 2) u16(p.iid().v);
        if (p.depth() >= 3) u16(p.rid().v);
        if (p.depth() >= 4) u16(p.riid().v);
    }
    [[nodiscard]] std::size_t size() const { return n_; }
    [[nodiscard]] std::byte* data() const { return out_; }

private:
    void put(std::byte b) {
        if (out_ != nullptr) out_[n_] = b;
        ++n_;
    }
    std::byte* out_;
    std::size_t n_ = 0;
};

/// The TLV payloads of Objects 0, 1 and 2 (Object 0 with its secrets: SecretBytes).
struct Objects {
    SecretBytes security;
    Bytes servers;
    Bytes access_control;
    bool ok = true;
};

SecretBytes encode_tlv_secret(const dm::Content& c, bool& ok) {
    auto b = format::encode(format::ContentFormat::lwm2m_tlv, c);
    if (!b) {
        ok = false;
        return {};
    }
    SecretBytes s(*b);
    secure_wipe(b->data(), b->size());
    return s;
}

Bytes encode_tlv(dm::Content c, bool& ok) {
    auto b = format::encode(format::ContentFormat::lwm2m_tlv, c);
    if (!b) {
        ok = false;
        return {};
    }
    return std::move(*b);
}

/// Whether every count and length fits its field.
bool fits(const BootstrapConfig& c) {
    constexpr std::size_t k16 = 0xffff;
    const SecurityInfo& b = c.bootstrap_credentials;
    if (c.endpoint.size() > k16 || b.psk_identity.size() > k16 || b.psk_key.size() > k16 ||
        b.rpk_public_key.size() > k16 || b.x509_common_name.size() > k16)
        return false;
    if (c.deletes.size() > 0xff || c.reads.size() > 0xff || c.generate.size() > k16) return false;
    for (const auto& [iid, g] : c.generate)
        if (g.psk_key_size > 0xff || g.psk_identity_size > 0xff ||
            g.psk_identity_prefix.size() > 0xff || g.certificate_validity_days < 0 ||
            g.certificate_validity_days > 0xffffffffLL)
            return false;
    return true;
}

Objects encode_objects(const BootstrapConfig& c) {
    Objects o;
    if (!c.accounts.security.empty()) {
        dm::Object obj;
        obj.id = 0;
        for (const auto& [iid, s] : c.accounts.security)
            obj.instances.emplace(iid, client::to_dm_instance(iid, s, client::Audience::local));
        dm::Content content{dm::Path{Oid{0}}, std::move(obj)};
        o.security = encode_tlv_secret(content, o.ok);
        for (auto& [iid, in] : std::get<dm::Object>(content.node).instances)
            for (auto& [rid, r] : in.resources)
                if (!r.multiple && r.value.type() == dm::DataType::opaque) {
                    Bytes& b = const_cast<Bytes&>(r.value.as_opaque());
                    secure_wipe(b.data(), b.size());
                }
    }
    if (!c.accounts.servers.empty()) {
        dm::Object obj;
        obj.id = 1;
        for (const auto& [iid, s] : c.accounts.servers)
            obj.instances.emplace(iid, client::to_dm_instance(iid, s));
        o.servers = encode_tlv(dm::Content{dm::Path{Oid{1}}, std::move(obj)}, o.ok);
    }
    if (!c.access_control.empty()) {
        dm::Object obj;
        obj.id = 2;
        for (const auto& [iid, in] : c.access_control)
            obj.instances.emplace(iid, in);
        o.access_control = encode_tlv(dm::Content{dm::Path{Oid{2}}, std::move(obj)}, o.ok);
    }
    return o;
}

void write_payload(Writer& w, const BootstrapConfig& c, const Objects& o) {
    w.bytes16(as_bytes(c.endpoint));
    const SecurityInfo& b = c.bootstrap_credentials;
    w.u8(static_cast<std::uint8_t>(b.mode));
    w.bytes16(b.psk_identity);
    w.bytes16(b.psk_key.view());
    w.bytes16(b.rpk_public_key);
    w.bytes16(as_bytes(b.x509_common_name));
    w.u8(c.deletes.size());
    for (const auto& p : c.deletes)
        w.path(p);
    std::uint8_t options = 0;
    if (c.content_format) options |= 1;
    if (c.lwm2m_version) options |= 2;
    if (c.discover) options |= 4;
    if (c.avoid_bootstrap_instance_id) options |= 8;
    w.u8(options);
    if (c.content_format) w.u16(static_cast<std::uint16_t>(*c.content_format));
    if (c.lwm2m_version) w.u8(static_cast<std::uint8_t>(*c.lwm2m_version));
    if (c.discover) w.path(*c.discover);
    w.u8(c.reads.size());
    for (const auto& p : c.reads)
        w.path(p);
    w.u16(c.generate.size());
    for (const auto& [iid, g] : c.generate) {
        w.u16(iid);
        w.u8(static_cast<std::uint8_t>(g.kind));
        w.u8(g.psk_key_size);
        w.u8(g.psk_identity_size);
        w.bytes8(as_bytes(g.psk_identity_prefix));
        w.u32(static_cast<std::uint64_t>(g.certificate_validity_days));
    }
    w.bytes32(o.security.view());
    w.bytes32(o.servers);
    w.bytes32(o.access_control);
}

// ---- reader -----------------------------------------------------------------------------------

class Reader {
public:
    explicit Reader(BytesView in)
        : in_(in) {}
    bool u8(std::uint32_t& v) {
        if (pos_ + 1 > in_.size()) return false;
        v = std::to_integer<std::uint32_t>(in_[pos_++]);
        return true;
    }
    bool u16(std::uint32_t& v) {
        std::uint32_t a = 0, b = 0;
        if (!u8(a) || !u8(b)) return false;
        v = (a << 8) | b;
        return true;
    }
    bool u32(std::uint32_t& v) {
        std::uint32_t a = 0, b = 0;
        if (!u16(a) || !u16(b)) return false;
        v = (a << 16) | b;
        return true;
    }
    bool take(std::size_t n, BytesView& out) {
        if (n > in_.size() - pos_) return false;
        out = in_.subspan(pos_, n);
        pos_ += n;
        return true;
    }
    bool bytes8(BytesView& out) {
        std::uint32_t n = 0;
        return u8(n) && take(n, out);
    }
    bool bytes16(BytesView& out) {
        std::uint32_t n = 0;
        return u16(n) && take(n, out);
    }
    bool bytes32(BytesView& out) {
        std::uint32_t n = 0;
        return u32(n) && take(n, out);
    }
    bool path(dm::Path& out) {
        std::uint32_t depth = 0;
        if (!u8(depth) || depth > 4) return false;
        std::uint32_t id[4] = {0, 0, 0, 0};
        for (std::uint32_t k = 0; k < depth; ++k)
            if (!u16(id[k])) return false;
        if (depth >= 2 && id[1] == 0xffff) return false; // reserved instance id
        switch (depth) {
        case 0:
            out = dm::Path{};
            break;
        case 1:
            out = dm::Path{Oid{static_cast<std::uint16_t>(id[0])}};
            break;
        case 2:
            out = dm::Path{Oid{static_cast<std::uint16_t>(id[0])},
                           Iid{static_cast<std::uint16_t>(id[1])}};
            break;
        case 3:
            out = dm::Path{Oid{static_cast<std::uint16_t>(id[0])},
                           Iid{static_cast<std::uint16_t>(id[1])},
                           Rid{static_cast<std::uint16_t>(id[2])}};
            break;
        default:
            out = dm::Path{
                Oid{static_cast<std::uint16_t>(id[0])}, Iid{static_cast<std::uint16_t>(id[1])},
                Rid{static_cast<std::uint16_t>(id[2])}, Riid{static_cast<std::uint16_t>(id[3])}};
            break;
        }
        return true;
    }
    [[nodiscard]] bool done() const { return pos_ == in_.size(); }

private:
    BytesView in_;
    std::size_t pos_ = 0;
};

Result<void> bad() {
    return fail(ConfigErrc::invalid);
}

Result<dm::Object> decode_object(BytesView payload, std::uint16_t oid) {
    auto content = format::decode(format::ContentFormat::lwm2m_tlv, payload, dm::Path{Oid{oid}},
                                  bootstrap_registry());
    if (!content) return fail(ConfigErrc::invalid);
    auto* o = std::get_if<dm::Object>(&content->node);
    if (o == nullptr || o->instances.empty()) return fail(ConfigErrc::invalid);
    return std::move(*o);
}

/// Wipes the opaque values of a decoded Object 0 (key material on its way to SecretBytes).
void wipe_object(dm::Object& o) {
    for (auto& [iid, in] : o.instances)
        for (auto& [rid, r] : in.resources)
            if (!r.multiple && r.value.type() == dm::DataType::opaque) {
                Bytes& b = const_cast<Bytes&>(r.value.as_opaque());
                secure_wipe(b.data(), b.size());
            }
}

Result<void> read_payload(Reader& r, BootstrapConfig& c) {
    BytesView v;
    std::uint32_t n = 0;
    if (!r.bytes16(v)) return bad();
    c.endpoint.assign(as_string_view(v));
    SecurityInfo& b = c.bootstrap_credentials;
    b.endpoint = c.endpoint;
    if (!r.u8(n) || n > static_cast<std::uint32_t>(SecurityMode::nosec)) return bad();
    b.mode = static_cast<SecurityMode>(n);
    if (!r.bytes16(v)) return bad();
    b.psk_identity.assign(v.begin(), v.end());
    if (!r.bytes16(v)) return bad();
    b.psk_key = SecretBytes(v);
    if (!r.bytes16(v)) return bad();
    b.rpk_public_key.assign(v.begin(), v.end());
    if (!r.bytes16(v)) return bad();
    b.x509_common_name.assign(as_string_view(v));

    if (!r.u8(n)) return bad();
    c.deletes.clear();
    for (std::uint32_t k = 0; k < n; ++k) {
        dm::Path p;
        if (!r.path(p)) return bad();
        c.deletes.push_back(p);
    }
    std::uint32_t options = 0;
    if (!r.u8(options) || (options & ~0x0fu) != 0) return bad();
    if (options & 1) {
        if (!r.u16(n)) return bad();
        const auto f = format::content_format_from(static_cast<std::uint16_t>(n));
        if (!f) return bad();
        c.content_format = *f;
    }
    if (options & 2) {
        if (!r.u8(n) || n > static_cast<std::uint32_t>(dm::Lwm2mVersion::v1_2)) return bad();
        c.lwm2m_version = static_cast<dm::Lwm2mVersion>(n);
    }
    if (options & 4) {
        dm::Path p;
        if (!r.path(p)) return bad();
        c.discover = p;
    }
    c.avoid_bootstrap_instance_id = (options & 8) != 0;
    if (!r.u8(n)) return bad();
    for (std::uint32_t k = 0; k < n; ++k) {
        dm::Path p;
        if (!r.path(p)) return bad();
        c.reads.push_back(p);
    }
    if (!r.u16(n)) return bad();
    std::int64_t last = -1;
    for (std::uint32_t k = 0; k < n; ++k) {
        std::uint32_t iid = 0, kind = 0, key = 0, id = 0, days = 0;
        if (!r.u16(iid) || static_cast<std::int64_t>(iid) <= last || iid == 0xffff) return bad();
        last = iid;
        if (!r.u8(kind) || kind > static_cast<std::uint32_t>(GeneratedCredentials::Kind::x509))
            return bad();
        GeneratedCredentials g;
        g.kind = static_cast<GeneratedCredentials::Kind>(kind);
        if (!r.u8(key) || !r.u8(id) || !r.bytes8(v) || !r.u32(days)) return bad();
        g.psk_key_size = key;
        g.psk_identity_size = id;
        g.psk_identity_prefix.assign(as_string_view(v));
        g.certificate_validity_days = days;
        c.generate.emplace(static_cast<std::uint16_t>(iid), std::move(g));
    }

    BytesView o0, o1, o2;
    if (!r.bytes32(o0) || !r.bytes32(o1) || !r.bytes32(o2)) return bad();
    c.accounts = {};
    if (!o0.empty()) {
        LWM2M_TRY(obj, decode_object(o0, 0));
        Result<void> res = ok();
        for (const auto& [iid, in] : obj.instances) {
            auto s = client::security_from_instance(in);
            if (!s) {
                res = bad();
                break;
            }
            c.accounts.security.emplace(iid, std::move(*s));
        }
        wipe_object(obj);
        LWM2M_TRY_VOID(res);
    }
    if (!o1.empty()) {
        LWM2M_TRY(obj, decode_object(o1, 1));
        for (const auto& [iid, in] : obj.instances) {
            auto s = client::server_from_instance(in);
            if (!s) return bad();
            c.accounts.servers.emplace(iid, std::move(*s));
        }
    }
    if (!o2.empty()) {
        LWM2M_TRY(obj, decode_object(o2, 2));
        for (auto& [iid, in] : obj.instances)
            c.access_control.emplace(iid, std::move(in));
    }
    return ok();
}

void put_u32(std::byte* p, std::uint32_t v) {
    for (int k = 0; k < 4; ++k)
        p[k] = static_cast<std::byte>(v >> (24 - 8 * k));
}

std::uint32_t get_u32(BytesView b, std::size_t at) {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k)
        v = (v << 8) | std::to_integer<std::uint32_t>(b[at + static_cast<std::size_t>(k)]);
    return v;
}

} // namespace

Result<SecretBytes> encode_bootstrap_config(const BootstrapConfig& config) {
    if (!fits(config)) return fail(ConfigErrc::invalid);
    const Objects objects = encode_objects(config);
    if (!objects.ok) return fail(ConfigErrc::invalid);
    Writer count(nullptr);
    write_payload(count, config, objects);
    const std::size_t payload = count.size();
    // One buffer of the exact size: it never reallocates (no unwiped copy of the keys).
    Bytes buf(kHeader + payload + kTrailer);
    std::copy(kMagic.begin(), kMagic.end(), buf.begin());
    buf[4] = std::byte{0};
    buf[5] = static_cast<std::byte>(bootstrap_config_format_version);
    buf[6] = buf[7] = std::byte{0};
    put_u32(buf.data() + 8, static_cast<std::uint32_t>(payload));
    Writer w(buf.data() + kHeader);
    write_payload(w, config, objects);
    put_u32(buf.data() + kHeader + payload,
            client::crc32(BytesView(buf.data(), kHeader + payload)));
    SecretBytes out(buf);
    secure_wipe(buf.data(), buf.size());
    return out;
}

Result<BootstrapConfig> decode_bootstrap_config(BytesView bytes) {
    if (bytes.size() < kHeader + kTrailer || bytes.size() > max_bootstrap_config_size)
        return fail(ConfigErrc::invalid);
    if (!std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) return fail(ConfigErrc::invalid);
    const std::uint32_t version =
        (std::to_integer<std::uint32_t>(bytes[4]) << 8) | std::to_integer<std::uint32_t>(bytes[5]);
    if (version != bootstrap_config_format_version || bytes[6] != std::byte{0} ||
        bytes[7] != std::byte{0})
        return fail(ConfigErrc::invalid);
    const std::uint32_t n = get_u32(bytes, 8);
    if (n != bytes.size() - kHeader - kTrailer) return fail(ConfigErrc::invalid);
    if (get_u32(bytes, kHeader + n) != client::crc32(bytes.first(kHeader + n)))
        return fail(ConfigErrc::invalid);
    Reader r(bytes.subspan(kHeader, n));
    BootstrapConfig c;
    LWM2M_TRY_VOID(read_payload(r, c));
    if (!r.done()) return fail(ConfigErrc::invalid);
    return c;
}

std::string bootstrap_config_blob_context(std::string_view endpoint) {
    std::string c = "bootstrap/";
    c.append(endpoint);
    return c;
}

} // namespace lwm2m::store
