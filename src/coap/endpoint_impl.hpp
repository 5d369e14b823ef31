// Private to lwm2m_coap: the state of coap::Endpoint (its Impl) and the types it is made of.
// One .cpp per concern implements Endpoint::Impl:
//   endpoint.cpp          Config, construction, the public Endpoint forwarding, stats
//   endpoint_message.cpp  message layer: peers, CON retransmission state, deduplication (§4.5)
//   endpoint_timers.cpp   timer heap and FIFOs, next_deadline(), on_timeout()
//   endpoint_client.cpp   client exchanges (NSTART queue, Block1 upload, Block2 download,
//                         Observe notifications)
//   endpoint_server.cpp   server exchanges (Block1 reassembly, Block2 body cache, Observe)
//   endpoint_input.cpp    on_datagram() dispatch: ACK, RST, requests, responses
// See include/lwm2m/coap/endpoint.hpp for the documented design choices.
//
// State layout (hash maps, no per-peer containers beyond a tiny queue vector):
//  - peers_:     PeerAddr -> Peer (MID counter, NSTART slots, counters for the limits)
//  - txs_:       (peer, MID) -> Tx, every CON we may retransmit (§4.2)
//  - dedup_:     (peer, MID) -> cached reply of a received CON/NON (§4.5): a flat table whose
//                entry ring is also the expiry FIFO (dedup_table.hpp); entries link their Peer
//                and pending requests hold a handle to their entry (no lookups on the hot path)
//  - clients_:   RequestId -> ClientEx, tokens_: (peer, token) -> RequestId
//  - incoming_:  IncomingId -> IncomingEx (requests the application has not answered yet)
//  - observations_: ObservationId -> Observation, obs_index_: (peer, token) -> id (RFC 7641 §4.1)
//  - blocks_:    id -> Block1 reassembly or Block2 body cache, block_index_: (peer, key, kind)
//  - heap_:      timers with lazy deletion (each owner keeps a generation number)
// Server hot path (steady state): no allocation by the endpoint's own state (pooled map nodes,
// ring queues, replies cached inline); the remaining ones are the owning Message of the event,
// the application's response and the datagram bytes (bench/coap_endpoint counts them).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/base/ring_queue.hpp>
#include <lwm2m/base/slab_map.hpp>
#include <lwm2m/coap/block_option.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "dedup_table.hpp"

