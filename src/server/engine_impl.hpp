// Engine::Impl (private): the state of the DM server engine and the functions of its parts
// (engine.cpp: listeners, dispatch, timers; engine_registration.cpp: Registration Interface,
// journal, restore; engine_requests.cpp: downlink requests, observations, Send).
// docs/server.md "State layout" explains the choices.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <lwm2m/base/ring_queue.hpp>
#include <lwm2m/base/slab_map.hpp>
#include <lwm2m/base/slot_index.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/dtls/server_table.hpp>
#include <lwm2m/format/codec.hpp>
#include <lwm2m/server/credentials.hpp>
#include <lwm2m/server/engine.hpp>

#include "server/model.hpp"

namespace lwm2m::server {
namespace detail {

inline constexpr std::uint32_t kNone = 0xFFFFFFFFu;

struct PeerKey {
    std::uint16_t listener = 0;
    PeerAddr addr;
    friend bool operator==(const PeerKey&, const PeerKey&) = default;
};
struct PeerKeyHash {
    std::size_t operator()(const PeerKey& k) const noexcept {
        return k.addr.hash() * 31u + k.listener;
    }
};

/// A Register/Update payload, parsed once and shared by every registration that sent the same
/// text (a fleet sends a handful of distinct payloads).
struct ObjectSet {
    std::string raw;
    ObjectLinks links;
    std::uint32_t refs = 0;
    std::array<std::uint32_t, 3> profile{kNone, kNone, kNone}; ///< per LwM2M release
};

/// An endpoint name stored in the registration itself up to 46 bytes (urn:imei:... is 24,
/// urn:uuid:... 45), on the heap beyond: looking a registration up by name touches one line.
class Name {
public:
    Name() = default;
    Name(const Name&) = delete;
    Name& operator=(const Name&) = delete;
    Name(Name&&) noexcept = default;
    Name& operator=(Name&&) noexcept = default;
    void assign(std::string_view s) {
        if (s.size() <= inline_capacity) {
            heap_.reset();
            s.copy(inline_.data(), s.size());
        } else {
            heap_ = std::make_unique<char[]>(s.size());
            s.copy(heap_.get(), s.size());
        }
        size_ = static_cast<std::uint16_t>(s.size());
    }
    void clear() {
        heap_.reset();
        size_ = 0;
    }
    [[nodiscard]] std::string_view view() const noexcept {
        return {heap_ ? heap_.get() : inline_.data(), size_};
    }
    operator std::string_view() const noexcept { return view(); } // NOLINT
    operator std::string() const { return std::string(view()); }  // NOLINT
    [[nodiscard]] std::string str() const { return std::string(view()); }
    friend bool operator==(const Name& a, std::string_view b) noexcept { return a.view() == b; }

private:
    static constexpr std::size_t inline_capacity = 46;
    std::unique_ptr<char[]> heap_;
    std::uint16_t size_ = 0;
    std::array<char, inline_capacity> inline_{};
};

/// One registration slot. nonce 0 = free.
struct Reg {
    std::uint32_t nonce = 0;
    Name endpoint;
    std::string sms;
    PeerAddr peer;
    std::uint16_t listener = 0;
    dm::Lwm2mVersion version = dm::Lwm2mVersion::v1_0;
    std::uint8_t binding = 0;
    bool queue_mode = false;
    bool unconfirmed = false; ///< its Register is not durable yet: no requests go out
    bool aliased = false;     ///< its location is not ours (read-through: Impl::alias_of)
    bool checking = false;    ///< expired here; its expiry check (a lookup) is in flight
    store::SecurityMode security = store::SecurityMode::nosec;
    std::uint8_t logged = 0; ///< lenient decoding facts already logged (log_* bits)
    std::uint32_t lifetime = 86400;
    std::uint32_t objects = kNone; ///< ObjectSet id
    std::uint32_t profile = 0;     ///< model profile id
    std::uint32_t notes = 0;       ///< register_parser note:: bits
    std::uint32_t journal_pos = 0; ///< 1 + index of its pending put in the journal, 0 = none
    std::int64_t registered_at = 0;
    std::int64_t updated_at = 0;
    TimePoint expires;
    TimePoint timer_at;           ///< the time of the expiry heap entry that owns this slot
    TimePoint awake_until;        ///< queue mode: reachable until then
    std::uint64_t queue_head = 0; ///< pending request ids, intrusive list through Pending::next
    std::uint64_t queue_tail = 0;
    std::uint16_t queued = 0;
    std::uint16_t inflight = 0;
    std::vector<std::uint64_t> observations; ///< ObservationId values
};
inline constexpr std::uint8_t log_extended = 1;
inline constexpr std::uint8_t log_unknown = 2;

struct Pending {
    std::uint64_t id = 0;
    std::uint32_t slot = 0;
    std::uint32_t nonce = 0;
    Operation op = Operation::read;
    coap::Message msg;
    dm::Path path;
    std::vector<dm::Path> paths;
    std::optional<format::ContentFormat> accept;
    std::uint64_t observation = 0; ///< observe: the id it creates; cancel: the one it ends
    bool reobserve = false;        ///< re-establishing a restored observation
    bool in_flight = false;
    std::uint16_t listener = 0;
    coap::RequestId coap_id;
    TimePoint sent_at;
    TimePoint deadline;
    std::uint64_t next = 0; ///< next in the registration's queue
};

struct Observation {
    std::uint64_t id = 0;
    std::uint32_t slot = 0;
    std::uint32_t nonce = 0;
    bool composite = false;
    bool established = false; ///< false: restored (dormant) or waiting for its first response
    std::vector<dm::Path> paths;
    std::optional<format::ContentFormat> accept;
    std::optional<format::ContentFormat> request_format; ///< composite: the FETCH body format
    coap::Token token;
    std::uint16_t listener = 0;
    coap::RequestId coap_id;
    std::int64_t created_at = 0;
    bool resending = false; ///< a restored observation's observe request is in flight
};

enum class HeldKind : std::uint8_t { registration, update, deregistration };

struct Held {
    std::uint64_t seq = 0;
    TimePoint received{}; ///< when the request was handled (set by hold())
    HeldKind kind = HeldKind::registration;
    std::uint16_t listener = 0;
    coap::IncomingId incoming;
    coap::Message response;
    std::optional<Event> event;
    std::uint32_t slot = 0;
    std::uint32_t nonce = 0;
};

enum class JournalKind : std::uint8_t { reg_put, reg_remove, obs_put, obs_remove };

struct JournalEntry {
    std::uint64_t seq = 0;
    JournalKind kind = JournalKind::reg_put;
    bool replaces = false; ///< reg_put of a new Register replacing the endpoint's registration
    std::uint32_t slot = 0;
    std::uint32_t nonce = 0;
    std::uint64_t observation = 0;
    std::string endpoint; ///< removals
};

/// A request (or an expiry) waiting for a RegistrationLookup's answer (read-through).
struct Parked {
    LookupReason reason = LookupReason::uplink;
    std::uint16_t listener = 0;
    coap::IncomingRequest in; ///< uplink
    std::string endpoint;     ///< as asked
    std::string location;     ///< as asked
    std::uint32_t slot = 0;   ///< expiry
    std::uint32_t nonce = 0;  ///< expiry
    TimePoint deadline;
};

struct Listener {
    ListenerSecurity security = ListenerSecurity::nosec;
    std::unique_ptr<coap::Endpoint> coap;
    std::unique_ptr<dtls::ServerTable> table;
    std::unique_ptr<dtls::SecureEndpoint<dtls::ServerTable>> secure;
    Duration awake_time{0};
};

/// An expiry heap entry; it owns its slot while reg.timer_at == at (one per registration, moved
/// lazily: docs/server.md "State layout").
struct ExpiryEntry {
    TimePoint at;
    std::uint32_t slot = 0;
    bool operator>(const ExpiryEntry& o) const { return at > o.at; }
};
struct TimeoutEntry {
    TimePoint at;
    std::uint64_t request = 0;
    bool operator>(const TimeoutEntry& o) const { return at > o.at; }
};

} // namespace detail

struct Engine::Impl {
    Impl(EngineConfig config, EngineDeps deps);

