#include <lwm2m/store/redis_bootstrap_config_store.hpp>

#include <string>
#include <unordered_set>

#include <lwm2m/store/bootstrap_config_codec.hpp>

namespace lwm2m::store {

namespace {} // namespace

Result<std::unique_ptr<RedisBootstrapConfigStore>>
RedisBootstrapConfigStore::open(redis::ClusterClient& client, const SecretBox& box, RedisKeys keys,
                                ValidationOptions options) {
    std::unique_ptr<RedisBootstrapConfigStore> store(
        new RedisBootstrapConfigStore(client, box, std::move(keys), options));
    std::unordered_set<std::string> seen;
    LWM2M_TRY_VOID(client.scan(
        store->keys_.pattern("bscfg"), 512, [&](std::vector<std::string>& found) -> Result<void> {
            std::vector<redis::Command> cmds;
            std::vector<std::string> eps;
            for (auto& k : found) {
                auto ep = store->keys_.endpoint_of(k);
                if (!ep || !seen.insert(*ep).second) continue;
                cmds.push_back(redis::command({"GET", k}, k));
                eps.push_back(std::move(*ep));
            }
            if (cmds.empty()) return ok();
            LWM2M_TRY(replies, client.run(cmds));
            for (std::size_t i = 0; i < replies.size(); ++i) {
                if (replies[i].is_nil()) continue;
                if (replies[i].type != redis::Reply::Type::string) return fail(Errc::corrupt);
                LWM2M_TRY(plain, box.open(as_bytes(replies[i].str),
                                          bootstrap_config_blob_context(eps[i])));
                auto config = decode_bootstrap_config(plain.view());
                if (!config || config->endpoint != eps[i]) return fail(Errc::corrupt);
                if (!store->cache_.put(std::move(*config))) return fail(Errc::corrupt);
            }
            return ok();
        }));
    return store;
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
    return cache_.put(std::move(config), reasons);
}

Result<void> RedisBootstrapConfigStore::remove(std::string_view endpoint) {
    std::lock_guard lock(write_mutex_);
    if (!cache_.find(endpoint)) return fail(ConfigErrc::not_found);
    const auto k = keys_.bscfg(endpoint);
    LWM2M_TRY(r, client_->run(redis::command({"DEL", k}, k, true)));
    if (r.is_error()) return fail(Errc::io_error);
    return cache_.remove(endpoint);
}

} // namespace lwm2m::store
