// The REST API of lwm2m-server (docs/rest-api.md, docs/openapi.json): route handlers that parse
// and validate HTTP input, call a Backend, and format its answers.
//
// The Backend is what the server program implements on top of its engines and stores. Every
// call is asynchronous: it receives a Completion and answers it once, from any thread (typically
// the engine thread after a CoAP round trip). Backend calls are made on the HTTP thread; an
// implementation that must touch a single-threaded engine posts to it (EngineExecutor, bridge.hpp)
// and never blocks. Values handed to a Completion are formatted on the HTTP thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/histogram.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/object_def.hpp>
#include <lwm2m/dm/path.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/format/content_format.hpp>
#include <lwm2m/http/bridge.hpp>
#include <lwm2m/http/events.hpp>
#include <lwm2m/http/router.hpp>
#include <lwm2m/store/event_log.hpp>
#include <lwm2m/store/security_info.hpp>

namespace lwm2m::http {

/// The answer of an operation without a body (204, or 201 for creations).
struct Done {};

/// Paging of list routes (?offset=&limit=).
struct PageQuery {
    std::size_t offset = 0;
    std::size_t limit = 100;
};

// ---- clients ------------------------------------------------------------------------------------

/// GET /api/clients filters; empty / nullopt fields do not filter.
struct ClientQuery {
    PageQuery page;
    std::string endpoint_contains;                    ///< ?ep=  (substring)
    std::string endpoint_prefix;                      ///< ?ep_prefix=
    std::optional<std::string> binding;               ///< ?binding=U (exact)
    std::optional<store::SecurityMode> security_mode; ///< ?security=psk
};

/// One entry of a registration's object links (TS 1.1 §6.2.1.1: </3/0>, </1>;ver=1.1).
struct ObjectLink {
    dm::Path path;
    std::vector<std::pair<std::string, std::string>> attributes; ///< e.g. {"ver", "1.1"}
};

struct ClientInfo {
    std::string endpoint;
    std::string registration_id; ///< the location the server assigned (/rd/<id>)
    std::string lwm2m_version = "1.1";
    std::string binding = "U";
    std::uint32_t lifetime = 86400;
    std::optional<std::string> sms_number;
    std::string address; ///< "192.0.2.1:5683" / "[2001:db8::1]:5684"
    store::SecurityMode security_mode = store::SecurityMode::nosec;
    bool queue_mode = false;
    bool sleeping = false;
    std::int64_t registered_at = 0; ///< Unix seconds
    std::int64_t last_update = 0;   ///< Unix seconds
    std::string root_path = "/";    ///< alternate path (rt="oma.lwm2m")
    std::vector<ObjectLink> objects;
    /// Set when the answer comes from the shared store's record because another node holds the
    /// registration (docs/cluster.md "What a client of the REST API sees"): that node's id
    /// (empty when the store records none).
    std::optional<std::string> node;
};

struct ClientPage {
    std::vector<ClientInfo> items;
    std::size_t total = 0; ///< matches before paging
    /// Several nodes (docs/cluster.md "Listing the clients"): some node's page is missing
    /// (named in missing_nodes; none named: the node list could not be read).
    bool partial = false;
    std::vector<std::string> missing_nodes;
};

// ---- operations on a registered client ----------------------------------------------------------

enum class Operation : std::uint8_t {
    read,              ///< TS 1.1 §6.3.1
    discover,          ///< §6.3.2
    write_replace,     ///< §6.3.3 (PUT)
    write_partial,     ///< §6.3.3 (POST, partial update)
    execute,           ///< §6.3.5
    create,            ///< §6.3.6
    delete_,           ///< §6.3.7
    write_attributes,  ///< §6.3.4
    observe,           ///< §6.4.1
    cancel_observe,    ///< §6.4.3
    read_composite,    ///< §6.3.8
    write_composite,   ///< §6.3.9
    observe_composite, ///< §6.4.4
    cancel_observe_composite,
};

[[nodiscard]] std::string_view to_string(Operation op) noexcept;

/// Write-Attributes (TS 1.1 §5.1.2; 1.2 adds edge, con, hqmax). `clear` lists attributes to
/// remove (sent without value).
struct NotificationAttributes {
    std::optional<std::uint32_t> pmin, pmax, epmin, epmax, hqmax;
    std::optional<double> gt, lt, st;
    std::optional<bool> edge, con;
    std::vector<std::string> clear;
};

struct DeviceRequest {
    Operation op = Operation::read;
    std::string endpoint;
    std::vector<dm::Path> paths; ///< one, except for the composite operations
    /// write_replace, write_partial, create (an instance at /oid/iid; see instance_id_given).
    std::optional<dm::Content> content;
    bool instance_id_given = true;   ///< create: false when the client is to pick the id
    std::vector<dm::Record> records; ///< write_composite
    std::optional<format::ContentFormat> format; ///< requested content format (?format=)
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};
    std::string execute_arguments;     ///< execute (TS 1.1 §5.4.5 argument list)
    NotificationAttributes attributes; ///< write_attributes
    bool active_cancel = false;        ///< cancel_observe: send a GET with Observe=1 (else forget)
};

