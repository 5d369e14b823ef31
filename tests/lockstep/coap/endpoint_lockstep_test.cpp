// Lockstep tests of coap::Endpoint: one endpoint against a scripted peer (or two endpoints
// pumped by hand), time moved to next_deadline(). RFC 7252, RFC 7959, RFC 7641.
#include <gtest/gtest.h>

#include <functional>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "support/capture_logger.hpp"
#include "support/coap_script.hpp"

using namespace lwm2m;
using namespace lwm2m::coap;
using namespace std::chrono_literals;
using lwm2m::test::ack;
using lwm2m::test::con;
using lwm2m::test::det_config;
using lwm2m::test::kPeerA;
using lwm2m::test::kPeerB;
using lwm2m::test::Lockstep;
using lwm2m::test::non;
using lwm2m::test::obs_value;
using lwm2m::test::rst;

namespace {

/// Moves datagrams between two lockstep endpoints (a at kPeerA, b at kPeerB) until both are
/// quiet. `drop(from_a, msg, index)` returns true to lose a datagram.
struct Pair {
    Lockstep a;
    Lockstep b;
    std::function<bool(bool, const Message&)> drop = [](bool, const Message&) { return false; };
    std::function<void(Lockstep&)> server_app;
    std::size_t dropped = 0;

    Pair(Config ca, Config cb)
        : a(ca, 11)
        , b(cb, 22) {}

    void pump() {
        for (int guard = 0; guard < 10000; ++guard) {
            bool moved = false;
            while (auto d = a.ep.poll_transmit()) {
                moved = true;
                auto m = test::parse(d->bytes);
                ASSERT_TRUE(m);
                if (drop(true, *m)) {
                    ++dropped;
                    continue;
                }
                b.now = a.now;
                b.ep.on_datagram(b.now, kPeerA, d->bytes);
            }
            if (server_app) server_app(b);
            while (auto d = b.ep.poll_transmit()) {
                moved = true;
                auto m = test::parse(d->bytes);
                ASSERT_TRUE(m);
                if (drop(false, *m)) {
                    ++dropped;
                    continue;
                }
                a.now = b.now;
                a.ep.on_datagram(a.now, kPeerB, d->bytes);
            }
            if (!moved) return;
        }
        FAIL() << "pump did not settle";
    }
    /// Advances both clocks to the earliest deadline of either endpoint and runs timers.
    bool step_time() {
        auto da = a.ep.next_deadline();
        auto db = b.ep.next_deadline();
        if (!da && !db) return false;
        TimePoint t = !da ? *db : !db ? *da : std::min(*da, *db);
        t = std::max({t, a.now, b.now});
        a.now = b.now = t;
        a.ep.on_timeout(t);
        b.ep.on_timeout(t);
        pump();
        return true;
    }
};

} // namespace

// RFC 7252 §4.8.2 derived values.
TEST(CoapEndpointLockstep, DerivedParameters) {
    Config c;
    EXPECT_EQ(c.max_transmit_span(), 45s);
    EXPECT_EQ(c.max_transmit_wait(), 93s);
    EXPECT_EQ(c.exchange_lifetime(), 247s);
    EXPECT_EQ(c.non_lifetime(), 145s);
    EXPECT_EQ(det_config().max_transmit_wait(), 62s);
}

// RFC 7252 §4.2: retransmit at 2, 4, 8, 16 s intervals, give up after the last 32 s timeout.
TEST(CoapEndpointLockstep, RetransmissionScheduleAndTimeout) {
    Lockstep t(det_config());
    const TimePoint start = t.now;
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/3/0"));
    ASSERT_TRUE(id);
    const Message first = t.expect_tx(&kPeerA);
    EXPECT_EQ(first.type, Type::con);
    EXPECT_EQ(first.token.size(), 8U);
    const Duration expected[] = {2s, 4s, 8s, 16s};
    for (Duration d : expected) {
        EXPECT_EQ(t.advance_to_deadline(), d);
        const Message re = t.expect_tx(&kPeerA);
        EXPECT_EQ(re.message_id, first.message_id); // same MID on retransmission
        EXPECT_EQ(re.token, first.token);
        t.expect_no_event();
    }
    EXPECT_EQ(t.advance_to_deadline(), 32s);
    t.expect_no_tx();
    auto f = t.expect_event<RequestFailed>();
    EXPECT_EQ(f.id, *id);
    EXPECT_EQ(f.error, make_error_code(coap::Errc::timeout));
    EXPECT_EQ(t.now - start, t.ep.config().max_transmit_wait()); // 62 s with factor 1.0
    EXPECT_EQ(t.ep.stats().retransmissions, 4U);
    EXPECT_EQ(t.ep.stats().timeouts, 1U);
}

// §4.2: the initial timeout is ACK_TIMEOUT * (1 + unit * (factor - 1)) from the injected Random.
TEST(CoapEndpointLockstep, InitialTimeoutUsesRandomFactor) {
    Lockstep t;                  // factor 1.5
    t.random().fix(0x80000000U); // unit() == 0.5 -> 2.5 s
    ASSERT_TRUE(t.ep.send_request(t.now, kPeerA, con(code::get).path("/a")));
    t.expect_tx();
    EXPECT_EQ(t.advance_to_deadline(), 2500ms);
    t.expect_tx();
    EXPECT_EQ(t.advance_to_deadline(), 5000ms);
}

TEST(CoapEndpointLockstep, PiggybackedResponse) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/3/0/0"));
    ASSERT_TRUE(id);
    const Message req = t.expect_tx();
    EXPECT_EQ(req.path(), "/3/0/0");
    // A piggybacked response with a wrong token is ignored (§5.3.2).
    t.receive(kPeerA, ack(code::content).mid(req.message_id).token("zz").payload("x"));
    t.expect_no_event();
    t.receive(
        kPeerA,
        ack(code::content).mid(req.message_id).token(req.token).payload("Open Mobile Alliance"));
    auto r = t.expect_event<Response>();
    EXPECT_EQ(r.id, *id);
    EXPECT_EQ(r.peer, kPeerA);
    EXPECT_EQ(r.response.code, code::content);
    EXPECT_EQ(as_string_view(r.response.payload), "Open Mobile Alliance");
    t.expect_no_tx();
    // No retransmission after the ACK: only expiry timers (if any) remain, and a late duplicate
    // ACK is ignored.
    t.advance(100s);
    t.expect_no_tx();
    t.receive(kPeerA, ack(code::content).mid(req.message_id).token(req.token));
    t.expect_no_event();
}

