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
//    "Unrecognized" follows the one option registry (option::info(), message.hpp): unknown or
//    not acted on, a value length out of range (§5.4.3), or an occurrence beyond the first of
//    a non-repeatable option (§5.4.5). The same faults in an elective option make it ignored
//    (removed before the application sees the message, Stats::options_ignored). Messages the
//    application builds are held to the same registry (invalid_argument).
//  - A datagram larger than the driver's receive buffer (on_oversized(), transport::Loop) that
//    is a CON request gets 4.13 with Size1 = max_body_size and Block1 = the own block size
//    (RFC 7959 §2.9.3: retry block-wise).
//    If-Match, If-None-Match (§5.10.8) and OSCORE (RFC 8613) are not implemented, so they are
//    such unrecognized options (never ignored). A request with Proxy-Uri or Proxy-Scheme gets
//    5.05 Proxying Not Supported (§5.7.2; NON requests too): the endpoint is no proxy.
//  - A RST with a code other than 0.00 (§4.2) and messages of the reserved classes 1, 3, 6, 7
//    (§3) are dropped and counted as malformed; a CON of a reserved class is answered with RST.
//  - Verified peers: a peer is verified once it proved it receives our datagrams at its address
//    (it echoed a fresh Echo we made for that address, acknowledged or reset a CON we sent, or
//    answered our request with our random token), or always with
//    Config::peers_verified_by_transport (CoAP over DTLS: the cookie exchange proved it).
//    Verification lives in the per-peer state: a peer idle past EXCHANGE_LIFETIME is forgotten
//    and proves it again when it next needs a large response.
//  - Byte budget (issue #7): cached replies (kept EXCHANGE_LIFETIME for deduplication, §4.5),
//    Block1/Block2 bodies and CON copies count in Config::max_buffered_bytes and in the peer's
//    share (max_buffered_bytes_per_peer). When something new does not fit, the least recently
//    used Block1/Block2 caches of unverified peers are evicted, then their oldest cached
//    replies (the (peer, MID) entry stays: a duplicate is not delivered again, it just gets no
//    replay); only what verified peers hold makes a new request get 5.03 (NON dropped). A full
//    dedup or peer table likewise drops the oldest entry of an unverified peer. A flood of
//    spoofed sources therefore costs legitimate clients their caches at worst, never service.
//  - Address validation (Config::address_validation, on by default; RFC 7252 §11.3, RFC 9175
//    §2.4 item 3): an unverified peer never gets more than amplification_factor (3) times the
//    bytes of its request, and no Block2 body is cached for it. A GET/FETCH whose response is
//    larger is answered 4.01 Unauthorized + Echo instead (piggybacked or NON, never a separate
//    CON; the application answered already and will be asked again: GET and FETCH are safe).
//    The Echo value is stateless: 4 bytes of time and a 64-bit SipHash-2-4 MAC over it and the
//    peer's address and port, under a key drawn from Random that rotates every echo_lifetime
//    (the previous key still verifies). An unsafe request (POST, PUT, DELETE, PATCH) was
//    executed already and is never challenged (that would run it twice): its response goes
//    out in blocks small enough for the limit (down to 16 bytes), with an Echo the client
//    returns in the next block request. Notifications to unverified observers are CON.
//    Client role: a 4.01 with an Echo is repeated once with that Echo (RFC 9175 §2.3), and an
//    Echo in another response is returned in the exchange's next request.
//  - ETags of block-wise bodies are a keyed hash of the body and Content-Format (§5.10.6): a body
//    served again by the application after its cache expired or was evicted keeps its ETag.
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
    /// Total bytes held (bodies, cached replies, CON copies). When a new request, body or cache
    /// does not fit, the oldest caches of unverified peers are evicted first; only what is
    /// held for verified peers (or in flight) makes new requests get 5.03 (NON dropped).
    std::size_t max_buffered_bytes = 64u << 20;
    /// One peer's share of max_buffered_bytes (cached replies, Block1/Block2 bodies, CON
    /// copies): beyond it that peer alone gets 5.03 / no new caches.
    std::size_t max_buffered_bytes_per_peer = 4u << 20;

    // Address validation (RFC 7252 §11.3, RFC 9175 §2.4 item 3) and verified peers.
    /// Server role: a response to a peer not yet verified (see peers_verified_by_transport) is
    /// never larger than amplification_factor times its request, and no Block2 body is cached
    /// for it. A GET/FETCH whose response would be is answered 4.01 Unauthorized with an Echo
    /// option instead (piggybacked or NON, never CON); repeating it with that Echo verifies
    /// the peer. An unsafe request (POST, PUT, ...) already executed is never asked again: its
    /// response goes out in blocks small enough for the limit, carrying an Echo. Notifications
    /// to unverified observers are CON. Default on: a NoSec server on the Internet needs it.
    bool address_validation = true;
    /// RFC 9175 §2.4 (as RFC 9000 §8): bytes sent per byte received before verification.
    unsigned amplification_factor = 3;
    /// Freshness of an Echo value (RFC 9175 §2.3); also the key rotation period.
    Duration echo_lifetime = std::chrono::minutes(5);
    /// Every peer counts as verified: set it when the transport itself proved the addresses
    /// (CoAP over DTLS: the cookie exchange, RFC 6347 §4.2.1). Turns address validation off
    /// and makes no cache evictable as "unverified".
    bool peers_verified_by_transport = false;

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
    ObservationEndReason reason{};
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
    std::uint64_t bad_option = 0;          ///< unrecognized critical options (4.02 / drop / RST)
    std::uint64_t options_ignored = 0;     ///< elective options ignored (bad length or repeated)
    std::uint64_t blocks_served = 0;       ///< Block2 slices served from the body cache
    std::uint64_t oversized = 0;       ///< datagrams larger than the driver's buffer (on_oversized)
    std::uint64_t echo_challenges = 0; ///< 4.01 + Echo sent instead of a large response
    std::uint64_t echo_retries = 0;    ///< client role: requests repeated with a received Echo
    std::uint64_t peers_verified = 0;  ///< peers that proved their address (Echo, ACK, response)
    std::uint64_t evicted = 0;         ///< caches of unverified peers evicted under pressure
    std::uint64_t evicted_bytes = 0;
    std::uint64_t peers = 0;          ///< peers currently tracked
    std::uint64_t buffered_bytes = 0; ///< bytes currently held
    std::uint64_t timer_entries = 0;  ///< timer heap size (live + lazily deleted)
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
    /// Feeds a datagram the driver could not read whole (larger than its receive buffer):
    /// `head` is the part it read (the header and token at least, when they fit), `size` the
    /// datagram's real size. A CON request is answered 4.13 Request Entity Too Large with Size1 =
    /// Config::max_body_size (the largest request body the endpoint accepts, RFC 7252 §5.9.2.9)
    /// and Block1 = {0, M=0, the endpoint's block size}: retry block-wise (RFC 7959 §2.3,
    /// §2.9.3). Another CON is rejected with RST (§4.2); the rest is dropped. Never fails;
    /// counted in Stats::oversized. transport::Loop calls it for cores that have it.
    void on_oversized(TimePoint now, const PeerAddr& from, BytesView head, std::size_t size);
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
    /// Errors: lwm2m::Errc::invalid_argument (not a CON/NON request, an option that breaks the
    /// option registry (Message::options_valid()), or the token collides with an open exchange
    /// to that peer); coap::Errc::peer_limit (max peers, exchanges per peer,
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
    /// answered or expired id); lwm2m::Errc::invalid_argument (code is not a response code, or
    /// an option breaks the option registry, Message::options_valid());
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
    /// (not a response code, or an option breaks the option registry);
    /// coap::Errc::entity_too_large; coap::Errc::peer_limit; coap::Errc::message_too_large (as for
    /// send_response).
    [[nodiscard]] Result<void> send_notification(TimePoint now, ObservationId id, Message n,
                                                 bool confirmable);
    /// The Observe value of the last notification (or response) of an observation, to persist
    /// it with restore_observation(); nullopt for an unknown id.
    [[nodiscard]] std::optional<std::uint32_t> observation_seq(ObservationId id) const;
    /// Re-creates a server-role observation from persisted state (after a restart: the peer's
    /// registration and its observation token are still valid). The next notification carries
    /// Observe seq + 1 (mod 2^24, RFC 7641 §4.4). Errors: lwm2m::Errc::invalid_argument (empty
    /// token, or (peer, token) already observing); coap::Errc::peer_limit (max peers or
    /// max_observations_per_peer).
    [[nodiscard]] Result<ObservationId> restore_observation(TimePoint now, const PeerAddr& peer,
                                                            const Token& token, std::uint32_t seq);
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
