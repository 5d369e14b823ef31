// The sans-I/O CoAP endpoint: RFC 7252 message layer, RFC 7959 block-wise, RFC 7641 Observe.
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
#include <lwm2m/coap/endpoint.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/coap/block_option.hpp>
#include <lwm2m/coap/codec.hpp>

#include "dedup_table.hpp"

namespace lwm2m::coap {

namespace {

constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

/// A fast peer hash for the endpoint's tables (two 64-bit loads + a multiply-xorshift mix;
/// the tables walk bucket chains by re-hashing, so this matters at 1e5 peers).
inline std::uint64_t peer_hash(const PeerAddr& p) noexcept {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::memcpy(&a, p.addr.data(), 8);
    std::memcpy(&b, p.addr.data() + 8, 8);
    const std::uint64_t c = (std::uint64_t{p.port} << 32) ^ (std::uint64_t{p.scope_id} << 8) ^
                            static_cast<std::uint64_t>(p.family);
    return mix(a * 0x9e3779b97f4a7c15ULL ^ mix(b ^ (c * 0xc2b2ae3d27d4eb4fULL)));
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

struct Tx {
    Bytes bytes;
    Duration timeout{};
    TimePoint next;
    std::uint64_t gen = 0;
    std::uint64_t owner_id = 0;
    std::uint8_t retransmits = 0;
    TxOwner owner = TxOwner::request;
};

/// A (peer, MID) entry of the dedup cache: expiry, cached ACK/RST/response to replay (§4.5;
/// none yet when empty) and the IncomingId still waiting for the application.
struct Peer;
using DedupTable = detail::DedupTable<Peer>;
using DedupEntry = DedupTable::Entry;
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
    bool reclaim_pending = false;     ///< one reclamation timer at most per peer
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
    // Observe (RFC 7641 §3.4)
    bool have_seq = false;
    std::uint32_t last_seq = 0;
    TimePoint last_time;
    std::uint64_t gen = 0;
};

struct IncomingEx {
    PeerAddr peer;
    Peer* state = nullptr;        ///< peers_ entry (kept alive by this request's reference)
    DedupTable::Handle dedup = 0; ///< 0: no entry (same expiry as the entry)
    Token token;
    std::uint64_t key = 0;
    MessageId mid = 0;
    bool con = false;
    bool acked = false;
    bool observe_register = false;
    bool has_block1 = false;
    bool has_block2 = false;
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
    Bytes body;
    Message head; ///< Block2 cache: code and options of the response (no payload)
    std::uint8_t szx = 6;
    TimePoint expires;
    std::uint64_t gen = 0;
};

bool is_observe_method(Code c) {
    return c == code::get || c == code::fetch;
}

/// RFC 7641 §3.4 freshness of V2 (received at T2) against V1 (received at T1).
bool fresh(std::uint32_t v1, std::uint32_t v2, TimePoint t1, TimePoint t2) {
    constexpr std::uint32_t half = 1U << 23;
    return (v1 < v2 && v2 - v1 < half) || (v1 > v2 && v1 - v2 > half) ||
           t2 > t1 + std::chrono::seconds(128);
}

Bytes to_owned(BytesView v) {
    return Bytes(v.begin(), v.end());
}

Bytes empty_message(Type t, MessageId mid) {
    return Bytes{std::byte{static_cast<unsigned char>(0x40U | (static_cast<unsigned>(t) << 4U))},
                 std::byte{0}, std::byte{static_cast<unsigned char>(mid >> 8)},
                 std::byte{static_cast<unsigned char>(mid & 0xffU)}};
}

/// RFC 7959 §2.4: later blocks repeat the request's options; this key identifies the transfer.
bool in_request_key(std::uint16_t n) {
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
std::uint64_t request_key(const MessageView& v, std::uint64_t seed) {
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

std::optional<BlockOption> block_of(const MessageView& v, std::uint16_t n, bool& bad) {
    const OptionView* o = v.find(n);
    if (o == nullptr) return std::nullopt;
    auto b = decode_block(o->value);
    if (!b) bad = true;
    return b;
}

void set_block(Message& m, std::uint16_t n, std::uint32_t num, bool more, std::uint8_t szx) {
    m.set_uint_option(n, encode_block(BlockOption{num, more, szx}));
}

bool has_unknown_critical(const MessageView& v) {
    for (const auto& o : v.options())
        if (option::is_critical(o.number) && !option::is_known(o.number)) return true;
    return false;
}

} // namespace

// --- Config -------------------------------------------------------------------------------------

Duration Config::max_transmit_span() const noexcept {
    // RFC 7252 §4.8.2: ACK_TIMEOUT * ((2 ** MAX_RETRANSMIT) - 1) * ACK_RANDOM_FACTOR
    const double f = std::max(1.0, ack_random_factor);
    return std::chrono::duration_cast<Duration>(
        ack_timeout * (static_cast<double>((1ULL << std::min(max_retransmit, 20U)) - 1) * f));
}
Duration Config::max_transmit_wait() const noexcept {
    // RFC 7252 §4.8.2: ACK_TIMEOUT * ((2 ** (MAX_RETRANSMIT + 1)) - 1) * ACK_RANDOM_FACTOR
    const double f = std::max(1.0, ack_random_factor);
    return std::chrono::duration_cast<Duration>(
        ack_timeout * (static_cast<double>((1ULL << (std::min(max_retransmit, 20U) + 1)) - 1) * f));
}
Duration Config::exchange_lifetime() const noexcept {
    // RFC 7252 §4.8.2: MAX_TRANSMIT_SPAN + 2 * MAX_LATENCY + PROCESSING_DELAY
    return max_transmit_span() + 2 * max_latency + processing_delay;
}
Duration Config::non_lifetime() const noexcept {
    // RFC 7252 §4.8.2: MAX_TRANSMIT_SPAN + MAX_LATENCY
    return max_transmit_span() + max_latency;
}

// --- Impl ---------------------------------------------------------------------------------------

struct Endpoint::Impl {
    Impl(const Config& c, Random& r, Logger& l)
        : cfg(c)
        , rng(r)
        , log(l) {
        cfg.ack_random_factor = std::max(1.0, cfg.ack_random_factor);
        cfg.token_length = std::clamp<std::size_t>(cfg.token_length, 1, 8);
        szx = szx_for_size(std::clamp<std::size_t>(cfg.block_size, 16, 1024));
        cfg.block_size = std::size_t{1} << (szx + 4U);
        cfg.nstart = std::max(1U, cfg.nstart);
        exchange_lifetime = cfg.exchange_lifetime();
        non_timeout = cfg.non_response_timeout.count() > 0 ? cfg.non_response_timeout
                                                           : cfg.max_transmit_wait();
        separate_timeout = cfg.separate_response_timeout.count() > 0 ? cfg.separate_response_timeout
                                                                     : exchange_lifetime;
        block_lifetime = cfg.block_lifetime.count() > 0 ? cfg.block_lifetime : exchange_lifetime;
        key_seed_ = (std::uint64_t{rng.next_u32()} << 32) | rng.next_u32();
    }

    Config cfg;
    Random& rng;
    Logger& log;
    std::uint8_t szx = 6;
    Duration exchange_lifetime{};
    Duration non_timeout{};
    Duration separate_timeout{};
    Duration block_lifetime{};

    std::unordered_map<PeerAddr, Peer, FastPeerHash> peers_;
    std::unordered_map<PeerMid, Tx, PeerMidHash> txs_;
    /// (peer, MID) -> DedupEntry; the ring is also the expiry FIFO (constant lifetime).
    mutable DedupTable dedup_;
    mutable detail::RingQueue<FifoTimer> ack_fifo_;    ///< auto empty ACK of incoming CONs
    mutable detail::RingQueue<FifoTimer> expire_fifo_; ///< unanswered incoming requests
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
    std::unordered_map<PeerKey, std::uint64_t, PeerKeyHash> block_index_;
    mutable std::vector<Timer> heap_; ///< binary min-heap (std::push_heap with TimerLater)

    detail::RingQueue<Datagram> out_;
    detail::RingQueue<Event> events_;
    Stats stats_;
    std::uint64_t next_id_ = 1;
    std::uint64_t next_gen_ = 1;
    std::uint64_t buffered_ = 0;
    std::uint32_t etag_counter_ = 0;
    std::uint64_t key_seed_ = 0;
    TimePoint now_{};
    MessageView view_;

    // --- small helpers ---------------------------------------------------------------------

    std::uint64_t new_gen() { return next_gen_++; }
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
    bool over_budget(std::size_t extra) const { return buffered_ + extra > cfg.max_buffered_bytes; }
    /// True when the headers, token and options of `m`, plus room for the options the endpoint
    /// adds, plus one block of its payload fit max_message_size (the rule of
    /// send_request). Also false for an option value the codec cannot encode (> 65804 bytes,
    /// RFC 7252 §3.1), for which encode() would return an empty buffer.
    bool fits_datagram(const Message& m) const {
        const std::size_t body = m.payload.size();
        const std::size_t head = encoded_size(m) - (body == 0 ? 0 : 1 + body);
        for (const auto& o : m.options())
            if (o.value.size() > 65804) return false;
        // Room for what the endpoint may add: Block1 echo, Block2, Size2, ETag, Observe
        // (4 + 4 + 5 + 5 + 4 bytes at most).
        return head + 24 + std::min(body, cfg.block_size) + 1 <= cfg.max_message_size;
    }

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
    void schedule_reclaim(const PeerAddr& addr, Peer& p) {
        if (p.reclaim_pending) return;
        p.reclaim_pending = true;
        p.gen = new_gen();
        push_timer(p.mid_expires, p.gen, TimerKind::peer, addr, 0);
    }
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
        send(to, empty_message(t, mid));
    }
    void push_timer(TimePoint at, std::uint64_t gen, TimerKind k, const PeerAddr& peer,
                    std::uint64_t id, MessageId mid = 0) {
        heap_.push_back(Timer{at, gen, k, mid, peer, id});
        std::push_heap(heap_.begin(), heap_.end(), TimerLater{});
        // Lazy deletion leaves dead entries behind (answered requests, refreshed blocks); keep
        // the heap within a constant factor of the live timers.
        const std::size_t live = txs_.size() + clients_.size() + blocks_.size() + peers_.size();
        if (heap_.size() > 1024 && heap_.size() > 4 * live) {
            std::erase_if(heap_, [this](const Timer& t) { return !timer_valid(t); });
            std::make_heap(heap_.begin(), heap_.end(), TimerLater{});
        }
    }

    Duration initial_timeout() {
        // RFC 7252 §4.2: random in [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR]
        const double f = 1.0 + rng.unit() * (cfg.ack_random_factor - 1.0);
        return std::chrono::duration_cast<Duration>(cfg.ack_timeout * f);
    }

    /// Sends a CON and keeps it for retransmission (RFC 7252 §4.2).
    void start_tx(TimePoint now, const PeerAddr& to, MessageId mid, Bytes bytes, TxOwner owner,
                  std::uint64_t owner_id) {
        Tx tx;
        tx.timeout = initial_timeout();
        tx.next = now + tx.timeout;
        tx.gen = new_gen();
        tx.owner = owner;
        tx.owner_id = owner_id;
        tx.bytes = bytes;
        install_tx(to, mid, std::move(tx));
        send(to, std::move(bytes));
    }
    void install_tx(const PeerAddr& to, MessageId mid, Tx tx) {
        hold(tx.bytes.size());
        push_timer(tx.next, tx.gen, TimerKind::tx, to, 0, mid);
        auto it = txs_.find(PeerMid{to, mid});
        if (it != txs_.end()) {
            release(it->second.bytes.size());
            it->second = std::move(tx);
            return;
        }
        tx_nodes_.emplace(txs_, PeerMid{to, mid}, std::move(tx));
        ref_peer(to);
    }
    void erase_tx(const PeerAddr& peer, MessageId mid) {
        auto it = txs_.find(PeerMid{peer, mid});
        if (it == txs_.end()) return;
        release(it->second.bytes.size());
        tx_nodes_.erase(txs_, it);
        unref_peer(peer);
    }

    // --- dedup (RFC 7252 §4.5) -------------------------------------------------------------

    /// Keyed (per-endpoint seed) hash of (peer, MID) for the dedup table.
    std::uint64_t dedup_hash(const PeerAddr& peer, MessageId mid) const noexcept {
        return mix(peer_hash(peer) ^ key_seed_ ^ (std::uint64_t{mid} * 0x9e3779b97f4a7c15ULL));
    }
    void set_dedup_reply(DedupEntry* e, BytesView reply) {
        if (e == nullptr) return;
        release(e->reply_size());
        e->set_reply(reply);
        hold(e->reply_size());
    }
    void expire_dedup(TimePoint now) {
        while (!dedup_.ring_empty() && dedup_.front().expires <= now) {
            DedupEntry& e = dedup_.front();
            if (!e.live) { // recycled by claim_dedup: its successor is further back
                dedup_.pop_front();
                continue;
            }
            const PeerAddr peer = e.peer;
            Peer* p = e.owner; // the entry holds a reference: still in peers_
            release(e.reply_size());
            dedup_.pop_front();
            if (p != nullptr) {
                --p->dedup;
                unref_peer(peer, *p);
            } else {
                unref_peer(peer);
            }
        }
    }

    // --- timers --------------------------------------------------------------------------------

    void pop_heap_top() const {
        std::pop_heap(heap_.begin(), heap_.end(), TimerLater{});
        heap_.pop_back();
    }

    bool timer_valid(const Timer& t) const {
        switch (t.kind) {
        case TimerKind::tx: {
            auto it = txs_.find(PeerMid{t.peer, t.mid});
            return it != txs_.end() && it->second.gen == t.gen;
        }
        case TimerKind::client: {
            auto it = clients_.find(t.id);
            return it != clients_.end() && it->second.gen == t.gen;
        }
        case TimerKind::block: {
            auto it = blocks_.find(t.id);
            return it != blocks_.end() && it->second.gen == t.gen;
        }
        case TimerKind::peer: {
            // Stays valid while the peer is busy again (it then only clears the flag): at most
            // one such entry per peer, and never popped unseen (the flag would stay set).
            auto it = peers_.find(t.peer);
            return it != peers_.end() && it->second.gen == t.gen;
        }
        }
        return false;
    }

    std::optional<TimePoint> next_deadline() const {
        while (!heap_.empty() && !timer_valid(heap_.front()))
            pop_heap_top();
        while (!dedup_.ring_empty() && !dedup_.front().live)
            dedup_.pop_front();
        while (!ack_fifo_.empty() && !incoming_valid(ack_fifo_.front(), true))
            ack_fifo_.pop_front();
        while (!expire_fifo_.empty() && !incoming_valid(expire_fifo_.front(), false))
            expire_fifo_.pop_front();
        std::optional<TimePoint> d;
        if (!heap_.empty()) d = heap_.front().at;
        auto consider = [&d](TimePoint t) {
            if (!d || t < *d) d = t;
        };
        if (!dedup_.ring_empty()) consider(dedup_.front().expires);
        if (!ack_fifo_.empty()) consider(ack_fifo_.front().at);
        if (!expire_fifo_.empty()) consider(expire_fifo_.front().at);
        return d;
    }

    bool incoming_valid(const FifoTimer& t, bool ack) const {
        auto it = incoming_.find(t.id);
        return it != incoming_.end() && it->second.gen == t.gen && !(ack && it->second.acked);
    }

    void on_timeout(TimePoint now) {
        now_ = std::max(now_, now);
        expire_dedup(now);
        while (!ack_fifo_.empty() && ack_fifo_.front().at <= now) {
            const FifoTimer t = ack_fifo_.front();
            ack_fifo_.pop_front();
            // §5.2.2: the application is slow; acknowledge now, respond separately later.
            auto it = incoming_.find(t.id);
            if (it != incoming_.end() && it->second.gen == t.gen) ack_incoming(now, it->second);
        }
        while (!expire_fifo_.empty() && expire_fifo_.front().at <= now) {
            const FifoTimer t = expire_fifo_.front();
            expire_fifo_.pop_front();
            auto it = incoming_.find(t.id);
            if (it != incoming_.end() && it->second.gen == t.gen) drop_incoming(it);
        }
        while (!heap_.empty() && heap_.front().at <= now) {
            const Timer t = heap_.front();
            pop_heap_top();
            if (!timer_valid(t)) continue;
            switch (t.kind) {
            case TimerKind::tx:
                on_tx_timer(now, t);
                break;
            case TimerKind::client:
                on_client_timer(now, t);
                break;
            case TimerKind::block: {
                auto it = blocks_.find(t.id);
                if (it->second.expires <= now) erase_block(it);
                break;
            }
            case TimerKind::peer: {
                auto it = peers_.find(t.peer);
                Peer& p = it->second;
                p.reclaim_pending = false;
                if (p.refs != 0 || !p.queue.empty()) break; // busy again
                if (p.mid_expires <= now)
                    peers_.erase(it);
                else
                    schedule_reclaim(t.peer, p);
                break;
            }
            }
        }
    }

    void on_tx_timer(TimePoint now, const Timer& t) {
        auto it = txs_.find(PeerMid{t.peer, t.mid});
        Tx& tx = it->second;
        if (tx.retransmits < cfg.max_retransmit) {
            // RFC 7252 §4.2: retransmit, double the timeout.
            ++tx.retransmits;
            ++stats_.retransmissions;
            tx.timeout *= 2;
            tx.next = now + tx.timeout;
            tx.gen = new_gen();
            push_timer(tx.next, tx.gen, TimerKind::tx, t.peer, 0, t.mid);
            send(t.peer, tx.bytes);
            return;
        }
        // §4.2: MAX_RETRANSMIT reached and the last timeout passed: give up.
        ++stats_.timeouts;
        debug("CON not acknowledged after MAX_RETRANSMIT", t.peer);
        const TxOwner owner = tx.owner;
        const std::uint64_t owner_id = tx.owner_id;
        erase_tx(t.peer, t.mid);
        switch (owner) {
        case TxOwner::request: {
            auto cit = clients_.find(owner_id);
            if (cit != clients_.end()) {
                cit->second.tx_pending = false;
                fail_client(now, cit, Errc::timeout);
            }
            break;
        }
        case TxOwner::separate_response:
            break;
        case TxOwner::notification: {
            auto oit = observations_.find(owner_id);
            if (oit != observations_.end() && oit->second.con_pending &&
                oit->second.con_mid == t.mid) {
                oit->second.con_pending = false;
                end_observation(oit, ObservationEndReason::timeout); // RFC 7641 §4.5
            }
            break;
        }
        }
    }

    void on_client_timer(TimePoint now, const Timer& t) {
        auto it = clients_.find(t.id);
        ++stats_.timeouts;
        fail_client(now, it, Errc::timeout);
    }

    // --- client role ---------------------------------------------------------------------------

    Token new_token(const PeerAddr& peer) {
        for (;;) {
            std::array<std::byte, 8> b{};
            rng.fill(std::span<std::byte>(b.data(), cfg.token_length));
            Token t(BytesView(b.data(), cfg.token_length));
            if (!tokens_.contains(PeerToken{peer, t})) return t;
        }
    }

    Result<RequestId> send_request(TimePoint now, const PeerAddr& to, Message req) {
        now_ = std::max(now_, now);
        if ((req.type != Type::con && req.type != Type::non) || !req.code.is_request())
            return fail(lwm2m::Errc::invalid_argument);
        if (req.payload.size() > cfg.max_body_size) return fail(Errc::entity_too_large);
        if (over_budget(req.payload.size())) {
            ++stats_.refused;
            return fail(Errc::peer_limit);
        }
        {
            // Headers + token + a Block1/Size1 option + one block must fit the datagram.
            Bytes body = std::move(req.payload);
            req.payload.clear();
            const std::size_t head = encoded_size(req) + 8 + 12;
            req.payload = std::move(body);
            if (head + std::min(req.payload.size(), cfg.block_size) + 1 > cfg.max_message_size)
                return fail(Errc::message_too_large);
        }
        if (!req.token.empty() && tokens_.contains(PeerToken{to, req.token}))
            return fail(lwm2m::Errc::invalid_argument);
        Peer* p = find_peer(to);
        if (p == nullptr && peers_.size() >= cfg.max_peers) {
            ++stats_.refused;
            return fail(Errc::peer_limit);
        }
        const bool can_start = (p == nullptr || (p->slots < cfg.nstart && p->queue.empty())) &&
                               (p == nullptr || p->exchanges < cfg.max_exchanges_per_peer);
        if (!can_start && p != nullptr && p->queue.size() >= cfg.max_queued_requests) {
            ++stats_.refused;
            return fail(Errc::peer_limit);
        }
        p = ref_peer(to);
        const std::uint64_t id = next_id_++;
        ClientEx ex;
        ex.peer = to;
        ex.con = req.type == Type::con;
        if (req.token.empty()) req.token = new_token(to);
        ex.body = std::move(req.payload);
        req.payload.clear();
        hold(ex.body.size());
        if (auto obs = req.uint_option(option::observe);
            obs && *obs == 0 && is_observe_method(req.code))
            ex.observe = true;
        if (ex.body.size() > cfg.block_size) {
            ex.block1 = true;
            ex.b1_szx = szx;
        }
        token_nodes_.emplace(tokens_, PeerToken{to, req.token}, id);
        ex.req = std::move(req);
        auto& stored = client_nodes_.emplace(clients_, id, std::move(ex))->second;
        if (can_start) {
            start_client(now, id, stored);
        } else {
            stored.queued = true;
            p->queue.push_back(id);
        }
        return RequestId{id};
    }

    void start_client(TimePoint now, std::uint64_t id, ClientEx& ex) {
        ex.queued = false;
        if (Peer* p = find_peer(ex.peer)) { // always present: the exchange holds a reference
            ex.holds_slot = true;
            ex.counted = true;
            ++p->slots;
            ++p->exchanges;
        }
        transmit_client(now, id, ex);
    }

    /// Builds and sends the current message of a client exchange (first request, next Block1
    /// slice or next Block2 GET).
    void transmit_client(TimePoint now, std::uint64_t id, ClientEx& ex) {
        Message m = ex.req;
        if (ex.b2_active) {
            // RFC 7959 §2.4: ask for the next block; no payload, no Block1, no Observe (§2.6).
            m.remove_option(option::block1);
            m.remove_option(option::size1);
            m.remove_option(option::observe);
            set_block(m, option::block2,
                      static_cast<std::uint32_t>(ex.b2_body.size() >> (ex.b2_szx + 4U)), false,
                      ex.b2_szx);
            if (ex.observe) m.token = ex.fetch_token;
        } else if (ex.block1) {
            // RFC 7959 §2.5: one slice per request; Size1 on the first (§4).
            const std::size_t bs = std::size_t{1} << (ex.b1_szx + 4U);
            const std::size_t off = std::size_t{ex.b1_num} * bs;
            const std::size_t n = std::min(bs, ex.body.size() - std::min(off, ex.body.size()));
            const bool more = off + n < ex.body.size();
            set_block(m, option::block1, ex.b1_num, more, ex.b1_szx);
            if (ex.b1_num == 0) m.set_uint_option(option::size1, ex.body.size());
            m.payload.assign(ex.body.begin() + static_cast<std::ptrdiff_t>(off),
                             ex.body.begin() + static_cast<std::ptrdiff_t>(off + n));
        } else {
            m.payload = ex.body;
        }
        m.message_id = new_mid(ex.peer);
        m.type = ex.con ? Type::con : Type::non;
        Bytes bytes = encode(m);
        ex.gen = new_gen(); // cancels any response timer
        if (ex.con) {
            ex.mid = m.message_id;
            ex.tx_pending = true;
            ex.acked = false;
            start_tx(now, ex.peer, m.message_id, std::move(bytes), TxOwner::request, id);
        } else {
            send(ex.peer, std::move(bytes));
            push_timer(now + non_timeout, ex.gen, TimerKind::client, ex.peer, id);
        }
    }

    void release_slot(TimePoint now, ClientEx& ex) {
        if (!ex.holds_slot) return;
        ex.holds_slot = false;
        Peer* p = find_peer(ex.peer);
        if (p != nullptr && p->slots > 0) --p->slots;
        pump_queue(now, ex.peer);
    }

    void pump_queue(TimePoint now, const PeerAddr& peer) {
        Peer* p = find_peer(peer);
        while (p != nullptr && !p->queue.empty() && p->slots < cfg.nstart &&
               p->exchanges < cfg.max_exchanges_per_peer) {
            const std::uint64_t id = p->queue.front();
            p->queue.erase(p->queue.begin());
            auto it = clients_.find(id);
            if (it == clients_.end()) continue;
            start_client(now, id, it->second);
            p = find_peer(peer);
        }
    }

    /// Removes a client exchange (no event).
    void finish_client(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it) {
        const std::uint64_t id = it->first;
        ClientEx ex = std::move(it->second);
        client_nodes_.erase(clients_, it);
        token_nodes_.erase(tokens_, PeerToken{ex.peer, ex.req.token});
        if (!ex.fetch_token.empty())
            token_nodes_.erase(tokens_, PeerToken{ex.peer, ex.fetch_token});
        if (ex.tx_pending) erase_tx(ex.peer, ex.mid);
        release(ex.body.size() + ex.b2_body.size());
        if (Peer* p = find_peer(ex.peer)) {
            if (ex.queued) std::erase(p->queue, id);
            if (ex.holds_slot && p->slots > 0) --p->slots;
            if (ex.counted && p->exchanges > 0) --p->exchanges;
        }
        const PeerAddr peer = ex.peer;
        unref_peer(peer);
        pump_queue(now, peer);
    }

    void fail_client(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                     Error e) {
        const RequestId id{it->first};
        const PeerAddr peer = it->second.peer;
        finish_client(now, it);
        events_.emplace_back(RequestFailed{id, peer, e});
    }
    void fail_client(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                     Errc e) {
        fail_client(now, it, make_error_code(e));
    }

    Result<void> cancel_request(TimePoint now, RequestId id) {
        now_ = std::max(now_, now);
        auto it = clients_.find(id.value);
        if (it == clients_.end()) return fail(lwm2m::Errc::not_found);
        fail_client(now, it, Errc::cancelled);
        return ok();
    }

    /// A response matched to a client exchange (piggybacked, separate CON/NON or via the
    /// notification fetch token).
    void handle_client_response(TimePoint now, std::uint64_t id, const MessageView& v,
                                bool via_fetch) {
        auto it = clients_.find(id);
        ClientEx& ex = it->second;
        if (ex.tx_pending && (!ex.observing || via_fetch)) {
            // §5.2.2: a separate response implies the lost ACK; stop retransmitting.
            erase_tx(ex.peer, ex.mid);
            ex.tx_pending = false;
        }
        if (ex.observing && !via_fetch) {
            handle_notification(now, it, v);
            return;
        }
        bool bad = false;
        const auto b1 = block_of(v, option::block1, bad);
        const auto b2 = block_of(v, option::block2, bad);
        if (bad) {
            fail_client(now, it, Errc::block_mismatch);
            return;
        }
        if (ex.block1 && !ex.b2_active && v.code == code::continue_) {
            // RFC 7959 §2.5: 2.31 Continue for a non-final block: send the next one, honouring a
            // smaller SZX proposed by the server (§2.3).
            const std::size_t old_size = std::size_t{1} << (ex.b1_szx + 4U);
            const std::size_t sent = (std::size_t{ex.b1_num} + 1) * old_size;
            if (!b1 || b1->num != ex.b1_num || sent >= ex.body.size()) {
                fail_client(now, it, Errc::block_mismatch);
                return;
            }
            if (b1->szx < ex.b1_szx) ex.b1_szx = b1->szx;
            ex.b1_num = static_cast<std::uint32_t>(sent >> (ex.b1_szx + 4U));
            transmit_client(now, id, ex);
            return;
        }
        if (b2 && (b2->more || ex.b2_active)) {
            if (!ex.b2_active) {
                if (b2->num != 0) {
                    fail_client(now, it, Errc::block_mismatch);
                    return;
                }
                ex.b2_active = true;
                ex.b2_notification = false;
                ex.b2_first = Message::from_view(v);
                ex.b2_first.payload.clear();
                ex.b2_body.clear();
                const OptionView* et = v.find(option::etag);
                ex.b2_has_etag = et != nullptr;
                if (et) ex.b2_etag.assign(et->value.begin(), et->value.end());
                if (ex.observe && ex.fetch_token.empty()) {
                    ex.fetch_token = new_token(ex.peer);
                    token_nodes_.emplace(tokens_, PeerToken{ex.peer, ex.fetch_token}, id);
                }
            }
            if (!append_block2(now, it, v, *b2)) return;
            if (b2->more) {
                transmit_client(now, id, ex);
                return;
            }
            complete_block2(now, it);
            return;
        }
        // A final response.
        Message resp = Message::from_view(v);
        deliver_final(now, it, std::move(resp), v.code.is_success() && v.find(option::observe));
    }

    void abandon_fetch(ClientEx& ex) {
        ++stats_.stale_notifications;
        release(ex.b2_body.size());
        ex.b2_body.clear();
        ex.b2_active = false;
        ex.b2_notification = false;
        if (ex.tx_pending) {
            erase_tx(ex.peer, ex.mid);
            ex.tx_pending = false;
        }
    }

    /// Appends one Block2 slice; false when the transfer stopped (the exchange failed and was
    /// removed, or a notification fetch was abandoned).
    bool append_block2(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                       const MessageView& v, const BlockOption& b2) {
        ClientEx& ex = it->second;
        const OptionView* et = v.find(option::etag);
        const bool etag_ok = (et == nullptr && !ex.b2_has_etag) ||
                             (et != nullptr && ex.b2_has_etag && equal(et->value, ex.b2_etag));
        // RFC 7959 §2.4: blocks must line up; §2.4 ETag consistency across blocks.
        if (b2.offset() != ex.b2_body.size() || !etag_ok ||
            (b2.more && v.payload.size() != b2.size()) || !v.code.is_success()) {
            if (ex.b2_notification) {
                // A newer notification replaced the body being fetched: abandon this one, the
                // observation goes on (RFC 7959 §2.6).
                abandon_fetch(ex);
                return false;
            }
            fail_client(now, it, Errc::block_mismatch);
            return false;
        }
        if (ex.b2_body.size() + v.payload.size() > cfg.max_body_size ||
            over_budget(v.payload.size())) {
            if (ex.b2_notification) {
                abandon_fetch(ex);
                return false;
            }
            fail_client(now, it, Errc::entity_too_large);
            return false;
        }
        ex.b2_body.insert(ex.b2_body.end(), v.payload.begin(), v.payload.end());
        hold(v.payload.size());
        ex.b2_szx = std::min(b2.szx, szx);
        return true;
    }

    void complete_block2(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it) {
        ClientEx& ex = it->second;
        Message resp = std::move(ex.b2_first);
        ex.b2_first = Message{};
        resp.payload = std::move(ex.b2_body);
        release(resp.payload.size());
        ex.b2_body.clear();
        ex.b2_active = false;
        resp.remove_option(option::block2);
        resp.remove_option(option::size2);
        if (ex.b2_notification) {
            ex.b2_notification = false;
            resp.token = ex.req.token;
            ex.gen = new_gen();
            events_.emplace_back(
                Notification{RequestId{it->first}, ex.peer, std::move(resp), ex.b2_notif_seq});
            return;
        }
        const bool keep = resp.code.is_success() && resp.find(option::observe) != nullptr;
        resp.token = ex.req.token;
        deliver_final(now, it, std::move(resp), keep);
    }

    void deliver_final(TimePoint now, std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                       Message resp, bool observe_ok) {
        ClientEx& ex = it->second;
        const RequestId rid{it->first};
        if (ex.observe && observe_ok) {
            // RFC 7641 §3.1: the registration succeeded; keep the exchange for notifications.
            ex.observing = true;
            if (ex.counted) { // an established observation is not an exchange in flight
                ex.counted = false;
                if (Peer* p = find_peer(ex.peer); p && p->exchanges > 0) --p->exchanges;
            }
            ex.have_seq = true;
            ex.last_seq = static_cast<std::uint32_t>(resp.uint_option(option::observe).value_or(0));
            ex.last_time = now;
            ex.gen = new_gen();
            ex.block1 = false;
            release(ex.body.size());
            ex.body.clear();
            ex.body.shrink_to_fit();
            release_slot(now, ex);
            events_.emplace_back(Response{rid, ex.peer, std::move(resp)});
            return;
        }
        const PeerAddr peer = ex.peer;
        finish_client(now, it);
        events_.emplace_back(Response{rid, peer, std::move(resp)});
    }

    void handle_notification(TimePoint now,
                             std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                             const MessageView& v) {
        ClientEx& ex = it->second;
        const auto obs = v.uint_option(option::observe);
        if (!v.code.is_success() || !obs) {
            // RFC 7641 §3.2: a non-2.xx response or one without Observe ends the observation.
            deliver_final(now, it, Message::from_view(v), false);
            return;
        }
        const auto seq = static_cast<std::uint32_t>(*obs & 0xffffffU);
        if (ex.have_seq && !fresh(ex.last_seq, seq, ex.last_time, now)) {
            ++stats_.stale_notifications; // RFC 7641 §3.4
            return;
        }
        ex.have_seq = true;
        ex.last_seq = seq;
        ex.last_time = now;
        bool bad = false;
        const auto b2 = block_of(v, option::block2, bad);
        if (!bad && b2 && b2->more && b2->num == 0) {
            // RFC 7959 §2.6: fetch the rest of the notification with GETs (fresh token).
            if (ex.b2_active) release(ex.b2_body.size());
            if (ex.tx_pending) {
                erase_tx(ex.peer, ex.mid);
                ex.tx_pending = false;
            }
            ex.b2_active = true;
            ex.b2_notification = true;
            ex.b2_notif_seq = seq;
            ex.b2_first = Message::from_view(v);
            ex.b2_first.payload.clear();
            ex.b2_body.clear();
            const OptionView* et = v.find(option::etag);
            ex.b2_has_etag = et != nullptr;
            if (et) ex.b2_etag.assign(et->value.begin(), et->value.end());
            if (ex.fetch_token.empty()) {
                ex.fetch_token = new_token(ex.peer);
                token_nodes_.emplace(tokens_, PeerToken{ex.peer, ex.fetch_token}, it->first);
            }
            if (!append_block2(now, it, v, *b2)) return;
            transmit_client(now, it->first, ex);
            return;
        }
        // RFC 7641 §3.4, RFC 7959 §2.6: this notification is fresher than the one whose body is
        // still being fetched: abandon that fetch (its late responses are then dropped), or it
        // would be delivered after this one.
        if (ex.b2_active && ex.b2_notification) abandon_fetch(ex);
        events_.emplace_back(
            Notification{RequestId{it->first}, ex.peer, Message::from_view(v), seq});
    }

    /// Called for the continuation of a notification fetch (via the fetch token).
    void handle_fetch_response(TimePoint now, std::uint64_t id, const MessageView& v) {
        auto it = clients_.find(id);
        ClientEx& ex = it->second;
        if (ex.tx_pending) {
            erase_tx(ex.peer, ex.mid);
            ex.tx_pending = false;
        }
        if (!ex.b2_active) return; // late duplicate
        bool bad = false;
        const auto b2 = block_of(v, option::block2, bad);
        if (bad || !b2) {
            abandon_fetch(ex);
            return;
        }
        if (!append_block2(now, it, v, *b2)) return;
        if (b2->more) {
            transmit_client(now, id, ex);
            return;
        }
        complete_block2(now, it);
    }

    // --- server role ---------------------------------------------------------------------------

    /// Sends a reply that is not tracked (RST, 4.xx/5.xx piggybacked without state).
    void reply_direct(const PeerAddr& to, const MessageView& req, Code c, DedupEntry* cache,
                      std::optional<std::uint64_t> size1 = std::nullopt,
                      std::optional<BlockOption> block1 = std::nullopt) {
        Message m;
        m.type = req.type == Type::con ? Type::ack : Type::non;
        m.code = c;
        m.message_id = req.type == Type::con ? req.message_id : new_mid(to);
        m.token = req.token;
        if (size1) m.set_uint_option(option::size1, *size1);
        if (block1) set_block(m, option::block1, block1->num, block1->more, block1->szx);
        Bytes b = encode(m);
        set_dedup_reply(cache, b);
        send(to, std::move(b));
    }

    /// RFC 7252 §4.5 with one hash lookup: sets `dup` and returns the live entry for a
    /// duplicate; otherwise returns a new (or recycled expired) entry and the peer, or nullptr
    /// when a limit refuses the message.
    DedupEntry* claim_dedup(TimePoint now, const PeerAddr& from, MessageId mid, bool& dup,
                            Peer*& peer) {
        const std::uint64_t h = dedup_hash(from, mid);
        if (DedupEntry* e = dedup_.find(h, from, mid)) {
            if (e->expires > now) {
                dup = true;
                return e;
            }
            // Expired, not yet collected: recycle (the peer's count and reference carry over to
            // the new slot; the old slot is popped, dead, by expire_dedup/next_deadline).
            release(e->reply_size());
            dedup_.kill(*e);
            peer = find_peer(from);
        } else {
            peer = ref_peer(from);
            if (peer == nullptr || dedup_.size() >= cfg.max_dedup_entries ||
                peer->dedup >= cfg.max_dedup_per_peer) {
                if (peer != nullptr) unref_peer(from);
                peer = nullptr;
                return nullptr;
            }
            ++peer->dedup;
        }
        DedupEntry& e = dedup_.push(h, from, mid, now + exchange_lifetime);
        e.owner = peer;
        return &e;
    }

    void handle_request(TimePoint now, const PeerAddr& from, const MessageView& v) {
        bool dup = false;
        Peer* p = nullptr;
        DedupEntry* d = claim_dedup(now, from, v.message_id, dup, p);
        if (dup) {
            ++stats_.duplicates;
            if (d->has_reply()) {
                send(from, to_owned(d->reply())); // §4.5: replay, do not re-deliver
            } else if (v.type == Type::con && d->incoming != 0 && cfg.ack_duplicate_when_pending) {
                auto it = incoming_.find(d->incoming);
                if (it != incoming_.end()) ack_incoming(now, it->second);
            }
            return;
        }
        if (d == nullptr || p == nullptr) {
            ++stats_.refused; // flood protection: 5.03 without state, NON dropped
            debug("request refused: peer/dedup limit", from);
            if (v.type == Type::con) reply_direct(from, v, code::service_unavailable, nullptr);
            return;
        }
        // §5.7.2: this endpoint is no forward-proxy. Proxy-Uri/Proxy-Scheme are critical and
        // not "known" (message.cpp): answer 5.05 (for a NON too: "MUST return a 5.05").
        if (v.find(option::proxy_uri) != nullptr || v.find(option::proxy_scheme) != nullptr) {
            ++stats_.bad_option;
            reply_direct(from, v, code::proxying_not_supported, d);
            return;
        }
        // §5.4.1: unrecognized critical option.
        if (has_unknown_critical(v)) {
            ++stats_.bad_option;
            if (v.type == Type::con) reply_direct(from, v, code::bad_option, d);
            return;
        }
        bool bad = false;
        const auto b1 = block_of(v, option::block1, bad);
        const auto b2 = block_of(v, option::block2, bad);
        if (bad) { // RFC 7959 §2.2: SZX 7 / oversized block value
            if (v.type == Type::con) reply_direct(from, v, code::bad_request, d);
            return;
        }
        if (p->exchanges >= cfg.max_exchanges_per_peer) {
            ++stats_.refused;
            if (v.type == Type::con) reply_direct(from, v, code::service_unavailable, d);
            return;
        }
        // Replies cached for deduplication (kept EXCHANGE_LIFETIME, §4.5) count in
        // max_buffered_bytes: while the budget cannot hold one more reply of max_message_size,
        // new requests are refused like the dedup limit does (5.03, NON dropped).
        if (over_budget(cfg.max_message_size)) {
            ++stats_.refused;
            debug("request refused: buffered bytes limit", from);
            if (v.type == Type::con) reply_direct(from, v, code::service_unavailable, d);
            return;
        }
        const std::uint64_t key = request_key(v, key_seed_);
        // Block2 continuation served from the body cache (RFC 7959 §2.4).
        if (b2 && b2->num > 0) {
            auto bit = block_index_.find(PeerKey{from, key, false});
            if (bit != block_index_.end()) {
                serve_block2(now, from, v, *b2, blocks_.find(bit->second), d);
                return;
            }
        }
        Bytes body;
        bool reassembled = false;
        if (b1) {
            // RFC 7959 §2.5 server side reassembly.
            PeerKey pk{from, key, true};
            auto bit = block_index_.find(pk);
            const std::uint64_t limit = cfg.max_body_size;
            if (auto s1 = v.uint_option(option::size1); s1 && *s1 > limit) {
                reply_direct(from, v, code::request_entity_too_large, d, limit); // §2.9.3
                if (bit != block_index_.end()) erase_block(blocks_.find(bit->second));
                return;
            }
            if (b1->num == 0) {
                if (bit == block_index_.end()) {
                    if (p->blocks >= cfg.max_block_transfers_per_peer ||
                        over_budget(v.payload.size())) {
                        ++stats_.refused;
                        reply_direct(from, v, code::service_unavailable, d);
                        return;
                    }
                    bit = new_block(now, pk);
                } else {
                    auto& bs = blocks_.find(bit->second)->second;
                    release(bs.body.size());
                    bs.body.clear();
                }
            }
            if (bit == block_index_.end() ||
                b1->offset() != blocks_.find(bit->second)->second.body.size() ||
                (b1->more && v.payload.size() != b1->size())) {
                // §2.9.2: missing or out-of-order block.
                reply_direct(from, v, code::request_entity_incomplete, d);
                return;
            }
            auto blk = blocks_.find(bit->second);
            BlockState& bs = blk->second;
            if (bs.body.size() + v.payload.size() > limit || over_budget(v.payload.size())) {
                reply_direct(from, v, code::request_entity_too_large, d, limit);
                erase_block(blk);
                return;
            }
            bs.body.insert(bs.body.end(), v.payload.begin(), v.payload.end());
            hold(v.payload.size());
            bs.expires = now + block_lifetime;
            bs.gen = new_gen();
            push_timer(bs.expires, bs.gen, TimerKind::block, from, blk->first);
            if (b1->more) {
                // §2.3: 2.31 Continue, possibly proposing our smaller block size.
                reply_direct(from, v, code::continue_, d, std::nullopt,
                             BlockOption{b1->num, true, std::min(b1->szx, szx)});
                return;
            }
            body = std::move(bs.body);
            bs.body.clear();
            release(body.size());
            erase_block(blk);
            reassembled = true;
        }
        // RFC 7641 §2/§4.1: Observe in a GET/FETCH.
        bool reg = false;
        bool dereg = false;
        std::uint64_t obs_id = 0;
        if (is_observe_method(v.code)) {
            if (auto o = v.uint_option(option::observe)) {
                if (*o == 0) {
                    reg = true;
                    auto oit = obs_index_.find(PeerToken{from, v.token});
                    obs_id = oit != obs_index_.end() ? oit->second : next_id_++;
                } else if (*o == 1) {
                    dereg = true;
                    auto oit = obs_index_.find(PeerToken{from, v.token});
                    if (oit != obs_index_.end())
                        end_observation(observations_.find(oit->second),
                                        ObservationEndReason::deregistered);
                }
            }
        }
        const std::uint64_t id = next_id_++;
        IncomingEx in;
        in.peer = from;
        in.state = p;
        in.token = v.token;
        in.key = key;
        in.mid = v.message_id;
        in.con = v.type == Type::con;
        in.observe_register = reg;
        in.observation = obs_id;
        if (reassembled) {
            in.has_block1 = true;
            in.block1 = *b1;
        }
        if (b2) {
            in.has_block2 = true;
            in.block2 = *b2;
        }
        in.expires = now + exchange_lifetime;
        in.gen = new_gen();
        ++p->refs; // the dedup entry keeps the peer alive, so `p` is still valid
        ++p->exchanges;
        if (d) {
            d->incoming = id;
            in.dedup = d->seq;
        }
        if (in.con) ack_fifo_.push_back(FifoTimer{now + cfg.auto_ack_delay, id, in.gen});
        expire_fifo_.push_back(FifoTimer{in.expires, id, in.gen});
        incoming_nodes_.emplace(incoming_, id, std::move(in));

        IncomingRequest ev;
        ev.id = IncomingId{id};
        ev.peer = from;
        ev.request = Message::from_view(v);
        if (reassembled) {
            ev.request.payload = std::move(body);
            ev.request.remove_option(option::block1);
            ev.request.remove_option(option::size1);
        }
        if (b2) ev.request.remove_option(option::block2);
        ev.observe_register = reg;
        ev.observe_deregister = dereg;
        ev.observation = ObservationId{obs_id};
        events_.emplace_back(std::move(ev));
    }

    std::unordered_map<PeerKey, std::uint64_t, PeerKeyHash>::iterator new_block(TimePoint now,
                                                                                const PeerKey& pk) {
        const std::uint64_t id = next_id_++;
        BlockState bs;
        bs.key = pk;
        bs.expires = now + block_lifetime;
        bs.gen = new_gen();
        push_timer(bs.expires, bs.gen, TimerKind::block, pk.peer, id);
        blocks_.emplace(id, std::move(bs));
        Peer* p = ref_peer(pk.peer);
        if (p) ++p->blocks;
        return block_index_.insert_or_assign(pk, id).first;
    }

    void erase_block(std::unordered_map<std::uint64_t, BlockState>::iterator it) {
        if (it == blocks_.end()) return;
        const PeerAddr peer = it->second.key.peer;
        auto ix = block_index_.find(it->second.key);
        if (ix != block_index_.end() && ix->second == it->first) block_index_.erase(ix);
        release(it->second.body.size());
        blocks_.erase(it);
        if (Peer* p = find_peer(peer); p && p->blocks > 0) --p->blocks;
        unref_peer(peer);
    }

    /// Builds one Block2 slice of `body` with `head`'s code and options.
    Message make_slice(const Message& head, BytesView body, std::uint32_t num, std::uint8_t s) {
        Message m = head;
        const std::size_t bs = std::size_t{1} << (s + 4U);
        const std::size_t off = std::min(std::size_t{num} * bs, body.size());
        const std::size_t n = std::min(bs, body.size() - off);
        set_block(m, option::block2, num, off + n < body.size(), s);
        if (num == 0) m.set_uint_option(option::size2, body.size()); // RFC 7959 §4
        m.payload.assign(body.begin() + static_cast<std::ptrdiff_t>(off),
                         body.begin() + static_cast<std::ptrdiff_t>(off + n));
        return m;
    }

    void serve_block2(TimePoint now, const PeerAddr& from, const MessageView& v, BlockOption b2,
                      std::unordered_map<std::uint64_t, BlockState>::iterator blk, DedupEntry* d) {
        BlockState& bs = blk->second;
        const std::uint8_t s = std::min(b2.szx, bs.szx);
        const std::size_t off = b2.offset();
        if (off >= bs.body.size()) {
            reply_direct(from, v, code::bad_option, d); // RFC 7959 §2.2: NUM out of range
            return;
        }
        Message m = make_slice(bs.head, bs.body, static_cast<std::uint32_t>(off >> (s + 4U)), s);
        m.remove_option(option::observe); // §2.6: only the first block carries Observe
        m.type = v.type == Type::con ? Type::ack : Type::non;
        m.message_id = v.type == Type::con ? v.message_id : new_mid(from);
        m.token = v.token;
        Bytes b = encode(m);
        set_dedup_reply(d, b);
        send(from, std::move(b));
        ++stats_.blocks_served;
        bs.expires = now + block_lifetime;
        bs.gen = new_gen();
        push_timer(bs.expires, bs.gen, TimerKind::block, from, blk->first);
    }

    void ack_incoming(TimePoint now, IncomingEx& in) {
        if (!in.con || in.acked) return;
        (void)now;
        in.acked = true;
        Bytes b = empty_message(Type::ack, in.mid);
        set_dedup_reply(live_dedup(in), b);
        send(in.peer, std::move(b));
    }

    /// The dedup entry of an incoming request, by handle (no key lookup). Entries are erased
    /// only once expired (expire_dedup) and recycled only once expired (claim_dedup); the request
    /// and its entry share the expiry time, and now_ never decreases, so the entry is the
    /// request's exactly while in.expires > now_ (the handle check is a second guard).
    DedupEntry* live_dedup(const IncomingEx& in) const {
        return in.expires > now_ && in.dedup != 0 ? dedup_.get(in.dedup) : nullptr;
    }

    void drop_incoming(std::unordered_map<std::uint64_t, IncomingEx>::iterator it,
                       bool unlink_dedup = true) {
        const PeerAddr peer = it->second.peer;
        Peer* p = it->second.state; // held by this request's reference: still in peers_
        if (unlink_dedup) {
            if (DedupEntry* d = live_dedup(it->second); d && d->incoming == it->first)
                d->incoming = 0;
        }
        incoming_nodes_.erase(incoming_, it);
        if (p == nullptr) p = find_peer(peer);
        if (p == nullptr) return;
        if (p->exchanges > 0) --p->exchanges;
        unref_peer(peer, *p);
    }

    /// Prepares a (possibly block-wise) response body: returns the message to send as the
    /// first (or requested) slice, storing the rest in the Block2 cache.
    Result<Message> shape_body(TimePoint now, const PeerAddr& peer, std::uint64_t key, Message m,
                               const std::optional<BlockOption>& requested) {
        if (m.payload.size() > cfg.max_body_size) return fail(Errc::entity_too_large);
        std::uint8_t s = szx;
        if (requested) s = std::min(s, requested->szx);
        const std::size_t bs = std::size_t{1} << (s + 4U);
        const std::uint32_t num =
            requested ? static_cast<std::uint32_t>(requested->offset() >> (s + 4U)) : 0;
        if (m.payload.size() <= bs && num == 0) {
            m.remove_option(option::block2);
            return m;
        }
        if (std::size_t{num} * bs >= m.payload.size()) {
            Message e;
            e.code = code::bad_option;
            return e;
        }
        if (m.find(option::etag) == nullptr) {
            // RFC 7959 §2.4: an ETag lets the client check the blocks belong together.
            const std::uint32_t tag = (rng.next_u32() & 0xffff0000U) | (++etag_counter_ & 0xffffU);
            const std::array<std::byte, 4> e{std::byte(tag >> 24), std::byte((tag >> 16) & 0xffU),
                                             std::byte((tag >> 8) & 0xffU), std::byte(tag & 0xffU)};
            m.add_option(option::etag, BytesView(e));
        }
        Message head = m;
        head.payload.clear();
        head.remove_option(option::block2);
        Message first = make_slice(head, m.payload, num, s);
        // Keep the body for the later blocks (bounded by block_lifetime and the byte budget).
        PeerKey pk{peer, key, false};
        auto ix = block_index_.find(pk);
        Peer* p = find_peer(peer);
        if (ix == block_index_.end() &&
            ((p != nullptr && p->blocks >= cfg.max_block_transfers_per_peer))) {
            // Evict this peer's oldest cache? Simplest bounded policy: refuse caching; the peer
            // will get the later blocks regenerated by the application (Block2 passes through).
        } else if (!over_budget(m.payload.size())) {
            if (ix == block_index_.end()) ix = new_block(now, pk);
            auto blk = blocks_.find(ix->second);
            release(blk->second.body.size());
            blk->second.body = std::move(m.payload);
            hold(blk->second.body.size());
            blk->second.head = std::move(head);
            blk->second.szx = s;
        } else {
            ++stats_.refused;
            return fail(Errc::peer_limit);
        }
        return first;
    }

    Result<void> send_response(TimePoint now, IncomingId id, Message resp) {
        now_ = std::max(now_, now);
        auto it = incoming_.find(id.value);
        if (it == incoming_.end()) return fail(lwm2m::Errc::not_found);
        if (!resp.code.is_response()) return fail(lwm2m::Errc::invalid_argument);
        if (it->second.expires <= now_) { // EXCHANGE_LIFETIME passed: the peer gave up long ago
            drop_incoming(it);
            return fail(lwm2m::Errc::not_found);
        }
        // Refuse before any state changes (no half-registered observation on error).
        if (resp.payload.size() > cfg.max_body_size) return fail(Errc::entity_too_large);
        if (!fits_datagram(resp)) return fail(Errc::message_too_large);
        if (resp.payload.size() > cfg.block_size && over_budget(resp.payload.size())) {
            ++stats_.refused;
            return fail(Errc::peer_limit);
        }
        IncomingEx& in = it->second;
        const bool registering =
            in.observe_register && resp.code.is_success() && resp.find(option::observe) != nullptr;
        std::uint64_t obs_id = 0;
        if (registering) {
            auto oit = observations_.find(in.observation);
            if (oit == observations_.end()) {
                Peer* p = find_peer(in.peer);
                if (p != nullptr && p->observations >= cfg.max_observations_per_peer) {
                    // RFC 7641 §4.1: not added to the list of observers; the GET is answered
                    // as usual, without the Observe option.
                    ++stats_.refused;
                    resp.remove_option(option::observe);
                } else {
                    Observation o;
                    o.peer = in.peer;
                    o.token = in.token;
                    o.key = in.key;
                    o.last_con = now;
                    o.seq = rng.next_u32() & 0xffffU;
                    oit = observations_.emplace(in.observation, std::move(o)).first;
                    obs_index_.insert_or_assign(PeerToken{in.peer, in.token}, in.observation);
                    ref_peer(in.peer);
                    if (Peer* pp = find_peer(in.peer)) ++pp->observations;
                }
            }
            if (oit != observations_.end()) {
                oit->second.seq = (oit->second.seq + 1) & 0xffffffU;
                resp.set_uint_option(option::observe, oit->second.seq);
                obs_id = in.observation;
            }
        } else if (in.observe_register) {
            // RFC 7641 §4.1: a refused (re-)registration removes an existing entry.
            resp.remove_option(option::observe);
            auto oit = observations_.find(in.observation);
            if (oit != observations_.end()) end_observation(oit, ObservationEndReason::replaced);
        }
        const std::optional<BlockOption> req_b2 =
            in.has_block2 ? std::optional<BlockOption>(in.block2) : std::nullopt;
        auto shaped = shape_body(now, in.peer, in.key, std::move(resp), req_b2);
        if (!shaped) return fail(shaped.error());
        Message m = std::move(*shaped);
        if (in.has_block1) {
            // RFC 7959 §2.3: the final response echoes the last Block1.
            set_block(m, option::block1, in.block1.num, false, in.block1.szx);
        }
        m.token = in.token;
        DedupEntry* d = live_dedup(in);
        if (in.con && !in.acked) {
            m.type = Type::ack; // §5.2.1 piggybacked
            m.message_id = in.mid;
            Bytes b = encode(m);
            set_dedup_reply(d, b);
            send(in.peer, std::move(b));
        } else {
            m.message_id = new_mid(in.peer);
            if (in.con && cfg.separate_response_confirmable) {
                m.type = Type::con; // §5.2.2 separate
                Bytes b = encode(m);
                if (obs_id != 0) {
                    auto& o = observations_.find(obs_id)->second;
                    o.con_pending = true;
                    o.con_mid = m.message_id;
                    start_tx(now, in.peer, m.message_id, std::move(b), TxOwner::notification,
                             obs_id);
                } else {
                    start_tx(now, in.peer, m.message_id, std::move(b), TxOwner::separate_response,
                             0);
                }
            } else {
                m.type = Type::non; // §5.2.3
                Bytes b = encode(m);
                if (!in.con) set_dedup_reply(d, b);
                send(in.peer, std::move(b));
            }
        }
        if (d) d->incoming = 0;
        drop_incoming(it, false);
        return ok();
    }

    Result<void> accept_separately(TimePoint now, IncomingId id) {
        now_ = std::max(now_, now);
        auto it = incoming_.find(id.value);
        if (it == incoming_.end()) return fail(lwm2m::Errc::not_found);
        ack_incoming(now, it->second);
        return ok();
    }

    void end_observation(std::unordered_map<std::uint64_t, Observation>::iterator it,
                         ObservationEndReason reason) {
        if (it == observations_.end()) return;
        const std::uint64_t id = it->first;
        Observation o = std::move(it->second);
        observations_.erase(it);
        auto ix = obs_index_.find(PeerToken{o.peer, o.token});
        if (ix != obs_index_.end() && ix->second == id) obs_index_.erase(ix);
        if (o.has_non_mid) non_notifs_.erase(PeerMid{o.peer, o.non_mid});
        if (o.con_pending) erase_tx(o.peer, o.con_mid);
        if (Peer* p = find_peer(o.peer); p && p->observations > 0) --p->observations;
        unref_peer(o.peer);
        events_.emplace_back(ObservationEnded{ObservationId{id}, o.peer, reason});
    }

    Result<void> send_notification(TimePoint now, ObservationId id, Message n, bool confirmable) {
        now_ = std::max(now_, now);
        auto it = observations_.find(id.value);
        if (it == observations_.end()) return fail(lwm2m::Errc::not_found);
        if (!n.code.is_response()) return fail(lwm2m::Errc::invalid_argument);
        if (!fits_datagram(n)) return fail(Errc::message_too_large);
        Observation& o = it->second;
        const std::uint32_t seq = (o.seq + 1) & 0xffffffU; // RFC 7641 §4.4: 24-bit
        if (n.code.is_success())
            n.set_uint_option(option::observe, seq);
        else
            n.remove_option(option::observe); // §4.2: an error ends the observation
        auto shaped = shape_body(now, o.peer, o.key, std::move(n), std::nullopt);
        if (!shaped) return fail(shaped.error());
        Message m = std::move(*shaped);
        o.seq = seq;
        m.token = o.token;
        m.message_id = new_mid(o.peer);
        // RFC 7641 §4.5: at least one CON per con_notification_interval.
        // §4.5.2: while a CON notification is unacknowledged, a new one (even one the
        // application wants NON) replaces it through the CON path, so the older state is
        // never retransmitted after the newer one.
        const bool con =
            confirmable || o.con_pending || now - o.last_con >= cfg.con_notification_interval;
        const bool final_error = !m.code.is_success();
        if (con) {
            m.type = Type::con;
            o.last_con = now;
            Bytes b = encode(m);
            if (o.con_pending) {
                // §4.5.2: the new notification replaces the pending one and inherits its
                // retransmission counter and timeout.
                auto old = txs_.find(PeerMid{o.peer, o.con_mid});
                Tx nt;
                if (old != txs_.end()) {
                    nt.timeout = old->second.timeout;
                    nt.retransmits = old->second.retransmits;
                    nt.next = std::max(old->second.next, now);
                } else {
                    nt.timeout = initial_timeout();
                    nt.next = now + nt.timeout;
                }
                erase_tx(o.peer, o.con_mid);
                nt.bytes = b;
                nt.gen = new_gen();
                nt.owner = TxOwner::notification;
                nt.owner_id = id.value;
                install_tx(o.peer, m.message_id, std::move(nt));
                send(o.peer, std::move(b));
            } else {
                start_tx(now, o.peer, m.message_id, std::move(b), TxOwner::notification, id.value);
            }
            o.con_pending = true;
            o.con_mid = m.message_id;
        } else {
            m.type = Type::non;
            if (o.has_non_mid) non_notifs_.erase(PeerMid{o.peer, o.non_mid});
            o.has_non_mid = true;
            o.non_mid = m.message_id;
            non_notifs_.insert_or_assign(PeerMid{o.peer, m.message_id}, id.value);
            send(o.peer, encode(m));
        }
        if (final_error) {
            // Keep a CON error notification retransmitting but forget the observer.
            auto oit = observations_.find(id.value);
            if (oit->second.con_pending) {
                auto tx = txs_.find(PeerMid{o.peer, o.con_mid});
                if (tx != txs_.end()) tx->second.owner = TxOwner::separate_response;
                oit->second.con_pending = false;
            }
            end_observation(oit, ObservationEndReason::cancelled);
        }
        return ok();
    }

    std::optional<std::uint32_t> observation_seq(ObservationId id) const {
        auto it = observations_.find(id.value);
        if (it == observations_.end()) return std::nullopt;
        return it->second.seq;
    }

    Result<ObservationId> restore_observation(TimePoint now, const PeerAddr& peer,
                                              const Token& token, std::uint32_t seq) {
        now_ = std::max(now_, now);
        if (token.empty() || obs_index_.count(PeerToken{peer, token}) != 0)
            return fail(lwm2m::Errc::invalid_argument);
        Peer* existing = find_peer(peer);
        if (existing != nullptr && existing->observations >= cfg.max_observations_per_peer)
            return fail(Errc::peer_limit);
        Peer* p = ref_peer(peer);
        if (p == nullptr) return fail(Errc::peer_limit);
        Observation o;
        o.peer = peer;
        o.token = token;
        o.key = 0; // no request to hash: Block2 slices of its notifications are keyed 0
        o.last_con = now;
        o.seq = seq & 0xffffffU;
        const std::uint64_t id = next_id_++;
        observations_.emplace(id, std::move(o));
        obs_index_.insert_or_assign(PeerToken{peer, token}, id);
        ++p->observations;
        return ObservationId{id};
    }

    Result<void> cancel_observation(TimePoint now, ObservationId id) {
        now_ = std::max(now_, now);
        auto it = observations_.find(id.value);
        if (it == observations_.end()) return fail(lwm2m::Errc::not_found);
        end_observation(it, ObservationEndReason::cancelled);
        return ok();
    }

    // --- input ---------------------------------------------------------------------------------

    void on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes) {
        now_ = std::max(now_, now);
        ++stats_.datagrams_received;
        if (bytes.size() >= 4) { // a CON/NON will look up (peer, MID): start the cache miss now
            dedup_.prefetch(
                dedup_hash(from, static_cast<MessageId>((std::to_integer<unsigned>(bytes[2]) << 8) |
                                                        std::to_integer<unsigned>(bytes[3]))));
        }
        MessageView& v = view_;
        if (auto r = decode_into(bytes, v); !r) {
            ++stats_.malformed_dropped;
            if (log.enabled(LogLevel::debug))
                debug("malformed datagram dropped: " + r.error().message(), from);
            // §4.2: a CON with a readable header but a format error is rejected with RST.
            if (bytes.size() >= 4 && (std::to_integer<unsigned>(bytes[0]) >> 6) == 1 &&
                ((std::to_integer<unsigned>(bytes[0]) >> 4) & 3U) == 0) {
                const auto mid = static_cast<MessageId>((std::to_integer<unsigned>(bytes[2]) << 8) |
                                                        std::to_integer<unsigned>(bytes[3]));
                send_empty(from, Type::rst, mid);
            }
            return;
        }
        const int cls = v.code.cls();
        switch (v.type) {
        case Type::ack:
            if (cls == 1 || cls == 3 || cls >= 6 || v.code.is_request()) { // §3: reserved classes
                ++stats_.malformed_dropped;
                return;
            }
            on_ack(now, from, v);
            return;
        case Type::rst:
            on_rst(now, from, v);
            return;
        case Type::con:
        case Type::non:
            if (v.code.is_empty()) {
                if (v.type == Type::con) send_empty(from, Type::rst, v.message_id); // §4.3 ping
                return;
            }
            if (cls == 1 || cls == 3 || cls >= 6) { // §3 reserved class: reject (§4.2/§4.3)
                ++stats_.malformed_dropped;
                if (v.type == Type::con) send_empty(from, Type::rst, v.message_id);
                return;
            }
            if (v.code.is_request())
                handle_request(now, from, v);
            else
                on_response(now, from, v);
            return;
        }
    }