namespace lwm2m::coap {

namespace detail {

constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    return PeerAddr::mix64(x);
}

inline std::uint64_t peer_hash(const PeerAddr& p) noexcept {
    return p.hash();
}
struct FastPeerHash {
    std::size_t operator()(const PeerAddr& p) const noexcept {
        return static_cast<std::size_t>(peer_hash(p));
    }
};

struct PeerMid {
    PeerAddr peer;
    MessageId mid = 0;
    /// Cached hash: bucket chain walks re-hash every node they pass.
    std::size_t h =
        static_cast<std::size_t>(peer_hash(peer) ^ (std::uint64_t{mid} * 0xff51afd7ed558ccdULL));
    friend bool operator==(const PeerMid& a, const PeerMid& b) noexcept {
        return a.h == b.h && a.mid == b.mid && a.peer == b.peer;
    }
};
struct PeerMidHash {
    std::size_t operator()(const PeerMid& k) const noexcept { return k.h; }
};
struct PeerToken {
    PeerAddr peer;
    Token token;
    friend bool operator==(const PeerToken& a, const PeerToken& b) noexcept {
        return a.peer == b.peer && a.token == b.token;
    }
};
struct PeerTokenHash {
    std::size_t operator()(const PeerToken& k) const noexcept {
        return static_cast<std::size_t>(
            peer_hash(k.peer) ^ mix(k.token.as_u64() + (std::uint64_t{k.token.size()} << 56)));
    }
};
struct PeerKey {
    PeerAddr peer;
    std::uint64_t key = 0; ///< keyed hash of the request key (see request_key())
    bool rx = false;       ///< Block1 reassembly (true) or Block2 body cache (false)
    friend bool operator==(const PeerKey&, const PeerKey&) = default;
};
struct PeerKeyHash {
    std::size_t operator()(const PeerKey& k) const noexcept {
        return static_cast<std::size_t>(peer_hash(k.peer) ^ mix(k.key ^ (k.rx ? 1U : 0U)));
    }
};

enum class TimerKind : std::uint8_t { tx, client, block, peer };

struct Timer {
    TimePoint at;
    std::uint64_t gen = 0;
    TimerKind kind = TimerKind::tx;
    MessageId mid = 0;
    PeerAddr peer;
    std::uint64_t id = 0;
};
struct TimerLater {
    bool operator()(const Timer& a, const Timer& b) const noexcept {
        if (a.at != b.at) return a.at > b.at;
        return a.gen > b.gen;
    }
};

enum class TxOwner : std::uint8_t { request, separate_response, notification };

struct Peer;

struct Tx {
    Bytes bytes;
    Peer* state = nullptr; ///< its peer (the Tx holds a reference), for the byte accounting
    Duration timeout{};
    TimePoint next;
    std::uint64_t gen = 0;
    std::uint64_t owner_id = 0;
    std::uint8_t retransmits = 0;
    TxOwner owner = TxOwner::request;
};

/// A (peer, MID) entry of the dedup cache: expiry, cached ACK/RST/response to replay (§4.5;
/// none yet when empty) and the IncomingId still waiting for the application.
using PeerDedupTable = DedupTable<Peer>;
using DedupEntry = PeerDedupTable::Entry;
/// Timers with a fixed delay fire in insertion order: a FIFO instead of the heap (O(1)).
struct FifoTimer {
    TimePoint at;
    std::uint64_t id = 0;
    std::uint64_t gen = 0;
};

struct Peer {
    MessageId next_mid = 0;
    std::uint32_t refs = 0;      ///< objects referring to this peer (reclaimed at 0)
    std::uint32_t slots = 0;     ///< NSTART slots in use (§4.7)
    std::uint32_t exchanges = 0; ///< client requests in flight + incoming requests
    std::uint32_t dedup = 0;
    std::uint32_t blocks = 0;
    std::uint32_t observations = 0;
    TimePoint mid_expires; ///< our MIDs must not repeat before this (§4.4, EXCHANGE_LIFETIME)
    std::uint64_t gen = 0; ///< reclamation timer generation
    bool reclaim_pending = false; ///< one reclamation timer at most per peer
    /// Proved it receives our datagrams (echoed a fresh Echo, acknowledged or answered what we
    /// sent), or Config::peers_verified_by_transport. Unverified peers get no large responses
    /// (RFC 9175 §2.4) and their caches are evicted first under pressure.
    bool verified = false;
    std::uint64_t bytes = 0;          ///< bytes held for it (Config::max_buffered_bytes_per_peer)
    std::vector<std::uint64_t> queue; ///< RequestIds waiting for a slot
};

struct ClientEx {
    PeerAddr peer;
    Message req; ///< options of the request; body kept in `body`
    Bytes body;
    Token fetch_token; ///< Observe exchanges: token of the Block2 continuation GETs
    bool con = true;
    bool queued = false;
    bool holds_slot = false;
    bool counted = false; ///< counted in Peer::exchanges
    bool acked = false;   ///< empty ACK received, waiting for the separate response
    bool observe = false;
    bool observing = false;
    bool tx_pending = false;
    MessageId mid = 0;
    // Block1 upload (RFC 7959 §2.5)
    bool block1 = false;
    std::uint8_t b1_szx = 6;
    std::uint32_t b1_num = 0;
    // Block2 download (RFC 7959 §2.4)
    bool b2_active = false;
    bool b2_notification = false;
    bool b2_has_etag = false;
    std::uint8_t b2_szx = 6;
    std::uint32_t b2_notif_seq = 0;
    Bytes b2_body;
    Bytes b2_etag;
    Message b2_first;
    bool echo_retried = false; ///< RFC 9175 §2.3: repeated once after a 4.01 with Echo
    // Observe (RFC 7641 §3.4)
    bool have_seq = false;
    std::uint32_t last_seq = 0;
    TimePoint last_time;
    std::uint64_t gen = 0;
};

struct IncomingEx {
    PeerAddr peer;
    Peer* state = nullptr;            ///< peers_ entry (kept alive by this request's reference)
    PeerDedupTable::Handle dedup = 0; ///< 0: no entry (same expiry as the entry)
    Token token;
    std::uint64_t key = 0;
    MessageId mid = 0;
    bool con = false;
    bool acked = false;
    bool observe_register = false;
    bool has_block1 = false;
    bool has_block2 = false;
    bool safe = false; ///< GET or FETCH (RFC 7252 §5.1, RFC 8132 §2): may be repeated
    std::uint32_t request_size = 0; ///< bytes of the request datagram (amplification limit)
    BlockOption block1;
    BlockOption block2;
    std::uint64_t observation = 0;
    TimePoint expires;
    std::uint64_t gen = 0;
};

struct Observation {
    PeerAddr peer;
    Token token;
    std::uint64_t key = 0;
    std::uint32_t seq = 0;
    TimePoint last_con;
    bool con_pending = false;
    MessageId con_mid = 0;
    bool has_non_mid = false;
    MessageId non_mid = 0;
};

struct BlockState {
    PeerKey key;
    Peer* owner = nullptr; ///< its peer (the block holds a reference), for the byte accounting
    /// Position in Endpoint::Impl::block_lru_ while the owner is unverified (eviction order).
    std::list<std::uint64_t>::iterator lru;
    bool in_lru = false;
    Bytes body;
    Message head; ///< Block2 cache: code and options of the response (no payload)
    std::uint8_t szx = 6;
    TimePoint expires;
    std::uint64_t gen = 0;
};

inline bool is_observe_method(Code c) {
    return c == code::get || c == code::fetch;
}

/// RFC 7641 §3.4 freshness of V2 (received at T2) against V1 (received at T1).
inline bool fresh(std::uint32_t v1, std::uint32_t v2, TimePoint t1, TimePoint t2) {
    constexpr std::uint32_t half = 1U << 23;
    return (v1 < v2 && v2 - v1 < half) || (v1 > v2 && v1 - v2 > half) ||
           t2 > t1 + std::chrono::seconds(128);
}

inline Bytes to_owned(BytesView v) {
    return Bytes(v.begin(), v.end());
}

inline Bytes empty_message(Type t, MessageId mid) {
    return Bytes{std::byte{static_cast<unsigned char>(0x40U | (static_cast<unsigned>(t) << 4U))},
                 std::byte{0}, std::byte{static_cast<unsigned char>(mid >> 8)},
                 std::byte{static_cast<unsigned char>(mid & 0xffU)}};
}

/// RFC 7959 §2.4: later blocks repeat the request's options; this key identifies the transfer.
inline bool in_request_key(std::uint16_t n) {
    switch (n) {
    case option::uri_host:
    case option::uri_port:
    case option::uri_path:
    case option::uri_query:
    case option::accept:
    case option::content_format:
    case option::proxy_uri:
    case option::proxy_scheme:
        return true;
    default:
        return false;
    }
}

/// A keyed 64-bit hash of the method and the options above (no allocation). Keyed with a
/// per-endpoint random seed, and only compared within one peer's transfers, so a peer can at
/// worst confuse its own transfers.
inline std::uint64_t request_key(const MessageView& v, std::uint64_t seed) {
    std::uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (v.code.value + 1U));
    auto add = [&h](std::uint64_t x) { h = mix(h ^ x) + 0x2545f4914f6cdd1dULL; };
    for (const auto& o : v.options()) {
        if (!in_request_key(o.number)) continue;
        add((std::uint64_t{o.number} << 32) | o.value.size());
        std::size_t i = 0;
        for (; i + 8 <= o.value.size(); i += 8) {
            std::uint64_t w = 0;
            for (std::size_t j = 0; j < 8; ++j)
                w = (w << 8) | std::to_integer<std::uint64_t>(o.value[i + j]);
            add(w);
        }
        std::uint64_t w = 0;
        for (; i < o.value.size(); ++i)
            w = (w << 8) | std::to_integer<std::uint64_t>(o.value[i]);
        add(w);
    }
    return mix(h);
}

