// Information Reporting (TS 1.1 §5.1.2 attributes, §6.4 Observe/Notify): Write-Attributes
// validation, inheritance, pmin / pmax / gt / lt / st / epmin / epmax, cancellation, storing
// while offline (Object 1 Resource 6) and confirmable notifications (Resource 26).
#include <gtest/gtest.h>

#include "support/engine_harness.hpp"

namespace lwm2m::client::test {
namespace {

using namespace std::chrono_literals;

class EngineObserve : public ::testing::Test {
protected:
    explicit EngineObserve(bool storing = false)
        : t(nosec_config(86400, true, storing)) {}
    void SetUp() override {
        t.dm_server_ok();
        t.start();
        ASSERT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
    }
    coap::Code write_attrs(std::string_view path, std::vector<std::string> q) {
        auto m = req(coap::code::put, path);
        for (const auto& s : q)
            m.add_option(coap::option::uri_query, s);
        auto r = t.request(kDmAddr, std::move(m));
        return r ? r->response.code : coap::Code{};
    }
    /// Observes `path`; returns the initial response code.
    coap::Code observe(std::string_view path) {
        auto m = req(coap::code::get, path);
        m.add_uint_option(coap::option::observe, 0);
        auto r = t.request(kDmAddr, std::move(m));
        if (r) obs_id = r->id;
        return r ? r->response.code : coap::Code{};
    }
    std::size_t notifications() { return t.server(kDmAddr).notifications.size(); }
    std::string last_value() {
        return std::string(
            as_string_view(t.server(kDmAddr).notifications.back().notification.payload));
    }
    EngineLockstep t;
    coap::RequestId obs_id;
};

TEST_F(EngineObserve, WriteAttributesValidation) {
    using coap::code::bad_request;
    EXPECT_EQ(write_attrs("/3/0/9", {"pmin=10", "pmax=5"}), bad_request); // pmin > pmax
    EXPECT_EQ(write_attrs("/3/0/9", {"epmin=10", "epmax=5"}), bad_request);
    EXPECT_EQ(write_attrs("/3/0/9", {"lt=50", "gt=50"}), bad_request);         // lt >= gt
    EXPECT_EQ(write_attrs("/3/0/9", {"lt=40", "gt=50", "st=5"}), bad_request); // lt + 2st >= gt
    EXPECT_EQ(write_attrs("/3/0/9", {"lt=40", "gt=50", "st=4"}), coap::code::changed);
    EXPECT_EQ(write_attrs("/3/0/0", {"gt=5"}), bad_request); // string resource
    EXPECT_EQ(write_attrs("/3/0", {"gt=5"}), bad_request);   // not a resource
    EXPECT_EQ(write_attrs("/3/0/9", {"st=-1"}), bad_request);
    EXPECT_EQ(write_attrs("/3/0/9", {"pmin=abc"}), bad_request);
    EXPECT_EQ(write_attrs("/3/0/9", {"foo=1"}), bad_request);
    EXPECT_EQ(write_attrs("/3/0/9", {"con=1"}), bad_request); // 1.2 only
    // Existing lt=40/gt=50: a new gt below lt is refused, the stored set unchanged.
    EXPECT_EQ(write_attrs("/3/0/9", {"gt=30"}), bad_request);
    // pmin > an existing pmax at the same level: refused.
    EXPECT_EQ(write_attrs("/3/0", {"pmax=20"}), coap::code::changed);
    EXPECT_EQ(write_attrs("/3/0", {"pmin=30"}), bad_request);
    // Removing pmax ("pmax" without value) then pmin=30 works.
    EXPECT_EQ(write_attrs("/3/0", {"pmax"}), coap::code::changed);
    EXPECT_EQ(write_attrs("/3/0", {"pmin=30"}), coap::code::changed);
    EXPECT_EQ(write_attrs("/3/9", {"pmin=1"}), coap::code::not_found);
    EXPECT_EQ(write_attrs("/3/0/777", {"pmin=1"}), coap::code::not_found);
}

TEST_F(EngineObserve, StormBoundedByPminAndPmaxPeriodic) {
    ASSERT_EQ(write_attrs("/3/0/9", {"pmin=10", "pmax=60"}), coap::code::changed);
    ASSERT_EQ(observe("/3/0/9"), coap::code::content);
    // 100 changes within 5 s: one notification at pmin (10 s after the initial response).
    for (int i = 0; i < 100; ++i) {
        t.device.set(0, 9, dm::Value::integer(i));
        t.run_for(50ms);
    }
    EXPECT_EQ(notifications(), 0u);
    t.run_for(6s);
    ASSERT_EQ(notifications(), 1u);
    EXPECT_EQ(last_value(), "99"); // the latest value
    // Nothing changes: pmax sends one every 60 s.
    t.run_for(125s);
    EXPECT_EQ(notifications(), 3u);
}

TEST_F(EngineObserve, InheritsAttributesFromInstanceAndObject) {
    ASSERT_EQ(write_attrs("/3", {"pmin=20"}), coap::code::changed);
    ASSERT_EQ(write_attrs("/3/0", {"pmax=100"}), coap::code::changed);
    ASSERT_EQ(observe("/3/0/9"), coap::code::content);
    t.device.set(0, 9, dm::Value::integer(1));
    t.run_for(19s);
    EXPECT_EQ(notifications(), 0u);
    t.run_for(2s);
    EXPECT_EQ(notifications(), 1u);
    t.run_for(101s); // pmax from the instance level
    EXPECT_EQ(notifications(), 2u);
}

TEST_F(EngineObserve, GreaterThanLessThanCrossingAndStep) {
    ASSERT_EQ(write_attrs("/3/0/9", {"gt=50", "lt=20"}), coap::code::changed);
    ASSERT_EQ(observe("/3/0/9"), coap::code::content); // value 80
    t.device.set(0, 9, dm::Value::integer(70));        // stays above gt: no notification
    t.run_for(1s);
    EXPECT_EQ(notifications(), 0u);
    t.device.set(0, 9, dm::Value::integer(40)); // crosses gt downwards
    t.run_for(1s);
    EXPECT_EQ(notifications(), 1u);
    t.device.set(0, 9, dm::Value::integer(30)); // between: nothing
    t.run_for(1s);
    EXPECT_EQ(notifications(), 1u);
    t.device.set(0, 9, dm::Value::integer(10)); // crosses lt
    t.run_for(1s);
    EXPECT_EQ(notifications(), 2u);
    EXPECT_EQ(last_value(), "10");
    // Step: st=5 on top (lt + 2st < gt holds: 20 + 10 < 50).
    ASSERT_EQ(write_attrs("/3/0/9", {"st=5"}), coap::code::changed);
    t.device.set(0, 9, dm::Value::integer(13)); // +3 since the last notification: nothing
    t.run_for(1s);
    EXPECT_EQ(notifications(), 2u);
    t.device.set(0, 9, dm::Value::integer(16)); // +6: notify
    t.run_for(1s);
    EXPECT_EQ(notifications(), 3u);
}

TEST_F(EngineObserve, EvaluationPeriods) {
    // epmin: changes are evaluated at most every 30 s; epmax: at least every 40 s.
    ASSERT_EQ(write_attrs("/3/0/9", {"epmin=30", "epmax=40"}), coap::code::changed);
    ASSERT_EQ(observe("/3/0/9"), coap::code::content);
    t.device.data[0][9] = dm::Resource::single(9, dm::Value::integer(5)); // silent change
    t.run_for(39s);
    EXPECT_EQ(notifications(), 0u);
    t.run_for(2s); // epmax: evaluated, changed: notified
    EXPECT_EQ(notifications(), 1u);
    t.device.set(0, 9, dm::Value::integer(6));
    t.run_for(20s); // within epmin of the last evaluation
    EXPECT_EQ(notifications(), 1u);
    t.run_for(11s);
    EXPECT_EQ(notifications(), 2u);
}

TEST_F(EngineObserve, CancelWithObserveOneAndReset) {
    ASSERT_EQ(observe("/3/0/9"), coap::code::content);
    t.device.set(0, 9, dm::Value::integer(1));
    t.run_for(1s);
    EXPECT_EQ(notifications(), 1u);
    // The server forgets the exchange: its endpoint answers the next notification with RST.
    ASSERT_TRUE(t.server(kDmAddr).ep.cancel_request(t.now, obs_id));
    t.device.set(0, 9, dm::Value::integer(2));
    t.run_for(1s);
    t.device.set(0, 9, dm::Value::integer(3));
    t.run_for(10s);
    EXPECT_EQ(notifications(), 1u);
    // Observation removed on RST: the state no longer lists it.
    auto st = decode_engine_state(t.engine->snapshot().state);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->observations.empty());
}

TEST_F(EngineObserve, CompositeObservation) {
    auto m = req(coap::code::fetch, "/");
    m.add_uint_option(coap::option::content_format, coap::content_format::senml_json);
    m.add_uint_option(coap::option::observe, 0);
    m.payload = to_bytes(R"([{"n":"/3/0/9"},{"n":"/3/0/0"}])");
    auto r = t.request(kDmAddr, std::move(m));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->response.code, coap::code::content);
    t.device.set(0, 9, dm::Value::integer(3));
    t.run_for(1s);
    ASSERT_EQ(notifications(), 1u);
    EXPECT_NE(last_value().find("ACME"), std::string::npos);
}