// §4.5: a duplicate CON request gets the cached response replayed, no second delivery.
TEST(CoapEndpointLockstep, DuplicateRequestReplaysCachedResponse) {
    Lockstep t(det_config());
    const Message req = con(code::get).mid(0x4242).token("ab").path("/1/0/1");
    t.receive(kPeerA, req);
    auto in = t.expect_event<IncomingRequest>();
    EXPECT_EQ(in.request.path(), "/1/0/1");
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::content).payload("300"))));
    auto first = t.ep.poll_transmit();
    ASSERT_TRUE(first);
    const Message resp = *test::parse(first->bytes);
    EXPECT_EQ(resp.type, Type::ack);
    EXPECT_EQ(resp.message_id, 0x4242);
    EXPECT_EQ(resp.token, req.token);
    t.advance(10s);
    t.receive(kPeerA, req);
    auto replay = t.ep.poll_transmit();
    ASSERT_TRUE(replay);
    EXPECT_EQ(replay->bytes, first->bytes);
    t.expect_no_event();
    EXPECT_EQ(t.ep.stats().duplicates, 1U);
    // Answering twice is refused.
    EXPECT_EQ(t.ep.send_response(t.now, in.id, Message(ack(code::content))).error(),
              make_error_code(lwm2m::Errc::not_found));
    // After EXCHANGE_LIFETIME the MID is forgotten: the same message is a new request.
    t.advance(t.ep.config().exchange_lifetime());
    t.receive(kPeerA, req);
    (void)t.expect_event<IncomingRequest>();
}

// §4.2/§5.2.2: a duplicate CON while the application is still working gets an empty ACK and the
// response goes separately as CON, which the client ACKs.
TEST(CoapEndpointLockstep, SeparateResponseFlowServer) {
    Lockstep t(det_config());
    const Message req = con(code::post).mid(7).token("t").path("/1/0/8");
    t.receive(kPeerA, req);
    auto in = t.expect_event<IncomingRequest>();
    t.expect_no_tx();
    t.receive(kPeerA, req); // duplicate before the response is ready
    Message a = t.expect_tx();
    EXPECT_EQ(a.type, Type::ack);
    EXPECT_TRUE(a.code.is_empty());
    EXPECT_EQ(a.message_id, 7);
    t.expect_no_event();
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::changed))));
    Message sep = t.expect_tx();
    EXPECT_EQ(sep.type, Type::con);
    EXPECT_EQ(sep.code, code::changed);
    EXPECT_EQ(sep.token, req.token);
    EXPECT_NE(sep.message_id, 7);
    EXPECT_EQ(t.advance_to_deadline(), 2s); // not acknowledged: retransmitted
    EXPECT_EQ(t.expect_tx().message_id, sep.message_id);
    t.receive(kPeerA, ack().mid(sep.message_id));
    t.advance(100s);
    t.expect_no_tx();
    // A third copy of the request replays the empty ACK.
    t.receive(kPeerA, req);
    EXPECT_TRUE(t.expect_tx().code.is_empty());
}

TEST(CoapEndpointLockstep, AcceptSeparatelyAndAutoAck) {
    Config c = det_config();
    c.auto_ack_delay = 1s;
    Lockstep t(c);
    t.receive(kPeerA, con(code::get).mid(1).token("a").path("/x"));
    auto in1 = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.accept_separately(t.now, in1.id));
    EXPECT_TRUE(t.expect_tx().code.is_empty());
    ASSERT_TRUE(t.ep.accept_separately(t.now, in1.id)); // idempotent
    t.expect_no_tx();
    // Not answered in time: the empty ACK goes automatically after auto_ack_delay.
    t.receive(kPeerA, con(code::get).mid(2).token("b").path("/y"));
    auto in2 = t.expect_event<IncomingRequest>();
    EXPECT_EQ(t.advance_to_deadline(), 1s);
    Message a = t.expect_tx();
    EXPECT_EQ(a.type, Type::ack);
    EXPECT_EQ(a.message_id, 2);
    ASSERT_TRUE(t.ep.send_response(t.now, in2.id, Message(ack(code::content))));
    EXPECT_EQ(t.expect_tx().type, Type::con);
    ASSERT_TRUE(t.ep.send_response(t.now, in1.id, Message(ack(code::content))));
    EXPECT_EQ(t.expect_tx().type, Type::con);
}

// Client side of §5.2.2: empty ACK, then the CON response is ACKed and delivered once.
TEST(CoapEndpointLockstep, SeparateResponseFlowClient) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/3/0"));
    ASSERT_TRUE(id);
    const Message req = t.expect_tx();
    t.receive(kPeerA, ack().mid(req.message_id));
    t.expect_no_event();
    t.advance(30s);
    t.expect_no_tx(); // ACKed: no retransmission
    const Message resp = con(code::content).mid(0x9000).token(req.token).payload("late");
    t.receive(kPeerA, resp);
    Message a = t.expect_tx();
    EXPECT_EQ(a.type, Type::ack);
    EXPECT_EQ(a.message_id, 0x9000);
    auto r = t.expect_event<Response>();
    EXPECT_EQ(r.id, *id);
    EXPECT_EQ(as_string_view(r.response.payload), "late");
    t.receive(kPeerA, resp); // duplicate: ACK replayed, not delivered again
    EXPECT_EQ(t.expect_tx().message_id, 0x9000);
    t.expect_no_event();
    // A response for an unknown token is rejected with RST (§4.2).
    t.receive(kPeerA, con(code::content).mid(0x9001).token("nope"));
    EXPECT_EQ(t.expect_tx().type, Type::rst);
}

TEST(CoapEndpointLockstep, SeparateResponseTimeout) {
    Config c = det_config();
    c.separate_response_timeout = 60s;
    Lockstep t(c);
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/3/0"));
    const Message req = t.expect_tx();
    t.receive(kPeerA, ack().mid(req.message_id));
    EXPECT_EQ(t.advance_to_deadline(), 60s);
    auto f = t.expect_event<RequestFailed>();
    EXPECT_EQ(f.id, *id);
    EXPECT_EQ(f.error, make_error_code(coap::Errc::timeout));
}

