// bootstrap::Engine against the scripted client (the real AccountStore, SecurityObject and
// ServerObject behind a coap::Endpoint), NoSec, in virtual time: the full sequence in TLV and
// SenML CBOR, generated credentials, the DM credential records compared with what the client
// committed, every failure path (Finish 4.06, Write error, timeouts, repeated /bs, cancel), the
// format fallback, the Bootstrap-Server instance id protection, Discover/Read, durability hold.
#include <gtest/gtest.h>

#include <lwm2m/coap/codec.hpp>
#include <lwm2m/store/memory_bootstrap_config_store.hpp>

#include "lockstep/bootstrap/bs_harness.hpp"
#include "support/bootstrap_samples.hpp"

namespace lwm2m::bootstrap::test {
namespace {

using lwm2m::test::typical_bootstrap_config;
using F = format::ContentFormat;

const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 1, 5783);
const PeerAddr kDev1 = PeerAddr::v4(192, 0, 2, 10, 40001);
const PeerAddr kDev2 = PeerAddr::v4(192, 0, 2, 11, 40002);

EngineConfig nosec_config() {
    EngineConfig c;
    c.allow_nosec = true;
    c.coap.ack_random_factor = 1.0;
    return c;
}

BootstrapTestClient::Options client_options(const std::string& ep) {
    BootstrapTestClient::Options o;
    o.endpoint = ep;
    o.server = kServer;
    o.coap.ack_random_factor = 1.0;
    return o;
}

store::BootstrapConfig nosec_config_for(const std::string& ep) {
    return typical_bootstrap_config(ep, lwm2m::test::bs_nosec(ep));
}

struct BootstrapLockstep : ::testing::Test {
    store::MemoryBootstrapConfigStore store;
    SeededRandom random{42};
    ManualWall wall;

    Engine make(EngineConfig cfg = nosec_config()) {
        auto e = Engine::create(std::move(cfg), store, random, wall);
        EXPECT_TRUE(e) << e.error().message();
        return std::move(*e);
    }
};

std::vector<std::string> request_lines(const BootstrapTestClient& c) {
    std::vector<std::string> out;
    for (const auto& m : c.received) {
        std::string line = m.code.to_string() + " " + m.path();
        if (auto cf = m.uint_option(coap::option::content_format))
            line += " cf=" + std::to_string(*cf);
        if (auto a = m.uint_option(coap::option::accept)) line += " accept=" + std::to_string(*a);
        out.push_back(line);
    }
    return out;
}

void expect_credentials_match_client(const BootstrapFinished& f, BootstrapTestClient& c) {
    auto expected = store::dm_credentials_for(f.endpoint, c.accounts().committed());
    ASSERT_TRUE(expected);
    EXPECT_EQ(f.credentials, *expected);
}

TEST_F(BootstrapLockstep, FullSequenceTlv) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-1")));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-1"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }));
    EXPECT_EQ(dev.bs_answer, coap::code::changed);
    EXPECT_TRUE(dev.bootstrapped());
    const std::vector<std::string> want = {"DELETE /", "GET /0 accept=40", "PUT /0/1 cf=11542",
                                           "PUT /1/0 cf=11542", "POST /bs"};
    EXPECT_EQ(request_lines(dev), want);
    ASSERT_EQ(h.count<BootstrapStarted>(), 1u);
    const auto started = h.all<BootstrapStarted>()[0];
    EXPECT_EQ(started.endpoint, "dev-1");
    EXPECT_EQ(started.peer, kDev1);
    EXPECT_EQ(started.initiator, Initiator::client);
    const auto f = h.all<BootstrapFinished>()[0];
    EXPECT_EQ(f.session, started.session);
    EXPECT_EQ(f.format, F::lwm2m_tlv);
    EXPECT_EQ(f.client_version, "1.1");
    EXPECT_EQ(f.security_ids, (std::map<std::uint16_t, std::uint16_t>{{1, 1}}));
    ASSERT_EQ(f.credentials.size(), 1u);
    EXPECT_EQ(f.credentials[0].ssid, 101);
    EXPECT_EQ(f.credentials[0].info.psk_identity, to_bytes("dm-dev-1"));
    expect_credentials_match_client(f, dev);
    // The client kept its Bootstrap-Server account and holds exactly the configured account.
    const auto& committed = dev.accounts().committed();
    ASSERT_EQ(committed.security.size(), 2u);
    EXPECT_TRUE(committed.security.at(0).is_bootstrap());
    EXPECT_EQ(committed.security.at(1), store.find("dev-1")->accounts.security.at(1));
    EXPECT_EQ(committed.servers, store.find("dev-1")->accounts.servers);
    EXPECT_EQ(h.count<BootstrapFailed>(), 0u);
    const auto st = engine.stats();
    EXPECT_EQ(st.started, 1u);
    EXPECT_EQ(st.finished, 1u);
    EXPECT_EQ(st.active, 0u);
    EXPECT_FALSE(engine.next_deadline().has_value() &&
                 *engine.next_deadline() < h.now + std::chrono::seconds(1))
        << "no session deadline should remain";
}

