// ClientSession: one DTLS 1.2 client connection to one server, sans-I/O (docs/architecture.md §2).
//
//   auto c = ClientSession::create(cfg);            // Result<ClientSession>
//   c->connect(now);                                // emits the ClientHello
//   loop: drain poll_transmit() to the socket; feed on_datagram(now, from, bytes);
//         on_timeout(now) when now >= next_deadline(); drain poll_event().
//
// Events: HandshakeDone{server, server identity}, Plaintext, Closed, HandshakeFailed.
#pragma once

#include <memory>
#include <optional>
#include <variant>

#include <lwm2m/base/datagram.hpp>
#include <lwm2m/dtls/types.hpp>

namespace lwm2m::dtls {

struct ClientConfig : CommonConfig {
    PeerAddr server;
    /// Our credentials: PSK (identity + key), raw public key, or X.509 chain + key.
    std::variant<PskCredentials, RpkCredentials, X509Credentials> credentials;
    /// Security Object resource 4 "Server Public Key": the server's SPKI DER in RPK mode, its
    /// certificate DER (or CA certificate, by certificate_usage) in X.509 mode. Required for
    /// RPK and X.509 (an empty pin is Errc::invalid_config: we never accept any key).
    Bytes server_public_key;
    /// Security Object resource 15 (X.509 only).
    CertificateUsage certificate_usage = CertificateUsage::domain_issued_certificate;
    /// Extra trust anchors (DER) for usages 0 and 1 (PKIX validation).
    std::vector<Bytes> trust_anchors_der;
};

class ClientSession {
public:
    /// Errors: Errc::invalid_config (empty identity/key, bad key DER, missing pin, unsupported
    /// suite), Errc::internal_error.
    [[nodiscard]] static Result<ClientSession> create(ClientConfig config);

    ClientSession(ClientSession&&) noexcept;
    ClientSession& operator=(ClientSession&&) noexcept;
    ~ClientSession();

    /// Starts the handshake (sends the ClientHello). Errors: Errc::invalid_state if already
    /// started (lwm2m::Errc).
    Result<void> connect(TimePoint now);

    /// A datagram from the network. Datagrams not from the configured server are ignored.
    void on_datagram(TimePoint now, const PeerAddr& from, BytesView ciphertext);
    /// Retransmits or times out; call when now >= next_deadline().
    void on_timeout(TimePoint now);
    [[nodiscard]] std::optional<Datagram> poll_transmit();
    [[nodiscard]] std::optional<Event> poll_event();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    /// Sends one application record. `peer` must be the server. Errors: Errc::not_connected,
    /// Errc::message_too_large (plaintext over max_plaintext()), Errc::internal_error.
    Result<void> send(TimePoint now, const PeerAddr& peer, BytesView plaintext);
    /// Sends close_notify and drops the session (no event).
    void close(TimePoint now, const PeerAddr& peer);
    void close(TimePoint now) { close(now, server()); }

    [[nodiscard]] bool established() const noexcept;
    [[nodiscard]] const PeerAddr& server() const noexcept;
    /// Largest plaintext that fits one record under the MTU (0 before the handshake).
    [[nodiscard]] std::size_t max_plaintext() const noexcept;

    struct Impl;

private:
    explicit ClientSession(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lwm2m::dtls
