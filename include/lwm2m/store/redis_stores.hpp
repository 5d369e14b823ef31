// Redis (Cluster) implementations of the server-side stores: registrations and observations,
// security credentials, the event log. Design, keys, atomicity and durability: docs/store.md
// "Redis". The cluster client is redis_cluster.hpp; the bootstrap configurations are
// redis_bootstrap_config_store.hpp (library lwm2m_store_bootstrap_redis).
//
// Keys (one device's data under one hash tag, so in one slot on one primary):
//
//   <prefix>:{<ep>}:reg     string: the RegistrationRecord (binary, format version byte)
//   <prefix>:{<ep>}:obs     hash: observation id (decimal) -> ObservationRecord (binary)
//   <prefix>:{<ep>}:sec     string: the SecurityInfo, PSK key sealed (SecretBox)
//   <prefix>:{<ep>}:bscfg   string: the sealed bootstrap configuration
//   <prefix>:{<ep>}:node    string: the id of the server node that last committed a
//                           Register/Update of the endpoint (its owner, docs/cluster.md)
//   {<prefix>:events}:log   stream of events, {<prefix>:events}:seq its sequence counter
//   <prefix>:{dtls:<addr>}:s / :hw / :seq  a DTLS session's sealed state, read high-water
//                           mark and write-sequence counter, by client address (TTLs)
//   <prefix>:node:<id>      string with a TTL: a live server node's heartbeat
//   <prefix>:nodes          hash: node id -> last heartbeat (Unix ms)
//   <prefix>:cred:psk:<hex>  string: the endpoint a PSK identity is bound to (cross-node
//   <prefix>:cred:rpk:<hex>  uniqueness; rpk: SHA-256 of the SPKI; x509: the certificate name)
//   <prefix>:cred:x509:<hex>
//   channels <prefix>:bus:node:<id> (requests to / replies for one node), <prefix>:bus:events,
//   <prefix>:bus:changes (credential / bootstrap configuration changes, docs/cluster.md)
//
// Threading: RedisStores and its stores may be used from several threads (the cluster client
// serialises its calls); the registration store is meant for one writer thread
// (RegistrationCommitter), the security store for the loop thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/store/event_log.hpp>
#include <lwm2m/store/memory_stores.hpp>
#include <lwm2m/store/redis_cluster.hpp>
#include <lwm2m/store/registration_store.hpp>
#include <lwm2m/store/secret_box.hpp>
#include <lwm2m/store/security_store.hpp>