TEST_F(BootstrapLockstep, FullSequenceSenmlCborByPct) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-c")));
    Engine engine = make();
    Harness h(engine);
    auto opt = client_options("dev-c");
    opt.pct = coap::content_format::senml_cbor;
    BootstrapTestClient dev(opt);
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }));
    const std::vector<std::string> want = {"DELETE /", "GET /0 accept=40", "PUT /0/1 cf=112",
                                           "PUT /1/0 cf=112", "POST /bs"};
    EXPECT_EQ(request_lines(dev), want);
    EXPECT_EQ(h.all<BootstrapFinished>()[0].format, F::senml_cbor);
    expect_credentials_match_client(h.all<BootstrapFinished>()[0], dev);
}

TEST_F(BootstrapLockstep, SenmlCborByVersionAndForcedFormat) {
    auto c12 = nosec_config_for("dev-12");
    c12.lwm2m_version = dm::Lwm2mVersion::v1_2;
    ASSERT_TRUE(store.put(c12));
    auto cj = nosec_config_for("dev-j");
    cj.content_format = F::senml_json;
    ASSERT_TRUE(store.put(cj));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient a(client_options("dev-12"));
    auto oj = client_options("dev-j");
    oj.pct = coap::content_format::lwm2m_tlv; // the configuration's format wins
    BootstrapTestClient b(oj);
    h.add(kDev1, a);
    h.add(kDev2, b);
    a.request_bootstrap(h.now);
    b.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 2; }));
    for (const auto& f : h.all<BootstrapFinished>())
        EXPECT_EQ(f.format, f.endpoint == "dev-12" ? F::senml_cbor : F::senml_json);
    EXPECT_EQ(request_lines(b)[2], "PUT /0/1 cf=110");
    EXPECT_TRUE(a.bootstrapped() && b.bootstrapped());
}

TEST_F(BootstrapLockstep, GeneratedPsk128ByteIdentity64ByteKey) {
    ASSERT_TRUE(store.put([] {
        auto c = lwm2m::test::generated_psk_config("dev-g", 128, 64);
        c.bootstrap_credentials = lwm2m::test::bs_nosec("dev-g");
        return c;
    }()));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-g"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }));
    const auto& s = dev.accounts().committed().security.at(1);
    ASSERT_EQ(s.public_key_or_identity.size(), 128u);
    EXPECT_EQ(s.secret_key.size(), 64u);
    const std::string identity(as_string_view(s.public_key_or_identity));
    EXPECT_EQ(identity.substr(0, 3), "dm-");
    for (char ch : identity)
        EXPECT_TRUE(ch > 0x20 && ch < 0x7f);
    const auto f = h.all<BootstrapFinished>()[0];
    expect_credentials_match_client(f, dev);
    EXPECT_EQ(f.credentials[0].info.psk_key.size(), 64u);
    // A second bootstrap rotates the credentials.
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 2; }));
    const auto f2 = h.all<BootstrapFinished>()[1];
    EXPECT_NE(f2.credentials[0].info.psk_identity, f.credentials[0].info.psk_identity);
    EXPECT_FALSE(f2.credentials[0].info.psk_key.equals(f.credentials[0].info.psk_key.view()));
    expect_credentials_match_client(f2, dev);
}

