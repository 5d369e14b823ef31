// The LwM2M client engine (docs/client.md): one sans-I/O object that runs every server account of
// a device: bootstrap (TS 1.1/1.2 §5.2), registration (§6.2), device management (§5.4, §6.3),
// information reporting (§5.1.2 attributes, §6.4 Observe/Notify, 1.1 Send) and the firmware
// package download (pull), over CoAP (RFC 7252/7959/7641) with NoSec or DTLS 1.2 per account.
//
// Same contract as coap::Endpoint (docs/architecture.md §2):
//
//   Engine eng(cfg, accounts, registry, random, wall, resolver, logger);
//   eng.add_object(device);                 // Objects 0 and 1 come from the AccountStore
//   eng.start(now);
//   loop: feed on_datagram(now, from, bytes); on_timeout(now) when now >= next_deadline();
//         drain poll_transmit() to the socket and poll_event() to the application.
//
// One thread owns the engine; objects call ChangeListener::on_changed (the engine) from that
// thread. Memory is bounded by the EngineConfig limits (observations, stored notifications,
// body sizes); nothing grows with time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/log.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/client/client_config.hpp>
#include <lwm2m/client/engine_hooks.hpp>
#include <lwm2m/client/object.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/format/content_format.hpp>

namespace lwm2m::client {

/// Host-name resolution for Server URIs (the app uses transport::resolve_udp, tests a map). May
/// block; the engine calls it when it (re)connects an account whose URI names a host, never for
/// IP literals. Errors: any error code (the connection attempt then fails like a timeout).
class Resolver {
public:
    virtual ~Resolver() = default;
    [[nodiscard]] virtual Result<PeerAddr> resolve(std::string_view host, std::uint16_t port) = 0;
};

/// The factory configuration source (TS 1.1 §5.2.3 Factory Bootstrap, §5.2.4 Smartcard): content
/// written with Actor::factory before AccountStore::finish(). The app reads it from a file.
class FactorySource {
public:
    virtual ~FactorySource() = default;
    /// Content to write (each replaces its target), typically /0 and /1 objects. Errors: any
    /// (the engine then falls back to client-initiated bootstrap).
    [[nodiscard]] virtual Result<std::vector<dm::Content>> factory_content() = 0;
};

struct EngineConfig {
    /// Endpoint Client Name (`ep=`, TS 1.1 §6.2.1.1); must not be empty.
    std::string endpoint_name;
    /// Enabler version spoken (`lwm2m=` 1.0 / 1.1 / 1.2) and the object versions assumed by
    /// default.
    dm::Lwm2mVersion version = dm::Lwm2mVersion::v1_1;
    /// Queue mode: `b=UQ` in 1.0, `Q` query parameter in 1.1+ (TS 1.1 §6.2.1.1, §6.5).
    bool queue_mode = false;
    /// `sms=` MSISDN of the device, when the SMS binding is offered (registered, never used).
    std::optional<std::string> sms_number;
    /// Format for multi-value answers without an Accept option (TS 1.1 §7.4): nullopt means
    /// TLV for 1.0, SenML CBOR for 1.1/1.2 (1.1 clients "SHOULD NOT use the legacy TLV"); when
    /// that format is not offered (`formats`), the first offered of SenML CBOR, SenML JSON,
    /// LwM2M CBOR, LwM2M JSON, TLV.
    std::optional<format::ContentFormat> preferred_format;
    /// The content formats the client reads and writes besides text/plain, octet-stream and
    /// link-format (always offered). Empty: every format built into lwm2m::format
    /// (format::built_in, CMake LWM2M_FORMATS). A format neither offered nor built in is answered
    /// 4.15 Unsupported Content-Format in a request body (Write, Create, Write-Composite,
    /// Bootstrap-Write, Read-Composite's FETCH body) and 4.06 Not Acceptable in an Accept option
    /// (RFC 7252 §5.10.4, §5.9.2.8; TS 1.1 §7.4).
    std::vector<format::ContentFormat> formats;
    /// Extra formats listed on the root link `</>;rt="oma.lwm2m";ct=...` (1.1+, TS 1.1 §6.2.1).
    /// Empty: the root link lists the preferred format when it is not the mandatory text/opaque.
    std::vector<std::uint16_t> advertised_formats;
    /// `pct=` in the Bootstrap-Request (1.1+): nullopt uses the preferred format.
    std::optional<format::ContentFormat> bootstrap_pct;

