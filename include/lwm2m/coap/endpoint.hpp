// The sans-I/O CoAP endpoint (docs/architecture.md §2): RFC 7252 message layer (reliability,
// deduplication, piggybacked/separate responses, NSTART), RFC 7959 block-wise transfers (both
// roles, transparent to the application) and RFC 7641 Observe (both roles).
//
// One Endpoint serves both roles at once: the LwM2M client (a few peers, bounded memory, no
// threads) and the LwM2M server (1e5 peers on one thread). It never reads the clock, never does
// I/O: the driver feeds datagrams and timeouts and drains poll_transmit()/poll_event().
//
// Design choices (documented here once; the .cpp cites the RFC sections):
//  - Malformed datagrams are dropped and counted (Stats::malformed_dropped). A CON whose 4-byte
//    header is readable but whose options/token are malformed is answered with RST (RFC 7252
//    §4.2 "reject"); a CON request with an unrecognized critical option gets 4.02 Bad Option
//    piggybacked (§5.4.1), a NON request with one is dropped silently, a CON/NON response with
//    one is answered with RST and its request fails with lwm2m::Errc::parse_error.
//    If-Match, If-None-Match (§5.10.8) and OSCORE (RFC 8613) are not implemented, so they are
//    such unrecognized options (never ignored). A request with Proxy-Uri or Proxy-Scheme gets
//    5.05 Proxying Not Supported (§5.7.2; NON requests too): the endpoint is no proxy.
//  - A RST with a code other than 0.00 (§4.2) and messages of the reserved classes 1, 3, 6, 7
//    (§3) are dropped and counted as malformed; a CON of a reserved class is answered with RST.
//  - Cached replies (kept EXCHANGE_LIFETIME for deduplication, §4.5) count in
//    Config::max_buffered_bytes: while fewer than max_message_size bytes of it are free, new
//    requests are refused with 5.03 (NON dropped), as for the dedup limits.
//  - Client role, RFC 7641 §3.4 / RFC 7959 §2.6: a fresh notification arriving while the body
//    of an older Block2 notification is being fetched abandons that fetch (never delivered).
//  - A duplicate CON request whose response is not ready yet is answered with an empty ACK
//    (§4.2, §5.2.2): the response then goes separately (Config::ack_duplicate_when_pending).
//  - If the application has not answered a CON request after Config::auto_ack_delay, the empty
//    ACK is sent automatically and the later response is separate (CON by default, §5.2.2).
//  - Client role, RFC 7959: the first request proposes no Block2 size; any block size the
//    server uses is accepted and later blocks are asked with min(server's, own) size. A Block1
//    upload honours a smaller SZX in 2.31 (§2.3) and continues at the byte offset reached.
//  - Block2 continuation (client role) reuses the request's token for plain requests; for
//    Observe exchanges a second, fresh token is used for the GETs of the later blocks so that the
//    server never mistakes them for a re-registration (RFC 7959 §2.6, RFC 7641 §4.1).
//  - The server role keys Block1 reassembly and the Block2 body cache by (peer, request key);
//    the request key is a keyed 64-bit hash of the method plus Uri-Host/Port/Path/Query, Accept,
//    Content-Format and Proxy-* options (RFC 7959 §2.4: later blocks repeat the request's
//    options; the token may change between blocks). A peer has at most
//    Config::max_block_transfers_per_peer such transfers; a Block2 request whose body is no
//    longer cached goes to the application with the requested block (it answers with the whole
//    body again and the endpoint slices it).
//  - Timers: CON retransmissions, client response timeouts, block expiry and idle-peer
//    reclamation sit in a binary heap with lazy deletion; the fixed-delay timers (dedup expiry,
//    automatic empty ACK, unanswered-request expiry) are FIFOs (O(1)). next_deadline() is the
//    exact minimum (stale heads are discarded first).
//  - MIDs are per peer, starting at a random value; a peer's state (and so its MID counter) is
//    kept until EXCHANGE_LIFETIME after the last MID we sent it (RFC 7252 §4.4).
//  - cancel_request() on an Observe exchange sends nothing: the exchange is forgotten and the
//    next notification (unknown token) is answered with RST (RFC 7641 §3.6).
//    For an explicit deregistration, cancel_request() and then send_request() a GET with the
//    same token (Response::response.token) and Observe=1.
//  - NSTART (§4.7) counts outgoing requests only: a request holds its peer slot until its
//    (last) response or the empty ACK arrives, or it fails.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <variant>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/log.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/coap/errc.hpp>
#include <lwm2m/coap/message.hpp>