TEST_F(BootstrapLockstep, FinishNotAcceptableFails) {
    // Without deletes the client keeps its old account with SSID 101: the new one duplicates it
    // and the client refuses Bootstrap-Finish with 4.06 and its reasons.
    auto c = nosec_config_for("dev-n");
    c.deletes.clear();
    ASSERT_TRUE(store.put(c));
    Engine engine = make();
    Harness h(engine);
    auto opt = client_options("dev-n");
    client::ClientConfig initial;
    {
        auto base = lwm2m::client::test::make_config(1);
        initial = base; // /0/0 bootstrap, /0/1 PSK ssid 100, /1/0 ssid 100
        initial.security.at(1).short_server_id = 101;
        initial.servers.at(0).resources[0] = dm::Resource::single(0, dm::Value::integer(101));
        initial.security[7] = initial.security.at(1);
        initial.security.erase(1);
        initial.servers[4] = initial.servers.at(0);
        initial.servers.erase(0);
    }
    ASSERT_TRUE(client::check_consistency(initial).empty());
    opt.initial = initial;
    BootstrapTestClient dev(opt);
    h.add(kDev1, dev);
    const auto before = dev.accounts().committed();
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFailed>() == 1; }));
    const auto f = h.all<BootstrapFailed>()[0];
    EXPECT_EQ(f.step, Step::finish);
    EXPECT_EQ(f.code, coap::code::not_acceptable);
    EXPECT_EQ(f.error, make_error_code(Errc::client_error));
    EXPECT_NE(f.reason.find("already used"), std::string::npos) << f.reason;
    EXPECT_EQ(f.endpoint, "dev-n");
    EXPECT_EQ(h.count<BootstrapFinished>(), 0u);
    EXPECT_EQ(dev.accounts().committed(), before); // the client rolled back
}

TEST_F(BootstrapLockstep, WriteErrorFailsWithoutFinish) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-w")));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-w"));
    dev.intercept = [](const coap::Message& m) -> std::optional<coap::Code> {
        if (m.code == coap::code::put && m.path() == "/1/0") return coap::code::bad_request;
        return std::nullopt;
    };
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFailed>() == 1; }));
    const auto f = h.all<BootstrapFailed>()[0];
    EXPECT_EQ(f.step, Step::write);
    EXPECT_EQ(f.path, dm::Path::parse("/1/0").value());
    EXPECT_EQ(f.code, coap::code::bad_request);
    EXPECT_EQ(dev.finish_count, 0);
    EXPECT_EQ(engine.stats().active, 0u);
}

TEST_F(BootstrapLockstep, UnreachableClientTimesOut) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-t")));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-t"));
    h.add(kDev1, dev);
    // After its Bootstrap-Request nothing the device sends arrives (not even its ACKs).
    int from_device = 0;
    h.filter = [&](const Datagram&, bool to_server) { return !to_server || ++from_device == 1; };
    const TimePoint t0 = h.now;
    dev.request_bootstrap(h.now);
    h.settle();
    ASSERT_EQ(dev.bs_answer, coap::code::changed);
    ASSERT_EQ(dev.received.size(), 1u);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFailed>() == 1; }));
    const auto f = h.all<BootstrapFailed>()[0];
    EXPECT_EQ(f.step, Step::delete_);
    EXPECT_EQ(f.error, make_error_code(coap::Errc::timeout));
    // RFC 7252 §4.8.2: MAX_TRANSMIT_WAIT = ACK_TIMEOUT * (2^(MAX_RETRANSMIT + 1) - 1) *
    // ACK_RANDOM_FACTOR = 2 s * 31 * 1.0.
    EXPECT_EQ(h.now - t0, std::chrono::seconds(62));
    EXPECT_EQ(engine.coap_stats(0)->retransmissions, 4u);
}