TEST_F(EngineObserve, ObservedInstanceDeletedEndsWithError) {
    TestObject* dev = &t.device;
    ASSERT_EQ(observe("/3/0/14"), coap::code::not_found); // not set yet
    dev->data[0][14] = dm::Resource::single(14, dm::Value::string("+01:00"));
    ASSERT_EQ(observe("/3/0/14"), coap::code::content);
    dev->data[0].erase(14);
    t.engine->on_changed(*dm::Path::parse("/3/0/14"));
    t.run_for(1s);
    // The error response ends the observation on the server side (RFC 7641 §3.2).
    EXPECT_GE(t.server(kDmAddr).failures.size() + t.server(kDmAddr).notifications.size(), 0u);
    auto st = decode_engine_state(t.engine->snapshot().state);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->observations.empty());
}

class EngineObserveStoring : public EngineObserve {
protected:
    EngineObserveStoring()
        : EngineObserve(true) {}
};

TEST_F(EngineObserveStoring, StoredWhileDisabledAndSentOnReconnect) {
    ASSERT_EQ(observe("/3/0/9"), coap::code::content);
    auto w = req(coap::code::put, "/1/0/5"); // Disable Timeout 60 s
    w.add_uint_option(coap::option::content_format, coap::content_format::text_plain);
    w.payload = to_bytes("60");
    ASSERT_EQ(t.request(kDmAddr, std::move(w))->response.code, coap::code::changed);
    t.run_for(1s);
    // Disable (/1/0/4): De-register, offline for 60 s (TS 1.1 E.2 Resources 4, 5).
    ASSERT_EQ(t.request(kDmAddr, req(coap::code::post, "/1/0/4"))->response.code,
              coap::code::changed);
    t.run_for(1s);
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::disabled);
    EXPECT_EQ(t.count_events(EngineEvent::Kind::disabled), 1u);
    EXPECT_EQ(t.server(kDmAddr).requests.back().request.code, coap::code::delete_);
    const std::size_t before = notifications();
    for (int i = 0; i < 20; ++i) {
        t.device.set(0, 9, dm::Value::integer(i));
        t.run_for(1s);
    }
    EXPECT_EQ(notifications(), before); // nothing sent while disabled
    EXPECT_EQ(t.engine->stats().notifications_stored, 20u);
    EXPECT_EQ(t.engine->stats().notifications_dropped, 4u); // bounded queue of 16
    // After the Disable Timeout: Register again, then the 16 stored notifications in order.
    t.run_for(60s);
    EXPECT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
    EXPECT_EQ(notifications(), before + 16);
    EXPECT_EQ(last_value(), "19");
}

class EngineObserveNotStoring : public EngineObserve {};

TEST_F(EngineObserveNotStoring, DroppedWhileDisabledWithoutStoring) {
    ASSERT_EQ(observe("/3/0/9"), coap::code::content);
    ASSERT_EQ(t.request(kDmAddr, req(coap::code::post, "/1/0/4"))->response.code,
              coap::code::changed);
    t.run_for(1s);
    t.device.set(0, 9, dm::Value::integer(1));
    t.run_for(1s);
    EXPECT_EQ(t.engine->stats().notifications_stored, 0u);
    EXPECT_EQ(t.engine->stats().notifications_dropped, 1u);
}

} // namespace
} // namespace lwm2m::client::test
