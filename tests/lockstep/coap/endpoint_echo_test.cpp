// Address validation of coap::Endpoint (RFC 9175 §2.3, §2.4 item 3; RFC 7252 §11.3): an
// unverified peer never gets more than amplification_factor times its request back, nor a cached
// body; a GET is answered 4.01 + Echo, and the Echo verifies the peer. Client role: a 4.01 with
// Echo is repeated once with the Echo value.
#include <gtest/gtest.h>

#include <string>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "coap/siphash.hpp"
#include "support/coap_script.hpp"

using namespace lwm2m;
using namespace lwm2m::coap;
using namespace lwm2m::test;
using namespace std::chrono_literals;

namespace {

const Bytes kLarge = pattern_body(4096, 3);

/// A server-side lockstep with address validation on (det_config() timing).
Lockstep server(Config c = det_config()) {
    c.address_validation = true;
    return Lockstep(c);
}

/// Answers the next IncomingRequest with the 4096-byte body.
IncomingRequest answer_large(Lockstep& t) {
    auto in = t.expect_event<IncomingRequest>();
    EXPECT_TRUE(t.ep.send_response(t.now, in.id, ack(code::content).payload(kLarge)));
    return in;
}

Bytes echo_of(const Message& m) {
    const Option* o = m.find(option::echo);
    return o == nullptr ? Bytes{} : Bytes(o->value.begin(), o->value.end());
}

} // namespace

// The attack of issue #7: an 11-byte GET /large used to get 1,041 bytes back and a cached
// body. Now: a 4.01 with an Echo, within 3x the request, and nothing cached.
TEST(CoapEndpointEcho, LargeResponseToUnverifiedPeerIsAnEchoChallenge) {
    Lockstep t = server();
    const Bytes req = con(code::get).mid(0x0101).path("/large").bytes();
    t.receive_bytes(kPeerA, req);
    answer_large(t);
    auto d = t.tx();
    ASSERT_TRUE(d);
    EXPECT_LE(d->bytes.size(), 3 * req.size());
    const auto r = parse(d->bytes);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->type, Type::ack);
    EXPECT_EQ(r->message_id, 0x0101);
    EXPECT_EQ(r->code, code::unauthorized);
    const Bytes echo = echo_of(*r);
    EXPECT_EQ(echo.size(), 12U);
    EXPECT_TRUE(r->payload.empty());
    EXPECT_EQ(t.ep.stats().echo_challenges, 1U);
    EXPECT_LT(t.ep.stats().buffered_bytes, 64U); // the 4.01 reply only: no body cached
    // A retransmission gets the same 4.01 (§4.5), not a second delivery.
    t.receive_bytes(kPeerA, req);
    EXPECT_EQ(t.expect_tx().code, code::unauthorized);
    t.expect_no_event();

    // The repeat with the Echo verifies the peer and gets the body (block-wise, cached).
    t.receive(kPeerA, con(code::get).mid(0x0102).path("/large").opt(
                          option::echo, std::string(as_string_view(echo))));
    auto in = answer_large(t);
    EXPECT_EQ(in.request.find(option::echo), nullptr); // ours: not shown to the application
    Message first = t.expect_tx();
    EXPECT_EQ(first.code, code::content);
    ASSERT_TRUE(block2_of(first));
    EXPECT_TRUE(block2_of(first)->more);
    EXPECT_EQ(t.ep.stats().peers_verified, 1U);
    // Later blocks come from the cache; later requests need no Echo.
    t.receive(kPeerA, con(code::get).mid(0x0103).path("/large").block2(1, false, 6));
    EXPECT_EQ(t.expect_tx().payload.size(), 1024U);
    t.receive(kPeerA, con(code::get).mid(0x0104).path("/large"));
    answer_large(t);
    EXPECT_EQ(t.expect_tx().code, code::content);
    EXPECT_EQ(t.ep.stats().echo_challenges, 1U);
}

// Small responses are never challenged: within 3x the request.
TEST(CoapEndpointEcho, SmallResponsesGoOutUnchallenged) {
    Lockstep t = server();
    t.receive(kPeerA, con(code::get).mid(1).token("tok1").path("/3/0/0"));
    auto in = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, ack(code::content).payload("Open Mobile")));
    EXPECT_EQ(t.expect_tx().code, code::content);
    EXPECT_EQ(t.ep.stats().echo_challenges, 0U);
}

