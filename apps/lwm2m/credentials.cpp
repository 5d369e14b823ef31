#include "credentials.hpp"

#include "pem.hpp"

#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::app {
namespace {

// RFC 4279 §5.1/§5.3: identity and key are 1..2^16-1 bytes. LwM2M needs identity <= 128 and
// key <= 64 at least; we keep the protocol limits.
constexpr std::size_t max_len = 65535;

void wipe_string(std::optional<std::string>& s) noexcept {
    if (s && !s->empty()) secure_wipe(s->data(), s->size());
    s.reset();
}

auto usage(const std::string& msg) {
    fmt::print(stderr, "error: {}\n", msg);
    return fail(lwm2m::Errc::invalid_argument);
}

} // namespace

void CredentialOptions::wipe_keys() noexcept {
    wipe_string(psk_key);
    wipe_string(psk_key_hex);
}

void add_credential_options(CLI::App& cmd, CredentialOptions& o, const char* role) {
    const bool server = std::string_view(role) == "server";
    auto* id = cmd.add_option(
        "--psk-identity", o.psk_identity,
        server ? "serve coaps:// (DTLS 1.2 PSK, RFC 7252 §9.1.3.1) to the client with "
                 "this PSK identity (text, 1..65535 bytes)"
               : "PSK identity (text) for coaps:// URIs");
    auto* idh = cmd.add_option("--psk-identity-hex", o.psk_identity_hex,
                               "PSK identity as hex digits (binary)");
    id->excludes(idh);
    auto* k = cmd.add_option(
        "--psk-key", o.psk_key,
        "PSK key as text. Visible in the process list until the program starts (it then "
        "overwrites it): prefer --psk-key-file or LWM2M_PSK_KEY_HEX. Never printed");
    auto* kh = cmd.add_option(
        "--psk-key-hex", o.psk_key_hex,
        "PSK key as hex digits (binary). Visible in the process list until the program starts "
        "(it then overwrites it): prefer --psk-key-file or LWM2M_PSK_KEY_HEX. Never printed");
    auto* kf = cmd.add_option(
        "--psk-key-file", o.psk_key_file,
        "read the PSK key from this file ('-': standard input): its bytes are the key, one "
        "trailing newline (LF or CRLF) removed. Without any --psk-key* option the key may come "
        "from the environment variable LWM2M_PSK_KEY_HEX (hex digits). Every copy of the key "
        "the program makes is wiped");
    k->excludes(kh);
    k->excludes(kf);
    kh->excludes(kf);
    cmd.add_option("--cert", o.cert_file,
                   server
                       ? "serve coaps:// with X.509 (DTLS 1.2 ECDHE-ECDSA, RFC 7252 §9.1.3.3): our "
                         "certificate chain, PEM, end-entity first (needs --key and --ca)"
                       : "X.509 for coaps://: our certificate chain, PEM, end-entity first (needs "
                         "--key and --ca)")
        ->check(CLI::ExistingFile);
    cmd.add_option("--key", o.key_file,
                   "PEM private key (P-256, unencrypted PKCS#8 or SEC1) of --cert. Never printed")
        ->check(CLI::ExistingFile);
    cmd.add_option("--ca", o.ca_file,
                   server
                       ? "PEM CA certificate(s): clients must present a chain to one of them"
                       : "PEM CA certificate that issued the server's certificate: the only trust "
                         "anchor (LwM2M Certificate Usage 2, DANE-TA)")
        ->check(CLI::ExistingFile);
    cmd.add_option(
           "--rpk", o.rpk_file,
           "raw public key for coaps:// (RFC 7250, ECDHE-ECDSA P-256): PEM file holding our "
           "PUBLIC KEY and its unencrypted PRIVATE KEY / EC PRIVATE KEY (needs --rpk-peer). "
           "The private key is never printed")
        ->check(CLI::ExistingFile);
    cmd.add_option("--rpk-peer", o.rpk_peer_file,
                   server ? "PEM PUBLIC KEY block(s): the clients allowed with --rpk"
                          : "PEM PUBLIC KEY of the server (pinned, LwM2M Server Public Key)")
        ->check(CLI::ExistingFile);
}

namespace {

std::optional<std::vector<Bytes>> read_certs(const std::string& path) {
    auto blocks = read_pem_file(path);
    if (!blocks) return std::nullopt;
    std::vector<Bytes> out;
    for (auto& b : *blocks)
        if (b.label == "CERTIFICATE") out.push_back(std::move(b.der));
    if (out.empty()) return std::nullopt;
    return out;
}

} // namespace