    void on_ack(TimePoint now, const PeerAddr& from, const MessageView& v) {
        auto txit = txs_.find(PeerMid{from, v.message_id});
        if (txit == txs_.end()) {
            ++stats_.unmatched; // late or duplicate ACK
            return;
        }
        const TxOwner owner = txit->second.owner;
        const std::uint64_t oid = txit->second.owner_id;
        switch (owner) {
        case TxOwner::request: {
            auto it = clients_.find(oid);
            if (it == clients_.end()) {
                erase_tx(from, v.message_id);
                return;
            }
            ClientEx& ex = it->second;
            if (!v.code.is_empty()) {
                // §5.3.2: the piggybacked response must echo the request's token.
                const Token& expected =
                    (ex.b2_active && ex.observe) ? ex.fetch_token : ex.req.token;
                if (!(v.token == expected)) {
                    ++stats_.unmatched;
                    return;
                }
                if (has_unknown_critical(v)) { // §5.4.1: reject the response
                    ++stats_.bad_option;
                    fail_client(now, it, lwm2m::make_error_code(lwm2m::Errc::parse_error));
                    return;
                }
                erase_tx(from, v.message_id);
                ex.tx_pending = false;
                if (ex.observe && ex.b2_notification)
                    handle_fetch_response(now, oid, v);
                else
                    handle_client_response(now, oid, v, ex.b2_active && ex.observe);
                return;
            }
            // Empty ACK: the response will be separate (§5.2.2); the request is no longer
            // outstanding for NSTART (§4.7).
            erase_tx(from, v.message_id);
            ex.tx_pending = false;
            ex.acked = true;
            ex.gen = new_gen();
            push_timer(now + separate_timeout, ex.gen, TimerKind::client, from, oid);
            if (!ex.block1 && !ex.b2_active) release_slot(now, ex);
            return;
        }
        case TxOwner::separate_response:
            erase_tx(from, v.message_id);
            return;
        case TxOwner::notification: {
            erase_tx(from, v.message_id);
            auto oit = observations_.find(oid);
            if (oit != observations_.end() && oit->second.con_mid == v.message_id)
                oit->second.con_pending = false;
            return;
        }
        }
    }

