// The GnuTLS backend (private). One `Conn` wraps one non-blocking datagram gnutls_session_t fed
// from our queues: pull/pull_timeout read the current datagram, vec_push turns each flight into
// one Datagram, the deadline comes from gnutls_dtls_get_timeout(). ClientSession and ServerTable
// are thin owners of Conns; nothing outside src/dtls sees a GnuTLS type.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/ring_queue.hpp>
#include <lwm2m/dtls/session_state.hpp>
#include <lwm2m/dtls/types.hpp>

#include "queue.hpp"

namespace lwm2m::dtls::detail {

/// Reference-counted gnutls_global_init (GnuTLS counts too; this only keeps it balanced). Also
/// installs our GnuTLS log function and level (never GnuTLS's stderr output, see engine.cpp).
class GlobalInit {
public:
    GlobalInit();
    ~GlobalInit();
    GlobalInit(const GlobalInit&) = delete;
    GlobalInit& operator=(const GlobalInit&) = delete;
    [[nodiscard]] bool ok() const noexcept { return ok_; }

private:
    bool ok_ = false;
};

/// Routes GnuTLS's log messages (levels <= 3 only, see engine.cpp) to `logger` while alive, on
/// this thread. Every Conn entry point that calls into GnuTLS opens one.
class GnutlsLogScope {
public:
    explicit GnutlsLogScope(Logger* logger) noexcept;
    ~GnutlsLogScope();
    GnutlsLogScope(const GnutlsLogScope&) = delete;
    GnutlsLogScope& operator=(const GnutlsLogScope&) = delete;

private:
    Logger* previous_;
};

/// Raises GnuTLS's (process-wide) log level to the highest forwarded level, for an owner whose
/// Logger has trace enabled. Never above 3: higher levels carry secrets.
void want_gnutls_debug_log();

/// Outputs shared by all Conns of one owner.
struct Outbox {
    RingQueue<Datagram> tx;
    RingQueue<Event> events;
    /// What the owner's poll_transmit() / poll_event() return.
    [[nodiscard]] std::optional<Datagram> pop_tx() { return pop_front(tx); }
    [[nodiscard]] std::optional<Event> pop_event() { return pop_front(events); }
};

class Conn;

/// The owner's policy for credentials and peer checks (client pin or server store).
class Policy {
public:
    virtual ~Policy() = default;
    /// Server: PSK key lookup. nullopt = unknown identity.
    virtual std::optional<SecretBytes> psk_key(BytesView identity) = 0;
    /// Checks the peer's certificate/raw key (GnuTLS verify callback). Fills conn.identity;
    /// returns 0 or the Errc to fail the handshake with.
    virtual Errc verify_peer(Conn& conn) = 0;
    /// Called when `conn` completed its handshake, before HandshakeDone is emitted.
    virtual void on_established(Conn& conn) { (void)conn; }
};

/// Emits a flight/record without a session (HelloVerifyRequest). ptr -> CookieSink.
struct CookieSink {
    Outbox* out;
    const PeerAddr* peer;
};

/// Shared GnuTLS objects of one owner (credentials; the priority cache is process-wide).
struct Shared {
    Shared() = default;
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;
    ~Shared();

    GlobalInit global;
    gnutls_priority_t priority = nullptr;
    gnutls_certificate_credentials_t cert = nullptr;
    gnutls_psk_client_credentials_t psk_client = nullptr;
    gnutls_psk_server_credentials_t psk_server = nullptr;
    bool rawpk = false;
    std::vector<CipherSuite> suites;
    std::size_t mtu = 1232;
    /// Copies the settings both roles share (suites, MTU, retransmission and handshake timeouts,
    /// logger). Errors: Errc::invalid_config (no suite, MTU outside 256..65507).
    [[nodiscard]] Result<void> apply_common(const CommonConfig& cfg);
    /// Points `priority` at the process-wide parsed priority_string() (parsed on first use, never
    /// freed). Errors: Errc::invalid_config (no suite left, or GnuTLS refuses the string).
    [[nodiscard]] Result<void> init_priority(const std::vector<CipherSuite>& suites_, bool want_psk,
                                             bool want_cert, bool x509_ctype, bool rawpk_ctype);
    unsigned retransmit_ms = 1000;
    unsigned total_ms = 60000;
    Logger* logger = nullptr;
    Policy* policy = nullptr;
};

class Conn {
public:
    enum class State : std::uint8_t { idle, handshaking, established, closed };

    Conn(Shared& shared, Outbox& out, const PeerAddr& peer)
        : shared_(&shared)
        , out_(&out)
        , peer_(peer) {}
    ~Conn();
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    /// Creates the GnuTLS session. `server`: prestate from a verified cookie (may be null for
    /// clients). Errors: Errc::internal_error / invalid_config.
    Result<void> init(bool server, const gnutls_dtls_prestate_st* prestate);

