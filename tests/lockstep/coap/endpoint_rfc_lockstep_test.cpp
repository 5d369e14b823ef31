// Lockstep regression tests of coap::Endpoint for RFC 7252 / 7641 / 7959 conformance defects
// found in review (each failed before its fix).
#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "support/coap_script.hpp"

using namespace lwm2m;
using namespace lwm2m::coap;
using namespace std::chrono_literals;
using lwm2m::test::ack;
using lwm2m::test::con;
using lwm2m::test::det_config;
using lwm2m::test::kPeerA;
using lwm2m::test::Lockstep;
using lwm2m::test::non;
using lwm2m::test::obs_value;
using lwm2m::test::rst;

namespace {

/// Registers an observation of kPeerA (token "ob") and returns its id; the response is drained.
ObservationId register_observer(Lockstep& t, MessageId mid = 1, std::string_view token = "ob") {
    t.receive(kPeerA, con(code::get).mid(mid).token(token).path("/3/0/13").observe(0));
    auto in = t.expect_event<IncomingRequest>();
    EXPECT_TRUE(in.observe_register);
    EXPECT_TRUE(
        t.ep.send_response(t.now, in.id, Message(ack(code::content).observe(0).payload("0"))));
    const Message r = t.expect_tx();
    EXPECT_NE(obs_value(r), ~0ULL);
    return in.observation;
}

} // namespace

// RFC 7252 §5.4.1, §5.10.8.1 (If-Match), §5.10.8.2 (If-None-Match), RFC 8613 §2 (OSCORE):
// critical options nothing evaluates must make a CON request fail with 4.02, never be executed.
TEST(CoapEndpointRfc, UnimplementedCriticalOptionsGetBadOption) {
    Lockstep t(det_config());
    struct Case {
        Code method;
        std::uint16_t option;
        std::string_view value;
    };
    MessageId mid = 10;
    for (const Case c :
         {Case{code::put, option::if_match, "stale"}, Case{code::put, option::if_none_match, ""},
          Case{code::post, option::oscore, "\x09"}}) {
        t.receive(
            kPeerA,
            con(c.method).mid(mid).token("t").path("/3/0/1").opt(c.option, c.value).payload("x"));
        const Message r = t.expect_tx();
        EXPECT_EQ(r.type, Type::ack) << c.option;
        EXPECT_EQ(r.message_id, mid) << c.option;
        EXPECT_EQ(r.code, code::bad_option) << c.option;
        t.expect_no_event(); // never handed to the application
        ++mid;
    }
    // NON: silently dropped.
    t.receive(
        kPeerA,
        non(code::put).mid(mid).token("n").path("/3/0/1").opt(option::if_match, "e").payload("x"));
    t.expect_no_tx();
    t.expect_no_event();
    EXPECT_EQ(t.ep.stats().bad_option, 4U);
}

// RFC 7641 §3.4, RFC 7959 §2.6: a Block2 notification whose fetch is overtaken by a fresher
// notification is abandoned; the older one is never delivered after the newer one.
TEST(CoapEndpointRfc, StaleBlockwiseNotificationNotDeliveredAfterFresherOne) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/o").observe(0));
    ASSERT_TRUE(id);
    const Message req = t.expect_tx();
    const Token tok = req.token;
    t.receive(kPeerA, ack(code::content).mid(req.message_id).token(tok).observe(4).payload("r"));
    (void)t.expect_event<Response>();
    // seq 5: first block of a larger body; the client starts fetching block 1.
    t.receive(kPeerA, non(code::content)
                          .mid(100)
                          .token(tok)
                          .observe(5)
                          .opt(option::etag, "A")
                          .block2(0, true, 0)
                          .payload(Bytes(16)));
    const Message get = t.expect_tx();
    ASSERT_TRUE(test::block2_of(get));
    EXPECT_EQ(test::block2_of(get)->num, 1U);
    EXPECT_EQ(get.type, Type::con);
    t.expect_no_event();
    // seq 6, one block: delivered at once.
    t.receive(kPeerA, non(code::content).mid(101).token(tok).observe(6).payload("six"));
    auto n6 = t.expect_event<Notification>();
    EXPECT_EQ(n6.seq, 6U);
    EXPECT_EQ(as_string_view(n6.notification.payload), "six");
    // The fetch was abandoned: no retransmission of its GET ...
    t.advance(3s);
    for (const Message& m : t.drain_tx())
        EXPECT_NE(m.message_id, get.message_id) << "fetch GET retransmitted";
    // ... and its late last block delivers nothing.
    t.receive(kPeerA, ack(code::content)
                          .mid(get.message_id)
                          .token(get.token)
                          .opt(option::etag, "A")
                          .block2(1, false, 0)
                          .payload("zz"));
    t.expect_no_event();
    // The observation goes on.
    t.receive(kPeerA, non(code::content).mid(102).token(tok).observe(7).payload("seven"));
    EXPECT_EQ(t.expect_event<Notification>().seq, 7U);
}

