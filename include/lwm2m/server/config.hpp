// Configuration of the device-management server engine (docs/server.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <lwm2m/base/log.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dm/object_def.hpp>
#include <lwm2m/dtls/server_table.hpp>
#include <lwm2m/format/content_format.hpp>
#include <lwm2m/store/security_store.hpp>

namespace lwm2m::server {

enum class ListenerSecurity : std::uint8_t {
    nosec, ///< plain CoAP (LwM2M "NoSec", coap://, usually port 5683)
    dtls,  ///< CoAP over DTLS 1.2 (coaps://, usually port 5684): PSK, RPK and/or X.509
};

/// One local socket the server listens on. The engine's listener i is the driver's socket i
/// (Datagram::socket, transport::Loop's sockets()).
struct ListenerConfig {
    ListenerSecurity security = ListenerSecurity::nosec;
    coap::Config coap;       ///< CoAP transmission parameters and limits of this listener
    dtls::ServerConfig dtls; ///< DTLS listeners: our credentials, session limits
};

/// Who may register without DTLS.
enum class NoSecPolicy : std::uint8_t {
    refuse, ///< nobody (4.03)
    listed, ///< endpoints whose SecurityInfo says mode nosec
    any,    ///< any endpoint that has no SecurityInfo requiring security
};

/// Read-through of registrations held by other nodes sharing the store (docs/cluster-nodes.md
/// "Several nodes"): an Update, De-register or Send whose registration this engine does not hold is
/// parked and the driver is asked to look it up (Engine::poll_lookup); an expiry is checked against
/// the store before the removal is journaled (another node may have taken the client over).
struct ReadThroughConfig {
    bool enabled = false;
    /// Requests parked at once, in all and per client address; beyond them 5.03.
    std::size_t max_parked = 4096;
    std::size_t max_parked_per_peer = 4;
    /// A lookup not answered by then: its request gets 5.03, its expiry check expires.
    Duration timeout = std::chrono::seconds(5);
};

struct EngineConfig {
    /// At least one. Index = socket index.
    std::vector<ListenerConfig> listeners = {ListenerConfig{}};
    /// The registration resource: "/rd" (TS 1.1 §6.2.1). One path segment.
    std::string rd_path = "rd";
    NoSecPolicy nosec = NoSecPolicy::refuse;
    /// An X.509 client whose certificate verified but that has no SecurityInfo may register as the
    /// endpoint named by its subject CN (TS 1.1 §7.1.9: the CN carries the endpoint name).
    bool x509_cn_is_endpoint = true;

    /// Accepted "lt" values (seconds). TS 1.1 §6.2.1: 86400 when absent.
    std::uint32_t min_lifetime = 1;
    std::uint32_t max_lifetime = 0xFFFFFFFFu;
    /// A registration expires lifetime + grace after its last Register/Update.
    Duration lifetime_grace = std::chrono::seconds(30);
    /// New registrations beyond this are answered 5.03 (replacements always pass).
    std::size_t max_registrations = 1'000'000;
    /// Engine::take_release_hint() turns true once the registrations have dropped this many below
    /// their peak since the last hint (a mass expiry or de-registration: glibc keeps the freed
    /// pages until the driver calls transport::release_free_heap()).
    std::size_t release_hint_registrations = 512;

    /// Prepended to every location this engine hands out (lower-case letters, digits, '-', at
    /// most 16): nodes sharing a store use distinct prefixes so that their locations never
    /// collide. Empty: locations are hex(slot) + hex(nonce).
    std::string location_prefix;
    ReadThroughConfig read_through;
    /// DTLS session continuity between nodes (docs/cluster-nodes.md "DTLS session takeover"):
    /// the engine reports sessions established and closed (Engine::poll_session_note) and the
    /// sessions that received datagrams (Engine::take_active_sessions) for the driver to
    /// export them and persist their read high-water marks. Off: nothing is recorded.
    bool session_continuity = false;

    /// Journal registration changes for a RegistrationStore (take_changes / on_persisted).
    /// false: nothing is journaled and responses go out at once (no durability).
    bool journal = true;
    /// With journal: hold the 2.01/2.04/2.02 of a registration change until on_persisted()
    /// says the change is durable. false: respond at once, persist behind.
    bool hold_until_persisted = true;

    /// Strict mode: refuse what lenient mode tolerates (register_parser.hpp notes) and decode
    /// client data only by the registered object versions (no untyped values, one base64
    /// alphabet per format). Default: lenient, and say so in the log once per registration.
    bool strict = false;

    /// Default timeout of a downlink request, from submission (queue waiting included).
    Duration request_timeout = std::chrono::seconds(60);
    /// Queue mode: how long a client stays reachable after each message from it. Zero means the
    /// listener's CoAP MAX_TRANSMIT_WAIT (93 s by default; TS 1.1.1 Transport §6.5 / 1.0.2
    /// §8.3: the client waits at least MAX_TRANSMIT_WAIT before going offline).
    Duration awake_time{0};
    /// Per client: requests waiting to be sent, and requests in flight at once.
    std::size_t max_queued_requests = 64;
    std::size_t max_inflight_requests = 4;
    /// Per client: active observations.
    std::size_t max_observations = 64;

    /// Preferred content formats for multi-value payloads, best first. Used with the formats a
    /// client declares (ct= on its root link, TS 1.1 §6.2.1); without ct=, 1.0 clients get TLV
    /// (TS 1.0 §6.4: mandatory) and 1.1+ clients the first of SenML CBOR/JSON here (TS 1.1 §7.4:
    /// a 1.1 client SHOULD support one of them), and plain text / opaque for single values
    /// (TS 1.1 §7.4: MUST support).
    std::vector<format::ContentFormat> format_preference = {
        format::ContentFormat::senml_cbor, format::ContentFormat::lwm2m_cbor,
        format::ContentFormat::senml_json, format::ContentFormat::lwm2m_tlv,
        format::ContentFormat::lwm2m_json};

    /// Object definitions beyond the built-in Objects 0-7 (e.g. loaded with dm::load_ddf_dir),
    /// any number of versions per object; they replace a built-in of the same id and version.
    std::vector<dm::ObjectDef> objects;
    /// Distinct object-version combinations kept as decoding models (beyond it the version's
    /// default model is used and a warning logged).
    std::size_t max_model_profiles = 256;
};

/// What the engine uses but does not own; everything must outlive the engine.
struct EngineDeps {
    store::SecurityStore& security; ///< credentials (O(1) lookups on the engine thread)
    Random& random;
    WallClock& wall_clock; ///< registration times in records (restart: remaining lifetimes)
    Logger& logger = NullLogger::instance();
};

} // namespace lwm2m::server