// §4.7 NSTART = 1: the second request waits; the queue is bounded.
TEST(CoapEndpointLockstep, NstartQueueing) {
    Config c = det_config();
    c.max_queued_requests = 1;
    Lockstep t(c);
    auto r1 = t.ep.send_request(t.now, kPeerA, con(code::get).path("/1"));
    auto r2 = t.ep.send_request(t.now, kPeerA, con(code::get).path("/2"));
    ASSERT_TRUE(r1);
    ASSERT_TRUE(r2);
    auto r3 = t.ep.send_request(t.now, kPeerA, con(code::get).path("/3"));
    EXPECT_EQ(r3.error(), make_error_code(coap::Errc::peer_limit));
    auto other = t.ep.send_request(t.now, kPeerB, con(code::get).path("/b")); // other peer: free
    ASSERT_TRUE(other);
    const Message m1 = t.expect_tx(&kPeerA);
    EXPECT_EQ(m1.path(), "/1");
    EXPECT_EQ(t.expect_tx(&kPeerB).path(), "/b");
    t.expect_no_tx();
    t.receive(kPeerA, ack(code::content).mid(m1.message_id).token(m1.token));
    EXPECT_EQ(t.expect_event<Response>().id, *r1);
    const Message m2 = t.expect_tx(&kPeerA);
    EXPECT_EQ(m2.path(), "/2");
    // Cancelling the in-flight one frees the slot (RequestFailed{cancelled} follows).
    auto r4 = t.ep.send_request(t.now, kPeerA, con(code::get).path("/4"));
    ASSERT_TRUE(r4);
    t.expect_no_tx();
    ASSERT_TRUE(t.ep.cancel_request(t.now, *r2));
    EXPECT_EQ(t.expect_event<RequestFailed>().error, make_error_code(coap::Errc::cancelled));
    EXPECT_EQ(t.expect_tx(&kPeerA).path(), "/4");
    EXPECT_FALSE(t.ep.cancel_request(t.now, *r2));
}

// §4.2: RST cancels the exchange.
TEST(CoapEndpointLockstep, ResetFailsRequest) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/x"));
    const Message req = t.expect_tx();
    t.receive(kPeerA, rst().mid(req.message_id));
    auto f = t.expect_event<RequestFailed>();
    EXPECT_EQ(f.id, *id);
    EXPECT_EQ(f.error, make_error_code(coap::Errc::reset));
    t.advance(100s);
    t.expect_no_tx();
}

// §4.3: an empty CON (ping) is answered with RST.
TEST(CoapEndpointLockstep, PingAnsweredWithReset) {
    Lockstep t;
    t.receive(kPeerA, con(code::empty).mid(0x55));
    Message r = t.expect_tx();
    EXPECT_EQ(r.type, Type::rst);
    EXPECT_EQ(r.message_id, 0x55);
    t.expect_no_event();
}

// NON request and NON response (§5.2.3).
TEST(CoapEndpointLockstep, NonRequestAndResponse) {
    Config c = det_config();
    c.non_response_timeout = 10s;
    Lockstep t(c);
    auto id = t.ep.send_request(t.now, kPeerA, non(code::get).path("/n"));
    const Message req = t.expect_tx();
    EXPECT_EQ(req.type, Type::non);
    t.receive(kPeerA, non(code::content).mid(3).token(req.token).payload("v"));
    t.expect_no_tx(); // NON response: nothing to ACK
    EXPECT_EQ(t.expect_event<Response>().id, *id);
    // Server side: a NON request gets a NON response.
    t.receive(kPeerB, non(code::get).mid(9).token("q").path("/s"));
    auto in = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::content))));
    Message r = t.expect_tx(&kPeerB);
    EXPECT_EQ(r.type, Type::non);
    EXPECT_EQ(r.token, in.request.token);
    // A lost NON response: the request times out after non_response_timeout.
    auto id2 = t.ep.send_request(t.now, kPeerA, non(code::get).path("/n2"));
    t.expect_tx();
    t.advance(10s);
    auto f = t.expect_event<RequestFailed>();
    EXPECT_EQ(f.id, *id2);
}

// §5.4.1 unrecognized critical options.
TEST(CoapEndpointLockstep, UnknownCriticalOption) {
    Lockstep t(det_config());
    constexpr std::uint16_t unknown_critical = 25;
    ASSERT_FALSE(option::is_known(unknown_critical));
    t.receive(kPeerA, con(code::get).mid(1).token("a").path("/x").opt(unknown_critical, "?"));
    Message r = t.expect_tx();
    EXPECT_EQ(r.type, Type::ack);
    EXPECT_EQ(r.code, code::bad_option);
    EXPECT_EQ(r.token, Token(as_bytes("a")));
    t.expect_no_event();
    // NON: silently dropped.
    t.receive(kPeerA, non(code::get).mid(2).token("b").path("/x").opt(unknown_critical, "?"));
    t.expect_no_tx();
    t.expect_no_event();
    // Unknown elective options are ignored (processed normally).
    t.receive(kPeerA, con(code::get).mid(3).token("c").path("/x").opt(2048 + 2, "e"));
    (void)t.expect_event<IncomingRequest>();
    // In a CON response: RST and the request fails.
    auto id = t.ep.send_request(t.now, kPeerB, con(code::get).path("/y"));
    const Message req = t.expect_tx(&kPeerB);
    t.receive(kPeerB, ack().mid(req.message_id));
    t.receive(kPeerB, con(code::content).mid(77).token(req.token).opt(unknown_critical, "?"));
    Message rr = t.expect_tx(&kPeerB);
    EXPECT_EQ(rr.type, Type::rst);
    EXPECT_EQ(rr.message_id, 77);
    auto f = t.expect_event<RequestFailed>();
    EXPECT_EQ(f.id, *id);
    EXPECT_EQ(t.ep.stats().bad_option, 3U);
}

