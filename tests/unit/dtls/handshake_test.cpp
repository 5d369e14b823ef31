// In-memory handshakes (client and server objects passing datagrams directly, virtual time):
// PSK with both PSK suites, RPK and X.509 with both ECDHE suites, the failure cases, identity/key
// sizes, close_notify, NoSec.
#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
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

// ---- helpers for the certificate modes ---------------------------------------------------------

const lwm2m::test::TestPki& pki() {
    return lwm2m::test::test_pki();
}

RpkCredentials rpk_of(const lwm2m::test::TestKey& k) {
    return {k.spki_der, k.private_key_der};
}
X509Credentials x509_of(const lwm2m::test::TestCert& c) {
    return {{c.der}, c.key.private_key_der};
}

ServerConfig cert_server_config(std::vector<CipherSuite> suites = default_cipher_suites()) {
    ServerConfig c;
    c.cipher_suites = std::move(suites);
    c.psk = true;
    c.rpk = rpk_of(pki().server_rpk);
    c.x509 = x509_of(pki().server);
    c.client_ca_der = {pki().ca.der};
    return c;
}

struct Outcome {
    std::vector<Event> server;
    std::vector<Event> client;
    bool established = false;
    std::size_t table_size = 0;
};

Outcome run(ServerConfig scfg, MemStore& store, ClientConfig ccfg, Duration limit = 200s) {
    Outcome o;
    auto server = ServerTable::create(std::move(scfg), store);
    EXPECT_TRUE(server) << server.error().message();
    if (!server) return o;
    ccfg.server = PeerAddr::v4(10, 0, 0, 1, 5684);
    auto client = ClientSession::create(std::move(ccfg));
    EXPECT_TRUE(client) << client.error().message();
    if (!client) return o;
    Bench b(*server);
    b.add(kClient, *client);
    EXPECT_TRUE(client->connect(b.now));
    b.run_until(
        [&] {
            return client->established() ||
                   !only<HandshakeFailed>(b.client_events[kClient]).empty();
        },
        limit);
    // Let the server see the outcome too (alerts, timeouts).
    b.run_until([&] { return server->size() == 0 || server->established(kClient); }, limit);
    o.established = client->established();
    if (o.established) expect_round_trip(b, *client, *server);
    o.server = b.server_events;
    o.client = b.client_events[kClient];
    o.table_size = server->size();
    return o;
}

Error first_failure(const std::vector<Event>& ev) {
    auto f = only<HandshakeFailed>(ev);
    return f.empty() ? Error{} : f.front().error;
}

// ---- RPK (RFC 7250) ---------------------------------------------------------------------------

class EcdheSuites : public ::testing::TestWithParam<CipherSuite> {};

TEST_P(EcdheSuites, RawPublicKeyHandshake) {
    MemStore store;
    store.rpk.push_back(pki().client_rpk.spki_der);
    ClientConfig c;
    c.credentials = rpk_of(pki().client_rpk);
    c.server_public_key = pki().server_rpk.spki_der;
    c.cipher_suites = {GetParam()};
    auto o = run(cert_server_config({GetParam()}), store, std::move(c));
    ASSERT_TRUE(o.established);
    auto sd = only<HandshakeDone>(o.server);
    ASSERT_EQ(sd.size(), 1U);
    EXPECT_EQ(sd[0].identity.kind, PeerIdentity::Kind::raw_public_key);
    EXPECT_EQ(sd[0].identity.public_key_spki, pki().client_rpk.spki_der);
    EXPECT_EQ(sd[0].suite, GetParam());
    auto cd = only<HandshakeDone>(o.client);
    ASSERT_EQ(cd.size(), 1U);
    EXPECT_EQ(cd[0].identity.public_key_spki, pki().server_rpk.spki_der);
}

