#include <lwm2m/store/memory_bootstrap_config_store.hpp>

#include <mutex>

namespace lwm2m::store {

namespace {

class ConfigCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "lwm2m.store.config"; }
    std::string message(int ev) const override {
        switch (static_cast<ConfigErrc>(ev)) {
        case ConfigErrc::invalid:
            return "the bootstrap configuration is not valid";
        case ConfigErrc::conflict:
            return "the bootstrap credentials belong to another endpoint";
        case ConfigErrc::not_found:
            return "no bootstrap configuration for this endpoint";
        }
        return "unknown configuration store error";
    }
};

std::string key_of(BytesView b) {
    return std::string(as_string_view(b));
}

} // namespace

const std::error_category& config_category() noexcept {
    static const ConfigCategory c;
    return c;
}
std::error_code make_error_code(ConfigErrc e) noexcept {
    return {static_cast<int>(e), config_category()};
}

std::string MemoryBootstrapConfigStore::credential_key(const BootstrapConfig& c) {
    const SecurityInfo& s = c.bootstrap_credentials;
    switch (s.mode) {
    case SecurityMode::psk:
        return key_of(s.psk_identity);
    case SecurityMode::rpk:
        return key_of(s.rpk_public_key);
    case SecurityMode::x509:
        return s.x509_common_name.empty() ? c.endpoint : s.x509_common_name;
    case SecurityMode::nosec:
        break;
    }
    return {};
}

MemoryBootstrapConfigStore::Index* MemoryBootstrapConfigStore::index_for(SecurityMode m) {
    return const_cast<Index*>(std::as_const(*this).index_for(m));
}

const MemoryBootstrapConfigStore::Index*
MemoryBootstrapConfigStore::index_for(SecurityMode m) const {
    switch (m) {
    case SecurityMode::psk:
        return &by_psk_identity_;
    case SecurityMode::rpk:
        return &by_rpk_;
    case SecurityMode::x509:
        return &by_cn_;
    case SecurityMode::nosec:
        break;
    }
    return nullptr;
}

Result<void>
MemoryBootstrapConfigStore::check_credentials_free(const BootstrapConfig& config,
                                                   std::vector<std::string>* reasons) const {
    std::shared_lock lock(mutex_);
    return check_free_locked(config, reasons);
}

Result<void>
MemoryBootstrapConfigStore::check_free_locked(const BootstrapConfig& config,
                                              std::vector<std::string>* reasons) const {
    const Index* index = index_for(config.bootstrap_credentials.mode);
    if (index == nullptr) return ok();
    const auto it = index->find(credential_key(config));
    if (it == index->end() || it->second->endpoint == config.endpoint) return ok();
    if (reasons)
        *reasons = {std::string("bootstrap ") +
                    std::string(to_string(config.bootstrap_credentials.mode)) +
                    " credentials already belong to another endpoint"};
    return fail(ConfigErrc::conflict);
}

Result<void> MemoryBootstrapConfigStore::put(BootstrapConfig config,
                                             std::vector<std::string>* reasons) {
    if (auto r = check_bootstrap_config(config, options_); !r.empty()) {
        if (reasons) *reasons = std::move(r);
        return fail(ConfigErrc::invalid);
    }
    auto snap = std::make_shared<const BootstrapConfig>(std::move(config));
    const std::string key = credential_key(*snap);
    std::unique_lock lock(mutex_);
    LWM2M_TRY_VOID(check_free_locked(*snap, reasons));
    Index* index = index_for(snap->bootstrap_credentials.mode);
    // Replace: drop the old configuration's index entry first (its credentials may differ).
    if (const auto old = by_endpoint_.find(snap->endpoint); old != by_endpoint_.end()) {
        if (Index* oi = index_for(old->second->bootstrap_credentials.mode))
            oi->erase(credential_key(*old->second));
        old->second = snap;
    } else {
        by_endpoint_.emplace(snap->endpoint, snap);
    }
    if (index != nullptr) (*index)[key] = snap;
    return ok();
}

Result<void> MemoryBootstrapConfigStore::remove(std::string_view endpoint) {
    std::unique_lock lock(mutex_);
    const auto it = by_endpoint_.find(endpoint);
    if (it == by_endpoint_.end()) return fail(ConfigErrc::not_found);
    if (Index* index = index_for(it->second->bootstrap_credentials.mode))
        index->erase(credential_key(*it->second));
    by_endpoint_.erase(it);
    return ok();
}

BootstrapConfigStore::Snapshot MemoryBootstrapConfigStore::find(std::string_view endpoint) const {
    std::shared_lock lock(mutex_);
    const auto it = by_endpoint_.find(endpoint);
    return it == by_endpoint_.end() ? nullptr : it->second;
}

BootstrapConfigStore::Snapshot
MemoryBootstrapConfigStore::find_by_psk_identity(BytesView identity) const {
    std::shared_lock lock(mutex_);
    const auto it = by_psk_identity_.find(as_string_view(identity));
    return it == by_psk_identity_.end() ? nullptr : it->second;
}

BootstrapConfigStore::Snapshot MemoryBootstrapConfigStore::find_by_rpk(BytesView spki_der) const {
    std::shared_lock lock(mutex_);
    const auto it = by_rpk_.find(as_string_view(spki_der));
    return it == by_rpk_.end() ? nullptr : it->second;
}

BootstrapConfigStore::Snapshot
MemoryBootstrapConfigStore::find_by_certificate_cn(std::string_view common_name) const {
    std::shared_lock lock(mutex_);
    const auto it = by_cn_.find(common_name);
    return it == by_cn_.end() ? nullptr : it->second;
}

std::size_t MemoryBootstrapConfigStore::size() const {
    std::shared_lock lock(mutex_);
    return by_endpoint_.size();
}

std::vector<BootstrapConfigView> MemoryBootstrapConfigStore::list(std::string_view after,
                                                                  std::size_t limit) const {
    std::vector<Snapshot> page;
    {
        std::shared_lock lock(mutex_);
        auto it = after.empty() ? by_endpoint_.begin() : by_endpoint_.upper_bound(after);
        for (; it != by_endpoint_.end() && page.size() < limit; ++it)
            page.push_back(it->second);
    }
    std::vector<BootstrapConfigView> out;
    out.reserve(page.size());
    for (const auto& s : page)
        out.push_back(public_view(*s));
    return out;
}

} // namespace lwm2m::store
