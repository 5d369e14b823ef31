// SqliteBootstrapConfigStore: the bootstrap configurations (docs/bootstrap.md) in the
// `bootstrap_configs` table of lwm2m.db (schema: sqlite_store_migrations()), one row per
// endpoint: the configuration as a bootstrap_config_codec blob sealed with SecretBox (AES-256-GCM,
// context "bootstrap/<endpoint>": the blob holds PSK and private keys), plus the bootstrap
// credential columns (mode, PSK identity, RPK, certificate CN) in clear.
//
// Every configuration is loaded (decrypted, decoded and re-validated) at open into an in-memory
// MemoryBootstrapConfigStore, which answers find*() (shared lock, O(1)) and list(). put()/remove()
// write the row first and change the memory index only after the write committed (write-through).
//
// Threading: find*() from any thread concurrently with put()/remove() (the interface's contract);
// put()/remove() serialise on a mutex around the store's own Database connection, which must not
// be used by anything else (SqliteStores::open_connection() gives one). Library:
// lwm2m_store_bootstrap_sqlite.
#pragma once

#include <memory>
#include <mutex>

#include <lwm2m/store/bootstrap_config_store.hpp>
#include <lwm2m/store/memory_bootstrap_config_store.hpp>
#include <lwm2m/store/secret_box.hpp>
#include <lwm2m/store/sqlite.hpp>

namespace lwm2m::store {

class SqliteBootstrapConfigStore final : public BootstrapConfigStore {
public:
    /// Takes `db` (its own connection, schema applied: sqlite_store_migrations()) and loads every
    /// configuration. `box` must outlive the store. Errors: store::Errc::decrypt_failed (a blob
    /// does not open with this key file, or was moved to another endpoint's row), Errc::corrupt (a
    /// blob that does not decode, fails check_bootstrap_config() or whose credentials conflict),
    /// SQLite errors.
    [[nodiscard]] static Result<std::unique_ptr<SqliteBootstrapConfigStore>>
    open(Database db, const SecretBox& box, ValidationOptions options = {});

    /// Errors: ConfigErrc::invalid, ConfigErrc::conflict (as the interface; nothing written),
    /// store::Errc (SQLite errors, sealing; the store is unchanged).
    Result<void> put(BootstrapConfig config, std::vector<std::string>* reasons = nullptr) override;
    /// Errors: ConfigErrc::not_found, store::Errc (SQLite errors; the store is unchanged).
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

private:
    SqliteBootstrapConfigStore(Database db, const SecretBox& box, ValidationOptions options)
        : db_(std::move(db))
        , box_(&box)
        , options_(options)
        , cache_(options) {}
    std::mutex write_mutex_;
    Database db_;
    const SecretBox* box_;
    ValidationOptions options_;
    MemoryBootstrapConfigStore cache_;
};

} // namespace lwm2m::store
