// bootstrap::Engine over DTLS (TS 1.1 Transport "Endpoint Client Name": the endpoint name must
// match the DTLS identity, else 4.00): PSK, RPK and X.509 clients, an identity asking for another
// endpoint, server-initiated bootstrap over an established session, generated RPK and X.509
// credentials, and the secret-leak checks on logs and event texts.
#include <gtest/gtest.h>

#include <lwm2m/store/memory_bootstrap_config_store.hpp>

#include "lockstep/bootstrap/bs_harness.hpp"
#include "support/bootstrap_samples.hpp"
#include "support/capture_logger.hpp"
#include "support/dtls_creds.hpp"

namespace lwm2m::bootstrap::test {
namespace bootstrap_auth_lockstep_test { // named: unity builds join the files

using lwm2m::test::key_for;
using lwm2m::test::typical_bootstrap_config;

const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 1, 5784);
const PeerAddr kDev1 = PeerAddr::v4(192, 0, 2, 20, 41001);
const PeerAddr kDev2 = PeerAddr::v4(192, 0, 2, 21, 41002);

EngineConfig dtls_config() {
    const auto& pki = lwm2m::test::test_pki();
    EngineConfig c;
    Listener l;
    l.security = Listener::Security::dtls;
    l.dtls.rpk = dtls::RpkCredentials{pki.server_rpk.spki_der, pki.server_rpk.private_key_der};
    l.dtls.x509 = dtls::X509Credentials{{pki.server.der}, pki.server.key.private_key_der};
    l.dtls.client_ca_der = {pki.ca.der};
    c.listeners = {l};
    c.coap.ack_random_factor = 1.0;
    c.certificate_issuer = dtls::CertificateIssuer{pki.ca.der, pki.ca.key.private_key_der};
    return c;
}

BootstrapTestClient::Options psk_client(const std::string& ep, const std::string& identity_of) {
    BootstrapTestClient::Options o;
    o.endpoint = ep;
    o.server = kServer;
    o.coap.ack_random_factor = 1.0;
    dtls::ClientConfig dc;
    dc.credentials = dtls::PskCredentials{to_bytes("bs-" + identity_of),
                                          SecretBytes(key_for("bs-key-" + identity_of))};
    o.dtls = dc;
    return o;
}

struct BootstrapDtls : ::testing::Test {
    store::MemoryBootstrapConfigStore store;
    SeededRandom random{7};
    ManualWall wall;
    lwm2m::test::CaptureLogger log;

    Engine make(EngineConfig cfg = dtls_config()) {
        auto e = Engine::create(std::move(cfg), store, random, wall, log);
        EXPECT_TRUE(e) << e.error().message();
        return std::move(*e);
    }
};

TEST_F(BootstrapDtls, PskClientBootstraps) {
    ASSERT_TRUE(store.put(typical_bootstrap_config("dev-a")));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(psk_client("dev-a", "dev-a"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }, 120s));
    EXPECT_EQ(dev.bs_answer, coap::code::changed);
    EXPECT_TRUE(dev.bootstrapped());
    auto expected = store::dm_credentials_for("dev-a", dev.accounts().committed());
    ASSERT_TRUE(expected);
    EXPECT_EQ(h.all<BootstrapFinished>()[0].credentials, *expected);
}

TEST_F(BootstrapDtls, IdentityOfAnotherEndpointIsBadRequest) {
    ASSERT_TRUE(store.put(typical_bootstrap_config("dev-a")));
    ASSERT_TRUE(store.put(typical_bootstrap_config("dev-b")));
    Engine engine = make();
    Harness h(engine);
    // Authenticated as dev-a (its identity and key), asking for dev-b's configuration.
    BootstrapTestClient dev(psk_client("dev-b", "dev-a"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return dev.bs_answer.has_value(); }, 120s));
    EXPECT_EQ(dev.bs_answer, coap::code::bad_request);
    EXPECT_TRUE(dev.received.empty());
    ASSERT_EQ(h.count<BootstrapFailed>(), 1u);
    const auto f = h.all<BootstrapFailed>()[0];
    EXPECT_EQ(f.endpoint, "dev-b");
    EXPECT_EQ(f.error, make_error_code(Errc::not_authenticated));
    EXPECT_EQ(engine.stats().started, 0u);
}

TEST_F(BootstrapDtls, WrongKeyNeverGetsAnswered) {
    ASSERT_TRUE(store.put(typical_bootstrap_config("dev-a")));
    Engine engine = make();
    Harness h(engine);
    auto o = psk_client("dev-a", "dev-a");
    std::get<dtls::PskCredentials>(o.dtls->credentials).key = SecretBytes(key_for("wrong"));
    BootstrapTestClient dev(o);
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    h.run_until([&] { return dev.bs_answer.has_value() || dev.bs_error.has_value(); }, 300s);
    EXPECT_FALSE(dev.bs_answer.has_value());
    EXPECT_EQ(h.count<BootstrapStarted>(), 0u);
}