    /// Client: sends the first flight.
    void start(TimePoint now);
    /// A ciphertext datagram for this session.
    void on_datagram(TimePoint now, BytesView ciphertext);
    /// Retransmission / handshake timeout when now >= deadline().
    void on_timeout(TimePoint now);
    Result<void> send(TimePoint now, BytesView plaintext);
    /// Sends close_notify (best effort) and closes.
    void close_notify();
    /// Closes without sending anything.
    void abandon() noexcept {
        state_ = State::closed;
        retransmit_at_.reset();
    }

    [[nodiscard]] State state() const noexcept { return state_; }
    [[nodiscard]] std::optional<TimePoint> deadline() const noexcept;
    [[nodiscard]] const PeerAddr& peer() const noexcept { return peer_; }
    [[nodiscard]] std::size_t max_plaintext() const noexcept;
    [[nodiscard]] gnutls_session_t session() const noexcept { return s_; }
    /// Server, established with an AES-128-CCM-8 suite: the record-layer state (keys from
    /// gnutls_record_get_state, the next write sequence number, the read window of the records
    /// GnuTLS returned). Errors: Errc::not_exportable (not established, CBC suite),
    /// Errc::internal_error.
    [[nodiscard]] Result<SessionState> export_state() const;
    /// Server: our final flight (CCS + Finished) kept for the client's retransmissions; empty
    /// once the client sent data. Moves it out.
    [[nodiscard]] std::vector<Bytes> take_final_flight() noexcept {
        return std::move(final_flight_);
    }

    PeerIdentity identity;         ///< filled during/after the handshake
    Errc fail_reason{};            ///< set by callbacks: the specific reason of a failure
    bool quiet = false;            ///< no HandshakeFailed event (pending replacement handshakes)
    bool established_once = false; ///< the handshake completed at some point
    TimePoint started{};
    TimePoint last_activity{};
    std::array<std::byte, 32> client_random{}; ///< server: random of the creating ClientHello

    // Owner bookkeeping (ServerTable).
    std::uint64_t id = 0;
    std::optional<TimePoint> timer_at;
    /// In the owner's list of handshakes in progress (half-open sessions), least recently active
    /// first; valid while `half_open`.
    std::list<Conn*>::iterator half_open_pos{};
    bool half_open = false;

private:
    friend struct Callbacks;
    void drive(TimePoint now);
    void drain_records(TimePoint now);
    void fail_handshake(TimePoint now, int gnutls_error, bool send_alert);
    void handshake_done(TimePoint now);
    void update_deadline(TimePoint now);
    void emit(Event e) { out_->events.push_back(std::move(e)); }
    /// A PSK client (the Finished diagnostics below apply).
    [[nodiscard]] bool psk_client() const noexcept;
    /// Refines the failure of a PSK client whose Finished went unanswered: finished_refused
    /// (an alert in the clear after it) or no_finished_reply (retransmitted, no reply at all).
    [[nodiscard]] Errc diagnose(Errc e) const noexcept;

    /// Transmissions of our final flight without an encrypted reply before we report
    /// no_finished_reply without waiting for the handshake timeout. Four (0, 1, 3 and 7 s,
    /// reported at ~15 s): a lossy link rarely loses four round trips in a row (with 10% loss
    /// each way, 0.13% of handshakes; three were 0.7%, and the DTLS simulation hit it). A
    /// server's datagrams in between prove nothing: OpenSSL keeps retransmitting its own flight
    /// while it drops our undecryptable Finished.
    static constexpr unsigned kFinishedTransmissions = 4;

