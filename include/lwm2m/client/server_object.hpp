// The LwM2M Server Object (Object 1) on the client (LwM2M TS 1.1 Appendix E.2, 1.2 additions).
//
// Storage is the dm form (ServerInstance::resources), each resource checked against the built-in
// definition below (type, single/multiple, range) on every write; typed accessors give the values
// the engine needs with the TS defaults. Executable resources (4 Disable, 8 Registration Update
// Trigger, 9 Bootstrap-Request Trigger) queue a ServerAction for the engine (poll_action()).
// A DM server reads, writes and executes only its own instance (the one whose SSID is its own);
// the SSID link to Object 0 is enforced at Bootstrap-Finish (client_config.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/log.hpp>
#include <lwm2m/client/object.hpp>

namespace lwm2m::client {

namespace server_rid {
inline constexpr std::uint16_t short_server_id = 0, lifetime = 1, default_pmin = 2,
                               default_pmax = 3, disable = 4, disable_timeout = 5,
                               notification_storing = 6, binding = 7,
                               registration_update_trigger = 8, bootstrap_request_trigger = 9,
                               apn_link = 10, tls_dtls_alert_code = 11, last_bootstrapped = 12,
                               registration_priority_order = 13, initial_registration_delay = 14,
                               registration_failure_block = 15,
                               bootstrap_on_registration_failure = 16,
                               communication_retry_count = 17, communication_retry_timer = 18,
                               communication_sequence_delay = 19,
                               communication_sequence_retry_count = 20, trigger = 21,
                               preferred_transport = 22, mute_send = 23, alternate_apn_links = 24,
                               supported_server_versions = 25, default_notification_mode = 26,
                               profile_id_hash_algorithm = 27;
}

inline constexpr std::size_t max_server_instances = 64;
inline constexpr std::size_t max_server_resource_instances = 16;
inline constexpr std::size_t max_server_string_size = 255;

/// One resource of the built-in Object 1 definition (1.2 set; operations from 1.2).
struct ServerResourceSpec {
    std::uint16_t id;
    dm::DataType type;
    bool multiple;
    bool readable;   ///< R for a DM server
    bool writable;   ///< W for a DM server (the bootstrap / factory source writes every value)
    bool executable; ///< E
    std::int64_t min;
    std::int64_t max;
};
[[nodiscard]] const ServerResourceSpec* server_resource_spec(std::uint16_t rid) noexcept;

/// A binding text (Object 1 Resource 7, Object 3 Resource 16): letters U, T, S, N and Q, each at
/// most once, with at least one transport (TS 1.1 §6.2.1.1, E.2, E.4).
[[nodiscard]] bool is_valid_binding(std::string_view b) noexcept;

struct ServerInstance {
    std::map<std::uint16_t, dm::Resource> resources;

    [[nodiscard]] std::optional<std::uint16_t> short_server_id() const;
    [[nodiscard]] std::optional<std::int64_t> lifetime() const;
    [[nodiscard]] std::int64_t default_pmin() const; ///< 0 when absent
    [[nodiscard]] std::optional<std::int64_t> default_pmax() const;
    [[nodiscard]] std::int64_t disable_timeout() const; ///< 86400 when absent (E.2)
    [[nodiscard]] std::optional<bool> notification_storing() const;
    [[nodiscard]] std::optional<std::string> binding() const;
    [[nodiscard]] std::uint64_t communication_retry_count() const; ///< 5 when absent (1.1 §6.2.1.1)
    [[nodiscard]] std::uint64_t communication_retry_timer() const;          ///< 60 s when absent
    [[nodiscard]] std::uint64_t communication_sequence_delay() const;       ///< 86400 s when absent
    [[nodiscard]] std::uint64_t communication_sequence_retry_count() const; ///< 1 when absent
    friend bool operator==(const ServerInstance&, const ServerInstance&) = default;
};

/// Validates one resource against the definition and the rules (SSID 1-65534, Lifetime >= 1,
/// periods and timers >= 0, Binding letters from U/T/S/N/Q each once with one transport, retry
/// counts >= 1, ...) and stores it. Errors: Status::bad_request, Status::not_found (undefined
/// resource), Status::method_not_allowed (an executable resource carries no value).
[[nodiscard]] Result<void> apply_server_resource(ServerInstance& inst, const dm::Resource& res);
[[nodiscard]] Result<ServerInstance> server_from_instance(const dm::Instance& in);
[[nodiscard]] dm::Instance to_dm_instance(std::uint16_t iid, const ServerInstance& inst);
/// Bootstrap-Finish rules for one Server instance alone (mandatory 0, 1, 6, 7; binding has 'U').
void check_server_instance(std::uint16_t iid, const ServerInstance& inst,
                           std::vector<std::string>& reasons);

/// What an Execute asked the engine to do.
struct ServerAction {
    enum class Kind : std::uint8_t { disable, registration_update, bootstrap_request };
    Kind kind;
    std::uint16_t ssid;
    friend bool operator==(const ServerAction&, const ServerAction&) = default;
};

class ServerObject final : public ObjectHandler {
public:
    explicit ServerObject(Logger& log = NullLogger::instance())
        : log_(&log) {}

    [[nodiscard]] Oid oid() const override { return Oid{1}; }
    [[nodiscard]] std::vector<Iid> instances() const override;
    [[nodiscard]] Result<dm::Content> read(const Actor& actor, const dm::Path& path) const override;
    Result<void> write(const Actor& actor, const dm::Path& path, const dm::Content& content,
                       WriteMode mode) override;
    Result<Iid> create(const Actor& actor, std::optional<Iid> iid,
                       const dm::Instance& content) override;
    Result<void> delete_(const Actor& actor, const dm::Path& path) override;
    [[nodiscard]] Result<std::vector<LinkInfo>> discover(const Actor& actor,
                                                         const dm::Path& path) const override;
    Result<void> execute(const Actor& actor, const dm::Path& path, std::string_view args) override;

    [[nodiscard]] const ServerInstance* find(Iid iid) const;
    [[nodiscard]] const std::map<std::uint16_t, ServerInstance>& all() const { return instances_; }
    void replace_all(std::map<std::uint16_t, ServerInstance> instances) {
        instances_ = std::move(instances);
    }
    /// Pending Execute effects, oldest first (bounded: identical pending actions coalesce).
    std::optional<ServerAction> poll_action();

private:
    Result<void> owned_by(const Actor& actor, std::uint16_t iid) const;
    Result<void> write_checked(const Actor& actor, const dm::Path& path, const dm::Content& content,
                               WriteMode mode);

    Logger* log_;
    std::map<std::uint16_t, ServerInstance> instances_;
    std::deque<ServerAction> actions_;
};

} // namespace lwm2m::client
