// Named CoAP Content-Formats for --content-format and --accept (CoAP Content-Formats registry,
// RFC 7252 §12.3; LwM2M TS Core 1.1 §7.4, TS 1.2 §7.4.6). Numbers 0..65535 are accepted too.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lwm2m::app {

/// "tlv" -> 11542, "senml-json" -> 110, ..., or a decimal number 0..65535; nullopt otherwise.
[[nodiscard]] std::optional<int> parse_content_format(std::string_view text);

/// "tlv, senml-json, ..." for help texts and error messages.
[[nodiscard]] std::string content_format_names();

} // namespace lwm2m::app
