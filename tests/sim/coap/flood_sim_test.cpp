// A server coap::Endpoint under a flood of spoofed requests (SimNetwork::inject: each from its
// own fake source address, NoSec), with legitimate client Endpoints working at the same time.
//
// The attack (issue #7): 11-byte CON `GET /large` datagrams, one per fake source, make the
// server cache a 4 KiB Block2 body and a 1 KiB deduplication reply each; once those fill
// Config::max_buffered_bytes every request of every client used to get 5.03 for
// EXCHANGE_LIFETIME. Now unverified peers' caches are evicted oldest first under pressure, and
// with address validation (RFC 9175 Echo) the spoofed requests get a small 4.01 instead of the
// body. Invariants: every legitimate request gets its real response (never 5.03, never a
// timeout), the byte budget is never exceeded, and (with validation) the server sends at most
// amplification_factor times the bytes it receives toward spoofed addresses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <lwm2m/coap/endpoint.hpp>

#include "support/coap_script.hpp"
#include "support/sim_network.hpp"

using namespace lwm2m;
using namespace lwm2m::coap;
using namespace std::chrono_literals;

namespace {

const PeerAddr kServer = PeerAddr::v4(192, 0, 2, 10, 5683);
const PeerAddr kFlooder = PeerAddr::v4(198, 51, 100, 250, 9);

/// The k-th spoofed source: 10.a.b.c:port, all distinct.
PeerAddr spoofed(std::uint32_t k) {
    return PeerAddr::v4(
        10, static_cast<std::uint8_t>((k >> 16) & 0xff), static_cast<std::uint8_t>((k >> 8) & 0xff),
        static_cast<std::uint8_t>(k & 0xff), static_cast<std::uint16_t>(20000 + (k % 40000)));
}

Bytes large_body() {
    return test::pattern_body(4096, 7);
}

struct FloodResult {
    std::uint64_t legit_ok = 0;      ///< responses with the right code and body
    std::uint64_t legit_refused = 0; ///< 5.03 or any other wrong response
    std::uint64_t legit_failed = 0;  ///< RequestFailed (timeout, ...)
    std::uint64_t spoofed_sent = 0;
    std::uint64_t spoofed_bytes = 0;
    std::uint64_t reflected_bytes = 0; ///< server -> spoofed addresses
    Stats server;
    std::uint64_t max_buffered = 0;
};

/// Runs `duration` of virtual time: `rate` spoofed GET /large per second from distinct sources,
/// and `clients` legitimate clients each alternating GET /large (block-wise) and GET /hello.
FloodResult run_flood(std::uint64_t seed, const Config& server_cfg, int rate, Duration duration,
                      int clients) {
    test::SimNetwork net(seed);
    test::LinkConfig link;
    link.delay = 5ms;
    link.jitter = 2ms;
    net.set_default_link(link);
    SeededRandom srng(seed * 7 + 1);
    Endpoint server(server_cfg, srng);
    FloodResult res;

    auto server_app = [&](TimePoint now) {
        while (auto e = server.poll_event()) {
            auto* in = std::get_if<IncomingRequest>(&*e);
            if (in == nullptr) continue;
            Message resp;
            const std::string path = in->request.path();
            if (path == "/large") {
                resp.code = code::content;
                resp.payload = large_body();
            } else if (path == "/hello") {
                resp.code = code::content;
                resp.payload = to_bytes("Hello, world!");
            } else {
                resp.code = code::not_found;
            }
            (void)server.send_response(now, in->id, std::move(resp));
        }
        res.max_buffered = std::max(res.max_buffered, server.stats().buffered_bytes);
    };
    net.add_node(kServer, test::make_sim_node(server, server_app));

    // Legitimate clients: one request at a time, 200 ms apart (well within the per-peer
    // deduplication limit, Config::max_dedup_per_peer per EXCHANGE_LIFETIME).
    struct Client {
        SeededRandom rng;
        Endpoint ep;
        bool large = true;
        bool busy = false;
        TimePoint next{};
        Client(std::uint64_t s, const Config& c)
            : rng(s)
            , ep(c, rng) {}
    };
    std::vector<std::unique_ptr<Client>> cl;
    Config ccfg;
    for (int i = 0; i < clients; ++i) {
        cl.push_back(std::make_unique<Client>(seed * 100 + static_cast<std::uint64_t>(i), ccfg));
        Client& c = *cl.back();
        auto app = [&c, &res](TimePoint now) {
            while (auto e = c.ep.poll_event()) {
                if (auto* r = std::get_if<Response>(&*e)) {
                    const bool want_large = c.large;
                    const bool ok =
                        r->response.code == code::content &&
                        (want_large ? r->response.payload == large_body()
                                    : as_string_view(r->response.payload) == "Hello, world!");
                    ++(ok ? res.legit_ok : res.legit_refused);
                    c.large = !c.large;
                    c.busy = false;
                    c.next = now + 200ms;
                } else if (std::holds_alternative<RequestFailed>(*e)) {
                    ++res.legit_failed;
                    c.busy = false;
                    c.next = now + 200ms;
                }
            }
            if (!c.busy && now >= c.next) {
                Message req;
                req.type = Type::con;
                req.code = code::get;
                req.set_path(c.large ? "/large" : "/hello");
                c.busy = c.ep.send_request(now, kServer, std::move(req)).has_value();
            }
        };
        test::SimNode node = test::make_sim_node(c.ep, app);
        // The think time is a timer of the node too.
        node.next_deadline = [&c]() -> std::optional<TimePoint> {
            auto d = c.ep.next_deadline();
            if (!c.busy && (!d || c.next < *d)) d = c.next;
            return d;
        };
        node.on_timeout = [&c, app](TimePoint now) {
            if (auto d = c.ep.next_deadline(); d && *d <= now) c.ep.on_timeout(now);
            app(now); // the think time is over: the next request goes out now
        };
        net.add_node(PeerAddr::v4(192, 0, 2, static_cast<std::uint8_t>(100 + i), 40000),
                     std::move(node));
    }

    // The flooder: a node that only injects spoofed datagrams on its timer.
    struct Flooder {
        test::SimNetwork* net = nullptr;
        FloodResult* res = nullptr;
        TimePoint next;
        TimePoint end;
        Duration gap{};
        std::uint32_t k = 0;
        std::optional<TimePoint> next_deadline() const {
            return next < end ? std::optional<TimePoint>(next) : std::nullopt;
        }
        void on_timeout(TimePoint now) {
            while (next <= now && next < end) {
                // CON GET /large, no token: 4 + 6 bytes of Uri-Path = the 10-11 byte request.
                Message m;
                m.type = Type::con;
                m.code = code::get;
                m.message_id = static_cast<MessageId>(k * 7919U);
                m.set_path("/large");
                Bytes b = encode(m);
                ++res->spoofed_sent;
                res->spoofed_bytes += b.size();
                net->inject(spoofed(k++), kServer, std::move(b));
                next += gap;
            }
        }
        void on_datagram(TimePoint, const PeerAddr&, BytesView) {}
        std::optional<Datagram> poll_transmit() { return std::nullopt; }
    } flooder;
    flooder.net = &net;
    flooder.res = &res;
    flooder.next = net.now() + 100ms;
    flooder.end = net.now() + duration;
    flooder.gap = std::chrono::duration_cast<Duration>(1s) / rate;
    net.add_node(kFlooder, test::make_sim_node(flooder));

    net.run_for(duration);
    res.reflected_bytes = net.stats().unroutable_bytes;
    res.server = server.stats();
    std::printf("flood %llu spoofed GET /large (%llu B): legit served %llu, refused %llu, "
                "failed %llu; reflected %llu B (%.2f B per spoofed request, x%.2f); evicted %llu "
                "(%llu B); 4.01 Echo %llu; max buffered %llu B\n",
                static_cast<unsigned long long>(res.spoofed_sent),
                static_cast<unsigned long long>(res.spoofed_bytes),
                static_cast<unsigned long long>(res.legit_ok),
                static_cast<unsigned long long>(res.legit_refused),
                static_cast<unsigned long long>(res.legit_failed),
                static_cast<unsigned long long>(res.reflected_bytes),
                static_cast<double>(res.reflected_bytes) /
                    static_cast<double>(std::max<std::uint64_t>(res.spoofed_sent, 1)),
                static_cast<double>(res.reflected_bytes) /
                    static_cast<double>(std::max<std::uint64_t>(res.spoofed_bytes, 1)),
                static_cast<unsigned long long>(res.server.evicted),
                static_cast<unsigned long long>(res.server.evicted_bytes),
                static_cast<unsigned long long>(res.server.echo_challenges),
                static_cast<unsigned long long>(res.max_buffered));
    return res;
}

} // namespace

