// The REST layer on real sockets for the integration tests and the wrk measurements: HttpServer +
// register_api + FakeBackend, whose calls hop to a fake single-threaded engine thread (as the
// lwm2m-server wiring does with its transport::Loop). Prints "PORT <n>" when listening; SIGTERM /
// SIGINT stop it gracefully and it prints "STOPPED <stats>".
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <lwm2m/http/api.hpp>
#include <lwm2m/http/auth.hpp>
#include <lwm2m/http/server.hpp>
#include <lwm2m/transport/system_random.hpp>

#include "unit/http/fake_backend.hpp"

using namespace lwm2m;
using namespace lwm2m::http;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

class EngineThread {
public:
    EngineThread()
        : thread_([this] { run(); }) {}
    ~EngineThread() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }
    void post(EngineExecutor::Task t) {
        {
            std::lock_guard lock(m_);
            q_.push_back(std::move(t));
        }
        cv_.notify_one();
    }

private:
    void run() {
        std::unique_lock lock(m_);
        for (;;) {
            cv_.wait(lock, [&] { return stop_ || !q_.empty(); });
            if (stop_) return;
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
    bool stop_ = false;
    std::thread thread_;
};

long arg_long(int argc, char** argv, const char* name, long def) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
    return def;
}
std::string arg_str(int argc, char** argv, const char* name, std::string def) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return def;
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::signal(SIGPIPE, SIG_IGN);

    const std::string data_dir = arg_str(argc, argv, "--data-dir", "");
    if (data_dir.empty()) {
        std::fprintf(stderr,
                     "usage: http_test_server --data-dir DIR [--port N] [--address A] ...\n");
        return 2;
    }
    transport::SystemRandom rng;
    bool created = false;
    auto token = load_or_create_token(data_dir, rng, &created);
    if (!token) {
        std::fprintf(stderr, "token: %s\n", token.error().message().c_str());
        return 1;
    }

    std::optional<EngineThread> engine;
    engine.emplace();
    EngineExecutor ex([&engine](EngineExecutor::Task t) { engine->post(std::move(t)); });
    auto hub = EventHub::create(
        {.ring_size = static_cast<std::size_t>(arg_long(argc, argv, "--ring", 1024)),
         .queue_limit = static_cast<std::size_t>(arg_long(argc, argv, "--queue", 512)),
         .max_subscriptions = 64});
    fake::FakeBackend backend(ex, hub);
    Router router;
    ApiOptions api;
    api.info.version = "test";
    api.answer_margin = std::chrono::milliseconds(arg_long(argc, argv, "--answer-margin-ms", 2000));
    register_api(router, backend, hub, api);
    router.set_authenticator(bearer_authenticator(*token));

    ServerOptions so;
    so.address = arg_str(argc, argv, "--address", "127.0.0.1");
    so.port = static_cast<std::uint16_t>(arg_long(argc, argv, "--port", 0));
    so.threads = static_cast<std::size_t>(arg_long(argc, argv, "--threads", 1));
    so.max_connections = static_cast<std::size_t>(arg_long(argc, argv, "--max-connections", 256));
    so.max_body_bytes = static_cast<std::size_t>(arg_long(argc, argv, "--max-body", 65536));
    so.request_timeout =
        std::chrono::milliseconds(arg_long(argc, argv, "--request-timeout-ms", 15000));
    so.sse_heartbeat = std::chrono::milliseconds(arg_long(argc, argv, "--heartbeat-ms", 15000));
    HttpServer server(router, so);
    if (auto r = server.start(); !r) {
        std::fprintf(stderr, "start: %s\n", r.error().message().c_str());
        return 1;
    }
    std::printf("PORT %u TOKEN_CREATED %d\n", server.port(), created ? 1 : 0);
    std::fflush(stdout);
    while (!g_stop)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    server.stop(std::chrono::milliseconds(arg_long(argc, argv, "--grace-ms", 5000)));
    engine.reset(); // joins the engine thread before the backend it serves goes away
    auto st = server.stats();
    std::printf("STOPPED requests=%llu active=%zu answer_timeouts=%llu rejected=%llu\n",
                static_cast<unsigned long long>(st.requests), st.active_connections,
                static_cast<unsigned long long>(st.answer_timeouts),
                static_cast<unsigned long long>(st.connections_rejected));
    std::fflush(stdout);
    return 0;
}