inline std::optional<BlockOption> block_of(const MessageView& v, std::uint16_t n, bool& bad) {
    const OptionView* o = v.find(n);
    if (o == nullptr) return std::nullopt;
    auto b = decode_block(o->value);
    if (!b) bad = true;
    return b;
}

inline void set_block(Message& m, std::uint16_t n, std::uint32_t num, bool more, std::uint8_t szx) {
    m.set_uint_option(n, encode_block(BlockOption{num, more, szx}));
}

} // namespace detail

// --- Impl ---------------------------------------------------------------------------------------

struct Endpoint::Impl {
    // The endpoint's private types (detail namespace), by their short names.
    using Peer = detail::Peer;
    using Tx = detail::Tx;
    using TxOwner = detail::TxOwner;
    using Timer = detail::Timer;
    using TimerKind = detail::TimerKind;
    using TimerLater = detail::TimerLater;
    using FifoTimer = detail::FifoTimer;
    using ClientEx = detail::ClientEx;
    using IncomingEx = detail::IncomingEx;
    using Observation = detail::Observation;
    using BlockState = detail::BlockState;
    using PeerMid = detail::PeerMid;
    using PeerMidHash = detail::PeerMidHash;
    using PeerToken = detail::PeerToken;
    using PeerTokenHash = detail::PeerTokenHash;
    using PeerKey = detail::PeerKey;
    using PeerKeyHash = detail::PeerKeyHash;
    using FastPeerHash = detail::FastPeerHash;
    using PeerDedupTable = detail::PeerDedupTable;
    using DedupEntry = detail::DedupEntry;
    Impl(const Config& c, Random& r, Logger& l);

