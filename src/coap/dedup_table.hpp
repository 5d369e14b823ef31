// Private to lwm2m_coap: the server-scale (peer, MID) deduplication cache of the endpoint
// (RFC 7252 §4.5).
//
// DedupTable layout:
//  - a ring of entries in insertion order. EXCHANGE_LIFETIME is constant, so entries expire in
//    insertion order and the ring head is always the next one to expire (O(1) expiry, no
//    separate FIFO). An entry is addressed by its insertion sequence number (a Handle), which
//    stays valid until the entry is popped or killed (no dangling pointers when the ring grows).
//  - an open-addressing index (linear probing, backward-shift deletion, load <= 1/2) of 8-byte
//    buckets: ring position + the hash's high 32 bits, which also give the bucket's home, so a
//    probe rarely touches a wrong entry and a deletion's backward shift never reads the ring.
//  - the cached reply (ACK/RST/piggybacked response) is kept inline in the entry when it is
//    small (kInline bytes, the common case), else in one heap block owned by the entry.
// The caller supplies the hash (keyed with a per-endpoint seed in the endpoint, so a peer cannot
// build probe clusters offline); tests pass constant hashes to force collisions.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/coap/message.hpp>

namespace lwm2m::coap::detail {

/// `Owner`: per-peer state the caller links to each entry (kept alive by the entry, so the
/// caller can reach it without a lookup on expiry).
template <typename Owner>
class DedupTable {
public:
    using Handle = std::uint64_t; ///< insertion sequence number; 0 is never a valid handle
    static constexpr std::size_t kInline = 40;

    /// Two cache lines: the key, hash and expiry (all a lookup reads) in the first one.
    struct alignas(64) Entry {
        PeerAddr peer;
        MessageId mid = 0;
        bool live = false; ///< false: killed (recycled) slot waiting to be popped
        std::uint32_t reply_len = 0;
        std::uint32_t big_cap = 0; ///< capacity of `big`
        Handle seq = 0;
        std::uint64_t hash = 0;
        TimePoint expires;
        std::uint64_t incoming = 0; ///< IncomingId still waiting for the application, 0: none
        Owner* owner = nullptr;
        std::unique_ptr<std::byte[]> big; ///< reply storage when reply_len > kInline
        std::array<std::byte, kInline> small{};

        [[nodiscard]] bool has_reply() const noexcept { return reply_len != 0; }
        [[nodiscard]] std::size_t reply_size() const noexcept { return reply_len; }
        [[nodiscard]] BytesView reply() const noexcept {
            const std::byte* p = reply_len > kInline ? big.get() : small.data();
            if (p == nullptr) return {}; // not reached (big holds reply_len bytes)
            return {p, reply_len};
        }
        void set_reply(BytesView b) {
            if (b.size() > kInline) {
                if (b.size() > big_cap) {
                    big = std::make_unique_for_overwrite<std::byte[]>(b.size());
                    big_cap = static_cast<std::uint32_t>(b.size());
                }
                std::memcpy(big.get(), b.data(), b.size());
            } else if (!b.empty()) {
                std::memcpy(small.data(), b.data(), b.size());
            }
            reply_len = static_cast<std::uint32_t>(b.size());
        }
        void clear_reply() noexcept {
            reply_len = 0;
            big.reset(); // large replies are rare: do not keep their memory in idle slots
            big_cap = 0;
        }
    };
    static_assert(sizeof(Entry) <= 128);

    DedupTable() = default;

    /// Entries in the index (live, expired or not); killed slots are not counted.
    [[nodiscard]] std::size_t size() const noexcept { return live_; }
    /// Slots in the ring (live + killed, not yet popped).
    [[nodiscard]] std::size_t ring_size() const noexcept {
        return static_cast<std::size_t>(tail_ - head_);
    }
    [[nodiscard]] bool ring_empty() const noexcept { return tail_ == head_; }
    [[nodiscard]] std::size_t ring_capacity() const noexcept { return ring_.size(); }