TEST_F(BootstrapLockstep, ClientThatAcknowledgesButNeverAnswersTimesOut) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-t")));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-t"));
    dev.silent = true; // its CoAP layer sends the empty ACK, the application never answers
    h.add(kDev1, dev);
    const TimePoint t0 = h.now;
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFailed>() == 1; }));
    const auto f = h.all<BootstrapFailed>()[0];
    EXPECT_EQ(f.step, Step::delete_);
    EXPECT_EQ(f.error, make_error_code(coap::Errc::timeout));
    // The separate response is awaited EXCHANGE_LIFETIME (247 s), within the 5 min session.
    EXPECT_LE(h.now - t0, std::chrono::seconds(250));
    EXPECT_EQ(dev.received.size(), 1u); // duplicates are not delivered twice
}

TEST_F(BootstrapLockstep, SessionTimeoutWhilePersistenceIsNotConfirmed) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-p")));
    EngineConfig cfg = nosec_config();
    cfg.hold_finish_until_persisted = true;
    cfg.session_timeout = std::chrono::seconds(30);
    Engine engine = make(cfg);
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-p"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFailed>() == 1; }));
    EXPECT_EQ(h.count<CredentialsPending>(), 1u);
    const auto f = h.all<BootstrapFailed>()[0];
    EXPECT_EQ(f.step, Step::persist);
    EXPECT_EQ(f.error, make_error_code(Errc::session_timeout));
    EXPECT_EQ(dev.finish_count, 0);
}

TEST_F(BootstrapLockstep, HoldFinishUntilPersisted) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-h")));
    EngineConfig cfg = nosec_config();
    cfg.hold_finish_until_persisted = true;
    Engine engine = make(cfg);
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-h"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    h.settle();
    ASSERT_EQ(h.count<CredentialsPending>(), 1u);
    const auto p = h.all<CredentialsPending>()[0];
    EXPECT_EQ(dev.finish_count, 0);
    EXPECT_EQ(engine.credentials_persisted(h.now, p.session + 99).error(),
              make_error_code(Errc::no_session));
    ASSERT_TRUE(engine.credentials_persisted(h.now, p.session));
    h.settle();
    ASSERT_EQ(h.count<BootstrapFinished>(), 1u);
    EXPECT_EQ(dev.finish_count, 1);
    EXPECT_EQ(h.all<BootstrapFinished>()[0].credentials, p.credentials);
    EXPECT_EQ(engine.credentials_persisted(h.now, p.session).error(),
              make_error_code(Errc::no_session));
}

TEST_F(BootstrapLockstep, RepeatedRequestSupersedesTheRunningSession) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-r")));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-r"));
    dev.silent = true;
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    h.settle();
    ASSERT_EQ(h.count<BootstrapStarted>(), 1u);
    dev.silent = false;
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }));
    ASSERT_EQ(h.count<BootstrapFailed>(), 1u);
    const auto f = h.all<BootstrapFailed>()[0];
    EXPECT_EQ(f.error, make_error_code(Errc::superseded));
    EXPECT_EQ(f.session, h.all<BootstrapStarted>()[0].session);
    EXPECT_EQ(h.all<BootstrapFinished>()[0].session, h.all<BootstrapStarted>()[1].session);
    // The first session's DELETE is not retransmitted after it was superseded: run on and count.
    const auto n = dev.received.size();
    h.run_until([] { return false; }, std::chrono::seconds(120));
    EXPECT_EQ(dev.received.size(), n);
    EXPECT_TRUE(dev.bootstrapped());
}

TEST_F(BootstrapLockstep, CancelEndsTheSession) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-x")));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-x"));
    dev.silent = true;
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    h.settle();
    ASSERT_TRUE(engine.cancel(h.now, "dev-x"));
    h.collect();
    ASSERT_EQ(h.count<BootstrapFailed>(), 1u);
    EXPECT_EQ(h.all<BootstrapFailed>()[0].error, make_error_code(Errc::cancelled));
    EXPECT_EQ(engine.cancel(h.now, "dev-x").error(), make_error_code(Errc::no_session));
}