TEST_P(EcdheSuites, X509Handshake) {
    MemStore store;
    ClientConfig c;
    c.credentials = x509_of(pki().client);
    c.server_public_key = pki().server.der; // usage 3: domain-issued certificate
    c.cipher_suites = {GetParam()};
    auto o = run(cert_server_config({GetParam()}), store, std::move(c));
    ASSERT_TRUE(o.established);
    auto sd = only<HandshakeDone>(o.server);
    ASSERT_EQ(sd.size(), 1U);
    EXPECT_EQ(sd[0].identity.kind, PeerIdentity::Kind::x509);
    EXPECT_EQ(sd[0].identity.subject_dn, "CN=client-ep");
    EXPECT_EQ(sd[0].identity.certificate_der, pki().client.der);
    EXPECT_EQ(sd[0].identity.public_key_spki, pki().client.key.spki_der);
    EXPECT_EQ(sd[0].suite, GetParam());
    auto cd = only<HandshakeDone>(o.client);
    ASSERT_EQ(cd.size(), 1U);
    EXPECT_EQ(cd[0].identity.subject_dn, "CN=server");
}

INSTANTIATE_TEST_SUITE_P(Dtls, EcdheSuites,
                         ::testing::Values(CipherSuite::ecdhe_ecdsa_aes_128_ccm_8,
                                           CipherSuite::ecdhe_ecdsa_aes_128_cbc_sha256));

TEST(DtlsX509, CertificateUsages) {
    struct Case {
        CertificateUsage usage;
        Bytes pin;
        bool ok;
        Errc error = Errc::peer_verification_failed;
    };
    const std::vector<Case> cases = {
        {CertificateUsage::domain_issued_certificate, pki().server.der, true},
        {CertificateUsage::domain_issued_certificate, pki().expired_server.der, false},
        {CertificateUsage::trust_anchor_assertion, pki().ca.der, true},
        {CertificateUsage::trust_anchor_assertion, pki().other_ca.der, false,
         Errc::certificate_untrusted},
        {CertificateUsage::service_certificate_constraint, pki().server.der, true},
        {CertificateUsage::ca_constraint, pki().ca.der, true},
        {CertificateUsage::ca_constraint, pki().other_ca.der, false},
    };
    for (const auto& k : cases) {
        MemStore store;
        ClientConfig c;
        c.credentials = x509_of(pki().client);
        c.server_public_key = k.pin;
        c.certificate_usage = k.usage;
        c.trust_anchors_der = {pki().ca.der};
        auto o = run(cert_server_config(), store, std::move(c));
        EXPECT_EQ(o.established, k.ok) << "usage " << static_cast<int>(k.usage);
        if (!k.ok) {
            EXPECT_EQ(first_failure(o.client), make_error_code(k.error))
                << "usage " << static_cast<int>(k.usage) << ": "
                << first_failure(o.client).message();
            EXPECT_EQ(o.table_size, 0U);
        }
    }
}

// ---- failures: each with its specific error, no session left, no crash ------------------------

