// Coherence of the credentials and bootstrap configurations between lwm2m-server nodes sharing
// one Redis Cluster (docs/cluster.md "Credentials and bootstrap configurations"): a
// store::RedisChangeListener whose notices re-read the changed endpoint. The security index is
// the engine's (the loop thread's): its records are read on the listener's thread and applied on
// the loop through `post`; the bootstrap configuration store is thread-safe and reloads in place.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <lwm2m/base/log.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/store/redis_bootstrap_config_store.hpp>
#include <lwm2m/store/redis_change_listener.hpp>
#include <lwm2m/store/redis_stores.hpp>

namespace lwm2m::app {

struct CredentialSyncParts {
    store::RedisSecurityStore* security = nullptr;       ///< the engine's index (loop thread)
    store::RedisBootstrapConfigStore* configs = nullptr; ///< thread-safe
    /// Runs a task on the loop thread (transport::Loop::post).
    std::function<void(std::function<void(TimePoint)>)> post;
    Logger* log = nullptr;
    /// A full re-read this often too (notices lost to a failed re-read are caught up then).
    std::chrono::milliseconds resync_interval{std::chrono::minutes(5)};
    store::redis::Auth auth; ///< the --store URL's user info
};

/// Subscribes to the change channel and starts the listener's thread (its first action: a full
/// re-read). Errors: those of store::RedisChangeListener::start (`why` says why).
[[nodiscard]] Result<std::unique_ptr<store::RedisChangeListener>>
start_credential_sync(std::vector<store::redis::HostPort> nodes, const store::RedisKeys& keys,
                      CredentialSyncParts parts, std::string* why);

} // namespace lwm2m::app
