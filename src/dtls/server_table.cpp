#include <lwm2m/dtls/server_table.hpp>

#include <algorithm>
#include <cstring>
#include <deque>
#include <list>
#include <set>
#include <tuple>
#include <unordered_map>

#include <lwm2m/base/slab_map.hpp>

#include "dtls/engine.hpp"

namespace lwm2m::dtls {

using detail::Conn;

namespace {

using detail::kContentAlert;
using detail::kContentAppData;
using detail::kContentCcs;
using detail::kContentHandshake;
using detail::kRecordHeader;
// RFC 6347 §4.2.2 handshake header (12 bytes), after the record header.
constexpr std::size_t kHandshakeHeader = 12;
/// Largest datagram kept for an address without a session (poll_unknown_session).
constexpr std::size_t kMaxKeptDatagram = 1500;
constexpr std::uint8_t kClientHello = 1;

std::uint8_t u8(BytesView b, std::size_t i) {
    return std::to_integer<std::uint8_t>(b[i]);
}
std::uint16_t epoch_of(BytesView b) {
    return static_cast<std::uint16_t>((u8(b, 3) << 8) | u8(b, 4));
}

/// An epoch-0 ClientHello starting the datagram (the only thing an unknown peer may send).
bool is_client_hello(BytesView b) {
    // record header + handshake header + client_version(2) + random(32)
    if (b.size() < kRecordHeader + kHandshakeHeader + 2 + 32) return false;
    if (u8(b, 0) != kContentHandshake || u8(b, 1) != 0xFE) return false;
    if (epoch_of(b) != 0) return false;
    return u8(b, kRecordHeader) == kClientHello;
}

/// A datagram starting with a well-formed DTLS 1.2 application_data or alert record of epoch
/// >= 1 (RFC 6347 §4.1) that could belong to an established session.
bool is_protected_record(BytesView b) {
    if (b.size() < kRecordHeader || b.size() > kMaxKeptDatagram) return false;
    const std::uint8_t type = u8(b, 0);
    if ((type != kContentAppData && type != kContentAlert) || u8(b, 1) != 0xFE || u8(b, 2) != 0xFD)
        return false;
    const std::size_t len = (static_cast<std::size_t>(u8(b, 11)) << 8) | u8(b, 12);
    return epoch_of(b) >= 1 && len >= 16 && kRecordHeader + len <= b.size();
}

/// `p` with only its first `bits` address bits kept (port and scope cleared): the source prefix
/// a handshake is counted against.
PeerAddr masked(const PeerAddr& p, unsigned bits) noexcept {
    PeerAddr m;
    m.family = p.family;
    const unsigned total = p.family == PeerAddr::Family::ipv4 ? 32 : 128;
    bits = std::min(bits, total);
    for (unsigned i = 0; i < bits / 8; ++i)
        m.addr[i] = p.addr[i];
    if (bits % 8 != 0)
        m.addr[bits / 8] = static_cast<std::uint8_t>(p.addr[bits / 8] & (0xFF00U >> (bits % 8)));
    return m;
}

void client_random(BytesView b, std::array<std::byte, 32>& out) {
    std::memcpy(out.data(), b.data() + kRecordHeader + kHandshakeHeader + 2, 32);
}

ssize_t cookie_push(gnutls_transport_ptr_t ptr, const void* data, size_t size) {
    auto* sink = static_cast<detail::CookieSink*>(ptr);
    const auto* p = static_cast<const std::byte*>(data);
    sink->out->tx.push_back(Datagram{*sink->peer, Bytes(p, p + size)});
    return static_cast<ssize_t>(size);
}

} // namespace

struct ServerTable::Impl final : detail::Policy {
    struct Entry {
        std::unique_ptr<Conn> cur;     ///< the session in use (handshaking or established)
        std::unique_ptr<Conn> pending; ///< RFC 6347 §4.2.8 replacement handshake in progress
        /// The established session on the own record path (then `cur` is null).
        std::unique_ptr<RecordPath> own;
        /// Our final flight, resent while the client retransmits its own (RFC 6347 §4.2.4).
        std::vector<Bytes> final_flight;
        /// The random of the ClientHello that created the own-path session (stale duplicates).
        std::array<std::byte, 32> own_random{};
        std::list<SessionKey>::iterator lru;
        TimePoint last_activity{};
    };

