// SessionState and RecordPath: an established DTLS 1.2 session's record-layer state, portable
// between server nodes (issue #13), and the project's own record protection for it.
//
// GnuTLS runs every handshake. Once a session with an AEAD suite we implement
// (TLS_PSK_WITH_AES_128_CCM_8, RFC 6655; TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, RFC 7251) is
// established, its keys are taken out of GnuTLS (gnutls_record_get_state) into a SessionState and
// records are protected by RecordPath (AES-128-CCM-8 through GnuTLS's crypto API, never
// hand-written AES). A SessionState can be encoded, sealed with a cluster key, put into a store
// and imported by another node, which carries on with the same client without a handshake.
// CBC-SHA256 suites stay on GnuTLS and are not exportable (Errc::not_exportable).
//
// Sequence numbers (RFC 6347 §4.1): the write sequence number in a SessionState is a floor; an
// importer must start above everything the exporter may have sent since (ServerTable::
// import_session takes the start of a range the cluster layer reserved). The read window of an
// imported session accepts only records above the exported high-water mark. See docs/dtls.md.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/dtls/types.hpp>

namespace lwm2m::dtls {

/// Largest DTLS 1.2 record sequence number (48 bits, RFC 6347 §4.1).
inline constexpr std::uint64_t kMaxRecordSequence = (std::uint64_t{1} << 48) - 1;

/// RFC 6347 §4.1.2.6 anti-replay window: the highest sequence number received (authenticated)
/// and a 64-bit bitmap of the 64 numbers up to and including it (bit 0 = `highest`).
struct ReplayWindow {
    bool any = false;          ///< false: nothing received yet (everything is new)
    std::uint64_t highest = 0; ///< 48-bit
    std::uint64_t bitmap = 0;  ///< bit i: highest - i was received

