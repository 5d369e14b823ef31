// SessionState codec, sealing and the own AES-128-CCM-8 record path (see session_state.hpp).
#include <lwm2m/dtls/session_state.hpp>

#include <array>
#include <cstring>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "dtls/engine.hpp"

namespace lwm2m::dtls {

namespace {

// RFC 6347 §4.1 record header; RFC 6655 §3: 8-byte explicit nonce, 8-byte CCM-8 tag.
using detail::kContentAlert;
using detail::kContentAppData;
using detail::kContentHandshake;
using detail::kRecordHeader;
constexpr std::size_t kExplicitNonce = 8;
constexpr std::size_t kTag = 8;
constexpr std::size_t kKeySize = 16;
constexpr std::size_t kSaltSize = 4;
constexpr std::size_t kMaxPlaintext = 16384; // 2^14, RFC 6347 §4.1 / RFC 5246 §6.2.1
constexpr std::uint8_t kVersionMajor = 0xFE; // DTLS 1.2 = {254, 253}
constexpr std::uint8_t kVersionMinor = 0xFD;

constexpr std::array<std::uint8_t, 3> kMagic{'L', 'D', 'S'};
constexpr std::uint8_t kCodecVersion = 1;
constexpr std::uint8_t kSealVersion = 1;
constexpr std::size_t kSealNonce = 12;
constexpr std::size_t kSealTag = 16;
constexpr std::size_t kMaxCertificate = std::size_t{1} << 20;
constexpr std::string_view kSealContext = "lwm2m dtls session state v1";

std::uint8_t b8(BytesView b, std::size_t i) {
    return std::to_integer<std::uint8_t>(b[i]);
}

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
    void u64(std::uint64_t v) {
        u32(static_cast<std::uint32_t>(v >> 32));
        u32(static_cast<std::uint32_t>(v));
    }
    void raw(BytesView b) { out.insert(out.end(), b.begin(), b.end()); }
};

class Reader {
public:
    explicit Reader(BytesView b)
        : b_(b) {}
    bool ok = true;
    [[nodiscard]] bool done() const { return ok && off_ == b_.size(); }
    std::uint64_t un(unsigned bytes) {
        if (!ok || b_.size() - off_ < bytes) {
            ok = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (unsigned i = 0; i < bytes; ++i)
            v = (v << 8) | b8(b_, off_++);
        return v;
    }
    BytesView raw(std::size_t n) {
        if (!ok || b_.size() - off_ < n) {
            ok = false;
            return {};
        }
        const BytesView v = b_.subspan(off_, n);
        off_ += n;
        return v;
    }

private:
    BytesView b_;
    std::size_t off_ = 0;
};

using detail::datum;

void put_u48(std::byte* p, std::uint64_t v) {
    for (int i = 5; i >= 0; --i) {
        p[i] = static_cast<std::byte>(v & 0xFF);
        v >>= 8;
    }
}

/// RFC 5246 §6.2.3.3 additional data, DTLS form (RFC 6347 §4.1.2.1): epoch(2) || seq(6) ||
/// type(1) || version(2) || plaintext length(2).
std::array<std::byte, 13> aad_of(std::uint16_t epoch, std::uint64_t seq, std::uint8_t type,
                                 std::size_t plaintext_len) {
    std::array<std::byte, 13> a{};
    a[0] = static_cast<std::byte>(epoch >> 8);
    a[1] = static_cast<std::byte>(epoch & 0xFF);
    put_u48(&a[2], seq);
    a[8] = static_cast<std::byte>(type);
    a[9] = static_cast<std::byte>(kVersionMajor);
    a[10] = static_cast<std::byte>(kVersionMinor);
    a[11] = static_cast<std::byte>((plaintext_len >> 8) & 0xFF);
    a[12] = static_cast<std::byte>(plaintext_len & 0xFF);
    return a;
}

bool valid_sizes(const SessionState& s) {
    return s.client_write_key.size() == kKeySize && s.server_write_key.size() == kKeySize &&
           s.client_write_iv.size() == kSaltSize && s.server_write_iv.size() == kSaltSize &&
           s.epoch >= 1 && s.write_seq <= kMaxRecordSequence + 1 &&
           s.read_window.highest <= kMaxRecordSequence &&
           (s.read_window.any || (s.read_window.highest == 0 && s.read_window.bitmap == 0));
}

bool valid_peer(const PeerAddr& p) {
    if (p.family == PeerAddr::Family::ipv4) {
        for (std::size_t i = 4; i < p.addr.size(); ++i)
            if (p.addr[i] != 0) return false;
        return p.scope_id == 0;
    }
    return p.family == PeerAddr::Family::ipv6;
}

/// The additional data of a sealed state: a fixed context and the peer address.
Bytes seal_aad(const PeerAddr& peer) {
    Bytes a(kSealContext.size());
    std::memcpy(a.data(), kSealContext.data(), kSealContext.size());
    const auto pb = detail::peer_bytes(peer);
    const auto* p = reinterpret_cast<const std::byte*>(pb.b.data());
    a.insert(a.end(), p, p + pb.n);
    return a;
}

} // namespace

// ---- ReplayWindow (RFC 6347 §4.1.2.6) ---------------------------------------------------------

bool ReplayWindow::may_accept(std::uint64_t seq) const noexcept {
    if (seq > kMaxRecordSequence) return false;
    if (!any || seq > highest) return true;
    const std::uint64_t back = highest - seq;
    if (back >= 64) return false;
    return (bitmap & (std::uint64_t{1} << back)) == 0;
}

void ReplayWindow::mark(std::uint64_t seq) noexcept {
    if (!any) {
        any = true;
        highest = seq;
        bitmap = 1;
        return;
    }
    if (seq > highest) {
        const std::uint64_t shift = seq - highest;
        bitmap = shift >= 64 ? 1 : ((bitmap << shift) | 1);
        highest = seq;
        return;
    }
    const std::uint64_t back = highest - seq;
    if (back < 64) bitmap |= std::uint64_t{1} << back;
}

ReplayWindow ReplayWindow::above(std::uint64_t high_water) noexcept {
    ReplayWindow w;
    w.any = true;
    w.highest = std::min(high_water, kMaxRecordSequence);
    w.bitmap = ~std::uint64_t{0}; // everything at or below the high-water mark is "seen"
    return w;
}

bool exportable_suite(CipherSuite suite) noexcept {
    return suite == CipherSuite::psk_aes_128_ccm_8 ||
           suite == CipherSuite::ecdhe_ecdsa_aes_128_ccm_8;
}

// ---- codec ------------------------------------------------------------------------------------

Result<Bytes> encode_session_state(const SessionState& s) {
    if (!exportable_suite(s.suite)) return fail(Errc::not_exportable);
    if (!valid_sizes(s) || !valid_peer(s.peer)) return fail(Errc::malformed_state);
    const auto& id = s.identity;
    if (id.psk_identity.size() > 0xFFFF || id.public_key_spki.size() > 0xFFFF ||
        id.subject_dn.size() > 0xFFFF || id.certificate_der.size() > kMaxCertificate)
        return fail(Errc::malformed_state);
    Writer w;
    w.raw(BytesView(reinterpret_cast<const std::byte*>(kMagic.data()), kMagic.size()));
    w.u8(kCodecVersion);
    w.u16(static_cast<std::uint16_t>(s.suite));
    w.u16(s.epoch);
    for (const SecretBytes* k :
         {&s.client_write_key, &s.client_write_iv, &s.server_write_key, &s.server_write_iv}) {
        w.u8(static_cast<std::uint8_t>(k->size()));
        w.raw(k->view());
    }
    w.u64(s.write_seq);
    w.u8(s.read_window.any ? 1 : 0);
    w.u64(s.read_window.highest);
    w.u64(s.read_window.bitmap);
    w.u8(static_cast<std::uint8_t>(s.peer.family));
    w.raw(BytesView(reinterpret_cast<const std::byte*>(s.peer.addr.data()), s.peer.addr.size()));
    w.u16(s.peer.port);
    w.u32(s.peer.scope_id);
    w.u8(static_cast<std::uint8_t>(id.kind));
    w.u16(static_cast<std::uint16_t>(id.psk_identity.size()));
    w.raw(id.psk_identity);
    w.u16(static_cast<std::uint16_t>(id.public_key_spki.size()));
    w.raw(id.public_key_spki);
    w.u16(static_cast<std::uint16_t>(id.subject_dn.size()));
    w.raw(
        BytesView(reinterpret_cast<const std::byte*>(id.subject_dn.data()), id.subject_dn.size()));
    w.u32(static_cast<std::uint32_t>(id.certificate_der.size()));
    w.raw(id.certificate_der);
    return std::move(w.out);
}

Result<SessionState> decode_session_state(BytesView encoded) {
    Reader r(encoded);
    const BytesView magic = r.raw(kMagic.size());
    if (!r.ok || std::memcmp(magic.data(), kMagic.data(), kMagic.size()) != 0)
        return fail(Errc::malformed_state);
    if (r.un(1) != kCodecVersion) return fail(Errc::malformed_state);
    SessionState s;
    s.suite = static_cast<CipherSuite>(r.un(2));
    if (!r.ok || !exportable_suite(s.suite)) return fail(Errc::malformed_state);
    s.epoch = static_cast<std::uint16_t>(r.un(2));
    for (SecretBytes* k :
         {&s.client_write_key, &s.client_write_iv, &s.server_write_key, &s.server_write_iv}) {
        const auto n = static_cast<std::size_t>(r.un(1));
        *k = SecretBytes(r.raw(n));
    }
    s.write_seq = r.un(8);
    const auto any = r.un(1);
    if (any > 1) return fail(Errc::malformed_state);
    s.read_window.any = any == 1;
    s.read_window.highest = r.un(8);
    s.read_window.bitmap = r.un(8);
    const auto family = r.un(1);
    if (family != 4 && family != 6) return fail(Errc::malformed_state);
    s.peer.family = static_cast<PeerAddr::Family>(family);
    const BytesView addr = r.raw(s.peer.addr.size());
    if (r.ok) std::memcpy(s.peer.addr.data(), addr.data(), addr.size());
    s.peer.port = static_cast<std::uint16_t>(r.un(2));
    s.peer.scope_id = static_cast<std::uint32_t>(r.un(4));
    const auto kind = r.un(1);
    if (kind > static_cast<std::uint8_t>(PeerIdentity::Kind::x509))
        return fail(Errc::malformed_state);
    s.identity.kind = static_cast<PeerIdentity::Kind>(kind);
    const BytesView psk = r.raw(static_cast<std::size_t>(r.un(2)));
    const BytesView spki = r.raw(static_cast<std::size_t>(r.un(2)));
    const BytesView dn = r.raw(static_cast<std::size_t>(r.un(2)));
    const auto cert_len = static_cast<std::size_t>(r.un(4));
    if (cert_len > kMaxCertificate) return fail(Errc::malformed_state);
    const BytesView cert = r.raw(cert_len);
    if (!r.done() || !valid_sizes(s) || !valid_peer(s.peer)) return fail(Errc::malformed_state);
    s.identity.psk_identity.assign(psk.begin(), psk.end());
    s.identity.public_key_spki.assign(spki.begin(), spki.end());
    s.identity.subject_dn.assign(reinterpret_cast<const char*>(dn.data()), dn.size());
    s.identity.certificate_der.assign(cert.begin(), cert.end());
    return s;
}

// ---- sealing ----------------------------------------------------------------------------------

Result<Bytes> seal_session_state(const SessionState& s, const SecretBytes& cluster_key,
                                 Random& random) {
    if (cluster_key.size() != kClusterKeySize) return fail(Errc::invalid_config);
    LWM2M_TRY(plain, encode_session_state(s));
    SecretBytes plain_secret(plain); // the encoding holds keys: wipe it on every path
    secure_wipe(plain.data(), plain.size());
    gnutls_aead_cipher_hd_t hd = nullptr;
    gnutls_datum_t k = datum(cluster_key.view());
    if (gnutls_aead_cipher_init(&hd, GNUTLS_CIPHER_AES_256_GCM, &k) < 0)
        return fail(Errc::internal_error);
    Bytes out(1 + kSealNonce + plain_secret.size() + kSealTag);
    out[0] = static_cast<std::byte>(kSealVersion);
    random.fill(std::span<std::byte>(out.data() + 1, kSealNonce));
    const Bytes aad = seal_aad(s.peer);
    std::size_t clen = out.size() - 1 - kSealNonce;
    const int r = gnutls_aead_cipher_encrypt(
        hd, out.data() + 1, kSealNonce, aad.data(), aad.size(), kSealTag,
        plain_secret.view().data(), plain_secret.size(), out.data() + 1 + kSealNonce, &clen);
    gnutls_aead_cipher_deinit(hd);
    if (r < 0 || clen != out.size() - 1 - kSealNonce) return fail(Errc::internal_error);
    return out;
}

Result<SessionState> open_session_state(BytesView sealed, const SecretBytes& cluster_key,
                                        const PeerAddr& peer) {
    if (cluster_key.size() != kClusterKeySize) return fail(Errc::invalid_config);
    if (sealed.size() < 1 + kSealNonce + kSealTag || b8(sealed, 0) != kSealVersion)
        return fail(Errc::authentication_failed);
    gnutls_aead_cipher_hd_t hd = nullptr;
    gnutls_datum_t k = datum(cluster_key.view());
    if (gnutls_aead_cipher_init(&hd, GNUTLS_CIPHER_AES_256_GCM, &k) < 0)
        return fail(Errc::internal_error);
    const Bytes aad = seal_aad(peer);
    const BytesView ct = sealed.subspan(1 + kSealNonce);
    Bytes plain(ct.size());
    std::size_t plen = plain.size();
    const int r =
        gnutls_aead_cipher_decrypt(hd, sealed.data() + 1, kSealNonce, aad.data(), aad.size(),
                                   kSealTag, ct.data(), ct.size(), plain.data(), &plen);
    gnutls_aead_cipher_deinit(hd);
    if (r < 0) {
        secure_wipe(plain.data(), plain.size());
        return fail(Errc::authentication_failed);
    }
    auto s = decode_session_state(BytesView(plain.data(), plen));
    secure_wipe(plain.data(), plain.size());
    if (!s) return s;
    if (!(s->peer == peer)) return fail(Errc::authentication_failed);
    return s;
}

// ---- RecordPath -------------------------------------------------------------------------------

namespace {
gnutls_aead_cipher_hd_t hd_of(void* p) {
    return static_cast<gnutls_aead_cipher_hd_t>(p);
}
void free_hd(void*& p) {
    if (p != nullptr) gnutls_aead_cipher_deinit(hd_of(p));
    p = nullptr;
}
} // namespace

RecordPath::RecordPath(SessionState state)
    : state_(std::move(state)) {}

RecordPath::RecordPath(RecordPath&& o) noexcept
    : state_(std::move(o.state_))
    , read_(o.read_)
    , write_(o.write_) {
    o.read_ = nullptr;
    o.write_ = nullptr;
}

RecordPath& RecordPath::operator=(RecordPath&& o) noexcept {
    if (this != &o) {
        free_hd(read_);
        free_hd(write_);
        state_ = std::move(o.state_);
        read_ = o.read_;
        write_ = o.write_;
        o.read_ = nullptr;
        o.write_ = nullptr;
    }
    return *this;
}

RecordPath::~RecordPath() {
    free_hd(read_);
    free_hd(write_);
}

Result<RecordPath> RecordPath::create(SessionState state) {
    if (!exportable_suite(state.suite)) return fail(Errc::not_exportable);
    if (!valid_sizes(state)) return fail(Errc::malformed_state);
    RecordPath p(std::move(state));
    gnutls_aead_cipher_hd_t rd = nullptr;
    gnutls_aead_cipher_hd_t wr = nullptr;
    gnutls_datum_t rk = datum(p.state_.client_write_key.view());
    gnutls_datum_t wk = datum(p.state_.server_write_key.view());
    if (gnutls_aead_cipher_init(&rd, GNUTLS_CIPHER_AES_128_CCM_8, &rk) < 0)
        return fail(Errc::internal_error);
    p.read_ = rd;
    if (gnutls_aead_cipher_init(&wr, GNUTLS_CIPHER_AES_128_CCM_8, &wk) < 0)
        return fail(Errc::internal_error);
    p.write_ = wr;
    return p;
}

OpenedDatagram RecordPath::open(BytesView d) {
    OpenedDatagram out;
    out.epoch0_handshake = d.size() >= kRecordHeader && b8(d, 0) == kContentHandshake &&
                           b8(d, 3) == 0 && b8(d, 4) == 0;
    std::size_t off = 0;
    std::array<std::byte, 12> nonce{};
    std::memcpy(nonce.data(), state_.client_write_iv.view().data(), kSaltSize);
    while (off < d.size()) {
        if (d.size() - off < kRecordHeader) { // RFC 6347 §4.1.2.7: drop what cannot be parsed
            ++out.dropped;
            break;
        }
        const BytesView h = d.subspan(off, kRecordHeader);
        const std::uint8_t type = b8(h, 0);
        const auto epoch = static_cast<std::uint16_t>((b8(h, 3) << 8) | b8(h, 4));
        std::uint64_t seq = 0;
        for (std::size_t i = 5; i < 11; ++i)
            seq = (seq << 8) | b8(h, i);
        const std::size_t len = (static_cast<std::size_t>(b8(h, 11)) << 8) | b8(h, 12);
        if (d.size() - off - kRecordHeader < len) {
            ++out.dropped;
            break;
        }
        const BytesView frag = d.subspan(off + kRecordHeader, len);
        off += kRecordHeader + len;
        if (b8(h, 1) != kVersionMajor || b8(h, 2) != kVersionMinor || epoch != state_.epoch ||
            len < kExplicitNonce + kTag || len - kExplicitNonce - kTag > kMaxPlaintext) {
            ++out.dropped;
            continue;
        }
        if (!state_.read_window.may_accept(seq)) { // RFC 6347 §4.1.2.6, before decrypting
            ++out.dropped;
            ++out.replayed;
            continue;
        }
        const std::size_t plen = len - kExplicitNonce - kTag;
        std::memcpy(nonce.data() + kSaltSize, frag.data(), kExplicitNonce);
        const auto aad = aad_of(epoch, seq, type, plen);
        Bytes plain(plen + 1); // never empty: a 0-byte record still gets a valid pointer
        std::size_t got = plain.size();
        const int r = gnutls_aead_cipher_decrypt(
            hd_of(read_), nonce.data(), nonce.size(), aad.data(), aad.size(), kTag,
            frag.data() + kExplicitNonce, len - kExplicitNonce, plain.data(), &got);
        if (r < 0 || got != plen) {
            ++out.dropped;
            continue;
        }
        plain.resize(plen);
        state_.read_window.mark(seq);
        ++out.authentic;
        if (type == kContentAppData) {
            out.application_data.push_back(std::move(plain));
        } else if (type == kContentAlert && plen == 2) {
            // RFC 5246 §7.2: level 2 = fatal; description 0 = close_notify.
            if (b8(plain, 1) == 0)
                out.close_notify = true;
            else if (b8(plain, 0) == 2)
                out.fatal_alert = true;
        } else {
            ++out.dropped; // e.g. a retransmitted Finished (epoch-1 handshake): nothing to do
        }
    }
    return out;
}

Result<Bytes> RecordPath::seal_record(std::uint8_t type, BytesView plaintext) {
    if (plaintext.size() > kMaxPlaintext) return fail(Errc::message_too_large);
    if (state_.write_seq > kMaxRecordSequence) return fail(Errc::sequence_exhausted);
    const std::uint64_t seq = state_.write_seq;
    const std::size_t len = kExplicitNonce + plaintext.size() + kTag;
    Bytes rec(kRecordHeader + len);
    rec[0] = static_cast<std::byte>(type);
    rec[1] = static_cast<std::byte>(kVersionMajor);
    rec[2] = static_cast<std::byte>(kVersionMinor);
    rec[3] = static_cast<std::byte>(state_.epoch >> 8);
    rec[4] = static_cast<std::byte>(state_.epoch & 0xFF);
    put_u48(&rec[5], seq);
    rec[11] = static_cast<std::byte>(len >> 8);
    rec[12] = static_cast<std::byte>(len & 0xFF);
    // Explicit nonce = epoch || seq, as GnuTLS sends it (unique per key, RFC 6655 §3).
    std::memcpy(&rec[kRecordHeader], &rec[3], kExplicitNonce);
    std::array<std::byte, 12> nonce{};
    std::memcpy(nonce.data(), state_.server_write_iv.view().data(), kSaltSize);
    std::memcpy(nonce.data() + kSaltSize, &rec[kRecordHeader], kExplicitNonce);
    const auto aad = aad_of(state_.epoch, seq, type, plaintext.size());
    std::size_t clen = plaintext.size() + kTag;
    const int r = gnutls_aead_cipher_encrypt(hd_of(write_), nonce.data(), nonce.size(), aad.data(),
                                             aad.size(), kTag, plaintext.data(), plaintext.size(),
                                             rec.data() + kRecordHeader + kExplicitNonce, &clen);
    if (r < 0 || clen != plaintext.size() + kTag) return fail(Errc::internal_error);
    ++state_.write_seq; // never reused, even if the caller drops the record
    return rec;
}

Result<Bytes> RecordPath::seal(BytesView plaintext) {
    return seal_record(kContentAppData, plaintext);
}

Result<Bytes> RecordPath::seal_close_notify() {
    const std::array<std::byte, 2> alert{std::byte{1}, std::byte{0}}; // warning, close_notify
    return seal_record(kContentAlert, alert);
}

} // namespace lwm2m::dtls