    ServerConfig cfg;
    CredentialStore* store = nullptr;
    detail::Shared shared;
    detail::Outbox out;
    /// Sessions by address: a flat index over a slab (slab_map.hpp). A ClientHello from a new
    /// address is a lookup that misses; here it touches one line of the index instead of a
    /// bucket chain of other sessions' cold nodes.
    using Entries = SlabMap<SessionKey, Entry, SessionKeyHash>;
    Entries entries;
    std::list<SessionKey> lru; // front: least recently active
    std::set<std::tuple<TimePoint, std::uint64_t, Conn*>> timers;
    /// Handshakes in progress, least recently active first (Conn::half_open_pos).
    std::list<Conn*> half_open;
    /// Handshakes in progress per source address (port 0) and per source prefix.
    using Counts = SlabMap<PeerAddr, std::uint32_t, PeerAddrHash>;
    Counts per_address;
    Counts per_prefix;
    std::size_t high_water = 0; ///< most sessions since the last release hint
    bool release_hint = false;
    std::size_t conn_count = 0;
    std::uint64_t next_id = 1;
    std::array<unsigned char, GNUTLS_COOKIE_KEY_SIZE> cookie_key{};
    std::array<unsigned char, GNUTLS_COOKIE_KEY_SIZE> prev_cookie_key{};
    bool has_prev_key = false;
    std::optional<TimePoint> rotate_at;
    ServerStats stats;
    gnutls_x509_trust_list_t client_trust = nullptr; ///< built once from client_ca_der
    /// Latest protected datagram of addresses without a session (poll_unknown_session), with
    /// the order they came in (for the cap) and the reports not polled yet.
    std::unordered_map<PeerAddr, Bytes, PeerAddrHash> unknown;
    std::deque<PeerAddr> unknown_order;
    std::deque<PeerAddr> unknown_reports;

    ~Impl() override {
        secure_wipe(cookie_key.data(), cookie_key.size());
        secure_wipe(prev_cookie_key.data(), prev_cookie_key.size());
        // Conns must go before `shared` (they reference its credentials).
        timers.clear();
        entries.clear();
        if (client_trust != nullptr) gnutls_x509_trust_list_deinit(client_trust, 1);
    }

    // ---- Policy ----
    std::optional<SecretBytes> psk_key(BytesView identity) override {
        return store->psk_key(identity);
    }

    Errc verify_peer(Conn& c) override {
        const auto pc = detail::peer_certs(c.session());
        if (pc.count == 0) return Errc::peer_verification_failed;
        const BytesView ee = detail::view_of(pc.list[0]);
        if (pc.type == GNUTLS_CRT_RAWPK) {
            c.identity.kind = PeerIdentity::Kind::raw_public_key;
            c.identity.public_key_spki.assign(ee.begin(), ee.end());
            return store->rpk_allowed(ee) ? Errc{} : Errc::unknown_identity;
        }
        if (pc.type != GNUTLS_CRT_X509) return Errc::peer_verification_failed;
        c.identity.kind = PeerIdentity::Kind::x509;
        c.identity.certificate_der.assign(ee.begin(), ee.end());
        c.identity.public_key_spki = detail::spki_of_cert(pc.list[0]);
        c.identity.subject_dn = detail::subject_dn_of_cert(pc.list[0]);
        const Errc e = detail::verify_chain(pc, client_trust);
        if (e != Errc{}) return e;
        return store->certificate_allowed(c.identity) ? Errc{} : Errc::unknown_identity;
    }

    void on_established(Conn& c) override {
        ++stats.handshakes_completed;
        leave_half_open(c);
        (void)take_unknown(c.peer()); // a session of its own now: the kept datagram is stale
        auto it = entries.find(SessionKey::of(c.peer()));
        if (it == entries.end()) return;
        Entry& e = it->second;
        if (e.pending.get() != &c) return;
        // RFC 6347 §4.2.8: the new handshake completed, only now drop the old session.
        if (e.cur || e.own) {
            if (e.cur) retire(*e.cur);
            e.cur.reset();
            drop_own(e);
            out.events.emplace_back(Closed{c.peer(), make_error_code(Errc::replaced)});
        }
        ++stats.replacements;
        c.quiet = false;
        e.cur = std::move(e.pending);
    }

