// RedisChangeListener: the node side of the invalidation channel between lwm2m-server nodes
// sharing one Redis Cluster (docs/cluster.md "Credentials and bootstrap configurations"). Every
// node announces the endpoints whose credentials or bootstrap configuration it changed on
// RedisKeys::change_channel() (publish_change(), after the write is durable); this listener,
// on its own pub/sub connection and thread, hands each notice to `on_change` so the node
// re-reads that endpoint. Pub/sub is at most once: after every (re)subscription (the first
// one included: changes between the node's start-up load and its subscription) and every
// `resync_interval`, `on_resync` runs so the node re-reads everything.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/store/redis_cluster.hpp>
#include <lwm2m/store/redis_stores.hpp>

namespace lwm2m::store {

struct RedisChangeListenerOptions {
    /// Nodes to subscribe at (any node of the cluster serves pub/sub).
    std::vector<redis::HostPort> nodes;
    RedisKeys keys;
    redis::ClusterOptions cluster;
    /// A full resynchronisation this often as well (0: only after (re)subscriptions).
    std::chrono::milliseconds resync_interval{0};
    /// How long one receive() waits (also bounds how long the destructor waits).
    std::chrono::milliseconds poll{200};
};

struct RedisChangeListenerStats {
    std::uint64_t notices = 0;        ///< notices handed to on_change
    std::uint64_t bad = 0;            ///< payloads that were not a notice (dropped)
    std::uint64_t resyncs = 0;        ///< on_resync calls
    std::uint64_t connections = 0;    ///< subscriptions opened (the first one included)
    std::uint64_t disconnections = 0; ///< connections lost
};

class RedisChangeListener {
public:
    /// Called on the listener's thread.
    using OnChange = std::function<void(const ChangeNotice&)>;
    using OnResync = std::function<void()>;

    /// Subscribes (errors: those of redis::Subscriber::connect, `why` says why) and starts the
    /// thread; its first action is `on_resync`.
    [[nodiscard]] static Result<std::unique_ptr<RedisChangeListener>>
    start(RedisChangeListenerOptions options, OnChange on_change, OnResync on_resync,
          std::string* why = nullptr);
    /// Stops and joins the thread (within about `poll` plus a running callback).
    ~RedisChangeListener();
    RedisChangeListener(const RedisChangeListener&) = delete;
    RedisChangeListener& operator=(const RedisChangeListener&) = delete;

    [[nodiscard]] RedisChangeListenerStats stats() const;

private:
    RedisChangeListener() = default;
    void run();
    RedisChangeListenerOptions options_;
    OnChange on_change_;
    OnResync on_resync_;
    std::unique_ptr<redis::Subscriber> subscriber_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    RedisChangeListenerStats stats_;
    std::thread thread_;
};

} // namespace lwm2m::store