TEST(CoapEndpointLockstep, MalformedDatagramsDroppedAndCounted) {
    Lockstep t;
    const Bytes garbage{std::byte{0x00}, std::byte{0x01}}; // truncated header
    t.receive_bytes(kPeerA, garbage);
    const Bytes bad_version{std::byte{0x80}, std::byte{0x01}, std::byte{0}, std::byte{1}};
    t.receive_bytes(kPeerA, bad_version);
    const Bytes non_bad_opt{std::byte{0x50}, std::byte{0x01}, std::byte{0}, std::byte{2},
                            std::byte{0xf1}};
    t.receive_bytes(kPeerA, non_bad_opt);
    t.expect_no_tx();
    // A CON with a readable header and a reserved option nibble (15): rejected with RST (§4.2).
    const Bytes con_bad_opt{std::byte{0x40}, std::byte{0x01}, std::byte{0x12}, std::byte{0x34},
                            std::byte{0xf1}};
    t.receive_bytes(kPeerA, con_bad_opt);
    Message r = t.expect_tx();
    EXPECT_EQ(r.type, Type::rst);
    EXPECT_EQ(r.message_id, 0x1234);
    t.expect_no_event();
    EXPECT_EQ(t.ep.stats().malformed_dropped, 4U);
}

TEST(CoapEndpointLockstep, LimitsRefuseNewWork) {
    Config c = det_config();
    c.max_peers = 1;
    Lockstep t(c);
    ASSERT_TRUE(t.ep.send_request(t.now, kPeerA, con(code::get).path("/a")));
    t.expect_tx();
    EXPECT_EQ(t.ep.send_request(t.now, kPeerB, con(code::get).path("/b")).error(),
              make_error_code(coap::Errc::peer_limit));
    t.receive(kPeerB, con(code::get).mid(5).token("z").path("/q"));
    Message r = t.expect_tx(&kPeerB);
    EXPECT_EQ(r.code, code::service_unavailable);
    t.expect_no_event();
    EXPECT_GE(t.ep.stats().refused, 2U);
}

TEST(CoapEndpointLockstep, IdlePeersReclaimed) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/a"));
    const Message req = t.expect_tx();
    t.receive(kPeerA, ack(code::content).mid(req.message_id).token(req.token));
    EXPECT_EQ(t.expect_event<Response>().id, *id);
    t.receive(kPeerB, con(code::get).mid(1).token("x").path("/b"));
    auto in = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::content))));
    t.drain_tx();
    EXPECT_EQ(t.ep.stats().peers, 2U);
    while (t.ep.next_deadline())
        t.advance_to_deadline();
    EXPECT_EQ(t.ep.stats().peers, 0U);
    EXPECT_EQ(t.ep.stats().buffered_bytes, 0U);
}

// RFC 7959 Block1 upload between two endpoints, the 2.31 of block 3 lost once.
TEST(CoapEndpointLockstep, Block1UploadWithLostAck) {
    Config cc = det_config();
    cc.block_size = 64;
    Config sc = det_config();
    sc.block_size = 32; // the server proposes a smaller size (§2.3)
    Pair p(cc, sc);
    const Bytes body = test::pattern_body(200);
    int acks_to_drop = 1;
    std::vector<std::uint32_t> nums;
    std::size_t size1_seen = 0;
    p.drop = [&](bool from_a, const Message& m) {
        if (from_a) {
            if (auto b = test::block1_of(m)) nums.push_back(b->num);
            if (auto s = m.uint_option(option::size1)) size1_seen = *s;
            return false;
        }
        auto b = test::block1_of(m);
        if (b && b->num == 3 && m.code == code::continue_ && acks_to_drop > 0) {
            --acks_to_drop;
            return true;
        }
        return false;
    };
    IncomingId got{};
    Bytes received;
    p.server_app = [&](Lockstep& s) {
        while (auto e = s.ep.poll_event()) {
            auto& in = std::get<IncomingRequest>(*e);
            EXPECT_FALSE(in.request.find(option::block1));
            received = in.request.payload;
            got = in.id;
            ASSERT_TRUE(s.ep.send_response(s.now, in.id, Message(ack(code::changed))));
        }
    };
    auto id = p.a.ep.send_request(p.a.now, kPeerB, con(code::put).path("/5/0/0").payload(body));
    ASSERT_TRUE(id);
    p.pump();
    for (int i = 0; i < 20 && got.value == 0; ++i)
        ASSERT_TRUE(p.step_time());
    p.pump();
    EXPECT_EQ(received, body);
    EXPECT_EQ(size1_seen, 200U);
    EXPECT_EQ(p.dropped, 1U);
    // block 0 at 64 B, then (32 B) 2, 3 (ACK lost), 3 again, 4, 5, 6.
    EXPECT_EQ(nums, (std::vector<std::uint32_t>{0, 2, 3, 3, 4, 5, 6}));
    auto r = p.a.expect_event<Response>();
    EXPECT_EQ(r.id, *id);
    EXPECT_EQ(r.response.code, code::changed);
    EXPECT_EQ(p.b.ep.stats().duplicates, 1U); // the retransmitted block 3 got the cached 2.31
}

// RFC 7959 Block2 download between two endpoints, one ACK lost; Size2 and ETag present.
TEST(CoapEndpointLockstep, Block2DownloadWithLostAck) {
    Config cc = det_config();
    cc.block_size = 1024;
    Config sc = det_config();
    sc.block_size = 128;
    Pair p(cc, sc);
    const Bytes body = test::pattern_body(1000, 7);
    int to_drop = 1;
    std::optional<std::uint64_t> size2;
    std::vector<Bytes> etags;
    p.drop = [&](bool from_a, const Message& m) {
        if (from_a) return false;
        auto b = test::block2_of(m);
        if (b && b->num == 0) size2 = m.uint_option(option::size2);
        if (const Option* e = m.find(option::etag))
            etags.emplace_back(e->value.begin(), e->value.end());
        if (b && b->num == 3 && to_drop > 0) {
            --to_drop;
            return true;
        }
        return false;
    };
    int delivered = 0;
    p.server_app = [&](Lockstep& s) {
        while (auto e = s.ep.poll_event()) {
            auto& in = std::get<IncomingRequest>(*e);
            ++delivered;
            Message resp = ack(code::content).payload(body);
            resp.set_uint_option(option::content_format, content_format::octet_stream);
            ASSERT_TRUE(s.ep.send_response(s.now, in.id, std::move(resp)));
        }
    };
    auto id = p.a.ep.send_request(p.a.now, kPeerB, con(code::get).path("/big"));
    ASSERT_TRUE(id);
    p.pump();
    std::optional<Response> resp;
    for (int i = 0; i < 20 && !resp; ++i) {
        if (auto e = p.a.ep.poll_event()) {
            resp = std::get<Response>(*e);
            break;
        }
        ASSERT_TRUE(p.step_time());
    }
    if (!resp) resp = p.a.expect_event<Response>();
    EXPECT_EQ(resp->id, *id);
    EXPECT_EQ(resp->response.payload, body);
    EXPECT_FALSE(resp->response.find(option::block2));
    EXPECT_EQ(resp->response.uint_option(option::content_format), content_format::octet_stream);
    // The first GET is answered 4.01 + Echo (address validation, RFC 9175 §2.4: B has not
    // proved A's address yet); A repeats it with the Echo automatically and that one is served.
    // Later blocks come from the cache, not the application.
    EXPECT_EQ(delivered, 2);
    EXPECT_EQ(p.b.ep.stats().echo_challenges, 1U);
    EXPECT_EQ(p.a.ep.stats().echo_retries, 1U);
    EXPECT_EQ(size2, 1000U);
    ASSERT_FALSE(etags.empty());
    for (const auto& e : etags)
        EXPECT_EQ(e, etags.front());
    EXPECT_EQ(p.b.ep.stats().blocks_served, 7U);
    EXPECT_EQ(p.dropped, 1U);
}