    EngineConfig cfg;
    store::SecurityStore& security;
    Random& random;
    WallClock& wall;
    Logger& log;
    SecurityCredentials credentials;
    detail::ModelLibrary models;
    std::vector<std::unique_ptr<detail::Listener>> listeners;

    // registrations: a slab of fixed chunks (stable addresses)
    static constexpr std::size_t chunk_size = 1024;
    std::vector<std::unique_ptr<detail::Reg[]>> chunks;
    std::vector<std::uint32_t> free_slots;
    std::uint32_t slot_high = 0;
    std::size_t reg_count = 0;
    std::size_t reg_peak = 0; ///< most registrations since the last release hint
    SlotIndex by_endpoint;    ///< endpoint name -> slot
    SlotIndex by_peer;        ///< (listener, address) -> slot
    /// Bound DTLS identities by (listener, address): a flat index over a slab (one lookup of a
    /// new address per handshake must not walk other peers' cold nodes).
    SlabMap<detail::PeerKey, BoundIdentity, detail::PeerKeyHash> identities;
    std::vector<detail::ExpiryEntry> expiry; ///< min-heap (std::greater)

    // interned Register/Update payloads
    std::deque<detail::ObjectSet> sets;
    std::vector<std::uint32_t> free_sets;
    std::unordered_map<std::string_view, std::uint32_t> set_by_raw;

