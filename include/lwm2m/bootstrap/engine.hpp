// bootstrap::Engine: the LwM2M Bootstrap-Server as one sans-I/O core (docs/bootstrap.md).
//
// Same contract as coap::Endpoint (docs/architecture.md §2): on_datagram / on_timeout with an
// explicit `now`, poll_transmit / poll_event, one next_deadline(). It owns one coap::Endpoint and
// channel per listener (NoSec, or DTLS through a dtls::ServerTable whose credentials come from the
// configuration store), answers Bootstrap-Requests (LwM2M TS 1.1 §5.2.7.1), runs one session per
// endpoint: Bootstrap-Delete, Bootstrap-Write of each instance, optional Bootstrap-Discover and
// Bootstrap-Read, Bootstrap-Finish (TS 1.1 §5.2.7, TS 1.2 §5.2.7), and reports each outcome with
// the credential records the DM servers need.
//
// Listener i is the driver's socket i: transport::Loop calls on_datagram(now, i, from, bytes) and
// sends every Datagram from sockets()[d.socket].
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/log.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/bootstrap/errc.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dtls/keygen.hpp>
#include <lwm2m/dtls/server_table.hpp>
#include <lwm2m/format/content_format.hpp>
#include <lwm2m/format/link_format.hpp>
#include <lwm2m/store/bootstrap_config_store.hpp>

namespace lwm2m::bootstrap {

/// One local socket of the bootstrap server (e.g. 5783 NoSec, 5784 DTLS).
struct Listener {
    enum class Security : std::uint8_t { nosec, dtls };
    Security security = Security::nosec;
    /// DTLS settings for Security::dtls: PSK handshakes are always enabled (keys looked up in the
    /// configuration store); set `rpk` / `x509` (+ client_ca_der) to accept RPK / certificate
    /// clients. Caps (sessions, timeouts) as in dtls::ServerTable.
    dtls::ServerConfig dtls;
};

struct EngineConfig {
    /// At least one, at most 16. Index = the driver's socket index.
    std::vector<Listener> listeners{Listener{}};
    /// CoAP settings of each listener's endpoint (RFC 7252 §4.8 transmission parameters, caps).
    coap::Config coap{};
    /// Accept Bootstrap-Requests over NoSec listeners (from endpoints whose bootstrap credentials
    /// are NoSec). Off by default: TS 1.1 Transport §5.1 requires mutual authentication unless
    /// security is provided outside LwM2M.
    bool allow_nosec = false;
    /// A session (Request to Finish answer) must end within this time, whatever the client does.
    Duration session_timeout = std::chrono::minutes(5);
    /// Before Bootstrap-Finish, emit CredentialsPending and wait for credentials_persisted()
    /// (docs/bootstrap.md "Events and durability").
    bool hold_finish_until_persisted = false;
    /// Concurrent sessions; a Bootstrap-Request beyond it is answered 5.03.
    std::size_t max_sessions = 100000;
    /// Endpoints whose last address is remembered for server-initiated bootstrap (oldest dropped).
    std::size_t max_known_peers = 1000000;
    /// The CA that issues device certificates for generated X.509 credentials (checked by
    /// create()). Without it such configurations fail at session start (5.00 to the request).
    std::optional<dtls::CertificateIssuer> certificate_issuer;
    /// Client diagnostic payloads (e.g. the reasons of a 4.06) kept in events, in bytes.
    std::size_t max_diagnostic_bytes = 512;
};

enum class Initiator : std::uint8_t { client, server };

/// The step a session is in (or failed at).
enum class Step : std::uint8_t {
    request,      ///< the Bootstrap-Request (or the start of a server-initiated session)
    discover_ids, ///< Bootstrap-Discover /0 to find the device's Bootstrap-Server instance id
    delete_,      ///< Bootstrap-Delete
    write,        ///< Bootstrap-Write
    discover,     ///< the configured Bootstrap-Discover
    read,         ///< Bootstrap-Read
    persist,      ///< waiting for credentials_persisted()
    finish,       ///< Bootstrap-Finish
};
[[nodiscard]] std::string_view to_string(Step s) noexcept;
[[nodiscard]] std::string_view to_string(Initiator i) noexcept;

struct BootstrapStarted {
    std::uint64_t session = 0;
    std::string endpoint;
    std::uint16_t listener = 0;
    PeerAddr peer;
    Initiator initiator = Initiator::client;
};

/// Only with EngineConfig::hold_finish_until_persisted: store these (as pending) and call
/// credentials_persisted(now, session); Bootstrap-Finish goes out after that.
struct CredentialsPending {
    std::uint64_t session = 0;
    std::string endpoint;
    std::vector<store::DmCredential> credentials;
};

struct BootstrapFinished {
    std::uint64_t session = 0;
    std::string endpoint;
    std::uint16_t listener = 0;
    PeerAddr peer;
    Initiator initiator = Initiator::client;
    /// One record per DM account written: what each DM server needs to authenticate the device.
    std::vector<store::DmCredential> credentials;
    /// Configured Security instance id -> the id written (differs when it was the device's
    /// Bootstrap-Server instance id, BootstrapConfig::avoid_bootstrap_instance_id).
    std::map<std::uint16_t, std::uint16_t> security_ids;
    /// The `lwm2m="x.y"` the client reported in a Bootstrap-Discover answer, if any.
    std::string client_version;
    std::optional<std::vector<format::Link>> discovered; ///< the configured Discover's answer
    std::vector<dm::Content> reads;                      ///< the configured Reads' answers
    format::ContentFormat format = format::ContentFormat::lwm2m_tlv; ///< of the writes
    Duration elapsed{};
};

struct BootstrapFailed {
    std::uint64_t session = 0; ///< 0: no session was started (the request was refused)
    std::string endpoint;      ///< may be empty for a request without a usable `ep`
    std::uint16_t listener = 0;
    PeerAddr peer;
    Step step = Step::request;
    std::optional<dm::Path> path;   ///< the target of the failed step
    std::optional<coap::Code> code; ///< the client's answer, or ours to a refused request
    std::string reason;             ///< sanitised: our text or the client's diagnostic payload
    Error error;                    ///< bootstrap::Errc, or coap::Errc (timeout, reset)
};

using Event =
    std::variant<BootstrapStarted, CredentialsPending, BootstrapFinished, BootstrapFailed>;

/// One line for logs: endpoints and reasons escaped, keys only as "<secret: N bytes>".
[[nodiscard]] std::string describe(const Event& event);

struct Stats {
    std::uint64_t requests = 0;         ///< Bootstrap-Requests received (well-formed or not)
    std::uint64_t refused = 0;          ///< answered with an error
    std::uint64_t started = 0;          ///< sessions started (client and server initiated)
    std::uint64_t finished = 0;         ///< Bootstrap-Finish answered 2.04
    std::uint64_t failed = 0;           ///< sessions that failed
    std::uint64_t active = 0;           ///< sessions running now
    std::uint64_t format_fallbacks = 0; ///< writes repeated in the other format after a 4.15
    std::uint64_t ids_moved = 0;        ///< Security instances moved off the Bootstrap-Server id
};

class Engine {
public:
    /// `store`, `random`, `wall` and `logger` must outlive the engine. `random.fill()` provides
    /// generated key bytes and must be a CSPRNG outside tests (transport::SystemRandom).
    /// Errors: Errc::invalid_config (no listener, more than 16, a session_timeout <= 0, an
    /// unusable certificate_issuer),
    /// dtls::Errc (a DTLS listener's ServerTable::create failed).
    [[nodiscard]] static Result<Engine> create(EngineConfig config,
                                               store::BootstrapConfigStore& store, Random& random,
                                               const WallClock& wall,
                                               Logger& logger = NullLogger::instance());

