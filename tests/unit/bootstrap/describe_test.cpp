// describe(Event): one line per event, peer-controlled text escaped, keys only as their size.
#include <gtest/gtest.h>

#include <lwm2m/bootstrap/engine.hpp>
#include <lwm2m/store/memory_bootstrap_config_store.hpp>

namespace lwm2m::bootstrap {
namespace {

TEST(Describe, RedactsKeysAndEscapesText) {
    store::DmCredential c;
    c.ssid = 101;
    c.server_uri = "coaps://dm.example.com";
    c.info.endpoint = "ep";
    c.info.mode = store::SecurityMode::psk;
    c.info.psk_identity = to_bytes("id-1");
    c.info.psk_key = SecretBytes(to_bytes("SUPERSECRETKEY!!"));
    BootstrapFinished f;
    f.session = 3;
    f.endpoint = "ep\n\x1b[31mfake line";
    f.peer = PeerAddr::v4(1, 2, 3, 4, 5);
    f.credentials = {c};
    const std::string s = describe(Event{f});
    EXPECT_EQ(s.find("SUPERSECRET"), std::string::npos) << s;
    EXPECT_NE(s.find("<secret: 16 bytes>"), std::string::npos) << s;
    EXPECT_EQ(s.find('\n'), std::string::npos) << s;
    EXPECT_EQ(s.find('\x1b'), std::string::npos) << s;
    EXPECT_NE(s.find("ep\\x0a\\x1b[31mfake line"), std::string::npos) << s;
    EXPECT_NE(s.find("identity=\"id-1\""), std::string::npos) << s;
    EXPECT_NE(s.find("peer=1.2.3.4:5"), std::string::npos) << s;

    BootstrapFailed e;
    e.endpoint = "x";
    e.step = Step::finish;
    e.code = coap::code::not_acceptable;
    e.reason = "a \"quoted\" reason";
    e.error = make_error_code(Errc::client_error);
    const std::string t = describe(Event{e});
    EXPECT_NE(t.find("step=finish"), std::string::npos) << t;
    EXPECT_NE(t.find("code=4.06"), std::string::npos) << t;
    EXPECT_NE(t.find("reason=\"a \\\"quoted\\\" reason\""), std::string::npos) << t;
}

TEST(Describe, ErrorTextsAreFixed) {
    for (int e = 1; e <= static_cast<int>(Errc::refused); ++e)
        EXPECT_NE(make_error_code(static_cast<Errc>(e)).message(), "unknown bootstrap error");
    EXPECT_EQ(to_string(Step::discover_ids), "discover-ids");
    EXPECT_EQ(to_string(Initiator::server), "server");
}

} // namespace
} // namespace lwm2m::bootstrap

namespace lwm2m::bootstrap {
namespace {

struct Wall final : WallClock {
    [[nodiscard]] std::int64_t unix_seconds() const override { return 0; }
};

TEST(EngineCreate, RefusesBadConfigurations) {
    store::MemoryBootstrapConfigStore st;
    SeededRandom rnd(1);
    Wall wall;
    const auto bad = make_error_code(Errc::invalid_config);
    EngineConfig none;
    none.listeners.clear();
    EXPECT_EQ(Engine::create(none, st, rnd, wall).error(), bad);
    EngineConfig many;
    many.listeners.resize(17);
    EXPECT_EQ(Engine::create(many, st, rnd, wall).error(), bad);
    EngineConfig zero;
    zero.session_timeout = Duration::zero();
    EXPECT_EQ(Engine::create(zero, st, rnd, wall).error(), bad);
    EngineConfig ca;
    ca.certificate_issuer = dtls::CertificateIssuer{to_bytes("not a cert"), SecretBytes{}};
    EXPECT_EQ(Engine::create(ca, st, rnd, wall).error(), bad);
    EXPECT_TRUE(Engine::create(EngineConfig{}, st, rnd, wall));
}

} // namespace
} // namespace lwm2m::bootstrap