    /// CoAP transmission parameters of every server session (RFC 7252 §4.8).
    coap::Config coap;
    /// Registration Update margin: the Update goes at registration + lifetime - margin with
    /// margin = max(update_margin, MAX_TRANSMIT_WAIT), at most lifetime / 2.
    Duration update_margin = std::chrono::seconds(10);
    /// Queue mode: stop listening this long after the last exchange (0: MAX_TRANSMIT_WAIT, TS
    /// 1.1 §6.5 "at least MAX_TRANSMIT_WAIT").
    Duration queue_mode_timeout{0};

    /// Client-initiated bootstrap: uniform random extra wait [0, jitter] added to the Client Hold
    /// Off Time (Object 0 Resource 11), so that a fleet does not storm the Bootstrap Server.
    Duration bootstrap_jitter = std::chrono::seconds(10);
    /// A bootstrap that has not finished this long after the last Bootstrap-Server request is
    /// abandoned (rolled back) and retried (0: EXCHANGE_LIFETIME).
    Duration bootstrap_timeout{0};
    /// Retry back-off of failed bootstraps: hold-off * 2^n, capped by this (plus jitter).
    Duration bootstrap_backoff_max = std::chrono::hours(1);

    /// Bounds (flood / memory protection).
    std::size_t max_observations_per_server = 32;
    std::size_t max_stored_notifications = 16; ///< per server (Object 1 Resource 6)
    std::size_t max_attribute_entries = 128;   ///< Write-Attributes entries per server
    std::size_t max_composite_paths = 32;      ///< paths in one Read/Observe-Composite or Send
    /// DTLS (coaps accounts): handshake timeout and MTU.
    Duration dtls_handshake_timeout = std::chrono::seconds(60);
    std::size_t dtls_mtu = 1232;
    /// Largest firmware package fetched (Block2 bodies are reassembled by the CoAP endpoint).
    std::size_t max_download_size = 4u << 20;
};

/// Registration state of one LwM2M Server account.
enum class RegState : std::uint8_t {
    idle,          ///< not started, or waiting for the Initial Registration Delay
    registering,   ///< Register sent
    registered,    ///< registered and listening
    updating,      ///< Update sent
    deregistering, ///< De-register sent
    waiting_retry, ///< a failed attempt waits for its retry time (TS 1.1 §6.2.1.1)
    disabled,      ///< Object 1 Resource 4 executed: offline until the Disable Timeout passes
    failed,        ///< every retry sequence failed
};
[[nodiscard]] std::string_view to_string(RegState s) noexcept;

struct EngineEvent {
    enum class Kind : std::uint8_t {
        registered,          ///< Register answered 2.01 (ssid)
        updated,             ///< Update answered 2.04 (ssid)
        registration_failed, ///< every retry failed (ssid, error)
        deregistered,        ///< De-register done (ssid) or stop() completed for it
        bootstrap_started,   ///< client-initiated (Bootstrap-Request sent) or server-initiated
        bootstrap_finished,  ///< Bootstrap-Finish accepted: accounts committed
        bootstrap_failed,    ///< a bootstrap attempt failed (timeout, 4.xx, Finish 4.06); retried
        state_changed,       ///< snapshot() changed: persist it
        sleeping,            ///< queue mode: nothing to receive until `until` (the radio may sleep)
        awake,               ///< queue mode: the engine talks again
        send_done,           ///< a Send (1.1) was answered 2.xx (send_id)
        send_failed,         ///< a Send failed (send_id, error)
        disabled,            ///< Object 1 Resource 4: offline until `until` (ssid)
        account_purged,      ///< Bootstrap-Server account purged (Object 0 Resource 12)
    };
    Kind kind{};
    ShortServerId ssid{};
    Error error;
    std::uint64_t send_id = 0;
    std::optional<TimePoint> until;
};

struct EngineStats {
    std::uint64_t requests_handled = 0;       ///< requests answered (DM + bootstrap)
    std::uint64_t notifications_sent = 0;     ///< notifications handed to CoAP
    std::uint64_t notifications_stored = 0;   ///< kept while offline (Resource 6)
    std::uint64_t notifications_dropped = 0;  ///< stored queue full (oldest dropped) / not stored
    std::uint64_t unknown_source_dropped = 0; ///< datagrams from no configured server
    std::uint64_t registrations = 0;          ///< successful Register operations
    std::uint64_t updates = 0;                ///< successful Update operations
    std::uint64_t bootstraps = 0;             ///< successful Bootstrap-Finish
    std::uint64_t dtls_handshakes = 0;        ///< DTLS handshakes completed (any account)
};

/// The files an application persists: accounts (keys: write with mode 0600, e.g.
/// store::write_file_atomic) and the engine state (no key material).
struct EngineSnapshot {
    SecretBytes accounts; ///< client::encode_config(AccountStore::committed())
    Bytes state;          ///< encode_engine_state()
};

class Engine final : public ChangeListener, public PackageFetcher {
public:
    /// Every reference must outlive the engine. `accounts` holds Objects 0 and 1 (the engine
    /// registers them itself); `registry` decodes payloads (it must know every added object).
    Engine(EngineConfig config, AccountStore& accounts, const dm::ObjectRegistry& registry,
           Random& random, const WallClock& wall, Resolver& resolver,
           Logger& logger = NullLogger::instance());
    ~Engine() override;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Adds an object (2..n; Objects 0 and 1 are the AccountStore's). Errors:
    /// lwm2m::Errc::invalid_argument (object 0/1 or an id already added), Errc::invalid_state
    /// after start().
    Result<void> add_object(ObjectHandler& object);
    /// The Access Control Object (2), consulted when more than one DM server account exists.
    void set_access_controller(AccessController* acl) noexcept;
    /// Used at start() when no LwM2M Server account exists yet.
    void set_factory_source(FactorySource* source) noexcept;

    /// Restores the state of a previous run (before start()). Errors: client::Errc::config_*
    /// (corrupt state: the engine starts afresh, which is always safe), Errc::invalid_state.
    Result<void> restore_state(BytesView state, TimePoint now);
    /// Starts: factory bootstrap if needed, then client-initiated bootstrap or registration
    /// with every account (an Update for registrations restored as still valid).
    void start(TimePoint now);
    /// De-registers from every server (TS 1.1 §6.2.3) and stops once they answered or failed.
    void stop(TimePoint now);
    [[nodiscard]] bool stopped() const noexcept;

    /// Registration Update now (with changed parameters only). ssid nullopt: every server.
    /// Errors: lwm2m::Errc::not_found (no such server account).
    Result<void> trigger_update(TimePoint now, std::optional<ShortServerId> ssid = std::nullopt);
    /// Client-initiated bootstrap now (after the hold-off). Errors: lwm2m::Errc::not_found (no
    /// Bootstrap-Server account).
    Result<void> request_bootstrap(TimePoint now);
    /// LwM2M 1.1 Send (TS 1.1 §6.4.7): POST /dp with the current values of `paths`. Returns an
    /// id reported in send_done / send_failed. Errors: lwm2m::Errc::invalid_state (1.0, or the
    /// server is not registered), lwm2m::Errc::not_found (no such server), Status::forbidden
    /// (Mute Send, Object 1 Resource 23), Status codes of the reads, lwm2m::Errc::limit_exceeded.
    Result<std::uint64_t> send(TimePoint now, ShortServerId ssid,
                               const std::vector<dm::Path>& paths);

    // --- sans-I/O ---
    void on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes);
    void on_timeout(TimePoint now);
    [[nodiscard]] std::optional<Datagram> poll_transmit();
    [[nodiscard]] std::optional<EngineEvent> poll_event();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    // --- ChangeListener: values changed outside a server Write (cheap; evaluated next step) ---
    void on_changed(const dm::Path& path) override;
    // --- PackageFetcher (Firmware Update pull, TS 1.1 E.6) ---
    void start_download(std::string_view uri, DownloadSink& sink) override;
    void cancel_download() override;

    // --- state for the application ---
    /// What to persist; changes are announced by EngineEvent::state_changed.
    [[nodiscard]] EngineSnapshot snapshot() const;
    [[nodiscard]] RegState reg_state(ShortServerId ssid) const;
    [[nodiscard]] bool bootstrapping() const noexcept;
    /// False while queue mode lets the radio sleep (see EngineEvent::sleeping).
    [[nodiscard]] bool listening() const noexcept;
    [[nodiscard]] EngineStats stats() const noexcept;
    [[nodiscard]] const EngineConfig& config() const noexcept;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace lwm2m::client