    Config cfg;
    Random& rng;
    Logger& log;
    std::uint8_t szx = 6;
    Duration exchange_lifetime{};
    Duration non_timeout{};
    Duration separate_timeout{};
    Duration block_lifetime{};

    /// Flat index over a slab (slab_map.hpp): a datagram from a new peer misses without walking
    /// a bucket chain of other peers' cold nodes (a server at 1e5 peers); Peer addresses are
    /// stable (Tx::owner, Exchange::state point into it).
    SlabMap<PeerAddr, Peer, FastPeerHash> peers_;
    std::unordered_map<PeerMid, Tx, PeerMidHash> txs_;
    /// (peer, MID) -> DedupEntry; the ring is also the expiry FIFO (constant lifetime).
    mutable PeerDedupTable dedup_;
    mutable RingQueue<FifoTimer> ack_fifo_;    ///< auto empty ACK of incoming CONs
    mutable RingQueue<FifoTimer> expire_fifo_; ///< unanswered incoming requests
    std::unordered_map<std::uint64_t, ClientEx> clients_;
    std::unordered_map<PeerToken, std::uint64_t, PeerTokenHash> tokens_;
    std::unordered_map<std::uint64_t, IncomingEx> incoming_;
    // Recycled nodes of the per-request maps (no allocation per exchange once warmed up).
    detail::NodePool<decltype(txs_)> tx_nodes_;
    detail::NodePool<decltype(clients_)> client_nodes_;
    detail::NodePool<decltype(tokens_)> token_nodes_;
    detail::NodePool<decltype(incoming_)> incoming_nodes_;
    std::unordered_map<std::uint64_t, Observation> observations_;
    std::unordered_map<PeerToken, std::uint64_t, PeerTokenHash> obs_index_;
    std::unordered_map<PeerMid, std::uint64_t, PeerMidHash> non_notifs_;
    std::unordered_map<std::uint64_t, BlockState> blocks_;
    /// Blocks of unverified peers, least recently used first: evicted first under pressure.
    std::list<std::uint64_t> block_lru_;
    /// Next dedup entry to look at when evicting cached replies of unverified peers (oldest
    /// first; each entry is passed over at most once: amortised O(1)).
    PeerDedupTable::Handle evict_cursor_ = 0;
    // RFC 9175 §2.3 stateless Echo values: a keyed MAC (SipHash-2-4) over a timestamp and the
    // peer's address; the key rotates every echo_lifetime, the previous one still verifies.
    std::array<std::uint64_t, 2> echo_key_{};
    std::array<std::uint64_t, 2> echo_prev_key_{};
    bool echo_has_prev_ = false;
    bool echo_keyed_ = false;
    TimePoint echo_rotated_{};
    std::unordered_map<PeerKey, std::uint64_t, PeerKeyHash> block_index_;
    mutable std::vector<Timer> heap_; ///< binary min-heap (std::push_heap with TimerLater)