// A changed ETag in the middle of a Block2 transfer fails the request (RFC 7959 §2.4).
TEST(CoapEndpointLockstep, Block2EtagMismatchFails) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/b"));
    Message req = t.expect_tx();
    t.receive(kPeerA, ack(code::content)
                          .mid(req.message_id)
                          .token(req.token)
                          .opt(option::etag, "A")
                          .block2(0, true, 0)
                          .payload(Bytes(16)));
    req = t.expect_tx();
    EXPECT_EQ(test::block2_of(req)->num, 1U);
    t.receive(kPeerA, ack(code::content)
                          .mid(req.message_id)
                          .token(req.token)
                          .opt(option::etag, "B")
                          .block2(1, false, 0)
                          .payload("x"));
    auto f = t.expect_event<RequestFailed>();
    EXPECT_EQ(f.id, *id);
    EXPECT_EQ(f.error, make_error_code(coap::Errc::block_mismatch));
}

// RFC 7959 §2.9.2 and §2.9.3 on the server side.
TEST(CoapEndpointLockstep, Block1IncompleteAndTooLarge) {
    Config c = det_config();
    c.max_body_size = 100;
    Lockstep t(c);
    // Block 1 without block 0: 4.08.
    t.receive(kPeerA,
              con(code::put).mid(1).token("a").path("/f").block1(1, true, 0).payload(Bytes(16)));
    Message r = t.expect_tx();
    EXPECT_EQ(r.code, code::request_entity_incomplete);
    // Out of order: 0 then 2.
    t.receive(kPeerA,
              con(code::put).mid(2).token("a").path("/f").block1(0, true, 0).payload(Bytes(16)));
    r = t.expect_tx();
    EXPECT_EQ(r.code, code::continue_);
    EXPECT_EQ(test::block1_of(r)->num, 0U);
    EXPECT_TRUE(test::block1_of(r)->more);
    t.receive(kPeerA,
              con(code::put).mid(3).token("a").path("/f").block1(2, true, 0).payload(Bytes(16)));
    EXPECT_EQ(t.expect_tx().code, code::request_entity_incomplete);
    // Size1 over the limit: 4.13 with Size1 = the limit.
    t.receive(kPeerA, con(code::put)
                          .mid(4)
                          .token("b")
                          .path("/g")
                          .block1(0, true, 0)
                          .uint(option::size1, 5000)
                          .payload(Bytes(16)));
    r = t.expect_tx();
    EXPECT_EQ(r.code, code::request_entity_too_large);
    EXPECT_EQ(r.uint_option(option::size1), 100U);
    // Growing past the limit without Size1: 4.13 too.
    for (std::uint32_t n = 0; n < 6; ++n) {
        t.receive(kPeerA, con(code::put)
                              .mid(static_cast<MessageId>(10 + n))
                              .token("c")
                              .path("/h")
                              .block1(n, true, 0)
                              .payload(Bytes(16)));
        r = t.expect_tx();
        EXPECT_EQ(r.code, code::continue_) << n;
    }
    t.receive(kPeerA,
              con(code::put).mid(20).token("c").path("/h").block1(6, true, 0).payload(Bytes(16)));
    r = t.expect_tx();
    EXPECT_EQ(r.code, code::request_entity_too_large);
    EXPECT_EQ(r.uint_option(option::size1), 100U);
    t.expect_no_event();
}

// RFC 7641 server side: registration, ordered notifications, CON replacing, RST cancellation.
TEST(CoapEndpointLockstep, ObserveServerNotificationsAndReset) {
    Config c = det_config();
    c.address_validation = false; // NON notifications to a peer that never proved its address
    Lockstep t(c);
    t.receive(kPeerA, con(code::get).mid(1).token("ob").path("/3/0/13").observe(0));
    auto in = t.expect_event<IncomingRequest>();
    EXPECT_TRUE(in.observe_register);
    ASSERT_NE(in.observation.value, 0U);
    ASSERT_TRUE(
        t.ep.send_response(t.now, in.id, Message(ack(code::content).observe(0).payload("1"))));
    Message r = t.expect_tx();
    EXPECT_EQ(r.type, Type::ack);
    const std::uint64_t v0 = obs_value(r);
    ASSERT_NE(v0, ~0ULL);
    ASSERT_TRUE(t.ep.send_notification(t.now, in.observation,
                                       Message(ack(code::content).payload("2")), false));
    Message n1 = t.expect_tx();
    EXPECT_EQ(n1.type, Type::non);
    EXPECT_EQ(n1.token, Token(as_bytes("ob")));
    EXPECT_EQ(obs_value(n1), (v0 + 1) & 0xffffff);
    ASSERT_TRUE(t.ep.send_notification(t.now, in.observation,
                                       Message(ack(code::content).payload("3")), true));
    Message n2 = t.expect_tx();
    EXPECT_EQ(n2.type, Type::con);
    EXPECT_EQ(obs_value(n2), (v0 + 2) & 0xffffff);
    // §4.5.2: a new CON while n2 is unacknowledged replaces it (n2 is not retransmitted).
    t.advance(1s);
    ASSERT_TRUE(t.ep.send_notification(t.now, in.observation,
                                       Message(ack(code::content).payload("4")), true));
    Message n3 = t.expect_tx();
    EXPECT_EQ(n3.type, Type::con);
    EXPECT_NE(n3.message_id, n2.message_id);
    EXPECT_EQ(t.advance_to_deadline(), 1s); // inherits n2's timer (due at 2 s after n2)
    EXPECT_EQ(t.expect_tx().message_id, n3.message_id);
    t.expect_no_tx();
    // RST to the notification removes the observer (§3.6).
    t.receive(kPeerA, rst().mid(n3.message_id));
    auto end = t.expect_event<ObservationEnded>();
    EXPECT_EQ(end.id, in.observation);
    EXPECT_EQ(end.reason, ObservationEndReason::reset);
    EXPECT_EQ(
        t.ep.send_notification(t.now, in.observation, Message(ack(code::content)), false).error(),
        make_error_code(lwm2m::Errc::not_found));
    t.advance(100s);
    t.expect_no_tx();
}