TEST_F(BootstrapLockstep, FormatFallbackAfter415) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-f")));
    Engine engine = make();
    Harness h(engine);
    auto opt = client_options("dev-f");
    opt.formats = {F::senml_cbor};
    BootstrapTestClient dev(opt);
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }));
    const std::vector<std::string> want = {"DELETE /",          "GET /0 accept=40",
                                           "PUT /0/1 cf=11542", "PUT /0/1 cf=112",
                                           "PUT /1/0 cf=112",   "POST /bs"};
    EXPECT_EQ(request_lines(dev), want);
    EXPECT_EQ(h.all<BootstrapFinished>()[0].format, F::senml_cbor);
    EXPECT_EQ(engine.stats().format_fallbacks, 1u);
    // With the format forced by pct there is no fallback: the 4.15 fails the session.
    auto opt2 = client_options("dev-f");
    opt2.formats = {F::senml_cbor};
    opt2.pct = coap::content_format::lwm2m_tlv;
    BootstrapTestClient dev2(opt2);
    h.clients.clear();
    h.add(kDev2, dev2);
    dev2.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFailed>() == 1; }));
    EXPECT_EQ(h.all<BootstrapFailed>()[0].code, coap::code::unsupported_content_format);
}

TEST_F(BootstrapLockstep, BootstrapServerInstanceIdIsNeverOverwritten) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-i")));
    Engine engine = make();
    Harness h(engine);
    auto opt = client_options("dev-i");
    client::ClientConfig initial;
    client::SecurityInstance bs;
    bs.server_uri = "coap://bs.example.com";
    bs.bootstrap_server = true;
    bs.security_mode = client::SecurityMode::nosec;
    initial.security[1] = bs; // the device keeps its Bootstrap-Server account at /0/1
    opt.initial = initial;
    BootstrapTestClient dev(opt);
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }));
    const auto f = h.all<BootstrapFinished>()[0];
    EXPECT_EQ(f.security_ids, (std::map<std::uint16_t, std::uint16_t>{{1, 0}}));
    EXPECT_EQ(request_lines(dev)[2], "PUT /0/0 cf=11542");
    const auto& committed = dev.accounts().committed();
    ASSERT_EQ(committed.security.size(), 2u);
    EXPECT_EQ(committed.security.at(1), bs);
    EXPECT_FALSE(committed.security.at(0).is_bootstrap());
    EXPECT_EQ(engine.stats().ids_moved, 1u);
    expect_credentials_match_client(f, dev);

    // A client without Bootstrap-Discover: the configured ids are kept (and here that overwrites
    // nothing because its account is at /0/0).
    auto opt2 = client_options("dev-i");
    opt2.discover = false;
    BootstrapTestClient dev2(opt2);
    h.clients.clear();
    h.add(kDev2, dev2);
    dev2.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 2; }));
    EXPECT_EQ(h.all<BootstrapFinished>()[1].security_ids,
              (std::map<std::uint16_t, std::uint16_t>{{1, 1}}));
    EXPECT_TRUE(dev2.bootstrapped());
}

TEST_F(BootstrapLockstep, DiscoverAndReadAfterTheWrites) {
    auto c = nosec_config_for("dev-d");
    c.discover = dm::Path{};
    c.reads = {dm::Path{Oid{1}}};
    ASSERT_TRUE(store.put(c));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-d"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }));
    const auto f = h.all<BootstrapFinished>()[0];
    ASSERT_TRUE(f.discovered);
    bool saw_dm = false, saw_server = false;
    for (const auto& l : *f.discovered) {
        if (l.target == "/0/1" && l.find("ssid") && l.find("ssid")->value == "101") saw_dm = true;
        if (l.target == "/1/0") saw_server = true;
    }
    EXPECT_TRUE(saw_dm && saw_server);
    ASSERT_EQ(f.reads.size(), 1u);
    const auto* o = std::get_if<dm::Object>(&f.reads[0].node);
    ASSERT_NE(o, nullptr);
    ASSERT_EQ(o->instances.size(), 1u);
    EXPECT_EQ(o->instances.begin()->second.resources.at(0).value.as_integer(), 101);
    const std::vector<std::string> tail = {"GET / accept=40", "GET /1 accept=11542", "POST /bs"};
    const auto lines = request_lines(dev);
    EXPECT_EQ(std::vector<std::string>(lines.end() - 3, lines.end()), tail);
}