    // ---- session accounting ----
    PeerAddr address_of(const PeerAddr& p) const noexcept {
        PeerAddr a = p;
        a.port = 0;
        return a;
    }
    PeerAddr prefix_of(const PeerAddr& p) const noexcept {
        return masked(p, p.family == PeerAddr::Family::ipv4 ? cfg.ipv4_prefix_bits
                                                            : cfg.ipv6_prefix_bits);
    }
    static void decrement(Counts& m, const PeerAddr& k) {
        auto it = m.find(k);
        if (it != m.end() && --it->second == 0) m.erase(it);
    }
    static std::uint32_t count_of(const Counts& m, const PeerAddr& k) {
        const auto it = m.find(k);
        return it == m.end() ? 0 : it->second;
    }
    void enter_half_open(Conn& c) {
        c.half_open_pos = half_open.insert(half_open.end(), &c);
        c.half_open = true;
        ++per_address[address_of(c.peer())];
        ++per_prefix[prefix_of(c.peer())];
    }
    void leave_half_open(Conn& c) {
        if (!c.half_open) return;
        half_open.erase(c.half_open_pos);
        c.half_open = false;
        decrement(per_address, address_of(c.peer()));
        decrement(per_prefix, prefix_of(c.peer()));
    }
    /// Everything the table does for a Conn that it is about to destroy.
    void retire(Conn& c) {
        unschedule(c);
        leave_half_open(c);
        --conn_count;
        ++stats.sessions_freed;
        if (conn_count + cfg.release_hint_sessions <= high_water) release_hint = true;
    }
    /// Drops the own-path session of `e` (no alert).
    void drop_own(Entry& e) {
        e.final_flight.clear();
        if (!e.own) return;
        e.own.reset();
        --conn_count;
        if (conn_count + cfg.release_hint_sessions <= high_water) release_hint = true;
    }
    void added_own() {
        ++conn_count;
        high_water = std::max(high_water, conn_count);
    }
    /// Established on GnuTLS or on the own record path.
    static bool is_established(const Entry& e) {
        return e.own != nullptr || (e.cur && e.cur->state() == Conn::State::established);
    }
    /// Sends close_notify on the established session of `e` (best effort).
    void send_close_notify(Entry& e, const PeerAddr& peer) {
        if (e.own) {
            if (auto rec = e.own->seal_close_notify()) out.tx.push_back(Datagram{peer, *rec});
        } else if (e.cur) {
            e.cur->close_notify();
        }
    }
    /// Moves the established GnuTLS session `e.cur` to the own record path and frees it.
    void switch_to_own(Entry& e) {
        auto st = e.cur->export_state();
        if (!st) return; // CBC suite: stays on GnuTLS
        auto rp = RecordPath::create(std::move(*st));
        if (!rp) return;
        e.final_flight = e.cur->take_final_flight();
        e.own_random = e.cur->client_random;
        retire(*e.cur);
        e.cur.reset();
        e.own = std::make_unique<RecordPath>(std::move(*rp));
        added_own();
        ++stats.own_path_switches;
    }
    /// A datagram for the own-path session of `it`.
    void own_datagram(Entries::iterator it, BytesView b) {
        Entry& e = it->second;
        const PeerAddr peer = it->first.addr;
        OpenedDatagram r = e.own->open(b);
        stats.own_path_dropped += r.dropped;
        stats.own_path_replays += r.replayed;
        if (r.epoch0_handshake && !e.final_flight.empty()) {
            // The client retransmits its final flight: ours was lost (RFC 6347 §4.2.4).
            for (const auto& d : e.final_flight)
                out.tx.push_back(Datagram{peer, d});
        } else if (r.authentic > 0 && !e.final_flight.empty()) {
            std::vector<Bytes>().swap(e.final_flight); // the client is done with the handshake
        }
        for (auto& p : r.application_data)
            out.events.emplace_back(Plaintext{peer, std::move(p)});
        if (r.close_notify || r.fatal_alert) {
            detail::log(shared, LogLevel::debug, [&] {
                return std::string(r.close_notify ? "close_notify" : "fatal alert") + " from " +
                       peer.to_string();
            });
            drop_own(e);
            out.events.emplace_back(
                Closed{peer, make_error_code(r.close_notify ? Errc::closed : Errc::peer_alert)});
            if (!e.cur && !e.pending) erase_entry(it);
        }
    }
    /// Keeps the latest protected datagram of an address without a session and reports it.
    void note_unknown(const PeerAddr& from, BytesView b) {
        ++stats.unknown_session_datagrams;
        if (cfg.unknown_session_buffer == 0) {
            if (unknown_reports.size() < 1024) unknown_reports.push_back(from);
            return;
        }
        auto [it, fresh] = unknown.try_emplace(from);
        it->second.assign(b.begin(), b.end());
        if (!fresh) return; // reported already
        unknown_order.push_back(from);
        unknown_reports.push_back(from);
        while (unknown.size() > cfg.unknown_session_buffer && !unknown_order.empty()) {
            unknown.erase(unknown_order.front());
            unknown_order.pop_front();
        }
        while (unknown_reports.size() > cfg.unknown_session_buffer)
            unknown_reports.pop_front();
    }
    std::optional<Bytes> take_unknown(const PeerAddr& from) {
        auto it = unknown.find(from);
        if (it == unknown.end()) return std::nullopt;
        Bytes b = std::move(it->second);
        unknown.erase(it);
        unknown_order.erase(std::find(unknown_order.begin(), unknown_order.end(), from));
        return b;
    }