    void on_rst(TimePoint now, const PeerAddr& from, const MessageView& v) {
        if (!v.code.is_empty()) { // §4.2: a Reset is an empty message (0.00); ignore others
            ++stats_.malformed_dropped;
            return;
        }
        ++stats_.resets_received;
        auto txit = txs_.find(PeerMid{from, v.message_id});
        if (txit != txs_.end()) {
            const TxOwner owner = txit->second.owner;
            const std::uint64_t oid = txit->second.owner_id;
            erase_tx(from, v.message_id);
            if (owner == TxOwner::request) {
                auto it = clients_.find(oid);
                if (it != clients_.end()) {
                    it->second.tx_pending = false;
                    fail_client(now, it, Errc::reset);
                }
            } else if (owner == TxOwner::notification) {
                auto oit = observations_.find(oid);
                if (oit != observations_.end()) {
                    if (oit->second.con_mid == v.message_id) oit->second.con_pending = false;
                    end_observation(oit, ObservationEndReason::reset); // RFC 7641 §3.6
                }
            }
            return;
        }
        auto nit = non_notifs_.find(PeerMid{from, v.message_id});
        if (nit != non_notifs_.end()) {
            const std::uint64_t oid = nit->second;
            end_observation(observations_.find(oid), ObservationEndReason::reset);
            return;
        }
        ++stats_.unmatched;
    }