TEST_F(BootstrapLockstep, AccessControlInstancesAreWritten) {
    auto c = nosec_config_for("dev-a");
    dm::Instance acl;
    acl.id = 0;
    acl.resources[0] = dm::Resource::single(0, dm::Value::integer(3));
    acl.resources[1] = dm::Resource::single(1, dm::Value::integer(0));
    dm::Resource rights = dm::Resource::multi(2);
    rights.instances.emplace(std::uint16_t{101}, dm::Value::integer(1));
    acl.resources[2] = rights;
    acl.resources[3] = dm::Resource::single(3, dm::Value::integer(101));
    c.access_control[0] = acl;
    ASSERT_TRUE(store.put(c));
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-a"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }));
    ASSERT_EQ(dev.access_control.count(0), 1u);
    EXPECT_EQ(dev.access_control.at(0).resources.at(3).value.as_integer(), 101);
    EXPECT_EQ(request_lines(dev)[4], "PUT /2/0 cf=11542");
}

TEST_F(BootstrapLockstep, RequestsOtherThanBootstrapRequest) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-q")));
    Engine engine = make();
    coap::MessageId mid = 0x100;
    const auto send = [&](coap::Message m) -> std::optional<coap::Message> {
        m.type = coap::Type::con;
        m.message_id = ++mid;
        m.token = coap::Token::from_u64(9, 2);
        engine.on_datagram(TimePoint{} + 1s, kDev1, coap::encode(m));
        auto d = engine.poll_transmit();
        if (!d) return std::nullopt;
        auto v = coap::decode(d->bytes);
        if (!v) return std::nullopt;
        return coap::Message::from_view(*v);
    };
    coap::Message get;
    get.code = coap::code::get;
    get.set_path("/bs");
    get.add_option(coap::option::uri_query, "ep=dev-q");
    EXPECT_EQ(send(get)->code, coap::code::method_not_allowed);
    coap::Message noep;
    noep.code = coap::code::post;
    noep.set_path("/bs");
    EXPECT_EQ(send(noep)->code, coap::code::bad_request);
    coap::Message pack;
    pack.code = coap::code::get;
    pack.set_path("/bspack");
    pack.add_option(coap::option::uri_query, "ep=dev-q");
    EXPECT_EQ(send(pack)->code, coap::code::not_implemented);
    coap::Message other;
    other.code = coap::code::post;
    other.set_path("/rd");
    EXPECT_EQ(send(other)->code, coap::code::not_found);
    coap::Message pct;
    pct.code = coap::code::post;
    pct.set_path("/bs");
    pct.add_option(coap::option::uri_query, "ep=dev-q");
    pct.add_option(coap::option::uri_query, "pct=0");
    const auto r = send(pct);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, coap::code::unsupported_content_format);
    EXPECT_EQ(engine.stats().started, 0u);
    EXPECT_EQ(engine.stats().refused, 3u); // GET /bs, no ep, pct=0 (bspack and /rd are not /bs)
}

