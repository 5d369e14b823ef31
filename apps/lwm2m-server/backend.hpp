// http::Backend over the device-management and bootstrap engines (docs/rest-api.md "Threads").
//
// Every call arrives on the HTTP thread. Anything that touches an engine or the SecurityStore
// is posted to the engine thread (http::EngineExecutor over the transport::Loop); a device
// operation's Completion is kept there until the engine reports the ResponseEvent or
// RequestFailed. The BootstrapConfigStore is thread-safe and used from the HTTP thread.
// Engine events are turned into REST events (http::EventHub) on the engine thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <lwm2m/base/log.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/bootstrap/engine.hpp>
#include <lwm2m/http/api.hpp>
#include <lwm2m/server/engine.hpp>
#include <lwm2m/store/bootstrap_config_store.hpp>
#include <lwm2m/store/event_log.hpp>
#include <lwm2m/store/security_store.hpp>
#include <lwm2m/store/sqlite_stores.hpp>

#include "cluster.hpp"

namespace lwm2m::app {

struct BackendOptions {
    /// Shown as the URI of the bootstrap-server entry of a configuration read back.
    std::string bootstrap_uri = "coaps://127.0.0.1:5784";
    /// ... when the configuration's bootstrap credentials are NoSec (plain CoAP).
    std::string bootstrap_uri_nosec = "coap://127.0.0.1:5783";
    /// Ports of our DM listeners: of a bootstrap outcome's DM credentials, the one whose server
    /// URI names one of these ports is recorded in the SecurityStore (else the first one).
    std::vector<std::uint16_t> dm_ports;
    /// This node's id (GET /api/nodes without a cluster lists only this node).
    std::string node_id;
    /// Records a bootstrap outcome together with the DM credentials it wrote (or, after a failed
    /// Finish, the credentials restored), in one transaction (SqliteStores::
    /// commit_bootstrap_outcome). Engine thread. Empty: the credentials are put() into the
    /// SecurityStore one by one (memory stores).
    std::function<Result<void>(const store::BootstrapOutcome&, std::span<const store::SecurityInfo>,
                               std::string* why)>
        record_outcome;
    /// Appends an event to the durable event log (registrations, de-registrations, bootstrap
    /// sessions; not updates or notifications). Engine thread; must not block (SQLite: queued
    /// to the writer thread). Empty: no event log.
    std::function<void(store::EventRecord)> log_event;
    /// Reads the event log back (GET /api/events/history). HTTP thread; must not wait for the
    /// writer (SQLite: a reader connection of its own, WAL). Empty: 503 history_unavailable.
    std::function<Result<std::vector<store::EventRecord>>(const store::EventQuery&)> read_events;
    /// More counters for the "dtls" section of GET /api/stats (the session take-over's).
    /// Engine thread. Empty: none.
    std::function<std::vector<std::pair<std::string, std::uint64_t>>()> extra_dtls_stats;
};

class ServerBackend final : public http::Backend {
public:
    /// `dm` and `bootstrap_engine` may be null (role turned off). Everything must outlive the
    /// backend; `security` belongs to the engine thread.
    ServerBackend(http::EngineExecutor executor, server::Engine* dm,
                  bootstrap::Engine* bootstrap_engine, store::SecurityStore& security,
                  store::BootstrapConfigStore& configs, std::shared_ptr<http::EventHub> hub,
                  WallClock& wall, Logger& log, BackendOptions options, dm::ObjectRegistry models);

    // ---- http::Backend (HTTP thread)
    void list_clients(const http::ClientQuery& q, http::Completion<http::ClientPage> done) override;
    void get_client(const std::string& endpoint, http::Completion<http::ClientInfo> done) override;
    void delete_client(const std::string& endpoint, http::Completion<http::Done> done) override;
    void device(http::DeviceRequest req, http::Completion<http::DeviceResponse> done) override;
    void list_security(const http::PageQuery& q,
                       http::Completion<http::SecurityPage> done) override;
    void get_security(const std::string& endpoint,
                      http::Completion<store::SecurityInfo> done) override;
    void put_security(store::SecurityInfo info, http::PutMode mode,
                      http::Completion<http::Done> done) override;
    void delete_security(const std::string& endpoint, http::Completion<http::Done> done) override;
    void put_security_batch(std::vector<store::SecurityInfo> infos, bool upsert,
                            http::Completion<std::size_t> done) override;
    void list_bootstrap(const http::PageQuery& q,
                        http::Completion<http::BootstrapPage> done) override;
    void get_bootstrap(const std::string& endpoint,
                       http::Completion<http::BootstrapConfig> done) override;
    void put_bootstrap(http::BootstrapConfig config, http::PutMode mode,
                       http::Completion<http::Done> done) override;
    void delete_bootstrap(const std::string& endpoint, http::Completion<http::Done> done) override;
    void bootstrap_status(const std::string& endpoint,
                          http::Completion<http::BootstrapStatus> done) override;
    [[nodiscard]] std::shared_ptr<const dm::ObjectRegistry> models() const override;
    void add_model(dm::ObjectDef def, bool replace, http::Completion<http::Done> done) override;
    void event_history(store::EventQuery q,
                       http::Completion<std::vector<store::EventRecord>> done) override;
    void stats(http::Completion<http::StatsReport> done) override;