    // downlink requests and observations
    std::unordered_map<std::uint64_t, detail::Pending> pending;
    std::uint64_t next_request = 1;
    std::unordered_map<std::uint64_t, std::uint64_t> request_by_coap; ///< coap_key -> request
    std::vector<detail::TimeoutEntry> timeouts;                       ///< min-heap, lazy deletion
    std::unordered_map<std::uint64_t, detail::Observation> observations;
    std::uint64_t next_observation = 1;
    std::unordered_map<std::uint64_t, std::uint64_t> observation_by_coap;

    // durability
    std::vector<detail::JournalEntry> journal;
    std::uint64_t next_seq = 1;
    RingQueue<detail::Held> held;

    // read-through (EngineConfig::read_through, docs/cluster-nodes.md)
    std::unordered_map<std::uint64_t, detail::Parked> parked;
    std::deque<std::pair<TimePoint, std::uint64_t>> parked_order; ///< by deadline, lazy deletion
    std::unordered_map<detail::PeerKey, std::uint16_t, detail::PeerKeyHash> parked_per_peer;
    std::deque<RegistrationLookup> lookups;
    std::uint64_t next_lookup = 1;
    std::size_t parked_uplinks = 0;
    bool redispatching = false; ///< handling a parked request: do not park it again
    std::unordered_map<std::string, std::uint32_t> by_alias; ///< foreign location -> slot
    std::unordered_map<std::uint32_t, std::string> alias_of; ///< slot -> foreign location

    RingQueue<Event> events;
    EngineStats stats;
    EngineLatency latency;
    bool traffic = false;

    // DTLS session continuity (EngineConfig::session_continuity)
    std::deque<SessionNote> session_notes;
    std::unordered_set<detail::PeerKey, detail::PeerKeyHash> active_sessions;
    std::size_t unknown_cursor = 0;    ///< listener poll_unknown_session() looks at first
    std::vector<std::uint8_t> scratch; ///< reused by coap messages

