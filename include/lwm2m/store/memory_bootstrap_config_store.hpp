// The in-memory BootstrapConfigStore (tests, benchmarks, and servers that load their
// configurations at start-up). Thread-safe: find*() take a shared lock, put()/remove() an
// exclusive one; snapshots are std::shared_ptr<const BootstrapConfig>.
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include <lwm2m/store/bootstrap_config_store.hpp>

namespace lwm2m::store {

class MemoryBootstrapConfigStore final : public BootstrapConfigStore {
public:
    /// `options` are the ones put() validates with (e.g. certificate_issuer = false when the
    /// engine has no CA).
    explicit MemoryBootstrapConfigStore(ValidationOptions options = {})
        : options_(options) {}

    Result<void> put(BootstrapConfig config, std::vector<std::string>* reasons = nullptr) override;
    Result<void> remove(std::string_view endpoint) override;
    [[nodiscard]] Snapshot find(std::string_view endpoint) const override;
    [[nodiscard]] Snapshot find_by_psk_identity(BytesView identity) const override;
    [[nodiscard]] Snapshot find_by_rpk(BytesView spki_der) const override;
    [[nodiscard]] Snapshot find_by_certificate_cn(std::string_view common_name) const override;
    [[nodiscard]] std::size_t size() const override;
    [[nodiscard]] std::vector<BootstrapConfigView> list(std::string_view after,
                                                        std::size_t limit) const override;

    /// ConfigErrc::conflict (`reasons` says which kind of credential, never its value) when
    /// config's bootstrap credentials belong to another endpoint here; put() checks the same.
    /// The persistent stores keep a MemoryBootstrapConfigStore as their index and ask it before
    /// they write.
    [[nodiscard]] Result<void> check_credentials_free(const BootstrapConfig& config,
                                                      std::vector<std::string>* reasons) const;

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    using Index = std::unordered_map<std::string, Snapshot, Hash, std::equal_to<>>;

    /// The key of `c`'s bootstrap credentials in the index of its mode ("" for NoSec).
    static std::string credential_key(const BootstrapConfig& c);
    Index* index_for(SecurityMode m);
    [[nodiscard]] const Index* index_for(SecurityMode m) const;
    /// check_credentials_free() with the lock held.
    [[nodiscard]] Result<void> check_free_locked(const BootstrapConfig& config,
                                                 std::vector<std::string>* reasons) const;

    ValidationOptions options_;
    mutable std::shared_mutex mutex_;
    std::map<std::string, Snapshot, std::less<>> by_endpoint_;
    Index by_psk_identity_;
    Index by_rpk_;
    Index by_cn_;
};

} // namespace lwm2m::store
