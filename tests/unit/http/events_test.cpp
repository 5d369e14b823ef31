#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <lwm2m/http/events.hpp>

using namespace lwm2m::http;

namespace {
std::vector<nlohmann::json> frames(const std::string& text, std::vector<std::string>* ids = nullptr,
                                   std::vector<std::string>* types = nullptr) {
    std::vector<nlohmann::json> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto end = text.find("\n\n", pos);
        EXPECT_NE(end, std::string::npos) << "every frame ends with a blank line";
        if (end == std::string::npos) break;
        std::string frame = text.substr(pos, end - pos);
        pos = end + 2;
        std::string id, type;
        std::size_t lp = 0;
        while (lp <= frame.size()) {
            auto nl = frame.find('\n', lp);
            std::string line =
                frame.substr(lp, nl == std::string::npos ? std::string::npos : nl - lp);
            if (line.rfind("id: ", 0) == 0) id = line.substr(4);
            if (line.rfind("event: ", 0) == 0) type = line.substr(7);
            if (line.rfind("data: ", 0) == 0) out.push_back(nlohmann::json::parse(line.substr(6)));
            if (nl == std::string::npos) break;
            lp = nl + 1;
        }
        if (ids) ids->push_back(id);
        if (types) types->push_back(type);
    }
    return out;
}

Event ev(EventType t, std::string ep, nlohmann::json data = nlohmann::json::object()) {
    return Event{t, std::move(ep), std::move(data)};
}
} // namespace

TEST(HttpSse, FrameFormat) {
    StoredEvent e{42, 1700000000123, ev(EventType::update, "dev1", {{"text", "a\nb"}})};
    std::string f = format_sse(e);
    EXPECT_EQ(f.rfind("id: 42\nevent: update\ndata: {", 0), 0u) << f;
    EXPECT_EQ(f.substr(f.size() - 2), "\n\n");
    EXPECT_EQ(std::count(f.begin(), f.end(), '\n'), 4) << "data never spans lines";
    auto j = frames(f);
    ASSERT_EQ(j.size(), 1u);
    EXPECT_EQ(j[0]["id"], 42);
    EXPECT_EQ(j[0]["ep"], "dev1");
    EXPECT_EQ(j[0]["type"], "update");
    EXPECT_EQ(j[0]["time"], 1700000000123);
    EXPECT_EQ(j[0]["data"]["text"], "a\nb");
    EXPECT_EQ(format_sse(e, false).find("id:"), std::string::npos);
    for (auto t : {EventType::registration, EventType::coap, EventType::dropped})
        EXPECT_EQ(event_type_from_string(to_string(t)), t);
}

TEST(HttpSse, FiltersByEndpointAndType) {
    auto hub = EventHub::create();
    auto sub =
        hub->subscribe({{"dev1"}, {EventType::registration, EventType::update}}, std::nullopt);
    hub->publish(ev(EventType::registration, "dev1"));
    hub->publish(ev(EventType::registration, "dev2"));
    hub->publish(ev(EventType::notification, "dev1"));
    hub->publish(ev(EventType::update, "dev1"));
    bool fin = false;
    std::vector<std::string> ids;
    auto got = frames(sub->take(&fin), &ids);
    EXPECT_FALSE(fin);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(ids, (std::vector<std::string>{"1", "4"}));
    EXPECT_EQ(hub->stats().published, 4u);
}

