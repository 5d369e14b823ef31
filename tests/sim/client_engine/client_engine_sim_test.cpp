// The client engine over SimNetwork with 5% loss (and some duplication/reordering), for several
// seeds: client-initiated bootstrap from a NoSec Bootstrap Server that provisions a DTLS-PSK
// account; registration over DTLS (GnuTLS in virtual time); Updates across a simulated week;
// CON notifications of a value that changes every 6 hours; then a 256 KiB firmware pull (Block2)
// over the same DTLS session.
#include <gtest/gtest.h>

#include <cstdio>

#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/dtls/server_table.hpp>
#include <lwm2m/format/codec.hpp>

#include "support/engine_harness.hpp"
#include "support/gnutls_time.hpp"
#include "support/sim_network.hpp"

namespace lwm2m::client::test {
namespace {

using namespace std::chrono_literals;
using lwm2m::test::GnutlsVirtualTime;
using lwm2m::test::SimNetwork;
using lwm2m::test::SimNode;

const PeerAddr kDmsAddr = PeerAddr::v4(192, 0, 2, 10, 5684);

class PskStore final : public dtls::CredentialStore {
public:
    Bytes identity;
    SecretBytes key;
    std::optional<SecretBytes> psk_key(BytesView id) override {
        if (equal(id, identity)) return key;
        return std::nullopt;
    }
    bool rpk_allowed(BytesView) override { return false; }
};

coap::Message put_tlv(std::string_view path, const dm::Content& c) {
    coap::Message m = req(coap::code::put, path);
    m.add_uint_option(coap::option::content_format, coap::content_format::lwm2m_tlv);
    m.payload = *format::encode(format::ContentFormat::lwm2m_tlv, c);
    return m;
}

struct Sink final : DownloadSink {
    Bytes body;
    bool complete = false;
    std::optional<DownloadError> error;
    void on_download_chunk(std::size_t, BytesView d, std::optional<std::size_t>) override {
        body.insert(body.end(), d.begin(), d.end());
    }
    void on_download_complete() override { complete = true; }
    void on_download_failed(DownloadError e) override { error = e; }
};

void run(std::uint64_t seed) {
    GnutlsVirtualTime::install(TimePoint{} + 1s);
    SimNetwork net(seed);
    lwm2m::test::LinkConfig link;
    link.delay = 20ms;
    link.jitter = 10ms;
    link.loss = 0.05;
    link.duplicate = 0.01;
    link.reorder = 0.01;
    net.set_default_link(link);

    const Bytes identity = to_bytes("sim-device-" + std::to_string(seed));
    const Bytes key = bytes_of(16, static_cast<std::uint8_t>(seed));

    // --- client ---
    ManualWallClock wall;
    SeededRandom rnd(seed * 7 + 1);
    MapResolver resolver;
    resolver.hosts["bs.test"] = kBsAddr;
    resolver.hosts["dm.test"] = kDmsAddr;
    // LwM2M 1.2: Object 1 Resource 26 (Default Notification Mode) selects CON notifications.
    auto registry = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_2);
    ClientConfig initial;
    {
        auto b = bootstrap_account(0, "coap://bs.test:5683");
        b.resources[11] = res(11, dm::Value::integer(1));
        initial.security[0] = sec(b);
    }
    AccountStore store(initial, wall, net.now());
    EngineConfig ecfg;
    ecfg.endpoint_name = "sim-" + std::to_string(seed);
    ecfg.version = dm::Lwm2mVersion::v1_2;
    lwm2m::test::CaptureLogger logger;
    Engine engine(ecfg, store, registry, rnd, wall, resolver, logger);
    TestObject device(3, registry, "1.2");
    fill_device(device);
    ASSERT_TRUE(engine.add_object(device));
    device.listener = &engine;
    std::vector<EngineEvent> events;
    TimePoint last_wall_sync = net.now();
    auto sync_wall = [&](TimePoint now) {
        wall.advance(std::chrono::duration_cast<std::chrono::seconds>(now - last_wall_sync));
        last_wall_sync += std::chrono::duration_cast<std::chrono::seconds>(now - last_wall_sync);
    };
    SimNode cn;
    cn.on_datagram = [&](TimePoint now, const PeerAddr& from, BytesView b) {
        GnutlsVirtualTime::set(now);
        sync_wall(now);
        engine.on_datagram(now, from, b);
    };
    cn.on_timeout = [&](TimePoint now) {
        GnutlsVirtualTime::set(now);
        sync_wall(now);
        engine.on_timeout(now);
    };
    cn.poll_transmit = [&] { return engine.poll_transmit(); };
    cn.next_deadline = [&] { return engine.next_deadline(); };
    cn.after = [&](TimePoint) {
        while (auto e = engine.poll_event())
            events.push_back(*e);
    };
    net.add_node(kClientAddr, std::move(cn));