namespace lwm2m::coap {

/// An outgoing request (client role). Never 0 for a valid id.
struct RequestId {
    std::uint64_t value = 0;
    friend constexpr bool operator==(RequestId, RequestId) = default;
    friend constexpr auto operator<=>(RequestId, RequestId) = default;
};
/// An incoming request waiting for the application's response (server role).
struct IncomingId {
    std::uint64_t value = 0;
    friend constexpr bool operator==(IncomingId, IncomingId) = default;
    friend constexpr auto operator<=>(IncomingId, IncomingId) = default;
};
/// A registered observer (server role, RFC 7641 §4.1).
struct ObservationId {
    std::uint64_t value = 0;
    friend constexpr bool operator==(ObservationId, ObservationId) = default;
    friend constexpr auto operator<=>(ObservationId, ObservationId) = default;
};

/// Transmission parameters (RFC 7252 §4.8) and limits. Defaults are the RFC's.
struct Config {
    // RFC 7252 §4.8
    Duration ack_timeout = std::chrono::seconds(2);
    double ack_random_factor = 1.5; ///< >= 1.0; 1.0 makes the schedule deterministic
    unsigned max_retransmit = 4;
    unsigned nstart = 1;                              ///< outstanding requests per peer (§4.7)
    Duration max_latency = std::chrono::seconds(100); ///< §4.8.2
    Duration processing_delay = std::chrono::seconds(2);

    /// Server role: send the empty ACK of a CON request the application has not answered yet
    /// after this delay (the response then goes separately, §5.2.2).
    Duration auto_ack_delay = std::chrono::seconds(1);
    /// Server role: answer a duplicate CON request that is still being processed with an empty
    /// ACK (§4.2); false: ignore such duplicates.
    bool ack_duplicate_when_pending = true;
    /// Server role: separate responses are CON (true, the default) or NON (§5.2.2).
    bool separate_response_confirmable = true;
    /// Client role: how long to wait for the response of a NON request, and for the separate
    /// response after an empty ACK. Zero means "derived": MAX_TRANSMIT_WAIT for NON,
    /// EXCHANGE_LIFETIME after an empty ACK.
    Duration non_response_timeout{0};
    Duration separate_response_timeout{0};

    /// Token length assigned by the endpoint (1..8) when the request's token is empty.
    std::size_t token_length = 8;
    /// Preferred block size (RFC 7959 §2.2, 16..1024, rounded down to a power of two): bodies
    /// larger than this are sent block-wise, and it is proposed to peers.
    std::size_t block_size = 1024;
    /// Largest encoded datagram the endpoint sends (requests above it fail message_too_large).
    std::size_t max_message_size = 1280;
    /// Largest body reassembled or sent (Block1/Block2), RFC 7959 §2.9.3 4.13 above it.
    std::size_t max_body_size = 1 << 20;
    /// How long a block-wise body (reassembly or response cache) is kept without activity.
    /// Zero means EXCHANGE_LIFETIME.
    Duration block_lifetime{0};
    /// RFC 7641 §4.5: at least one CON notification per this interval per observer.
    Duration con_notification_interval = std::chrono::hours(24);

    // Limits (flood protection). Exceeding one refuses the new thing.
    std::size_t max_peers = 200000;
    std::size_t max_exchanges_per_peer = 16; ///< client requests in flight + incoming requests
    std::size_t max_queued_requests = 16;    ///< per peer, waiting for an NSTART slot
    std::size_t max_dedup_entries = 1 << 20; ///< total (peer, MID) entries kept
    std::size_t max_dedup_per_peer = 2048;   ///< ~ requests a peer may send per EXCHANGE_LIFETIME
    std::size_t max_block_transfers_per_peer = 4; ///< Block1 reassemblies + Block2 caches
    std::size_t max_observations_per_peer = 64;
    /// Total bytes held (bodies, cached replies). New requests are refused with 5.03 while less
    /// than max_message_size of it is free.
    std::size_t max_buffered_bytes = 64u << 20;