TEST(CoapEndpointLockstep, ObserveServerDeregisterAndTimeout) {
    Lockstep t(det_config());
    t.receive(kPeerA, con(code::get).mid(1).token("o1").path("/a").observe(0));
    auto in = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::content).observe(0))));
    t.expect_tx();
    // NON notification answered with RST also cancels.
    ASSERT_TRUE(t.ep.send_notification(t.now, in.observation, Message(ack(code::content)), false));
    const Message n = t.expect_tx();
    // GET with Observe=1 deregisters (§3.6).
    t.receive(kPeerA, con(code::get).mid(2).token("o1").path("/a").observe(1));
    auto end = t.expect_event<ObservationEnded>();
    EXPECT_EQ(end.reason, ObservationEndReason::deregistered);
    auto in2 = t.expect_event<IncomingRequest>();
    EXPECT_TRUE(in2.observe_deregister);
    (void)n;
    // A second observer whose CON notification is never ACKed ends with timeout (§4.5).
    t.receive(kPeerB, con(code::get).mid(3).token("o2").path("/a").observe(0));
    auto in3 = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.send_response(t.now, in3.id, Message(ack(code::content).observe(0))));
    t.drain_tx();
    ASSERT_TRUE(t.ep.send_notification(t.now, in3.observation, Message(ack(code::content)), true));
    t.expect_tx();
    const TimePoint sent = t.now;
    std::optional<ObservationEnded> ended;
    while (!ended && t.ep.next_deadline()) {
        t.advance_to_deadline();
        t.drain_tx();
        if (auto e = t.ep.poll_event()) ended = std::get<ObservationEnded>(*e);
    }
    ASSERT_TRUE(ended);
    EXPECT_EQ(ended->reason, ObservationEndReason::timeout);
    EXPECT_EQ(t.now - sent, 62s);
    // An RST to a NON notification cancels too.
    t.receive(kPeerB, con(code::get).mid(4).token("o3").path("/a").observe(0));
    auto in4 = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.send_response(t.now, in4.id, Message(ack(code::content).observe(0))));
    t.drain_tx();
    ASSERT_TRUE(t.ep.send_notification(t.now, in4.observation, Message(ack(code::content)), false));
    const Message n4 = t.expect_tx();
    t.receive(kPeerB, rst().mid(n4.message_id));
    EXPECT_EQ(t.expect_event<ObservationEnded>().reason, ObservationEndReason::reset);
}

TEST(CoapEndpointLockstep, ObserveServerPeriodicConfirmable) {
    Config c = det_config();
    c.address_validation = false; // NON notifications to a peer that never proved its address
    c.con_notification_interval = 60s;
    Lockstep t(c);
    t.receive(kPeerA, con(code::get).mid(1).token("o").path("/a").observe(0));
    auto in = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::content).observe(0))));
    t.drain_tx();
    t.advance(30s);
    ASSERT_TRUE(t.ep.send_notification(t.now, in.observation, Message(ack(code::content)), false));
    EXPECT_EQ(t.expect_tx().type, Type::non);
    t.advance(31s);
    ASSERT_TRUE(t.ep.send_notification(t.now, in.observation, Message(ack(code::content)), false));
    const Message n = t.expect_tx();
    EXPECT_EQ(n.type, Type::con); // a CON at least every interval
    t.receive(kPeerA, ack().mid(n.message_id));
    ASSERT_TRUE(t.ep.send_notification(t.now, in.observation, Message(ack(code::content)), false));
    EXPECT_EQ(t.expect_tx().type, Type::non);
}

// RFC 7641 client side: order (§3.4), stale dropped, CON ACKed, cancel -> RST.
TEST(CoapEndpointLockstep, ObserveClientOrderingAndCancel) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/3/0/13").observe(0));
    ASSERT_TRUE(id);
    const Message req = t.expect_tx();
    EXPECT_EQ(obs_value(req), 0U);
    t.receive(kPeerA,
              ack(code::content).mid(req.message_id).token(req.token).observe(100).payload("a"));
    auto r = t.expect_event<Response>();
    EXPECT_EQ(r.id, *id);
    t.receive(kPeerA, non(code::content).mid(0x100).token(req.token).observe(101).payload("b"));
    auto n1 = t.expect_event<Notification>();
    EXPECT_EQ(n1.id, *id);
    EXPECT_EQ(n1.seq, 101U);
    EXPECT_EQ(as_string_view(n1.notification.payload), "b");
    t.receive(kPeerA, non(code::content).mid(0x101).token(req.token).observe(99).payload("old"));
    t.expect_no_event(); // stale
    EXPECT_EQ(t.ep.stats().stale_notifications, 1U);
    t.receive(kPeerA, con(code::content).mid(0x102).token(req.token).observe(102).payload("c"));
    Message a = t.expect_tx();
    EXPECT_EQ(a.type, Type::ack);
    EXPECT_EQ(a.message_id, 0x102);
    EXPECT_EQ(t.expect_event<Notification>().seq, 102U);
    // §3.4 V1 < V2 and V2 - V1 > 2^23: 0xfffffe after 102 is older.
    t.receive(kPeerA,
              non(code::content).mid(0x103).token(req.token).observe(0xfffffe).payload("w"));
    t.expect_no_event(); // 0xfffffe - 102 > 2^23: older
    EXPECT_EQ(t.ep.stats().stale_notifications, 2U);
    t.advance(129s); // T2 > T1 + 128 s: anything is fresh
    t.receive(kPeerA,
              non(code::content).mid(0x104).token(req.token).observe(0xfffffe).payload("w2"));
    EXPECT_EQ(t.expect_event<Notification>().seq, 0xfffffeU);
    // Wrap-around, §3.4 V1 > V2 and V1 - V2 > 2^23: 3 after 0xfffffe is fresh ...
    t.receive(kPeerA, non(code::content).mid(0x106).token(req.token).observe(3).payload("x"));
    auto wrapped = t.expect_event<Notification>();
    EXPECT_EQ(wrapped.seq, 3U);
    EXPECT_EQ(as_string_view(wrapped.notification.payload), "x");
    // ... and then 0xfffffd (before the wrap) is stale.
    t.receive(kPeerA,
              non(code::content).mid(0x107).token(req.token).observe(0xfffffd).payload("y"));
    t.expect_no_event();
    EXPECT_EQ(t.ep.stats().stale_notifications, 3U);
    t.receive(kPeerA, non(code::content).mid(0x108).token(req.token).observe(50).payload("d"));
    EXPECT_EQ(t.expect_event<Notification>().seq, 50U);
    // Cancel: nothing sent now; the next notification is answered with RST.
    ASSERT_TRUE(t.ep.cancel_request(t.now, *id));
    EXPECT_EQ(t.expect_event<RequestFailed>().error, make_error_code(coap::Errc::cancelled));
    t.expect_no_tx();
    t.receive(kPeerA, con(code::content).mid(0x105).token(req.token).observe(51));
    Message rr = t.expect_tx();
    EXPECT_EQ(rr.type, Type::rst);
    EXPECT_EQ(rr.message_id, 0x105);
    t.expect_no_event();
}

