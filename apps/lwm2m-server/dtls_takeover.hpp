// DTLS session continuity between lwm2m-server nodes sharing a Redis store (issue #13,
// docs/cluster-nodes.md "DTLS session takeover"): the driver around server::SessionTakeover.
//
// Engine thread (on_iteration(), from the loop hook): sessions established (a handshake or an
// import) are exported and sealed with the cluster key; the sessions that received datagrams
// have their read high-water mark persisted (at most every `high_water_interval`, one batch);
// sessions closed by the client (close_notify, fatal alert) have their keys deleted; unknown-
// session reports become look-ups (rate-limited by SessionTakeover). All Redis work runs as ONE
// task per iteration on the registrations' writer thread (RegistrationCommitter::post, its own
// cluster client), pipelined; look-up answers come back with Loop::post and are imported there.
// The engine thread never waits for Redis.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <lwm2m/base/log.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/server/engine.hpp>
#include <lwm2m/server/session_takeover.hpp>
#include <lwm2m/store/redis_stores.hpp>
#include <lwm2m/store/registration_committer.hpp>
#include <lwm2m/transport/loop.hpp>

namespace lwm2m::app {

struct DtlsTakeoverOptions {
    /// TTL of a session's keys in Redis, refreshed with each persisted high-water mark: a
    /// session idle this long anywhere is gone (the DTLS idle timeout plus a margin).
    Duration session_ttl = std::chrono::minutes(11);
    /// TTL of the write-sequence counter, refreshed at each export and reservation.
    Duration seq_ttl = std::chrono::hours(24);
    /// High-water marks of active sessions are written at most this often (one pipeline).
    Duration high_water_interval = std::chrono::milliseconds(200);
};

class DtlsTakeover {
public:
    /// Everything must outlive the driver; `client` is the writer thread's cluster client.
    DtlsTakeover(server::Engine& dm, server::SessionTakeover takeover,
                 store::RegistrationCommitter& writer, store::redis::ClusterClient& client,
                 store::RedisKeys keys, transport::LoopBase& loop, Random& random, Logger& log,
                 DtlsTakeoverOptions options = {});

    /// Engine thread: after the engine's events of one loop iteration.
    void on_iteration(TimePoint now);
    /// Engine thread: the counters for GET /api/stats ("takeover_*").
    [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> stats() const;

private:
    /// An export to store, or (del) a session's keys to delete; in the order of the notes.
    struct Put {
        std::string peer;
        std::string blob;
        std::uint64_t high_water = 0;
        bool del = false;
    };
    struct Lookup {
        std::uint64_t id = 0;
        std::string peer;
    };
    struct Answer {
        std::uint64_t id = 0;
        bool found = false;
        std::string blob;
        std::optional<std::uint64_t> high_water;
        std::uint64_t floor = 0;
    };
    void on_answers(TimePoint now, std::vector<Answer>& answers);

    server::Engine& dm_;
    server::SessionTakeover takeover_;
    store::RegistrationCommitter& writer_;
    store::redis::ClusterClient& client_;
    store::RedisKeys keys_;
    transport::LoopBase& loop_;
    Random& random_;
    Logger& log_;
    DtlsTakeoverOptions opt_;
    TimePoint next_high_water_{};
    std::vector<server::SessionRef> active_;
    std::uint64_t store_errors_ = 0; ///< writer-thread pipelines that failed (atomic not needed:
                                     ///< counted on the engine thread from the posted answer)
};

} // namespace lwm2m::app
