// ServerTable: many DTLS 1.2 server sessions behind one UDP socket, sans-I/O (docs/architecture.md
// §2).
//
// - A ClientHello from an unknown address is answered statelessly with a HelloVerifyRequest
//   (RFC 6347 §4.2.1); NOTHING is allocated for the peer until its cookie verifies. The cookie key
//   is random and rotated (the previous key is still accepted for one rotation period).
// - Sessions are keyed by SessionKey (today the peer address; an RFC 9146 Connection ID can replace
//   it without changing the API).
// - A new handshake (epoch-0 ClientHello with a valid cookie) from an address that has an
//   established session runs beside the old one; the old session keeps working and is replaced
//   only when the new handshake completes (RFC 6347 §4.2.8).
// - Caps: handshake timeout, idle timeout, max sessions with least-recently-active eviction, and
//   separate, much lower caps for handshakes in progress ("half-open" sessions: cookie verified,
//   not yet authenticated): in total, per source address and per source prefix. A cookie proves
//   only that the peer receives datagrams at its address (RFC 6347 §4.2.1), while each half-open
//   GnuTLS session holds ~15 KB, so without these caps 10^5 routable addresses could hold
//   ~1.5 GB until the handshake timeout.
// - Memory: GnuTLS allocates through the global malloc; after many sessions are freed the heap
//   keeps the pages. take_release_hint() tells the driver when a malloc_trim(0) is worth it
//   (transport::release_free_heap()); the table itself stays pure.
// - Own record path (issue #13): an established AES-128-CCM-8 session leaves GnuTLS at once: its
//   keys move into a RecordPath (session_state.hpp) and the GnuTLS session (~12 KB) is freed.
//   Such a session can be exported (export_session) and imported by another node
//   (import_session); a protected record from an address without a session is reported by
//   poll_unknown_session() so the driver can look the session up in its store. docs/dtls.md.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <lwm2m/base/datagram.hpp>
#include <lwm2m/dtls/credential_store.hpp>
#include <lwm2m/dtls/session_state.hpp>
#include <lwm2m/dtls/types.hpp>

