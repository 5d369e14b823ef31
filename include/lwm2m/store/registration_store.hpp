// RegistrationStore: where the device-management server keeps what must survive a restart: the
// registrations (LwM2M TS 1.1 §6.2.1, 1.2 §6.2.1) and the observations established on them
// (§6.4.1). Implemented in memory (MemoryRegistrationStore, tests and single-node deployments),
// later by SQLite and Redis.
//
// Durability contract with server::Engine (docs/server.md "Durability"): the engine journals every
// change as a Change with a sequence number and holds the client's 2.01 / 2.04 / 2.02 until the
// change is durable. The driver takes the changes of one loop iteration (Engine::take_changes),
// commits them with ONE commit() call (one transaction: all or nothing, in order) and reports the
// highest sequence number back (Engine::on_persisted). Commits are therefore grouped under load.
//
// Threading: an implementation is used by one thread at a time (the engine's loop thread or one
// writer thread); the engine never calls it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/store/errc.hpp>
#include <lwm2m/store/security_info.hpp>

namespace lwm2m::store {

/// The durable form of one registration: everything a restarted engine needs to carry on with
/// the client's next Update without a new Register.
struct RegistrationRecord {
    std::string endpoint;      ///< Endpoint Client Name ("ep"), the key
    std::string location;      ///< the server-assigned id after "/rd/" (Location-Path)
    std::string lwm2m_version; ///< "1.0", "1.1" or "1.2" (the "lwm2m" parameter)
    std::uint32_t lifetime_s = 86400;
    std::string binding; ///< the "b" parameter as registered, e.g. "U", "UQ", "UT"
    bool queue_mode = false;
    std::string sms_number;   ///< the "sms" parameter (MSISDN), empty when absent
    std::string object_links; ///< the Register/Update payload as received (CoRE Link Format)
    PeerAddr peer;            ///< the client's transport address
    std::uint16_t socket = 0; ///< index of the server's listener/socket it talks to
    SecurityMode security = SecurityMode::nosec; ///< how the client authenticated
    std::int64_t registered_at = 0;              ///< Unix seconds of the Register
    std::int64_t updated_at = 0; ///< Unix seconds of the last Register/Update (the expiry
                                 ///< counts from here: updated_at + lifetime + grace)
    friend bool operator==(const RegistrationRecord&, const RegistrationRecord&) = default;
};

/// The durable form of one observation (TS 1.1 §6.4.1 Observe / §6.4.3 Observe-Composite).
struct ObservationRecord {
    std::string endpoint;
    std::uint64_t id = 0; ///< the engine's ObservationId value (unique for the store)
    Bytes token;          ///< the CoAP token of the observe exchange (RFC 7641 §3)
    bool composite = false;
    std::vector<std::string> paths;      ///< LwM2M paths, "/3/0/1"
    std::optional<std::uint16_t> accept; ///< the Content-Format asked for notifications
    std::int64_t created_at = 0;         ///< Unix seconds
    friend bool operator==(const ObservationRecord&, const ObservationRecord&) = default;
};

/// Adds or replaces the registration with record.endpoint. `replaces`: a new Register of the
/// endpoint (TS 1.1 §6.2.1) replacing its registration: its observations are removed too.
struct RegistrationPut {
    RegistrationRecord record;
    bool replaces = false;
};
/// Removes the registration of `endpoint` AND every observation of that endpoint.
struct RegistrationRemove {
    std::string endpoint;
};
/// Adds or replaces observation (record.endpoint, record.id). Ignored when the endpoint has no
/// registration (it was removed earlier in the same batch).
struct ObservationPut {
    ObservationRecord record;
};
/// Removes one observation; no-op when absent.
struct ObservationRemove {
    std::string endpoint;
    std::uint64_t id = 0;
};

struct Change {
    std::uint64_t seq = 0; ///< the engine's journal sequence number
    std::variant<RegistrationPut, RegistrationRemove, ObservationPut, ObservationRemove> op;
};

class RegistrationStore {
public:
    virtual ~RegistrationStore() = default;

    /// Applies the changes in order as one transaction: afterwards either all of them are durable
    /// or none is. Errors: implementation-specific (I/O: std::system_category; Errc::unavailable);
    /// on error the store is unchanged.
    [[nodiscard]] virtual Result<void> commit(std::span<const Change> batch) = 0;

    /// Calls `on_registration` for every registration, then `on_observation` for every
    /// observation (restart). Errors: implementation-specific; Errc::corrupt for unreadable data.
    [[nodiscard]] virtual Result<void>
    load(const std::function<void(RegistrationRecord&&)>& on_registration,
         const std::function<void(ObservationRecord&&)>& on_observation) const = 0;

    /// The durable registration of `endpoint` (nullopt when none). Errors: as load().
    [[nodiscard]] virtual Result<std::optional<RegistrationRecord>>
    find(std::string_view endpoint) const = 0;

    /// The durable registration whose location is `location` (nullopt when none): how a node
    /// finds the registration a client made at another node sharing the store from the location
    /// its Update names (docs/cluster-nodes.md). The default scans load() (O(n): fine for the
    /// memory and single-node stores); the Redis store keeps an index. Errors: as load().
    [[nodiscard]] virtual Result<std::optional<RegistrationRecord>>
    find_by_location(std::string_view location) const;

    /// Number of registrations. Errors: as load().
    [[nodiscard]] virtual Result<std::size_t> size() const = 0;

    /// Several server nodes over one store (docs/cluster.md): the id of the node that last
    /// committed a Register/Update of `endpoint`, nullopt when unknown. Single-node stores
    /// (memory, SQLite) keep no owner: the default answers nullopt. Errors: as load().
    [[nodiscard]] virtual Result<std::optional<std::string>>
    owner(std::string_view /*endpoint*/) const {
        return std::optional<std::string>{};
    }
};

} // namespace lwm2m::store
