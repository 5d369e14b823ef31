// A small Redis Cluster client over hiredis's synchronous API (hiredis 0.14 has no cluster
// support), for the Redis stores (redis_stores.hpp, docs/store.md "Redis").
//
// - Key slots: CRC16-XMODEM of the key, or of its hash tag (the part between the first '{' and
//   the next '}', when non-empty), modulo 16384 (Redis Cluster specification, "Keys distribution
//   model" and "Hash tags").
// - The slot map comes from CLUSTER SLOTS, asked of the seeds (the URL's host:port list) or of
//   any node already known. A single Redis without cluster support ("cluster support disabled")
//   owns every slot (development).
// - Redirections: -MOVED slot host:port updates the map (and schedules a refresh) and retries on
//   that node; -ASK slot host:port sends ASKING + the command to that node, once.
// - Transient failures (-TRYAGAIN, -CLUSTERDOWN, -LOADING, -MASTERDOWN, -READONLY, connection
//   errors and timeouts): the connection is dropped, the map refreshed from any reachable node,
//   and the commands not yet answered are sent again with bounded back-off until
//   `retry_deadline`; then the call fails with store::Errc::unavailable. Commands may therefore
//   run twice (a reply lost with its connection): the stores only send idempotent ones.
// - Durability: with `wait_replicas` > 0, every node that received writes in a call also gets
//   `WAIT wait_replicas wait_timeout` in the same pipeline, when it has a replica online (INFO
//   replication, asked once per connection and re-asked every second while none is online).
//   Fewer acknowledgements than asked while a replica is online count as a transient failure of
//   that node's commands (they are sent again, then WAIT again) until the deadline; when no
//   replica is online any more the writes are accepted (ClusterStats::unreplicated).
//
// Threading: every public member is serialised by an internal mutex; one call runs at a time.
// Error texts (`last_error()`) name host:port, never command arguments (which may be sealed
// secrets).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/store/errc.hpp>

namespace lwm2m::store::redis {

struct HostPort {
    std::string host;
    std::uint16_t port = 6379;
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const HostPort&, const HostPort&) = default;
};

/// Credentials sent with AUTH on every connection (Redis 6 ACL user and password, or only a
/// password: the default user, `requirepass`).
struct Auth {
    std::string user;     ///< empty: `AUTH <password>`
    SecretBytes password; ///< empty: no AUTH
};

/// Parses "redis://[[user]:password@]host:port[,host:port...]" (a missing port is 6379; IPv6
/// hosts in brackets: "redis://[::1]:7000"; the user info applies to every node and is
/// percent-decoded, so "%40" is an '@' in a password). `auth` (optional) receives the user info.
/// Errors: lwm2m::Errc::invalid_argument; `why` names the problem (no scheme, empty list, bad
/// port, user info without ':password', a bad %-escape, a path), never the password.
[[nodiscard]] Result<std::vector<HostPort>>
parse_url(std::string_view url, std::string* why = nullptr, Auth* auth = nullptr);
/// `url` with the password of its user info replaced by "***" (for logs and messages).
[[nodiscard]] std::string redact_url(std::string_view url);

/// CRC16-XMODEM (polynomial 0x1021, initial value 0): crc16("123456789") == 0x31C3.
[[nodiscard]] std::uint16_t crc16(std::string_view data) noexcept;
/// The part of `key` that is hashed: its hash tag when it has a non-empty one, else the key.
[[nodiscard]] std::string_view hash_tag(std::string_view key) noexcept;
inline constexpr std::uint16_t slot_count = 16384;
/// crc16(hash_tag(key)) % 16384.
[[nodiscard]] std::uint16_t key_slot(std::string_view key) noexcept;

/// One reply, copied out of hiredis.
struct Reply {
    enum class Type : std::uint8_t { string, status, error, integer, nil, array };
    Type type = Type::nil;
    std::string str; ///< string, status, error
    long long integer = 0;
    std::vector<Reply> elements;

    [[nodiscard]] bool is_error() const noexcept { return type == Type::error; }
    [[nodiscard]] bool is_nil() const noexcept { return type == Type::nil; }
    static Reply error(std::string text) {
        Reply r;
        r.type = Type::error;
        r.str = std::move(text);
        return r;
    }
};

/// What the client does with an error reply.
enum class ErrorKind : std::uint8_t {
    other,     ///< the command's own error (returned to the caller)
    moved,     ///< -MOVED: the slot lives elsewhere for good
    ask,       ///< -ASK: this one command goes elsewhere (slot migrating)
    transient, ///< -TRYAGAIN, -CLUSTERDOWN, -LOADING, -MASTERDOWN, -READONLY: retry later
};
[[nodiscard]] ErrorKind classify_error(std::string_view error) noexcept;