namespace lwm2m::store {

/// The binary encodings of the stored records (format version byte 1, then the fields; see
/// docs/store.md "Redis"). Decoding errors: Errc::corrupt.
namespace redis_codec {
inline constexpr std::uint8_t version = 1;
[[nodiscard]] std::string encode(const RegistrationRecord& r);
[[nodiscard]] Result<RegistrationRecord> decode_registration(std::string_view data);
[[nodiscard]] std::string encode(const ObservationRecord& o);
[[nodiscard]] Result<ObservationRecord> decode_observation(std::string_view data);
} // namespace redis_codec

/// The key names (docs/store.md "Redis").
struct RedisKeys {
    std::string prefix = "lwm2m";
    [[nodiscard]] std::string reg(std::string_view ep) const;
    [[nodiscard]] std::string obs(std::string_view ep) const;
    [[nodiscard]] std::string sec(std::string_view ep) const;
    [[nodiscard]] std::string bscfg(std::string_view ep) const;
    /// The owner key of an endpoint (same slot as its registration).
    [[nodiscard]] std::string node(std::string_view ep) const;
    /// A server node's heartbeat key ("<prefix>:node:<id>", with a TTL).
    [[nodiscard]] std::string node_alive(std::string_view id) const;
    /// The hash of every node seen: id -> last heartbeat (Unix ms).
    [[nodiscard]] std::string nodes() const;
    /// The pub/sub channel of one node (forwarded requests to it, replies for it).
    [[nodiscard]] std::string node_channel(std::string_view id) const;
    /// The pub/sub channel every node publishes its REST events on.
    [[nodiscard]] std::string event_channel() const;
    /// The pub/sub channel on which every node announces the endpoints whose credentials or
    /// bootstrap configuration it changed (encode_change()).
    [[nodiscard]] std::string change_channel() const;
    /// The cross-node uniqueness key of `info`'s credential: `<prefix>:cred:psk:<hex of the
    /// identity>`, `<prefix>:cred:rpk:<hex SHA-256 of the SPKI DER>`, `<prefix>:cred:x509:<hex
    /// of the expected certificate name>`; nullopt for nosec.
    [[nodiscard]] std::optional<std::string> credential(const SecurityInfo& info) const;
    /// The location index (`<prefix>:loc:{<location>}` -> endpoint, with a TTL): a hint that
    /// find_by_location() checks against the registration record.
    [[nodiscard]] std::string loc(std::string_view location) const;
    [[nodiscard]] std::string events() const;
    [[nodiscard]] std::string event_seq() const;
    /// DTLS session continuity (docs/cluster-nodes.md): the sealed SessionState of the session
    /// of client address `peer` ("1.2.3.4:5684"), its persisted read high-water mark and its
    /// write-sequence reservation counter, all three under the hash tag {dtls:<peer>} (one
    /// slot: one primary serves a look-up).
    [[nodiscard]] std::string dtls_session(std::string_view peer) const;
    [[nodiscard]] std::string dtls_high_water(std::string_view peer) const;
    [[nodiscard]] std::string dtls_seq(std::string_view peer) const;
    /// The SCAN pattern of one kind of per-endpoint key ("reg", "sec", "bscfg"), the prefix's
    /// glob characters escaped.
    [[nodiscard]] std::string pattern(std::string_view kind) const;
    /// The endpoint of a per-endpoint key (the text between the first '{' after the prefix and
    /// the last '}'), nullopt when `key` is not one.
    [[nodiscard]] std::optional<std::string> endpoint_of(std::string_view key) const;
};

/// What a change notice on RedisKeys::change_channel() names.
enum class ChangeKind : char { security = 's', bootstrap_config = 'b' };
struct ChangeNotice {
    ChangeKind kind = ChangeKind::security;
    std::string endpoint;
};
/// A notice's payload: the kind's character, then the endpoint.
[[nodiscard]] std::string encode_change(ChangeKind kind, std::string_view endpoint);
/// nullopt for an empty payload or an unknown kind.
[[nodiscard]] std::optional<ChangeNotice> decode_change(std::string_view payload);
/// PUBLISHes a change notice (after the change is durable). Errors: Errc::unavailable,
/// Errc::io_error.
[[nodiscard]] Result<void> publish_change(redis::ClusterClient& client, const RedisKeys& keys,
                                          ChangeKind kind, std::string_view endpoint);

/// RegistrationStore in Redis. commit(): each endpoint's changes run as ONE Lua script on its
/// slot (atomic for that endpoint), each registration written also refreshes its location index
/// key (RedisKeys::loc, outside the script: a hint), the endpoints are pipelined, and each touched
/// primary gets WAIT (ClusterOptions::wait_replicas) before commit() returns. Re-applying a batch
/// is idempotent. Errors: store::Errc::unavailable (cluster unreachable past the retry deadline,
/// writes not acknowledged by a replica), Errc::corrupt (unreadable records), Errc::io_error
/// (an unexpected error reply).
class RedisRegistrationStore final : public RegistrationStore {
public:
    RedisRegistrationStore(redis::ClusterClient& client, RedisKeys keys)
        : client_(&client)
        , keys_(std::move(keys)) {}