    RingQueue<Datagram> out_;
    RingQueue<Event> events_;
    Stats stats_;
    std::uint64_t next_id_ = 1;
    std::uint64_t next_gen_ = 1;
    std::uint64_t buffered_ = 0;
    std::uint64_t key_seed_ = 0;
    TimePoint now_{};
    MessageView view_;
    std::size_t rx_size_ = 0;            ///< size of the datagram in view_
    MessageView::OptionCheck opt_check_; ///< of view_, set by on_datagram() for the handlers

    // --- small helpers ---------------------------------------------------------------------

    std::uint64_t new_gen() { return next_gen_++; }
    /// The endpoint's ETag of a block-wise body: a keyed 32-bit hash of its bytes and format.
    std::uint32_t body_tag(BytesView body, std::optional<std::uint64_t> format) const {
        std::uint64_t h = detail::mix(key_seed_ ^ (body.size() * 0x9e3779b97f4a7c15ULL) ^
                                      (format ? *format + 1 : 0));
        std::size_t i = 0;
        for (; i + 8 <= body.size(); i += 8) {
            std::uint64_t w = 0;
            std::memcpy(&w, body.data() + i, 8);
            h = detail::mix(h ^ w) + 0x2545f4914f6cdd1dULL;
        }
        std::uint64_t w = 0;
        std::memcpy(&w, body.data() + i, body.size() - i);
        h = detail::mix(h ^ w);
        return static_cast<std::uint32_t>(h ^ (h >> 32));
    }
    /// Debug log with the peer (never payloads: they may carry credentials).
    void debug(std::string_view what, const PeerAddr& peer) {
        if (!log.enabled(LogLevel::debug)) return;
        std::string line(what);
        line += " peer=";
        line += peer.to_string();
        log.write(LogLevel::debug, "coap", line);
    }
    void hold(std::size_t n) { buffered_ += n; }
    void release(std::size_t n) { buffered_ -= std::min<std::uint64_t>(buffered_, n); }
    /// Same, also counted in the peer's share (nullptr: the global budget only).
    void hold(Peer* p, std::size_t n) {
        buffered_ += n;
        if (p != nullptr) p->bytes += n;
    }
    void release(Peer* p, std::size_t n) {
        buffered_ -= std::min<std::uint64_t>(buffered_, n);
        if (p != nullptr) p->bytes -= std::min<std::uint64_t>(p->bytes, n);
    }
    /// The peer's share of the budget can take `extra` more bytes.
    bool share_ok(const Peer* p, std::size_t extra) const {
        return p == nullptr || p->bytes + extra <= cfg.max_buffered_bytes_per_peer;
    }
    /// The peer proved it receives our datagrams.
    void verify(Peer* p) {
        if (p == nullptr || p->verified) return;
        p->verified = true;
        ++stats_.peers_verified;
    }
    /// Address validation applies to this peer (RFC 9175 §2.4 item 3).
    bool unverified(const Peer* p) const {
        return cfg.address_validation && (p == nullptr || !p->verified);
    }
    /// Frees room for `extra` more bytes by evicting the oldest caches of unverified peers
    /// (Block2 bodies and Block1 reassemblies first, then cached replies); false when the budget
    /// still cannot take them (the rest is held for verified peers or in flight).
    bool make_room(std::size_t extra);
    /// Evicts one cache of an unverified peer; false when none is left.
    bool evict_one();
    /// Forgets the oldest dedup entry when it belongs to an unverified peer with no request
    /// pending (entry or peer limit reached); an unverified peer left idle is reclaimed at once.
    bool evict_oldest_entry();
    void lru_link(BlockState& bs, std::uint64_t id);
    void lru_unlink(BlockState& bs);
    /// An Echo option value for `peer` (RFC 9175 §2.3, 12 bytes: timestamp, MAC).
    Bytes make_echo(TimePoint now, const PeerAddr& peer);
    struct EchoCheck {
        bool ours = false;  ///< the MAC verifies: a value this endpoint made for this peer
        bool fresh = false; ///< and it is at most Config::echo_lifetime old
    };
    EchoCheck check_echo(TimePoint now, const PeerAddr& peer, BytesView value);
    void rotate_echo_key(TimePoint now);
    bool over_budget(std::size_t extra) const { return buffered_ + extra > cfg.max_buffered_bytes; }
    /// True when the headers, token and options of `m`, plus room for the options the endpoint
    /// adds, plus one block of its payload fit max_message_size (the rule of
    /// send_request). Also false for an option value the codec cannot encode (> 65804 bytes,
    /// RFC 7252 §3.1), for which encode() would return an empty buffer.
    bool fits_datagram(const Message& m) const;
    Peer* find_peer(const PeerAddr& p) {
        auto it = peers_.find(p);
        return it == peers_.end() ? nullptr : &it->second;
    }
    Peer* ref_peer(const PeerAddr& p) {
        auto it = peers_.find(p);
        if (it == peers_.end()) {
            if (peers_.size() >= cfg.max_peers) return nullptr;
            it = peers_.emplace(p, Peer{}).first;
            it->second.next_mid = static_cast<MessageId>(rng.next_u32());
            it->second.verified = cfg.peers_verified_by_transport;
        }
        ++it->second.refs;
        return &it->second;
    }
    /// Drops a reference; an idle peer is reclaimed once the MIDs we sent it have expired
    /// (a fresh random MID start could otherwise repeat a recent MID, §4.4).
    void unref_peer(const PeerAddr& p) {
        auto it = peers_.find(p);
        if (it == peers_.end()) return;
        unref_peer(p, it->second);
    }
    /// Same, for a peer the caller already holds (no lookup unless it is reclaimed).
    void unref_peer(const PeerAddr& addr, Peer& p) {
        if (p.refs > 0) --p.refs;
        if (p.refs != 0 || !p.queue.empty()) return;
        if (p.mid_expires <= now_) {
            peers_.erase(addr);
            return;
        }
        schedule_reclaim(addr, p);
    }
    void schedule_reclaim(const PeerAddr& addr, Peer& p);
    MessageId new_mid(const PeerAddr& p) {
        Peer* peer = find_peer(p);
        if (peer == nullptr) return static_cast<MessageId>(rng.next_u32());
        peer->mid_expires = now_ + exchange_lifetime;
        return peer->next_mid++;
    }

