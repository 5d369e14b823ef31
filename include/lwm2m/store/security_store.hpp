// SecurityStore: the device credentials of the device-management server (one SecurityInfo per
// endpoint, include/lwm2m/store/security_info.hpp), written by the bootstrap server's outcome and
// the REST API, read by the DTLS handshake (dtls::CredentialStore, see server::SecurityCredentials)
// and by the registration authorisation.
//
// Lookups run on the engine thread during handshakes and registrations: every find*() must be
// answered from memory in O(1) (a persistent implementation keeps an in-memory index and writes
// through). Pointers returned by find*() stay valid until the next put()/remove().
//
// A credential (PSK identity, raw public key, expected certificate name) identifies exactly one
// endpoint: put() refuses a record whose credential is bound to another endpoint.
//
// Threading: one thread (the engine's loop thread); other threads hand their changes to it
// (transport::Loop::post).
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/store/errc.hpp>
#include <lwm2m/store/security_info.hpp>

namespace lwm2m::store {

class SecurityStore {
public:
    virtual ~SecurityStore() = default;

    /// Adds or replaces the credentials of info.endpoint. Errors: lwm2m::Errc::invalid_argument
    /// (validate() fails; `why` gets its reason), Errc::conflict (the credential is bound to
    /// another endpoint; `why` names which kind, never key bytes), I/O errors of persistent
    /// stores (the store is then unchanged).
    [[nodiscard]] virtual Result<void> put(SecurityInfo info, std::string* why = nullptr) = 0;
    /// Removes the credentials of `endpoint`; returns whether there were any. Errors: I/O.
    [[nodiscard]] virtual Result<bool> remove(std::string_view endpoint) = 0;
    /// Adds or replaces several records (bulk provisioning), each as put() would; `*stored`
    /// gets how many are stored. Errors: as put(). This default stores them in order and stops
    /// at the first error (the records before it stay stored); SqliteSecurityStore checks them
    /// all first (against each other too) and writes them in one transaction: all or none.
    [[nodiscard]] virtual Result<void> put_all(std::vector<SecurityInfo> infos, std::size_t* stored,
                                               std::string* why = nullptr) {
        *stored = 0;
        for (auto& info : infos) {
            LWM2M_TRY_VOID(put(std::move(info), why));
            ++*stored;
        }
        return ok();
    }

    /// O(1), from memory.
    [[nodiscard]] virtual const SecurityInfo* find(std::string_view endpoint) const = 0;
    /// The PSK record whose identity is `identity` (binary-safe). O(1), from memory.
    [[nodiscard]] virtual const SecurityInfo* find_by_psk_identity(BytesView identity) const = 0;
    /// The RPK record whose SubjectPublicKeyInfo DER is `spki`. O(1), from memory.
    [[nodiscard]] virtual const SecurityInfo* find_by_rpk(BytesView spki) const = 0;
    /// The X.509 record expecting certificate subject CN `common_name` (its x509_common_name,
    /// or its endpoint when that is empty). O(1), from memory.
    [[nodiscard]] virtual const SecurityInfo*
    find_by_x509_cn(std::string_view common_name) const = 0;

    virtual void for_each(const std::function<void(const SecurityInfo&)>& fn) const = 0;
    [[nodiscard]] virtual std::size_t size() const = 0;
};

/// Checks `infos` as put() would against `store` and against each other (each valid, no
/// credential bound to another endpoint or taken twice among them) without changing anything.
/// With several records, `why` names the first bad one ("record 3 (endpoint 'x'): ...").
/// Errors: lwm2m::Errc::invalid_argument, Errc::conflict.
[[nodiscard]] Result<void> check_security_puts(const SecurityStore& store,
                                               std::span<const SecurityInfo> infos,
                                               std::string* why = nullptr);

} // namespace lwm2m::store
