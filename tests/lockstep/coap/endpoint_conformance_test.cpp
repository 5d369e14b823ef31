// RFC 7252 §5.4.1, §5.4.3, §5.4.5 conformance of coap::Endpoint, driven by the one option
// registry (option::info()): a critical option that repeats without being repeatable, or whose
// value length is out of range, is unrecognized (4.02 Bad Option for a CON request, a NON request
// is dropped, a response is rejected); the same faults in an elective option are ignored.
#include <gtest/gtest.h>

#include <string>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "support/coap_script.hpp"

using namespace lwm2m;
using namespace lwm2m::coap;
using namespace lwm2m::test;

namespace {

struct BadCritical {
    const char* what;
    std::uint16_t number;
    std::string value;
    bool twice; ///< add the option a second time (same value)
};

std::vector<BadCritical> bad_critical_cases() {
    return {
        {"Uri-Host twice", option::uri_host, "example.org", true},
        {"Uri-Port twice", option::uri_port, std::string("\x16\x33", 2), true},
        {"Accept twice", option::accept, std::string(1, '\x28'), true},
        {"Block2 twice", option::block2, std::string(1, '\x06'), true},
        {"Block1 twice", option::block1, std::string(1, '\x06'), true},
        {"Uri-Port of 3 bytes", option::uri_port, std::string("\x00\x16\x33", 3), false},
        {"Accept of 3 bytes", option::accept, std::string("\x00\x00\x28", 3), false},
        {"empty Uri-Host", option::uri_host, "", false},
        {"Block2 of 4 bytes", option::block2, std::string("\x00\x00\x00\x06", 4), false},
        {"Block1 of 4 bytes", option::block1, std::string("\x00\x00\x00\x06", 4), false},
        {"Uri-Path of 256 bytes", option::uri_path, std::string(256, 'p'), false},
    };
}

MsgBuilder with_bad(MsgBuilder b, const BadCritical& c) {
    b.opt(c.number, c.value);
    if (c.twice) b.opt(c.number, c.value);
    return b;
}

} // namespace

// §5.4.5 + §5.4.3 for critical options: 4.02 piggybacked, never delivered.
TEST(CoapEndpointConformance, BadCriticalOptionInConRequestGetsBadOption) {
    Lockstep t(det_config());
    MessageId mid = 100;
    for (const auto& c : bad_critical_cases()) {
        t.receive(kPeerA, with_bad(con(code::get).mid(mid).token("t").path("/large"), c).build());
        const Message r = t.expect_tx();
        EXPECT_EQ(r.type, Type::ack) << c.what;
        EXPECT_EQ(r.message_id, mid) << c.what;
        EXPECT_EQ(r.code, code::bad_option) << c.what;
        EXPECT_EQ(r.token, Token(as_bytes("t"))) << c.what;
        t.expect_no_event();
        ++mid;
    }
    EXPECT_EQ(t.ep.stats().bad_option, bad_critical_cases().size());
}

// §5.4.1: "rejected" for a NON: silently dropped, never delivered.
TEST(CoapEndpointConformance, BadCriticalOptionInNonRequestIsDropped) {
    Lockstep t(det_config());
    MessageId mid = 200;
    for (const auto& c : bad_critical_cases()) {
        t.receive(kPeerA, with_bad(non(code::get).mid(mid).token("n").path("/large"), c).build());
        t.expect_no_tx();
        t.expect_no_event();
        ++mid;
    }
    EXPECT_EQ(t.ep.stats().bad_option, bad_critical_cases().size());
}