struct DeviceResponse {
    std::uint8_t code = 0x45; ///< the CoAP response code (class << 5 | detail); 0x45 = 2.05
    std::optional<dm::Content> content;          ///< read, observe
    std::vector<dm::Record> records;             ///< composite read/observe
    std::string links;                           ///< discover: CoRE Link Format text
    std::optional<format::ContentFormat> format; ///< the response's content format
    std::chrono::microseconds rtt{0};
    std::string location;   ///< create: the new instance's path ("/3303/1")
    std::string diagnostic; ///< an error response's diagnostic payload (text)
};

// ---- credentials and bootstrap configurations ---------------------------------------------------

struct SecurityPage {
    std::vector<store::SecurityInfo> items;
    std::size_t total = 0;
};

/// POST creates (409 when it exists), PUT replaces (404 when it does not).
enum class PutMode : std::uint8_t { create, replace };

/// A Security Object instance to provision (Object 0, TS 1.1 §E.1).
struct BootstrapSecurity {
    std::optional<std::uint16_t> instance_id;
    std::string uri; ///< LwM2M Server URI, "coaps://host:5684"
    bool bootstrap_server = false;
    store::SecurityMode mode = store::SecurityMode::nosec;
    Bytes psk_identity;
    SecretBytes psk_key;
    Bytes public_key;        ///< rpk: client public key (SPKI DER); x509: client certificate DER
    SecretBytes private_key; ///< rpk / x509: the client's private key
    Bytes server_public_key; ///< rpk: server public key; x509: server certificate DER
    std::optional<std::uint16_t> short_server_id;
    std::optional<std::uint32_t> client_hold_off;
    /// Generate the PSK instead of giving it: key of `psk_key_bytes` random bytes; identity
    /// the given one or the endpoint name. The bootstrap server records the result for the DM
    /// server (store::SecurityInfo) in the same transaction.
    struct Generate {
        std::size_t psk_key_bytes = 16;
        /// Length of the generated printable identity (the given psk_identity, if any, is its
        /// prefix; at least 16 random characters follow). 16..128.
        std::size_t psk_identity_bytes = 32;
    };
    std::optional<Generate> generate;
};

/// A Server Object instance (Object 1).
struct BootstrapServer {
    std::optional<std::uint16_t> instance_id;
    std::uint16_t short_server_id = 1;
    std::uint32_t lifetime = 86400;
    std::string binding = "U";
    std::optional<std::uint32_t> default_min_period, default_max_period, disable_timeout;
    bool notification_storing = true;
};

/// An Access Control Object instance (Object 2).
struct BootstrapAcl {
    std::optional<std::uint16_t> instance_id;
    std::uint16_t object_id = 0;
    std::uint16_t object_instance_id = 0;
    /// short server id -> rights bits (1 read, 2 write, 4 execute, 8 delete, 16 create);
    /// ssid 0 is the default for servers without an entry.
    std::vector<std::pair<std::uint16_t, std::uint8_t>> acl;
    std::uint16_t owner = 0;
};

