// The Redis BootstrapConfigStore (docs/store.md "Redis"): one key per endpoint,
// <prefix>:{<ep>}:bscfg, holding the configuration encoded with encode_bootstrap_config() and
// sealed with the SecretBox bound to "bootstrap/<endpoint>" (as in SQLite). Every configuration
// is loaded at open (SCAN) into a MemoryBootstrapConfigStore (O(1) lookups, concurrent readers);
// put()/remove() serialise on a mutex, write the key, then update memory and announce the
// endpoint on RedisKeys::change_channel(); reload() / reload_all() bring other nodes' changes
// into memory (docs/cluster.md "Credentials and bootstrap configurations").
#pragma once

#include <memory>
#include <mutex>

#include <lwm2m/store/bootstrap_config_store.hpp>
#include <lwm2m/store/memory_bootstrap_config_store.hpp>
#include <lwm2m/store/redis_stores.hpp>
#include <lwm2m/store/secret_box.hpp>

namespace lwm2m::store {

class RedisBootstrapConfigStore final : public BootstrapConfigStore {
public:
    /// Loads every configuration. `client` and `box` must outlive the store. Errors:
    /// store::Errc::decrypt_failed (another key file, or a value moved to another endpoint's
    /// key), Errc::corrupt (a value that does not decode, validate or whose credentials
    /// conflict), Errc::unavailable (the cluster).
    [[nodiscard]] static Result<std::unique_ptr<RedisBootstrapConfigStore>>
    open(redis::ClusterClient& client, const SecretBox& box, RedisKeys keys,
         ValidationOptions options = {});

    /// Errors: ConfigErrc::invalid, ConfigErrc::conflict (nothing written), store::Errc
    /// (unavailable, io_error; the store is unchanged).
    Result<void> put(BootstrapConfig config, std::vector<std::string>* reasons = nullptr) override;
    /// Errors: ConfigErrc::not_found, store::Errc (unavailable, io_error; unchanged).
    Result<void> remove(std::string_view endpoint) override;
    [[nodiscard]] Snapshot find(std::string_view endpoint) const override {
        return cache_.find(endpoint);
    }
    [[nodiscard]] Snapshot find_by_psk_identity(BytesView identity) const override {
        return cache_.find_by_psk_identity(identity);
    }
    [[nodiscard]] Snapshot find_by_rpk(BytesView spki_der) const override {
        return cache_.find_by_rpk(spki_der);
    }
    [[nodiscard]] Snapshot find_by_certificate_cn(std::string_view common_name) const override {
        return cache_.find_by_certificate_cn(common_name);
    }
    [[nodiscard]] std::size_t size() const override { return cache_.size(); }
    [[nodiscard]] std::vector<BootstrapConfigView> list(std::string_view after,
                                                        std::size_t limit) const override {
        return cache_.list(after, limit);
    }

    /// Re-reads `endpoint`'s configuration from Redis into memory (any thread). A configuration
    /// whose credentials another endpoint holds in memory (stale: that endpoint changed at
    /// another node too) triggers reload_all(). Errors: as open().
    [[nodiscard]] Result<void> reload(std::string_view endpoint);
    /// Re-reads every configuration (SCAN): memory becomes what Redis holds. Errors: as open().
    [[nodiscard]] Result<void> reload_all();

private:
    RedisBootstrapConfigStore(redis::ClusterClient& client, const SecretBox& box, RedisKeys keys,
                              ValidationOptions options)
        : client_(&client)
        , box_(&box)
        , keys_(std::move(keys))
        , options_(options)
        , cache_(options) {}
    std::mutex write_mutex_;
    redis::ClusterClient* client_;
    const SecretBox* box_;
    RedisKeys keys_;
    ValidationOptions options_;
    MemoryBootstrapConfigStore cache_;
};

} // namespace lwm2m::store
