// Heap allocations of the endpoint's server hot path in steady state (global operator new is
// counted: lwm2m_alloc_counter). The bounds are the allocations that are inherent to the public
// API: the IncomingRequest's owning Message (Message::from_view: the option vector; option
// values up to coap::OptionValue::inline_capacity bytes live inside it), the application's
// response Message and the outgoing datagram's bytes. The endpoint's own state (dedup cache, FIFOs,
// event and output queues, the pending-request table) must not allocate per request once warmed up.
#include <gtest/gtest.h>

#include <vector>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "alloc_counter.hpp"

using namespace lwm2m;
using namespace lwm2m::coap;

namespace {

struct Server {
    SeededRandom rng{5};
    Config cfg;
    std::unique_ptr<Endpoint> ep;
    std::vector<PeerAddr> peers;
    Bytes req;
    TimePoint now{};
    std::uint64_t i = 0;

    Server() {
        cfg.max_retransmit = 0;
        cfg.max_latency = std::chrono::milliseconds(10);
        cfg.processing_delay = std::chrono::milliseconds(10); // EXCHANGE_LIFETIME 30 ms
        ep = std::make_unique<Endpoint>(cfg, rng);
        for (std::uint32_t p = 0; p < 50; ++p)
            peers.push_back(PeerAddr::v4(10, 0, static_cast<std::uint8_t>(p >> 8),
                                         static_cast<std::uint8_t>(p), 5683));
        Message m;
        m.type = Type::con;
        m.code = code::get;
        m.token = Token::from_u64(0x0102030405060708ULL);
        m.set_path("/3/0/0"); // 3 Uri-Path values, inline: no allocation of their own
        req = encode(m);
    }

    /// One request from the next peer, answered; returns the reply size (0: none).
    std::size_t round(bool duplicate) {
        if (!duplicate) { // a duplicate arrives at the same time, well within EXCHANGE_LIFETIME
            now += std::chrono::microseconds(100);
            ++i;
        }
        const auto mid = static_cast<MessageId>(i / peers.size());
        req[2] = static_cast<std::byte>(mid >> 8);
        req[3] = static_cast<std::byte>(mid & 0xffU);
        ep->on_datagram(now, peers[i % peers.size()], req);
        if (auto e = ep->poll_event()) {
            Message r;
            r.code = code::content;
            r.payload.assign(20, std::byte{'x'});
            (void)ep->send_response(now, std::get<IncomingRequest>(*e).id, std::move(r));
        }
        std::size_t n = 0;
        if (auto d = ep->poll_transmit()) n = d->bytes.size();
        if (auto t = ep->next_deadline(); t && *t <= now) ep->on_timeout(now);
        return n;
    }
};

TEST(EndpointAllocations, ServerRequestResponseSteadyState) {
    Server s;
    for (int k = 0; k < 20000; ++k)
        ASSERT_GT(s.round(false), 0U); // warm up: tables at size
    constexpr int kRounds = 20000;
    const std::size_t before = lwm2m::test::allocation_count();
    for (int k = 0; k < kRounds; ++k)
        ASSERT_GT(s.round(false), 0U);
    const double per = static_cast<double>(lwm2m::test::allocation_count() - before) / kRounds;
    // from_view: the option vector (1); response payload (1); encoded datagram (1).
    std::printf("allocations per server round trip: %.3f\n", per);
    EXPECT_LE(per, 3.05);
    EXPECT_EQ(s.ep->stats().refused, 0U);
}

TEST(EndpointAllocations, DuplicateReplayAllocatesOnlyTheDatagram) {
    Server s;
    for (int k = 0; k < 5000; ++k)
        ASSERT_GT(s.round(false), 0U);
    const std::size_t before = lwm2m::test::allocation_count();
    const auto dups0 = s.ep->stats().duplicates;
    for (int k = 0; k < 1000; ++k)
        ASSERT_GT(s.round(true), 0U); // §4.5 replay from the cache
    EXPECT_EQ(s.ep->stats().duplicates - dups0, 1000U);
    EXPECT_LE(lwm2m::test::allocation_count() - before,
              1000U); // the replayed Datagram's bytes only
}

} // namespace
