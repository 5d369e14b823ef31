// In-memory handshakes (client and server objects passing datagrams directly, virtual time):
// PSK with both PSK suites, RPK and X.509 with both ECDHE suites, the failure cases, identity/key
// sizes, close_notify, NoSec.
#include <gtest/gtest.h>

#include <lwm2m/dtls/nosec.hpp>

#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace {

const PeerAddr kClient = PeerAddr::v4(192, 0, 2, 10, 40000);

struct PskSetup {
    MemStore store;
    std::optional<ServerTable> server;
    std::optional<ClientSession> client;
    std::optional<Bench> bench;
};

ServerConfig psk_server_config(std::vector<CipherSuite> suites = default_cipher_suites()) {
    ServerConfig c;
    c.cipher_suites = std::move(suites);
    return c;
}

ClientConfig psk_client_config(const Bytes& identity, const Bytes& key,
                               std::vector<CipherSuite> suites = default_cipher_suites()) {
    ClientConfig c;
    c.server = PeerAddr::v4(10, 0, 0, 1, 5684);
    c.credentials = PskCredentials{identity, SecretBytes(key)};
    c.cipher_suites = std::move(suites);
    return c;
}

/// Runs a handshake and one application round trip; returns the server's HandshakeDone.
void expect_round_trip(Bench& b, ClientSession& client, ServerTable& server) {
    const Bytes ping = bytes_of({0x40, 0x01, 0x00, 0x00, 0x00, 0x01});
    ASSERT_TRUE(client.send(b.now, client.server(), ping).has_value());
    b.settle();
    auto got = only<Plaintext>(b.server_events);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got.back().peer, kClient);
    EXPECT_EQ(got.back().data, ping);
    const Bytes pong = pattern(200, 7);
    ASSERT_TRUE(server.send(b.now, kClient, pong).has_value());
    b.settle();
    auto back = only<Plaintext>(b.client_events[kClient]);
    ASSERT_FALSE(back.empty());
    EXPECT_EQ(back.back().data, pong);
}

class PskSuites : public ::testing::TestWithParam<CipherSuite> {};

TEST_P(PskSuites, HandshakeAndRoundTrip) {
    MemStore store;
    const Bytes id = to_bytes("urn:imei:123456789012345");
    const Bytes key = pattern(16, 1);
    store.psk[id] = SecretBytes(key);
    auto server = ServerTable::create(psk_server_config({GetParam()}), store);
    ASSERT_TRUE(server) << server.error().message();
    auto client = ClientSession::create(psk_client_config(id, key, {GetParam()}));
    ASSERT_TRUE(client) << client.error().message();
    Bench b(*server);
    b.add(kClient, *client);
    ASSERT_TRUE(client->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return client->established(); }, 10s));
    EXPECT_TRUE(server->established(kClient));
    EXPECT_EQ(server->size(), 1U);
    EXPECT_EQ(server->stats().hello_verify_sent, 1U);
    auto sd = only<HandshakeDone>(b.server_events);
    ASSERT_EQ(sd.size(), 1U);
    EXPECT_EQ(sd[0].identity.kind, PeerIdentity::Kind::psk);
    EXPECT_EQ(sd[0].identity.psk_identity, id);
    EXPECT_EQ(sd[0].suite, GetParam());
    auto cd = only<HandshakeDone>(b.client_events[kClient]);
    ASSERT_EQ(cd.size(), 1U);
    EXPECT_EQ(cd[0].suite, GetParam());
    expect_round_trip(b, *client, *server);
    EXPECT_GT(client->max_plaintext(), 1000U);
    EXPECT_LT(client->max_plaintext(), 1232U);
}

INSTANTIATE_TEST_SUITE_P(Dtls, PskSuites,
                         ::testing::Values(CipherSuite::psk_aes_128_ccm_8,
                                           CipherSuite::psk_aes_128_cbc_sha256));

} // namespace
} // namespace lwm2m::dtls::test
