// Simulation tests of coap::Endpoint: a client and a server endpoint over a SimNetwork with
// seeded loss, duplication, reordering, jitter and a partition. Invariants: every request reaches
// the server handler exactly once (a GET challenged by address validation: exactly twice), every
// response reaches its caller exactly once, block-wise bodies arrive byte for byte, no node ever
// reports a deadline in the past.
//
// 5 seeds in the default `sim` run, 200 under `sim-long` (LWM2M_SIM_SEEDS).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "support/coap_script.hpp"
#include "support/sim_network.hpp"

using namespace lwm2m;
using namespace lwm2m::coap;
using namespace std::chrono_literals;

namespace {

const PeerAddr kClient = PeerAddr::v4(192, 0, 2, 1, 40000);
const PeerAddr kServer = PeerAddr::v4(192, 0, 2, 2, 5683);

test::LinkConfig lossy() {
    test::LinkConfig l;
    l.delay = 20ms;
    l.jitter = 10ms;
    l.loss = 0.05;
    l.duplicate = 0.05;
    l.reorder = 0.05;
    l.reorder_delay = 300ms;
    return l;
}

int id_of(const Message& m) {
    const std::string s(as_string_view(m.payload));
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoi(s);
}

class CoapEndpointSim : public ::testing::TestWithParam<int> {};

// 1000 CON requests client -> server; the response echoes the request id.
TEST_P(CoapEndpointSim, ThousandRequestsExactlyOnce) {
    const auto seed = static_cast<std::uint64_t>(GetParam());
    Config cfg;
    // 5% loss each way: a CON exchange fails with p ~ 0.1^(MAX_RETRANSMIT+1); 8 retransmissions
    // make a failure across 200 x 1000 exchanges practically impossible, so "exactly once" can
    // be asserted for every request.
    cfg.max_retransmit = 8;
    SeededRandom crng(seed * 3 + 1);
    SeededRandom srng(seed * 3 + 2);
    Endpoint client(cfg, crng);
    Endpoint server(cfg, srng);

    constexpr int kTotal = 1000;
    constexpr int kWindow = 6;   // requests handed to the endpoint at once (NSTART queues them)
    std::map<int, int> handled;  // server handler deliveries per id
    std::map<int, int> answered; // client Response deliveries per id
    int issued = 0;
    int in_flight = 0;
    int failed = 0;
    std::string error;

    auto client_app = [&](TimePoint now) {
        while (auto e = client.poll_event()) {
            if (auto* r = std::get_if<Response>(&*e)) {
                const int id = id_of(r->response);
                ++answered[id];
                if (r->response.code != code::content)
                    error = "wrong code " + r->response.code.to_string();
                --in_flight;
            } else if (std::holds_alternative<RequestFailed>(*e)) {
                ++failed;
                --in_flight;
            } else {
                error = "unexpected client event";
            }
        }
        while (issued < kTotal && in_flight < kWindow) {
            Message m = test::con(code::post).path("/echo").payload(std::to_string(issued));
            auto id = client.send_request(now, kServer, std::move(m));
            if (!id) {
                error = "send_request failed: " + id.error().message();
                return;
            }
            ++issued;
            ++in_flight;
        }
    };
    auto server_app = [&](TimePoint now) {
        while (auto e = server.poll_event()) {
            auto* in = std::get_if<IncomingRequest>(&*e);
            if (in == nullptr) {
                error = "unexpected server event";
                continue;
            }
            const int id = id_of(in->request);
            ++handled[id];
            Message resp = test::ack(code::content).payload(std::to_string(id));
            if (!server.send_response(now, in->id, std::move(resp))) error = "send_response failed";
        }
    };

    test::SimNetwork net(seed);
    net.add_node(kClient, test::make_sim_node(client, client_app));
    net.add_node(kServer, test::make_sim_node(server, server_app));
    net.set_default_link(lossy());
    net.partition(kClient, kServer, net.now() + 30s, net.now() + 36s);

    const bool done =
        net.run_until([&] { return issued == kTotal && in_flight == 0; }, std::chrono::hours(2));
    ASSERT_TRUE(done) << "issued " << issued << " in flight " << in_flight;
    EXPECT_EQ(error, "");
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(static_cast<int>(handled.size()), kTotal);
    EXPECT_EQ(static_cast<int>(answered.size()), kTotal);
    for (const auto& [id, n] : handled)
        ASSERT_EQ(n, 1) << "request " << id << " handled " << n << " times";
    for (const auto& [id, n] : answered)
        ASSERT_EQ(n, 1) << "response " << id << " delivered " << n << " times";
    EXPECT_EQ(net.stats().deadline_violations, 0U);
    EXPECT_GT(net.stats().lost, 0U);
    EXPECT_GT(net.stats().duplicated, 0U);
    EXPECT_GT(server.stats().duplicates, 0U);
    EXPECT_GT(client.stats().retransmissions, 0U);
    EXPECT_EQ(client.stats().malformed_dropped + server.stats().malformed_dropped, 0U);

    // Everything is reclaimed once the lifetimes pass.
    net.run_for(std::chrono::minutes(30));
    EXPECT_EQ(client.stats().peers, 0U);
    EXPECT_EQ(server.stats().peers, 0U);
    EXPECT_EQ(server.stats().buffered_bytes, 0U);
    EXPECT_FALSE(client.next_deadline());
    EXPECT_FALSE(server.next_deadline());
}

// A 64 KiB Block1 upload and a 64 KiB Block2 download under loss, byte for byte.
TEST_P(CoapEndpointSim, BlockwiseSixtyFourKiB) {
    const auto seed = static_cast<std::uint64_t>(GetParam());
    Config cfg;
    cfg.max_retransmit = 8;
    cfg.nstart = 2; // both transfers run at once
    Config scfg = cfg;
    scfg.block_size = 512; // the server proposes smaller blocks than the client (RFC 7959 §2.3)
    SeededRandom crng(seed * 7 + 1);
    SeededRandom srng(seed * 7 + 2);
    Endpoint client(cfg, crng);
    Endpoint server(scfg, srng);

    const Bytes up = test::pattern_body(64 * 1024, 1);
    const Bytes down = test::pattern_body(64 * 1024, 2);
    Bytes uploaded;
    int uploads = 0;
    int downloads_served = 0;
    std::optional<Message> upload_resp;
    std::optional<Message> download_resp;
    std::string error;

    auto client_app = [&](TimePoint) {
        while (auto e = client.poll_event()) {
            if (auto* r = std::get_if<Response>(&*e)) {
                if (r->response.code == code::changed)
                    upload_resp = r->response;
                else
                    download_resp = r->response;
            } else {
                error = "client event other than Response";
            }
        }
    };
    auto server_app = [&](TimePoint now) {
        while (auto e = server.poll_event()) {
            auto* in = std::get_if<IncomingRequest>(&*e);
            if (in == nullptr) {
                error = "unexpected server event";
                continue;
            }
            if (in->request.code == code::put) {
                ++uploads;
                uploaded = in->request.payload;
                if (!server.send_response(now, in->id, test::ack(code::changed)))
                    error = "respond put";
            } else {
                ++downloads_served;
                if (!server.send_response(now, in->id, test::ack(code::content).payload(down)))
                    error = "respond get";
            }
        }
    };

    test::SimNetwork net(seed + 1000);
    net.add_node(kClient, test::make_sim_node(client, client_app));
    net.add_node(kServer, test::make_sim_node(server, server_app));
    net.set_default_link(lossy());

    // Both transfers at once with NSTART = 2 (different request keys, RFC 7959 §2.4).
    ASSERT_TRUE(
        client.send_request(net.now(), kServer, test::con(code::put).path("/fw/up").payload(up)));
    ASSERT_TRUE(client.send_request(net.now(), kServer, test::con(code::get).path("/fw/down")));
    const bool done =
        net.run_until([&] { return upload_resp && download_resp; }, std::chrono::hours(2));
    ASSERT_TRUE(done) << error;
    EXPECT_EQ(error, "");
    EXPECT_EQ(uploads, 1);
    // Address validation (RFC 9175 §2.4): the server has not seen the client prove its address,
    // so the first GET of the large body is answered 4.01 + Echo and the client repeats it once
    // with the Echo; the repeat is served (losses and duplicates never re-deliver either).
    EXPECT_EQ(downloads_served, 2);
    EXPECT_EQ(server.stats().echo_challenges, 1U);
    EXPECT_EQ(client.stats().echo_retries, 1U);
    EXPECT_TRUE(uploaded == up) << "upload differs, size " << uploaded.size();
    EXPECT_TRUE(download_resp->payload == down)
        << "download differs, size " << download_resp->payload.size();
    EXPECT_EQ(net.stats().deadline_violations, 0U);
    EXPECT_GT(net.stats().lost, 0U);
}

// Observe under loss/duplication/reordering: notifications reach the client in increasing
// sequence order, never twice, and most of them arrive; CON notifications keep the observation
// alive; deregistration (GET Observe=1, RFC 7641 §3.6) ends it on the server.
TEST_P(CoapEndpointSim, ObserveNotificationsInOrder) {
    const auto seed = static_cast<std::uint64_t>(GetParam());
    Config cfg;
    cfg.max_retransmit = 8;
    SeededRandom crng(seed * 11 + 1);
    SeededRandom srng(seed * 11 + 2);
    Endpoint client(cfg, crng);
    Endpoint server(cfg, srng);

    std::optional<ObservationId> obs;
    std::optional<ObservationEndReason> ended;
    Token obs_token;
    bool deregistered = false;
    std::vector<std::uint32_t> seqs;
    std::vector<int> values;
    std::string error;
    auto client_app = [&](TimePoint) {
        while (auto e = client.poll_event()) {
            if (auto* n = std::get_if<Notification>(&*e)) {
                seqs.push_back(n->seq);
                values.push_back(id_of(n->notification));
            } else if (auto* r = std::get_if<Response>(&*e)) {
                if (obs_token.empty()) obs_token = r->response.token; // registration response
            } else {
                error = "unexpected client event";
            }
        }
    };
    auto server_app = [&](TimePoint now) {
        while (auto e = server.poll_event()) {
            if (auto* in = std::get_if<IncomingRequest>(&*e)) {
                if (in->observe_register) obs = in->observation;
                if (in->observe_deregister) deregistered = true;
                Message r = test::ack(code::content).payload("0");
                if (in->observe_register) r.set_uint_option(option::observe, 0);
                if (!server.send_response(now, in->id, std::move(r))) error = "respond";
            } else if (auto* oe = std::get_if<ObservationEnded>(&*e)) {
                ended = oe->reason;
            }
        }
    };
    test::SimNetwork net(seed + 2000);
    net.add_node(kClient, test::make_sim_node(client, client_app));
    net.add_node(kServer, test::make_sim_node(server, server_app));
    net.set_default_link(lossy());
    auto id =
        client.send_request(net.now(), kServer, test::con(code::get).path("/3/0/13").observe(0));
    ASSERT_TRUE(id);
    ASSERT_TRUE(net.run_until([&] { return obs.has_value(); }, std::chrono::minutes(10)));
    for (int i = 1; i <= 200; ++i) {
        ASSERT_TRUE(server.send_notification(
            net.now(), *obs, test::ack(code::content).payload(std::to_string(i)), i % 10 == 0))
            << i;
        net.run_for(std::chrono::milliseconds(250));
    }
    net.run_for(std::chrono::minutes(5));
    EXPECT_EQ(error, "");
    EXPECT_FALSE(ended);
    ASSERT_GT(values.size(), 150U); // ~5% loss on NON notifications
    for (std::size_t i = 1; i < values.size(); ++i) {
        ASSERT_LT(values[i - 1], values[i]) << "notification order broken at " << i;
        ASSERT_EQ((seqs[i] - seqs[i - 1]) & 0xffffffU,
                  static_cast<std::uint32_t>(values[i] - values[i - 1]));
    }
    // Explicit deregistration (RFC 7641 §3.6): forget the exchange, then GET with the same token
    // and Observe=1.
    ASSERT_FALSE(obs_token.empty());
    ASSERT_TRUE(client.cancel_request(net.now(), *id));
    Message dereg = test::con(code::get).path("/3/0/13").observe(1).token(obs_token);
    ASSERT_TRUE(client.send_request(net.now(), kServer, std::move(dereg)));
    net.run_for(std::chrono::minutes(5));
    EXPECT_TRUE(deregistered);
    ASSERT_TRUE(ended);
    EXPECT_EQ(*ended, ObservationEndReason::deregistered);
    EXPECT_EQ(server.send_notification(net.now(), *obs, test::ack(code::content), false).error(),
              make_error_code(lwm2m::Errc::not_found));
    EXPECT_EQ(net.stats().deadline_violations, 0U);
}

INSTANTIATE_TEST_SUITE_P(Seeds, CoapEndpointSim,
                         ::testing::Range(1, 1 + static_cast<int>(lwm2m::test::sim_seeds(5))));

} // namespace
