// docs/cluster.md "Credentials and bootstrap configurations".
#include "coherence.hpp"

#include <utility>

namespace lwm2m::app {

namespace {

void sync_warn(Logger* log, const std::string& what, const Error& e) {
    if (log) log->write(LogLevel::warn, "cluster", what + ": " + e.message());
}

} // namespace

Result<std::unique_ptr<store::RedisChangeListener>>
start_credential_sync(std::vector<store::redis::HostPort> nodes, const store::RedisKeys& keys,
                      CredentialSyncParts parts, std::string* why) {
    store::RedisChangeListenerOptions lo;
    lo.nodes = std::move(nodes);
    lo.keys = keys;
    lo.resync_interval = parts.resync_interval;
    // Short retries: a re-read that fails is caught up by the next resynchronisation.
    lo.cluster.retry_deadline = std::chrono::milliseconds(2000);
    lo.cluster.wait_replicas = 0;
    lo.cluster.auth = parts.auth;
    auto on_change = [parts](const store::ChangeNotice& n) {
        if (n.kind == store::ChangeKind::bootstrap_config) {
            if (!parts.configs) return;
            if (auto r = parts.configs->reload(n.endpoint); !r)
                sync_warn(parts.log, "re-reading a bootstrap configuration", r.error());
            return;
        }
        if (!parts.security) return;
        auto info = parts.security->fetch(n.endpoint);
        if (!info) {
            sync_warn(parts.log, "re-reading credentials", info.error());
            return;
        }
        auto shared = std::make_shared<std::optional<store::SecurityInfo>>(std::move(*info));
        parts.post([sec = parts.security, ep = n.endpoint, shared](TimePoint) {
            (void)sec->apply(ep, std::move(*shared));
        });
    };
    auto on_resync = [parts] {
        if (parts.configs) {
            if (auto r = parts.configs->reload_all(); !r)
                sync_warn(parts.log, "re-reading the bootstrap configurations", r.error());
        }
        if (!parts.security) return;
        auto all = parts.security->fetch_all();
        if (!all) {
            sync_warn(parts.log, "re-reading the credentials", all.error());
            return;
        }
        auto shared = std::make_shared<std::vector<store::SecurityInfo>>(std::move(*all));
        parts.post([sec = parts.security, shared, log = parts.log](TimePoint) {
            const auto changed = sec->apply_all(std::move(*shared));
            if (changed != 0 && log)
                log->write(LogLevel::info, "cluster",
                           "credentials re-read: " + std::to_string(changed) +
                               " endpoint(s) changed");
        });
    };
    return store::RedisChangeListener::start(std::move(lo), std::move(on_change),
                                             std::move(on_resync), why);
}

} // namespace lwm2m::app
