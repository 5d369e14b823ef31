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

std::optional<Bytes> from_hex(std::string_view s) {
    if (s.size() % 2 != 0) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    Bytes out;
    out.reserve(s.size() / 2);
    for (std::size_t i = 0; i < s.size(); i += 2) {
        const int hi = nibble(s[i]);
        const int lo = nibble(s[i + 1]);
        if (hi < 0 || lo < 0) {
            secure_wipe(out.data(), out.size());
            return std::nullopt;
        }
        out.push_back(static_cast<std::byte>(hi * 16 + lo));
    }
    return out;
}

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
    auto* k = cmd.add_option("--psk-key", o.psk_key,
                             "PSK key as text. Visible in the process list: prefer --psk-key-file. "
                             "Never printed");
    auto* kh = cmd.add_option("--psk-key-hex", o.psk_key_hex,
                              "PSK key as hex digits (binary). Never printed");
    auto* kf =
        cmd.add_option("--psk-key-file", o.psk_key_file,
                       "read the PSK key from this file: its bytes are the key, one trailing "
                       "newline (LF or CRLF) removed");
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
                   "PEM private key (P-256, unencrypted) of --cert. Never printed")
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

std::optional<std::string> read_text(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return std::nullopt;
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() < (1U << 20))
        out.append(buf, n);
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    secure_wipe(buf, sizeof buf);
    if (failed) {
        secure_wipe(out.data(), out.size());
        return std::nullopt;
    }
    return out;
}

std::optional<std::vector<Bytes>> read_certs(const std::string& path) {
    auto text = read_text(path);
    if (!text) return std::nullopt;
    auto blocks = parse_pem(*text);
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
    auto text = read_text(*o.key_file);
    if (!text) return usage(fmt::format("cannot read --key '{}'", *o.key_file));
    auto blocks = parse_pem(*text);
    secure_wipe(text->data(), text->size());
    bool found = false;
    if (blocks) {
        for (auto& b : *blocks) {
            if (!found && (b.label == "PRIVATE KEY" || b.label == "EC PRIVATE KEY")) {
                m.key = SecretBytes(b.der);
                found = true;
            }
            secure_wipe(b.der.data(), b.der.size());
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
        auto b = from_hex(*o.psk_identity_hex);
        if (!b) return usage("--psk-identity-hex is not an even number of hex digits");
        psk.identity = std::move(*b);
    } else {
        o.wipe_keys();
        return usage("a PSK key needs --psk-identity or --psk-identity-hex");
    }
    if (psk.identity.empty() || psk.identity.size() > max_len) {
        o.wipe_keys();
        return usage("the PSK identity must be 1..65535 bytes");
    }

    if (o.psk_key) {
        psk.key = SecretBytes(as_bytes(*o.psk_key));
    } else if (o.psk_key_hex) {
        auto b = from_hex(*o.psk_key_hex);
        if (!b) {
            o.wipe_keys();
            return usage("--psk-key-hex is not an even number of hex digits (value not shown)");
        }
        psk.key = SecretBytes(*b);
        secure_wipe(b->data(), b->size());
    } else if (o.psk_key_file) {
        std::FILE* f = std::fopen(o.psk_key_file->c_str(), "rb");
        if (f == nullptr)
            return usage(fmt::format("cannot open --psk-key-file '{}'", *o.psk_key_file));
        Bytes data;
        std::byte buf[512];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && data.size() <= max_len + 2) {
            data.insert(data.end(), buf, buf + n);
        }
        const bool failed = std::ferror(f) != 0;
        std::fclose(f);
        secure_wipe(buf, sizeof buf);
        if (!data.empty() && data.back() == std::byte{'\n'}) {
            data.pop_back();
            if (!data.empty() && data.back() == std::byte{'\r'}) data.pop_back();
        }
        psk.key = SecretBytes(data);
        secure_wipe(data.data(), data.size());
        if (failed) return usage(fmt::format("cannot read --psk-key-file '{}'", *o.psk_key_file));
    } else {
        return usage("a PSK identity needs --psk-key, --psk-key-hex or --psk-key-file");
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
    auto text = read_text(*o.rpk_file);
    if (!text) return usage(fmt::format("cannot read --rpk '{}'", *o.rpk_file));
    auto blocks = parse_pem(*text);
    secure_wipe(text->data(), text->size());
    bool have_key = false;
    if (blocks) {
        for (auto& b : *blocks) {
            if (b.label == "PUBLIC KEY" && m.spki.empty()) m.spki = b.der;
            if (!have_key && (b.label == "PRIVATE KEY" || b.label == "EC PRIVATE KEY")) {
                m.key = SecretBytes(b.der);
                have_key = true;
            }
            secure_wipe(b.der.data(), b.der.size());
        }
    }
    if (m.spki.empty() || !have_key) {
        return usage(fmt::format("--rpk '{}' needs a PEM PUBLIC KEY and an unencrypted PRIVATE KEY",
                                 *o.rpk_file));
    }
    auto peer_text = read_text(*o.rpk_peer_file);
    auto peer_blocks = peer_text ? parse_pem(*peer_text) : std::nullopt;
    if (peer_blocks) {
        for (auto& b : *peer_blocks)
            if (b.label == "PUBLIC KEY") m.peers.push_back(std::move(b.der));
    }
    if (m.peers.empty())
        return usage(fmt::format("--rpk-peer '{}' holds no PEM PUBLIC KEY", *o.rpk_peer_file));
    return std::optional<RpkMaterial>{std::move(m)};
}

} // namespace lwm2m::app
