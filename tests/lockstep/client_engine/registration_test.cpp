// Registration interface (TS 1.1 §6.2): Register parameters and object links, the Update
// schedule, Location-Path echo, 4.04 -> Register, retries (Object 1 Resources 17-20), Disable,
// De-register, queue mode.
#include <gtest/gtest.h>

#include <lwm2m/format/link_format.hpp>

#include "support/engine_harness.hpp"

namespace lwm2m::client::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> queries(const coap::Message& m) {
    std::vector<std::string> q;
    for (const auto& o : m.options())
        if (o.number == coap::option::uri_query) q.emplace_back(as_string_view(o.value));
    return q;
}
bool has(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}
std::vector<std::string> uri_path(const coap::Message& m) {
    std::vector<std::string> p;
    for (const auto& o : m.options())
        if (o.number == coap::option::uri_path) p.emplace_back(as_string_view(o.value));
    return p;
}

TEST(EngineRegistration, RegisterCarriesParametersAndObjectLinks) {
    EngineLockstep t(nosec_config(300));
    auto& s = t.dm_server_ok();
    t.start();
    ASSERT_EQ(s.requests.size(), 1u);
    const auto& r = s.requests[0].request;
    EXPECT_EQ(r.code, coap::code::post);
    EXPECT_EQ(r.path(), "/rd");
    const auto q = queries(r);
    EXPECT_TRUE(has(q, "ep=dev-1"));
    EXPECT_TRUE(has(q, "lt=300"));
    EXPECT_TRUE(has(q, "lwm2m=1.1"));
    EXPECT_TRUE(has(q, "b=U"));
    EXPECT_FALSE(has(q, "Q"));
    EXPECT_EQ(r.uint_option(coap::option::content_format), coap::content_format::link_format);
    const std::string links(as_string_view(r.payload));
    EXPECT_EQ(links.find("</0"), std::string::npos) << links; // Object 0 never registered
    EXPECT_NE(links.find("</1/0>"), std::string::npos) << links;
    EXPECT_NE(links.find("</3/0>"), std::string::npos) << links;
    // Device 1.1 is the 1.1 enabler's default: no ver=; SenML CBOR preferred: root link.
    EXPECT_EQ(links.find("ver="), std::string::npos) << links;
    EXPECT_NE(links.find("</>;rt=\"oma.lwm2m\";ct=112"), std::string::npos) << links;
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
    EXPECT_EQ(t.count_events(EngineEvent::Kind::registered), 1u);
}

TEST(EngineRegistration, VerWhenTheObjectVersionIsNotTheEnablerDefault) {
    EngineLockstep t(nosec_config(300), EngineLockstep::default_engine_config(),
                     dm::Lwm2mVersion::v1_0);
    auto& s = t.dm_server_ok();
    // Device "1.0" in 1.0: no ver. Add a 1.1 object 3303-like user object.
    TestObject temp(5, t.registry, "1.2");
    temp.data[0];
    ASSERT_TRUE(t.engine->add_object(temp));
    t.start();
    ASSERT_EQ(s.requests.size(), 1u);
    const std::string links(as_string_view(s.requests[0].request.payload));
    EXPECT_NE(links.find("</5>;ver=1.2"), std::string::npos) << links;
    EXPECT_EQ(links.find("</>"), std::string::npos) << links; // no root link in 1.0
    const auto q = queries(s.requests[0].request);
    EXPECT_TRUE(has(q, "lwm2m=1.0"));
}

TEST(EngineRegistration, QueueModeParameterPerVersion) {
    auto cfg = EngineLockstep::default_engine_config();
    cfg.queue_mode = true;
    {
        EngineLockstep t(nosec_config(), cfg, dm::Lwm2mVersion::v1_0);
        auto& s = t.dm_server_ok();
        t.start();
        ASSERT_EQ(s.requests.size(), 1u);
        EXPECT_TRUE(has(queries(s.requests[0].request), "b=UQ"));
    }
    {
        EngineLockstep t(nosec_config(), cfg, dm::Lwm2mVersion::v1_1);
        auto& s = t.dm_server_ok();
        t.start();
        ASSERT_EQ(s.requests.size(), 1u);
        const auto q = queries(s.requests[0].request);
        EXPECT_TRUE(has(q, "b=U"));
        EXPECT_TRUE(has(q, "Q"));
    }
}

TEST(EngineRegistration, LocationPathEchoedExactlyAsOneOption) {
    // lwm2m-node-lib answers with ONE Location-Path option "rd/1": it is echoed unchanged.
    EngineLockstep t(nosec_config(300));
    auto& s = t.dm_server_ok({"rd/1"});
    t.start();
    ASSERT_TRUE(t.engine->trigger_update(t.now));
    t.settle();
    ASSERT_EQ(s.requests.size(), 2u);
    const auto p = uri_path(s.requests[1].request);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0], "rd/1");
    // Nothing changed: an empty Update (TS 1.1 §6.2.2 "only the changed parameters").
    EXPECT_TRUE(queries(s.requests[1].request).empty());
    EXPECT_TRUE(s.requests[1].request.payload.empty());
}

TEST(EngineRegistration, UpdateBeforeTheLifetimeEnds) {
    EngineLockstep t(nosec_config(300));
    auto& s = t.dm_server_ok();
    t.start();
    const TimePoint reg = t.now;
    t.run_for(1000s);
    ASSERT_GE(s.requests.size(), 4u);
    // margin = MAX_TRANSMIT_WAIT (62 s with ACK_RANDOM_FACTOR 1.0) < lifetime / 2: an Update
    // every 238 s.
    EXPECT_EQ(uri_path(s.requests[1].request), (std::vector<std::string>{"rd", "5a3f"}));
    EXPECT_EQ(s.request_times[1] - reg, 238s);
    EXPECT_EQ(s.request_times[2] - s.request_times[1], 238s);
    EXPECT_EQ(t.count_events(EngineEvent::Kind::updated), 4u);
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
}

} // namespace
} // namespace lwm2m::client::test

namespace lwm2m::client::test {
namespace {

TEST(EngineRegistration, StoppedAsSoonAsTheDeregisterIsAnswered) {
    // TS 1.1 §6.2.3: stop() De-registers; the answer itself completes the stop, without waiting
    // for a timer (the last answer leaves no deadline: stopped() used to stay false forever).
    EngineLockstep t(nosec_config(300));
    auto& s = t.dm_server_ok();
    t.start();
    ASSERT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
    t.engine->stop(t.now);
    EXPECT_FALSE(t.engine->stopped());
    t.settle(); // no virtual time passes
    ASSERT_EQ(s.requests.size(), 2u);
    EXPECT_EQ(s.requests[1].request.code, coap::code::delete_);
    EXPECT_TRUE(t.engine->stopped());
    EXPECT_EQ(t.count_events(EngineEvent::Kind::deregistered), 1u);
}

TEST(EngineRegistration, StoppedAfterAnUnansweredDeregisterGivesUp) {
    EngineLockstep t(nosec_config(300));
    auto& s = t.dm_server_ok();
    t.start();
    s.drop_all = true;
    t.engine->stop(t.now);
    t.settle();
    EXPECT_FALSE(t.engine->stopped());
    // RFC 7252 §4.8.2: the De-register is given up after MAX_TRANSMIT_WAIT (93 s by default).
    EXPECT_TRUE(t.run_until_pred([&] { return t.engine->stopped(); }, std::chrono::seconds(200)));
}

} // namespace
} // namespace lwm2m::client::test