    void added_conn(Conn& c) {
        ++conn_count;
        enter_half_open(c);
        high_water = std::max(high_water, conn_count);
    }

    // ---- timers / LRU ----
    void unschedule(Conn& c) {
        if (c.timer_at) {
            timers.erase({*c.timer_at, c.id, &c});
            c.timer_at.reset();
        }
    }
    void reschedule(Conn& c) {
        const auto d = c.deadline();
        if (d == c.timer_at) return;
        unschedule(c);
        if (d) {
            timers.emplace(*d, c.id, &c);
            c.timer_at = d;
        }
    }
    void touch(Entry& e, TimePoint now) {
        e.last_activity = now;
        lru.splice(lru.end(), lru, e.lru);
    }
    void erase_entry(Entries::iterator it) {
        Entry& e = it->second;
        for (auto* c : {e.cur.get(), e.pending.get()})
            if (c != nullptr) retire(*c);
        drop_own(e);
        lru.erase(e.lru);
        entries.erase(it);
    }

    /// After a Conn was driven: drop it if it closed, fix timers, drop empty entries.
    void after(const PeerAddr& peer, Conn* c) {
        auto it = entries.find(SessionKey::of(peer));
        if (it == entries.end()) return;
        Entry& e = it->second;
        if (c != nullptr && (e.cur.get() == c || e.pending.get() == c)) {
            if (c->state() == Conn::State::closed) {
                if (!c->established_once) ++stats.handshakes_failed;
                retire(*c);
                if (e.cur.get() == c) {
                    e.cur = std::move(e.pending);
                    if (e.cur) e.cur->quiet = false;
                } else {
                    e.pending.reset();
                }
            } else {
                reschedule(*c);
            }
            if (cfg.own_record_path && e.cur.get() == c && !e.pending && !e.own &&
                c->state() == Conn::State::established)
                switch_to_own(e);
        }
        if (!e.cur && !e.pending && !e.own) erase_entry(it);
    }

    void maybe_rotate(TimePoint now) {
        if (rotate_at && now < *rotate_at) return;
        if (rotate_at) {
            prev_cookie_key = cookie_key;
            has_prev_key = true;
            gnutls_rnd(GNUTLS_RND_KEY, cookie_key.data(), cookie_key.size());
        }
        rotate_at = now + cfg.cookie_rotation;
    }

    /// Frees one slot for a new cookie-verified handshake. Handshakes still in progress go
    /// first (least recently active first): a cookie only proves that the peer can receive at
    /// its address (RFC 6347 §4.2.1), not that it holds credentials, so a flood of verified
    /// ClientHellos from many routable addresses must not push out authenticated sessions.
    /// Only when every slot holds an established session is the least recently active one
    /// evicted (the configured LRU policy). O(1) but for skipping `except`.
    bool evict_lru(const PeerAddr& except) {
        for (Conn* c : half_open) {
            if (c->peer() == except) continue;
            evict_half_open(*c);
            ++stats.evictions;
            return true;
        }
        for (auto& it : lru)
            if (!(it.addr == except) && try_evict(it)) return true;
        return false;
    }

    /// Drops the handshake `c` (a half-open session or a pending replacement handshake). A
    /// pending replacement goes silently (the established session stays); a half-open session
    /// reports HandshakeFailed{session_limit}.
    void evict_half_open(Conn& c) {
        const PeerAddr peer = c.peer();
        auto eit = entries.find(SessionKey::of(peer));
        if (eit == entries.end()) return;
        Entry& e = eit->second;
        detail::log(shared, LogLevel::debug,
                    [&] { return "dropping handshake with " + peer.to_string() + " (cap)"; });
        if (e.pending.get() == &c) {
            retire(c);
            e.pending.reset();
            return;
        }
        erase_entry(eit);
        out.events.emplace_back(HandshakeFailed{peer, make_error_code(Errc::session_limit)});
    }

