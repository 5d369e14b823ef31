// SIGINT/SIGTERM stop a transport::Loop (write() to an eventfd and an atomic store are
// async-signal-safe).
#pragma once

#include <atomic>
#include <csignal>

#include <lwm2m/transport/loop.hpp>

namespace lwm2m::app {

class StopOnSignal {
public:
    explicit StopOnSignal(transport::LoopBase& loop) {
        loop_ = &loop;
        struct sigaction sa {};
        sa.sa_handler = &StopOnSignal::handle;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
    }
    ~StopOnSignal() {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
        loop_ = nullptr;
    }
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;
    static bool requested() noexcept { return signal_.load() != 0; }
    /// The signal that stopped the loop (SIGINT, SIGTERM), 0 if none.
    static int signal_number() noexcept { return signal_.load(); }

private:
    static void handle(int sig) {
        signal_.store(sig);
        if (auto* l = loop_.load()) l->stop();
    }
    static inline std::atomic<transport::LoopBase*> loop_{nullptr};
    static inline std::atomic<int> signal_{0};
};

} // namespace lwm2m::app