// RFC 7641 §4.1: an observer that cannot be added gets the ordinary response without Observe.
TEST(CoapEndpointRfc, ObserverLimitAnswersWithoutObserve) {
    Config c = det_config();
    c.max_observations_per_peer = 1;
    Lockstep t(c);
    (void)register_observer(t, 1, "o1");
    t.receive(kPeerA, con(code::get).mid(2).token("o2").path("/3/0/14").observe(0));
    auto in = t.expect_event<IncomingRequest>();
    EXPECT_TRUE(in.observe_register);
    ASSERT_TRUE(t.ep.send_response(
        t.now, in.id,
        Message(ack(code::content).observe(0).opt(option::content_format, "").payload("+01:00"))));
    const Message r = t.expect_tx();
    EXPECT_EQ(r.type, Type::ack);
    EXPECT_EQ(r.message_id, 2);
    EXPECT_EQ(r.code, code::content);
    EXPECT_EQ(as_string_view(r.payload), "+01:00");
    EXPECT_FALSE(r.find(option::observe)); // not registered
    EXPECT_TRUE(r.find(option::content_format));
    EXPECT_GE(t.ep.stats().refused, 1U);
    EXPECT_EQ(
        t.ep.send_notification(t.now, in.observation, Message(ack(code::content)), false).error(),
        make_error_code(lwm2m::Errc::not_found));
}

// Cached piggybacked responses count against max_buffered_bytes. For a verified peer (here:
// verified by the transport, as over DTLS) nothing is evictable: once the budget cannot hold
// another reply, new requests are refused with 5.03 (like the dedup limit) until entries expire.
TEST(CoapEndpointRfc, CachedRepliesRespectBufferedBytes) {
    Config c = det_config();
    c.max_buffered_bytes = 3000;
    c.peers_verified_by_transport = true;
    Lockstep t(c);
    std::size_t answered = 0;
    std::size_t refused = 0;
    for (MessageId mid = 1; mid <= 10; ++mid) {
        t.receive(kPeerA, con(code::get).mid(mid).token("r").path("/x"));
        auto e = t.ep.poll_event();
        if (e) {
            auto* in = std::get_if<IncomingRequest>(&*e);
            ASSERT_NE(in, nullptr);
            ASSERT_TRUE(t.ep.send_response(
                t.now, in->id, Message(ack(code::content).payload(test::pattern_body(1000)))));
            const Message r = t.expect_tx();
            EXPECT_EQ(r.code, code::content);
            ++answered;
        } else {
            const Message r = t.expect_tx();
            EXPECT_EQ(r.type, Type::ack);
            EXPECT_EQ(r.code, code::service_unavailable);
            ++refused;
        }
        EXPECT_LE(t.ep.stats().buffered_bytes, c.max_buffered_bytes) << mid;
    }
    EXPECT_GE(answered, 1U);
    EXPECT_GE(refused, 1U);
    EXPECT_EQ(t.ep.stats().evicted, 0U);
    // After EXCHANGE_LIFETIME the cached replies are gone and requests are served again.
    t.advance(t.ep.config().exchange_lifetime() + 1s);
    t.drain_tx();
    t.receive(kPeerA, con(code::get).mid(500).token("s").path("/x"));
    (void)t.expect_event<IncomingRequest>();
}

