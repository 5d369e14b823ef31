// coap::Endpoint, timers: the lazy-deletion heap, the fixed-delay FIFOs, next_deadline() and
// on_timeout() (RFC 7252 §4.2 retransmission, §4.8.2 lifetimes).
#include "endpoint_impl.hpp"

namespace lwm2m::coap {

using namespace detail;

bool Endpoint::Impl::timer_valid(const Timer& t) const {
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

std::optional<TimePoint> Endpoint::Impl::next_deadline() const {
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

void Endpoint::Impl::on_timeout(TimePoint now) {
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
            auto it = blocks_.find(t.id); // present: timer_valid()
            if (it != blocks_.end() && it->second.expires <= now) erase_block(it);
            break;
        }
        case TimerKind::peer: {
            auto it = peers_.find(t.peer); // present: timer_valid()
            if (it == peers_.end()) break;
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

void Endpoint::Impl::on_tx_timer(TimePoint now, const Timer& t) {
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
        if (oit != observations_.end() && oit->second.con_pending && oit->second.con_mid == t.mid) {
            oit->second.con_pending = false;
            end_observation(oit, ObservationEndReason::timeout); // RFC 7641 §4.5
        }
        break;
    }
    }
}

void Endpoint::Impl::on_client_timer(TimePoint now, const Timer& t) {
    auto it = clients_.find(t.id);
    ++stats_.timeouts;
    fail_client(now, it, Errc::timeout);
}

} // namespace lwm2m::coap