    /// The live entry with this key, or nullptr.
    Entry* find(std::uint64_t h, const PeerAddr& peer, MessageId mid) noexcept {
        Entry* const ring = ring_.data();
        const std::uint64_t* const index = index_.data();
        if (ring == nullptr || index == nullptr) return nullptr;
        const std::uint64_t tag = tag_of(h);
        for (std::size_t i = home_of(h);; i = (i + 1) & imask_) {
            const std::uint64_t b = index[i];
            if (b == 0) return nullptr;
            if ((b & kTagMask) == tag) {
                Entry& e = ring[(b & kPosMask) - 1];
                if (e.hash == h && e.mid == mid && e.peer == peer) return &e;
            }
        }
    }

    /// Starts loading the index bucket of this hash (issued before the datagram is decoded,
    /// the cache miss overlaps the decoding).
    void prefetch(std::uint64_t h) const noexcept {
        if (!index_.empty()) __builtin_prefetch(index_.data() + home_of(h));
    }

    /// Appends a live entry (the key must not be in the index) and returns it. May grow the ring
    /// (pointers to entries are invalidated; handles are not).
    Entry& push(std::uint64_t h, const PeerAddr& peer, MessageId mid, TimePoint expires) {
        if (ring_size() == ring_.size()) grow();
        const Handle seq = ++tail_;
        const std::size_t pos = static_cast<std::size_t>(seq) & rmask_;
        Entry& e = ring_[pos];
        e.peer = peer;
        e.mid = mid;
        e.live = true;
        e.seq = seq;
        e.hash = h;
        e.expires = expires;
        e.incoming = 0;
        e.reply_len = 0;
        e.owner = nullptr;
        index_insert(h, pos);
        ++live_;
        return e;
    }

    /// Removes a live entry from the index; its slot stays in the ring, dead, until popped.
    void kill(Entry& e) noexcept {
        assert(e.live);
        index_erase(e);
        e.live = false;
        e.incoming = 0;
        e.owner = nullptr;
        e.clear_reply();
        --live_;
    }

    /// The entry with this handle if it is still in the ring and live, else nullptr.
    Entry* get(Handle seq) noexcept {
        if (seq <= head_ || seq > tail_) return nullptr;
        Entry& e = ring_[static_cast<std::size_t>(seq) & rmask_];
        return e.seq == seq && e.live ? &e : nullptr;
    }

    /// Handles of the oldest and newest slot in the ring (first > last when it is empty).
    [[nodiscard]] Handle first_handle() const noexcept { return head_ + 1; }
    [[nodiscard]] Handle last_handle() const noexcept { return tail_; }

    /// Oldest slot (live or dead); the ring must not be empty.
    Entry& front() noexcept { return ring_[static_cast<std::size_t>(head_ + 1) & rmask_]; }
    [[nodiscard]] const Entry& front() const noexcept {
        return ring_[static_cast<std::size_t>(head_ + 1) & rmask_];
    }
    /// Pops the oldest slot (removing it from the index when live). After a burst the ring
    /// shrinks again (to 1/4 once at most 1/8 full), so idle memory follows the live entries.
    void pop_front() {
        Entry& e = front();
        if (e.live) kill(e);
        e.seq = 0;
        ++head_;
        if (ring_.size() > kMinShrink && ring_size() * 8 <= ring_.size()) resize(ring_.size() / 4);
    }

private:
    static constexpr std::uint64_t kPosMask = 0xffffffffULL;
    static constexpr std::uint64_t kTagMask = ~kPosMask;
    static std::uint64_t tag_of(std::uint64_t h) noexcept { return h & kTagMask; }
    /// Home bucket from the high 32 bits (those stored in the bucket): index size <= 2^32.
    [[nodiscard]] std::size_t home_of(std::uint64_t h) const noexcept {
        return static_cast<std::size_t>(h >> 32) & imask_;
    }