struct Redirect {
    bool ask = false;
    std::uint16_t slot = 0;
    HostPort to;
};
/// Parses "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" ("[::1]:7000" and ":7000",
/// an unknown host, too: `default_host` is used). nullopt for anything else.
[[nodiscard]] std::optional<Redirect> parse_redirect(std::string_view error,
                                                     std::string_view default_host = {});

/// A slot range and the nodes serving it, from CLUSTER SLOTS.
struct SlotRange {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    HostPort primary;
    std::vector<HostPort> replicas;
};
/// Parses a CLUSTER SLOTS reply; an empty host means `asked` (the node that answered).
/// Errors: store::Errc::corrupt (not the expected shape).
[[nodiscard]] Result<std::vector<SlotRange>> parse_cluster_slots(const Reply& reply,
                                                                 std::string_view asked_host);

struct ClusterOptions {
    std::chrono::milliseconds connect_timeout{1000};
    std::chrono::milliseconds command_timeout{3000};
    /// How long a call keeps retrying transient failures (a replica promotion takes about
    /// cluster-node-timeout plus a second or two).
    std::chrono::milliseconds retry_deadline{15000};
    /// Replicas that must acknowledge writes (WAIT) before a writing call returns; 0: no WAIT.
    int wait_replicas = 1;
    std::chrono::milliseconds wait_timeout{1000};
    /// false (default): a primary with no replica online (the replica failed) takes writes
    /// alone (ClusterStats::unreplicated counts them): available, but those writes are lost if
    /// that primary is failed over before a replica is back. true: such writes fail with
    /// Errc::unavailable after the retry deadline.
    bool require_replica = false;
    /// AUTH after every connect (none when the password is empty). A refused AUTH fails the
    /// connection: last_error() says "authentication refused" with Redis's reason; connect()
    /// then fails at once (a configuration error), later calls retry until their deadline.
    Auth auth;
};

struct ClusterStats {
    std::uint64_t calls = 0;
    std::uint64_t commands = 0;
    std::uint64_t moved = 0;
    std::uint64_t asked = 0;
    std::uint64_t retries = 0;    ///< rounds after a transient failure
    std::uint64_t reconnects = 0; ///< connections (re)opened
    std::uint64_t refreshes = 0;  ///< slot map refreshes
    std::uint64_t waits = 0;      ///< WAIT commands sent
    /// Writing pipelines that no replica acknowledged because none was online (a degraded
    /// cluster: the primary alone holds them).
    std::uint64_t unreplicated = 0;
};

/// A scan of every primary that can be run in steps (ClusterClient::scan_step()): one cursor per
/// primary, each SCAN sent through a slot that primary owns.
struct ScanState {
    struct Node {
        std::uint16_t slot = 0;
        HostPort node;
        std::string cursor = "0";
        bool done = false;
    };
    std::vector<Node> nodes;
    bool started = false;
    /// Every primary's cursor came back to 0.
    [[nodiscard]] bool done() const noexcept {
        if (!started) return false;
        for (const auto& n : nodes)
            if (!n.done) return false;
        return true;
    }
};

/// A command routed by the slot of its key (every key of one command must share a slot).
struct Command {
    std::vector<std::string> args;
    std::uint16_t slot = 0;
    bool write = false; ///< counts for WAIT
};
/// Builds a Command routed by `key`'s slot.
[[nodiscard]] Command command(std::vector<std::string> args, std::string_view key,
                              bool write = false);

class ClusterClient {
public:
    /// Connects to the first reachable seed and reads the slot map. Errors:
    /// store::Errc::unavailable (no seed reachable, or the map does not cover every slot, within
    /// the retry deadline; `why` receives the reason, naming host:port),
    /// lwm2m::Errc::invalid_argument (no seeds).
    [[nodiscard]] static Result<std::unique_ptr<ClusterClient>>
    connect(std::vector<HostPort> seeds, ClusterOptions options = {}, std::string* why = nullptr);
    ~ClusterClient();
    ClusterClient(const ClusterClient&) = delete;
    ClusterClient& operator=(const ClusterClient&) = delete;

