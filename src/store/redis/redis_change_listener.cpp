// The invalidation channel's listener (include/lwm2m/store/redis_change_listener.hpp,
// docs/cluster.md "Credentials and bootstrap configurations").
#include <lwm2m/store/redis_change_listener.hpp>

namespace lwm2m::store {

Result<std::unique_ptr<RedisChangeListener>>
RedisChangeListener::start(RedisChangeListenerOptions options, OnChange on_change,
                           OnResync on_resync, std::string* why) {
    std::unique_ptr<RedisChangeListener> l(new RedisChangeListener());
    l->options_ = std::move(options);
    l->on_change_ = std::move(on_change);
    l->on_resync_ = std::move(on_resync);
    LWM2M_TRY(sub,
              redis::Subscriber::connect(l->options_.nodes, {l->options_.keys.change_channel()},
                                         l->options_.cluster, why));
    l->subscriber_ = std::move(sub);
    l->thread_ = std::thread([p = l.get()] { p->run(); });
    return l;
}

RedisChangeListener::~RedisChangeListener() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

RedisChangeListenerStats RedisChangeListener::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void RedisChangeListener::run() {
    using Clock = std::chrono::steady_clock;
    std::uint64_t seen_connections = 0; // the subscription the last resync followed
    bool down = false;
    auto next_resync = Clock::time_point::max();
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        // A receive() that returns has consumed the SUBSCRIBE confirmation when it came, so a
        // resync that follows a new connection misses nothing published after it subscribed.
        auto m = subscriber_->receive(options_.poll);
        if (!m) {
            if (!down) {
                std::lock_guard lock(mutex_);
                ++stats_.disconnections;
            }
            down = true;
            // receive() reconnects on its next call; do not spin while Redis is away.
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
            continue;
        }
        down = false;
        const auto connections = subscriber_->connections();
        const auto now = Clock::now();
        if (connections != seen_connections || now >= next_resync) {
            {
                std::lock_guard lock(mutex_);
                stats_.connections = connections;
                ++stats_.resyncs;
            }
            seen_connections = connections;
            if (on_resync_) on_resync_();
            next_resync = options_.resync_interval.count() > 0
                              ? Clock::now() + options_.resync_interval
                              : Clock::time_point::max();
        }
        if (!*m) continue;
        auto notice = decode_change((*m)->payload);
        {
            std::lock_guard lock(mutex_);
            ++(notice ? stats_.notices : stats_.bad);
        }
        if (notice && on_change_) on_change_(*notice);
    }
}

} // namespace lwm2m::store