// The same traffic from an unverified peer (NoSec, no Echo): its oldest cached replies are
// evicted to make room, so it is never refused; the budget still holds, and a duplicate of a
// request whose reply was evicted is not delivered again (its (peer, MID) entry stays, §4.5).
TEST(CoapEndpointRfc, UnverifiedPeersCachedRepliesAreEvictedNotRefused) {
    Config c = det_config();
    c.max_buffered_bytes = 3000;
    c.address_validation = false; // 1000-byte answers to an unverified peer, no Echo
    Lockstep t(c);
    for (MessageId mid = 1; mid <= 10; ++mid) {
        t.receive(kPeerA, con(code::get).mid(mid).token("r").path("/x"));
        auto in = t.expect_event<IncomingRequest>();
        ASSERT_TRUE(t.ep.send_response(
            t.now, in.id, Message(ack(code::content).payload(test::pattern_body(1000)))));
        EXPECT_EQ(t.expect_tx().code, code::content) << mid;
        EXPECT_LE(t.ep.stats().buffered_bytes, c.max_buffered_bytes) << mid;
    }
    EXPECT_EQ(t.ep.stats().refused, 0U);
    EXPECT_GE(t.ep.stats().evicted, 7U);
    // MID 1's reply was evicted: its duplicate is neither replayed nor delivered again.
    t.receive(kPeerA, con(code::get).mid(1).token("r").path("/x"));
    t.expect_no_tx();
    t.expect_no_event();
    // MID 10's reply is still cached: replayed.
    t.receive(kPeerA, con(code::get).mid(10).token("r").path("/x"));
    EXPECT_EQ(t.expect_tx().code, code::content);
    t.expect_no_event();
}

// RFC 7252 §4.2: a Reset carries code 0.00; a non-empty "RST" is ignored. §3: classes 1, 3, 6, 7
// are reserved: an ACK with class 3 is dropped, a CON with class 3 is rejected with RST.
TEST(CoapEndpointRfc, NonEmptyResetAndReservedClassIgnored) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/a"));
    ASSERT_TRUE(id);
    const Message req = t.expect_tx();
    t.receive(kPeerA, test::msg(Type::rst, code::content).mid(req.message_id).token(req.token));
    t.expect_no_event(); // not a reset: the request is still alive
    t.receive(kPeerA, ack(Code(3, 1)).mid(req.message_id).token(req.token).payload("x"));
    t.expect_no_event(); // reserved class: not a response
    t.receive(kPeerA, con(Code(3, 0)).mid(900).token(req.token).payload("y"));
    const Message r = t.expect_tx();
    EXPECT_EQ(r.type, Type::rst);
    EXPECT_EQ(r.message_id, 900);
    t.expect_no_event();
    // The request still retransmits and completes normally.
    EXPECT_EQ(t.advance_to_deadline(), 2s);
    EXPECT_EQ(t.expect_tx().message_id, req.message_id);
    t.receive(kPeerA, ack(code::content).mid(req.message_id).token(req.token).payload("ok"));
    auto resp = t.expect_event<Response>();
    EXPECT_EQ(resp.id, *id);
    EXPECT_EQ(as_string_view(resp.response.payload), "ok");
    // An empty RST still works.
    auto id2 = t.ep.send_request(t.now, kPeerA, con(code::get).path("/b"));
    const Message req2 = t.expect_tx();
    t.receive(kPeerA, rst().mid(req2.message_id));
    auto f = t.expect_event<RequestFailed>();
    EXPECT_EQ(f.id, *id2);
    EXPECT_EQ(f.error, make_error_code(coap::Errc::reset));
}

// RFC 7641 §4.5.2: a notification sent while a CON notification is unacknowledged replaces it,
// even when the application asked for NON: the old state is never retransmitted.
TEST(CoapEndpointRfc, NonNotificationReplacesPendingCon) {
    Lockstep t(det_config());
    const ObservationId obs = register_observer(t);
    ASSERT_TRUE(
        t.ep.send_notification(t.now, obs, Message(ack(code::content).payload("old")), true));
    const Message n1 = t.expect_tx();
    EXPECT_EQ(n1.type, Type::con);
    t.advance(1s);
    ASSERT_TRUE(
        t.ep.send_notification(t.now, obs, Message(ack(code::content).payload("new")), false));
    const Message n2 = t.expect_tx();
    EXPECT_EQ(n2.type, Type::con); // sent through the replacement path
    EXPECT_EQ(as_string_view(n2.payload), "new");
    EXPECT_EQ(obs_value(n2), (obs_value(n1) + 1) & 0xffffff);
    EXPECT_EQ(t.advance_to_deadline(), 1s); // inherits n1's timer
    const Message re = t.expect_tx();
    EXPECT_EQ(re.message_id, n2.message_id);
    EXPECT_EQ(as_string_view(re.payload), "new");
    t.expect_no_tx();
    // ACK of the new one: nothing pending; the next NON goes as NON.
    t.receive(kPeerA, ack().mid(n2.message_id));
    ASSERT_TRUE(
        t.ep.send_notification(t.now, obs, Message(ack(code::content).payload("n")), false));
    EXPECT_EQ(t.expect_tx().type, Type::non);
    t.advance(100s);
    t.expect_no_tx();
    t.expect_no_event();
}