    // Derived values (RFC 7252 §4.8.2).
    [[nodiscard]] Duration max_transmit_span() const noexcept;
    [[nodiscard]] Duration max_transmit_wait() const noexcept;
    [[nodiscard]] Duration exchange_lifetime() const noexcept;
    [[nodiscard]] Duration non_lifetime() const noexcept;
};

/// A request for the application (server role). `request.payload` is the full body after Block1
/// reassembly; Block1/Size1 (and a request Block2) options are removed: the endpoint echoes
/// Block1 and slices the response itself. Duplicates are never delivered twice (§4.5).
struct IncomingRequest {
    IncomingId id;
    PeerAddr peer;
    Message request;
    /// RFC 7641 §4.1: GET/FETCH with Observe=0. If the application's response is 2.xx and carries
    /// an Observe option, the registration `observation` becomes active (unless the peer has
    /// Config::max_observations_per_peer already: the response then goes without Observe).
    bool observe_register = false;
    /// GET/FETCH with Observe=1: the matching registration (if any) was removed and an
    /// ObservationEnded{deregistered} precedes this event.
    bool observe_deregister = false;
    ObservationId observation; ///< valid when observe_register
};

/// The (final) response of a request (client role), Block2 reassembled (Block2/Size2 removed).
/// For an Observe request, the first response; later ones are Notification events.
struct Response {
    RequestId id;
    PeerAddr peer;
    Message response;
};

/// A fresh notification of an Observe exchange (client role, RFC 7641 §3.2-3.4).
struct Notification {
    RequestId id;
    PeerAddr peer;
    Message notification;
    std::uint32_t seq = 0; ///< the Observe option value
};

/// A request ended without a response: coap::Errc::timeout, reset, cancelled, block_mismatch,
/// entity_too_large, peer_limit (queue dropped), or lwm2m::Errc::parse_error (the response had
/// an unknown critical option and was rejected).
struct RequestFailed {
    RequestId id;
    PeerAddr peer;
    Error error;
};

enum class ObservationEndReason : std::uint8_t {
    deregistered, ///< GET with Observe=1 (RFC 7641 §3.6)
    reset,        ///< the client answered a notification with RST (§3.6, §4.2)
    timeout,      ///< a CON notification was never acknowledged (§4.5)
    cancelled,    ///< cancel_observation()
    replaced,     ///< re-registration refused by a non-2.xx/observe-less response
};

struct ObservationEnded {
    ObservationId id;
    PeerAddr peer;
    ObservationEndReason reason;
};

using Event =
    std::variant<IncomingRequest, Response, Notification, RequestFailed, ObservationEnded>;

struct Stats {
    std::uint64_t datagrams_received = 0;
    std::uint64_t datagrams_sent = 0;
    std::uint64_t malformed_dropped = 0; ///< undecodable datagrams
    std::uint64_t duplicates = 0;        ///< duplicate CON/NON (by peer, MID)
    std::uint64_t retransmissions = 0;   ///< CON retransmissions sent
    std::uint64_t timeouts = 0; ///< CON exchanges that hit MAX_RETRANSMIT / response timeouts
    std::uint64_t resets_received = 0;
    std::uint64_t resets_sent = 0;
    std::uint64_t unmatched = 0;           ///< ACKs/responses that match no exchange
    std::uint64_t stale_notifications = 0; ///< dropped by the RFC 7641 §3.4 freshness rule
    std::uint64_t refused = 0;             ///< refused by a limit (5.03, drop or peer_limit)
    std::uint64_t bad_option = 0;          ///< unknown critical options (4.02 / drop / RST)
    std::uint64_t blocks_served = 0;       ///< Block2 slices served from the body cache
    std::uint64_t peers = 0;               ///< peers currently tracked
    std::uint64_t buffered_bytes = 0;      ///< bytes currently held
    std::uint64_t timer_entries = 0;       ///< timer heap size (live + lazily deleted)
};

class Endpoint {
public:
    /// `random` and `logger` must outlive the endpoint. The config is copied; nonsense values are
    /// clamped (block size to 16..1024, ack_random_factor >= 1, token length 1..8).
    Endpoint(const Config& config, Random& random, Logger& logger = NullLogger::instance());
    ~Endpoint();
    Endpoint(Endpoint&&) noexcept;
    Endpoint& operator=(Endpoint&&) noexcept;
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    /// Feeds one received datagram. Never fails: bad input is dropped and counted, or answered
    /// with RST / the right 4.xx.
    void on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes);
    /// Runs every timer due at `now` (retransmissions, timeouts, expiries).
    void on_timeout(TimePoint now);
    /// The next datagram to send, in order.
    [[nodiscard]] std::optional<Datagram> poll_transmit();
    /// The next event for the application, in order.
    [[nodiscard]] std::optional<Event> poll_event();
    /// Earliest timer; nullopt when nothing is pending. After on_timeout(now) it is > now.
    /// Amortised O(1) (stale heads are dropped). A deadline may produce no output when it is
    /// internal bookkeeping (idle-peer reclamation, expiries).
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    /// Sends a request (client role). `req.type` must be con or non, `req.code` a method. An empty
    /// token is replaced by a random one of Config::token_length bytes; the MID is always assigned
    /// by the endpoint. A body larger than the block size is sent with Block1 (RFC 7959 §2.5).
    /// Observe=0 in the request keeps the exchange open for notifications.
    /// Errors: lwm2m::Errc::invalid_argument (not a CON/NON request, or the token collides with
    /// an open exchange to that peer); coap::Errc::peer_limit (max peers, exchanges per peer,
    /// queue or buffered bytes exceeded: retry later); coap::Errc::entity_too_large (body over
    /// max_body_size); coap::Errc::message_too_large (headers alone exceed max_message_size).
    [[nodiscard]] Result<RequestId> send_request(TimePoint now, const PeerAddr& to, Message req);
    /// Stops a request (queued, in flight or observing): no more retransmissions, a
    /// RequestFailed{cancelled} event follows. Errors: lwm2m::Errc::not_found (unknown or
    /// finished id: nothing to do).
    [[nodiscard]] Result<void> cancel_request(TimePoint now, RequestId id);
    /// Answers an IncomingRequest. Type, MID and token are set by the endpoint: piggybacked in
    /// the ACK if the empty ACK has not been sent yet, else a separate CON (or NON, see Config);
    /// NON for a NON request. Bodies above the block size (or the peer's requested Block2 size)
    /// are served block-wise (RFC 7959 §2.4). Errors: lwm2m::Errc::not_found (unknown, already
    /// answered or expired id); lwm2m::Errc::invalid_argument (code is not a response code);
    /// coap::Errc::entity_too_large (body over max_body_size); coap::Errc::peer_limit (buffered
    /// bytes exceeded); coap::Errc::message_too_large (headers and one block do not fit
    /// max_message_size, or an option value is over 65804 bytes, RFC 7252 §3.1).
    [[nodiscard]] Result<void> send_response(TimePoint now, IncomingId id, Message resp);
    /// Sends the empty ACK of a CON request now (the response will be separate, §5.2.2). No-op
    /// for NON requests or when already acknowledged. Errors: lwm2m::Errc::not_found.
    [[nodiscard]] Result<void> accept_separately(TimePoint now, IncomingId id);
    /// Sends a notification (RFC 7641 §4.2) with the next 24-bit Observe sequence number. CON if
    /// `confirmable`, if no CON was sent for con_notification_interval (§4.5), or if a CON
    /// notification is still unacknowledged: the new one replaces it, keeping its
    /// retransmission state (§4.5.2), so older state is never retransmitted.
    /// Errors: lwm2m::Errc::not_found (unknown or ended observation); lwm2m::Errc::invalid_argument
    /// (not a response code); coap::Errc::entity_too_large; coap::Errc::peer_limit;
    /// coap::Errc::message_too_large (as for send_response).
    [[nodiscard]] Result<void> send_notification(TimePoint now, ObservationId id, Message n,
                                                 bool confirmable);
    /// Forgets an observer (the next request of the client will tell it). An
    /// ObservationEnded{cancelled} event follows. Errors: lwm2m::Errc::not_found.
    [[nodiscard]] Result<void> cancel_observation(TimePoint now, ObservationId id);

    [[nodiscard]] Stats stats() const;
    [[nodiscard]] const Config& config() const noexcept;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace lwm2m::coap

template <>
struct std::hash<lwm2m::coap::RequestId> {
    std::size_t operator()(lwm2m::coap::RequestId id) const noexcept { return id.value; }
};
template <>
struct std::hash<lwm2m::coap::IncomingId> {
    std::size_t operator()(lwm2m::coap::IncomingId id) const noexcept { return id.value; }
};
template <>
struct std::hash<lwm2m::coap::ObservationId> {
    std::size_t operator()(lwm2m::coap::ObservationId id) const noexcept { return id.value; }
};