struct BootstrapConfig {
    std::string endpoint;
    /// Bootstrap-Delete targets, in order ("/" allowed); nullopt: the default, "/" (an
    /// empty list deletes nothing).
    std::optional<std::vector<dm::Path>> delete_paths;
    std::vector<BootstrapSecurity> security;
    std::vector<BootstrapServer> servers;
    std::vector<BootstrapAcl> acls;
    std::optional<format::ContentFormat> format; ///< for the Bootstrap-Writes
};

struct BootstrapPage {
    std::vector<BootstrapConfig> items;
    std::size_t total = 0;
};

struct BootstrapStatus {
    std::string state = "never";             ///< "never", "in_progress", "finished", "failed"
    std::optional<std::int64_t> started_at;  ///< Unix seconds
    std::optional<std::int64_t> finished_at; ///< Unix seconds
    std::string detail;                      ///< failure reason (never secrets)
};

/// What GET /api/stats shows: the engines' counters (name, value; in the order given) and
/// latency histograms (cumulative since start, in the order given).
struct StatsReport {
    std::vector<std::pair<std::string, std::uint64_t>> dm;
    std::vector<std::pair<std::string, std::uint64_t>> bootstrap;
    std::vector<std::pair<std::string, std::uint64_t>> dtls; ///< the DM listeners' sessions
    std::vector<std::pair<std::string, LatencyHistogram>> latency;
};

/// One lwm2m-server node sharing the store (GET /api/nodes, docs/cluster.md).
struct NodeInfo {
    std::string id;
    bool alive = true;               ///< its heartbeat is current
    bool self = false;               ///< the node answering
    std::int64_t last_seen = 0;      ///< Unix ms of its last heartbeat
    std::uint64_t registrations = 0; ///< registrations it holds (its last heartbeat)
};

// ---- the backend
// ---------------------------------------------------------------------------------

/// Errors a Backend reports through Completion::fail use these codes (the API passes them on):
/// 404 unknown_client / not_found, 409 conflict, 504 device_timeout, 503 client_sleeping,
/// 502 device_error (DTLS failure, reset), 400 bad_request.
class Backend {
public:
    virtual ~Backend() = default;

    virtual void list_clients(const ClientQuery& q, Completion<ClientPage> done) = 0;
    virtual void get_client(const std::string& endpoint, Completion<ClientInfo> done) = 0;
    /// Removes the registration (the device is not contacted).
    virtual void delete_client(const std::string& endpoint, Completion<Done> done) = 0;
    /// One operation on a registered client (a CoAP round trip: answer when the device did).
    virtual void device(DeviceRequest req, Completion<DeviceResponse> done) = 0;

    virtual void list_security(const PageQuery& q, Completion<SecurityPage> done) = 0;
    virtual void get_security(const std::string& endpoint,
                              Completion<store::SecurityInfo> done) = 0;
    /// `info` has passed store::validate().
    virtual void put_security(store::SecurityInfo info, PutMode mode, Completion<Done> done) = 0;
    virtual void delete_security(const std::string& endpoint, Completion<Done> done) = 0;
    /// Bulk provisioning: stores every record or none (`infos` have passed store::validate()
    /// and name distinct endpoints). `upsert` false: 409 when an endpoint already has
    /// credentials. Answers how many were stored.
    virtual void put_security_batch(std::vector<store::SecurityInfo> infos, bool upsert,
                                    Completion<std::size_t> done) = 0;

    virtual void list_bootstrap(const PageQuery& q, Completion<BootstrapPage> done) = 0;
    virtual void get_bootstrap(const std::string& endpoint, Completion<BootstrapConfig> done) = 0;
    virtual void put_bootstrap(BootstrapConfig config, PutMode mode, Completion<Done> done) = 0;
    virtual void delete_bootstrap(const std::string& endpoint, Completion<Done> done) = 0;
    virtual void bootstrap_status(const std::string& endpoint,
                                  Completion<BootstrapStatus> done) = 0;