    /// Per endpoint all or nothing; across endpoints a failed commit may leave some endpoints
    /// applied (docs/store.md "Redis": the engine's on_persist_failed makes the store agree).
    [[nodiscard]] Result<void> commit(std::span<const Change> batch) override;
    /// SCAN of every primary for the registration keys, the records fetched in pipelines of
    /// 512 endpoints. Registrations first, then observations.
    [[nodiscard]] Result<void>
    load(const std::function<void(RegistrationRecord&&)>& on_registration,
         const std::function<void(ObservationRecord&&)>& on_observation) const override;
    [[nodiscard]] Result<std::optional<RegistrationRecord>>
    find(std::string_view endpoint) const override;
    /// The location index key (written with every registration, expiring lifetime + 1 h after
    /// it) names the endpoint; its record must still carry `location`. Two round trips.
    [[nodiscard]] Result<std::optional<RegistrationRecord>>
    find_by_location(std::string_view location) const override;
    /// find() of many endpoints in one pipeline (all primaries in parallel): the answers in the
    /// order of `endpoints`. Errors: as find().
    [[nodiscard]] Result<std::vector<std::optional<RegistrationRecord>>>
    find_many(std::span<const std::string> endpoints) const;
    /// find_by_location() of many locations in two pipelines. Errors: as find().
    [[nodiscard]] Result<std::vector<std::optional<RegistrationRecord>>>
    find_many_by_location(std::span<const std::string> locations) const;
    /// SCAN count (O(registrations); not on the hot path).
    [[nodiscard]] Result<std::size_t> size() const override;
    /// The node that last committed a Register/Update of `endpoint` (the `node` key, written in
    /// the same script as the registration), nullopt when none. Errors: Errc::unavailable,
    /// Errc::io_error.
    [[nodiscard]] Result<std::optional<std::string>>
    owner(std::string_view endpoint) const override;
    /// This server node's id, written as the owner of every registration it commits (empty:
    /// none written). Set before the first commit.
    void set_node_id(std::string id) { node_id_ = std::move(id); }
    /// Observations of one endpoint, by id. Errors: as load().
    [[nodiscard]] Result<std::vector<ObservationRecord>>
    observations(std::string_view endpoint) const;
    /// observations() of many endpoints in one pipeline, in the order of `endpoints`.
    [[nodiscard]] Result<std::vector<std::vector<ObservationRecord>>>
    observations_many(std::span<const std::string> endpoints) const;

private:
    redis::ClusterClient* client_;
    RedisKeys keys_;
    std::string node_id_;
};

/// SecurityStore in Redis: every record in memory (loaded at open: SCAN), written through (the
/// key is SET before the index changes). PSK keys sealed with the SecretBox bound to
/// "security/<endpoint>/psk_key", as in SQLite.
///
/// Several server nodes (docs/cluster.md "Credentials"): a credential is bound to one endpoint
/// across nodes by its uniqueness key (RedisKeys::credential), claimed before the record is
/// written (pending, with a TTL), confirmed (PERSIST) after it and released when the endpoint's
/// credential changes or is removed; every change is announced on RedisKeys::change_channel()
/// after the write is durable. Other nodes' changes reach this node's index through fetch()
/// (any thread) and apply() (the loop thread), or fetch_all() and apply_all() after a gap.
class RedisSecurityStore final : public SecurityStore {
public:
    /// How long a claim of a credential stays pending (a node that died between the claim and
    /// the record write does not block the credential longer).
    static constexpr std::chrono::milliseconds claim_ttl{30000};

    /// Loads every record and makes sure each one's uniqueness key exists (SET NX: records
    /// written before the keys existed). `client` and `box` must outlive the store. Errors:
    /// Errc::decrypt_failed (another key file), Errc::corrupt, Errc::unavailable.
    [[nodiscard]] static Result<std::unique_ptr<RedisSecurityStore>>
    open(redis::ClusterClient& client, const SecretBox& box, RedisKeys keys);

    /// Errors: lwm2m::Errc::invalid_argument, Errc::conflict (the credential is bound to
    /// another endpoint here or, by its uniqueness key, at another node; nothing written),
    /// Errc::unavailable / io_error (the store is unchanged; on unavailable, `why` gets the
    /// cluster client's last error).
    [[nodiscard]] Result<void> put(SecurityInfo info, std::string* why = nullptr) override;
    /// Errors: Errc::unavailable / io_error (the store is unchanged).
    [[nodiscard]] Result<bool> remove(std::string_view endpoint) override;
    [[nodiscard]] const SecurityInfo* find(std::string_view endpoint) const override {
        return cache_.find(endpoint);
    }
    [[nodiscard]] const SecurityInfo* find_by_psk_identity(BytesView identity) const override {
        return cache_.find_by_psk_identity(identity);
    }
    [[nodiscard]] const SecurityInfo* find_by_rpk(BytesView spki) const override {
        return cache_.find_by_rpk(spki);
    }
    [[nodiscard]] const SecurityInfo* find_by_x509_cn(std::string_view cn) const override {
        return cache_.find_by_x509_cn(cn);
    }
    void for_each(const std::function<void(const SecurityInfo&)>& fn) const override {
        cache_.for_each(fn);
    }
    [[nodiscard]] std::size_t size() const override { return cache_.size(); }

