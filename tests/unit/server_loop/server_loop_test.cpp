// server::Engine driven by transport::Loop on real loopback sockets: two listeners (two ports),
// a client registers on the second one, the 2.01 comes back from that port, the durability hook
// commits in the loop, and a downlink Read reaches the client and is answered. Bounded loops.
#include <gtest/gtest.h>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/server/engine.hpp>
#include <lwm2m/store/memory_stores.hpp>
#include <lwm2m/transport/loop.hpp>

namespace lwm2m {
namespace {

using namespace std::chrono_literals;

static_assert(transport::SansIoCore<server::Engine>);
static_assert(transport::SocketAwareCore<server::Engine>);

class FixedWall final : public WallClock {
public:
    [[nodiscard]] std::int64_t unix_seconds() const override { return 1'700'000'000; }
};

TEST(ServerLoop, RegistersOnTheSecondPortAndIsRead) {
    auto s0 = transport::UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto s1 = transport::UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    auto cs = transport::UdpSocket::bind(*PeerAddr::parse("127.0.0.1:0"));
    ASSERT_TRUE(s0 && s1 && cs);

    store::MemorySecurityStore security;
    store::MemoryRegistrationStore registrations;
    SeededRandom rng(1);
    FixedWall wall;
    server::EngineConfig cfg;
    cfg.nosec = server::NoSecPolicy::any;
    cfg.listeners = {server::ListenerConfig{}, server::ListenerConfig{}};
    auto engine = server::Engine::create(cfg, {security, rng, wall});
    ASSERT_TRUE(engine);
    transport::UdpSocket* both[] = {&*s0, &*s1};
    transport::Loop server_loop(*engine, std::span<transport::UdpSocket* const>(both));
    std::vector<store::Change> batch;
    std::optional<server::ResponseEvent> read;
    bool registered = false;
    server_loop.set_hook([&](TimePoint now) {
        while (auto ev = engine->poll_event()) {
            if (auto* r = std::get_if<server::Registered>(&*ev)) {
                registered = true;
                EXPECT_EQ(r->socket, 1U);
                (void)engine->send(now, r->endpoint,
                                   server::Request::read(dm::Path(Oid{3}, Iid{0}, Rid{0})));
            } else if (auto* resp = std::get_if<server::ResponseEvent>(&*ev)) {
                read = *resp;
            }
        }
        if (auto seq = engine->take_changes(batch); seq != 0) {
            ASSERT_TRUE(registrations.commit(batch));
            engine->on_persisted(now, seq);
        }
    });

    SeededRandom crng(2);
    coap::Endpoint client(coap::Config{}, crng);
    transport::Loop client_loop(client, *cs);
    std::optional<coap::Message> answer;
    client_loop.set_hook([&](TimePoint now) {
        while (auto ev = client.poll_event()) {
            if (auto* r = std::get_if<coap::Response>(&*ev)) {
                answer = r->response;
                EXPECT_EQ(r->peer, s1->local_addr());
            } else if (auto* in = std::get_if<coap::IncomingRequest>(&*ev)) {
                coap::Message m;
                m.code = coap::code::content;
                m.add_uint_option(coap::option::content_format, 0);
                m.payload = to_bytes("ACME");
                EXPECT_EQ(in->peer, s1->local_addr()); // requests leave from the client's port
                (void)client.send_response(now, in->id, std::move(m));
            }
        }
    });
    coap::Message reg;
    reg.type = coap::Type::con;
    reg.code = coap::code::post;
    reg.set_path("/rd");
    reg.add_queries("ep=loop-client&lwm2m=1.1");
    reg.add_uint_option(coap::option::content_format, 40);
    reg.payload = to_bytes("</1/0>,</3/0>");
    ASSERT_TRUE(client.send_request(transport::LoopBase::now(), s1->local_addr(), reg));
    for (int i = 0; i < 2000 && !(answer && read); ++i) {
        ASSERT_TRUE(client_loop.run_once(1ms));
        ASSERT_TRUE(server_loop.run_once(1ms));
    }
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->code, coap::code::created);
    EXPECT_TRUE(registered);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->code, coap::code::content);
    ASSERT_TRUE(read->content);
    EXPECT_EQ(std::get<dm::Resource>(read->content->node).value, dm::Value::string("ACME"));
    EXPECT_EQ(*registrations.size(), 1U);
}

} // namespace
} // namespace lwm2m