    void on_response(TimePoint now, const PeerAddr& from, const MessageView& v) {
        bool dup = false;
        Peer* p = nullptr;
        DedupEntry* d = claim_dedup(now, from, v.message_id, dup, p); // nullptr: over a limit
        if (dup) {
            ++stats_.duplicates;
            if (d->has_reply()) send(from, to_owned(d->reply()));
            return;
        }
        auto tk = tokens_.find(PeerToken{from, v.token});
        if (tk == tokens_.end()) {
            // §4.2 / RFC 7641 §3.6: unknown exchange (or cancelled observation): reject.
            ++stats_.unmatched;
            Bytes rst = empty_message(Type::rst, v.message_id);
            ++stats_.resets_sent;
            set_dedup_reply(d, rst);
            send(from, std::move(rst));
            return;
        }
        const std::uint64_t id = tk->second;
        auto it = clients_.find(id);
        if (has_unknown_critical(v)) {
            // §5.4.1: reject the response with RST; the request fails.
            ++stats_.bad_option;
            Bytes rst = empty_message(Type::rst, v.message_id);
            ++stats_.resets_sent;
            set_dedup_reply(d, rst);
            send(from, std::move(rst));
            fail_client(now, it, lwm2m::make_error_code(lwm2m::Errc::parse_error));
            return;
        }
        if (v.type == Type::con) {
            Bytes ack = empty_message(Type::ack, v.message_id); // §5.2.2: ACK the separate response
            set_dedup_reply(d, ack);
            send(from, std::move(ack));
        }
        const bool via_fetch = !it->second.fetch_token.empty() && v.token == it->second.fetch_token;
        if (via_fetch && it->second.b2_notification)
            handle_fetch_response(now, id, v);
        else
            handle_client_response(now, id, v, via_fetch);
    }