namespace lwm2m::dtls {

struct ServerConfig : CommonConfig {
    ServerConfig() { handshake_timeout = std::chrono::seconds(30); }
    /// Accept PSK handshakes (keys from CredentialStore::psk_key).
    bool psk = true;
    /// Our raw public key: enables RPK handshakes (clients checked with rpk_allowed()).
    std::optional<RpkCredentials> rpk;
    /// Our X.509 chain: enables certificate handshakes; clients must present a chain that
    /// verifies against client_ca_der and passes certificate_allowed().
    std::optional<X509Credentials> x509;
    std::vector<Bytes> client_ca_der;
    /// Sessions idle (no datagram in or out) for this long are dropped (Closed{idle_timeout}).
    Duration idle_timeout = std::chrono::minutes(10);
    /// Established + handshaking sessions. At the cap a verified new handshake evicts the least
    /// recently active session (Closed{session_limit}).
    std::size_t max_sessions = 100000;
    /// Handshakes in progress (half-open sessions, replacement handshakes included) across all
    /// peers. At the cap a new cookie-verified ClientHello evicts the least recently active
    /// handshake (HandshakeFailed{session_limit} for it; stats().half_open_evictions) if that
    /// one has been silent for half_open_eviction_idle: a client that is really handshaking
    /// sends a flight every round trip, a flood's half-open sessions stay silent after their
    /// ClientHello. If even the least recently active one spoke more recently, the new
    /// ClientHello is dropped (stats().refused_at_capacity) and its client retries. Memory
    /// bound: ~15 KB per handshake.
    std::size_t max_handshakes = 1000;
    /// See max_handshakes. A live client speaks within its retransmission timer (RFC 6347
    /// §4.2.4.1: 1 s initially); 0 evicts the least recently active handshake at once.
    Duration half_open_eviction_idle = std::chrono::seconds(1);
    /// Handshakes in progress from one IP address (any port). Beyond it a new ClientHello is
    /// dropped (stats().refused_per_address); the client retransmits it (RFC 6347 §4.2.4) and
    /// gets in once one of the address's handshakes completed or expired.
    std::size_t max_handshakes_per_address = 8;
    /// Handshakes in progress from one prefix (ipv4_prefix_bits / ipv6_prefix_bits of the
    /// source address). Beyond it new ClientHellos from the prefix are dropped
    /// (stats().refused_per_prefix), so one network cannot take the whole max_handshakes.
    std::size_t max_handshakes_per_prefix = 64;
    std::uint8_t ipv4_prefix_bits = 24; ///< 1..32
    std::uint8_t ipv6_prefix_bits = 56; ///< 1..128
    /// take_release_hint() turns true once the table holds this many sessions fewer than at
    /// its high-water mark since the last hint.
    std::size_t release_hint_sessions = 512;
    /// How often the cookie key is replaced.
    Duration cookie_rotation = std::chrono::minutes(5);
    /// Move established AES-128-CCM-8 sessions from GnuTLS to the own record path as soon as
    /// the handshake completes (the GnuTLS session is freed; the server's final flight is kept
    /// and resent while the client retransmits its own, RFC 6347 §4.2.4, until the client's
    /// first authentic record). CBC-SHA256 sessions always stay on GnuTLS. Off: every session
    /// stays on GnuTLS (export_session still works for CCM-8 sessions; import_session too).
    bool own_record_path = true;
    /// Addresses whose latest protected datagram is kept while the driver looks their session
    /// up (poll_unknown_session); the oldest goes first beyond this (each at most 1500 bytes).
    /// 0: none kept (reports only).
    std::size_t unknown_session_buffer = 256;
};

/// The key of a session in the table. Today: the peer's transport address (RFC 6347 §4.2.8).
/// An RFC 9146 Connection ID would be added here (and taken from the record header) without
/// changing the table's API.
struct SessionKey {
    PeerAddr addr;
    static SessionKey of(const PeerAddr& from) noexcept { return SessionKey{from}; }
    friend bool operator==(const SessionKey&, const SessionKey&) = default;
};
struct SessionKeyHash {
    std::size_t operator()(const SessionKey& k) const noexcept { return k.addr.hash(); }
};

/// Counters for monitoring and tests.
struct ServerStats {
    std::size_t hello_verify_sent = 0; ///< HelloVerifyRequests sent (stateless)
    std::size_t dropped_datagrams = 0; ///< unparseable / unexpected datagrams dropped
    std::size_t handshakes_completed = 0;
    std::size_t handshakes_failed = 0;
    std::size_t evictions = 0; ///< sessions evicted at max_sessions
    std::size_t idle_closes = 0;
    std::size_t replacements = 0;
    std::size_t half_open_evictions = 0; ///< handshakes evicted at max_handshakes
    std::size_t refused_at_capacity = 0; ///< verified ClientHellos dropped at max_handshakes
    std::size_t refused_per_address = 0; ///< verified ClientHellos over max_handshakes_per_address
    std::size_t refused_per_prefix = 0;  ///< verified ClientHellos over max_handshakes_per_prefix
    std::size_t sessions_freed = 0;      ///< sessions (GnuTLS states) destroyed, for any reason
    std::size_t release_hints = 0;       ///< times take_release_hint() returned true
    std::size_t own_path_switches = 0;   ///< sessions moved from GnuTLS to the own record path
    std::size_t own_path_dropped = 0;    ///< own-path records dropped (bad MAC, epoch, type...)
    std::size_t own_path_replays = 0;    ///< of own_path_dropped: replayed / too old
    /// Datagrams from addresses without a session that start with a well-formed protected
    /// record (also counted in dropped_datagrams; kept for poll_unknown_session).
    std::size_t unknown_session_datagrams = 0;
    std::size_t sessions_exported = 0;
    std::size_t sessions_imported = 0;
};

class ServerTable {
public:
    /// `store` must outlive the table. Errors: Errc::invalid_config (no mode enabled, bad key
    /// DER, bad CA DER, unsupported suite, a zero cap, prefix bits out of range),
    /// Errc::internal_error.
    [[nodiscard]] static Result<ServerTable> create(ServerConfig config, CredentialStore& store);

    ServerTable(ServerTable&&) noexcept;
    ServerTable& operator=(ServerTable&&) noexcept;
    ~ServerTable();

