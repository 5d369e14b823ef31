// Key material that reaches the CLI from the command line, the environment or a file, taken into
// SecretBytes with no unwiped copy left behind (issue #7):
//  - argv: "--psk-key V", "--psk-key=V", "--psk-key-hex V", "--psk-key-hex=V" are copied out and
//    the value in argv is overwritten with '*' BEFORE CLI11 parses (so neither CLI11's copies nor
//    /proc/PID/cmdline hold the key afterwards; the window before main() cannot be closed);
//  - the environment: LWM2M_PSK_KEY_HEX is decoded, its bytes in the environment block are
//    overwritten (also /proc/PID/environ) and the variable is unset;
//  - files and stdin ("-"): read with read(2) into one pre-sized buffer that is wiped.
// Hex is decoded straight into a pre-sized buffer. No function here puts key bytes into a message.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <lwm2m/base/secret.hpp>

namespace lwm2m::app {

/// The environment variable that may carry the PSK key as hex digits.
inline constexpr const char* psk_key_env = "LWM2M_PSK_KEY_HEX";

/// A key taken from argv or the environment, or the usage error met (the text never holds key
/// bytes).
struct TakenSecret {
    std::optional<SecretBytes> key;
    std::string source; ///< "--psk-key", "--psk-key-hex" or "LWM2M_PSK_KEY_HEX"
    std::optional<std::string> error;
};

/// Takes the value of the last --psk-key / --psk-key-hex in argv (options end at "--") and
/// overwrites every such value in argv with '*'. Returns no key when none was given.
[[nodiscard]] TakenSecret take_psk_key_args(int argc, char** argv);

/// Takes LWM2M_PSK_KEY_HEX from the environment: decoded, wiped in place and unset.
[[nodiscard]] TakenSecret take_psk_key_env();

/// Hex digits (either case) to bytes, decoded into one pre-sized buffer. nullopt for an odd
/// length or a non-hex character.
[[nodiscard]] std::optional<SecretBytes> secret_from_hex(std::string_view hex);

/// Reads a whole file ("-": standard input) with read(2) into one pre-sized buffer, then removes
/// one trailing LF or CRLF when `strip_newline`; the result holds at most `max_size` bytes (a
/// 64-byte key followed by a newline fits max_size 64). nullopt when the file cannot be opened
/// or read, or holds more (`too_long` set).
[[nodiscard]] std::optional<SecretBytes> read_secret_file(const std::string& path,
                                                          std::size_t max_size, bool strip_newline,
                                                          bool* too_long = nullptr);

} // namespace lwm2m::app