Result<std::optional<X509Material>> decode_x509(const CredentialOptions& o) {
    if (!o.any_x509()) return std::optional<X509Material>{};
    if (!o.cert_file || !o.key_file || !o.ca_file)
        return usage("X.509 needs --cert, --key and --ca together");
    X509Material m;
    auto chain = read_certs(*o.cert_file);
    if (!chain) return usage(fmt::format("--cert '{}' holds no PEM CERTIFICATE", *o.cert_file));
    m.chain = std::move(*chain);
    auto cas = read_certs(*o.ca_file);
    if (!cas) return usage(fmt::format("--ca '{}' holds no PEM CERTIFICATE", *o.ca_file));
    m.cas = std::move(*cas);
    auto blocks = read_pem_file(*o.key_file);
    if (!blocks) return usage(fmt::format("cannot read --key '{}' as PEM", *o.key_file));
    bool found = false;
    for (auto& b : *blocks) {
        if (b.label == "ENCRYPTED PRIVATE KEY") {
            return usage(fmt::format("--key '{}' is an encrypted PKCS#8 key: decrypt it first "
                                     "(certtool --to-p8 --password '' or openssl pkcs8)",
                                     *o.key_file));
        }
        if (!found && b.is_private_key() &&
            (b.label == "PRIVATE KEY" || b.label == "EC PRIVATE KEY")) {
            m.key = std::move(b.key);
            found = true;
        }
    }
    if (!found) {
        return usage(fmt::format(
            "--key '{}' holds no unencrypted PEM PRIVATE KEY or EC PRIVATE KEY", *o.key_file));
    }
    return std::optional<X509Material>{std::move(m)};
}

Result<std::optional<Psk>> decode_credentials(CredentialOptions& o) {
    if (!o.any()) return std::optional<Psk>{};
    Psk psk;
    if (o.psk_identity) {
        psk.identity = to_bytes(*o.psk_identity);
    } else if (o.psk_identity_hex) {
        auto b = secret_from_hex(*o.psk_identity_hex);
        if (!b) return usage("--psk-identity-hex is not an even number of hex digits");
        psk.identity.assign(b->view().begin(), b->view().end());
    } else {
        o.wipe_keys();
        return usage("a PSK key needs --psk-identity or --psk-identity-hex");
    }
    if (psk.identity.empty() || psk.identity.size() > max_len) {
        o.wipe_keys();
        return usage("the PSK identity must be 1..65535 bytes");
    }

    if (o.psk_key || o.psk_key_hex) {
        // Taken out of argv before parsing (secret_input.hpp); o.psk_key* hold only '*'.
        if (o.arg_key.error) {
            o.wipe_keys();
            return usage(*o.arg_key.error);
        }
        if (!o.arg_key.key) {
            o.wipe_keys();
            return usage("the PSK key option has no value");
        }
        psk.key = std::move(*o.arg_key.key);
    } else if (o.psk_key_file) {
        bool too_long = false;
        auto key = read_secret_file(*o.psk_key_file, max_len, true, &too_long);
        if (!key) {
            return usage(too_long
                             ? std::string("the PSK key must be 1..65535 bytes")
                             : fmt::format("cannot read --psk-key-file '{}'", *o.psk_key_file));
        }
        psk.key = std::move(*key);
    } else if (o.env_key.error) {
        return usage(*o.env_key.error);
    } else if (o.env_key.key) {
        psk.key = std::move(*o.env_key.key);
    } else {
        return usage(
            std::string("a PSK identity needs --psk-key, --psk-key-hex, --psk-key-file or ") +
            psk_key_env);
    }
    o.wipe_keys();
    if (psk.key.empty() || psk.key.size() > max_len)
        return usage("the PSK key must be 1..65535 bytes");
    return std::optional<Psk>{std::move(psk)};
}

} // namespace lwm2m::app

namespace lwm2m::app {

Result<std::optional<RpkMaterial>> decode_rpk(const CredentialOptions& o) {
    if (!o.any_rpk()) return std::optional<RpkMaterial>{};
    if (!o.rpk_file || !o.rpk_peer_file)
        return usage("raw public keys need --rpk and --rpk-peer together");
    RpkMaterial m;
    auto blocks = read_pem_file(*o.rpk_file);
    if (!blocks) return usage(fmt::format("cannot read --rpk '{}' as PEM", *o.rpk_file));
    bool have_key = false;
    for (auto& b : *blocks) {
        if (b.label == "PUBLIC KEY" && m.spki.empty()) m.spki = b.der;
        if (!have_key && b.is_private_key() &&
            (b.label == "PRIVATE KEY" || b.label == "EC PRIVATE KEY")) {
            m.key = std::move(b.key);
            have_key = true;
        }
    }
    if (m.spki.empty() || !have_key) {
        return usage(fmt::format("--rpk '{}' needs a PEM PUBLIC KEY and an unencrypted PRIVATE KEY",
                                 *o.rpk_file));
    }
    auto peer_blocks = read_pem_file(*o.rpk_peer_file);
    if (peer_blocks) {
        for (auto& b : *peer_blocks)
            if (b.label == "PUBLIC KEY") m.peers.push_back(std::move(b.der));
    }
    if (m.peers.empty())
        return usage(fmt::format("--rpk-peer '{}' holds no PEM PUBLIC KEY", *o.rpk_peer_file));
    return std::optional<RpkMaterial>{std::move(m)};
}

} // namespace lwm2m::app