TEST(DtlsFailure, WrongPskKey) {
    MemStore store;
    const Bytes id = to_bytes("ep-1");
    store.psk[id] = SecretBytes(pattern(16, 1));
    auto o = run(psk_server_config(), store, psk_client_config(id, pattern(16, 2)));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.server), make_error_code(Errc::bad_credentials))
        << first_failure(o.server).message();
    EXPECT_EQ(first_failure(o.client), make_error_code(Errc::bad_credentials))
        << first_failure(o.client).message();
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, UnknownPskIdentity) {
    MemStore store;
    store.psk[to_bytes("known")] = SecretBytes(pattern(16, 1));
    auto o =
        run(psk_server_config(), store, psk_client_config(to_bytes("stranger"), pattern(16, 1)));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.server), make_error_code(Errc::unknown_identity))
        << first_failure(o.server).message();
    EXPECT_EQ(first_failure(o.client), make_error_code(Errc::unknown_identity))
        << first_failure(o.client).message();
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, WrongPinnedServerRpk) {
    MemStore store;
    store.rpk.push_back(pki().client_rpk.spki_der);
    ClientConfig c;
    c.credentials = rpk_of(pki().client_rpk);
    c.server_public_key = pki().other_rpk.spki_der;
    auto o = run(cert_server_config(), store, std::move(c));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.client), make_error_code(Errc::peer_verification_failed))
        << first_failure(o.client).message();
    EXPECT_EQ(first_failure(o.server), make_error_code(Errc::peer_rejected))
        << first_failure(o.server).message();
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, ClientRpkNotInStore) {
    MemStore store; // knows no key
    ClientConfig c;
    c.credentials = rpk_of(pki().client_rpk);
    c.server_public_key = pki().server_rpk.spki_der;
    auto o = run(cert_server_config(), store, std::move(c));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.server), make_error_code(Errc::unknown_identity))
        << first_failure(o.server).message();
    EXPECT_EQ(first_failure(o.client), make_error_code(Errc::peer_rejected))
        << first_failure(o.client).message();
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, ExpiredClientCertificate) {
    MemStore store;
    ClientConfig c;
    c.credentials = x509_of(pki().expired_client);
    c.server_public_key = pki().server.der;
    auto o = run(cert_server_config(), store, std::move(c));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.server), make_error_code(Errc::certificate_expired))
        << first_failure(o.server).message();
    EXPECT_EQ(first_failure(o.client), make_error_code(Errc::peer_rejected));
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, UntrustedClientCertificate) {
    MemStore store;
    ClientConfig c;
    c.credentials = x509_of(pki().untrusted_client);
    c.server_public_key = pki().server.der;
    auto o = run(cert_server_config(), store, std::move(c));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.server), make_error_code(Errc::certificate_untrusted))
        << first_failure(o.server).message();
    EXPECT_EQ(first_failure(o.client), make_error_code(Errc::peer_rejected));
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, ExpiredServerCertificateWithTrustAnchor) {
    MemStore store;
    auto scfg = cert_server_config();
    scfg.x509 = x509_of(pki().expired_server);
    ClientConfig c;
    c.credentials = x509_of(pki().client);
    c.server_public_key = pki().ca.der;
    c.certificate_usage = CertificateUsage::trust_anchor_assertion;
    auto o = run(std::move(scfg), store, std::move(c));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.client), make_error_code(Errc::certificate_expired))
        << first_failure(o.client).message();
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, UntrustedServerCertificateWithTrustAnchor) {
    MemStore store;
    auto scfg = cert_server_config();
    scfg.x509 = x509_of(pki().untrusted_server);
    ClientConfig c;
    c.credentials = x509_of(pki().client);
    c.server_public_key = pki().ca.der;
    c.certificate_usage = CertificateUsage::trust_anchor_assertion;
    auto o = run(std::move(scfg), store, std::move(c));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.client), make_error_code(Errc::certificate_untrusted))
        << first_failure(o.client).message();
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, CertificateRefusedByStore) {
    MemStore store;
    store.allow_certs = false;
    ClientConfig c;
    c.credentials = x509_of(pki().client);
    c.server_public_key = pki().server.der;
    auto o = run(cert_server_config(), store, std::move(c));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.server), make_error_code(Errc::unknown_identity));
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, NoCommonSuite) {
    MemStore store;
    const Bytes id = to_bytes("ep");
    store.psk[id] = SecretBytes(pattern(16, 1));
    auto o = run(psk_server_config({CipherSuite::psk_aes_128_cbc_sha256}), store,
                 psk_client_config(id, pattern(16, 1), {CipherSuite::psk_aes_128_ccm_8}));
    EXPECT_FALSE(o.established);
    EXPECT_EQ(first_failure(o.server), make_error_code(Errc::no_common_cipher_suite))
        << first_failure(o.server).message();
    EXPECT_EQ(first_failure(o.client), make_error_code(Errc::no_common_cipher_suite))
        << first_failure(o.client).message();
    EXPECT_EQ(o.table_size, 0U);
}