    /// Evicts the established session of `key` (max_sessions reached, no handshake to drop).
    bool try_evict(const SessionKey& key) {
        auto eit = entries.find(key);
        if (eit == entries.end()) return false;
        Entry& e = eit->second;
        if (!is_established(e)) return false;
        const PeerAddr peer = key.addr;
        send_close_notify(e, peer);
        ++stats.evictions;
        detail::log(shared, LogLevel::info,
                    [&] { return "evicting session " + peer.to_string() + " (table full)"; });
        erase_entry(eit);
        out.events.emplace_back(Closed{peer, make_error_code(Errc::session_limit)});
        return true;
    }

    /// The caps on handshakes in progress (max_handshakes and the per-address / per-prefix
    /// caps) for a new verified ClientHello from `from` that does not replace a handshake of
    /// the same address and port. false: drop the ClientHello.
    bool admit_half_open(TimePoint now, const PeerAddr& from) {
        if (count_of(per_address, address_of(from)) >= cfg.max_handshakes_per_address) {
            ++stats.refused_per_address;
            return false;
        }
        if (count_of(per_prefix, prefix_of(from)) >= cfg.max_handshakes_per_prefix) {
            ++stats.refused_per_prefix;
            return false;
        }
        if (half_open.size() >= cfg.max_handshakes && !half_open.empty()) {
            // Evict the least recently active handshake only when its client has been silent
            // for half_open_eviction_idle: a live client answers a flight or retransmits its own
            // within its retransmission timer (RFC 6347 §4.2.4.1, 1 s initially). Otherwise
            // every handshake is live (a burst of real devices): the new ClientHello is dropped
            // before anything is allocated and its client retries after its timer, instead of
            // throwing away a handshake half done and sending its client into back-off.
            Conn& oldest = *half_open.front();
            auto eit = entries.find(SessionKey::of(oldest.peer()));
            if (eit != entries.end() &&
                now - eit->second.last_activity < cfg.half_open_eviction_idle) {
                ++stats.refused_at_capacity;
                return false;
            }
            evict_half_open(oldest);
            ++stats.half_open_evictions;
        }
        return true;
    }