    void send(const PeerAddr& to, Bytes bytes) {
        if (bytes.empty()) { // encode() failed: never send a 0-byte datagram (unreachable: the
            debug("unencodable message not sent", to); // commands check sizes first)
            return;
        }
        ++stats_.datagrams_sent;
        out_.push_back(Datagram{to, std::move(bytes)});
    }
    void send_empty(const PeerAddr& to, Type t, MessageId mid) {
        if (t == Type::rst) ++stats_.resets_sent;
        send(to, detail::empty_message(t, mid));
    }
    void push_timer(TimePoint at, std::uint64_t gen, TimerKind k, const PeerAddr& peer,
                    std::uint64_t id, MessageId mid = 0);
    Duration initial_timeout() {
        // RFC 7252 §4.2: random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]
        const double f = 1.0 + rng.unit() * (cfg.ack_random_factor - 1.0);
        return std::chrono::duration_cast<Duration>(cfg.ack_timeout * f);
    }

    /// Sends a CON and keeps it for retransmission (RFC 7252 §4.2).
    void start_tx(TimePoint now, const PeerAddr& to, MessageId mid, Bytes bytes, TxOwner owner,
                  std::uint64_t owner_id);
    void install_tx(const PeerAddr& to, MessageId mid, Tx tx);
    void erase_tx(const PeerAddr& peer, MessageId mid);