// A stale, forged or other-address Echo does not verify; a fresh one from the same address does.
TEST(CoapEndpointEcho, OnlyAFreshEchoMadeForThisAddressVerifies) {
    Config c = det_config();
    c.echo_lifetime = 60s;
    Lockstep t = server(c);
    t.receive(kPeerA, con(code::get).mid(1).path("/large"));
    answer_large(t);
    const Bytes echo = echo_of(t.expect_tx());
    ASSERT_EQ(echo.size(), 12U);
    const std::string e(as_string_view(echo));

    // Another address presenting A's Echo: challenged again.
    t.receive(kPeerB, con(code::get).mid(2).path("/large").opt(option::echo, e));
    answer_large(t);
    EXPECT_EQ(t.expect_tx().code, code::unauthorized);
    // A forged value (one MAC bit flipped): challenged again; not ours, so the application sees it.
    std::string forged = e;
    forged[11] = static_cast<char>(forged[11] ^ 1);
    t.receive(kPeerA, con(code::get).mid(3).path("/large").opt(option::echo, forged));
    auto in = answer_large(t);
    EXPECT_NE(in.request.find(option::echo), nullptr);
    EXPECT_EQ(t.expect_tx().code, code::unauthorized);
    // Too old (past echo_lifetime, across a key rotation): challenged again.
    t.advance(61s);
    t.drain_tx();
    t.receive(kPeerA, con(code::get).mid(4).path("/large").opt(option::echo, e));
    answer_large(t);
    const Message again = t.expect_tx();
    EXPECT_EQ(again.code, code::unauthorized);
    EXPECT_EQ(t.ep.stats().peers_verified, 0U);
    // The fresh one works.
    t.receive(kPeerA, con(code::get).mid(5).path("/large").opt(
                          option::echo, std::string(as_string_view(echo_of(again)))));
    answer_large(t);
    EXPECT_EQ(t.expect_tx().code, code::content);
    EXPECT_EQ(t.ep.stats().peers_verified, 1U);
}

// RFC 9175 §2.4 item 3: an Echo challenge is piggybacked or NON, never a separate CON.
TEST(CoapEndpointEcho, ChallengeIsNeverASeparateCon) {
    Lockstep t = server();
    t.receive(kPeerA, con(code::get).mid(7).token("s").path("/large"));
    auto in = t.expect_event<IncomingRequest>();
    t.advance(2s); // auto_ack_delay: the empty ACK goes, the response will be separate
    EXPECT_EQ(t.expect_tx().type, Type::ack);
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, ack(code::content).payload(kLarge)));
    const Message r = t.expect_tx();
    EXPECT_EQ(r.type, Type::non);
    EXPECT_EQ(r.code, code::unauthorized);
    EXPECT_EQ(r.token, Token(as_bytes("s")));
    t.advance(60s); // nothing is retransmitted
    t.expect_no_tx();
    // A NON request gets a NON challenge.
    t.receive(kPeerB, non(code::get).mid(8).token("n").path("/large"));
    answer_large(t);
    const Message n = t.expect_tx();
    EXPECT_EQ(n.type, Type::non);
    EXPECT_EQ(n.code, code::unauthorized);
}

// An unsafe request was executed already: it is never challenged (that would run it twice);
// its large response goes out in blocks within the limit, with an Echo that the next block
// request returns, which verifies the peer.
TEST(CoapEndpointEcho, UnsafeRequestGetsSmallBlocksWithEcho) {
    Lockstep t = server();
    // A 31-byte POST: 3x leaves room for 32-byte blocks after the headers and the Echo.
    const Bytes req =
        con(code::post).mid(20).token("p").path("/exec").payload("twenty bytes of args").bytes();
    t.receive_bytes(kPeerA, req);
    auto in = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, ack(code::changed).payload(kLarge)));
    auto d = t.tx();
    ASSERT_TRUE(d);
    EXPECT_LE(d->bytes.size(), 3 * req.size());
    const auto first = parse(d->bytes);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->code, code::changed);
    const auto b = block2_of(*first);
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->more);
    EXPECT_EQ(b->size(), first->payload.size());
    const Bytes echo = echo_of(*first);
    ASSERT_EQ(echo.size(), 12U);
    EXPECT_EQ(t.ep.stats().echo_challenges, 0U);
    // The next block request carries the Echo: the peer is verified; no new delivery.
    t.receive(kPeerA, con(code::post)
                          .mid(21)
                          .token("p")
                          .path("/exec")
                          .block2(1, false, b->szx)
                          .opt(option::echo, std::string(as_string_view(echo))));
    const Message second = t.expect_tx();
    EXPECT_EQ(second.code, code::changed);
    EXPECT_EQ(block2_of(second)->num, 1U);
    t.expect_no_event();
    EXPECT_EQ(t.ep.stats().peers_verified, 1U);
}

