#include "credentials.hpp"

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
    auto* id = cmd.add_option("--psk-identity", o.psk_identity,
                              server ? "serve coaps:// (DTLS 1.2 PSK, RFC 7252 §9.1.3.1) to the client with "
                                       "this PSK identity (text, 1..65535 bytes)"
                                     : "PSK identity (text) for coaps:// URIs");
    auto* idh = cmd.add_option("--psk-identity-hex", o.psk_identity_hex, "PSK identity as hex digits (binary)");
    id->excludes(idh);
    auto* k = cmd.add_option("--psk-key", o.psk_key,
                             "PSK key as text. Visible in the process list: prefer --psk-key-file. "
                             "Never printed");
    auto* kh = cmd.add_option("--psk-key-hex", o.psk_key_hex, "PSK key as hex digits (binary). Never printed");
    auto* kf = cmd.add_option("--psk-key-file", o.psk_key_file,
                              "read the PSK key from this file: its bytes are the key, one trailing "
                              "newline (LF or CRLF) removed");
    k->excludes(kh);
    k->excludes(kf);
    kh->excludes(kf);
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
        if (f == nullptr) return usage(fmt::format("cannot open --psk-key-file '{}'", *o.psk_key_file));
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
    if (psk.key.empty() || psk.key.size() > max_len) return usage("the PSK key must be 1..65535 bytes");
    return std::optional<Psk>{std::move(psk)};
}

} // namespace lwm2m::app