// §5.4.1, §5.4.3, §5.4.5 for elective options: ignored (removed before the application sees
// the request); the first occurrence of a repeated non-repeatable elective option is kept.
TEST(CoapEndpointConformance, BadElectiveOptionsAreIgnored) {
    Lockstep t(det_config());
    // Observe of 4 bytes (range 0-3): ignored, so this is a plain GET, not a registration.
    t.receive(kPeerA, con(code::get)
                          .mid(1)
                          .token("o")
                          .path("/obs")
                          .opt(option::observe, std::string(4, '\0'))
                          .build());
    auto in = t.expect_event<IncomingRequest>();
    EXPECT_FALSE(in.observe_register);
    EXPECT_EQ(in.request.find(option::observe), nullptr);
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, ack(code::content).payload("v")));
    EXPECT_EQ(t.expect_tx().code, code::content);

    // Content-Format twice: the second occurrence is supernumerary and ignored.
    t.receive(kPeerA, con(code::put)
                          .mid(2)
                          .token("c")
                          .path("/x")
                          .opt(option::content_format, std::string(1, '\x2a'))
                          .opt(option::content_format, std::string(1, '\x3c'))
                          .payload("p")
                          .build());
    in = t.expect_event<IncomingRequest>();
    int count = 0;
    for (const auto& o : in.request.options())
        count += o.number == option::content_format ? 1 : 0;
    EXPECT_EQ(count, 1);
    EXPECT_EQ(in.request.uint_option(option::content_format), 42U);
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, ack(code::changed)));
    EXPECT_EQ(t.expect_tx().code, code::changed);

    // ETag of 9 bytes (1-8), Size1 of 5 bytes (0-4), empty Echo (1-40): all ignored.
    t.receive(kPeerA, con(code::get)
                          .mid(3)
                          .token("e")
                          .path("/x")
                          .opt(option::etag, "123456789")
                          .opt(option::size1, std::string(5, '\x01'))
                          .opt(option::echo, "")
                          .build());
    in = t.expect_event<IncomingRequest>();
    EXPECT_EQ(in.request.find(option::etag), nullptr);
    EXPECT_EQ(in.request.find(option::size1), nullptr);
    EXPECT_EQ(in.request.find(option::echo), nullptr);
    EXPECT_EQ(in.request.path(), "/x");
    EXPECT_EQ(t.ep.stats().options_ignored, 5U);
    EXPECT_EQ(t.ep.stats().bad_option, 0U);
}

// Client role: a response with a bad critical option is rejected (piggybacked: the request
// fails with parse_error; separate CON: RST and the request fails).
TEST(CoapEndpointConformance, ResponseWithBadCriticalOptionIsRejected) {
    Lockstep t(det_config());
    auto id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/a"));
    ASSERT_TRUE(id);
    Message req = t.expect_tx();
    t.receive(kPeerA, ack(code::content)
                          .mid(req.message_id)
                          .token(req.token)
                          .opt(option::block2, std::string("\x00\x00\x00\x06", 4))
                          .payload("x")
                          .build());
    auto f = t.expect_event<RequestFailed>();
    EXPECT_EQ(f.id, *id);
    EXPECT_EQ(f.error, lwm2m::make_error_code(lwm2m::Errc::parse_error));

    id = t.ep.send_request(t.now, kPeerA, con(code::get).path("/b"));
    ASSERT_TRUE(id);
    req = t.expect_tx();
    t.receive(kPeerA, ack().mid(req.message_id).build()); // empty ACK: separate response
    t.expect_no_tx();
    t.receive(kPeerA, con(code::content)
                          .mid(0x7000)
                          .token(req.token)
                          .opt(option::uri_port, std::string(1, '\x01'))
                          .opt(option::uri_port, std::string(1, '\x02'))
                          .payload("y")
                          .build());
    const Message rst = t.expect_tx();
    EXPECT_EQ(rst.type, Type::rst);
    EXPECT_EQ(rst.message_id, 0x7000);
    f = t.expect_event<RequestFailed>();
    EXPECT_EQ(f.id, *id);
}

