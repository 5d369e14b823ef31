// server::Engine: the LwM2M device-management server as one sans-I/O object (docs/architecture.md,
// docs/server.md). One thread owns it; it holds 10^5 registrations.
//
//   auto engine = Engine::create(config, {security_store, random, wall_clock, logger});
//   transport::Loop loop(*engine, sockets);          // socket i = config.listeners[i]
//   loop.set_hook([&](TimePoint now) {
//       while (auto ev = engine->poll_event()) handle(*ev);
//       std::vector<store::Change> batch;
//       if (auto seq = engine->take_changes(batch); seq != 0) {
//           if (registration_store.commit(batch)) engine->on_persisted(now, seq);
//           else engine->on_persist_failed(now, seq);
//       }
//   });
//
// Inputs carry `now`; outputs are polled: poll_transmit() (Datagram::socket names the listener),
// poll_event(), next_deadline(). Registration Interface (TS 1.1 §6.2): Register, Update,
// De-register on /rd, authorised against the SecurityStore; Information Reporting uplink: Send
// (POST /dp) and notifications; downlink: every Device Management and Information Reporting
// operation through send().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/histogram.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/dtls/server_table.hpp>
#include <lwm2m/server/config.hpp>
#include <lwm2m/server/errc.hpp>
#include <lwm2m/server/events.hpp>
#include <lwm2m/server/registration.hpp>
#include <lwm2m/server/request.hpp>
#include <lwm2m/store/registration_store.hpp>

namespace lwm2m::server {

struct EngineStats {
    std::uint64_t registrations = 0; ///< current
    std::uint64_t registers = 0;     ///< accepted Register requests (replacements included)
    std::uint64_t updates = 0;
    std::uint64_t deregisters = 0;
    std::uint64_t expirations = 0;
    std::uint64_t refused = 0; ///< Registration Interface requests answered 4.xx/5.xx
    std::uint64_t requests_sent = 0;
    std::uint64_t responses = 0;
    std::uint64_t request_failures = 0;
    std::uint64_t notifications = 0;
    std::uint64_t sends = 0;
    std::uint64_t observations = 0;    ///< current
    std::uint64_t queued_requests = 0; ///< current, waiting to be sent
    std::uint64_t held_responses = 0;  ///< current, waiting for durability
    std::uint64_t journal_entries = 0; ///< current, not yet taken
    std::uint64_t object_sets = 0;     ///< distinct registration payloads interned
    std::uint64_t model_profiles = 0;  ///< distinct object-version models
    // read-through (EngineConfig::read_through)
    std::uint64_t lookups = 0;           ///< RegistrationLookups emitted
    std::uint64_t lookups_found = 0;     ///< answered with a usable registration
    std::uint64_t lookups_not_found = 0; ///< answered "none" (or an unusable record)
    std::uint64_t lookups_timed_out = 0;
    std::uint64_t lookups_refused = 0; ///< requests answered 5.03: too many parked
    std::uint64_t adopted = 0;         ///< registrations taken over from the store
    std::uint64_t moved = 0;           ///< expiries that found the client served elsewhere
    std::uint64_t parked = 0;          ///< current: requests waiting for a lookup
};

/// Why the engine asks for a registration (Engine::poll_lookup).
enum class LookupReason : std::uint8_t {
    uplink, ///< a request of a client this engine holds no registration for is parked
    expiry, ///< a registration expired here: is it still the store's (or was it taken over)?
};

/// A registration the driver looks up in the shared store and hands back with
/// Engine::provide_registration() or Engine::registration_not_found() (docs/cluster-nodes.md).
/// At least one of endpoint and location is set; when both are, the record must match both.
struct RegistrationLookup {
    std::uint64_t id = 0;
    std::string endpoint; ///< known: a DTLS identity's endpoint, or the expiring registration's
    std::string location; ///< the location (after "/rd/") the client named
    LookupReason reason = LookupReason::uplink;
};

/// A DTLS session of one listener (Engine's session-continuity calls).
struct SessionRef {
    std::uint16_t listener = 0;
    PeerAddr peer;
    friend bool operator==(const SessionRef&, const SessionRef&) = default;
};

/// A DTLS session established or closed (EngineConfig::session_continuity).
struct SessionNote {
    enum class Kind : std::uint8_t {
        established, ///< a handshake completed or a session was imported
        closed,      ///< the session ended; `reason` says why (dtls::Closed)
    };
    Kind kind = Kind::established;
    SessionRef session;
    Error reason; ///< closed: dtls::Errc::closed, peer_alert, idle_timeout, session_limit, replaced
};

/// How long Registration Interface requests waited in the engine: from the request's arrival
/// (the `now` of on_datagram) to its response going out, i.e. the wait for durability (the held
/// 2.01/2.04/2.02 is released by on_persisted()). The time a datagram spends in the socket
/// buffer before the driver reads it is not included. Refused requests are not counted.
struct EngineLatency {
    LatencyHistogram registers;
    LatencyHistogram updates;
    LatencyHistogram deregisters;
};

/// An observation as the API shows it.
struct ObservationInfo {
    ObservationId id;
    std::string endpoint;
    bool composite = false;
    std::vector<dm::Path> paths;
    std::optional<format::ContentFormat> accept;
    bool established = false; ///< false: restored from the store, re-sent at the next contact
};

class Engine {
public:
    /// Errors: lwm2m::Errc::invalid_argument (no listener, bad rd_path or location_prefix,
    /// max_inflight_requests 0),
    /// dtls::Errc::invalid_config (a DTLS listener's credentials).
    [[nodiscard]] static Result<Engine> create(EngineConfig config, EngineDeps deps);

