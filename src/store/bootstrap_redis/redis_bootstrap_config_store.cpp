#include <lwm2m/store/redis_bootstrap_config_store.hpp>

#include <functional>
#include <string>
#include <unordered_set>

#include <lwm2m/store/bootstrap_config_codec.hpp>

namespace lwm2m::store {

namespace {

/// The configuration in `reply` (a GET of `endpoint`'s key), nullopt when nil.
Result<std::optional<BootstrapConfig>> open_config(const redis::Reply& reply, const SecretBox& box,
                                                   const std::string& endpoint) {
    if (reply.is_nil()) return std::optional<BootstrapConfig>();
    if (reply.type != redis::Reply::Type::string) return fail(Errc::corrupt);
    LWM2M_TRY(plain, box.open(as_bytes(reply.str), bootstrap_config_blob_context(endpoint)));
    auto config = decode_bootstrap_config(plain.view());
    if (!config || config->endpoint != endpoint) return fail(Errc::corrupt);
    return std::optional<BootstrapConfig>(std::move(*config));
}

/// Every configuration of the store (SCAN + pipelined GETs).
Result<void> scan_configs(redis::ClusterClient& client, const SecretBox& box, const RedisKeys& keys,
                          const std::function<Result<void>(BootstrapConfig&&)>& on_config) {
    std::unordered_set<std::string> seen;
    return client.scan(keys.pattern("bscfg"), 512,
                       [&](std::vector<std::string>& found) -> Result<void> {
                           std::vector<redis::Command> cmds;
                           std::vector<std::string> eps;
                           for (auto& k : found) {
                               auto ep = keys.endpoint_of(k);
                               if (!ep || !seen.insert(*ep).second) continue;
                               cmds.push_back(redis::command({"GET", k}, k));
                               eps.push_back(std::move(*ep));
                           }
                           if (cmds.empty()) return ok();
                           LWM2M_TRY(replies, client.run(cmds));
                           for (std::size_t i = 0; i < replies.size(); ++i) {
                               LWM2M_TRY(config, open_config(replies[i], box, eps[i]));
                               if (config) LWM2M_TRY_VOID(on_config(std::move(*config)));
                           }
                           return ok();
                       });
}

} // namespace

Result<std::unique_ptr<RedisBootstrapConfigStore>>
RedisBootstrapConfigStore::open(redis::ClusterClient& client, const SecretBox& box, RedisKeys keys,
                                ValidationOptions options) {
    std::unique_ptr<RedisBootstrapConfigStore> store(
        new RedisBootstrapConfigStore(client, box, std::move(keys), options));
    LWM2M_TRY_VOID(
        scan_configs(client, box, store->keys_, [&](BootstrapConfig&& c) -> Result<void> {
            if (!store->cache_.put(std::move(c))) return fail(Errc::corrupt);
            return ok();
        }));
    return store;
}

Result<void> RedisBootstrapConfigStore::reload(std::string_view endpoint) {
    const auto k = keys_.bscfg(endpoint);
    LWM2M_TRY(r, client_->run(redis::command({"GET", k}, k)));
    LWM2M_TRY(config, open_config(r, *box_, std::string(endpoint)));
    {
        std::lock_guard lock(write_mutex_);
        if (!config) {
            if (cache_.find(endpoint)) (void)cache_.remove(endpoint);
            return ok();
        }
        auto put = cache_.put(std::move(*config));
        if (put) return ok();
        if (put.error() != make_error_code(ConfigErrc::conflict)) return fail(Errc::corrupt);
    }
    // Its credentials are held here by another endpoint that changed elsewhere as well.
    return reload_all();
}

Result<void> RedisBootstrapConfigStore::reload_all() {
    std::vector<BootstrapConfig> all;
    LWM2M_TRY_VOID(scan_configs(*client_, *box_, keys_, [&](BootstrapConfig&& c) -> Result<void> {
        all.push_back(std::move(c));
        return ok();
    }));
    std::lock_guard lock(write_mutex_);
    std::unordered_set<std::string> present;
    for (const auto& c : all)
        present.insert(c.endpoint);
    std::vector<std::string> gone;
    for (std::string after;;) {
        auto page = cache_.list(after, 1024);
        if (page.empty()) break;
        for (const auto& v : page)
            if (!present.contains(v.endpoint)) gone.push_back(v.endpoint);
        after = page.back().endpoint;
    }
    for (const auto& ep : gone)
        (void)cache_.remove(ep);
    // Replacements in passes: a credential that moved between two endpoints frees up once the
    // endpoint that held it is replaced; what still conflicts after that is dropped from memory.
    std::vector<BootstrapConfig> left = std::move(all);
    while (!left.empty()) {
        std::vector<BootstrapConfig> next;
        for (auto& c : left) {
            BootstrapConfig copy = c;
            if (!cache_.put(std::move(copy))) next.push_back(std::move(c));
        }
        if (next.size() == left.size()) {
            for (const auto& c : next)
                if (cache_.find(c.endpoint)) (void)cache_.remove(c.endpoint);
            break;
        }
        left = std::move(next);
    }
    return ok();
}

Result<void> RedisBootstrapConfigStore::put(BootstrapConfig config,
                                            std::vector<std::string>* reasons) {
    if (auto r = check_bootstrap_config(config, options_); !r.empty()) {
        if (reasons) *reasons = std::move(r);
        return fail(ConfigErrc::invalid);
    }
    std::lock_guard lock(write_mutex_);
    LWM2M_TRY_VOID(cache_.check_credentials_free(config, reasons));
    LWM2M_TRY(plain, encode_bootstrap_config(config));
    LWM2M_TRY(sealed, box_->seal(plain.view(), bootstrap_config_blob_context(config.endpoint)));
    const auto k = keys_.bscfg(config.endpoint);
    LWM2M_TRY(
        r, client_->run(redis::command({"SET", k, std::string(as_string_view(sealed))}, k, true)));
    if (r.is_error()) return fail(Errc::io_error);
    const std::string endpoint = config.endpoint;
    LWM2M_TRY_VOID(cache_.put(std::move(config), reasons));
    (void)publish_change(*client_, keys_, ChangeKind::bootstrap_config, endpoint);
    return ok();
}

Result<void> RedisBootstrapConfigStore::remove(std::string_view endpoint) {
    std::lock_guard lock(write_mutex_);
    if (!cache_.find(endpoint)) return fail(ConfigErrc::not_found);
    const auto k = keys_.bscfg(endpoint);
    LWM2M_TRY(r, client_->run(redis::command({"DEL", k}, k, true)));
    if (r.is_error()) return fail(Errc::io_error);
    LWM2M_TRY_VOID(cache_.remove(endpoint));
    (void)publish_change(*client_, keys_, ChangeKind::bootstrap_config, endpoint);
    return ok();
}

} // namespace lwm2m::store
