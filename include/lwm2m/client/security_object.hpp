// The LwM2M Security Object (Object 0) on the client (LwM2M TS 1.1 Appendix E.1, the 1.0 change
// request on PSK sizes, and docs/security-object.md, the rules this file implements).
//
// Storage is typed (SecurityInstance); keys are SecretBytes. Every write is validated resource by
// resource (4.00 on a bad value, all or nothing), cross-resource rules that depend on the write
// order (mode vs scheme, which of 3/4/5 are filled, SSID links) are checked at Bootstrap-Finish
// (client_config.hpp, 4.06). Secret Key (5) and SMS Binding Secret Key(s) (8) never leave through a
// server-facing path: access() denies Object 0 reads to servers, and independently every content
// built for a server audience omits them (build_content(.., Audience::server), redact_secrets()).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/log.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/client/object.hpp>

namespace lwm2m::client {

/// Object 0 Resource 2 (TS 1.1 E.1): 0 PSK, 1 RPK, 2 Certificate, 3 NoSec, 4 Certificate with EST.
enum class SecurityMode : std::uint8_t {
    psk = 0,
    rpk = 1,
    certificate = 2,
    nosec = 3,
    certificate_est = 4
};

namespace security_rid {
inline constexpr std::uint16_t server_uri = 0, bootstrap_server = 1, security_mode = 2,
                               public_key_or_identity = 3, server_public_key = 4, secret_key = 5,
                               sms_security_mode = 6, sms_key_parameters = 7, sms_secret_key = 8,
                               sms_number = 9, short_server_id = 10, client_hold_off = 11,
                               bs_account_timeout = 12, matching_type = 13, sni = 14,
                               certificate_usage = 15, ciphersuite = 16, oscore_mode = 17;
}

// Size limits. RFC 4279 §5.3 / the change request: identities of up to 128 bytes and keys of up to
// 64 bytes MUST be supported. We accept PSK identities up to 1024 bytes (RFC 4279 allows 2^16-1;
// 1024 bounds memory and keeps the DTLS ClientKeyExchange in one datagram under the IPv6 minimum
// MTU of 1280) and PSK keys up to 64 bytes: a longer key is rejected with a clear reason (never
// truncated) because a server is only required to handle 64 and the failure would otherwise only
// show as a failing handshake. Resource 5 also holds DER private keys in RPK/Certificate modes and
// resources 3/4 hold DER certificates, hence the larger generic caps.
inline constexpr std::size_t max_psk_identity_size = 1024;
inline constexpr std::size_t max_psk_key_size = 64;
inline constexpr std::size_t max_public_key_or_identity_size = 4096;
inline constexpr std::size_t max_server_public_key_size = 4096;
inline constexpr std::size_t max_secret_key_size = 2048;
inline constexpr std::size_t sms_key_parameters_size = 6;
inline constexpr std::size_t max_security_instances = 64;
inline constexpr std::size_t max_ciphersuites = 16;
inline constexpr std::int64_t max_seconds_value = 0xffffffffLL; ///< cap for 11/12 (seconds)

/// IANA TLS cipher suite values we can offer (docs/architecture.md §3; TS 1.1 §7.1).
inline constexpr std::uint16_t cs_psk_aes128_ccm8 = 0xC0A8;       // TLS_PSK_WITH_AES_128_CCM_8
inline constexpr std::uint16_t cs_psk_aes128_cbc_sha256 = 0x00AE; // TLS_PSK_WITH_AES_128_CBC_SHA256
inline constexpr std::uint16_t cs_ecdhe_ecdsa_aes128_ccm8 =
    0xC0AE; // TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
inline constexpr std::uint16_t cs_ecdhe_ecdsa_aes128_cbc_sha256 = 0xC023; // ..._AES_128_CBC_SHA256
[[nodiscard]] bool is_supported_ciphersuite(std::uint64_t v) noexcept;
[[nodiscard]] bool is_psk_ciphersuite(std::uint16_t v) noexcept;

struct SecurityInstance {
    std::optional<std::string> server_uri;                      ///< 0
    std::optional<bool> bootstrap_server;                       ///< 1
    std::optional<SecurityMode> security_mode;                  ///< 2
    Bytes public_key_or_identity;                               ///< 3 (empty = not filled)
    Bytes server_public_key;                                    ///< 4 (empty = not filled)
    SecretBytes secret_key;                                     ///< 5 (empty = not filled)
    std::optional<std::uint8_t> sms_security_mode;              ///< 6
    std::optional<std::array<std::byte, 6>> sms_key_parameters; ///< 7
    SecretBytes sms_secret_key;                     ///< 8 (16, 32 or 48 bytes; empty = absent)
    std::optional<std::string> sms_number;          ///< 9 (MSISDN, E.164 digits with optional '+')
    std::optional<std::uint16_t> short_server_id;   ///< 10
    std::optional<std::int64_t> client_hold_off;    ///< 11 seconds
    std::optional<std::int64_t> bs_account_timeout; ///< 12 seconds, 0 = forever
    std::optional<std::uint8_t> matching_type;      ///< 13
    std::optional<std::string> sni;                 ///< 14
    std::optional<std::uint8_t> certificate_usage;  ///< 15 (absent = 3, RFC 6698 DANE-EE)
    std::map<std::uint16_t, std::uint16_t> ciphersuites; ///< 16 riid -> IANA value