    Shared* shared_;
    Outbox* out_;
    PeerAddr peer_;
    gnutls_session_t s_ = nullptr;
    BytesView in_{};
    bool has_in_ = false;
    bool server_ = false;
    State state_ = State::idle;
    std::optional<TimePoint> retransmit_at_;
    std::uint8_t undecryptable_finished_ = 0;
    unsigned finished_sent_ = 0;        ///< client: transmissions of our Finished flight
    bool finished_answered_ = false;    ///< client: an epoch >= 1 record came after it
    bool alert_after_finished_ = false; ///< client: an alert came after it
    std::size_t tx_mark_ = 0;
    /// Server: our last flight (CCS + Finished), resent when the client retransmits its final
    /// flight because ours was lost (RFC 6347 §4.2.4); dropped once the client sends data.
    std::vector<Bytes> final_flight_;
    /// Sequence numbers (48-bit) of the epoch-1 records GnuTLS returned data from (RFC 6347
    /// §4.1.2.6 window), for export_state().
    ReplayWindow read_window_;
    CipherSuite suite_{};
};

/// What the DTLS records of a datagram hold (RFC 6347 §4.1 headers only; never decrypts).
struct RecordScan {
    bool epoch1 = false;              ///< a record of epoch >= 1 (protected with the new keys)
    bool encrypted_handshake = false; ///< a handshake record of epoch >= 1 (a Finished)
    bool alert = false;               ///< an alert record
};
[[nodiscard]] RecordScan scan_records(BytesView datagram) noexcept;
/// Whether a datagram carries a handshake record of epoch >= 1 (an encrypted Finished).
[[nodiscard]] bool has_encrypted_handshake(BytesView datagram) noexcept;

/// Which priority_string() the arguments give, as 6 bits (nullopt: no suite left): the index of
/// the process-wide cache of parsed priorities (Shared::init_priority).
[[nodiscard]] std::optional<unsigned> priority_key(const std::vector<CipherSuite>& suites,
                                                   bool want_psk, bool want_cert, bool x509_ctype,
                                                   bool rawpk_ctype);
/// GnuTLS priority string giving exactly the suites' key exchanges/ciphers/MACs.
[[nodiscard]] std::string priority_string(const std::vector<CipherSuite>& suites, bool want_psk,
                                          bool want_cert, bool x509_ctype, bool rawpk_ctype);
/// Which LwM2M suite a session negotiated (nullopt: none of ours).
[[nodiscard]] std::optional<CipherSuite> negotiated_suite(gnutls_session_t s);
/// Maps a GnuTLS error (and the alert received, if any) to our code.
[[nodiscard]] Errc map_error(gnutls_session_t s, int gnutls_error);

/// Imports our own credentials into a certificate credential.
Result<void> add_rawpk(gnutls_certificate_credentials_t cred, const RpkCredentials& rpk);
Result<void> add_x509(gnutls_certificate_credentials_t cred, const X509Credentials& x509);

/// Peer certificate helpers for verify callbacks.
struct PeerCerts {
    const gnutls_datum_t* list = nullptr;
    unsigned count = 0;
    gnutls_certificate_type_t type = GNUTLS_CRT_UNKNOWN;
};
[[nodiscard]] PeerCerts peer_certs(gnutls_session_t s);
/// SPKI DER of an X.509 certificate (DER); empty on error.
[[nodiscard]] Bytes spki_of_cert(const gnutls_datum_t& der);
[[nodiscard]] std::string subject_dn_of_cert(const gnutls_datum_t& der);
/// Verifies `certs` (EE first) against `anchors` (DER). Returns 0, certificate_expired or
/// certificate_untrusted.
[[nodiscard]] Errc verify_chain(const PeerCerts& certs, const std::vector<Bytes>& anchors);
/// Same against a prebuilt trust list (the server builds its client-CA list once).
[[nodiscard]] Errc verify_chain(const PeerCerts& certs, gnutls_x509_trust_list_t anchors);
/// A trust list of `anchors` (DER; undecodable ones skipped); nullptr on allocation failure.
[[nodiscard]] gnutls_x509_trust_list_t make_trust_list(const std::vector<Bytes>& anchors);
/// DTLS 1.2 record layer (RFC 6347 §4.1): header size and content types (RFC 5246 §6.2.1).
inline constexpr std::size_t kRecordHeader = 13;
inline constexpr std::uint8_t kContentCcs = 20;
inline constexpr std::uint8_t kContentAlert = 21;
inline constexpr std::uint8_t kContentHandshake = 22;
inline constexpr std::uint8_t kContentAppData = 23;

/// A datum over `b` (GnuTLS takes it as input only; the cast drops const for its API).
[[nodiscard]] inline gnutls_datum_t datum(BytesView b) noexcept {
    return gnutls_datum_t{
        const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(b.data())),
        static_cast<unsigned>(b.size())};
}
[[nodiscard]] inline BytesView view_of(const gnutls_datum_t& d) noexcept {
    return {reinterpret_cast<const std::byte*>(d.data), d.size};
}

/// Serialized peer address (cookie client data).
struct PeerBytes {
    std::array<std::uint8_t, 24> b{};
    std::size_t n = 0;
};
[[nodiscard]] PeerBytes peer_bytes(const PeerAddr& p) noexcept;

/// GnuTLS callbacks (session ptr = Conn*), dispatching to Shared::policy.
int verify_callback(gnutls_session_t s);
int psk_server_callback(gnutls_session_t s, const gnutls_datum_t* username, gnutls_datum_t* key);

/// Logs `make()` (a callable returning the text) only when the level is enabled, so that no
/// string is built on the hot path. Never pass key material.
template <class Make>
void log(const Shared& sh, LogLevel level, Make&& make) {
    if (sh.logger != nullptr && sh.logger->enabled(level)) sh.logger->write(level, "dtls", make());
}

} // namespace lwm2m::dtls::detail