    /// The last known bootstrap outcome of an endpoint (start-up, from the store's outcomes).
    void seed_status(const std::string& endpoint, bool success, std::int64_t unix_s,
                     std::string detail);

    // ---- engine thread
    void on_dm_event(TimePoint now, server::Event&& ev);
    void on_bootstrap_event(TimePoint now, bootstrap::Event&& ev);
    /// Fails every device operation still waiting (shutdown).
    void fail_pending();

    // ---- several nodes (docs/cluster.md)
    /// Routes operations on endpoints this node does not hold through `cluster` and publishes
    /// every REST event to the other nodes. Call before the HTTP server and the engine thread
    /// start; `cluster` must outlive the backend's use (null: one node).
    void set_cluster(ClusterNode* cluster) { cluster_ = cluster; }
    /// ClusterNode::Executor: runs a forwarded operation here (any thread; posts to the engine).
    void execute_forwarded(http::DeviceRequest req, DeviceDone done);
    /// ClusterNode::Lister: this node's own page of GET /api/clients (any thread).
    void list_local(const http::ClientQuery& q, std::function<void(http::ClientPage)> done);
    /// ClusterNode::Remover: DELETE /api/clients/{ep} asked by another node (any thread).
    void remove_forwarded(std::string endpoint, DeviceDone done);
    /// Another node published this event (subscriber thread): a registration there means the
    /// device is no longer ours.
    void on_remote_event(const http::Event& e);
    /// The registrations this node's engine holds (any thread).
    [[nodiscard]] std::uint64_t registration_count() const noexcept {
        return registrations_.load(std::memory_order_relaxed);
    }
    void list_nodes(http::Completion<std::vector<http::NodeInfo>> done) override;

private:
    struct Pending {
        DeviceDone done;
        std::string path;
    };
    void start_device(TimePoint now, http::DeviceRequest req, DeviceDone done);
    /// A store's failure as the API's 500 ("<what> failed"), logged with its cause (`detail`:
    /// the store's own words, never a secret).
    http::ApiError store_failed(std::string_view what, std::error_code ec,
                                std::string_view detail = {});
    /// Engine thread: whether this node handles `endpoint`'s traffic (see owned_).
    [[nodiscard]] bool holds(const std::string& endpoint) const;
    /// Stores the DM credential meant for this server with an outcome row; remembers the
    /// credentials it replaces under `session`. Returns false when it could not be stored.
    bool record_credentials(std::uint64_t session, const std::string& endpoint,
                            const std::vector<store::DmCredential>& creds);
    Result<void> record(const store::BootstrapOutcome& outcome,
                        std::span<const store::SecurityInfo> infos, std::string* why);
    void set_status(const std::string& endpoint, const std::string& state, std::int64_t at,
                    std::string detail);
    void publish(http::EventType type, const std::string& endpoint, nlohmann::json data);

    http::EngineExecutor ex_;
    server::Engine* dm_;
    bootstrap::Engine* bs_;
    store::SecurityStore& security_;
    store::BootstrapConfigStore& configs_;
    std::shared_ptr<http::EventHub> hub_;
    WallClock& wall_;
    Logger& log_;
    BackendOptions options_;

    // engine thread
    std::unordered_map<server::RequestId, Pending> pending_;
    std::unordered_map<server::ObservationId, std::string> observation_paths_;
    /// Bootstrap sessions whose new DM credentials were recorded before Finish: the credentials
    /// they replaced (restored when the device refuses Finish and rolls back).
    std::unordered_map<std::uint64_t, std::optional<store::SecurityInfo>> replaced_;
    /// With a cluster: the endpoints that registered or updated at this node since it started
    /// (restored registrations are not listed: the store's owner decides for them), minus
    /// those another node announced a registration or update of.
    std::unordered_set<std::string> owned_;

    ClusterNode* cluster_ = nullptr;
    std::atomic<std::uint64_t> registrations_{0};

    mutable std::mutex mutex_; // guards status_ and models_
    std::map<std::string, http::BootstrapStatus, std::less<>> status_;
    std::shared_ptr<const dm::ObjectRegistry> models_;
};

} // namespace lwm2m::app