// Part 1 on its own (address validation off, as for a server that chose not to use Echo): the
// caches the flood creates are evicted oldest first instead of refusing everyone.
TEST(CoapFloodSim, LegitimateClientsServedWhileSpoofedPeersFillTheBudget) {
    Config cfg;
    cfg.max_buffered_bytes = 2u << 20; // 2 MiB: ~400 spoofed GET /large fill it
    cfg.address_validation = false;
    for (std::uint64_t seed : {1U, 2U}) {
        const FloodResult r = run_flood(seed, cfg, 2000, 30s, 3);
        SCOPED_TRACE("seed " + std::to_string(seed));
        EXPECT_GE(r.spoofed_sent, 55000U); // thousands of distinct spoofed peers
        EXPECT_GT(r.legit_ok, 300U);
        EXPECT_EQ(r.legit_refused, 0U);
        EXPECT_EQ(r.legit_failed, 0U);
        EXPECT_LE(r.max_buffered, cfg.max_buffered_bytes);
        EXPECT_GT(r.server.evicted, 0U);
    }
}

// Part 2: with address validation (the default) the spoofed requests get a 4.01 + Echo of a
// few bytes, nothing is cached for them, and the legitimate clients (which answer the Echo
// automatically) are served.
TEST(CoapFloodSim, AddressValidationStopsTheAmplification) {
    Config cfg;
    cfg.max_buffered_bytes = 2u << 20;
    ASSERT_TRUE(cfg.address_validation);
    const FloodResult r = run_flood(3, cfg, 2000, 30s, 3);
    EXPECT_GE(r.spoofed_sent, 55000U);
    EXPECT_GT(r.legit_ok, 300U);
    EXPECT_EQ(r.legit_refused, 0U);
    EXPECT_EQ(r.legit_failed, 0U);
    EXPECT_LE(r.max_buffered, cfg.max_buffered_bytes);
    // RFC 9175 §2.4: at most amplification_factor times the bytes received, per request.
    EXPECT_LE(r.reflected_bytes, r.spoofed_bytes * cfg.amplification_factor);
    EXPECT_GE(r.server.echo_challenges, r.spoofed_sent * 99 / 100); // the last few in flight
}