// A message the codec cannot encode (an option value over 65804 bytes, RFC 7252 §3.1) or that
// exceeds max_message_size is refused; no empty datagram is ever sent. (An unregistered
// elective option carries the huge values: a registered one would break its registry length
// first and be refused with invalid_argument, see endpoint_conformance_test.cpp.)
TEST(CoapEndpointRfc, UnencodableMessagesRefused) {
    Lockstep t(det_config());
    const Bytes huge(65804 + 1, std::byte{'a'});
    constexpr std::uint16_t unregistered = 2048;
    ASSERT_EQ(option::info(unregistered), nullptr);
    Message bad_req = con(code::get).path("/a");
    bad_req.add_option(unregistered, BytesView(huge));
    EXPECT_EQ(t.ep.send_request(t.now, kPeerA, bad_req).error(),
              make_error_code(coap::Errc::message_too_large));
    t.expect_no_tx();
    t.receive(kPeerA, con(code::get).mid(1).token("a").path("/x"));
    auto in = t.expect_event<IncomingRequest>();
    Message bad = ack(code::content).payload("v");
    bad.add_option(unregistered, BytesView(huge));
    EXPECT_EQ(t.ep.send_response(t.now, in.id, bad).error(),
              make_error_code(coap::Errc::message_too_large));
    t.expect_no_tx();
    Message big_head = ack(code::content).payload("v");
    for (int i = 0; i < 8; ++i) // 8 x 250 bytes: each within Location-Path's 0-255
        big_head.add_option(option::location_path, BytesView(Bytes(250, std::byte{'b'})));
    EXPECT_EQ(t.ep.send_response(t.now, in.id, big_head).error(),
              make_error_code(coap::Errc::message_too_large));
    t.expect_no_tx();
    // The request is still answerable.
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, Message(ack(code::content).payload("ok"))));
    EXPECT_EQ(as_string_view(t.expect_tx().payload), "ok");
    // Notifications too.
    const ObservationId obs = register_observer(t, 2);
    Message bad_n = ack(code::content);
    bad_n.add_option(unregistered, BytesView(huge));
    EXPECT_EQ(t.ep.send_notification(t.now, obs, bad_n, true).error(),
              make_error_code(coap::Errc::message_too_large));
    t.expect_no_tx();
    ASSERT_TRUE(
        t.ep.send_notification(t.now, obs, Message(ack(code::content).payload("n")), false));
    EXPECT_EQ(as_string_view(t.expect_tx().payload), "n");
}

// RFC 7252 §5.7.2: this endpoint is no forward-proxy: a request with Proxy-Uri or Proxy-Scheme
// gets 5.05 Proxying Not Supported and is never answered locally.
TEST(CoapEndpointRfc, ProxyRequestsGetProxyingNotSupported) {
    Lockstep t(det_config());
    t.receive(kPeerA,
              con(code::get).mid(1).token("p").opt(option::proxy_uri, "coap://192.0.2.1/3/0"));
    Message r = t.expect_tx();
    EXPECT_EQ(r.type, Type::ack);
    EXPECT_EQ(r.message_id, 1);
    EXPECT_EQ(r.code, code::proxying_not_supported);
    EXPECT_EQ(r.token, Token(as_bytes("p")));
    t.expect_no_event();
    // A duplicate gets the same answer (RFC 7252 §4.5), still without reaching the application.
    t.receive(kPeerA,
              con(code::get).mid(1).token("p").opt(option::proxy_uri, "coap://192.0.2.1/3/0"));
    EXPECT_EQ(t.expect_tx().code, code::proxying_not_supported);
    t.expect_no_event();
    t.receive(kPeerA,
              con(code::get).mid(2).token("q").path("/3/0").opt(option::proxy_scheme, "coap"));
    r = t.expect_tx();
    EXPECT_EQ(r.code, code::proxying_not_supported);
    EXPECT_EQ(r.message_id, 2);
    t.expect_no_event();
    // NON: answered with a NON 5.05 (§5.7.2 "MUST return a 5.05").
    t.receive(kPeerA,
              non(code::get).mid(3).token("n").opt(option::proxy_uri, "coap://192.0.2.1/3/0"));
    r = t.expect_tx();
    EXPECT_EQ(r.type, Type::non);
    EXPECT_EQ(r.code, code::proxying_not_supported);
    EXPECT_EQ(r.token, Token(as_bytes("n")));
    t.expect_no_event();
    // A plain request still works.
    t.receive(kPeerA, con(code::get).mid(4).token("g").path("/3/0"));
    (void)t.expect_event<IncomingRequest>();
}