    /// The object models in use, as an immutable snapshot. Called on the HTTP thread: must be
    /// thread-safe and cheap (return a shared pointer, replace it on add_model).
    [[nodiscard]] virtual std::shared_ptr<const dm::ObjectRegistry> models() const = 0;
    /// Adds (or, with `replace`, replaces) a model parsed from an uploaded DDF file.
    virtual void add_model(dm::ObjectDef def, bool replace, Completion<Done> done) = 0;

    /// The persisted event history (store::EventLog): at most `q.limit` events with seq >
    /// `q.after_seq` (of `q.endpoint` only, when set), oldest first. The API asks for one event
    /// more than the page to learn whether more follow. Must not block the HTTP thread on
    /// writes. Errors: 503 history_unavailable (no event log), 500 on a store failure.
    virtual void event_history(store::EventQuery q,
                               Completion<std::vector<store::EventRecord>> done) = 0;

    /// Counters and latency histograms of the engines (a snapshot taken on the engine thread).
    virtual void stats(Completion<StatsReport> done) = 0;

    /// The server nodes sharing this server's store, sorted by id (a single node: itself).
    /// Errors: 503 store_unavailable (the shared store cannot be read).
    virtual void list_nodes(Completion<std::vector<NodeInfo>> done) = 0;
};

struct ApiInfo {
    std::string product = "lwm2m-cpp";
    std::string version = "0.0.0";
    std::vector<std::string> lwm2m_versions{"1.0", "1.1", "1.2"};
};

struct ApiOptions {
    ApiInfo info;
    std::chrono::milliseconds default_timeout{std::chrono::seconds(5)}; ///< device operations
    std::chrono::milliseconds max_timeout{std::chrono::seconds(300)};
    /// Added to a request's device timeout for the server's own 504 (Request::answer_within).
    std::chrono::milliseconds answer_margin{std::chrono::seconds(2)};
    /// Answer limit for backend calls without a device round trip.
    std::chrono::milliseconds backend_timeout{std::chrono::seconds(10)};
    std::size_t max_page = 1000; ///< largest `limit`
};

/// Registers every route of docs/openapi.json on `router` (GET /api/health is public).
/// `backend` and `events` must outlive the router's use.
void register_api(Router& router, Backend& backend, std::shared_ptr<EventHub> events,
                  ApiOptions options = {});

/// The JSON forms used by the routes (exposed for tests and for the server program's logs).
[[nodiscard]] nlohmann::json to_json(const ClientInfo& c);
/// Never contains key bytes: set keys read "<set>".
[[nodiscard]] nlohmann::json to_json(const store::SecurityInfo& s);
/// Never contains key bytes.
[[nodiscard]] nlohmann::json to_json(const BootstrapConfig& c);
[[nodiscard]] nlohmann::json to_json(const BootstrapStatus& s);
[[nodiscard]] nlohmann::json to_json(const DeviceResponse& r);
[[nodiscard]] nlohmann::json to_json(const dm::ObjectDef& d, bool with_resources);
/// One node of GET /api/nodes: id, alive, self, last_seen (Unix ms), registrations.
[[nodiscard]] nlohmann::json to_json(const NodeInfo& n);
/// One event of GET /api/events/history: seq, time (Unix ms), endpoint, kind, detail.
[[nodiscard]] nlohmann::json to_json(const store::EventRecord& e);
/// Parses a security body; `path_endpoint` (PUT) must match a body "endpoint" when both are
/// given. Runs store::validate. Errors: ApiError 400 with a message that never holds key bytes.
[[nodiscard]] tl::expected<store::SecurityInfo, ApiError>
security_from_json(const nlohmann::json& j, const std::string& path_endpoint);
/// Parses and validates a bootstrap configuration body.
[[nodiscard]] tl::expected<BootstrapConfig, ApiError>
bootstrap_from_json(const nlohmann::json& j, const std::string& path_endpoint);
/// "tlv", "senml-json", "senml-cbor", "lwm2m-json", "lwm2m-cbor", "text", "opaque".
[[nodiscard]] std::optional<format::ContentFormat> format_from_name(std::string_view name) noexcept;
[[nodiscard]] std::string_view format_name(format::ContentFormat f) noexcept;

} // namespace lwm2m::http