TEST(DtlsFailure, HandshakeTimeoutWithoutServer) {
    auto client = ClientSession::create(psk_client_config(to_bytes("ep"), pattern(16, 1)));
    ASSERT_TRUE(client);
    lwm2m::test::GnutlsVirtualTime::install(TimePoint{});
    TimePoint now{};
    ASSERT_TRUE(client->connect(now));
    std::size_t sent = 0;
    std::optional<Event> ev;
    for (int i = 0; i < 1000 && !ev; ++i) {
        while (client->poll_transmit())
            ++sent;
        ev = client->poll_event();
        if (ev) break;
        auto d = client->next_deadline();
        ASSERT_TRUE(d.has_value());
        now = *d;
        lwm2m::test::GnutlsVirtualTime::set(now);
        client->on_timeout(now);
        ev = client->poll_event();
    }
    ASSERT_TRUE(ev.has_value());
    ASSERT_TRUE(std::holds_alternative<HandshakeFailed>(*ev));
    EXPECT_EQ(std::get<HandshakeFailed>(*ev).error, make_error_code(Errc::handshake_timeout));
    EXPECT_GE(sent, 4U); // retransmitted with back-off (RFC 6347 §4.2.4)
    EXPECT_GE(now, TimePoint{} + 60s);
    EXPECT_LT(now, TimePoint{} + 62s);
    EXPECT_FALSE(client->next_deadline().has_value());
}

// ---- identity / key sizes, binary identities ---------------------------------------------------

struct Sizes {
    std::size_t id;
    std::size_t key;
};
class PskSizes : public ::testing::TestWithParam<Sizes> {};

TEST_P(PskSizes, BinaryIdentityAndKey) {
    Bytes id = pattern(GetParam().id, 3);
    for (std::size_t i = 0; i < id.size(); i += 5)
        id[i] = std::byte{0}; // 0x00 inside
    const Bytes key = pattern(GetParam().key, 9);
    for (CipherSuite suite :
         {CipherSuite::psk_aes_128_ccm_8, CipherSuite::psk_aes_128_cbc_sha256}) {
        MemStore store;
        store.psk[id] = SecretBytes(key);
        auto o = run(psk_server_config({suite}), store, psk_client_config(id, key, {suite}));
        ASSERT_TRUE(o.established)
            << GetParam().id << "/" << GetParam().key << ": " << first_failure(o.client).message();
        auto sd = only<HandshakeDone>(o.server);
        ASSERT_EQ(sd.size(), 1U);
        EXPECT_EQ(sd[0].identity.psk_identity, id); // never truncated
        // The same identity with a one-byte-shorter key must fail (the whole key is used).
        MemStore store2;
        Bytes short_key(key.begin(), key.end() - 1);
        if (short_key.empty()) short_key = bytes_of({0x55});
        store2.psk[id] = SecretBytes(short_key);
        auto bad = run(psk_server_config({suite}), store2, psk_client_config(id, key, {suite}));
        EXPECT_FALSE(bad.established);
        EXPECT_EQ(first_failure(bad.server), make_error_code(Errc::bad_credentials));
    }
}

INSTANTIATE_TEST_SUITE_P(Dtls, PskSizes,
                         ::testing::Values(Sizes{1, 1}, Sizes{16, 16}, Sizes{128, 64},
                                           Sizes{129, 65}, Sizes{256, 128}, Sizes{1024, 512}));

// ---- close_notify both ways --------------------------------------------------------------------

