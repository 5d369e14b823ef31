// ClientConfig: the value of Objects 0 and 1 together (the accounts), and AccountStore: the
// Security and Server objects plus the last committed configuration, with Bootstrap-Delete and
// the Bootstrap-Finish consistency check (TS 1.1 §5.2.7.5, §5.2.7.6; docs/security-object.md).
//
// Snapshot / rollback: writes go to the objects (the working state). finish() checks the working
// state; on success it becomes the committed configuration (generation() grows, the caller
// persists it with config_codec + store::write_file_atomic); on failure the objects return to the
// committed configuration and finish() answers 4.06 with the reasons. The client never registers
// with a half-written configuration: the engine reads committed(), never the working state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/log.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/client/object.hpp>
#include <lwm2m/client/security_object.hpp>
#include <lwm2m/client/server_object.hpp>

namespace lwm2m::client {

struct ClientConfig {
    std::map<std::uint16_t, SecurityInstance> security; ///< Object 0 instances by iid
    std::map<std::uint16_t, ServerInstance> servers;    ///< Object 1 instances by iid
    /// Object 0 Resource 12: when the Bootstrap-Server account must be purged, as wall-clock Unix
    /// seconds (set by a successful bootstrap, cleared by the purge). Persisted with the accounts
    /// so that a restart does not forget it; AccountStore maps it back to a TimePoint.
    std::optional<std::int64_t> bs_purge_at;
    friend bool operator==(const ClientConfig&, const ClientConfig&) = default;

    /// True when no LwM2M Server account (a non-bootstrap Security instance) exists.
    [[nodiscard]] bool needs_bootstrap() const;
    /// Object 0 Resource 9: true when `msisdn` is the SMS number of a configured account (the
    /// client silently ignores any SMS from another sender). Exact string match.
    [[nodiscard]] bool is_known_sms_sender(std::string_view msisdn) const;
};

/// The Bootstrap-Finish consistency rules over a whole configuration (each instance alone, then:
/// every non-bootstrap Security instance has an SSID and a Server instance with that SSID; every
/// Server instance has a Security instance; no two Security (or Server) instances share an SSID;
/// at most one Bootstrap-Server instance; a purge deadline (bs_purge_at) only with a
/// Bootstrap-Server instance whose Resource 12 is > 0). Empty when consistent. Reasons never
/// contain values.
[[nodiscard]] std::vector<std::string> check_consistency(const ClientConfig& config);

struct FinishResult {
    Status status = Status::not_acceptable; ///< meaningful when !ok
    bool ok = false;
    std::vector<std::string> reasons; ///< why 4.06 (empty on success)
};

class AccountStore {
public:
    /// `committed` is used as is when consistent; otherwise the store starts empty (needs
    /// bootstrap). Load persisted state through load_config() first.
    /// `wall` gives the Unix time in which finish() records the Resource 12 deadline
    /// (ClientConfig::bs_purge_at, persisted with the configuration); `now` is the current
    /// TimePoint, to which a persisted deadline is mapped back: next_deadline() = now +
    /// (bs_purge_at
    /// - wall.unix_seconds()), at most now + Resource 12 (a wall clock set back cannot make the
    /// account outlive its timeout), at least now (a deadline already passed is due at the first
    /// on_timeout()). The store keeps a reference to `wall`.
    AccountStore(ClientConfig committed, const WallClock& wall, TimePoint now = TimePoint{},
                 Logger& log = NullLogger::instance());

    SecurityObject& security() { return security_; }
    ServerObject& server() { return server_; }
    [[nodiscard]] const SecurityObject& security() const { return security_; }
    [[nodiscard]] const ServerObject& server() const { return server_; }

    [[nodiscard]] const ClientConfig& committed() const { return committed_; }
    /// A copy of the working state (what the objects hold now).
    [[nodiscard]] ClientConfig working() const;
    /// Increments on every successful commit (persist when it changes).
    [[nodiscard]] std::uint64_t generation() const { return generation_; }

    /// Bootstrap-Delete (TS 1.1 §5.2.7.5) on "/", /0, /0/i, /1, /1/i: "/" deletes every instance of
    /// Objects 0 and 1 except the Bootstrap-Server account (other objects are the engine's).
    /// Errors: Status (access policy, 4.00 for the Bootstrap-Server account, 4.04).
    Result<void> bootstrap_delete(const Actor& actor, const dm::Path& path);
    /// Bootstrap-Finish (bootstrap server) or the end of a factory provisioning: check, then
    /// commit or roll back. Only bootstrap_server and factory actors may finish (else 4.01).
    /// `now` starts the Bootstrap-Server Account Timeout (Object 0 Resource 12) when it is > 0;
    /// the deadline is also recorded in committed().bs_purge_at as wall-clock seconds.
    FinishResult finish(const Actor& actor, TimePoint now = TimePoint{});
    /// Discards the working state (e.g. bootstrap session timed out).
    void rollback();
    /// After a successful DM-server Write/Execute on Object 1 (e.g. a new Lifetime): commit the
    /// working state when it is consistent (generation() grows: persist), else roll back. DM
    /// servers cannot change Object 0, so this never commits a half-written bootstrap.
    bool commit_dm_changes();

    /// When the Bootstrap-Server account must be purged (Resource 12 seconds after the last
    /// successful bootstrap; none when 0 or absent: "the account lifetime is infinite").
    [[nodiscard]] std::optional<TimePoint> next_deadline() const { return purge_at_; }
    /// Purges the Bootstrap-Server account (committed and working) once `now` reaches the
    /// deadline. Returns true when it did (generation() grows: persist again).
    bool on_timeout(TimePoint now);

private:
    const WallClock* wall_;
    Logger* log_;
    SecurityObject security_;
    ServerObject server_;
    ClientConfig committed_;
    std::uint64_t generation_ = 0;
    std::optional<TimePoint> purge_at_;
};

} // namespace lwm2m::client
