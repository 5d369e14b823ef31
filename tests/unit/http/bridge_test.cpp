// The engine bridge with a fake engine loop: a thread that runs posted tasks in order.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <thread>

#include <lwm2m/http/bridge.hpp>

using namespace lwm2m;
using namespace lwm2m::http;

namespace {
/// A single-threaded "engine": tasks run in order on its own thread; stop() discards the rest.
class FakeLoop {
public:
    FakeLoop()
        : thread_([this] { run(); }) {}
    ~FakeLoop() { stop(); }
    void post(EngineExecutor::Task t) {
        std::lock_guard lock(m_);
        if (stopped_) return; // a stopped loop drops (destroys) new tasks
        q_.push_back(std::move(t));
        cv_.notify_one();
    }
    void stop() {
        {
            std::lock_guard lock(m_);
            stopped_ = true;
            cv_.notify_one();
        }
        if (thread_.joinable()) thread_.join();
        q_.clear();
    }
    std::thread::id id() const { return thread_.get_id(); }

private:
    void run() {
        std::unique_lock lock(m_);
        for (;;) {
            cv_.wait(lock, [&] { return stopped_ || !q_.empty(); });
            if (stopped_) return;
            auto t = std::move(q_.front());
            q_.pop_front();
            lock.unlock();
            t(TimePoint{});
            lock.lock();
        }
    }
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<EngineExecutor::Task> q_;
    bool stopped_ = false;
    std::thread thread_;
};
} // namespace

TEST(HttpBridge, HandlerWorkRunsOnTheEngineThreadAndAnswersAcrossThreads) {
    FakeLoop loop;
    EngineExecutor ex([&](EngineExecutor::Task t) { loop.post(std::move(t)); });
    std::promise<std::pair<Response, std::thread::id>> answered;
    std::thread::id ran_on;
    Reply reply = Reply::to([&](Response r) {
        answered.set_value({std::move(r), std::this_thread::get_id()});
    });
    ex.run(reply, [&](TimePoint, Reply r) {
        ran_on = std::this_thread::get_id();
        r.json(200, {{"ok", true}});
    });
    auto fut = answered.get_future();
    ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    auto [res, tid] = fut.get();
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(ran_on, loop.id());
    EXPECT_NE(ran_on, std::this_thread::get_id()) << "the caller never ran the engine work";
}

TEST(HttpBridge, CompletionConvertsOnTheDeliveringSideAndOnlyOnce) {
    FakeLoop loop;
    EngineExecutor ex([&](EngineExecutor::Task t) { loop.post(std::move(t)); });
    std::promise<Response> p;
    std::atomic<int> deliveries{0};
    // The "HTTP side": a delivery function that runs the converter here, as the server does on
    // its own thread.
    std::thread::id convert_thread;
    auto state = std::make_shared<detail::ReplyState>([&](std::function<Response()> make) {
        ++deliveries;
        std::thread([&, make = std::move(make)] {
            convert_thread = std::this_thread::get_id();
            p.set_value(make());
        }).detach();
    });
    Completion<int> done(Reply(state), [](int& v) { return Response::json(200, {{"v", v}}); });
    state.reset();
    std::thread::id engine_thread;
    ex.post([&, done](TimePoint) {
        engine_thread = std::this_thread::get_id();
        EXPECT_TRUE(done(41));
        EXPECT_FALSE(done(42));
        EXPECT_FALSE(done.fail(ApiError::bad_request("late")));
    });
    auto fut = p.get_future();
    ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_EQ(nlohmann::json::parse(fut.get().body)["v"], 41);
    EXPECT_EQ(deliveries.load(), 1);
    EXPECT_NE(convert_thread, engine_thread);
}

TEST(HttpBridge, ATaskDroppedByAStoppedEngineAnswers503) {
    auto loop = std::make_unique<FakeLoop>();
    loop->stop();
    EngineExecutor ex([&](EngineExecutor::Task t) { loop->post(std::move(t)); });
    std::optional<Response> got;
    ex.run(Reply::to([&](Response r) { got = std::move(r); }),
           [](TimePoint, Reply) { ADD_FAILURE() << "a stopped engine runs nothing"; });
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 503u);
    EXPECT_EQ(nlohmann::json::parse(got->body)["error"]["code"], "engine_unavailable");
}

TEST(HttpBridge, CompletionErrorsKeepStatusAndCode) {
    std::optional<Response> got;
    Completion<int> done(Reply::to([&](Response r) { got = std::move(r); }),
                         [](int&) { return Response::no_content(); });
    EXPECT_TRUE(done.complete(tl::unexpected(ApiError{504, "device_timeout", "no answer"})));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->status, 504u);
    auto j = nlohmann::json::parse(got->body);
    EXPECT_EQ(j["error"]["code"], "device_timeout");
    EXPECT_EQ(j["error"]["status"], 504);
    EXPECT_TRUE(done.done());
}
