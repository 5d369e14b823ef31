// BootstrapConfigStore: where the bootstrap engine finds each endpoint's configuration and the
// bootstrap credentials that authenticate it (docs/bootstrap.md). The memory store implements it
// (memory_bootstrap_config_store.hpp); the SQLite store will too.
//
// Contract for implementations:
//  - put() validates with check_bootstrap_config() before anything is stored, and keeps the
//    bootstrap credentials unique: one PSK identity, raw public key or certificate CN belongs to
//    at most one endpoint (the DTLS handshake finds the endpoint from it).
//  - find*() run on the engine thread for every handshake and Bootstrap-Request: O(1) (or
//    O(log n)), in memory, never blocking on I/O. They return immutable snapshots: a session keeps
//    using the snapshot it started with while put()/remove() replace the stored one.
//  - find*() may run concurrently with put()/remove() called from other threads (REST API).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/store/bootstrap_config.hpp>

namespace lwm2m::store {

/// Errors of the configuration stores (an API maps them to 400 / 409 / 404).
enum class ConfigErrc {
    invalid = 1, ///< the configuration fails check_bootstrap_config() (reasons given)
    conflict,    ///< its bootstrap PSK identity, RPK or certificate CN belongs to another endpoint
    not_found,   ///< no configuration for that endpoint
};

const std::error_category& config_category() noexcept;
std::error_code make_error_code(ConfigErrc e) noexcept;

class BootstrapConfigStore {
public:
    using Snapshot = std::shared_ptr<const BootstrapConfig>;

    virtual ~BootstrapConfigStore() = default;

    /// Validates and inserts, or replaces the endpoint's configuration.
    /// Errors: ConfigErrc::invalid (`reasons` receives check_bootstrap_config()'s reasons),
    /// ConfigErrc::conflict (`reasons` says which credential is taken; never a key value).
    virtual Result<void> put(BootstrapConfig config,
                             std::vector<std::string>* reasons = nullptr) = 0;
    /// Errors: ConfigErrc::not_found.
    virtual Result<void> remove(std::string_view endpoint) = 0;

    /// The configuration of `endpoint`, or null.
    [[nodiscard]] virtual Snapshot find(std::string_view endpoint) const = 0;
    /// The configuration whose bootstrap credentials are this PSK identity (binary), or null.
    [[nodiscard]] virtual Snapshot find_by_psk_identity(BytesView identity) const = 0;
    /// The configuration whose bootstrap credentials are this raw public key (SPKI DER), or null.
    [[nodiscard]] virtual Snapshot find_by_rpk(BytesView spki_der) const = 0;
    /// The configuration whose bootstrap credentials are X.509 with this CN (its
    /// x509_common_name, or its endpoint name when that is empty), or null.
    [[nodiscard]] virtual Snapshot find_by_certificate_cn(std::string_view common_name) const = 0;

    [[nodiscard]] virtual std::size_t size() const = 0;
    /// Public views (no secrets) of up to `limit` configurations in endpoint order, starting after
    /// the endpoint `after` (empty: from the first): for paging APIs.
    [[nodiscard]] virtual std::vector<BootstrapConfigView> list(std::string_view after,
                                                                std::size_t limit) const = 0;
};

} // namespace lwm2m::store

template <>
struct std::is_error_code_enum<lwm2m::store::ConfigErrc> : std::true_type {};