TEST(HttpSse, ResumeFromLastEventIdAndLostEvents) {
    auto hub = EventHub::create({.ring_size = 4, .queue_limit = 100, .max_subscriptions = 8});
    for (int i = 1; i <= 6; ++i)
        hub->publish(ev(EventType::update, "d", {{"n", i}}));
    bool fin = false;
    std::vector<std::string> ids, types;
    // Ring holds 3..6; resume after 4 gets 5, 6.
    auto s = hub->subscribe({}, 4);
    frames(s->take(&fin), &ids);
    EXPECT_EQ(ids, (std::vector<std::string>{"5", "6"}));
    // Resume after 2: 3..6 are all there, nothing was lost.
    ids.clear();
    s = hub->subscribe({}, 2);
    frames(s->take(&fin), &ids);
    EXPECT_EQ(ids, (std::vector<std::string>{"3", "4", "5", "6"}));
    // Resume after 1: event 2 fell out of the ring -> "lost" first, then live events only.
    ids.clear();
    s = hub->subscribe({}, 1);
    hub->publish(ev(EventType::update, "d"));
    auto got = frames(s->take(&fin), &ids, &types);
    ASSERT_EQ(types.size(), 2u);
    EXPECT_EQ(types[0], "lost");
    EXPECT_EQ(got[0]["data"]["oldest_available"], 3);
    EXPECT_EQ(ids[1], "7");
    // An id from the future (a restarted server) is "lost" too.
    types.clear();
    s = hub->subscribe({}, 999);
    frames(s->take(&fin), nullptr, &types);
    EXPECT_EQ(types, (std::vector<std::string>{"lost"}));
    // Up to date: nothing.
    s = hub->subscribe({}, 7);
    EXPECT_EQ(s->take(&fin), "");
}

TEST(HttpSse, SlowConsumerIsDroppedWithAFinalEvent) {
    auto hub = EventHub::create({.ring_size = 16, .queue_limit = 3, .max_subscriptions = 8});
    auto slow = hub->subscribe({}, std::nullopt);
    auto fast = hub->subscribe({}, std::nullopt);
    int notified = 0;
    slow->set_notify([&] { ++notified; });
    bool fin = false;
    for (int i = 0; i < 10; ++i) {
        hub->publish(ev(EventType::notification, "d"));
        (void)fast->take(&fin);
        EXPECT_FALSE(fin);
    }
    EXPECT_EQ(notified, 2) << "once when the queue became non-empty, once on overflow";
    std::vector<std::string> types;
    frames(slow->take(&fin), nullptr, &types);
    EXPECT_TRUE(fin);
    ASSERT_EQ(types.size(), 4u) << "the queue never grew past its limit";
    EXPECT_EQ(types.back(), "dropped");
    EXPECT_EQ(hub->stats().dropped_subscriptions, 1u);
    EXPECT_EQ(hub->stats().subscriptions, 2u);
    slow.reset();
    EXPECT_EQ(hub->stats().subscriptions, 1u) << "destroying a subscription leaves the hub";
}

TEST(HttpSse, SubscriptionLimitAndCloseAll) {
    auto hub = EventHub::create({.ring_size = 4, .queue_limit = 4, .max_subscriptions = 2});
    auto a = hub->subscribe({}, std::nullopt);
    auto b = hub->subscribe({}, std::nullopt);
    EXPECT_EQ(hub->subscribe({}, std::nullopt), nullptr);
    b->close();
    auto c = hub->subscribe({}, std::nullopt);
    ASSERT_NE(c, nullptr);
    bool woke = false;
    a->set_notify([&] { woke = true; });
    hub->close_all();
    EXPECT_TRUE(woke);
    bool fin = false;
    (void)a->take(&fin);
    EXPECT_TRUE(fin);
}

TEST(HttpSse, ConcurrentPublishersKeepIdsUniqueAndOrdered) {
    auto hub = EventHub::create({.ring_size = 8000, .queue_limit = 8000, .max_subscriptions = 8});
    auto sub = hub->subscribe({}, std::nullopt);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i)
                hub->publish(ev(EventType::notification, "d"));
        });
    for (auto& t : threads)
        t.join();
    bool fin = false;
    std::vector<std::string> ids;
    frames(sub->take(&fin), &ids);
    ASSERT_EQ(ids.size(), 4000u);
    for (std::size_t i = 0; i < ids.size(); ++i)
        ASSERT_EQ(ids[i], std::to_string(i + 1));
}
