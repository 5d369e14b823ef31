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

void Endpoint::Impl::erase_tx(const PeerAddr& peer, MessageId mid) {
    auto it = txs_.find(PeerMid{peer, mid});
    if (it == txs_.end()) return;
    release(it->second.bytes.size());
    tx_nodes_.erase(txs_, it);
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

} // namespace lwm2m::coap