    // --- dedup (RFC 7252 §4.5) -------------------------------------------------------------

    /// Keyed (per-endpoint seed) hash of (peer, MID) for the dedup table.
    std::uint64_t dedup_hash(const PeerAddr& peer, MessageId mid) const noexcept {
        return detail::mix(detail::peer_hash(peer) ^ key_seed_ ^
                           (std::uint64_t{mid} * 0x9e3779b97f4a7c15ULL));
    }
    void set_dedup_reply(DedupEntry* e, BytesView reply) {
        if (e == nullptr) return;
        release(e->owner, e->reply_size());
        e->set_reply(reply);
        hold(e->owner, e->reply_size());
    }
    void expire_dedup(TimePoint now);

    // --- timers --------------------------------------------------------------------------------

    void pop_heap_top() const {
        std::pop_heap(heap_.begin(), heap_.end(), TimerLater{});
        heap_.pop_back();
    }

    bool timer_valid(const Timer& t) const;
    std::optional<TimePoint> next_deadline() const;
    bool incoming_valid(const FifoTimer& t, bool ack) const {
        auto it = incoming_.find(t.id);
        return it != incoming_.end() && it->second.gen == t.gen && !(ack && it->second.acked);
    }

    void on_timeout(TimePoint now);
    void on_tx_timer(TimePoint now, const Timer& t);
    void on_client_timer(TimePoint now, const Timer& t);

    // --- client role ---------------------------------------------------------------------------

    Token new_token(const PeerAddr& peer);
    Result<RequestId> send_request(TimePoint now, const PeerAddr& to, Message req);
    void start_client(TimePoint now, std::uint64_t id, ClientEx& ex);
    /// Builds and sends the current message of a client exchange (first request, next Block1
    /// slice or next Block2 GET).
    void transmit_client(TimePoint now, std::uint64_t id, ClientEx& ex);
    void release_slot(TimePoint now, ClientEx& ex);
    void pump_queue(TimePoint now, const PeerAddr& peer);
    /// Removes a client exchange (no event).
    void finish_client(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it);
    void fail_client(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                     Error e);
    void fail_client(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                     Errc e);
    Result<void> cancel_request(TimePoint now, RequestId id);
    /// A response matched to a client exchange (piggybacked, separate CON/NON or via the
    /// notification fetch token).
    void handle_client_response(TimePoint now, std::uint64_t id, const MessageView& v,
                                bool via_fetch);
    void abandon_fetch(ClientEx& ex);
    /// Appends one Block2 slice; false when the transfer stopped (the exchange failed and was
    /// removed, or a notification fetch was abandoned).
    bool append_block2(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                       const MessageView& v, const BlockOption& b2);
    void complete_block2(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it);
    void deliver_final(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                       Message resp, bool observe_ok);
    void handle_notification(TimePoint now,
                             std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                             const MessageView& v);
    /// Called for the continuation of a notification fetch (via the fetch token).
    void handle_fetch_response(TimePoint now, std::uint64_t id, const MessageView& v);

