// Several lwm2m-server nodes over one Redis store (docs/cluster.md "Several nodes"):
//
// - Liveness: a heartbeat key per node (<prefix>:node:<id>, TTL 3 s, refreshed every second,
//   its value the node's registration count) and the <prefix>:nodes hash of last heartbeats
//   (store::RedisNodeRegistry); GET /api/nodes lists them.
// - Routing: a REST device operation for an endpoint this node does not hold goes to the node
//   the store names as its owner (<prefix>:{<ep>}:node, written by the registration commit), as
//   a cluster::ForwardedRequest PUBLISHed on the owner's channel; the owner runs it through its
//   engine like a local REST request and PUBLISHes the ForwardedReply on the asker's channel.
// - Events: every REST event is PUBLISHed on <prefix>:bus:events; each node feeds the others'
//   events into its local SSE hub (its own are skipped: they are published locally already).
//
// Threads (nothing here runs on the engine or HTTP thread, nothing blocks them):
// - the worker: its own ClusterClient; heartbeats, owner look-ups, PUBLISHes (events batched in
//   one pipeline), node lists, the deadlines of forwarded requests;
// - the subscriber: a dedicated pub/sub connection (store::redis::Subscriber) on the node's
//   channel and the event channel.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <tl/expected.hpp>

#include <lwm2m/base/log.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/http/api.hpp>
#include <lwm2m/http/events.hpp>
#include <lwm2m/store/redis_cluster.hpp>
#include <lwm2m/store/redis_stores.hpp>

namespace lwm2m::app {

using DeviceOutcome = tl::expected<http::DeviceResponse, http::ApiError>;
/// Receives a device operation's outcome exactly once (from any thread).
using DeviceDone = std::function<void(DeviceOutcome)>;

struct ClusterNodeOptions {
    std::string node_id;
    std::vector<store::redis::HostPort> seeds; ///< the --store URL's hosts
    store::redis::Auth auth;                   ///< and its user info
    store::RedisKeys keys;
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds ttl{3000};
    /// A forwarded request is answered 504 owner_timeout when no reply came within its device
    /// timeout plus this (the owner's own 504 device_timeout comes at the device timeout).
    std::chrono::milliseconds reply_margin{1000};
    /// Events waiting for the worker beyond this are dropped (counted): Redis unreachable.
    std::size_t max_queued_events = 100000;
    /// The sweep of stale registrations of dead nodes (store::RedisRegistrationSweeper, docs/
    /// cluster-nodes.md "Stale records"): one bounded step this often while a scan runs, a new
    /// scan this long after one ended (0: no sweep).
    std::chrono::milliseconds sweep_step{1000};
    std::chrono::milliseconds sweep_pause{std::chrono::minutes(5)};
    /// Past updated_at + lifetime + this, a dead node's registration is removed.
    std::chrono::seconds sweep_grace{60};
    /// GET /api/clients across the nodes: a node that did not answer within this is left out
    /// (the answer says "partial"); offset + limit above max_list_window is refused (400).
    std::chrono::milliseconds list_deadline{2000};
    std::size_t max_list_window = 10000;
};

struct ClusterNodeStats {
    std::uint64_t forwarded = 0;      ///< requests this node sent to an owner
    std::uint64_t executed = 0;       ///< requests this node ran for another node
    std::uint64_t replies = 0;        ///< replies received for our requests
    std::uint64_t late_replies = 0;   ///< replies that came after the deadline
    std::uint64_t timeouts = 0;       ///< forwarded requests answered 504 owner_timeout
    std::uint64_t events_out = 0;     ///< events PUBLISHed
    std::uint64_t events_in = 0;      ///< other nodes' events fed to the local hub
    std::uint64_t events_dropped = 0; ///< events not published (queue full)
    std::uint64_t bad_messages = 0;   ///< undecodable messages dropped
    std::uint64_t duplicates = 0;     ///< requests received twice (a retried PUBLISH) ignored
    std::uint64_t resubscribes = 0;   ///< pub/sub reconnections
    std::uint64_t heartbeat_failures = 0;
    std::uint64_t swept = 0;        ///< stale registrations of dead nodes removed
    std::uint64_t sweep_cycles = 0; ///< scans of every primary completed
    std::uint64_t sweep_failures = 0;
    std::uint64_t lists = 0;         ///< GET /api/clients answered across the nodes
    std::uint64_t partial_lists = 0; ///< ... without some node's page (deadline)
};

class ClusterNode {
public:
    /// Runs a forwarded request on this node's engine, exactly like a local REST request; must
    /// not block (it posts to the engine thread) and calls `done` once.
    using Executor = std::function<void(http::DeviceRequest, DeviceDone)>;
    /// The number of registrations this node holds (any thread).
    using Counter = std::function<std::uint64_t()>;
    /// This node's own page of GET /api/clients (sorted by endpoint); must not block, calls
    /// `done` once (any thread).
    using Lister = std::function<void(http::ClientQuery, std::function<void(http::ClientPage)>)>;
    /// Removes this node's registration of an endpoint (DELETE /api/clients/{ep}); must not
    /// block; `done` gets an empty DeviceResponse or 404 unknown_client.
    using Remover = std::function<void(std::string, DeviceDone)>;
    using ListDone = std::function<void(tl::expected<http::ClientPage, http::ApiError>)>;