    [[nodiscard]] bool is_bootstrap() const { return bootstrap_server.value_or(false); }
    [[nodiscard]] std::uint8_t effective_certificate_usage() const {
        return certificate_usage.value_or(3);
    }
    friend bool operator==(const SecurityInstance& a, const SecurityInstance& b);
};

/// Who a content is built for: servers never get resources 5 and 8.
enum class Audience : std::uint8_t { server, local };

/// Applies one resource of a write to `inst` after validating it (the per-resource rules of the
/// table in docs/security-object.md). Errors: Status::bad_request (invalid or unsupported value),
/// Status::not_found (no such resource in Object 0).
[[nodiscard]] Result<void> apply_security_resource(SecurityInstance& inst, const dm::Resource& res);
/// Write-time checks that need several resources of one instance but not the rest of the
/// configuration (PSK sizes once the mode is known). Errors: Status::bad_request.
[[nodiscard]] Result<void> check_security_limits(const SecurityInstance& inst);
/// An instance from a full dm::Instance (the decoder and Bootstrap-Write replace use it).
[[nodiscard]] Result<SecurityInstance> security_from_instance(const dm::Instance& in);
/// The dm form of an instance for `audience` (server: without 5 and 8).
[[nodiscard]] dm::Instance to_dm_instance(std::uint16_t iid, const SecurityInstance& inst,
                                          Audience audience);
/// Removes every /0/*/5 and /0/*/8 value from content (a last line of defence on encode paths).
void redact_secrets(dm::Content& content);
/// Bootstrap-Finish rules for one instance alone (mode vs URI scheme, resources 3/4/5 filling,
/// cipher suites vs mode, PSK sizes, mandatory resources). Appends reasons; never includes values.
void check_security_instance(std::uint16_t iid, const SecurityInstance& inst,
                             std::vector<std::string>& reasons);

class SecurityObject final : public ObjectHandler {
public:
    explicit SecurityObject(Logger& log = NullLogger::instance())
        : log_(&log) {}

    [[nodiscard]] Oid oid() const override { return Oid{0}; }
    [[nodiscard]] std::vector<Iid> instances() const override;
    [[nodiscard]] Result<dm::Content> read(const Actor& actor, const dm::Path& path) const override;
    Result<void> write(const Actor& actor, const dm::Path& path, const dm::Content& content,
                       WriteMode mode) override;
    Result<Iid> create(const Actor& actor, std::optional<Iid> iid,
                       const dm::Instance& content) override;
    /// Bootstrap-Delete semantics (TS 1.1 §5.2.7.5): "/" and /0 delete every instance except the
    /// Bootstrap-Server account; /0/i of the Bootstrap-Server account is 4.00 Bad Request.
    Result<void> delete_(const Actor& actor, const dm::Path& path) override;
    /// Bootstrap-Discover: </0>;ver=1.1 and per instance ssid (non-bootstrap) and uri, no values.
    [[nodiscard]] Result<std::vector<LinkInfo>> discover(const Actor& actor,
                                                         const dm::Path& path) const override;
    /// Object 0 has no executable resource: 4.05 for anyone allowed, else the policy's code.
    Result<void> execute(const Actor& actor, const dm::Path& path, std::string_view args) override;

    /// The server-facing (or local) content of /0, /0/i, /0/i/r, /0/i/r/ri without a policy check.
    /// With Audience::server, resources 5 and 8 are absent, and a path naming them is 4.01.
    [[nodiscard]] Result<dm::Content> build_content(const dm::Path& path, Audience audience) const;

    // Typed local access (the client's own code, e.g. the DTLS credential lookup).
    [[nodiscard]] const SecurityInstance* find(Iid iid) const;
    [[nodiscard]] const std::map<std::uint16_t, SecurityInstance>& all() const {
        return instances_;
    }
    [[nodiscard]] std::optional<Iid> bootstrap_instance() const;
    /// Replaces the whole state (rollback to a committed configuration, load from storage).
    void replace_all(std::map<std::uint16_t, SecurityInstance> instances) {
        instances_ = std::move(instances);
    }

private:
    Result<void> write_checked(const dm::Path& path, const dm::Content& content, WriteMode mode);
    void log_result(const Actor& actor, std::string_view op, const dm::Path& path,
                    const Result<void>& r) const;

    Logger* log_;
    std::map<std::uint16_t, SecurityInstance> instances_;
};

} // namespace lwm2m::client