TEST(DtlsClose, ClientCloseNotify) {
    MemStore store;
    const Bytes id = to_bytes("ep");
    store.psk[id] = SecretBytes(pattern(16, 1));
    auto server = ServerTable::create(psk_server_config(), store);
    auto client = ClientSession::create(psk_client_config(id, pattern(16, 1)));
    ASSERT_TRUE(server && client);
    Bench b(*server);
    b.add(kClient, *client);
    ASSERT_TRUE(client->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return client->established(); }));
    client->close(b.now);
    b.settle();
    auto closed = only<Closed>(b.server_events);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].peer, kClient);
    EXPECT_EQ(closed[0].reason, make_error_code(Errc::closed));
    EXPECT_EQ(server->size(), 0U);
    EXPECT_FALSE(client->established());
    EXPECT_EQ(client->send(b.now, client->server(), pattern(4, 1)).error(),
              make_error_code(Errc::not_connected));
}

TEST(DtlsClose, ServerCloseNotify) {
    MemStore store;
    const Bytes id = to_bytes("ep");
    store.psk[id] = SecretBytes(pattern(16, 1));
    auto server = ServerTable::create(psk_server_config(), store);
    auto client = ClientSession::create(psk_client_config(id, pattern(16, 1)));
    ASSERT_TRUE(server && client);
    Bench b(*server);
    b.add(kClient, *client);
    ASSERT_TRUE(client->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return client->established(); }));
    server->close(b.now, kClient);
    b.settle();
    EXPECT_EQ(server->size(), 0U);
    auto closed = only<Closed>(b.client_events[kClient]);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reason, make_error_code(Errc::closed));
    EXPECT_FALSE(client->established());
    // Reconnect works after a close.
    ASSERT_TRUE(client->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return client->established(); }));
    EXPECT_EQ(server->size(), 1U);
}

TEST(DtlsMisc, SendLimits) {
    MemStore store;
    const Bytes id = to_bytes("ep");
    store.psk[id] = SecretBytes(pattern(16, 1));
    auto server = ServerTable::create(psk_server_config(), store);
    auto client = ClientSession::create(psk_client_config(id, pattern(16, 1)));
    ASSERT_TRUE(server && client);
    Bench b(*server);
    b.add(kClient, *client);
    EXPECT_EQ(client->send(b.now, client->server(), pattern(4, 1)).error(),
              make_error_code(Errc::not_connected));
    EXPECT_EQ(server->send(b.now, kClient, pattern(4, 1)).error(),
              make_error_code(Errc::not_connected));
    ASSERT_TRUE(client->connect(b.now));
    EXPECT_EQ(client->connect(b.now).error(), make_error_code(lwm2m::Errc::invalid_state));
    ASSERT_TRUE(b.run_until([&] { return client->established(); }));
    const std::size_t max = client->max_plaintext();
    EXPECT_TRUE(client->send(b.now, client->server(), pattern(max, 1)));
    EXPECT_EQ(client->send(b.now, client->server(), pattern(max + 1, 1)).error(),
              make_error_code(Errc::message_too_large));
    b.settle();
    auto got = only<Plaintext>(b.server_events);
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0].data.size(), max);
    for (const auto& d : std::vector<Datagram>{})
        (void)d;
}

// ---- NoSec -------------------------------------------------------------------------------------

TEST(DtlsNoSec, PassThrough) {
    NoSecChannel a;
    const auto peer = PeerAddr::v4(127, 0, 0, 1, 5683);
    ASSERT_TRUE(a.send(TimePoint{}, peer, to_bytes("hello")));
    auto d = a.poll_transmit();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->peer, peer);
    EXPECT_EQ(d->bytes, to_bytes("hello"));
    a.on_datagram(TimePoint{}, peer, to_bytes("world"));
    auto e = a.poll_event();
    ASSERT_TRUE(e && std::holds_alternative<Plaintext>(*e));
    EXPECT_EQ(std::get<Plaintext>(*e).data, to_bytes("world"));
    EXPECT_EQ(std::get<Plaintext>(*e).peer, peer);
    EXPECT_FALSE(a.next_deadline());
    a.max_datagram = 4;
    EXPECT_EQ(a.send(TimePoint{}, peer, to_bytes("hello")).error(),
              make_error_code(Errc::message_too_large));
}

} // namespace
} // namespace lwm2m::dtls::test