    Engine(Engine&&) noexcept;
    Engine& operator=(Engine&&) noexcept;
    ~Engine();

    // ---- sans-I/O contract (transport::Loop, SimNetwork)
    /// A datagram that arrived on listener `socket`. Never fails: bad input is dropped and
    /// counted or answered with the right CoAP code. Unknown socket indexes are dropped.
    void on_datagram(TimePoint now, std::uint16_t socket, const PeerAddr& from, BytesView bytes);
    /// The same on listener 0.
    void on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes);
    void on_timeout(TimePoint now);
    [[nodiscard]] std::optional<Datagram> poll_transmit();
    [[nodiscard]] std::optional<Event> poll_event();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    // ---- durability (docs/server.md "Durability")
    /// Replaces the content of `out` with the journaled changes, in order (the registrations'
    /// current state; several changes of one registration coalesce) and returns the sequence
    /// number to acknowledge with on_persisted(), or 0 when there was nothing to take (`out` is
    /// then empty). Keep one vector across iterations: its elements' storage is reused.
    std::uint64_t take_changes(std::vector<store::Change>& out);
    /// Every change up to `seq` is durable: the held responses and events go out.
    void on_persisted(TimePoint now, std::uint64_t seq);
    /// The changes up to `seq` could not be stored: their clients get 5.03 and the registrations
    /// they created or updated are removed (journaled as removals; Deregistered{not_durable}).
    void on_persist_failed(TimePoint now, std::uint64_t seq);
    /// on_persisted() or on_persist_failed() by the commit's outcome (the shape of
    /// store::CommitQueue's completion callback).
    void on_persisted(TimePoint now, std::uint64_t seq, const Result<void>& outcome) {
        if (outcome)
            on_persisted(now, seq);
        else
            on_persist_failed(now, seq);
    }
    /// Rebuilds the registrations and observations from a store after a restart, before any
    /// traffic: each keeps its Location and its remaining lifetime (by the wall clock);
    /// expired ones are dropped (and journaled as removals). Observations are re-established
    /// with their tokens at the client's next message. Returns the registrations restored.
    /// Errors: the store's load() errors; lwm2m::Errc::invalid_state after traffic.
    [[nodiscard]] Result<std::size_t> restore(TimePoint now, const store::RegistrationStore& store);

    // ---- read-through (EngineConfig::read_through, docs/cluster-nodes.md)
    /// The next registration to look up in the store, oldest first.
    [[nodiscard]] std::optional<RegistrationLookup> poll_lookup();
    /// The store's answer to lookup `id`: the registration record found. The engine takes the
    /// registration over (same location, remaining lifetime by the wall clock) and handles the
    /// parked request as if it had always held it (an Update gets 2.04); an expiry check whose
    /// record is newer than the engine's copy ends that copy (Deregistered{moved}, nothing
    /// journaled). A record that does not match the lookup, has expired or names an unknown
    /// listener counts as not found. Unknown or timed-out ids are ignored.
    void provide_registration(TimePoint now, std::uint64_t id, store::RegistrationRecord record);
    /// As above, with the observations the store holds for the record's endpoint: a
    /// registration taken over brings them along, dormant until the client's next message (the
    /// parked one) re-sends them with their tokens, so the client's notifications arrive as
    /// events here instead of being answered RST. Observation ids already used here are
    /// renumbered (journaled: the stored entry moves to the new id).
    void provide_registration(TimePoint now, std::uint64_t id, store::RegistrationRecord record,
                              std::vector<store::ObservationRecord> observations);
    /// The store holds no registration for lookup `id`: the parked request gets 4.04 (the
    /// client registers again, TS 1.1 §6.2.2); an expiry check ends the engine's copy
    /// (Deregistered{moved}). Unknown or timed-out ids are ignored.
    void registration_not_found(TimePoint now, std::uint64_t id);