    // --- Bootstrap Server (NoSec) ---
    SeededRandom bs_rnd(seed * 7 + 2);
    coap::Endpoint bs(coap::Config{}, bs_rnd);
    int finish_answers = 0;
    std::string bs_codes;
    net.add_node(kBsAddr, lwm2m::test::make_sim_node(bs, [&](TimePoint now) {
                     while (auto e = bs.poll_event()) {
                         if (auto* in = std::get_if<coap::IncomingRequest>(&*e)) {
                             coap::Message r;
                             r.code = coap::code::changed;
                             (void)bs.send_response(now, in->id, std::move(r));
                             // Provision a PSK account (coaps) and its Server instance, then
                             // finish.
                             dm::Instance s0;
                             s0.id = 1;
                             s0.resources[0] = res(0, dm::Value::string("coaps://dm.test:5684"));
                             s0.resources[1] = res(1, dm::Value::boolean(false));
                             s0.resources[2] = res(2, dm::Value::integer(0));
                             s0.resources[3] = res(3, dm::Value::opaque(identity));
                             s0.resources[5] = res(5, dm::Value::opaque(key));
                             s0.resources[10] = res(10, dm::Value::integer(101));
                             auto si = server_instance(0, 101, 3600);
                             si.resources[26] = res(26, dm::Value::integer(1)); // CON notifications
                             (void)bs.send_request(
                                 now, kClientAddr,
                                 put_tlv("/0/1", dm::Content{*dm::Path::parse("/0/1"), s0}));
                             (void)bs.send_request(
                                 now, kClientAddr,
                                 put_tlv("/1/0", dm::Content{*dm::Path::parse("/1/0"), si}));
                             (void)bs.send_request(now, kClientAddr, req(coap::code::post, "/bs"));
                         } else if (auto* r = std::get_if<coap::Response>(&*e)) {
                             if (r->response.code == coap::code::changed) ++finish_answers;
                             bs_codes += r->response.code.to_string() + " ";
                         }
                     }
                 }));

    // --- DM server (DTLS PSK) ---
    PskStore creds;
    creds.identity = identity;
    creds.key = SecretBytes(key);
    dtls::ServerConfig scfg;
    scfg.idle_timeout = 3h; // longer than the Update interval
    auto table = dtls::ServerTable::create(scfg, creds);
    ASSERT_TRUE(table);
    SeededRandom dm_rnd(seed * 7 + 3);
    coap::Endpoint dm_ep(coap::Config{}, dm_rnd);
    dtls::SecureEndpoint<dtls::ServerTable> dms(dm_ep, *table);
    const Bytes firmware = lwm2m::test::pattern_body(256 * 1024, static_cast<std::uint8_t>(seed));
    int registers = 0, updates = 0;
    std::vector<std::string> notified;
    bool observing = false;
    std::optional<PeerAddr> client_seen;
    net.add_node(kDmsAddr, lwm2m::test::make_sim_node(dms, [&](TimePoint now) {
                     GnutlsVirtualTime::set(now);
                     while (auto e = dms.poll_event()) {
                         auto* ce = std::get_if<coap::Event>(&*e);
                         if (ce == nullptr) continue;
                         if (auto* in = std::get_if<coap::IncomingRequest>(ce)) {
                             coap::Message r;
                             const std::string p = in->request.path();
                             if (in->request.code == coap::code::post && p == "/rd") {
                                 ++registers;
                                 r.code = coap::code::created;
                                 r.add_option(coap::option::location_path,
                                              std::string_view("rd/1"));
                                 client_seen = in->peer;
                             } else if (in->request.code == coap::code::post && p == "/rd/1") {
                                 ++updates;
                                 r.code = coap::code::changed;
                             } else if (in->request.code == coap::code::get && p == "/fw") {
                                 r.code = coap::code::content;
                                 r.payload = firmware;
                             } else {
                                 r.code = coap::code::not_found;
                             }
                             (void)dm_ep.send_response(now, in->id, std::move(r));
                             if (!observing && registers > 0) {
                                 observing = true;
                                 coap::Message o = req(coap::code::get, "/3/0/9");
                                 o.add_uint_option(coap::option::observe, 0);
                                 (void)dm_ep.send_request(now, in->peer, std::move(o));
                             }
                         } else if (auto* n = std::get_if<coap::Notification>(ce)) {
                             notified.emplace_back(as_string_view(n->notification.payload));
                         }
                     }
                     dms.flush(now);
                 }));