    /// Runs `commands` (pipelined per node, every node in parallel) and returns their replies in
    /// order. An error reply that is neither a redirection nor transient is returned as the
    /// command's reply (Reply::Type::error). Errors: store::Errc::unavailable (the deadline
    /// passed with commands unanswered, or writes not acknowledged by the replicas).
    [[nodiscard]] Result<std::vector<Reply>> run(std::span<const Command> commands);
    /// One command. Errors: as run().
    [[nodiscard]] Result<Reply> run(const Command& c);
    /// Runs `args` on every primary (SCAN, SCRIPT LOAD, FLUSHALL...), one reply per primary in
    /// primaries() order. Errors: as run().
    [[nodiscard]] Result<std::vector<Reply>> run_on_primaries(const std::vector<std::string>& args);
    /// SCANs every primary for keys matching `pattern` (COUNT `batch`), all primaries in
    /// parallel (one pipelined round per page), calling `on_keys` with each round's keys. A key
    /// may be reported twice (a scan restarts from 0 when its slot's owner changes: failover).
    /// Errors: as run(), Errc::corrupt (a reply that is not a SCAN reply).
    [[nodiscard]] Result<void>
    scan(std::string_view pattern, std::size_t batch,
         const std::function<Result<void>(std::vector<std::string>&)>& on_keys);

    /// One round of a scan: one pipelined SCAN (COUNT `batch`) per primary whose cursor is not
    /// done, starting `state` when it is new; the keys this round returned (possibly none). A
    /// primary whose slot moved to another node between rounds starts again from 0 there.
    /// Errors: as run(), Errc::corrupt (a reply that is not a SCAN reply).
    [[nodiscard]] Result<std::vector<std::string>>
    scan_step(ScanState& state, std::string_view pattern, std::size_t batch);

    /// The primary serving `slot` in the current map.
    [[nodiscard]] HostPort owner(std::uint16_t slot) const;
    /// The primaries of the current map (unique, in slot order).
    [[nodiscard]] std::vector<HostPort> primaries() const;
    /// True when the server answered "cluster support disabled" (one node owns every slot).
    [[nodiscard]] bool standalone() const;
    /// Re-reads the slot map now. Errors: store::Errc::unavailable.
    [[nodiscard]] Result<void> refresh();
    /// Why the last call failed ("127.0.0.1:7001: Connection refused"); never command data.
    [[nodiscard]] std::string last_error() const;
    [[nodiscard]] ClusterStats stats() const;
    /// Test hook: routes every slot to `node` (as a stale map would), to exercise -MOVED.
    void debug_route_all_slots_to(const HostPort& node);

    struct Impl;

private:
    explicit ClusterClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// One message received on a subscribed channel.
struct PubSubMessage {
    std::string channel;
    std::string payload;
};

/// A pub/sub subscriber on ONE connection (hiredis synchronous API, a dedicated connection: a
/// subscribed connection takes no other command). In a Redis Cluster a PUBLISH on any node
/// reaches the subscribers of every node (the cluster bus propagates it), so any node will do:
/// the first reachable of `nodes` is used, and after a lost connection receive() fails and the
/// next one reconnects (to the next reachable node) and subscribes again. Delivery is at most
/// once: messages published while no connection is subscribed are lost.
///
/// Threading: one thread at a time (the subscriber's own thread).
class Subscriber {
public:
    /// Connects to the first reachable of `nodes` and subscribes to `channels`. Errors:
    /// store::Errc::unavailable (no node reachable; `why` names the last host:port tried),
    /// lwm2m::Errc::invalid_argument (no nodes or no channels).
    [[nodiscard]] static Result<std::unique_ptr<Subscriber>>
    connect(std::vector<HostPort> nodes, std::vector<std::string> channels,
            ClusterOptions options = {}, std::string* why = nullptr);
    ~Subscriber();
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    /// Waits at most `timeout` for the next message (nullopt: none came). Confirmations of
    /// SUBSCRIBE are consumed here. When the connection is down it first tries to reconnect
    /// (every node once, `options.connect_timeout` each). Errors: store::Errc::unavailable (the
    /// connection was lost, or no node is reachable; last_error() says which).
    [[nodiscard]] Result<std::optional<PubSubMessage>> receive(std::chrono::milliseconds timeout);
    /// Replaces the nodes tried on the next reconnection (e.g. the cluster's current primaries).
    void set_nodes(std::vector<HostPort> nodes);
    /// The node currently subscribed to (empty host when disconnected).
    [[nodiscard]] HostPort node() const;
    /// Why the last call failed ("127.0.0.1:7001: Connection refused").
    [[nodiscard]] std::string last_error() const;
    /// Connections opened so far (the first one included).
    [[nodiscard]] std::uint64_t connections() const;

    struct Impl;

private:
    explicit Subscriber(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lwm2m::store::redis
