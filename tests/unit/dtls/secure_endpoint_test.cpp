// SecureEndpoint: CoAP requests/responses through DTLS, client and server role, in memory.
#include <gtest/gtest.h>

#include <lwm2m/dtls/secure_endpoint.hpp>

#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace {

const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 1, 5684);
const PeerAddr kClient = PeerAddr::v4(192, 0, 2, 9, 56830);

template <class A, class B>
void shuttle(TimePoint now, A& client, B& server) {
    for (int i = 0; i < 50; ++i) {
        bool moved = false;
        while (auto d = client.poll_transmit()) {
            moved = true;
            server.on_datagram(now, kClient, d->bytes);
        }
        while (auto d = server.poll_transmit()) {
            moved = true;
            client.on_datagram(now, kServer, d->bytes);
        }
        if (!moved) return;
    }
}

TEST(DtlsSecureEndpoint, CoapRequestStartsHandshakeAndGetsResponse) {
    lwm2m::test::GnutlsVirtualTime::install(TimePoint{});
    MemStore store;
    const Bytes id = to_bytes("coap-ep");
    store.psk[id] = SecretBytes(pattern(16, 4));
    auto table = ServerTable::create(ServerConfig{}, store);
    ClientConfig ccfg;
    ccfg.server = kServer;
    ccfg.credentials = PskCredentials{id, SecretBytes(pattern(16, 4))};
    auto session = ClientSession::create(ccfg);
    ASSERT_TRUE(table && session);
    SeededRandom r1(1), r2(2);
    coap::Endpoint coap_server(coap::Config{}, r1), coap_client(coap::Config{}, r2);
    SecureEndpoint<ServerTable> server(coap_server, *table);
    SecureEndpoint<ClientSession> client(coap_client, *session);
    TimePoint now{};

    coap::Message req;
    req.type = coap::Type::con;
    req.code = coap::code::get;
    req.set_path("/3/0/0");
    auto rid = client.coap().send_request(now, kServer, req);
    ASSERT_TRUE(rid);
    client.flush(now); // starts the DTLS handshake, the request waits for it
    EXPECT_FALSE(session->established());
    shuttle(now, client, server);
    EXPECT_TRUE(session->established());

    std::optional<coap::IncomingRequest> in;
    std::size_t server_dtls_events = 0;
    while (auto e = server.poll_event()) {
        if (auto* ce = std::get_if<coap::Event>(&*e)) {
            if (auto* ir = std::get_if<coap::IncomingRequest>(ce)) in = *ir;
        } else {
            ++server_dtls_events; // HandshakeDone
        }
    }
    EXPECT_EQ(server_dtls_events, 1U);
    ASSERT_TRUE(in);
    EXPECT_EQ(in->request.path(), "/3/0/0");
    EXPECT_EQ(in->peer, kClient);
    coap::Message resp;
    resp.code = coap::code::content;
    resp.payload = to_bytes("lwm2m-cpp");
    ASSERT_TRUE(server.coap().send_response(now, in->id, resp));
    server.flush(now);
    shuttle(now, client, server);
    std::optional<coap::Response> got;
    while (auto e = client.poll_event())
        if (auto* ce = std::get_if<coap::Event>(&*e))
            if (auto* r = std::get_if<coap::Response>(ce)) got = *r;
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id, *rid);
    EXPECT_EQ(got->response.code, coap::code::content);
    EXPECT_EQ(got->response.payload, to_bytes("lwm2m-cpp"));
    EXPECT_EQ(client.dropped(), 0U);
    EXPECT_EQ(server.dropped(), 0U);
}

TEST(DtlsSecureEndpoint, ServerDropsCoapToPeersWithoutSession) {
    MemStore store;
    auto table = ServerTable::create(ServerConfig{}, store);
    ASSERT_TRUE(table);
    SeededRandom r(3);
    coap::Endpoint coap_server(coap::Config{}, r);
    SecureEndpoint<ServerTable> server(coap_server, *table);
    coap::Message req;
    req.type = coap::Type::non;
    req.code = coap::code::get;
    req.set_path("/x");
    ASSERT_TRUE(server.coap().send_request(TimePoint{}, kClient, req));
    server.flush(TimePoint{});
    EXPECT_FALSE(server.poll_transmit()); // nothing leaves in clear text
    EXPECT_EQ(server.dropped(), 1U);
}

TEST(DtlsSecureEndpoint, NoSecPassesThrough) {
    NoSecChannel ch_a, ch_b;
    SeededRandom r1(5), r2(6);
    coap::Endpoint ca(coap::Config{}, r1), cb(coap::Config{}, r2);
    SecureEndpoint<NoSecChannel> a(ca, ch_a), b(cb, ch_b);
    coap::Message req;
    req.type = coap::Type::con;
    req.code = coap::code::get;
    req.set_path("/ping");
    ASSERT_TRUE(a.coap().send_request(TimePoint{}, kServer, req));
    a.flush(TimePoint{});
    auto d = a.poll_transmit();
    ASSERT_TRUE(d);
    b.on_datagram(TimePoint{}, kClient, d->bytes);
    auto e = b.poll_event();
    ASSERT_TRUE(e);
    auto* ce = std::get_if<coap::Event>(&*e);
    ASSERT_TRUE(ce && std::holds_alternative<coap::IncomingRequest>(*ce));
}

} // namespace
} // namespace lwm2m::dtls::test
