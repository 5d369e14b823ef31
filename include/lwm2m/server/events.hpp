// What the engine reports through Engine::poll_event().
//
// Registration events (Registered, Updated, Deregistered for a client's De-register) are emitted
// when the change is durable, together with the client's response (EngineConfig::
// hold_until_persisted); expiries at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/coap/message.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/format/content_format.hpp>
#include <lwm2m/format/link_format.hpp>
#include <lwm2m/server/request.hpp>
#include <lwm2m/store/event_log.hpp>

namespace lwm2m::server {

struct Registered {
    std::string endpoint;
    std::string location;
    dm::Lwm2mVersion version = dm::Lwm2mVersion::v1_0;
    std::uint32_t lifetime_s = 0;
    bool queue_mode = false;
    PeerAddr peer;
    std::uint16_t socket = 0;
    bool replaced = false; ///< a previous registration of the endpoint was replaced
    bool restored = false; ///< loaded from the store by Engine::restore()
    bool adopted = false;  ///< read-through: registered at another node, loaded from the store
};

struct Updated {
    std::string endpoint;
    std::string location;
    PeerAddr peer;
    bool address_changed = false;
    bool objects_changed = false;
    bool parameters_changed = false; ///< lt, b, Q or sms changed
};

enum class DeregisterReason : std::uint8_t {
    deregistered, ///< the client's De-register (TS 1.1 §6.2.3)
    expired,      ///< lifetime + grace passed without Update
    removed,      ///< Engine::deregister() (operator)
    not_durable,  ///< the store refused the registration (on_persist_failed)
    moved,        ///< read-through: at expiry the store held a newer registration or none
                  ///< (another node serves the client now); the store is left alone
};
[[nodiscard]] std::string_view to_string(DeregisterReason r) noexcept;

struct Deregistered {
    std::string endpoint;
    std::string location;
    DeregisterReason reason = DeregisterReason::deregistered;
};

/// The answer to a downlink request (any CoAP response code: errors are data).
struct ResponseEvent {
    RequestId id;
    std::string endpoint;
    Operation op = Operation::read;
    coap::Code code;
    std::optional<format::ContentFormat> format; ///< of the payload, when it had one
    std::optional<dm::Content> content;          ///< read / observe, decoded by the client's model
    std::vector<dm::Record> records;             ///< read_composite / observe_composite
    std::vector<format::Link> links;             ///< discover
    std::string location;   ///< create: the Location-Path of the new instance ("/3303/1")
    std::string diagnostic; ///< 4.xx/5.xx: the payload as text (printable only)
    Error decode_error;     ///< a 2.xx payload that could not be decoded
    std::size_t payload_size = 0;
    Duration rtt{0};           ///< from sending the request to the (last block of the) response
    ObservationId observation; ///< observe / observe_composite: the observation established
};

/// A downlink request ended without an answer. error: server::Errc::timeout, cancelled,
/// deregistered; coap::Errc::timeout, reset, peer_limit, ...; format errors when the request
/// could not be encoded for the client.
struct RequestFailed {
    RequestId id;
    std::string endpoint;
    Operation op = Operation::read;
    Error error;
};

struct NotificationEvent {
    ObservationId id;
    std::string endpoint;
    std::uint32_t seq = 0; ///< the Observe option value (RFC 7641)
    coap::Code code;
    std::optional<format::ContentFormat> format;
    std::optional<dm::Content> content; ///< observe
    std::vector<dm::Record> records;    ///< observe_composite, and timestamped SenML notifications
    Error decode_error;
    std::size_t payload_size = 0;
};

enum class ObservationEndReason : std::uint8_t {
    cancelled,    ///< cancel_observation / forget_observation
    registration, ///< the registration ended or was replaced (TS 1.1 §6.2.1: a new Register)
    reset,        ///< the client answered a notification with RST / stopped (RFC 7641 §3.6)
    error,        ///< a notification with an error code ended it (RFC 7641 §3.2)
    refused,      ///< the response to the observe request carried no Observe option
};
[[nodiscard]] std::string_view to_string(ObservationEndReason r) noexcept;

struct ObservationEnded {
    ObservationId id;
    std::string endpoint;
    ObservationEndReason reason = ObservationEndReason::cancelled;
};

/// Information Reporting "Send" (TS 1.1 §6.4.6: POST /dp), answered 2.04.
struct SendEvent {
    std::string endpoint;
    format::ContentFormat format = format::ContentFormat::senml_cbor;
    std::vector<dm::Record> records;
    std::size_t payload_size = 0;
};

using Event = std::variant<Registered, Updated, Deregistered, ResponseEvent, RequestFailed,
                           NotificationEvent, ObservationEnded, SendEvent>;

/// The event as a log record (store::EventLog): kind and a short detail text (no values of
/// resources beyond their count, never key material).
[[nodiscard]] store::EventRecord to_event_record(const Event& e, std::int64_t unix_ms);

} // namespace lwm2m::server