    Engine(Engine&&) noexcept;
    Engine& operator=(Engine&&) noexcept;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine();

    /// A datagram on listener 0.
    void on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes);
    /// A datagram on listener `listener` (out of range: dropped).
    void on_datagram(TimePoint now, std::uint16_t listener, const PeerAddr& from, BytesView bytes);
    void on_timeout(TimePoint now);
    /// The next datagram; Datagram::socket is its listener.
    [[nodiscard]] std::optional<Datagram> poll_transmit();
    [[nodiscard]] std::optional<Event> poll_event();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    /// Server-initiated bootstrap (TS 1.1 §5.2.3.4) to the address the endpoint last bootstrapped
    /// from. Returns the session id. Errors: Errc::unknown_endpoint, Errc::no_known_peer, and as
    /// the overload below.
    [[nodiscard]] Result<std::uint64_t> start_server_initiated(TimePoint now,
                                                               std::string_view endpoint);
    /// Server-initiated bootstrap to `peer` on `listener`. A DTLS listener needs an established
    /// session with `peer` whose identity is the endpoint's bootstrap identity; a NoSec listener
    /// needs allow_nosec and NoSec bootstrap credentials. A running session of the endpoint (or
    /// of the peer) fails as superseded. Errors: Errc::unknown_endpoint, Errc::no_such_listener,
    /// Errc::not_authenticated, Errc::session_limit, Errc::credential_generation.
    [[nodiscard]] Result<std::uint64_t> start_server_initiated(TimePoint now,
                                                               std::string_view endpoint,
                                                               std::uint16_t listener,
                                                               const PeerAddr& peer);
    /// The credentials of CredentialsPending{session} are durable: send Bootstrap-Finish.
    /// Errors: Errc::no_session (unknown session, or not waiting).
    Result<void> credentials_persisted(TimePoint now, std::uint64_t session);
    /// Ends the endpoint's session (BootstrapFailed{cancelled}). Errors: Errc::no_session.
    Result<void> cancel(TimePoint now, std::string_view endpoint);

    [[nodiscard]] Stats stats() const;
    /// True once each time a DTLS listener's session table shrank a lot
    /// (dtls::ServerTable::take_release_hint()): the driver then calls
    /// transport::release_free_heap().
    [[nodiscard]] bool take_release_hint() noexcept;
    /// The CoAP counters of a listener (nullopt when out of range).
    [[nodiscard]] std::optional<coap::Stats> coap_stats(std::uint16_t listener) const;

    struct Impl;

private:
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lwm2m::bootstrap
