// Bootstrap (TS 1.1 §5.2; 1.2 §5.2): client-initiated after the Client Hold Off Time plus
// jitter, Bootstrap-Write / -Delete / -Discover / -Read / -Finish, the consistency check (4.06)
// and retry, the bootstrap timeout with rollback and back-off, server-initiated bootstrap,
// Bootstrap on Registration Failure and the Bootstrap-Server Account Timeout (Resource 12).
#include <gtest/gtest.h>

#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/format/codec.hpp>

#include "support/engine_harness.hpp"

namespace lwm2m::client::test {
namespace {

using namespace std::chrono_literals;
namespace cf = coap::content_format;

ClientConfig bootstrap_only(std::int64_t hold_off = 0, std::int64_t account_timeout = 0) {
    ClientConfig c;
    auto b = bootstrap_account(0, "coap://bs.test:5683");
    if (hold_off > 0) b.resources[11] = res(11, dm::Value::integer(hold_off));
    if (account_timeout > 0) b.resources[12] = res(12, dm::Value::integer(account_timeout));
    c.security[0] = sec(b);
    return c;
}

/// The Bootstrap Server side: answers the Bootstrap-Request with 2.04.
ScriptedServer& bs_server(EngineLockstep& t) {
    ScriptedServer& s = t.server(kBsAddr);
    s.auto_reply = [](const coap::IncomingRequest& in) -> std::optional<coap::Message> {
        coap::Message m;
        m.code = in.request.path() == "/bs" ? coap::code::changed : coap::code::bad_request;
        return m;
    };
    return s;
}

coap::Message bs_write(const dm::Path& p, const dm::Content& c) {
    auto m = req(coap::code::put, p.to_string());
    m.add_uint_option(coap::option::content_format, cf::lwm2m_tlv);
    m.payload = *format::encode(format::ContentFormat::lwm2m_tlv, c);
    return m;
}

dm::Instance dm_security(std::uint16_t iid, std::uint16_t ssid) {
    dm::Instance in;
    in.id = iid;
    in.resources[0] = res(0, dm::Value::string("coap://dm.test:5683"));
    in.resources[1] = res(1, dm::Value::boolean(false));
    in.resources[2] = res(2, dm::Value::integer(3));
    in.resources[10] = res(10, dm::Value::integer(ssid));
    return in;
}

/// Bootstrap-Write of a complete DM account (Security /0/1 and Server /1/0).
void provision(EngineLockstep& t, bool with_server = true) {
    auto r =
        t.request(kBsAddr, bs_write(*dm::Path::parse("/0/1"),
                                    dm::Content{*dm::Path::parse("/0/1"), dm_security(1, 101)}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->response.code, coap::code::changed);
    if (!with_server) return;
    r = t.request(kBsAddr,
                  bs_write(*dm::Path::parse("/1/0"),
                           dm::Content{*dm::Path::parse("/1/0"), server_instance(0, 101)}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->response.code, coap::code::changed);
}

coap::Code finish(EngineLockstep& t) {
    auto r = t.request(kBsAddr, req(coap::code::post, "/bs"));
    return r ? r->response.code : coap::Code{};
}

TEST(EngineBootstrap, HoldOffPlusJitterBounds) {
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        auto ecfg = EngineLockstep::default_engine_config();
        ecfg.bootstrap_jitter = 10s;
        EngineLockstep t(bootstrap_only(5), ecfg);
        t.rnd = SeededRandom(seed);
        auto& s = bs_server(t);
        const TimePoint start = t.now;
        t.start();
        EXPECT_TRUE(s.requests.empty());
        ASSERT_TRUE(t.run_until_pred([&] { return !s.requests.empty(); }, 60s));
        const Duration waited = s.request_times[0] - start;
        EXPECT_GE(waited, 5s) << seed;
        EXPECT_LE(waited, 15s) << seed;
        const auto& m = s.requests[0].request;
        EXPECT_EQ(m.path(), "/bs");
        std::vector<std::string> q;
        for (const auto& o : m.options())
            if (o.number == coap::option::uri_query) q.emplace_back(as_string_view(o.value));
        EXPECT_EQ(q, (std::vector<std::string>{"ep=dev-1", "pct=112"}));
    }
}

TEST(EngineBootstrap, ClientInitiatedThenRegisters) {
    EngineLockstep t(bootstrap_only());
    bs_server(t);
    t.dm_server_ok();
    t.start();
    ASSERT_TRUE(t.engine->bootstrapping());
    provision(t);
    // Bootstrap-Discover and Bootstrap-Read of /1 (1.1); /0 is never readable.
    auto d = req(coap::code::get, "/");
    d.add_uint_option(coap::option::accept, cf::link_format);
    auto dr = t.request(kBsAddr, d);
    ASSERT_TRUE(dr);
    EXPECT_EQ(dr->response.code, coap::code::content);
    const std::string links(as_string_view(dr->response.payload));
    EXPECT_EQ(links.rfind("</>;lwm2m=1.1,", 0), 0u) << links;
    EXPECT_NE(links.find("</0/1>;ssid=101;uri=\"coap://dm.test:5683\""), std::string::npos)
        << links;
    EXPECT_EQ(t.request(kBsAddr, req(coap::code::get, "/1/0"))->response.code, coap::code::content);
    EXPECT_EQ(t.request(kBsAddr, req(coap::code::get, "/0/1"))->response.code,
              coap::code::unauthorized);
    EXPECT_EQ(finish(t), coap::code::changed);
    t.run_for(1s);
    EXPECT_FALSE(t.engine->bootstrapping());
    EXPECT_EQ(t.count_events(EngineEvent::Kind::bootstrap_finished), 1u);
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
    EXPECT_EQ(t.store.committed().security.size(), 2u);
}

TEST(EngineBootstrap, FinishNotAcceptableThenFixedAndFinished) {
    EngineLockstep t(bootstrap_only());
    bs_server(t);
    t.dm_server_ok();
    t.start();
    provision(t, /*with_server=*/false); // Security without a Server instance: inconsistent
    EXPECT_EQ(finish(t), coap::code::not_acceptable);
    EXPECT_TRUE(t.store.committed().security.size() == 1u); // rolled back
    // This bootstrap is over (a retry is scheduled after the hold-off), but a Bootstrap-Server
    // that goes on fixing the configuration starts a server-initiated one and finishes it.
    EXPECT_FALSE(t.engine->bootstrapping());
    EXPECT_EQ(t.count_events(EngineEvent::Kind::bootstrap_failed), 1u);
    provision(t, true);
    EXPECT_EQ(finish(t), coap::code::changed);
    t.run_for(1s);
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
}

TEST(EngineBootstrap, FinishNotAcceptableIsRetriedAfterTheHoldOff) {
    EngineLockstep t(bootstrap_only(2));
    auto& s = bs_server(t);
    t.dm_server_ok();
    t.start();
    ASSERT_TRUE(t.run_until_pred([&] { return s.requests.size() == 1; }, 10s));
    provision(t, /*with_server=*/false);
    EXPECT_EQ(finish(t), coap::code::not_acceptable);
    // The next Bootstrap-Request after hold-off * 2^1 = 4 s (plus jitter), not after the
    // bootstrap timeout (EXCHANGE_LIFETIME, 247 s).
    ASSERT_TRUE(t.run_until_pred([&] { return s.requests.size() == 2; }, 30s));
    EXPECT_EQ(s.requests[1].request.path(), "/bs");
    EXPECT_EQ(s.request_times[1] - s.request_times[0], 4s); // virtual time stood still
    provision(t, true);
    EXPECT_EQ(finish(t), coap::code::changed);
    t.run_for(1s);
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
}

TEST(EngineBootstrap, TimeoutRollsBackAndRetriesWithBackoff) {
    auto ecfg = EngineLockstep::default_engine_config();
    ecfg.bootstrap_timeout = 30s;
    EngineLockstep t(bootstrap_only(2), ecfg);
    auto& s = bs_server(t);
    t.start();
    ASSERT_TRUE(t.run_until_pred([&] { return s.requests.size() == 1; }, 10s));
    provision(t, true); // written but never finished
    t.run_for(31s);
    EXPECT_EQ(t.count_events(EngineEvent::Kind::bootstrap_failed), 1u);
    EXPECT_EQ(t.store.committed().security.size(), 1u);
    EXPECT_EQ(t.store.working().security.size(), 1u); // the half-written account is gone
    // Given up 30 s after the last Bootstrap-Server request (the writes, at the time of the
    // Bootstrap-Request: virtual time stood still), retried after hold-off * 2^1 = 4 s.
    ASSERT_TRUE(t.run_until_pred([&] { return s.requests.size() == 2; }, 10s));
    EXPECT_EQ(s.requests[1].request.path(), "/bs");
    EXPECT_EQ(s.request_times[1] - s.request_times[0], 34s);
    // A second timeout doubles the wait again (8 s).
    t.run_for(31s);
    ASSERT_TRUE(t.run_until_pred([&] { return s.requests.size() == 3; }, 20s));
    EXPECT_EQ(s.request_times[2] - s.request_times[1], 38s);
}

TEST(EngineBootstrap, AccountTimeoutPurgesTheBootstrapAccountAlsoAcrossRestart) {
    EngineLockstep t(bootstrap_only(0, 100));
    bs_server(t);
    t.dm_server_ok();
    t.start();
    provision(t);
    ASSERT_EQ(finish(t), coap::code::changed);
    t.run_for(50s);
    EXPECT_EQ(t.store.committed().security.count(0), 1u);
    // Restart 50 s before the purge: a new engine from the snapshot.
    auto snap = t.engine->snapshot();
    auto cfg = decode_config(snap.accounts.view());
    ASSERT_TRUE(cfg);
    ASSERT_TRUE(cfg->bs_purge_at);
    // 10 s of downtime; the new process' steady clock starts anywhere (here: 5 s).
    EngineLockstep r(*cfg, EngineLockstep::default_engine_config(), dm::Lwm2mVersion::v1_1,
                     TimePoint{} + 5s, t.wall.unix_seconds() + 10);
    r.dm_server_ok();
    ASSERT_TRUE(r.engine->restore_state(snap.state, r.now));
    r.start();
    EXPECT_EQ(r.store.committed().security.count(0), 1u);
    r.run_for(39s);
    EXPECT_EQ(r.store.committed().security.count(0), 1u);
    r.run_for(2s);
    EXPECT_EQ(r.store.committed().security.count(0), 0u);
    EXPECT_EQ(r.count_events(EngineEvent::Kind::account_purged), 1u);
    EXPECT_EQ(r.engine->reg_state(ShortServerId{101}), RegState::registered);
}

TEST(EngineBootstrap, ServerInitiatedBootstrapReRegisters) {
    EngineLockstep t(nosec_config(300));
    auto& dm = t.dm_server_ok();
    t.start();
    ASSERT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
    const std::size_t regs = dm.requests.size();
    // The Bootstrap Server writes without being asked: a new lifetime for the account.
    auto si = server_instance(0, 101, 1234);
    auto r = t.request(
        kBsAddr, bs_write(*dm::Path::parse("/1/0"), dm::Content{*dm::Path::parse("/1/0"), si}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->response.code, coap::code::changed);
    EXPECT_TRUE(t.engine->bootstrapping());
    EXPECT_EQ(finish(t), coap::code::changed);
    t.run_for(1s);
    ASSERT_GT(dm.requests.size(), regs);
    const auto& m = dm.requests.back().request;
    EXPECT_EQ(m.path(), "/rd"); // a new Register with the new configuration
    bool lt = false;
    for (const auto& o : m.options())
        if (o.number == coap::option::uri_query && as_string_view(o.value) == "lt=1234") lt = true;
    EXPECT_TRUE(lt);
}

TEST(EngineBootstrap, RegistrationFailureFallsBackToBootstrap) {
    ClientConfig c = nosec_config(300);
    auto si = server_instance(0, 101, 300);
    si.resources[17] = res(17, dm::Value::unsigned_integer(2));  // retry count
    si.resources[18] = res(18, dm::Value::unsigned_integer(10)); // retry timer
    si.resources[20] = res(20, dm::Value::unsigned_integer(1));  // sequence retry count
    c.servers[0] = srv(si);
    EngineLockstep t(c);
    auto& dm = t.server(kDmAddr);
    dm.drop_all = true;
    auto& bs = bs_server(t);
    t.start();
    ASSERT_TRUE(t.run_until_pred([&] { return !bs.requests.empty(); }, 1000s));
    EXPECT_EQ(t.count_events(EngineEvent::Kind::registration_failed), 1u);
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::failed);
    // Two attempts, 10 s apart after the first one's CoAP timeout (MAX_TRANSMIT_WAIT 62 s).
    EXPECT_EQ(t.sent_by_client >= 10, true);
}

TEST(EngineBootstrap, RetriesAreExponential) {
    ClientConfig c = nosec_config(300, false);
    auto si = server_instance(0, 101, 300);
    si.resources[17] = res(17, dm::Value::unsigned_integer(4));
    si.resources[18] = res(18, dm::Value::unsigned_integer(10));
    c.servers[0] = srv(si);
    EngineLockstep t(c);
    std::vector<TimePoint> register_sent;
    t.filter = [&](const Datagram& d) {
        auto m = coap::decode(d.bytes);
        if (m && m->code == coap::code::post && m->message_id != 0) {
            // count first transmissions only: a new MID each attempt
            static std::uint16_t last = 0;
            if (m->message_id != last) register_sent.push_back(t.now);
            last = m->message_id;
        }
        return false; // the server is unreachable
    };
    t.start();
    t.run_for(1000s);
    ASSERT_EQ(register_sent.size(), 4u);
    // Each attempt gives up after MAX_TRANSMIT_WAIT (62 s), then waits 10 * 2^(n-1) s.
    EXPECT_EQ(register_sent[1] - register_sent[0], 62s + 10s);
    EXPECT_EQ(register_sent[2] - register_sent[1], 62s + 20s);
    EXPECT_EQ(register_sent[3] - register_sent[2], 62s + 40s);
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::failed);
}

TEST(EngineBootstrap, DmServerCannotFinishOrWriteObjectZero) {
    EngineLockstep t(nosec_config(300));
    t.dm_server_ok();
    t.start();
    auto r = t.request(kDmAddr, req(coap::code::post, "/bs"));
    ASSERT_TRUE(r);
    EXPECT_NE(r->response.code, coap::code::changed);
    r = t.request(kDmAddr, bs_write(*dm::Path::parse("/0/1"),
                                    dm::Content{*dm::Path::parse("/0/1"), dm_security(1, 101)}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->response.code, coap::code::unauthorized);
    EXPECT_FALSE(t.engine->bootstrapping());
}

} // namespace
} // namespace lwm2m::client::test

namespace lwm2m::client::test {
namespace {

class Factory final : public FactorySource {
public:
    bool consistent = true;
    int calls = 0;
    Result<std::vector<dm::Content>> factory_content() override {
        ++calls;
        std::vector<dm::Content> out;
        dm::Object sec0;
        sec0.id = 0;
        sec0.instances.emplace(std::uint16_t{1}, dm_security(1, 101));
        out.push_back(dm::Content{dm::Path{Oid{0}}, sec0});
        if (consistent) {
            dm::Object srv1;
            srv1.id = 1;
            srv1.instances.emplace(std::uint16_t{0}, server_instance(0, 101, 600));
            out.push_back(dm::Content{dm::Path{Oid{1}}, srv1});
        }
        return out;
    }
};

TEST(EngineFactoryBootstrap, FactoryConfigurationIsWrittenCommittedAndUsed) {
    EngineLockstep t(bootstrap_only());
    Factory f;
    t.engine->set_factory_source(&f);
    auto& dm = t.dm_server_ok();
    bs_server(t);
    t.start();
    EXPECT_EQ(f.calls, 1);
    EXPECT_EQ(t.store.committed().security.count(1), 1u);
    EXPECT_FALSE(t.engine->bootstrapping());
    ASSERT_EQ(dm.requests.size(), 1u);
    EXPECT_EQ(dm.requests[0].request.path(), "/rd");
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
}

TEST(EngineFactoryBootstrap, InconsistentFactoryConfigurationFallsBackToBootstrap) {
    EngineLockstep t(bootstrap_only());
    Factory f;
    f.consistent = false; // a Security instance without its Server instance
    t.engine->set_factory_source(&f);
    auto& bs = bs_server(t);
    t.start();
    EXPECT_EQ(f.calls, 1);
    EXPECT_EQ(t.store.committed().security.size(), 1u); // rolled back: bootstrap account only
    ASSERT_TRUE(t.run_until_pred([&] { return !bs.requests.empty(); }, 30s));
    EXPECT_EQ(bs.requests[0].request.path(), "/bs");
}

} // namespace
} // namespace lwm2m::client::test
