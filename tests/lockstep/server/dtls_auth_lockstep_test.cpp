// Authorisation over DTLS (LwM2M TS 1.1 §7.1): a client authenticated with the PSK identity of
// endpoint A may register only as A (4.03 otherwise); Update/De-register must come from the same
// identity (4.00); raw public keys and X.509 names bind the same way. Real DTLS (GnuTLS) in
// virtual time between our ClientSession and the engine's DTLS listener.
#include <gtest/gtest.h>

#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/server/credentials.hpp>

#include "lockstep/server/server_harness.hpp"
#include "support/dtls_creds.hpp"
#include "support/gnutls_time.hpp"

namespace lwm2m::server::test {
namespace {

const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 100, 5684);

store::SecurityInfo psk_info(std::string ep, std::string identity, std::string key) {
    store::SecurityInfo i;
    i.endpoint = std::move(ep);
    i.mode = store::SecurityMode::psk;
    i.psk_identity = to_bytes(identity);
    i.psk_key = SecretBytes(as_bytes(key));
    return i;
}

/// A DTLS LwM2M client: coap::Endpoint over a ClientSession.
struct Client {
    Client(const PeerAddr& self, dtls::ClientConfig cfg)
        : addr(self)
        , rng(7)
        , coap(lwm2m::test::det_config(), rng)
        , session(std::move(*dtls::ClientSession::create(std::move(cfg))))
        , se(coap, session) {}
    PeerAddr addr;
    SeededRandom rng;
    coap::Endpoint coap;
    dtls::ClientSession session;
    dtls::SecureEndpoint<dtls::ClientSession> se;
};

dtls::ClientConfig psk_client(std::string identity, std::string key) {
    dtls::ClientConfig c;
    c.server = kServer;
    c.credentials = dtls::PskCredentials{to_bytes(identity), SecretBytes(as_bytes(key))};
    return c;
}

EngineConfig dtls_config() {
    EngineConfig c;
    ListenerConfig l;
    l.security = ListenerSecurity::dtls;
    l.coap.ack_random_factor = 1.0;
    ListenerConfig clear;
    clear.coap.address_validation = false; // NoSec diagnostics compared whole (server_harness.hpp)
    c.listeners = {l, clear};              // socket 0 DTLS, socket 1 NoSec
    c.nosec = NoSecPolicy::any;
    return c;
}

/// Runs client and engine until the client got the answer to `req` (or time runs out).
std::optional<coap::Message> exchange(ServerHarness& h, Client& c, coap::Message req,
                                      std::uint16_t socket = 0) {
    auto id = c.se.coap().send_request(h.now, kServer, std::move(req));
    if (!id) return std::nullopt;
    c.se.flush(h.now);
    for (int step = 0; step < 5000; ++step) {
        lwm2m::test::GnutlsVirtualTime::set(h.now);
        bool moved = false;
        while (auto d = c.se.poll_transmit()) {
            h.engine->on_datagram(h.now, socket, c.addr, d->bytes);
            moved = true;
        }
        h.persist();
        while (auto d = h.engine->poll_transmit()) {
            if (d->peer != c.addr) continue;
            c.se.on_datagram(h.now, kServer, d->bytes);
            moved = true;
        }
        while (auto e = c.se.poll_event()) {
            if (auto* ce = std::get_if<coap::Event>(&*e))
                if (auto* r = std::get_if<coap::Response>(ce); r != nullptr && r->id == *id)
                    return r->response;
        }
        if (moved) continue;
        std::optional<TimePoint> next = c.se.next_deadline();
        if (auto e = h.engine->next_deadline(); e && (!next || *e < *next)) next = e;
        if (!next) break;
        h.now = std::max(h.now, *next);
        lwm2m::test::GnutlsVirtualTime::set(h.now);
        c.se.on_timeout(h.now);
        h.engine->on_timeout(h.now);
    }
    return std::nullopt;
}

class DtlsAuth : public ::testing::Test {
protected:
    void SetUp() override {
        lwm2m::test::GnutlsVirtualTime::install(h.now);
        ASSERT_TRUE(h.security.put(psk_info("dev-a", "id-a", "key-of-a-0123456")));
        ASSERT_TRUE(h.security.put(psk_info("dev-b", "id-b", "key-of-b-0123456")));
    }
    ServerHarness h{dtls_config()};
};

TEST_F(DtlsAuth, AnIdentityRegistersAsItsOwnEndpointOnly) {
    Client a(PeerAddr::v4(10, 0, 0, 1, 40000), psk_client("id-a", "key-of-a-0123456"));
    auto r = exchange(h, a, register_msg("ep=dev-b&lwm2m=1.1"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, coap::code::forbidden);
    EXPECT_EQ(text_of(*r), "the DTLS identity is bound to another endpoint name");
    EXPECT_EQ(h.engine->registration_count(), 0U);

    r = exchange(h, a, register_msg("ep=dev-a&lwm2m=1.1", "</1/0>,</3/0>", 0x101));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->code, coap::code::created);
    auto info = h.engine->registration("dev-a");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->security, store::SecurityMode::psk);
    EXPECT_EQ((*h.store.find("dev-a"))->security, store::SecurityMode::psk);
    const std::string loc = r->path(coap::option::location_path);