// The registry also guards what the endpoint sends: an application message whose options the
// peer would have to reject is refused with invalid_argument, nothing is sent.
TEST(CoapEndpointConformance, NonConformantOutgoingOptionsAreRefused) {
    Lockstep t(det_config());
    Message bad = con(code::get).path("/a");
    bad.add_option(option::uri_port, BytesView(as_bytes("abc"))); // 3 bytes: range 0-2
    auto id = t.ep.send_request(t.now, kPeerA, bad);
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error(), lwm2m::make_error_code(lwm2m::Errc::invalid_argument));
    t.expect_no_tx();

    t.receive(kPeerA, con(code::get).mid(5).token("r").path("/a").build());
    auto in = t.expect_event<IncomingRequest>();
    Message resp = ack(code::content).payload("v");
    resp.add_option(option::etag, BytesView(as_bytes("1")));
    resp.add_option(option::content_format, BytesView(as_bytes("1")));
    resp.add_option(option::content_format, BytesView(as_bytes("2"))); // not repeatable
    auto r = t.ep.send_response(t.now, in.id, resp);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), lwm2m::make_error_code(lwm2m::Errc::invalid_argument));
    t.expect_no_tx();
    // The request is still open: a valid response goes out.
    ASSERT_TRUE(t.ep.send_response(t.now, in.id, ack(code::content).payload("v")));
    EXPECT_EQ(t.expect_tx().code, code::content);
}

// RFC 7959 §2.9.3, RFC 7252 §5.9.2.9: a CON request larger than the driver's receive buffer
// (on_oversized) is answered 4.13 with Size1 (the largest body accepted) and Block1 (the block
// size to retry with); a NON is dropped; another CON is rejected with RST; an unreadable head
// is dropped.
TEST(CoapEndpointConformance, OversizedDatagramGets413WithSize1) {
    Config c = det_config();
    c.block_size = 512;
    c.max_body_size = 100000;
    Lockstep t(c);
    const Bytes full = con(code::put)
                           .mid(0x4242)
                           .token("big-tok")
                           .path("/3/0/1")
                           .payload(pattern_body(6000))
                           .bytes();
    const BytesView head(full.data(), 4096);
    t.ep.on_oversized(t.now, kPeerA, head, full.size());
    const Message r = t.expect_tx();
    EXPECT_EQ(r.type, Type::ack);
    EXPECT_EQ(r.message_id, 0x4242);
    EXPECT_EQ(r.token, Token(as_bytes("big-tok")));
    EXPECT_EQ(r.code, code::request_entity_too_large);
    EXPECT_EQ(r.uint_option(option::size1), 100000U);
    const auto b1 = block1_of(r);
    ASSERT_TRUE(b1);
    EXPECT_EQ(b1->num, 0U);
    EXPECT_FALSE(b1->more);
    EXPECT_EQ(b1->size(), 512U);
    EXPECT_TRUE(r.payload.empty());
    t.expect_no_event();
    // The answer is stateless: the retransmission gets the same answer.
    t.ep.on_oversized(t.now, kPeerA, head, full.size());
    EXPECT_EQ(t.expect_tx().code, code::request_entity_too_large);

    const Bytes non_full =
        non(code::post).mid(7).token("n").path("/x").payload(pattern_body(5000)).bytes();
    t.ep.on_oversized(t.now, kPeerA, BytesView(non_full.data(), 4096), non_full.size());
    t.expect_no_tx();
    const Bytes resp = con(code::content).mid(8).token("r").payload(pattern_body(5000)).bytes();
    t.ep.on_oversized(t.now, kPeerA, BytesView(resp.data(), 4096), resp.size());
    const Message rst = t.expect_tx();
    EXPECT_EQ(rst.type, Type::rst);
    EXPECT_EQ(rst.message_id, 8);
    t.ep.on_oversized(t.now, kPeerA, BytesView(full.data(), 3), full.size());
    t.ep.on_oversized(t.now, kPeerA, BytesView(full.data(), 6), full.size()); // token cut
    t.expect_no_tx();
    t.expect_no_event();
    EXPECT_EQ(t.ep.stats().oversized, 6U);
}