// Observe end-to-end between two endpoints including a Block2 notification (RFC 7959 §2.6).
TEST(CoapEndpointLockstep, ObserveBetweenEndpointsWithBlockwiseNotification) {
    Config c = det_config();
    c.block_size = 64;
    Pair p(c, c);
    ObservationId obs{};
    p.server_app = [&](Lockstep& s) {
        while (auto e = s.ep.poll_event()) {
            if (auto* in = std::get_if<IncomingRequest>(&*e)) {
                ASSERT_TRUE(in->observe_register);
                obs = in->observation;
                ASSERT_TRUE(s.ep.send_response(
                    s.now, in->id, Message(ack(code::content).observe(0).payload("small"))));
            }
        }
    };
    auto id = p.a.ep.send_request(p.a.now, kPeerB, con(code::get).path("/o").observe(0));
    ASSERT_TRUE(id);
    p.pump();
    EXPECT_EQ(as_string_view(p.a.expect_event<Response>().response.payload), "small");
    const Bytes big = test::pattern_body(300, 3);
    ASSERT_TRUE(
        p.b.ep.send_notification(p.b.now, obs, Message(ack(code::content).payload(big)), true));
    p.pump();
    auto n = p.a.expect_event<Notification>();
    EXPECT_EQ(n.id, *id);
    EXPECT_EQ(n.notification.payload, big);
    ASSERT_TRUE(
        p.b.ep.send_notification(p.b.now, obs, Message(ack(code::content).payload("x")), false));
    p.pump();
    EXPECT_EQ(as_string_view(p.a.expect_event<Notification>().notification.payload), "x");
    p.a.expect_no_event();
    p.b.expect_no_event();
}

// next_deadline() never lies in the past after on_timeout, across a busy scenario.
TEST(CoapEndpointLockstep, DeadlineNeverInPast) {
    Lockstep t;
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(t.ep.send_request(t.now, i % 2 ? kPeerA : kPeerB, con(code::get).path("/x")));
        t.receive(kPeerA, con(code::get).mid(static_cast<MessageId>(i)).token("k").path("/y"));
    }
    int steps = 0;
    while (t.ep.next_deadline() && steps++ < 1000) {
        t.advance_to_deadline();
        t.drain_tx();
        t.events();
    }
    EXPECT_FALSE(t.ep.next_deadline());
    EXPECT_EQ(t.ep.stats().peers, 0U);
}

// RFC 7959 §2.4: a Block2 request whose body is not cached reaches the application, and the
// endpoint slices the full body at the requested block.
TEST(CoapEndpointLockstep, Block2WithoutCacheSlicesAppBody) {
    Config c = det_config();
    c.address_validation = false; // the scripted peer does not answer Echo challenges
    Lockstep t(c);
    t.receive(kPeerA, con(code::get).mid(1).token("g").path("/big").block2(2, false, 0));
    auto in = t.expect_event<IncomingRequest>();
    EXPECT_FALSE(in.request.find(option::block2)); // transparent to the application
    const Bytes body = test::pattern_body(100);
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::content).payload(body))));
    Message r = t.expect_tx();
    auto b = test::block2_of(r);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->num, 2U);
    EXPECT_TRUE(b->more);
    EXPECT_EQ(b->szx, 0);
    EXPECT_EQ(r.payload, Bytes(body.begin() + 32, body.begin() + 48));
    // The next block now comes from the cache, without the application.
    t.receive(kPeerA, con(code::get).mid(2).token("h").path("/big").block2(6, false, 0));
    r = t.expect_tx();
    EXPECT_EQ(test::block2_of(r)->num, 6U);
    EXPECT_FALSE(test::block2_of(r)->more);
    EXPECT_EQ(r.payload, Bytes(body.begin() + 96, body.end()));
    t.expect_no_event();
    // Past the end: 4.02 (RFC 7959 §2.2).
    t.receive(kPeerA, con(code::get).mid(3).token("i").path("/big").block2(9, false, 0));
    EXPECT_EQ(t.expect_tx().code, code::bad_option);
}

// Established observations do not count as exchanges in flight (a LwM2M server observes many
// resources of one client).
TEST(CoapEndpointLockstep, ManyObservationsPerPeer) {
    Config c = det_config();
    c.max_exchanges_per_peer = 2;
    Lockstep t(c);
    for (int i = 0; i < 6; ++i) {
        auto id = t.ep.send_request(t.now, kPeerA,
                                    con(code::get).path("/3/0/" + std::to_string(i)).observe(0));
        ASSERT_TRUE(id) << i;
        const Message req = t.expect_tx();
        t.receive(kPeerA, ack(code::content).mid(req.message_id).token(req.token).observe(1));
        EXPECT_EQ(t.expect_event<Response>().id, *id);
    }
}

