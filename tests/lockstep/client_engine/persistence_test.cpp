// Persistence (restart continues with an Update while the registration is valid), the engine
// state codec, queue mode (TS 1.1 §6.5) and the package download (PackageFetcher).
#include <gtest/gtest.h>

#include <lwm2m/client/config_codec.hpp>

#include "support/engine_harness.hpp"

namespace lwm2m::client::test {
namespace {

using namespace std::chrono_literals;

struct Restarted {
    std::unique_ptr<EngineLockstep> t;
};

/// Runs a registered engine, snapshots it, and starts a new one `downtime` later.
Restarted restart_after(EngineLockstep& t, std::chrono::seconds downtime) {
    auto snap = t.engine->snapshot();
    auto cfg = decode_config(snap.accounts.view());
    EXPECT_TRUE(cfg);
    Restarted r;
    r.t = std::make_unique<EngineLockstep>(*cfg, EngineLockstep::default_engine_config(),
                                           dm::Lwm2mVersion::v1_1, TimePoint{} + 3s,
                                           t.wall.unix_seconds() + downtime.count());
    r.t->dm_server_ok();
    EXPECT_TRUE(r.t->engine->restore_state(snap.state, r.t->now));
    return r;
}

TEST(EnginePersistence, RestartWithValidRegistrationSendsUpdate) {
    EngineLockstep t(nosec_config(3600));
    t.dm_server_ok({"rd", "abc"});
    t.start();
    auto wa = req(coap::code::put, "/3/0/9");
    wa.add_option(coap::option::uri_query, std::string_view("pmin=7"));
    ASSERT_EQ(t.request(kDmAddr, wa)->response.code, coap::code::changed);
    t.run_for(100s);
    auto r = restart_after(t, 60s);
    r.t->start();
    auto& s = r.t->server(kDmAddr);
    ASSERT_EQ(s.requests.size(), 1u);
    const auto& m = s.requests[0].request;
    EXPECT_EQ(m.path(), "/rd/abc"); // an Update to the stored location, not a Register
    std::vector<std::string> q;
    for (const auto& o : m.options())
        if (o.number == coap::option::uri_query) q.emplace_back(as_string_view(o.value));
    EXPECT_NE(std::find(q.begin(), q.end(), "lt=3600"), q.end());
    EXPECT_EQ(r.t->engine->reg_state(ShortServerId{101}), RegState::registered);
    // The attributes survived.
    auto d = req(coap::code::get, "/3/0/9");
    d.add_uint_option(coap::option::accept, coap::content_format::link_format);
    auto dr = r.t->request(kDmAddr, d);
    ASSERT_TRUE(dr);
    EXPECT_NE(std::string(as_string_view(dr->response.payload)).find("pmin=7"), std::string::npos);
}

TEST(EnginePersistence, ObservationsContinueAfterRestart) {
    EngineLockstep t(nosec_config(3600));
    t.dm_server_ok();
    t.start();
    auto m = req(coap::code::get, "/3/0/9");
    m.add_uint_option(coap::option::observe, 0);
    m.token = coap::Token(as_bytes("obs-tok"));
    auto r0 = t.request(kDmAddr, m);
    ASSERT_TRUE(r0);
    const std::uint64_t seq0 = r0->response.uint_option(coap::option::observe).value_or(0);
    t.device.set(0, 9, dm::Value::integer(11));
    t.run_for(1s);
    ASSERT_EQ(t.server(kDmAddr).notifications.size(), 1u);
    const std::uint64_t seq1 = t.server(kDmAddr).notifications[0].seq;
    EXPECT_GT(seq1, seq0);
    auto rs = restart_after(t, 30s);
    rs.t->device.data[0][9] = dm::Resource::single(9, dm::Value::integer(12));
    rs.t->start();
    rs.t->run_for(1s);
    // The restored observation notifies with the same token and the next sequence number.
    bool found = false;
    for (const auto& raw : rs.t->server(kDmAddr).raw_in) {
        auto v = coap::decode(raw);
        if (!v || v->code != coap::code::content) continue;
        if (!equal(v->token.view(), as_bytes("obs-tok"))) continue;
        EXPECT_EQ(v->uint_option(coap::option::observe), seq1 + 1);
        EXPECT_EQ(as_string_view(v->payload), "12");
        found = true;
    }
    EXPECT_TRUE(found);
}

TEST(EnginePersistence, RestartAfterExpiryRegistersAgain) {
    EngineLockstep t(nosec_config(300));
    t.dm_server_ok();
    t.start();
    auto r = restart_after(t, 400s);
    r.t->start();
    auto& s = r.t->server(kDmAddr);
    ASSERT_EQ(s.requests.size(), 1u);
    EXPECT_EQ(s.requests[0].request.path(), "/rd");
}

TEST(EnginePersistence, UpdateAnsweredNotFoundRegistersAgain) {
    EngineLockstep t(nosec_config(300));
    auto& s = t.dm_server_ok();
    t.start();
    auto ok_reply = s.auto_reply;
    s.auto_reply = [&](const coap::IncomingRequest& in) -> std::optional<coap::Message> {
        if (in.request.path() != "/rd") {
            coap::Message m;
            m.code = coap::code::not_found; // the server lost the registration
            return m;
        }
        return ok_reply(in);
    };
    ASSERT_TRUE(t.engine->trigger_update(t.now));
    t.settle();
    ASSERT_EQ(s.requests.size(), 3u);
    EXPECT_EQ(s.requests[2].request.path(), "/rd");
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
    EXPECT_EQ(t.count_events(EngineEvent::Kind::registered), 2u);
}

TEST(EngineStateCodec, RoundTripAndCorruption) {
    EngineState s;
    s.bootstrap_at = 1'800'000'123;
    s.registrations.push_back({101, {to_bytes("rd/1")}, 300, "U", "</1/0>", 1'800'000'000, true});
    NotificationAttributes a;
    a.pmin = 5;
    a.gt = 2.5;
    a.con = true;
    s.attributes.push_back({101, *dm::Path::parse("/3/0/9"), a});
    s.observations.push_back({101,
                              to_bytes("tok"),
                              112,
                              true,
                              {*dm::Path::parse("/3/0/9"), *dm::Path::parse("/3/0")},
                              7});
    const Bytes b = encode_engine_state(s);
    auto d = decode_engine_state(b);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
    // Every single-byte corruption and every truncation is refused.
    for (std::size_t i = 0; i < b.size(); ++i) {
        Bytes c = b;
        c[i] ^= std::byte{0x40};
        EXPECT_FALSE(decode_engine_state(c)) << i;
        EXPECT_FALSE(decode_engine_state(BytesView(b).first(i))) << i;
    }
    Bytes longer = b;
    longer.push_back(std::byte{0});
    EXPECT_FALSE(decode_engine_state(longer));
}

TEST(EngineQueueMode, SleepsAfterTheQueueTimerAndWakesToNotify) {
    auto ecfg = EngineLockstep::default_engine_config();
    ecfg.queue_mode = true;
    EngineLockstep t(nosec_config(3600), ecfg);
    t.dm_server_ok();
    t.start();
    auto m = req(coap::code::get, "/3/0/9");
    m.add_uint_option(coap::option::observe, 0);
    ASSERT_EQ(t.request(kDmAddr, m)->response.code, coap::code::content);
    EXPECT_TRUE(t.engine->listening());
    t.run_for(61s);
    EXPECT_TRUE(t.engine->listening());
    t.run_for(2s); // MAX_TRANSMIT_WAIT (62 s) since the last exchange
    EXPECT_FALSE(t.engine->listening());
    EXPECT_EQ(t.count_events(EngineEvent::Kind::sleeping), 1u);
    t.device.set(0, 9, dm::Value::integer(5));
    t.run_for(1s);
    EXPECT_TRUE(t.engine->listening());
    EXPECT_EQ(t.count_events(EngineEvent::Kind::awake), 1u);
    EXPECT_EQ(t.server(kDmAddr).notifications.size(), 1u);
    t.run_for(70s);
    EXPECT_FALSE(t.engine->listening());
}

class Sink final : public DownloadSink {
public:
    Bytes body;
    std::optional<std::size_t> total;
    bool complete = false;
    std::optional<DownloadError> error;
    void on_download_chunk(std::size_t offset, BytesView data,
                           std::optional<std::size_t> t) override {
        EXPECT_EQ(offset, body.size());
        body.insert(body.end(), data.begin(), data.end());
        total = t;
    }
    void on_download_complete() override { complete = true; }
    void on_download_failed(DownloadError e) override { error = e; }
};

TEST(EngineDownload, BlockwiseFromAPackageServerAndErrors) {
    EngineLockstep t(nosec_config(3600));
    t.dm_server_ok();
    const PeerAddr fw = PeerAddr::v4(192, 0, 2, 50, 5683);
    t.resolver.hosts["fw.test"] = fw;
    const Bytes pkg = lwm2m::test::pattern_body(20000, 3);
    t.server(fw).auto_reply = [&](const coap::IncomingRequest& in) -> std::optional<coap::Message> {
        coap::Message m;
        if (in.request.path() == "/fw/pkg.bin") {
            m.code = coap::code::content;
            m.payload = pkg;
        } else {
            m.code = coap::code::not_found;
        }
        return m;
    };
    t.start();
    Sink ok_sink;
    t.engine->start_download("coap://fw.test/fw/pkg.bin", ok_sink);
    t.run_for(10s);
    EXPECT_TRUE(ok_sink.complete);
    EXPECT_EQ(ok_sink.body, pkg);
    EXPECT_GE(t.server(fw).raw_in.size(), 20u); // Block2: one GET per 1024-byte block

    Sink missing;
    t.engine->start_download("coap://fw.test/nothing", missing);
    t.run_for(10s);
    EXPECT_EQ(missing.error, DownloadError::not_found);

    Sink http;
    t.engine->start_download("http://fw.test/x", http);
    EXPECT_EQ(http.error, DownloadError::unsupported_protocol);
    Sink bad;
    t.engine->start_download("coap://", bad);
    EXPECT_EQ(bad.error, DownloadError::invalid_uri);
    // coaps to a host none of our accounts holds credentials for.
    Sink secure;
    t.engine->start_download("coaps://fw.test/fw/pkg.bin", secure);
    EXPECT_EQ(secure.error, DownloadError::unsupported_protocol);
    // Unreachable host: connection lost after the CoAP timeout.
    t.server(fw).drop_all = true;
    Sink lost;
    t.engine->start_download("coap://fw.test/fw/pkg.bin", lost);
    t.run_for(300s);
    EXPECT_EQ(lost.error, DownloadError::connection_lost);
}

} // namespace
} // namespace lwm2m::client::test
