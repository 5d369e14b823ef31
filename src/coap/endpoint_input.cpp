// coap::Endpoint, input: on_datagram() decodes and dispatches ACK, RST, requests and responses
// (RFC 7252 §3, §4.2, §4.3).
#include "endpoint_impl.hpp"

namespace lwm2m::coap {

using namespace detail;

void Endpoint::Impl::on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes) {
    now_ = std::max(now_, now);
    ++stats_.datagrams_received;
    if (bytes.size() >= 4) { // a CON/NON will look up (peer, MID): start the cache miss now
        dedup_.prefetch(
            dedup_hash(from, static_cast<MessageId>((std::to_integer<unsigned>(bytes[2]) << 8) |
                                                    std::to_integer<unsigned>(bytes[3]))));
    }
    MessageView& v = view_;
    rx_size_ = bytes.size();
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
    // RFC 7252 §5.4.1/§5.4.3/§5.4.5: bad elective options are dropped from the view here (the
    // handlers and the application never see them); a bad critical one is remembered for the
    // handler, which rejects the message in its role's way.
    opt_check_ = v.check_options();
    stats_.options_ignored += opt_check_.ignored;
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

void Endpoint::Impl::on_oversized(TimePoint now, const PeerAddr& from, BytesView head,
                                  std::size_t size) {
    now_ = std::max(now_, now);
    ++stats_.datagrams_received;
    ++stats_.oversized;
    // RFC 7252 §3: version 1, a readable header and token; else nothing can be answered.
    if (head.size() < 4 || (std::to_integer<unsigned>(head[0]) >> 6) != 1) return;
    const unsigned tkl = std::to_integer<unsigned>(head[0]) & 0x0fU;
    if (tkl > 8 || head.size() < 4 + tkl) return;
    const auto type = static_cast<Type>((std::to_integer<unsigned>(head[0]) >> 4) & 3U);
    const Code c(std::to_integer<std::uint8_t>(head[1]));
    const auto mid = static_cast<MessageId>((std::to_integer<unsigned>(head[2]) << 8) |
                                            std::to_integer<unsigned>(head[3]));
    if (type != Type::con) return; // NON, ACK, RST: dropped (counted above)
    if (!c.is_request()) {
        send_empty(from, Type::rst, mid); // §4.2: a CON we cannot process is rejected
        return;
    }
    if (log.enabled(LogLevel::debug))
        debug("request of " + std::to_string(size) + " bytes over the receive buffer", from);
    // RFC 7252 §5.9.2.9 / RFC 7959 §2.9.3: 4.13 with Size1 (the largest body accepted) and, as
    // in §2.3, Block1 with the block size to retry with. Stateless: a retransmission of the
    // same datagram gets the same answer.
    Message m;
    m.type = Type::ack;
    m.code = code::request_entity_too_large;
    m.message_id = mid;
    m.token = Token(head.subspan(4, tkl));
    m.set_uint_option(option::block1, encode_block(BlockOption{0, false, szx}));
    m.set_uint_option(option::size1, cfg.max_body_size);
    send(from, encode(m));
}

void Endpoint::Impl::on_ack(TimePoint now, const PeerAddr& from, const MessageView& v) {
    auto txit = txs_.find(PeerMid{from, v.message_id});
    if (txit == txs_.end()) {
        ++stats_.unmatched; // late or duplicate ACK
        return;
    }
    const TxOwner owner = txit->second.owner;
    const std::uint64_t oid = txit->second.owner_id;
    verify(txit->second.state); // it received our CON (RFC 9175 §2.4: the address is real)
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
            const Token& expected = (ex.b2_active && ex.observe) ? ex.fetch_token : ex.req.token;
            if (!(v.token == expected)) {
                ++stats_.unmatched;
                return;
            }
            if (opt_check_.reject) { // §5.4.1: reject the response
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

void Endpoint::Impl::on_rst(TimePoint now, const PeerAddr& from, const MessageView& v) {
    if (!v.code.is_empty()) { // §4.2: a Reset is an empty message (0.00); ignore others
        ++stats_.malformed_dropped;
        return;
    }
    ++stats_.resets_received;
    auto txit = txs_.find(PeerMid{from, v.message_id});
    if (txit != txs_.end()) {
        const TxOwner owner = txit->second.owner;
        const std::uint64_t oid = txit->second.owner_id;
        verify(txit->second.state); // a RST to our CON proves it too
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

void Endpoint::Impl::on_response(TimePoint now, const PeerAddr& from, const MessageView& v) {
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
    // It carries our (random) token: it received our request at this address.
    verify(p != nullptr ? p : find_peer(from));
    if (opt_check_.reject) {
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

} // namespace lwm2m::coap