    // ---- engine.cpp
    detail::Reg& reg(std::uint32_t slot) { return chunks[slot / chunk_size][slot % chunk_size]; }
    const detail::Reg& reg(std::uint32_t slot) const {
        return chunks[slot / chunk_size][slot % chunk_size];
    }
    detail::Reg* live(std::uint32_t slot, std::uint32_t nonce) {
        if (slot >= slot_high) return nullptr;
        auto& r = reg(slot);
        return r.nonce != 0 && r.nonce == nonce ? &r : nullptr;
    }
    std::optional<std::uint32_t> find_slot(std::string_view endpoint) const;
    std::optional<std::uint32_t> find_peer(std::uint16_t listener, const PeerAddr& addr) const;
    static std::uint32_t endpoint_tag(std::string_view endpoint) {
        return SlotIndex::tag_of(std::hash<std::string_view>{}(endpoint));
    }
    static std::uint32_t peer_tag(std::uint16_t listener, const PeerAddr& addr) {
        return SlotIndex::tag_of(addr.hash() * 31u + listener);
    }
    void prefetch_register(std::uint16_t listener, std::string_view endpoint,
                           const PeerAddr& peer) const;
    void index_peer(std::uint32_t slot);
    void unindex_peer(std::uint32_t slot);
    void push_timeout(TimePoint at, std::uint64_t request);
    static std::uint64_t coap_key(std::uint16_t listener, coap::RequestId id) {
        return (std::uint64_t{listener} << 48) ^ id.value;
    }
    coap::Endpoint& coap_of(std::uint16_t listener) { return *listeners[listener]->coap; }
    void flush(std::uint16_t listener, TimePoint now);
    void drain(std::uint16_t listener, TimePoint now);
    void on_coap_event(std::uint16_t listener, TimePoint now, coap::Event& ev);
    void on_dtls_event(std::uint16_t listener, TimePoint now, dtls::Event& ev);
    void respond(std::uint16_t listener, TimePoint now, coap::IncomingId id, coap::Code code,
                 std::string_view diagnostic = {});
    void send_response(std::uint16_t listener, TimePoint now, coap::IncomingId id, coap::Message m);
    void emit(Event e) { events.push_back(std::move(e)); }
    void info(const std::string& msg);
    /// Debug lines are built only when the level is on (`make` returns the text): several sit
    /// on the per-datagram paths (handshakes, Registers).
    template <class Make>
    void debug(Make&& make) {
        if (log.enabled(LogLevel::debug)) log.write(LogLevel::debug, "server", make());
    }
    void warn(const std::string& msg);

