// PEM files for the CLI's X.509 options (RFC 7468): every "-----BEGIN <label>-----" block,
// base64-decoded to DER. Key blocks go straight into SecretBytes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/bytes.hpp>

namespace lwm2m::app {

struct PemBlock {
    std::string label; ///< e.g. "CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY"
    Bytes der;
};

/// The blocks of `text` in order; nullopt on a malformed block (no END line, bad base64).
[[nodiscard]] std::optional<std::vector<PemBlock>> parse_pem(std::string_view text);

} // namespace lwm2m::app
