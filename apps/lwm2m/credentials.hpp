// DTLS credential options of the `lwm2m` CLI (coaps://). Keys are turned into SecretBytes at
// once; no function here ever puts key material into an error text.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>

#include "secret_input.hpp"

namespace CLI {
class App;
}

namespace lwm2m::app {

/// The raw option values as CLI11 fills them (only one of each group may be given).
struct CredentialOptions {
    std::optional<std::string> psk_identity;     ///< --psk-identity TEXT
    std::optional<std::string> psk_identity_hex; ///< --psk-identity-hex HEX
    std::optional<std::string> psk_key;          ///< --psk-key TEXT
    std::optional<std::string> psk_key_hex;      ///< --psk-key-hex HEX
    std::optional<std::string> psk_key_file;     ///< --psk-key-file F
    std::optional<std::string> cert_file;        ///< --cert F (PEM chain, end-entity first)
    std::optional<std::string> key_file;         ///< --key F (PEM private key)
    std::optional<std::string> ca_file;          ///< --ca F (PEM CA certificates)
    std::optional<std::string> rpk_file;         ///< --rpk F (PEM PUBLIC KEY + private key)
    std::optional<std::string> rpk_peer_file;    ///< --rpk-peer F (PEM PUBLIC KEY(s) of peers)
    /// The --psk-key / --psk-key-hex value, taken out of argv before parsing (the strings above
    /// then hold only '*'), and LWM2M_PSK_KEY_HEX taken out of the environment.
    TakenSecret arg_key;
    TakenSecret env_key;

    /// Any PSK option given.
    [[nodiscard]] bool any() const noexcept {
        return psk_identity || psk_identity_hex || psk_key || psk_key_hex || psk_key_file;
    }
    /// Any X.509 option given.
    [[nodiscard]] bool any_x509() const noexcept { return cert_file || key_file || ca_file; }
    /// Any raw-public-key option given.
    [[nodiscard]] bool any_rpk() const noexcept { return rpk_file || rpk_peer_file; }
    /// Overwrites the key texts held in these options (after they were turned into PskKey).
    void wipe_keys() noexcept;
};

/// A PSK identity and key decoded from CredentialOptions.
struct Psk {
    Bytes identity;
    SecretBytes key;
};

/// Our certificate chain and key, and the CAs we trust for the peer (all DER).
struct X509Material {
    std::vector<Bytes> chain;
    SecretBytes key;
    std::vector<Bytes> cas;
};

/// Our raw public key (SPKI DER) and private key (DER), and the peers' SPKIs (RFC 7250).
struct RpkMaterial {
    Bytes spki;
    SecretBytes key;
    std::vector<Bytes> peers;
};

/// Adds the PSK options to a (sub)command. `role` ("server" or "client") adjusts the help text.
void add_credential_options(CLI::App& cmd, CredentialOptions& o, const char* role);

/// Decodes the options. The key comes from --psk-key / --psk-key-hex (taken from argv), else
/// --psk-key-file (a file, or standard input for "-"), else LWM2M_PSK_KEY_HEX. Returns nullopt when
/// no PSK option was given; on a usage error (identity without key, bad hex, unreadable key file,
/// empty or over-long value) prints "error: ..." to stderr WITHOUT the key and returns an error.
[[nodiscard]] Result<std::optional<Psk>> decode_credentials(CredentialOptions& o);

/// Reads --cert, --key, --ca (all three required together). nullopt when none was given; usage
/// errors printed to stderr (file names only, never key bytes).
[[nodiscard]] Result<std::optional<X509Material>> decode_x509(const CredentialOptions& o);

/// Reads --rpk and --rpk-peer (both required together). As decode_x509.
[[nodiscard]] Result<std::optional<RpkMaterial>> decode_rpk(const CredentialOptions& o);

} // namespace lwm2m::app
