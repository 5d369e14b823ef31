// coap::Endpoint, server role: incoming requests, Block1 reassembly and the Block2 body cache
// (RFC 7959 §2.4-§2.5), responses (RFC 7252 §5.2), Observe registrations and notifications
// (RFC 7641 §4).
#include "endpoint_impl.hpp"

namespace lwm2m::coap {

using namespace detail;

void Endpoint::Impl::handle_request(TimePoint now, const PeerAddr& from, MessageView& v) {
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
    // §5.4.1: unrecognized critical option (unknown, not acted on, bad length §5.4.3 or
    // supernumerary §5.4.5): 4.02 for a CON, a NON is dropped.
    if (opt_check_.reject) {
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
    // RFC 9175 §2.3/§2.4: an Echo this endpoint made for this address, still fresh, proves the
    // peer receives what we send. Our own Echo values are a transport matter: removed before
    // the application sees the request (an Echo it made itself stays).
    if (const OptionView* echo = v.find(option::echo)) {
        const EchoCheck ec = check_echo(now, from, echo->value);
        if (ec.ours) {
            if (ec.fresh) verify(p);
            v.remove_option(option::echo);
        }
    }
    if (p->exchanges >= cfg.max_exchanges_per_peer) {
        ++stats_.refused;
        if (v.type == Type::con) reply_direct(from, v, code::service_unavailable, d);
        return;
    }
    // Replies cached for deduplication (kept EXCHANGE_LIFETIME, §4.5) count in
    // max_buffered_bytes: room for one more reply of max_message_size is made by evicting the
    // oldest caches of unverified peers; only when that is not enough (the rest belongs to
    // verified peers), or this peer is over its own share, is the request refused (5.03, NON
    // dropped).
    if (!share_ok(p, cfg.max_message_size) || !make_room(cfg.max_message_size)) {
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
                    !share_ok(p, v.payload.size()) || !make_room(v.payload.size())) {
                    ++stats_.refused;
                    reply_direct(from, v, code::service_unavailable, d);
                    return;
                }
                bit = new_block(now, pk);
            } else {
                auto& bs = blocks_.find(bit->second)->second;
                release(bs.owner, bs.body.size());
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
        const std::uint64_t block_id = bit->second;
        auto blk = blocks_.find(block_id);
        {
            // Room for this block; the transfer itself is not evictable meanwhile.
            BlockState& pinned = blk->second;
            lru_unlink(pinned);
            const bool room = pinned.body.size() + v.payload.size() <= limit &&
                              share_ok(pinned.owner, v.payload.size()) &&
                              make_room(v.payload.size() + cfg.max_message_size);
            blk = blocks_.find(block_id);
            if (!room) {
                reply_direct(from, v, code::request_entity_too_large, d, limit);
                erase_block(blk);
                return;
            }
        }
        BlockState& bs = blk->second;
        lru_link(bs, block_id);
        bs.body.insert(bs.body.end(), v.payload.begin(), v.payload.end());
        hold(bs.owner, v.payload.size());
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
        release(bs.owner, body.size());
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
    in.safe = is_observe_method(v.code); // GET, FETCH: safe and idempotent (§5.1, RFC 8132)
    in.request_size = static_cast<std::uint32_t>(std::min<std::size_t>(rx_size_, UINT32_MAX));
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
    incoming_nodes_.emplace(incoming_, id, in);

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

std::unordered_map<PeerKey, std::uint64_t, PeerKeyHash>::iterator
Endpoint::Impl::new_block(TimePoint now, const PeerKey& pk) {
    const std::uint64_t id = next_id_++;
    BlockState bs;
    bs.key = pk;
    bs.expires = now + block_lifetime;
    bs.gen = new_gen();
    push_timer(bs.expires, bs.gen, TimerKind::block, pk.peer, id);
    bs.owner = ref_peer(pk.peer);
    if (bs.owner != nullptr) ++bs.owner->blocks;
    auto& stored = blocks_.emplace(id, std::move(bs)).first->second;
    lru_link(stored, id);
    return block_index_.insert_or_assign(pk, id).first;
}

void Endpoint::Impl::erase_block(std::unordered_map<std::uint64_t, BlockState>::iterator it) {
    if (it == blocks_.end()) return;
    const PeerAddr peer = it->second.key.peer;
    auto ix = block_index_.find(it->second.key);
    if (ix != block_index_.end() && ix->second == it->first) block_index_.erase(ix);
    Peer* p = it->second.owner; // held by this block's reference
    release(p, it->second.body.size());
    lru_unlink(it->second);
    blocks_.erase(it);
    if (p == nullptr) {
        unref_peer(peer);
        return;
    }
    if (p->blocks > 0) --p->blocks;
    unref_peer(peer, *p);
}

Message Endpoint::Impl::make_slice(const Message& head, BytesView body, std::uint32_t num,
                                   std::uint8_t s) {
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

void Endpoint::Impl::serve_block2(TimePoint now, const PeerAddr& from, const MessageView& v,
                                  BlockOption b2,
                                  std::unordered_map<std::uint64_t, BlockState>::iterator blk,
                                  DedupEntry* d) {
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
    lru_link(bs, blk->first); // most recently used
}

void Endpoint::Impl::ack_incoming(TimePoint now, IncomingEx& in) {
    if (!in.con || in.acked) return;
    (void)now;
    in.acked = true;
    Bytes b = empty_message(Type::ack, in.mid);
    set_dedup_reply(live_dedup(in), b);
    send(in.peer, std::move(b));
}

void Endpoint::Impl::drop_incoming(std::unordered_map<std::uint64_t, IncomingEx>::iterator it,
                                   bool unlink_dedup) {
    const PeerAddr peer = it->second.peer;
    Peer* p = it->second.state; // held by this request's reference: still in peers_
    if (unlink_dedup) {
        if (DedupEntry* d = live_dedup(it->second); d && d->incoming == it->first) d->incoming = 0;
    }
    incoming_nodes_.erase(incoming_, it);
    if (p == nullptr) p = find_peer(peer);
    if (p == nullptr) return;
    if (p->exchanges > 0) --p->exchanges;
    unref_peer(peer, *p);
}

Result<Message> Endpoint::Impl::shape_body(TimePoint now, const PeerAddr& peer, std::uint64_t key,
                                           Message m, const std::optional<BlockOption>& requested) {
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
        // RFC 7959 §2.4: an ETag lets the client check the blocks belong together. It is a
        // keyed hash of the representation (RFC 7252 §5.10.6), not a random value: when the
        // body cache is gone (expired, or evicted under pressure) and the application serves
        // the same body again for a later block, the blocks still match; a changed body gets
        // another tag.
        const std::uint32_t tag = body_tag(m.payload, m.uint_option(option::content_format));
        const std::array<std::byte, 4> e{std::byte(tag >> 24), std::byte((tag >> 16) & 0xffU),
                                         std::byte((tag >> 8) & 0xffU), std::byte(tag & 0xffU)};
        m.add_option(option::etag, BytesView(e));
    }
    Message head = m;
    head.payload.clear();
    head.remove_option(option::block2);
    Message first = make_slice(head, m.payload, num, s);
    // Keep the body for the later blocks (bounded by block_lifetime, the byte budget and the
    // peer's share; an unverified peer's cache is evictable).
    PeerKey pk{peer, key, false};
    auto ix = block_index_.find(pk);
    const std::uint64_t existing = ix == block_index_.end() ? 0 : ix->second;
    Peer* p = find_peer(peer);
    if (existing == 0 && p != nullptr && p->blocks >= cfg.max_block_transfers_per_peer) {
        // Simplest bounded policy: no cache; the peer gets the later blocks regenerated by
        // the application (Block2 passes through).
        return first;
    }
    std::size_t old = 0;
    if (existing != 0) { // replaced below: not evictable meanwhile
        BlockState& cur = blocks_.find(existing)->second;
        lru_unlink(cur);
        old = cur.body.size();
    }
    // Room for the body and the reply that carries its first block (cached for §4.5).
    const std::size_t need = m.payload.size() > old ? m.payload.size() - old : 0;
    if (!share_ok(p, need) || !make_room(need + cfg.max_message_size)) {
        if (existing != 0) lru_link(blocks_.find(existing)->second, existing);
        ++stats_.refused;
        return fail(Errc::peer_limit);
    }
    ix = existing != 0 ? block_index_.find(pk) : new_block(now, pk);
    auto blk = blocks_.find(ix->second);
    BlockState& cache = blk->second;
    release(cache.owner, cache.body.size());
    cache.body = std::move(m.payload);
    hold(cache.owner, cache.body.size());
    cache.head = std::move(head);
    cache.szx = s;
    lru_link(cache, blk->first);
    return first;
}

Result<void> Endpoint::Impl::send_response(TimePoint now, IncomingId id, Message resp) {
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
    if (!resp.options_valid()) return fail(lwm2m::Errc::invalid_argument); // RFC 7252 §5.4.3
    if (!fits_datagram(resp)) return fail(Errc::message_too_large);
    IncomingEx& in = it->second;
    std::optional<BlockOption> req_b2 =
        in.has_block2 ? std::optional<BlockOption>(in.block2) : std::nullopt;
    // RFC 9175 §2.4 item 3, RFC 7252 §11.3: to a peer that has not proved its address, nothing
    // larger than amplification_factor times its request, and no body cached for it.
    bool challenge = false;
    if (unverified(in.state)) {
        const std::size_t limit = std::size_t{cfg.amplification_factor} * in.request_size;
        std::uint8_t s = szx;
        if (req_b2) s = std::min(s, req_b2->szx);
        const std::size_t body = resp.payload.size();
        // Headers as sent: the request's token, the Block1 echo and Observe value the
        // endpoint adds (a block-wise body is decided on `caches` alone).
        std::size_t head = encoded_size(resp) - (body == 0 ? 0 : 1 + body) + in.token.size() +
                           (in.has_block1 ? 4 : 0) + (in.observe_register ? 4 : 0);
        const std::size_t offset = req_b2 ? req_b2->offset() : 0;
        const std::size_t bs = std::size_t{1} << (s + 4U);
        const bool caches = body > bs || offset > 0;
        const std::size_t first = head + (body == 0 ? 0 : 1 + std::min(body, bs));
        if (caches || first > limit) {
            if (in.safe) {
                // GET/FETCH: ask for the address first (4.01 + Echo); repeating is harmless.
                Message e;
                e.code = code::unauthorized;
                e.add_option(option::echo, BytesView(make_echo(now, in.peer)));
                resp = std::move(e);
                req_b2.reset();
                challenge = true;
                ++stats_.echo_challenges;
                debug("4.01 Echo: response over the amplification limit", in.peer);
            } else {
                // Executed already: never ask for it again. Blocks small enough for the limit,
                // with an Echo the client returns in its next request (RFC 9175 §2.3).
                const Bytes e = make_echo(now, in.peer);
                resp.remove_option(option::echo);
                resp.add_option(option::echo, BytesView(e));
                head += 2 + e.size() + 14; // Echo; Block2, Size2, ETag (4 + 5 + 5)
                std::uint8_t small = s;
                while (small > 0 && head + 1 + (std::size_t{16} << small) > limit)
                    --small;
                req_b2 =
                    BlockOption{static_cast<std::uint32_t>(offset >> (small + 4U)), false, small};
            }
        }
    }
    if (resp.payload.size() > cfg.block_size &&
        (!share_ok(in.state, resp.payload.size()) ||
         !make_room(resp.payload.size() + cfg.max_message_size))) {
        ++stats_.refused;
        return fail(Errc::peer_limit);
    }
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
                oit = observations_.emplace(in.observation, o).first;
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
        // RFC 9175 §2.4 item 3: an Echo challenge is never a separate CON.
        if (in.con && cfg.separate_response_confirmable && !challenge) {
            m.type = Type::con; // §5.2.2 separate
            Bytes b = encode(m);
            if (obs_id != 0) {
                auto& o = observations_.find(obs_id)->second;
                o.con_pending = true;
                o.con_mid = m.message_id;
                start_tx(now, in.peer, m.message_id, std::move(b), TxOwner::notification, obs_id);
            } else {
                start_tx(now, in.peer, m.message_id, std::move(b), TxOwner::separate_response, 0);
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

Result<void> Endpoint::Impl::accept_separately(TimePoint now, IncomingId id) {
    now_ = std::max(now_, now);
    auto it = incoming_.find(id.value);
    if (it == incoming_.end()) return fail(lwm2m::Errc::not_found);
    ack_incoming(now, it->second);
    return ok();
}

void Endpoint::Impl::end_observation(std::unordered_map<std::uint64_t, Observation>::iterator it,
                                     ObservationEndReason reason) {
    if (it == observations_.end()) return;
    const std::uint64_t id = it->first;
    Observation o = it->second;
    observations_.erase(it);
    auto ix = obs_index_.find(PeerToken{o.peer, o.token});
    if (ix != obs_index_.end() && ix->second == id) obs_index_.erase(ix);
    if (o.has_non_mid) non_notifs_.erase(PeerMid{o.peer, o.non_mid});
    if (o.con_pending) erase_tx(o.peer, o.con_mid);
    if (Peer* p = find_peer(o.peer); p && p->observations > 0) --p->observations;
    unref_peer(o.peer);
    events_.emplace_back(ObservationEnded{ObservationId{id}, o.peer, reason});
}

Result<void> Endpoint::Impl::send_notification(TimePoint now, ObservationId id, Message n,
                                               bool confirmable) {
    now_ = std::max(now_, now);
    auto it = observations_.find(id.value);
    if (it == observations_.end()) return fail(lwm2m::Errc::not_found);
    if (!n.code.is_response()) return fail(lwm2m::Errc::invalid_argument);
    if (!n.options_valid()) return fail(lwm2m::Errc::invalid_argument); // RFC 7252 §5.4.3
    if (!fits_datagram(n)) return fail(Errc::message_too_large);
    Observation& o = it->second;
    // An observer that has not proved its address gets CON notifications: unanswered, they
    // end the observation (RFC 7641 §4.5) instead of streaming to a spoofed address.
    if (unverified(find_peer(o.peer))) confirmable = true;
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

std::optional<std::uint32_t> Endpoint::Impl::observation_seq(ObservationId id) const {
    auto it = observations_.find(id.value);
    if (it == observations_.end()) return std::nullopt;
    return it->second.seq;
}

Result<ObservationId> Endpoint::Impl::restore_observation(TimePoint now, const PeerAddr& peer,
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
    observations_.emplace(id, o);
    obs_index_.insert_or_assign(PeerToken{peer, token}, id);
    ++p->observations;
    return ObservationId{id};
}

Result<void> Endpoint::Impl::cancel_observation(TimePoint now, ObservationId id) {
    now_ = std::max(now_, now);
    auto it = observations_.find(id.value);
    if (it == observations_.end()) return fail(lwm2m::Errc::not_found);
    end_observation(it, ObservationEndReason::cancelled);
    return ok();
}

} // namespace lwm2m::coap
