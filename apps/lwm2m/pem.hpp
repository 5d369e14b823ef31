// PEM files for the CLI's X.509 and raw-public-key options (RFC 7468): every
// "-----BEGIN <label>-----" block, base64-decoded to DER with the project's one base64 decoder
// (dm::base64_decode_into). Private-key blocks are decoded straight into a pre-sized buffer that
// becomes SecretBytes and is wiped; the file text is read into one pre-sized buffer and wiped. So
// no unwiped copy of a key is ever freed (tests/unit/cli/secret_input_test.cpp checks it).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/secret.hpp>

namespace lwm2m::app {

struct PemBlock {
    std::string label; ///< e.g. "CERTIFICATE", "PUBLIC KEY", "PRIVATE KEY", "EC PRIVATE KEY"
    Bytes der;         ///< the DER of a public block (empty for private keys)
    SecretBytes key;   ///< the DER of a private-key block (labels ending in "PRIVATE KEY")
    [[nodiscard]] bool is_private_key() const noexcept { return !key.empty(); }
};

/// The blocks of `text` in order; nullopt on a malformed block (no END line, bad base64, RFC 1421
/// headers such as "Proc-Type:", i.e. legacy encrypted keys). "ENCRYPTED PRIVATE KEY" blocks are
/// returned with their label and no content: callers refuse them with a clear message.
[[nodiscard]] std::optional<std::vector<PemBlock>> parse_pem(std::string_view text);

/// Reads a PEM file (at most 1 MiB) into one pre-sized buffer and parses it; the buffer is wiped.
/// nullopt when unreadable or malformed.
[[nodiscard]] std::optional<std::vector<PemBlock>> read_pem_file(const std::string& path);

} // namespace lwm2m::app