TEST_F(BootstrapDtls, RpkAndX509Clients) {
    const auto& pki = lwm2m::test::test_pki();
    store::SecurityInfo rpk;
    rpk.endpoint = "dev-r";
    rpk.mode = store::SecurityMode::rpk;
    rpk.rpk_public_key = pki.client_rpk.spki_der;
    ASSERT_TRUE(store.put(typical_bootstrap_config("dev-r", rpk)));
    store::SecurityInfo x;
    x.endpoint = "client-ep"; // the test PKI's client certificate has CN=client-ep
    x.mode = store::SecurityMode::x509;
    ASSERT_TRUE(store.put(typical_bootstrap_config("client-ep", x)));
    Engine engine = make();
    Harness h(engine);

    BootstrapTestClient::Options ro;
    ro.endpoint = "dev-r";
    ro.server = kServer;
    dtls::ClientConfig rc;
    rc.credentials = dtls::RpkCredentials{pki.client_rpk.spki_der, pki.client_rpk.private_key_der};
    rc.server_public_key = pki.server_rpk.spki_der;
    ro.dtls = rc;
    BootstrapTestClient r(ro);

    BootstrapTestClient::Options xo;
    xo.endpoint = "client-ep";
    xo.server = kServer;
    dtls::ClientConfig xc;
    xc.credentials = dtls::X509Credentials{{pki.client.der}, pki.client.key.private_key_der};
    xc.server_public_key = pki.server.der;
    xo.dtls = xc;
    BootstrapTestClient xcl(xo);

    h.add(kDev1, r);
    h.add(kDev2, xcl);
    r.request_bootstrap(h.now);
    xcl.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 2; }, 120s))
        << h.count<BootstrapFailed>();
    EXPECT_TRUE(r.bootstrapped());
    EXPECT_TRUE(xcl.bootstrapped());

    // The RPK client asking for the X.509 client's endpoint: refused.
    BootstrapTestClient::Options wrong = ro;
    wrong.endpoint = "client-ep";
    BootstrapTestClient w(wrong);
    const PeerAddr kDev3 = PeerAddr::v4(192, 0, 2, 22, 41003);
    h.add(kDev3, w);
    w.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return w.bs_answer.has_value(); }, 120s));
    EXPECT_EQ(w.bs_answer, coap::code::bad_request);
}

TEST_F(BootstrapDtls, GeneratedRpkAndX509Credentials) {
    const auto& pki = lwm2m::test::test_pki();
    auto c = typical_bootstrap_config("dev-g");
    auto& s1 = c.accounts.security.at(1);
    s1.security_mode = client::SecurityMode::rpk;
    s1.public_key_or_identity.clear();
    s1.secret_key.wipe();
    s1.server_public_key = pki.server_rpk.spki_der;
    c.generate[1].kind = store::GeneratedCredentials::Kind::rpk;
    // A second account at another DM server, with a certificate issued by the engine's CA.
    client::SecurityInstance s2 = s1;
    s2.security_mode = client::SecurityMode::certificate;
    s2.short_server_id = 102;
    s2.server_uri = "coaps://dm2.example.com:5684";
    s2.server_public_key = pki.server.der;
    c.accounts.security[2] = s2;
    c.accounts.servers[1] = lwm2m::client::test::srv(lwm2m::client::test::server_instance(1, 102));
    store::GeneratedCredentials gx;
    gx.kind = store::GeneratedCredentials::Kind::x509;
    gx.certificate_validity_days = 30;
    c.generate[2] = gx;
    std::vector<std::string> why;
    ASSERT_TRUE(store.put(c, &why)) << (why.empty() ? "" : why[0]);
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(psk_client("dev-g", "dev-g"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }, 120s));
    const auto& committed = dev.accounts().committed();
    const auto& r1 = committed.security.at(1);
    EXPECT_TRUE(dtls::check_key_pair(r1.public_key_or_identity, r1.secret_key));
    const auto& r2 = committed.security.at(2);
    auto cert = dtls::inspect_certificate(r2.public_key_or_identity);
    ASSERT_TRUE(cert);
    EXPECT_EQ(cert->common_name, "dev-g");
    EXPECT_EQ(cert->not_before, wall.t - 3600);
    EXPECT_EQ(cert->not_after, wall.t + 30 * 86400);
    EXPECT_TRUE(dtls::check_key_pair(cert->public_key_spki_der, r2.secret_key));
    const auto f = h.all<BootstrapFinished>()[0];
    ASSERT_EQ(f.credentials.size(), 2u);
    EXPECT_EQ(f.credentials[0].info.mode, store::SecurityMode::rpk);
    EXPECT_EQ(f.credentials[0].info.rpk_public_key, r1.public_key_or_identity);
    EXPECT_EQ(f.credentials[1].info.mode, store::SecurityMode::x509);
    EXPECT_EQ(f.credentials[1].info.x509_common_name, "dev-g");
    EXPECT_EQ(f.credentials[1].ssid, 102);
}