    void index_insert(std::uint64_t h, std::size_t pos) noexcept {
        std::size_t i = home_of(h);
        while (index_[i] != 0)
            i = (i + 1) & imask_;
        index_[i] = tag_of(h) | (static_cast<std::uint64_t>(pos) + 1);
    }

    /// Linear probing deletion by backward shift (no index tombstones).
    void index_erase(const Entry& e) noexcept {
        const std::uint64_t want =
            tag_of(e.hash) | ((static_cast<std::uint64_t>(e.seq) & rmask_) + 1);
        std::size_t i = home_of(e.hash);
        while (index_[i] != want)
            i = (i + 1) & imask_;
        for (std::size_t j = (i + 1) & imask_;; j = (j + 1) & imask_) {
            const std::uint64_t b = index_[j];
            if (b == 0) break;
            const std::size_t home = home_of(b);
            // Move b into the hole at i unless its home lies cyclically in (i, j].
            const bool keep = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (keep) continue;
            index_[i] = b;
            i = j;
        }
        index_[i] = 0;
    }

    static constexpr std::size_t kMinShrink = 4096;

    void grow() { resize(ring_.empty() ? 16 : ring_.size() * 2); }

    /// Rebuilds ring and index at capacity `cap` (a power of two >= ring_size()).
    void resize(std::size_t cap) {
        assert(cap * 2 <= kPosMask && cap >= ring_size());
        std::vector<Entry> ring(cap);
        const std::size_t mask = cap - 1;
        for (Handle s = head_ + 1; s <= tail_; ++s) {
            Entry& from = ring_[static_cast<std::size_t>(s) & rmask_];
            ring[static_cast<std::size_t>(s) & mask] = std::move(from);
        }
        ring_ = std::move(ring);
        rmask_ = mask;
        index_.assign(cap * 2, 0);
        imask_ = cap * 2 - 1;
        for (Handle s = head_ + 1; s <= tail_; ++s) {
            const std::size_t pos = static_cast<std::size_t>(s) & rmask_;
            if (ring_[pos].live) index_insert(ring_[pos].hash, pos);
        }
    }

    std::vector<Entry> ring_;
    std::vector<std::uint64_t> index_;
    std::size_t rmask_ = 0;
    std::size_t imask_ = 0;
    Handle head_ = 0; ///< last popped sequence number
    Handle tail_ = 0; ///< last pushed sequence number
    std::size_t live_ = 0;
};

/// Recycles the nodes of a node-based map (std::unordered_map) through extract()/insert():
/// a table whose entries come and go per request then stops allocating once warmed up. At most
/// N idle nodes are kept (their stale values included), so the memory stays bounded.
template <typename Map, std::size_t N = 64>
class NodePool {
public:
    /// As Map::emplace(k, v) (no overwrite when the key exists): returns the element.
    template <typename K, typename V>
    typename Map::iterator emplace(Map& m, K&& k, V&& v) {
        if (pool_.empty()) return m.emplace(std::forward<K>(k), std::forward<V>(v)).first;
        auto node = std::move(pool_.back());
        pool_.pop_back();
        node.key() = std::forward<K>(k);
        node.mapped() = std::forward<V>(v);
        auto r = m.insert(std::move(node));
        if (!r.inserted) keep(std::move(r.node));
        return r.position;
    }
    void erase(Map& m, typename Map::iterator it) { keep(m.extract(it)); }
    /// As Map::erase(key): returns the number of elements removed.
    std::size_t erase(Map& m, const typename Map::key_type& k) {
        auto it = m.find(k);
        if (it == m.end()) return 0;
        erase(m, it);
        return 1;
    }
    [[nodiscard]] std::size_t idle() const noexcept { return pool_.size(); }

private:
    void keep(typename Map::node_type node) {
        // No reserve(N) up front: the pool grows to what the traffic needs (a client with one
        // server keeps a handful of nodes; N slots would be 1.5 KiB per pool for nothing).
        if (pool_.size() < N) pool_.push_back(std::move(node));
    }
    std::vector<typename Map::node_type> pool_;
};

} // namespace lwm2m::coap::detail
