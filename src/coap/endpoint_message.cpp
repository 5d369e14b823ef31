// coap::Endpoint, message layer (RFC 7252 §4): peers and their MIDs (§4.4), CON
// retransmission state (§4.2), deduplication with cached replies (§4.5), stateless replies.
#include "endpoint_impl.hpp"

namespace lwm2m::coap {

using namespace detail;

bool Endpoint::Impl::fits_datagram(const Message& m) const {
    const std::size_t body = m.payload.size();
    const std::size_t head = encoded_size(m) - (body == 0 ? 0 : 1 + body);
    for (const auto& o : m.options())
        if (o.value.size() > 65804) return false;
    // Room for what the endpoint may add: Block1 echo, Block2, Size2, ETag, Observe
    // (4 + 4 + 5 + 5 + 4 bytes at most).
    return head + 24 + std::min(body, cfg.block_size) + 1 <= cfg.max_message_size;
}

void Endpoint::Impl::schedule_reclaim(const PeerAddr& addr, Peer& p) {
    if (p.reclaim_pending) return;
    p.reclaim_pending = true;
    p.gen = new_gen();
    push_timer(p.mid_expires, p.gen, TimerKind::peer, addr, 0);
}

void Endpoint::Impl::push_timer(TimePoint at, std::uint64_t gen, TimerKind k, const PeerAddr& peer,
                                std::uint64_t id, MessageId mid) {
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

void Endpoint::Impl::start_tx(TimePoint now, const PeerAddr& to, MessageId mid, Bytes bytes,
                              TxOwner owner, std::uint64_t owner_id) {
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

void Endpoint::Impl::install_tx(const PeerAddr& to, MessageId mid, Tx tx) {
    push_timer(tx.next, tx.gen, TimerKind::tx, to, 0, mid);
    auto it = txs_.find(PeerMid{to, mid});
    if (it != txs_.end()) {
        release(it->second.state, it->second.bytes.size());
        tx.state = it->second.state;
        hold(tx.state, tx.bytes.size());
        it->second = std::move(tx);
        return;
    }
    tx.state = ref_peer(to); // nullptr only when max_peers is reached (global budget only)
    hold(tx.state, tx.bytes.size());
    tx_nodes_.emplace(txs_, PeerMid{to, mid}, std::move(tx));
}

void Endpoint::Impl::erase_tx(const PeerAddr& peer, MessageId mid) {
    auto it = txs_.find(PeerMid{peer, mid});
    if (it == txs_.end()) return;
    Peer* p = it->second.state;
    release(p, it->second.bytes.size());
    tx_nodes_.erase(txs_, it);
    if (p != nullptr)
        unref_peer(peer, *p);
    else
        unref_peer(peer);
}

void Endpoint::Impl::expire_dedup(TimePoint now) {
    while (!dedup_.ring_empty() && dedup_.front().expires <= now) {
        DedupEntry& e = dedup_.front();
        if (!e.live) { // recycled by claim_dedup: its successor is further back
            dedup_.pop_front();
            continue;
        }
        const PeerAddr peer = e.peer;
        Peer* p = e.owner; // the entry holds a reference: still in peers_
        release(p, e.reply_size());
        dedup_.pop_front();
        if (p != nullptr) {
            --p->dedup;
            unref_peer(peer, *p);
        } else {
            unref_peer(peer);
        }
    }
}

void Endpoint::Impl::reply_direct(const PeerAddr& to, const MessageView& req, Code c,
                                  DedupEntry* cache, std::optional<std::uint64_t> size1,
                                  std::optional<BlockOption> block1) {
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

DedupEntry* Endpoint::Impl::claim_dedup(TimePoint now, const PeerAddr& from, MessageId mid,
                                        bool& dup, Peer*& peer) {
    const std::uint64_t h = dedup_hash(from, mid);
    if (DedupEntry* e = dedup_.find(h, from, mid)) {
        if (e->expires > now) {
            dup = true;
            return e;
        }
        // Expired, not yet collected: recycle (the peer's count and reference carry over to
        // the new slot; the old slot is popped, dead, by expire_dedup/next_deadline).
        peer = e->owner != nullptr ? e->owner : find_peer(from);
        release(peer, e->reply_size());
        dedup_.kill(*e);
    } else {
        // Under an entry or peer limit, the oldest entries of unverified peers make room (a
        // flood of spoofed sources must not lock every other peer out, issue #7).
        for (int i = 0; i < 4; ++i) {
            const bool full = dedup_.size() >= cfg.max_dedup_entries ||
                              (peers_.size() >= cfg.max_peers && find_peer(from) == nullptr);
            if (!full || !evict_oldest_entry()) break;
        }
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

// --- pressure relief (issue #7): unverified peers' caches go first ---------------------------

void Endpoint::Impl::lru_link(BlockState& bs, std::uint64_t id) {
    if (bs.in_lru) {
        block_lru_.splice(block_lru_.end(), block_lru_, bs.lru); // most recently used last
        return;
    }
    if (bs.owner == nullptr || bs.owner->verified) return;
    bs.lru = block_lru_.insert(block_lru_.end(), id);
    bs.in_lru = true;
}

void Endpoint::Impl::lru_unlink(BlockState& bs) {
    if (!bs.in_lru) return;
    block_lru_.erase(bs.lru);
    bs.in_lru = false;
}

bool Endpoint::Impl::evict_one() {
    // 1. The least recently used Block1 reassembly / Block2 body of an unverified peer: the
    //    biggest caches, and a Block2 request whose body is gone is served again by the
    //    application (documented in endpoint.hpp).
    while (!block_lru_.empty()) {
        auto it = blocks_.find(block_lru_.front());
        if (it == blocks_.end()) { // not reached: erase_block unlinks
            block_lru_.pop_front();
            continue;
        }
        BlockState& bs = it->second;
        if (bs.owner != nullptr && bs.owner->verified) { // verified since: not evictable
            lru_unlink(bs);
            continue;
        }
        ++stats_.evicted;
        stats_.evicted_bytes += bs.body.size();
        erase_block(it);
        return true;
    }
    // 2. The oldest cached reply of an unverified peer; its (peer, MID) entry stays, so a
    //    duplicate is still never delivered twice (it just gets no replay, §4.5).
    if (evict_cursor_ < dedup_.first_handle()) evict_cursor_ = dedup_.first_handle();
    for (; evict_cursor_ <= dedup_.last_handle(); ++evict_cursor_) {
        DedupEntry* e = dedup_.get(evict_cursor_);
        if (e == nullptr || !e->has_reply() || e->owner == nullptr || e->owner->verified) continue;
        ++stats_.evicted;
        stats_.evicted_bytes += e->reply_size();
        release(e->owner, e->reply_size());
        e->clear_reply();
        ++evict_cursor_;
        return true;
    }
    return false;
}

bool Endpoint::Impl::make_room(std::size_t extra) {
    if (extra > cfg.max_buffered_bytes) return false; // never fits: evict nothing for it
    while (over_budget(extra))
        if (!evict_one()) return false;
    return true;
}

bool Endpoint::Impl::evict_oldest_entry() {
    while (!dedup_.ring_empty() && !dedup_.front().live)
        dedup_.pop_front();
    if (dedup_.ring_empty()) return false;
    DedupEntry& e = dedup_.front();
    Peer* p = e.owner;
    if (p == nullptr || p->verified || e.incoming != 0) return false;
    const PeerAddr peer = e.peer;
    ++stats_.evicted;
    stats_.evicted_bytes += e.reply_size();
    release(p, e.reply_size());
    dedup_.pop_front();
    --p->dedup;
    unref_peer(peer, *p);
    // An idle unverified peer goes now, not EXCHANGE_LIFETIME after our last MID to it: under
    // this pressure a (random-start) MID reuse toward a spoofed address is the lesser evil.
    if (auto it = peers_.find(peer); it != peers_.end() && it->second.refs == 0 &&
                                     it->second.queue.empty() && !it->second.verified)
        peers_.erase(it);
    return true;
}

} // namespace lwm2m::coap