// Notifications to an observer that never proved its address are CON (unanswered, they end
// the observation); an ACK of a CON we sent verifies the peer.
TEST(CoapEndpointEcho, UnverifiedObserverGetsConNotificationsAndItsAckVerifies) {
    Lockstep t = server();
    t.receive(kPeerA, con(code::get).mid(1).token("ob").path("/o").observe(0));
    auto in = t.expect_event<IncomingRequest>();
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, ack(code::content).observe(0).payload("1")));
    (void)t.expect_tx();
    ASSERT_TRUE(
        t.ep.send_notification(t.now, in.observation, ack(code::content).payload("2"), false));
    const Message n = t.expect_tx();
    EXPECT_EQ(n.type, Type::con); // asked NON, sent CON
    t.receive(kPeerA, ack().mid(n.message_id));
    EXPECT_EQ(t.ep.stats().peers_verified, 1U);
    ASSERT_TRUE(
        t.ep.send_notification(t.now, in.observation, ack(code::content).payload("3"), false));
    EXPECT_EQ(t.expect_tx().type, Type::non); // verified: as asked
}

// Over DTLS the cookie exchange proved the address: peers_verified_by_transport turns the
// challenge off.
TEST(CoapEndpointEcho, PeersVerifiedByTransportAreNeverChallenged) {
    Config c = det_config();
    c.peers_verified_by_transport = true;
    Lockstep t = server(c);
    t.receive(kPeerA, con(code::get).mid(1).path("/large"));
    answer_large(t);
    const Message r = t.expect_tx();
    EXPECT_EQ(r.code, code::content);
    EXPECT_TRUE(block2_of(r));
    EXPECT_EQ(t.ep.stats().echo_challenges, 0U);
}

// Client role, RFC 9175 §2.3: a 4.01 with Echo is repeated once with the Echo value (same
// request, new MID); a second 4.01 is the final response.
TEST(CoapEndpointEcho, ClientRepeatsOnceWithTheEcho) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/large"));
    ASSERT_TRUE(id);
    const Message r1 = t.expect_tx();
    EXPECT_EQ(r1.find(option::echo), nullptr);
    t.receive(kPeerA, ack(code::unauthorized)
                          .mid(r1.message_id)
                          .token(r1.token)
                          .opt(option::echo, "echo-value-1"));
    const Message r2 = t.expect_tx();
    EXPECT_EQ(r2.type, Type::con);
    EXPECT_EQ(r2.code, code::get);
    EXPECT_NE(r2.message_id, r1.message_id);
    EXPECT_EQ(r2.path(), "/large");
    EXPECT_EQ(as_string_view(echo_of(r2)), "echo-value-1");
    t.expect_no_event();
    EXPECT_EQ(t.ep.stats().echo_retries, 1U);
    // A second challenge is delivered as the response (no loop).
    t.receive(kPeerA, ack(code::unauthorized)
                          .mid(r2.message_id)
                          .token(r2.token)
                          .opt(option::echo, "echo-value-2"));
    auto resp = t.expect_event<Response>();
    EXPECT_EQ(resp.id, *id);
    EXPECT_EQ(resp.response.code, code::unauthorized);
    t.expect_no_tx();
}

// End to end between two endpoints: the client's automatic repeat passes the server's check.
TEST(CoapEndpointEcho, ClientAndServerEndpointsCompleteTheChallenge) {
    Lockstep s = server();
    Lockstep c(det_config());
    auto id = c.ep.send_request(c.now, kPeerB, con(code::get).path("/large"));
    ASSERT_TRUE(id);
    int delivered = 0;
    Bytes got;
    for (int round = 0; round < 20 && got.empty(); ++round) {
        while (auto d = c.tx())
            s.receive_bytes(kPeerA, d->bytes);
        while (auto e = s.ep.poll_event()) {
            ++delivered;
            ASSERT_TRUE(s.ep.send_response(s.now, std::get<IncomingRequest>(*e).id,
                                           ack(code::content).payload(kLarge)));
        }
        while (auto d = s.tx())
            c.receive_bytes(kPeerB, d->bytes);
        while (auto e = c.ep.poll_event())
            got = std::get<Response>(*e).response.payload;
    }
    EXPECT_EQ(got, kLarge);
    EXPECT_EQ(delivered, 2);
    EXPECT_EQ(s.ep.stats().echo_challenges, 1U);
    EXPECT_EQ(s.ep.stats().peers_verified, 1U);
}

// SipHash-2-4 reference vectors (Aumasson, Bernstein 2012, Appendix A; key 00..0f).
TEST(CoapEndpointEcho, SipHashReferenceVectors) {
    const std::array<std::uint64_t, 2> key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    Bytes msg;
    EXPECT_EQ(detail::siphash24(key, msg), 0x726fdb47dd0e0e31ULL);
    for (int i = 0; i < 15; ++i)
        msg.push_back(static_cast<std::byte>(i));
    EXPECT_EQ(detail::siphash24(key, msg), 0xa129ca6149be45e5ULL);
}