    // ---- engine_registration.cpp
    void on_request(std::uint16_t listener, TimePoint now, coap::IncomingRequest& in);
    void do_register(std::uint16_t listener, TimePoint now, coap::IncomingRequest& in);
    void do_update(std::uint16_t listener, TimePoint now, coap::IncomingRequest& in,
                   std::string_view location);
    void do_deregister(std::uint16_t listener, TimePoint now, coap::IncomingRequest& in,
                       std::string_view location);
    std::optional<std::uint32_t> slot_of_location(std::string_view location) const;
    /// A location of our own form (prefix, hex slot, 8 hex digits of nonce), parsed.
    bool parse_location(std::string_view location, std::uint32_t& slot, std::uint32_t& nonce) const;
    std::string location_of(std::uint32_t slot) const;
    void set_alias(std::uint32_t slot, std::string location);
    void drop_alias(std::uint32_t slot);
    void arm_expiry(std::uint32_t slot); ///< after Register/Update: (re)arm the expiry timer
    std::uint32_t alloc_slot();
    void end_registration(TimePoint now, std::uint32_t slot, DeregisterReason reason,
                          bool emit_event, bool journal_removal = true);
    void teardown(TimePoint now, std::uint32_t slot);
    std::optional<std::uint32_t> intern_set(std::string_view raw, Refusal* why, bool strict);
    void release_set(std::uint32_t id);
    std::uint32_t profile_of(std::uint32_t set, dm::Lwm2mVersion v);
    void journal_put(std::uint32_t slot, bool replaces = false);
    void journal_remove(std::string endpoint);
    void journal_observation(detail::JournalKind kind, const detail::Observation& o);
    void hold(detail::Held h, TimePoint now);
    void release(detail::Held& h, TimePoint now);
    void push_expiry(std::uint32_t slot);
    void expire(TimePoint now);
    store::RegistrationRecord record_of(std::uint32_t slot) const;
    void fill_record(store::RegistrationRecord& rec, std::uint32_t slot) const;
    /// Seconds a stored registration has left (lifetime + grace after its last update), by the
    /// wall clock `wall_now`; <= 0 when expired.
    [[nodiscard]] std::int64_t seconds_left(const store::RegistrationRecord& rec,
                                            std::int64_t wall_now) const;
    /// The enabler version a stored record names (1.0 when unreadable).
    [[nodiscard]] static dm::Lwm2mVersion stored_version(const std::string& text);
    /// The state of registration `r` from a stored record (restart and read-through): object set
    /// `set` interned for version `v`, asleep until the client shows up. The nonce and the
    /// indexes are the caller's.
    void load_record(detail::Reg& r, store::RegistrationRecord& rec, dm::Lwm2mVersion v,
                     std::uint32_t set, TimePoint now, std::int64_t left);
    RegistrationInfo info_of(std::uint32_t slot) const;
    std::uint64_t take_changes(std::vector<store::Change>& out);
    void on_persisted(TimePoint now, std::uint64_t seq);
    void on_persist_failed(TimePoint now, std::uint64_t seq);
    Result<std::size_t> restore(TimePoint now, const store::RegistrationStore& s);
    /// A stored binding text ("U", "UQ", "UT"...) as binding:: bits (unknown letters skipped).
    static std::uint8_t stored_binding(std::string_view text);
    // read-through
    bool park(std::uint16_t listener, TimePoint now, const coap::IncomingRequest& in,
              std::string endpoint, std::string location);
    void unpark_peer(const detail::Parked& p);
    void park_timeouts(TimePoint now);
    std::optional<std::uint32_t> adopt(TimePoint now, store::RegistrationRecord& rec,
                                       std::vector<store::ObservationRecord>* obs);
    void provide(TimePoint now, std::uint64_t id, store::RegistrationRecord* rec,
                 std::vector<store::ObservationRecord>* obs = nullptr);
    /// A stored observation of the registration in `slot` as a dormant one (restore, adopt);
    /// nullopt when unusable (no path, a bad path, a token over 8 bytes).
    [[nodiscard]] std::optional<detail::Observation>
    observation_from(std::uint32_t slot, const store::ObservationRecord& o) const;
    std::string identity_endpoint(std::uint16_t listener, const PeerAddr& peer) const;

    // ---- engine_requests.cpp
    Result<RequestId> submit(TimePoint now, std::string_view endpoint, Request req);
    Result<coap::Message> build(const detail::Reg& r, const Request& req);
    void enqueue(detail::Reg& r, detail::Pending& p);
    void unlink(detail::Reg& r, std::uint64_t id);
    void touch(TimePoint now, std::uint32_t slot);
    void pump(TimePoint now, std::uint32_t slot);
    void transmit(TimePoint now, detail::Pending& p);
    void fail_request(std::uint64_t id, Error e, bool cancel_coap, TimePoint now,
                      bool repump = true);
    void on_response(std::uint16_t listener, TimePoint now, coap::Response& r);
    void on_notification(std::uint16_t listener, TimePoint now, coap::Notification& n);
    void on_request_failed(std::uint16_t listener, TimePoint now, coap::RequestFailed& f);
    void do_send(std::uint16_t listener, TimePoint now, coap::IncomingRequest& in);
    void end_observation(std::uint64_t id, ObservationEndReason reason, bool cancel_coap,
                         bool journal, TimePoint now);
    void reobserve(TimePoint now, detail::Reg& r, std::uint32_t slot);
    void request_timeouts(TimePoint now);
    Result<RequestId> cancel_observation(TimePoint now, ObservationId id);
    Result<void> forget_observation(TimePoint now, ObservationId id);
    Result<void> cancel(TimePoint now, RequestId id);
    format::DecodeOptions decode_options() const;
    void note_decoding(detail::Reg& r, const dm::Content* content,
                       const std::vector<dm::Record>* records);
};

} // namespace lwm2m::server