    // Update from the same identity works; the same location over NoSec (socket 1) does not.
    r = exchange(h, a, con(coap::code::post).mid(0x102).token("u").path(loc));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, coap::code::changed);
    h.receive(a.addr, con(coap::code::post).mid(0x103).token("u").path(loc), 1);
    auto clear = h.expect_tx();
    EXPECT_EQ(clear.code, coap::code::bad_request);
    EXPECT_EQ(text_of(clear), "the request does not come from the registered client");
}

TEST_F(DtlsAuth, AnotherIdentityCannotUpdateOrDeregister) {
    Client a(PeerAddr::v4(10, 0, 0, 1, 40000), psk_client("id-a", "key-of-a-0123456"));
    auto r = exchange(h, a, register_msg("ep=dev-a&lwm2m=1.1"));
    ASSERT_TRUE(r && r->code == coap::code::created);
    const std::string loc = r->path(coap::option::location_path);
    Client b(PeerAddr::v4(10, 0, 0, 2, 40000), psk_client("id-b", "key-of-b-0123456"));
    r = exchange(h, b, con(coap::code::delete_).mid(0x200).token("d").path(loc));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, coap::code::bad_request);
    EXPECT_EQ(h.engine->registration_count(), 1U);
}

TEST_F(DtlsAuth, NoSecRegistrationOfASecuredEndpointIsRefused) {
    h.receive(kPeerA, register_msg("ep=dev-a"), 1);
    auto r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::forbidden);
    EXPECT_EQ(text_of(r), "this endpoint must register over DTLS");
}

TEST_F(DtlsAuth, UnknownIdentityOrWrongKeyNeverReachesRegistration) {
    Client x(PeerAddr::v4(10, 0, 0, 3, 40000), psk_client("id-x", "key-of-x-0123456"));
    EXPECT_FALSE(exchange(h, x, register_msg("ep=dev-a")));
    Client w(PeerAddr::v4(10, 0, 0, 4, 40000), psk_client("id-a", "wrong-key-012345"));
    EXPECT_FALSE(exchange(h, w, register_msg("ep=dev-a")));
    EXPECT_EQ(h.engine->registration_count(), 0U);
    EXPECT_EQ(h.engine->stats().refused, 0U);
}

TEST_F(DtlsAuth, RevokedCredentialsRefuseTheNextRegister) {
    Client a(PeerAddr::v4(10, 0, 0, 1, 40000), psk_client("id-a", "key-of-a-0123456"));
    auto r = exchange(h, a, register_msg("ep=dev-a"));
    ASSERT_TRUE(r && r->code == coap::code::created);
    ASSERT_TRUE(*h.security.remove("dev-a")); // REST deleted the device's credentials
    r = exchange(h, a, register_msg("ep=dev-a", "</1/0>", 0x300));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, coap::code::forbidden);
    EXPECT_EQ(text_of(*r), "the credentials of this endpoint were revoked");
}

TEST_F(DtlsAuth, KeysNeverReachTheLog) {
    Client a(PeerAddr::v4(10, 0, 0, 1, 40000), psk_client("id-a", "key-of-a-0123456"));
    ASSERT_TRUE(exchange(h, a, register_msg("ep=dev-a")));
    const auto log = h.log.all();
    EXPECT_EQ(log.find("key-of-a"), std::string::npos);
    EXPECT_EQ(log.find(to_hex(as_bytes("key-of-a-0123456"))), std::string::npos);
    EXPECT_EQ(log.find("a2V5LW9mLWEt"), std::string::npos); // base64 of "key-of-a-"
}

// ------------------------------------------------------------------ RPK and X.509

EngineConfig cert_config() {
    auto c = dtls_config();
    const auto& pki = lwm2m::test::test_pki();
    c.listeners[0].dtls.rpk =
        dtls::RpkCredentials{pki.server_rpk.spki_der, pki.server_rpk.private_key_der};
    c.listeners[0].dtls.x509 =
        dtls::X509Credentials{{pki.server.der}, pki.server.key.private_key_der};
    c.listeners[0].dtls.client_ca_der = {pki.ca.der};
    return c;
}