    engine.start(net.now());
    net.kick();
    ASSERT_TRUE(net.run_until(
        [&] { return engine.reg_state(ShortServerId{101}) == RegState::registered && observing; },
        10min))
        << "seed " << seed << ": not registered after bootstrap; registers=" << registers
        << " finish=" << finish_answers << " events=" << events.size()
        << " state=" << to_string(engine.reg_state(ShortServerId{101}))
        << " sent=" << net.stats().sent << " t=" << to_ms(net.now().time_since_epoch())
        << " bs=" << engine.bootstrapping() << " obs=" << observing << " bs_codes=" << bs_codes
        << "\n"
        << logger.all() << [&] {
               std::string k;
               for (auto& e : events)
                   k += std::to_string(int(e.kind)) + " ";
               return k;
           }();
    EXPECT_EQ(finish_answers >= 0, true);
    EXPECT_EQ(store.committed().security.count(1), 1u);

    // A simulated week: the battery level changes every 6 hours.
    for (int i = 0; i < 28; ++i) {
        net.run_for(6h);
        device.set(0, 9, dm::Value::integer(50 + i));
        net.kick();
    }
    net.run_for(10min);
    EXPECT_EQ(engine.reg_state(ShortServerId{101}), RegState::registered) << seed;
    // Lifetime 3600 s, Update every 3600 - MAX_TRANSMIT_WAIT (93 s) = 3507 s: ~172 in a week.
    EXPECT_GE(updates, 160) << seed;
    EXPECT_LE(registers, 3) << seed;
    // CON notifications: every change arrives, the last one with the last value.
    ASSERT_GE(notified.size(), 27u) << seed;
    EXPECT_EQ(notified.back(), "77") << seed;
    std::size_t failed = 0;
    for (const auto& e : events)
        if (e.kind == EngineEvent::Kind::registration_failed) ++failed;
    EXPECT_EQ(failed, 0u) << seed;

    // Firmware pull: 256 KiB with Block2 over the DM server's DTLS session, 5% loss.
    Sink sink;
    engine.start_download("coaps://dm.test:5684/fw", sink);
    net.kick();
    ASSERT_TRUE(net.run_until([&] { return sink.complete || sink.error.has_value(); }, 1h)) << seed;
    EXPECT_FALSE(sink.error.has_value()) << seed;
    EXPECT_EQ(sink.body.size(), firmware.size()) << seed;
    EXPECT_TRUE(sink.body == firmware) << seed;
    EXPECT_GT(net.stats().lost, 0u);
    EXPECT_EQ(net.stats().deadline_violations, 0u) << seed;
    std::printf("seed %llu: updates=%d registers=%d notifications=%zu lost=%llu sent=%llu fw=%zu\n",
                (unsigned long long)seed, updates, registers, notified.size(),
                (unsigned long long)net.stats().lost, (unsigned long long)net.stats().sent,
                sink.body.size());
}

class EngineSim : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(EngineSim, BootstrapRegisterWeekNotifyFirmwareUnderLoss) {
    run(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Seeds, EngineSim,
                         ::testing::Range<std::uint64_t>(1, 1 + lwm2m::test::sim_seeds(3)));

} // namespace
} // namespace lwm2m::client::test
