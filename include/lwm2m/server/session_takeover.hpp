// SessionTakeover: the sans-I/O decisions of DTLS session continuity between server nodes
// (issue #13, docs/cluster-nodes.md "DTLS session takeover"): which unknown-session reports of
// dtls::ServerTable::poll_unknown_session() become store look-ups (rate limits: spoofed record
// headers cost an attacker nothing), what a look-up's answer turns into (open the sealed state
// with the cluster key, raise its read window to the persisted high-water mark, start above the
// reserved write-sequence range), and the counters. The driver does the store I/O:
//
//   while (auto u = engine.poll_unknown_session())
//       if (auto l = takeover.on_unknown(now, u->listener, u->peer)) look_up_async(*l);
//   // the answer, back on the engine thread:
//   if (found) {
//       if (auto imp = takeover.on_found(now, id, blob, high_water, floor))
//           takeover.on_imported(now, imp->listener, imp->state.peer,
//                                engine.import_session(now, imp->listener, std::move(imp->state),
//                                                      imp->write_seq_floor));
//   } else takeover.on_not_found(now, id);
//   while (auto f = takeover.poll_forget()) engine.forget_unknown_session({f->listener, f->peer});
//   takeover.expire(now); // look-ups never answered give their slot back
//
// No I/O, no clock, no threads (docs/architecture.md §2).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/dtls/session_state.hpp>

namespace lwm2m::server {

struct SessionTakeoverConfig {
    /// Look-ups waiting for the store at once; further reports are dropped (rate_limited) and
    /// the client's next retransmission reports its address again.
    std::size_t max_in_flight = 64;
    /// A look-up not answered by then gives its slot back (counted in timed_out).
    Duration lookup_timeout = std::chrono::seconds(5);
    /// An address whose look-up found nothing (or a blob that did not open or import) is not
    /// looked up again for this long (negative cache; reports meanwhile are rate_limited).
    Duration miss_ttl = std::chrono::seconds(5);
    /// Addresses in the negative cache; the oldest goes first beyond it.
    std::size_t max_misses = 4096;
    /// Look-ups started per second, on average (a token bucket of lookup_burst tokens): forged
    /// records from more addresses than the negative cache holds cost at most this many store
    /// look-ups. Reports beyond it are rate_limited (and re-reported at the next record). A
    /// node's failover moves its devices at their Update pace, well below it.
    std::uint32_t lookups_per_second = 5000;
    std::uint32_t lookup_burst = 1000;
};

struct SessionTakeoverStats {
    std::uint64_t lookups = 0;       ///< look-ups handed to the driver
    std::uint64_t imported = 0;      ///< sessions taken over (import_session succeeded)
    std::uint64_t not_found = 0;     ///< no blob in the store
    std::uint64_t open_failed = 0;   ///< a blob that did not open (other key, other address...)
    std::uint64_t import_failed = 0; ///< opened but import_session refused it
    std::uint64_t rate_limited = 0;  ///< reports dropped: in flight, negative-cached, at the cap
    std::uint64_t timed_out = 0;     ///< look-ups never answered (store errors)
    std::uint64_t exported = 0;      ///< sessions sealed for the store
    std::uint64_t export_failed = 0; ///< export or seal errors (e.g. a CBC suite)
};

/// A look-up for the driver: fetch the sealed state and high-water mark of `peer`.
struct SessionLookupRequest {
    std::uint64_t id = 0;
    std::uint16_t listener = 0;
    PeerAddr peer;
};

/// What the driver imports (Engine::import_session).
struct SessionImport {
    std::uint16_t listener = 0;
    dtls::SessionState state;
    std::uint64_t write_seq_floor = 0;
};

class SessionTakeover {
public:
    /// Errors: lwm2m::Errc::invalid_argument (the cluster key is not dtls::kClusterKeySize
    /// bytes, max_in_flight 0).
    [[nodiscard]] static Result<SessionTakeover> create(SessionTakeoverConfig config,
                                                        SecretBytes cluster_key);

    /// An unknown-session report. A look-up to start, or nullopt when the report is dropped
    /// (rate_limited): a look-up of that address is already in flight, the address had a miss
    /// within miss_ttl, or max_in_flight look-ups are waiting.
    [[nodiscard]] std::optional<SessionLookupRequest>
    on_unknown(TimePoint now, std::uint16_t listener, const PeerAddr& peer);
    /// The store holds `sealed` for the look-up; `high_water` is the persisted read high-water
    /// mark (if any) and `write_seq_floor` the start of the write-sequence range reserved for
    /// this import. Returns what to import, or nullopt (the blob did not open for that address:
    /// open_failed, negative-cached; or an unknown / timed-out id).
    [[nodiscard]] std::optional<SessionImport> on_found(TimePoint now, std::uint64_t id,
                                                        BytesView sealed,
                                                        std::optional<std::uint64_t> high_water,
                                                        std::uint64_t write_seq_floor);
    /// The store holds nothing for the look-up (not_found, negative-cached).
    void on_not_found(TimePoint now, std::uint64_t id);
    /// The outcome of Engine::import_session for what on_found returned.
    void on_imported(TimePoint now, std::uint16_t listener, const PeerAddr& peer,
                     const Result<void>& outcome);
    /// Look-ups older than lookup_timeout give their slot back; stale misses are forgotten.
    void expire(TimePoint now);

    /// The next address whose datagram kept by the DTLS table should be dropped
    /// (Engine::forget_unknown_session) so that the table reports it again later: its report
    /// was rate-limited (negative cache, cap) or its look-up found nothing usable. `id` is 0.
    /// At most 4096 are kept (the oldest dropped).
    [[nodiscard]] std::optional<SessionLookupRequest> poll_forget();

    /// Seals an exported session for the store (counts exported / export_failed). Errors: those
    /// of dtls::seal_session_state.
    [[nodiscard]] Result<Bytes> seal(const dtls::SessionState& state, Random& random);
    /// Counts an export that failed before sealing (Engine::export_session's error).
    void export_failed() noexcept { ++stats_.export_failed; }

    [[nodiscard]] const SessionTakeoverStats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t in_flight() const noexcept { return pending_.size(); }

private:
    SessionTakeover(SessionTakeoverConfig config, SecretBytes key);
    struct Pending {
        std::uint16_t listener = 0;
        PeerAddr peer;
        TimePoint deadline;
    };
    void miss(TimePoint now, const PeerAddr& peer);
    std::optional<Pending> take(std::uint64_t id);
    void forget(std::uint16_t listener, const PeerAddr& peer);

    SessionTakeoverConfig cfg_;
    SecretBytes key_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, Pending> pending_;
    std::unordered_set<PeerAddr, PeerAddrHash> pending_peers_;
    std::unordered_map<PeerAddr, TimePoint, PeerAddrHash> misses_; ///< address -> until
    std::deque<std::pair<PeerAddr, TimePoint>> miss_order_;        ///< insertion order
    std::deque<SessionLookupRequest> forget_;
    double tokens_ = 0; ///< the look-up budget (token bucket)
    std::optional<TimePoint> refilled_;
    SessionTakeoverStats stats_;
};

} // namespace lwm2m::server