    // --- server role ---------------------------------------------------------------------------

    /// Sends a reply that is not tracked (RST, 4.xx/5.xx piggybacked without state).
    void reply_direct(const PeerAddr& to, const MessageView& req, Code c, DedupEntry* cache,
                      std::optional<std::uint64_t> size1 = std::nullopt,
                      std::optional<BlockOption> block1 = std::nullopt);
    /// RFC 7252 §4.5 with one hash lookup: sets `dup` and returns the live entry for a
    /// duplicate; otherwise returns a new (or recycled expired) entry and the peer, or nullptr
    /// when a limit refuses the message.
    DedupEntry* claim_dedup(TimePoint now, const PeerAddr& from, MessageId mid, bool& dup,
                            Peer*& peer);
    void handle_request(TimePoint now, const PeerAddr& from, MessageView& v);
    std::unordered_map<PeerKey, std::uint64_t, PeerKeyHash>::iterator new_block(TimePoint now,
                                                                                const PeerKey& pk);
    void erase_block(std::unordered_map<std::uint64_t, BlockState>::iterator it);
    /// Builds one Block2 slice of `body` with `head`'s code and options.
    Message make_slice(const Message& head, BytesView body, std::uint32_t num, std::uint8_t s);
    void serve_block2(TimePoint now, const PeerAddr& from, const MessageView& v, BlockOption b2,
                      std::unordered_map<std::uint64_t, BlockState>::iterator blk, DedupEntry* d);
    void ack_incoming(TimePoint now, IncomingEx& in);
    /// The dedup entry of an incoming request, by handle (no key lookup). Entries are erased
    /// only once expired (expire_dedup) and recycled only once expired (claim_dedup); the request
    /// and its entry share the expiry time, and now_ never decreases, so the entry is the
    /// request's exactly while in.expires > now_ (the handle check is a second guard).
    DedupEntry* live_dedup(const IncomingEx& in) const {
        return in.expires > now_ && in.dedup != 0 ? dedup_.get(in.dedup) : nullptr;
    }

    void drop_incoming(std::unordered_map<std::uint64_t, IncomingEx>::iterator it,
                       bool unlink_dedup = true);
    /// Prepares a (possibly block-wise) response body: returns the message to send as the
    /// first (or requested) slice, storing the rest in the Block2 cache.
    Result<Message> shape_body(TimePoint now, const PeerAddr& peer, std::uint64_t key, Message m,
                               const std::optional<BlockOption>& requested);
    Result<void> send_response(TimePoint now, IncomingId id, Message resp);
    Result<void> accept_separately(TimePoint now, IncomingId id);
    void end_observation(std::unordered_map<std::uint64_t, Observation>::iterator it,
                         ObservationEndReason reason);
    Result<void> send_notification(TimePoint now, ObservationId id, Message n, bool confirmable);
    Result<void> cancel_observation(TimePoint now, ObservationId id);
    std::optional<std::uint32_t> observation_seq(ObservationId id) const;
    Result<ObservationId> restore_observation(TimePoint now, const PeerAddr& peer,
                                              const Token& token, std::uint32_t seq);

    // --- input ---------------------------------------------------------------------------------

    void on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes);
    void on_oversized(TimePoint now, const PeerAddr& from, BytesView head, std::size_t size);
    void on_ack(TimePoint now, const PeerAddr& from, const MessageView& v);
    void on_rst(TimePoint now, const PeerAddr& from, const MessageView& v);
    void on_response(TimePoint now, const PeerAddr& from, const MessageView& v);
    Stats stats() const;
};

} // namespace lwm2m::coap