    /// RFC 6347 §4.2.1: stateless cookie exchange. Nothing is allocated for `from` unless the
    /// ClientHello carries a valid cookie.
    void new_hello(TimePoint now, const PeerAddr& from, BytesView bytes) {
        gnutls_dtls_prestate_st prestate;
        std::memset(&prestate, 0, sizeof prestate);
        const auto pb = detail::peer_bytes(from);
        void* msg = const_cast<std::byte*>(bytes.data());
        gnutls_datum_t ck{cookie_key.data(), static_cast<unsigned>(cookie_key.size())};
        int r = gnutls_dtls_cookie_verify(&ck, const_cast<std::uint8_t*>(pb.b.data()), pb.n, msg,
                                          bytes.size(), &prestate);
        if (r < 0 && has_prev_key) {
            gnutls_datum_t pk{prev_cookie_key.data(),
                              static_cast<unsigned>(prev_cookie_key.size())};
            std::memset(&prestate, 0, sizeof prestate);
            r = gnutls_dtls_cookie_verify(&pk, const_cast<std::uint8_t*>(pb.b.data()), pb.n, msg,
                                          bytes.size(), &prestate);
        }
        if (r < 0) {
            std::memset(&prestate, 0, sizeof prestate);
            detail::CookieSink sink{&out, &from};
            if (gnutls_dtls_cookie_send(&ck, const_cast<std::uint8_t*>(pb.b.data()), pb.n,
                                        &prestate, &sink, &cookie_push) >= 0)
                ++stats.hello_verify_sent;
            return;
        }
        std::array<std::byte, 32> random{};
        client_random(bytes, random);

        const SessionKey key = SessionKey::of(from);
        auto it = entries.find(key);
        const bool have_established = it != entries.end() && is_established(it->second);
        // Capacity: a replacement of a handshaking session reuses its slot.
        const bool reuses_slot = it != entries.end() && !have_established;
        // A new handshake that replaces one in progress from the same address and port keeps
        // its half-open slot; any other must pass the half-open caps.
        const bool replaces_half_open =
            reuses_slot || (have_established && it->second.pending != nullptr);
        if (!replaces_half_open && !admit_half_open(now, from)) {
            ++stats.dropped_datagrams;
            return;
        }
        it = entries.find(key); // admit_half_open may have evicted entries
        if (!reuses_slot && conn_count >= cfg.max_sessions && !evict_lru(from)) {
            ++stats.dropped_datagrams;
            return;
        }
        auto c = std::make_unique<Conn>(shared, out, from);
        c->id = next_id++;
        c->client_random = random;
        c->started = now;
        c->last_activity = now;
        if (!c->init(true, &prestate)) {
            ++stats.dropped_datagrams;
            return;
        }
        it = entries.find(key);
        if (it == entries.end()) {
            lru.push_back(key);
            Entry e;
            e.lru = std::prev(lru.end());
            it = entries.emplace(key, std::move(e)).first;
        }
        Entry& e = it->second;
        Conn* raw = c.get();
        if (have_established) {
            if (e.pending) retire(*e.pending);
            c->quiet = true; // a failed replacement leaves the working session alone
            e.pending = std::move(c);
        } else {
            if (e.cur) retire(*e.cur);
            e.cur = std::move(c);
        }
        added_conn(*raw);
        touch(e, now);
        raw->on_datagram(now, bytes);
        after(from, raw);
    }
};

Result<ServerTable> ServerTable::create(ServerConfig config, CredentialStore& store) {
    auto impl = std::make_unique<Impl>();
    impl->cfg = std::move(config);
    impl->store = &store;
    auto& cfg = impl->cfg;
    auto& sh = impl->shared;
    if (!sh.global.ok()) return fail(Errc::internal_error);
    if (cfg.max_sessions == 0 || cfg.max_handshakes == 0 || cfg.max_handshakes_per_address == 0 ||
        cfg.max_handshakes_per_prefix == 0 || cfg.release_hint_sessions == 0 ||
        cfg.ipv4_prefix_bits < 1 || cfg.ipv4_prefix_bits > 32 || cfg.ipv6_prefix_bits < 1 ||
        cfg.ipv6_prefix_bits > 128)
        return fail(Errc::invalid_config);
    LWM2M_TRY_VOID(sh.apply_common(cfg));
    sh.policy = impl.get();
    const bool want_cert = cfg.rpk.has_value() || cfg.x509.has_value();
    if (!cfg.psk && !want_cert) return fail(Errc::invalid_config);
    if (cfg.psk) {
        if (gnutls_psk_allocate_server_credentials(&sh.psk_server) < 0) {
            sh.psk_server = nullptr;
            return fail(Errc::internal_error);
        }
        gnutls_psk_set_server_credentials_function2(sh.psk_server, &detail::psk_server_callback);
    }
    if (want_cert) {
        if (gnutls_certificate_allocate_credentials(&sh.cert) < 0) {
            sh.cert = nullptr;
            return fail(Errc::internal_error);
        }
        if (cfg.x509) LWM2M_TRY_VOID(detail::add_x509(sh.cert, *cfg.x509));
        if (cfg.rpk) {
            LWM2M_TRY_VOID(detail::add_rawpk(sh.cert, *cfg.rpk));
            sh.rawpk = true;
        }
        for (const auto& der : cfg.client_ca_der) {
            gnutls_x509_crt_t crt = nullptr;
            if (gnutls_x509_crt_init(&crt) < 0) return fail(Errc::internal_error);
            gnutls_datum_t d{
                const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(der.data())),
                static_cast<unsigned>(der.size())};
            const int r = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER);
            gnutls_x509_crt_deinit(crt);
            if (r < 0) return fail(Errc::invalid_config);
        }
        impl->client_trust = detail::make_trust_list(cfg.client_ca_der);
        if (impl->client_trust == nullptr) return fail(Errc::internal_error);
        gnutls_certificate_set_verify_function(sh.cert, &detail::verify_callback);
    }
    LWM2M_TRY_VOID(sh.init_priority(cfg.cipher_suites, cfg.psk, want_cert, cfg.x509.has_value(),
                                    cfg.rpk.has_value()));
    if (gnutls_rnd(GNUTLS_RND_KEY, impl->cookie_key.data(), impl->cookie_key.size()) < 0)
        return fail(Errc::internal_error);
    return ServerTable(std::move(impl));
}