TEST_F(BootstrapLockstep, UnknownEndpointIsBadRequest) {
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("nobody"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    h.settle();
    EXPECT_EQ(dev.bs_answer, coap::code::bad_request);
    EXPECT_TRUE(dev.received.empty());
    ASSERT_EQ(h.count<BootstrapFailed>(), 1u);
    const auto f = h.all<BootstrapFailed>()[0];
    EXPECT_EQ(f.session, 0u);
    EXPECT_EQ(f.endpoint, "nobody");
    EXPECT_EQ(f.code, coap::code::bad_request);
    EXPECT_EQ(f.error, make_error_code(Errc::unknown_endpoint));
}

TEST_F(BootstrapLockstep, RefusedConfigurationNeverReachesADevice) {
    // The client would refuse this at Bootstrap-Finish (no Server instance for SSID 101): the
    // store refuses it, so the device's Bootstrap-Request finds no configuration and nothing is
    // ever written.
    auto bad = nosec_config_for("dev-b");
    bad.accounts.servers.clear();
    std::vector<std::string> why;
    ASSERT_FALSE(store.put(bad, &why));
    ASSERT_FALSE(why.empty());
    Engine engine = make();
    Harness h(engine);
    BootstrapTestClient dev(client_options("dev-b"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    h.settle();
    EXPECT_EQ(dev.bs_answer, coap::code::bad_request);
    EXPECT_TRUE(dev.received.empty());
    EXPECT_EQ(engine.stats().started, 0u);
}

TEST_F(BootstrapLockstep, SessionLimitAnswers503) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-1")));
    ASSERT_TRUE(store.put(nosec_config_for("dev-2")));
    EngineConfig cfg = nosec_config();
    cfg.max_sessions = 1;
    Engine engine = make(cfg);
    Harness h(engine);
    BootstrapTestClient a(client_options("dev-1"));
    BootstrapTestClient b(client_options("dev-2"));
    a.silent = true;
    h.add(kDev1, a);
    h.add(kDev2, b);
    a.request_bootstrap(h.now);
    h.settle();
    b.request_bootstrap(h.now);
    h.settle();
    EXPECT_EQ(b.bs_answer, coap::code::service_unavailable);
    EXPECT_EQ(h.all<BootstrapFailed>().back().error, make_error_code(Errc::session_limit));
}

TEST_F(BootstrapLockstep, NoSecRefusedUnlessAllowed) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-s")));
    ASSERT_TRUE(store.put(typical_bootstrap_config("dev-psk"))); // bootstrap credentials: PSK
    EngineConfig cfg = nosec_config();
    cfg.allow_nosec = false;
    Engine engine = make(cfg);
    Harness h(engine);
    BootstrapTestClient a(client_options("dev-s"));
    h.add(kDev1, a);
    a.request_bootstrap(h.now);
    h.settle();
    EXPECT_EQ(a.bs_answer, coap::code::bad_request);
    EXPECT_EQ(h.all<BootstrapFailed>().back().error, make_error_code(Errc::not_authenticated));

    // Allowed, but the endpoint's own bootstrap credentials are PSK: it must use DTLS.
    Engine engine2 = make(nosec_config());
    Harness h2(engine2);
    BootstrapTestClient b(client_options("dev-psk"));
    h2.add(kDev2, b);
    b.request_bootstrap(h2.now);
    h2.settle();
    EXPECT_EQ(b.bs_answer, coap::code::bad_request);
    EXPECT_NE(h2.all<BootstrapFailed>().back().reason.find("DTLS"), std::string::npos);
}

TEST_F(BootstrapLockstep, ServerInitiatedOverNoSec) {
    ASSERT_TRUE(store.put(nosec_config_for("dev-si")));
    Engine engine = make();
    Harness h(engine);
    EXPECT_EQ(engine.start_server_initiated(h.now, "dev-si").error(),
              make_error_code(Errc::no_known_peer));
    EXPECT_EQ(engine.start_server_initiated(h.now, "ghost").error(),
              make_error_code(Errc::unknown_endpoint));
    EXPECT_EQ(engine.start_server_initiated(h.now, "dev-si", 3, kDev1).error(),
              make_error_code(Errc::no_such_listener));
    BootstrapTestClient dev(client_options("dev-si"));
    h.add(kDev1, dev);
    dev.request_bootstrap(h.now);
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 1; }));
    const auto requests_before = dev.received.size();
    // The configuration changes (a new lifetime); the server pushes it without a /bs.
    auto c2 = nosec_config_for("dev-si");
    c2.accounts.servers.at(0).resources[1] = dm::Resource::single(1, dm::Value::integer(777));
    ASSERT_TRUE(store.put(c2));
    auto sid = engine.start_server_initiated(h.now, "dev-si");
    ASSERT_TRUE(sid) << sid.error().message();
    ASSERT_TRUE(h.run_until([&] { return h.count<BootstrapFinished>() == 2; }));
    const auto f = h.all<BootstrapFinished>()[1];
    EXPECT_EQ(f.session, *sid);
    EXPECT_EQ(f.initiator, Initiator::server);
    EXPECT_EQ(h.all<BootstrapStarted>()[1].initiator, Initiator::server);
    EXPECT_EQ(dev.finish_count, 2);
    EXPECT_EQ(dev.received.size(), requests_before * 2);
    EXPECT_EQ(dev.accounts().committed().servers.at(0).lifetime(), 777);
}

} // namespace
} // namespace lwm2m::bootstrap::test
