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
// - Caps: handshake timeout, idle timeout, max sessions with least-recently-active eviction.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <lwm2m/base/datagram.hpp>
#include <lwm2m/dtls/credential_store.hpp>
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
    /// How often the cookie key is replaced.
    Duration cookie_rotation = std::chrono::minutes(5);
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
    std::size_t evictions = 0;
    std::size_t idle_closes = 0;
    std::size_t replacements = 0;
};

class ServerTable {
public:
    /// `store` must outlive the table. Errors: Errc::invalid_config (no mode enabled, bad key
    /// DER, bad CA DER, unsupported suite), Errc::internal_error.
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
    [[nodiscard]] bool established(const PeerAddr& peer) const noexcept;
    [[nodiscard]] const ServerStats& stats() const noexcept;

    struct Impl;

private:
    explicit ServerTable(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lwm2m::dtls