    void on_datagram(TimePoint now, const PeerAddr& from, BytesView ciphertext);
    void on_timeout(TimePoint now);
    [[nodiscard]] std::optional<Datagram> poll_transmit();
    [[nodiscard]] std::optional<Event> poll_event();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    /// Errors: Errc::not_connected (no established session for peer), Errc::message_too_large,
    /// Errc::internal_error.
    Result<void> send(TimePoint now, const PeerAddr& peer, BytesView plaintext);
    /// Sends close_notify and drops the peer's session (no event). No-op for unknown peers.
    void close(TimePoint now, const PeerAddr& peer);

    /// Sessions in the table (handshaking + established + pending replacements).
    [[nodiscard]] std::size_t size() const noexcept;
    /// Handshakes in progress (counted against max_handshakes).
    [[nodiscard]] std::size_t handshakes() const noexcept;
    /// True once each time the table has shrunk by ServerConfig::release_hint_sessions or more
    /// below its high-water mark since the last true (mass expiry, eviction or close). The
    /// driver may then return free heap pages to the OS (transport::release_free_heap()).
    [[nodiscard]] bool take_release_hint() noexcept;
    [[nodiscard]] bool established(const PeerAddr& peer) const noexcept;
    [[nodiscard]] const ServerStats& stats() const noexcept;
    /// True when the peer's session runs on the own record path (GnuTLS session freed).
    [[nodiscard]] bool own_record_path(const PeerAddr& peer) const noexcept;

    // ---- session continuity across nodes (issue #13, docs/dtls.md) ----

    /// The record-layer state of the peer's established session, for a store (seal it with
    /// seal_session_state first). write_seq in it is the next number this node would use: a
    /// floor, since this node may send more after the export. Errors: Errc::not_connected (no
    /// established session for peer), Errc::not_exportable (a CBC-SHA256 suite),
    /// Errc::internal_error.
    [[nodiscard]] Result<SessionState> export_session(const PeerAddr& peer);
    /// Takes over a session exported by another node (or this one): the peer's records are
    /// protected from now on with `state`'s keys, with no handshake. Our sequence numbers start
    /// at max(state.write_seq, write_seq_floor): the caller passes the start of a range that
    /// no other node uses (e.g. the cluster layer reserves 2^32 numbers per takeover with an
    /// atomic counter in the store) so that no (key, nonce) pair is ever used twice. The read
    /// window accepts only sequence numbers above state.read_window.highest (records the old
    /// node accepted after its last export of that value can be replayed once: persist
    /// session_read_high_water() often). Never replaces a session or handshake of that address
    /// (Errc::session_exists: the client handshook again while the state was looked up). Emits
    /// HandshakeDone{peer, identity, suite} as a local handshake would
    /// (stats().handshakes_completed does not count it), then replays the datagram kept for the
    /// peer by poll_unknown_session, if any. Errors: Errc::session_exists,
    /// Errc::not_exportable (suite), Errc::malformed_state (key sizes, epoch, peer),
    /// Errc::sequence_exhausted (the start is past 2^48 - 1), Errc::session_limit (table full
    /// of handshakes only), Errc::internal_error.
    Result<void> import_session(TimePoint now, SessionState state, std::uint64_t write_seq_floor);
    /// Highest authentic sequence number received from the peer (what an importer's read
    /// window starts above). Errors: Errc::not_connected, Errc::not_exportable.
    [[nodiscard]] Result<std::uint64_t> session_read_high_water(const PeerAddr& peer) const;
    /// The next address from which a protected (epoch >= 1) datagram arrived while the table
    /// had no session for it, once per kept datagram. The driver looks the address up in its
    /// store and calls import_session(); the latest datagram of each such address is kept
    /// (ServerConfig::unknown_session_buffer) and replayed by import_session. Datagrams not kept
    /// are lost; CoAP retransmission (RFC 7252 §4.2) carries confirmable messages over.
    [[nodiscard]] std::optional<PeerAddr> poll_unknown_session();
    /// Drops the datagram kept for `peer` (the store had no usable session for it): the
    /// address is reported again at its next protected datagram. No-op when none is kept.
    void forget_unknown_session(const PeerAddr& peer);

    struct Impl;

private:
    explicit ServerTable(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lwm2m::dtls