// A notification whose Block2 fetch sees a changed ETag is abandoned; the observation goes on.
TEST(CoapEndpointLockstep, NotificationFetchAbandonedOnEtagChange) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/o").observe(0));
    Message req = t.expect_tx();
    const Token tok = req.token;
    t.receive(kPeerA, ack(code::content).mid(req.message_id).token(tok).observe(1));
    (void)t.expect_event<Response>();
    t.receive(kPeerA, non(code::content)
                          .mid(100)
                          .token(tok)
                          .observe(2)
                          .opt(option::etag, "A")
                          .block2(0, true, 0)
                          .payload(Bytes(16)));
    Message get = t.expect_tx();
    EXPECT_NE(get.token, tok); // fresh token for the continuation (RFC 7641 §4.1 safety)
    EXPECT_FALSE(get.find(option::observe));
    EXPECT_EQ(test::block2_of(get)->num, 1U);
    t.receive(kPeerA, ack(code::content)
                          .mid(get.message_id)
                          .token(get.token)
                          .opt(option::etag, "B")
                          .block2(1, false, 0)
                          .payload("zz"));
    t.expect_no_event();
    t.receive(kPeerA, non(code::content).mid(101).token(tok).observe(3).payload("fresh"));
    auto n = t.expect_event<Notification>();
    EXPECT_EQ(n.id, *id);
    EXPECT_EQ(as_string_view(n.notification.payload), "fresh");
}

TEST(CoapEndpointLockstep, MalformedDatagramIsLogged) {
    test::CaptureLogger log;
    SeededRandom rng(5);
    Endpoint ep(det_config(), rng, log);
    const Bytes bad{std::byte{0x40}, std::byte{0x01}, std::byte{0}, std::byte{1}, std::byte{0xf1}};
    ep.on_datagram(TimePoint{}, kPeerA, bad);
    EXPECT_NE(log.all().find("malformed"), std::string::npos) << log.all();
    EXPECT_NE(log.all().find("10.0.0.1:5683"), std::string::npos) << log.all();
}

// Lazily deleted timers do not pile up: 5000 quick exchanges leave a bounded heap, and the
// idle peer keeps a single reclamation timer.
TEST(CoapEndpointLockstep, TimerHeapStaysBounded) {
    Lockstep t(det_config());
    for (int i = 0; i < 5000; ++i) {
        auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/x"));
        ASSERT_TRUE(id);
        const Message req = t.expect_tx();
        t.receive(kPeerA, ack(code::content).mid(req.message_id).token(req.token));
        ASSERT_EQ(t.expect_event<Response>().id, *id);
        t.now += 1ms;
    }
    EXPECT_LT(t.ep.stats().timer_entries, 1100U);
    t.advance(t.ep.config().exchange_lifetime() + 1s);
    EXPECT_EQ(t.ep.stats().peers, 0U);
    EXPECT_FALSE(t.ep.next_deadline());
}

// Documented errors of the commands.
TEST(CoapEndpointLockstep, CommandErrors) {
    Config c = det_config();
    c.max_body_size = 1000;
    c.max_message_size = 200;
    c.block_size = 64;
    Lockstep t(c);
    EXPECT_EQ(t.ep.send_request(t.now, kPeerA, ack(code::get)).error(),
              make_error_code(lwm2m::Errc::invalid_argument)); // not CON/NON
    EXPECT_EQ(t.ep.send_request(t.now, kPeerA, con(code::content)).error(),
              make_error_code(lwm2m::Errc::invalid_argument)); // not a method
    EXPECT_EQ(
        t.ep.send_request(t.now, kPeerA, con(code::put).payload(test::pattern_body(1001))).error(),
        make_error_code(coap::Errc::entity_too_large));
    EXPECT_EQ(
        t.ep.send_request(t.now, kPeerA, con(code::get).path("/" + std::string(250, 'a'))).error(),
        make_error_code(coap::Errc::message_too_large));
    ASSERT_TRUE(t.ep.send_request(t.now, kPeerA, con(code::get).token("dup")));
    EXPECT_EQ(t.ep.send_request(t.now, kPeerA, con(code::get).token("dup")).error(),
              make_error_code(lwm2m::Errc::invalid_argument)); // token in use with that peer
    EXPECT_EQ(t.ep.cancel_request(t.now, RequestId{999}).error(),
              make_error_code(lwm2m::Errc::not_found));
    EXPECT_EQ(t.ep.accept_separately(t.now, IncomingId{999}).error(),
              make_error_code(lwm2m::Errc::not_found));
    EXPECT_EQ(t.ep.cancel_observation(t.now, ObservationId{999}).error(),
              make_error_code(lwm2m::Errc::not_found));
    t.receive(kPeerB, con(code::get).mid(1).token("a").path("/x"));
    auto in = t.expect_event<IncomingRequest>();
    EXPECT_EQ(t.ep.send_response(t.now, in.id, Message(ack(code::get))).error(),
              make_error_code(lwm2m::Errc::invalid_argument));
    EXPECT_EQ(t.ep.send_response(t.now, in.id,
                                 Message(ack(code::content).payload(test::pattern_body(1001))))
                  .error(),
              make_error_code(coap::Errc::entity_too_large));
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::content))));
}

// max_buffered_bytes: a large body that does not fit is refused, nothing crashes, and small
// traffic still flows.
TEST(CoapEndpointLockstep, BufferedBytesLimit) {
    Config c = det_config();
    c.address_validation = false; // the 5000-byte answer must hit the budget, not the Echo check
    c.max_buffered_bytes = 4096;
    c.block_size = 64;
    Lockstep t(c);
    EXPECT_EQ(
        t.ep.send_request(t.now, kPeerA, con(code::put).payload(test::pattern_body(5000))).error(),
        make_error_code(coap::Errc::peer_limit));
    t.receive(kPeerB, con(code::get).mid(1).token("a").path("/x"));
    auto in = t.expect_event<IncomingRequest>();
    EXPECT_EQ(t.ep.send_response(t.now, in.id,
                                 Message(ack(code::content).payload(test::pattern_body(5000))))
                  .error(),
              make_error_code(coap::Errc::peer_limit));
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::content).payload("ok"))));
    EXPECT_EQ(as_string_view(t.expect_tx().payload), "ok");
    EXPECT_LE(t.ep.stats().buffered_bytes, 4096U);
}