TEST(DtlsCertAuth, RawPublicKeyBindsToItsEndpoint) {
    ServerHarness h(cert_config());
    lwm2m::test::GnutlsVirtualTime::install(h.now);
    const auto& pki = lwm2m::test::test_pki();
    store::SecurityInfo r;
    r.endpoint = "rpk-dev";
    r.mode = store::SecurityMode::rpk;
    r.rpk_public_key = pki.client_rpk.spki_der;
    ASSERT_TRUE(h.security.put(r));
    dtls::ClientConfig cc;
    cc.server = kServer;
    cc.credentials = dtls::RpkCredentials{pki.client_rpk.spki_der, pki.client_rpk.private_key_der};
    cc.server_public_key = pki.server_rpk.spki_der;
    Client c(PeerAddr::v4(10, 0, 0, 5, 40000), std::move(cc));
    auto resp = exchange(h, c, register_msg("ep=someone-else"));
    ASSERT_TRUE(resp);
    EXPECT_EQ(resp->code, coap::code::forbidden);
    resp = exchange(h, c, register_msg("ep=rpk-dev", "</1/0>", 0x101));
    ASSERT_TRUE(resp);
    EXPECT_EQ(resp->code, coap::code::created);
    EXPECT_EQ(h.engine->registration("rpk-dev")->security, store::SecurityMode::rpk);
}

TEST(DtlsCertAuth, CertificateCommonNameIsTheEndpoint) {
    ServerHarness h(cert_config());
    lwm2m::test::GnutlsVirtualTime::install(h.now);
    const auto& pki = lwm2m::test::test_pki(); // client certificate: CN=client-ep
    dtls::ClientConfig cc;
    cc.server = kServer;
    cc.credentials = dtls::X509Credentials{{pki.client.der}, pki.client.key.private_key_der};
    cc.server_public_key = pki.server.der;
    Client c(PeerAddr::v4(10, 0, 0, 6, 40000), std::move(cc));
    auto resp = exchange(h, c, register_msg("ep=impostor"));
    ASSERT_TRUE(resp);
    EXPECT_EQ(resp->code, coap::code::forbidden);
    resp = exchange(h, c, register_msg("ep=client-ep", "</1/0>", 0x101));
    ASSERT_TRUE(resp);
    EXPECT_EQ(resp->code, coap::code::created);
    EXPECT_EQ(h.engine->registration("client-ep")->security, store::SecurityMode::x509);
}

// ------------------------------------------------------------------ credential resolution

TEST(Credentials, CommonNameOfRfc4514Names) {
    EXPECT_EQ(common_name_of("CN=dev1,O=Acme"), "dev1");
    EXPECT_EQ(common_name_of("O=Acme,CN=dev\\,2"), "dev,2");
    EXPECT_EQ(common_name_of("cn=a\\41b"), "aAb");
    EXPECT_EQ(common_name_of("O=Acme+CN=multi"), "multi");
    EXPECT_FALSE(common_name_of("O=Acme"));
    EXPECT_FALSE(common_name_of("garbage"));
    EXPECT_FALSE(common_name_of("CN=trailing\\"));
}

TEST(Credentials, ResolvesEachKindAndRefusesModeMismatches) {
    store::MemorySecurityStore s;
    ASSERT_TRUE(s.put(psk_info("p", "idp", "0123456789abcdef")));
    store::SecurityInfo r;
    r.endpoint = "r";
    r.mode = store::SecurityMode::rpk;
    r.rpk_public_key = to_bytes("spki");
    ASSERT_TRUE(s.put(r));
    store::SecurityInfo x;
    x.endpoint = "x";
    x.mode = store::SecurityMode::x509;
    x.x509_common_name = "device-x";
    ASSERT_TRUE(s.put(x));
    store::SecurityInfo n;
    n.endpoint = "nosec-dev";
    n.mode = store::SecurityMode::nosec;
    ASSERT_TRUE(s.put(n));
    SecurityCredentials creds(s, true);
    dtls::PeerIdentity id;
    id.kind = dtls::PeerIdentity::Kind::psk;
    id.psk_identity = to_bytes("idp");
    EXPECT_EQ(creds.resolve(id)->endpoint, "p");
    ASSERT_TRUE(creds.psk_key(to_bytes("idp")));
    EXPECT_FALSE(creds.psk_key(to_bytes("nope")));
    id = {};
    id.kind = dtls::PeerIdentity::Kind::raw_public_key;
    id.public_key_spki = to_bytes("spki");
    EXPECT_EQ(creds.resolve(id)->endpoint, "r");
    EXPECT_TRUE(creds.rpk_allowed(to_bytes("spki")));
    EXPECT_FALSE(creds.rpk_allowed(to_bytes("other")));
    id = {};
    id.kind = dtls::PeerIdentity::Kind::x509;
    id.subject_dn = "CN=device-x,O=Acme";
    EXPECT_EQ(creds.resolve(id)->endpoint, "x");
    id.subject_dn = "CN=fresh-device";
    EXPECT_EQ(creds.resolve(id)->endpoint, "fresh-device"); // cn_is_endpoint
    id.subject_dn = "CN=nosec-dev"; // an endpoint with a record of another mode
    EXPECT_FALSE(creds.resolve(id));
    EXPECT_FALSE(creds.certificate_allowed(id));
    SecurityCredentials strict(s, false);
    id.subject_dn = "CN=fresh-device";
    EXPECT_FALSE(strict.resolve(id));
}

} // namespace
} // namespace lwm2m::server::test
