// coap::Endpoint, client role: requests with NSTART (RFC 7252 §4.7), Block1 upload and Block2
// download (RFC 7959 §2.4-§2.6), Observe notifications (RFC 7641 §3).
#include "endpoint_impl.hpp"

namespace lwm2m::coap {

using namespace detail;

Token Endpoint::Impl::new_token(const PeerAddr& peer) {
    for (;;) {
        std::array<std::byte, 8> b{};
        rng.fill(std::span<std::byte>(b.data(), cfg.token_length));
        Token t(BytesView(b.data(), cfg.token_length));
        if (!tokens_.contains(PeerToken{peer, t})) return t;
    }
}

Result<RequestId> Endpoint::Impl::send_request(TimePoint now, const PeerAddr& to, Message req) {
    now_ = std::max(now_, now);
    if ((req.type != Type::con && req.type != Type::non) || !req.code.is_request() ||
        !req.options_valid()) // RFC 7252 §5.4.3, §5.4.5: never send what the peer must reject
        return fail(lwm2m::Errc::invalid_argument);
    if (req.payload.size() > cfg.max_body_size) return fail(Errc::entity_too_large);
    if (!make_room(req.payload.size())) {
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

void Endpoint::Impl::start_client(TimePoint now, std::uint64_t id, ClientEx& ex) {
    ex.queued = false;
    if (Peer* p = find_peer(ex.peer)) { // always present: the exchange holds a reference
        ex.holds_slot = true;
        ex.counted = true;
        ++p->slots;
        ++p->exchanges;
    }
    transmit_client(now, id, ex);
}

void Endpoint::Impl::transmit_client(TimePoint now, std::uint64_t id, ClientEx& ex) {
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

void Endpoint::Impl::release_slot(TimePoint now, ClientEx& ex) {
    if (!ex.holds_slot) return;
    ex.holds_slot = false;
    Peer* p = find_peer(ex.peer);
    if (p != nullptr && p->slots > 0) --p->slots;
    pump_queue(now, ex.peer);
}

void Endpoint::Impl::pump_queue(TimePoint now, const PeerAddr& peer) {
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

void Endpoint::Impl::finish_client(TimePoint now,
                                   std::unordered_map<std::uint64_t, ClientEx>::iterator it) {
    const std::uint64_t id = it->first;
    ClientEx ex = std::move(it->second);
    client_nodes_.erase(clients_, it);
    token_nodes_.erase(tokens_, PeerToken{ex.peer, ex.req.token});
    if (!ex.fetch_token.empty()) token_nodes_.erase(tokens_, PeerToken{ex.peer, ex.fetch_token});
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

void Endpoint::Impl::fail_client(TimePoint now,
                                 std::unordered_map<std::uint64_t, ClientEx>::iterator it,
                                 Error e) {
    const RequestId id{it->first};
    const PeerAddr peer = it->second.peer;
    finish_client(now, it);
    events_.emplace_back(RequestFailed{id, peer, e});
}

void Endpoint::Impl::fail_client(TimePoint now,
                                 std::unordered_map<std::uint64_t, ClientEx>::iterator it, Errc e) {
    fail_client(now, it, make_error_code(e));
}

Result<void> Endpoint::Impl::cancel_request(TimePoint now, RequestId id) {
    now_ = std::max(now_, now);
    auto it = clients_.find(id.value);
    if (it == clients_.end()) return fail(lwm2m::Errc::not_found);
    fail_client(now, it, Errc::cancelled);
    return ok();
}

void Endpoint::Impl::handle_client_response(TimePoint now, std::uint64_t id, const MessageView& v,
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
    const OptionView* echo = v.find(option::echo);
    if (echo != nullptr && v.code == code::unauthorized && !ex.echo_retried) {
        // RFC 9175 §2.3 / §2.4 item 3: the server wants our address verified; repeat the
        // request (from its first block) once, with the Echo value.
        ex.echo_retried = true;
        ++stats_.echo_retries;
        ex.req.remove_option(option::echo);
        ex.req.add_option(option::echo, echo->value);
        ex.b1_num = 0;
        if (ex.b2_active) {
            release(ex.b2_body.size());
            ex.b2_body.clear();
            ex.b2_active = false;
        }
        if (!ex.holds_slot && !ex.observing) { // the empty ACK released it: take it again
            if (Peer* p = find_peer(ex.peer)) {
                ++p->slots;
                ex.holds_slot = true;
            }
        }
        transmit_client(now, id, ex);
        return;
    }
    if (echo != nullptr) {
        // §2.3: any other response with an Echo: the next requests of this exchange (later
        // blocks) return it.
        ex.req.remove_option(option::echo);
        ex.req.add_option(option::echo, echo->value);
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

void Endpoint::Impl::abandon_fetch(ClientEx& ex) {
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

bool Endpoint::Impl::append_block2(TimePoint now,
                                   std::unordered_map<std::uint64_t, ClientEx>::iterator it,
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
    if (ex.b2_body.size() + v.payload.size() > cfg.max_body_size || !make_room(v.payload.size())) {
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

void Endpoint::Impl::complete_block2(TimePoint now,
                                     std::unordered_map<std::uint64_t, ClientEx>::iterator it) {
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

void Endpoint::Impl::deliver_final(TimePoint now,
                                   std::unordered_map<std::uint64_t, ClientEx>::iterator it,
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

void Endpoint::Impl::handle_notification(TimePoint now,
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
    events_.emplace_back(Notification{RequestId{it->first}, ex.peer, Message::from_view(v), seq});
}

void Endpoint::Impl::handle_fetch_response(TimePoint now, std::uint64_t id, const MessageView& v) {
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

} // namespace lwm2m::coap