    // ---- DTLS session continuity between nodes (docs/cluster-nodes.md, docs/dtls.md)
    /// The next session established or closed, oldest first (EngineConfig::session_continuity;
    /// at most 65,536 are kept, the oldest dropped).
    [[nodiscard]] std::optional<SessionNote> poll_session_note();
    /// Replaces `out` with the sessions that received a datagram since the last call
    /// (EngineConfig::session_continuity), each once: whose read high-water mark may have moved.
    void take_active_sessions(std::vector<SessionRef>& out);
    /// dtls::ServerTable::poll_unknown_session of each DTLS listener.
    [[nodiscard]] std::optional<SessionRef> poll_unknown_session();
    /// dtls::ServerTable::forget_unknown_session: the address is reported again at its next
    /// protected datagram (after a look-up found nothing usable, or one was not started).
    void forget_unknown_session(const SessionRef& s);
    /// dtls::ServerTable::export_session of the listener. Errors: as there;
    /// lwm2m::Errc::invalid_argument (not a DTLS listener).
    [[nodiscard]] Result<dtls::SessionState> export_session(const SessionRef& s);
    /// dtls::ServerTable::session_read_high_water. Errors: as there; invalid_argument.
    [[nodiscard]] Result<std::uint64_t> session_read_high_water(const SessionRef& s) const;
    /// dtls::ServerTable::import_session on `listener`; the datagram the table kept for the peer
    /// is handled at once (an Update in it is answered, read-through permitting). Errors: as
    /// there; invalid_argument (not a DTLS listener).
    [[nodiscard]] Result<void> import_session(TimePoint now, std::uint16_t listener,
                                              dtls::SessionState state,
                                              std::uint64_t write_seq_floor);

    // ---- downlink
    /// Queues a request to the registered `endpoint`. It goes out at once unless the client is
    /// in queue mode and asleep (then at its next message) or max_inflight_requests are in
    /// flight; it fails with Errc::timeout after request.timeout. The answer comes as a
    /// ResponseEvent or RequestFailed. Errors: Errc::not_registered; Errc::invalid_request (a
    /// malformed request: missing content, wrong path level, bad attribute or arguments);
    /// Errc::queue_full; format::Errc (the content cannot be encoded in the chosen format).
    [[nodiscard]] Result<RequestId> send(TimePoint now, std::string_view endpoint, Request request);
    /// Stops a request (queued or in flight); a RequestFailed{cancelled} follows.
    /// Errors: lwm2m::Errc::not_found.
    [[nodiscard]] Result<void> cancel(TimePoint now, RequestId id);
    /// Active cancellation (TS 1.1 §6.4.2 / §6.4.4): GET (FETCH) with Observe=1 on the
    /// observation's token; its answer is a ResponseEvent of op cancel_observation(_composite).
    /// The observation ends at once (ObservationEnded{cancelled}). Errors:
    /// Errc::unknown_observation, and as send().
    [[nodiscard]] Result<RequestId> cancel_observation(TimePoint now, ObservationId id);
    /// Passive cancellation: the observation is forgotten; the client's next notification is
    /// answered with RST (RFC 7641 §3.6). Errors: Errc::unknown_observation.
    [[nodiscard]] Result<void> forget_observation(TimePoint now, ObservationId id);

    // ---- administration and queries
    /// Removes a registration (operator action): its requests fail, observations end,
    /// Deregistered{removed}. Errors: Errc::not_registered.
    [[nodiscard]] Result<void> deregister(TimePoint now, std::string_view endpoint);
    [[nodiscard]] std::optional<RegistrationInfo> registration(std::string_view endpoint) const;
    void for_each_registration(const std::function<void(const RegistrationInfo&)>& fn) const;
    /// Calls `fn` with the endpoint name of every registration (no order), without building a
    /// RegistrationInfo: the cheap scan for listing and searching many registrations (REST
    /// paging at 100k clients). The views are valid until the engine is next changed.
    void for_each_endpoint(const std::function<void(std::string_view endpoint)>& fn) const;
    [[nodiscard]] std::size_t registration_count() const noexcept;
    /// True once each time the engine freed much at once: the registrations dropped by
    /// EngineConfig::release_hint_registrations below their peak since the last hint, or a DTLS
    /// listener's session table shrank (dtls::ServerTable::take_release_hint()). The driver
    /// then calls transport::release_free_heap() (the core never touches the allocator).
    [[nodiscard]] bool take_release_hint() noexcept;
    [[nodiscard]] std::vector<ObservationInfo> observations(std::string_view endpoint) const;
    /// The decoding model (object definitions by the versions the client registered).
    [[nodiscard]] const dm::ObjectRegistry* model(std::string_view endpoint) const;
    [[nodiscard]] EngineStats stats() const;
    /// Cumulative since creation (take two snapshots for a window).
    [[nodiscard]] const EngineLatency& latency() const noexcept;
    /// The DTLS session tables' counters, summed over the DTLS listeners (all zero without one),
    /// and the sessions and handshakes they hold now.
    struct DtlsFigures {
        dtls::ServerStats stats;
        std::size_t sessions = 0;
        std::size_t handshakes = 0;
    };
    [[nodiscard]] DtlsFigures dtls_figures() const;

    struct Impl;

private:
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lwm2m::server