    Stats stats() const {
        Stats s = stats_;
        s.peers = peers_.size();
        s.buffered_bytes = buffered_;
        s.timer_entries = heap_.size();
        return s;
    }
};

// --- Endpoint forwarding ------------------------------------------------------------------------

Endpoint::Endpoint(const Config& config, Random& random, Logger& logger)
    : impl_(std::make_unique<Impl>(config, random, logger)) {}
Endpoint::~Endpoint() = default;
Endpoint::Endpoint(Endpoint&&) noexcept = default;
Endpoint& Endpoint::operator=(Endpoint&&) noexcept = default;

void Endpoint::on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes) {
    impl_->on_datagram(now, from, bytes);
}
void Endpoint::on_timeout(TimePoint now) {
    impl_->on_timeout(now);
}
std::optional<Datagram> Endpoint::poll_transmit() {
    if (impl_->out_.empty()) return std::nullopt;
    Datagram d = std::move(impl_->out_.front());
    impl_->out_.pop_front();
    return d;
}
std::optional<Event> Endpoint::poll_event() {
    if (impl_->events_.empty()) return std::nullopt;
    Event e = std::move(impl_->events_.front());
    impl_->events_.pop_front();
    return e;
}
std::optional<TimePoint> Endpoint::next_deadline() const {
    return impl_->next_deadline();
}
Result<RequestId> Endpoint::send_request(TimePoint now, const PeerAddr& to, Message req) {
    return impl_->send_request(now, to, std::move(req));
}
Result<void> Endpoint::cancel_request(TimePoint now, RequestId id) {
    return impl_->cancel_request(now, id);
}
Result<void> Endpoint::send_response(TimePoint now, IncomingId id, Message resp) {
    return impl_->send_response(now, id, std::move(resp));
}
Result<void> Endpoint::accept_separately(TimePoint now, IncomingId id) {
    return impl_->accept_separately(now, id);
}
Result<void> Endpoint::send_notification(TimePoint now, ObservationId id, Message n,
                                         bool confirmable) {
    return impl_->send_notification(now, id, std::move(n), confirmable);
}
std::optional<std::uint32_t> Endpoint::observation_seq(ObservationId id) const {
    return impl_->observation_seq(id);
}

Result<ObservationId> Endpoint::restore_observation(TimePoint now, const PeerAddr& peer,
                                                    const Token& token, std::uint32_t seq) {
    return impl_->restore_observation(now, peer, token, seq);
}

Result<void> Endpoint::cancel_observation(TimePoint now, ObservationId id) {
    return impl_->cancel_observation(now, id);
}
Stats Endpoint::stats() const {
    return impl_->stats();
}
const Config& Endpoint::config() const noexcept {
    return impl_->cfg;
}

} // namespace lwm2m::coap