    /// Connects (a cluster client and the subscriber), sends the first heartbeat and starts the
    /// two threads. Errors: store::Errc::unavailable (`why` names host:port),
    /// lwm2m::Errc::invalid_argument (a bad node id: `why` says so).
    [[nodiscard]] static Result<std::unique_ptr<ClusterNode>>
    start(ClusterNodeOptions options, Executor execute, Counter registrations,
          std::shared_ptr<http::EventHub> hub, Logger& log, std::string* why = nullptr);
    /// Stops the threads, fails forwarded requests still waiting (503) and removes the
    /// heartbeat key (the other nodes see this node gone at once).
    ~ClusterNode();
    ClusterNode(const ClusterNode&) = delete;
    ClusterNode& operator=(const ClusterNode&) = delete;

    [[nodiscard]] const std::string& id() const noexcept { return options_.node_id; }

    /// Sends `req` to the owner of its endpoint (any thread; never blocks). `done` gets the
    /// owner's outcome, or: 404 unknown_client (no owner recorded and not `registered_here`:
    /// with it, e.g. a registration restored from a store written before owners were, the
    /// request runs here), 502 owner_unavailable (the
    /// owner's heartbeat is gone), 504 owner_timeout (no reply within the request's timeout +
    /// reply_margin), 503 store_unavailable (Redis unreachable).
    void forward(http::DeviceRequest req, DeviceDone done, bool registered_here = false);
    /// DELETE /api/clients/{ep} for an endpoint this node does not hold: like forward(), the
    /// owner removes the registration (same errors; 504 owner_timeout after list_deadline +
    /// reply_margin).
    void remove(std::string endpoint, DeviceDone done, bool registered_here = false);
    /// GET /api/clients across the live nodes (any thread; never blocks; docs/cluster.md
    /// "Listing the clients"): alone, this node's page as is; else every live node's first
    /// offset + limit matches merged (merge_client_pages), totals summed less the duplicates
    /// seen, nodes that did not answer within list_deadline named in missing_nodes (partial).
    /// Errors: 400 bad_request (offset + limit > max_list_window while other nodes are alive).
    void list_clients(http::ClientQuery q, ListDone done);
    /// The local side of list_clients and remove (set before the HTTP server starts).
    void set_local(Lister lister, Remover remover);
    /// Publishes a REST event of this node to the other nodes (any thread; never blocks).
    void publish_event(const http::Event& e);
    /// The node list (any thread; never blocks): `done` runs on the worker thread.
    void
    list_nodes(std::function<void(tl::expected<std::vector<http::NodeInfo>, http::ApiError>)> done);
    /// A registration as the store holds it, with the node that last committed it (its owner;
    /// empty when none is recorded).
    struct StoredRegistration {
        store::RegistrationRecord record;
        std::string owner;
    };
    using StoredDone =
        std::function<void(tl::expected<std::optional<StoredRegistration>, http::ApiError>)>;
    /// Reads `endpoint`'s registration from the store (any thread; never blocks): `done` runs on
    /// the worker thread with the record (nullopt: none, or expired), or 503 store_unavailable.
    void find_registration(std::string endpoint, StoredDone done);
    /// Called (on the subscriber thread) for every event of another node before the hub gets
    /// it: the backend learns that a device registered elsewhere.
    void set_on_remote_event(std::function<void(const http::Event&, const std::string& from)> f);