    /// Whether `seq` may be new (not seen and not older than the window).
    [[nodiscard]] bool may_accept(std::uint64_t seq) const noexcept;
    /// Marks `seq` received (call only after the record authenticated).
    void mark(std::uint64_t seq) noexcept;
    /// A window that accepts only numbers above `high_water` (an imported session).
    [[nodiscard]] static ReplayWindow above(std::uint64_t high_water) noexcept;
    friend bool operator==(const ReplayWindow&, const ReplayWindow&) = default;
};

/// The record-layer state of one established DTLS 1.2 server session (our role: server).
struct SessionState {
    CipherSuite suite = CipherSuite::psk_aes_128_ccm_8;
    std::uint16_t epoch = 1;      ///< the current epoch (1 after the first handshake)
    SecretBytes client_write_key; ///< AES-128 key of the client's records (16 bytes)
    SecretBytes client_write_iv;  ///< implicit nonce salt of the client's records (4 bytes)
    SecretBytes server_write_key; ///< AES-128 key of our records (16 bytes)
    SecretBytes server_write_iv;  ///< implicit nonce salt of our records (4 bytes)
    /// The next sequence number for our records (48-bit). After an export: a floor.
    std::uint64_t write_seq = 0;
    ReplayWindow read_window; ///< the client's records received so far
    PeerIdentity identity;    ///< how the client authenticated in the handshake
    PeerAddr peer;            ///< the client's transport address (the session key)
};

/// Whether `suite` has an own record path (the AES-128-CCM-8 suites).
[[nodiscard]] bool exportable_suite(CipherSuite suite) noexcept;

/// Versioned binary encoding (version 1) of `s`, keys included in the clear: seal it before it
/// leaves the process. Errors: Errc::not_exportable (a suite without own record path),
/// Errc::malformed_state (a field out of range: key sizes, sequence numbers over 48 bits, a
/// peer without family, identity fields over their limits).
[[nodiscard]] Result<Bytes> encode_session_state(const SessionState& s);
/// Strict decoder of encode_session_state's output: every truncation, unknown version or suite,
/// bad length, out-of-range number or trailing byte is Errc::malformed_state (never a crash).
[[nodiscard]] Result<SessionState> decode_session_state(BytesView encoded);

/// Size of the cluster key for seal/open (AES-256-GCM).
inline constexpr std::size_t kClusterKeySize = 32;

/// Encrypts and authenticates an encoded SessionState for a store: AES-256-GCM (GnuTLS) under
/// `cluster_key` (32 bytes), a random 96-bit nonce from `random`, and the peer address as
/// additional data, so a blob cannot be moved to another address. Output: version(1) ||
/// nonce(12) || ciphertext || tag(16). A random nonce per seal is safe for far more than the
/// seals a cluster key sees (NIST SP 800-38D §8.3: 2^32 per key); rotate the key beyond that.
/// Errors: as encode_session_state, Errc::invalid_config (key not 32 bytes),
/// Errc::internal_error (GnuTLS failure).
[[nodiscard]] Result<Bytes> seal_session_state(const SessionState& s,
                                               const SecretBytes& cluster_key, Random& random);
/// Opens seal_session_state's output for `peer`. Errors: Errc::invalid_config (key not 32 bytes),
/// Errc::authentication_failed (wrong key, another peer address, altered or truncated blob),
/// Errc::malformed_state (authentic but undecodable: another version), Errc::internal_error.
[[nodiscard]] Result<SessionState>
open_session_state(BytesView sealed, const SecretBytes& cluster_key, const PeerAddr& peer);

/// What RecordPath::open() found in one datagram (RFC 6347 §4.1.1: several records each).
struct OpenedDatagram {
    std::vector<Bytes> application_data; ///< plaintexts of authentic application_data records
    bool close_notify = false;           ///< an authentic close_notify alert (RFC 5246 §7.2.1)
    bool fatal_alert = false;            ///< an authentic fatal alert
    std::size_t authentic = 0;           ///< records that authenticated (any type)
    std::size_t dropped = 0;       ///< records dropped: bad MAC, replayed, other epoch, bad header
    std::size_t replayed = 0;      ///< of `dropped`: outside or already in the replay window
    bool epoch0_handshake = false; ///< the datagram starts with an epoch-0 handshake record
};

/// Own DTLS 1.2 record protection of one established server session, AES-128-CCM-8 (RFC 6655
/// §3 / RFC 7251 §2, RFC 5116 §3.2.1 nonce: 4-byte salt || 8-byte explicit nonce; RFC 5246
/// §6.2.3.3 additional data with the DTLS epoch||seq of RFC 6347 §4.1.2.1). Sans-I/O, no clock.
class RecordPath {
public:
    /// Errors: Errc::not_exportable (suite), Errc::malformed_state (key/salt sizes, epoch 0,
    /// sequence numbers over 48 bits), Errc::internal_error (GnuTLS cipher init failed).
    [[nodiscard]] static Result<RecordPath> create(SessionState state);

    RecordPath(RecordPath&&) noexcept;
    RecordPath& operator=(RecordPath&&) noexcept;
    ~RecordPath();

    /// Decrypts the records of one datagram from the client. Records of another epoch, other
    /// content types, replays and forgeries are dropped and counted (RFC 6347 §4.1.2.7).
    [[nodiscard]] OpenedDatagram open(BytesView datagram);
    /// One application_data record (RFC 6347 §4.1) for `plaintext`, with the next sequence
    /// number. Errors: Errc::message_too_large (over 2^14, RFC 6347 §4.1),
    /// Errc::sequence_exhausted, Errc::internal_error.
    [[nodiscard]] Result<Bytes> seal(BytesView plaintext);
    /// A close_notify alert record (RFC 5246 §7.2.1). Errors: as seal().
    [[nodiscard]] Result<Bytes> seal_close_notify();

    /// The session's current state (write_seq = the next number we would use).
    [[nodiscard]] const SessionState& state() const noexcept { return state_; }
    /// Highest authentic sequence number received from the client (0 if none).
    [[nodiscard]] std::uint64_t read_high_water() const noexcept {
        return state_.read_window.highest;
    }
    /// Bytes of overhead per record: header 13 + explicit nonce 8 + tag 8.
    static constexpr std::size_t kOverhead = 29;

private:
    explicit RecordPath(SessionState state);
    [[nodiscard]] Result<Bytes> seal_record(std::uint8_t type, BytesView plaintext);
    SessionState state_;
    void* read_ = nullptr;  ///< gnutls_aead_cipher_hd_t (client_write_key)
    void* write_ = nullptr; ///< gnutls_aead_cipher_hd_t (server_write_key)
};

} // namespace lwm2m::dtls