    /// The record of `endpoint` as Redis holds it now (nullopt: none). Any thread (it touches
    /// only the client and the SecretBox, which serialise their calls). Errors: as open().
    [[nodiscard]] Result<std::optional<SecurityInfo>> fetch(std::string_view endpoint) const;
    /// Every record (SCAN). Any thread. Errors: as open().
    [[nodiscard]] Result<std::vector<SecurityInfo>> fetch_all() const;
    /// The index's thread: makes the index hold `info` for `endpoint` (nullopt: nothing), as
    /// fetch() read it. Entries of other endpoints holding the same credential are dropped
    /// (Redis says the credential moved; their own notices follow). Returns whether the index
    /// changed.
    bool apply(std::string_view endpoint, std::optional<SecurityInfo> info);
    /// The index's thread: the index becomes `infos` (fetch_all()); returns how many endpoints
    /// changed (added, replaced or removed).
    std::size_t apply_all(std::vector<SecurityInfo> infos);
    /// Change notices that could not be published (the change itself is stored; other nodes
    /// see it at their next resynchronisation).
    [[nodiscard]] std::uint64_t publish_failures() const noexcept { return publish_failures_; }
    /// Tests only: runs in put() between the record's write and its claim's confirmation (the
    /// window where a failover or an ended TTL can lose a pending claim).
    void set_before_confirm_for_test(std::function<void()> f) { before_confirm_ = std::move(f); }

private:
    RedisSecurityStore(redis::ClusterClient& client, const SecretBox& box, RedisKeys keys)
        : client_(&client)
        , box_(&box)
        , keys_(std::move(keys)) {}
    [[nodiscard]] Result<void> put_checked(SecurityInfo info, std::string* why);
    /// Binds `key` to `endpoint` (claims pending): 1 newly claimed, 2 already ours; Errc::
    /// conflict when another endpoint holds it (a confirmed binding whose record no longer
    /// carries the credential is taken over).
    [[nodiscard]] Result<int> claim(const std::string& key, const std::string& endpoint);
    void announce(std::string_view endpoint);
    redis::ClusterClient* client_;
    const SecretBox* box_;
    RedisKeys keys_;
    MemorySecurityStore cache_;
    std::uint64_t publish_failures_ = 0;
    std::function<void()> before_confirm_;
};

/// EventLog in one Redis stream (XADD MAXLEN ~ max_rows): seq from an INCR counter in the same
/// slot, both in one Lua script; read() shows only the newest max_rows (seq > counter -
/// max_rows), so the bound is exact for readers. A retried append after a lost reply may store
/// an event twice (with two seqs).
class RedisEventLog final : public EventLog {
public:
    RedisEventLog(redis::ClusterClient& client, RedisKeys keys, std::size_t max_rows = 100000)
        : client_(&client)
        , keys_(std::move(keys))
        , max_rows_(max_rows == 0 ? 1 : max_rows) {}
    /// Errors: Errc::unavailable, Errc::io_error.
    [[nodiscard]] Result<std::uint64_t> append(EventRecord event) override;
    /// Errors: Errc::unavailable, Errc::io_error, Errc::corrupt.
    [[nodiscard]] Result<std::vector<EventRecord>> read(const EventQuery& query) const override;

private:
    redis::ClusterClient* client_;
    RedisKeys keys_;
    std::size_t max_rows_;
};

/// One server node as the node list shows it (docs/cluster.md "Liveness").
struct NodeStatus {
    std::string id;
    bool alive = false;              ///< its heartbeat key exists (it beat within the TTL)
    std::int64_t last_seen = 0;      ///< Unix ms of its last heartbeat
    std::uint64_t registrations = 0; ///< as its last heartbeat said (0 when not alive)
};

/// Liveness of the server nodes sharing a cluster: each node SETs `<prefix>:node:<id>` (value:
/// its registration count) with a TTL every heartbeat and records the time in the
/// `<prefix>:nodes` hash; a node is alive while its key exists. Nodes unseen for
/// `forget_after` leave the hash when the list is read. Errors of every call:
/// Errc::unavailable, Errc::io_error (an unexpected reply).
class RedisNodeRegistry {
public:
    RedisNodeRegistry(redis::ClusterClient& client, RedisKeys keys,
                      std::chrono::milliseconds ttl = std::chrono::milliseconds(3000),
                      std::chrono::milliseconds forget_after = std::chrono::hours(24))
        : client_(&client)
        , keys_(std::move(keys))
        , ttl_(ttl)
        , forget_after_(forget_after) {}
    /// Marks `id` alive for the TTL, `registrations` held, at `now_ms` (Unix ms).
    [[nodiscard]] Result<void> heartbeat(std::string_view id, std::uint64_t registrations,
                                         std::int64_t now_ms);
    /// Whether `id`'s heartbeat key exists.
    [[nodiscard]] Result<bool> alive(std::string_view id);
    /// Removes `id`'s heartbeat (a clean shutdown: the others see it gone at once).
    [[nodiscard]] Result<void> leave(std::string_view id);
    /// Every node seen within `forget_after`, sorted by id.
    [[nodiscard]] Result<std::vector<NodeStatus>> list(std::int64_t now_ms);

private:
    redis::ClusterClient* client_;
    RedisKeys keys_;
    std::chrono::milliseconds ttl_;
    std::chrono::milliseconds forget_after_;
};

/// Removes the registrations nobody serves any more (docs/cluster-nodes.md "Stale records"): a
/// record past updated_at + lifetime + `grace` whose owner node is dead (no heartbeat key) or
/// unrecorded. No engine would take such a record over (read-through refuses an expired one),
/// but nothing else deletes it. The work is bounded per step(): one SCAN page per primary,
/// then the records and owners of the registration keys found in one pipeline, the owners'
/// liveness in one, and the stale ones removed by a script that deletes the registration, its
/// observations and its owner key only while the record is still the one read (a device that
/// registered again meanwhile is left alone). One thread at a time.
class RedisRegistrationSweeper {
public:
    struct Step {
        std::size_t examined = 0; ///< registration records read
        std::size_t removed = 0;
        bool cycle_done = false; ///< the scan of every primary ended (the next step restarts it)
    };
    RedisRegistrationSweeper(redis::ClusterClient& client, RedisKeys keys,
                             std::chrono::seconds grace = std::chrono::seconds(60),
                             std::size_t page = 256)
        : client_(&client)
        , keys_(std::move(keys))
        , grace_(grace)
        , page_(page == 0 ? 1 : page) {}
    /// One bounded step at `now_unix_s`. Errors: Errc::unavailable, Errc::io_error (the scan
    /// restarts at the next step).
    [[nodiscard]] Result<Step> step(std::int64_t now_unix_s);

private:
    redis::ClusterClient* client_;
    RedisKeys keys_;
    std::chrono::seconds grace_;
    std::size_t page_;
    redis::ScanState scan_;
};

struct RedisStoresOptions {
    redis::ClusterOptions cluster;
    /// Key prefix: several deployments (or tests) can share one cluster.
    std::string prefix = "lwm2m";
    std::size_t event_log_max_rows = 100000;
    /// This server node's id (RedisRegistrationStore::set_node_id); empty: no owner written.
    std::string node_id;
};

/// The Redis stores of one deployment: two cluster clients (one for the writer thread's
/// registrations and events, one for the loop thread's credentials and the configurations), the
/// SecretBox of `key_file` (32 bytes, 0600, created when missing; every node of a deployment
/// needs the same file).
class RedisStores {
public:
    /// The URL's user info, when it has one, is the AUTH of both clients (instead of
    /// `options.cluster.auth`). Errors: lwm2m::Errc::invalid_argument (bad URL: `why` says why;
    /// bad key file), Errc::unavailable (the cluster cannot be reached, or refused the AUTH:
    /// `why` names host:port), the errors of RedisSecurityStore::open and
    /// SecretBox::load_or_create.
    [[nodiscard]] static Result<std::unique_ptr<RedisStores>>
    open(std::string_view url, const std::string& key_file, const RedisStoresOptions& options = {},
         std::string* why = nullptr);
    RedisStores(const RedisStores&) = delete;
    RedisStores& operator=(const RedisStores&) = delete;
    ~RedisStores();

    [[nodiscard]] RedisRegistrationStore& registrations() noexcept { return *registrations_; }
    [[nodiscard]] RedisSecurityStore& security() noexcept { return *security_; }
    [[nodiscard]] RedisEventLog& events() noexcept { return *events_; }
    [[nodiscard]] const SecretBox& secret_box() const noexcept { return box_; }
    [[nodiscard]] redis::ClusterClient& writer_client() noexcept { return *writer_; }
    [[nodiscard]] redis::ClusterClient& client() noexcept { return *main_; }
    [[nodiscard]] const RedisKeys& keys() const noexcept { return keys_; }

private:
    RedisStores(SecretBox box, RedisKeys keys)
        : box_(std::move(box))
        , keys_(std::move(keys)) {}
    SecretBox box_;
    RedisKeys keys_;
    std::unique_ptr<redis::ClusterClient> writer_;
    std::unique_ptr<redis::ClusterClient> main_;
    std::unique_ptr<RedisRegistrationStore> registrations_;
    std::unique_ptr<RedisSecurityStore> security_;
    std::unique_ptr<RedisEventLog> events_;
};

} // namespace lwm2m::store