    [[nodiscard]] ClusterNodeStats stats() const;

    /// "[A-Za-z0-9._-]{1,64}". Errors: none; false when not valid.
    [[nodiscard]] static bool valid_id(std::string_view id) noexcept;

private:
    struct Pending {
        DeviceDone done;
        std::chrono::steady_clock::time_point deadline;
        std::string owner;
    };
    using Task = std::function<void()>;
    struct Gather {
        ListDone done;
        std::chrono::steady_clock::time_point deadline;
        std::size_t offset = 0;
        std::size_t limit = 0;
        std::vector<std::string> waiting; ///< nodes (this one included) not answered yet
        std::vector<std::vector<http::ClientInfo>> lists;
        std::size_t total = 0;
    };

    ClusterNode(ClusterNodeOptions options, Executor execute, Counter registrations,
                std::shared_ptr<http::EventHub> hub, Logger& log);
    void post(Task t);
    void worker_main();
    void subscriber_main();
    void beat();
    void expire(std::chrono::steady_clock::time_point now);
    void route(std::uint64_t id, http::DeviceRequest req, DeviceDone done, bool registered_here,
               bool remove = false);
    void gather(std::uint64_t id, std::string from, http::ClientPage page);
    void finish(Gather g);
    void start_list(http::ClientQuery q, ListDone done);
    void on_message(std::string_view payload);
    void reply(const std::string& to, std::uint64_t id, DeviceOutcome outcome);
    /// PUBLISHes a message on a node's channel (on the worker thread); `what` names it in the
    /// warning when that fails.
    void send_to(const std::string& node, std::string payload, const char* what);
    /// False (and counted as a duplicate) when the request (from, id) was seen already: pub/sub
    /// may deliver a message twice across a resubscription. Subscriber thread only.
    bool first_delivery(const std::string& from, std::uint64_t id);
    /// Completes a pending request (false: unknown or already answered).
    bool complete(std::uint64_t id, DeviceOutcome outcome);

    ClusterNodeOptions options_;
    Executor execute_;
    Counter registrations_;
    std::shared_ptr<http::EventHub> hub_;
    Logger& log_;

    // worker thread only
    std::unique_ptr<store::redis::ClusterClient> client_;
    std::unique_ptr<store::RedisNodeRegistry> registry_;
    std::unique_ptr<store::RedisRegistrationStore> lookup_;
    std::chrono::steady_clock::time_point next_beat_{};
    std::unique_ptr<store::RedisRegistrationSweeper> sweeper_;
    std::chrono::steady_clock::time_point next_sweep_{};
    void sweep(std::chrono::steady_clock::time_point now);

    // subscriber thread only
    std::unique_ptr<store::redis::Subscriber> subscriber_;
    std::unordered_set<std::string> seen_;
    std::deque<std::string> seen_order_;
    std::function<void(const http::Event&, const std::string&)> on_remote_event_;

    mutable std::mutex mutex_; // guards everything below
    std::condition_variable wake_;
    std::deque<Task> tasks_;
    std::vector<std::string> events_; ///< encoded, waiting for the worker
    std::unordered_map<std::uint64_t, Pending> pending_;
    std::unordered_map<std::uint64_t, Gather> gathers_;
    Lister lister_;
    Remover remover_;
    std::uint64_t next_id_ = 1;
    bool stopping_ = false;
    ClusterNodeStats stats_;

    std::thread worker_;
    std::thread subscriber_thread_;
};

} // namespace lwm2m::app
