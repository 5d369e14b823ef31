// SecretBox: secrets at rest (PSK keys, private keys in the servers' database) sealed with
// AES-256-GCM (GnuTLS), under a 32-byte key kept in a file of the data directory (mode 0600).
//
// Sealed form: version byte 0x01 || 12-byte random nonce || ciphertext || 16-byte tag. The
// associated data binds a sealed value to where it belongs (e.g. "security/psk_key/<endpoint>"),
// so a value copied to another row does not open. Opening with another key, or a tampered value,
// fails with store::Errc::decrypt_failed; nothing about the plaintext is ever logged.
//
// Thread-safe: one box may seal and open on several threads at once (the calls on GnuTLS's
// handle are serialised inside).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>

namespace lwm2m::store {

class SecretBox {
public:
    static constexpr std::size_t key_size = 32;
    static constexpr std::size_t overhead = 1 + 12 + 16;

    /// Uses `key` (exactly 32 bytes). Errors: lwm2m::Errc::invalid_argument (size),
    /// store::Errc::io_error (GnuTLS cannot set up AES-256-GCM).
    [[nodiscard]] static Result<SecretBox> from_key(const SecretBytes& key);
    /// Loads the key file at `path`, or creates it with 32 random bytes (mode 0600, written
    /// atomically) when it does not exist. A key file that is not exactly 32 bytes, or is readable
    /// by others than its owner, is refused (lwm2m::Errc::invalid_argument): secrets must not be
    /// silently re-keyed or exposed. Errors: also errno codes of the file operations.
    [[nodiscard]] static Result<SecretBox> load_or_create(const std::string& path);

    SecretBox(SecretBox&&) noexcept;
    SecretBox& operator=(SecretBox&&) noexcept;
    ~SecretBox();

    /// A 32-byte key for another purpose derived from the box's key: HKDF-SHA256 (RFC 5869,
    /// no salt) with `label` as the info string. Keys of different labels are independent; the
    /// box's own key cannot be computed from them. lwm2m-server derives the cluster key that
    /// seals exported DTLS sessions this way (docs/cluster-nodes.md). Errors:
    /// store::Errc::io_error (GnuTLS failure).
    [[nodiscard]] Result<SecretBytes> derive_key(std::string_view label) const;

    /// Seals `plaintext` bound to `context`. Errors: store::Errc::io_error (GnuTLS failure).
    [[nodiscard]] Result<Bytes> seal(BytesView plaintext, std::string_view context) const;
    /// Opens a sealed value. Errors: store::Errc::decrypt_failed (wrong key, wrong context,
    /// tampered or truncated value, unknown version).
    [[nodiscard]] Result<SecretBytes> open(BytesView sealed, std::string_view context) const;

    struct Impl;

private:
    explicit SecretBox(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace lwm2m::store