TEST_F(BootstrapDtls, X509GenerationWithoutCaFailsTheRequest) {
    const auto& pki = lwm2m::test::test_pki();
    store::MemoryBootstrapConfigStore lax; // validated as if a CA existed
    auto c = typical_bootstrap_config("dev-x");
    auto& s = c.accounts.security.at(1);
    s.security_mode = client::SecurityMode::certificate;
    s.public_key_or_identity.clear();
    s.secret_key.wipe();
    s.server_public_key = pki.server.der;
    c.generate[1].kind = store::GeneratedCredentials::Kind::x509;
    ASSERT_TRUE(lax.put(c));
    EngineConfig cfg = dtls_config();
    cfg.certificate_issuer.reset();
    auto e = Engine::create(cfg, lax, random, wall, log);
    ASSERT_TRUE(e);
    Harness h(*e);
    BootstrapTestClient dev(psk_client("dev-x", "dev-x"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return dev.bs_answer.has_value(); }, 120s));
    EXPECT_EQ(dev.bs_answer, coap::code::internal_server_error);
    EXPECT_EQ(h.all<BootstrapFailed>()[0].error, make_error_code(Errc::credential_generation));
}

TEST_F(BootstrapDtls, ServerInitiatedOverAnEstablishedDtlsSession) {
    ASSERT_TRUE(store.put(typical_bootstrap_config("dev-a")));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(psk_client("dev-a", "dev-a"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }, 120s));
    // Explicit address of a peer without a DTLS session: not authenticated.
    EXPECT_EQ(engine.start_server_initiated(h.now, "dev-a", 0, kDev2).error(),
              make_error_code(Errc::not_authenticated));
    auto sid = engine.start_server_initiated(h.now, "dev-a");
    ASSERT_TRUE(sid) << sid.error().message();
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 2; }, 120s));
    EXPECT_EQ(h.all<BootstrapFinished>()[1].initiator, Initiator::server);
    EXPECT_EQ(dev.finish_count, 2);
}

TEST_F(BootstrapDtls, DtlsCloseFailsTheSession) {
    ASSERT_TRUE(store.put(typical_bootstrap_config("dev-a")));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(psk_client("dev-a", "dev-a"));
    dev.silent = true;
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapStarted>() == 1; }, 120s));
    dev.dtls_session()->close(h.now); // close_notify
    h.settle();
    ASSERT_EQ(h.count<BootstrapFailed>(), 1u);
    EXPECT_EQ(h.all<BootstrapFailed>()[0].error, make_error_code(Errc::dtls_closed));
}

/// Every form a key could take in text: raw, hex (both cases), base64 (standard and url).
std::vector<std::string> forms_of(BytesView key) {
    static constexpr char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string hex = to_hex(key), upper = hex, raw(as_string_view(key)), b, u;
    for (auto& ch : upper)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    for (std::size_t i = 0; i + 2 < key.size(); i += 3) {
        const unsigned v = (std::to_integer<unsigned>(key[i]) << 16) |
                           (std::to_integer<unsigned>(key[i + 1]) << 8) |
                           std::to_integer<unsigned>(key[i + 2]);
        for (int k = 18; k >= 0; k -= 6)
            b.push_back(b64[(v >> k) & 63]);
    }
    u = b;
    for (auto& ch : u)
        ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
    // Any 12-character window of the encodings is enough to find a leak.
    return {raw.substr(0, 12), hex.substr(0, 16), upper.substr(0, 16), b.substr(0, 12),
            u.substr(0, 12)};
}

TEST_F(BootstrapDtls, KeysNeverInLogsOrEventTexts) {
    auto c = lwm2m::test::generated_psk_config("dev-k", 64, 32);
    ASSERT_TRUE(store.put(c));
    EngineConfig cfg = dtls_config();
    cfg.hold_finish_until_persisted = true;
    Engine engine = make(cfg);
    Harness h(engine);
    BootstrapTestClient dev(psk_client("dev-k", "dev-k"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<CredentialsPending>() == 1; }, 120s));
    ASSERT_TRUE(engine.credentials_persisted(h.now, h.all<CredentialsPending>()[0].session));
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }, 120s));
    std::string text = log.all();
    for (const auto& e : h.events)
        text += describe(e) + "\n";
    const auto& generated = dev.accounts().committed().security.at(1).secret_key;
    ASSERT_EQ(generated.size(), 32u);
    const Bytes bs_key = key_for("bs-key-dev-k");
    for (BytesView key : {generated.view(), BytesView(bs_key)})
        for (const auto& form : forms_of(key))
            EXPECT_EQ(text.find(form), std::string::npos) << "key material in: " << text;
    EXPECT_NE(text.find("<secret: 32 bytes>"), std::string::npos) << text;
    EXPECT_NE(text.find("bootstrap finished"), std::string::npos);
}

} // namespace bootstrap_auth_lockstep_test
} // namespace lwm2m::bootstrap::test