ServerTable::ServerTable(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
ServerTable::ServerTable(ServerTable&&) noexcept = default;
ServerTable& ServerTable::operator=(ServerTable&&) noexcept = default;
ServerTable::~ServerTable() = default;

void ServerTable::on_datagram(TimePoint now, const PeerAddr& from, BytesView b) {
    auto& im = *impl_;
    im.maybe_rotate(now);
    if (b.size() < kRecordHeader) {
        ++im.stats.dropped_datagrams;
        return;
    }
    const bool hello = is_client_hello(b);
    auto it = im.entries.find(SessionKey::of(from));
    if (it == im.entries.end()) {
        if (!hello) {
            ++im.stats.dropped_datagrams;
            if (is_protected_record(b))
                im.note_unknown(from, b); // maybe a session of another node (issue #13)
            return;
        }
        im.new_hello(now, from, b);
        return;
    }
    auto& e = it->second;
    Conn* target = nullptr;
    if (hello) {
        std::array<std::byte, 32> random{};
        client_random(b, random);
        if (e.pending && e.pending->client_random == random) {
            target = e.pending.get(); // retransmitted ClientHello of the replacement
        } else if (e.cur && e.cur->client_random == random) {
            if (e.cur->state() != Conn::State::handshaking) {
                ++im.stats.dropped_datagrams; // stale duplicate of the finished handshake
                return;
            }
            target = e.cur.get();
        } else if (e.own && !e.cur && e.own_random == random) {
            ++im.stats.dropped_datagrams; // stale duplicate of the finished handshake
            return;
        } else {
            im.new_hello(now, from, b); // RFC 6347 §4.2.8: a new handshake from this address
            return;
        }
    } else if (e.pending) {
        // Handshake traffic goes to the replacement; application data to the working session.
        const std::uint8_t type = u8(b, 0);
        if (type == kContentHandshake || type == kContentCcs ||
            (type == kContentAlert && epoch_of(b) == 0))
            target = e.pending.get();
        else
            target = e.cur ? e.cur.get() : (e.own ? nullptr : e.pending.get());
    } else {
        target = e.cur.get();
    }
    im.touch(e, now);
    if (target == nullptr) { // the own record path
        im.own_datagram(it, b);
        return;
    }
    if (target->half_open)
        im.half_open.splice(im.half_open.end(), im.half_open, target->half_open_pos);
    target->on_datagram(now, b);
    im.after(from, target);
}

void ServerTable::on_timeout(TimePoint now) {
    auto& im = *impl_;
    im.maybe_rotate(now);
    while (!im.timers.empty() && std::get<0>(*im.timers.begin()) <= now) {
        Conn* c = std::get<2>(*im.timers.begin());
        im.timers.erase(im.timers.begin());
        c->timer_at.reset();
        const PeerAddr peer = c->peer();
        c->on_timeout(now);
        im.after(peer, c);
    }
    while (!im.lru.empty()) {
        auto it = im.entries.find(im.lru.front());
        if (it == im.entries.end() || it->second.last_activity + im.cfg.idle_timeout > now) break;
        const PeerAddr peer = it->first.addr;
        auto& e = it->second;
        const bool est = Impl::is_established(e);
        if (est) im.send_close_notify(e, peer);
        ++im.stats.idle_closes;
        im.erase_entry(it);
        if (est)
            im.out.events.emplace_back(Closed{peer, make_error_code(Errc::idle_timeout)});
        else
            im.out.events.emplace_back(
                HandshakeFailed{peer, make_error_code(Errc::handshake_timeout)});
    }
}

std::optional<Datagram> ServerTable::poll_transmit() {
    return impl_->out.pop_tx();
}

std::optional<Event> ServerTable::poll_event() {
    return impl_->out.pop_event();
}

std::optional<TimePoint> ServerTable::next_deadline() const {
    const auto& im = *impl_;
    std::optional<TimePoint> d;
    if (!im.timers.empty()) d = std::get<0>(*im.timers.begin());
    if (!im.lru.empty()) {
        const auto it = im.entries.find(im.lru.front());
        if (it != im.entries.end()) {
            const TimePoint idle = it->second.last_activity + im.cfg.idle_timeout;
            if (!d || idle < *d) d = idle;
        }
    }
    return d;
}

Result<void> ServerTable::send(TimePoint now, const PeerAddr& peer, BytesView plaintext) {
    auto& im = *impl_;
    auto it = im.entries.find(SessionKey::of(peer));
    if (it == im.entries.end() || !Impl::is_established(it->second))
        return fail(Errc::not_connected);
    if (auto& own = it->second.own) {
        if (plaintext.size() + RecordPath::kOverhead > im.shared.mtu)
            return fail(Errc::message_too_large);
        LWM2M_TRY(rec, own->seal(plaintext));
        im.out.tx.push_back(Datagram{peer, std::move(rec)});
    } else {
        LWM2M_TRY_VOID(it->second.cur->send(now, plaintext));
    }
    im.touch(it->second, now);
    return ok();
}

void ServerTable::close(TimePoint /*now*/, const PeerAddr& peer) {
    auto& im = *impl_;
    auto it = im.entries.find(SessionKey::of(peer));
    if (it == im.entries.end()) return;
    if (Impl::is_established(it->second)) im.send_close_notify(it->second, peer);
    im.erase_entry(it);
}

std::size_t ServerTable::size() const noexcept {
    return impl_->conn_count;
}
std::size_t ServerTable::handshakes() const noexcept {
    return impl_->half_open.size();
}
bool ServerTable::take_release_hint() noexcept {
    auto& im = *impl_;
    if (!im.release_hint) return false;
    im.release_hint = false;
    im.high_water = im.conn_count;
    ++im.stats.release_hints;
    return true;
}
bool ServerTable::established(const PeerAddr& peer) const noexcept {
    const auto it = impl_->entries.find(SessionKey::of(peer));
    return it != impl_->entries.end() && Impl::is_established(it->second);
}
bool ServerTable::own_record_path(const PeerAddr& peer) const noexcept {
    const auto it = impl_->entries.find(SessionKey::of(peer));
    return it != impl_->entries.end() && it->second.own != nullptr;
}

Result<SessionState> ServerTable::export_session(const PeerAddr& peer) {
    auto& im = *impl_;
    const auto it = im.entries.find(SessionKey::of(peer));
    if (it == im.entries.end() || !Impl::is_established(it->second))
        return fail(Errc::not_connected);
    if (it->second.own) {
        ++im.stats.sessions_exported;
        return it->second.own->state();
    }
    LWM2M_TRY(st, it->second.cur->export_state());
    ++im.stats.sessions_exported;
    return st;
}

Result<std::uint64_t> ServerTable::session_read_high_water(const PeerAddr& peer) const {
    const auto& im = *impl_;
    const auto it = im.entries.find(SessionKey::of(peer));
    if (it == im.entries.end() || !Impl::is_established(it->second))
        return fail(Errc::not_connected);
    if (it->second.own) return it->second.own->read_high_water();
    LWM2M_TRY(st, it->second.cur->export_state());
    return st.read_window.highest;
}

Result<void> ServerTable::import_session(TimePoint now, SessionState state,
                                         std::uint64_t write_seq_floor) {
    auto& im = *impl_;
    if (!exportable_suite(state.suite)) return fail(Errc::not_exportable);
    if (state.peer.family == PeerAddr::Family::none) return fail(Errc::malformed_state);
    state.write_seq = std::max(state.write_seq, write_seq_floor);
    if (state.write_seq > kMaxRecordSequence) return fail(Errc::sequence_exhausted);
    // Only records above what the exporter had received (issue #13: the replay gap).
    state.read_window = ReplayWindow::above(state.read_window.any ? state.read_window.highest : 0);
    const PeerAddr peer = state.peer;
    const PeerIdentity identity = state.identity;
    const CipherSuite suite = state.suite;
    LWM2M_TRY(rp, RecordPath::create(std::move(state)));
    const SessionKey key = SessionKey::of(peer);
    // A session or handshake of the address is newer than the state looked up for it (the
    // client handshook again while the look-up ran): the import must not replace it.
    if (im.entries.contains(key)) return fail(Errc::session_exists);
    if (im.conn_count >= im.cfg.max_sessions && !im.evict_lru(peer))
        return fail(Errc::session_limit);
    im.lru.push_back(key);
    Impl::Entry e;
    e.lru = std::prev(im.lru.end());
    e.own = std::make_unique<RecordPath>(std::move(rp));
    auto it = im.entries.emplace(key, std::move(e)).first;
    im.added_own();
    im.touch(it->second, now);
    ++im.stats.sessions_imported;
    im.out.events.emplace_back(HandshakeDone{peer, identity, suite});
    if (auto kept = im.take_unknown(peer)) im.own_datagram(it, *kept);
    return ok();
}

std::optional<PeerAddr> ServerTable::poll_unknown_session() {
    return detail::pop_front(impl_->unknown_reports);
}
void ServerTable::forget_unknown_session(const PeerAddr& peer) {
    (void)impl_->take_unknown(peer);
}
const ServerStats& ServerTable::stats() const noexcept {
    return impl_->stats;
}

} // namespace lwm2m::dtls
