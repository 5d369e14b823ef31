#include "secret_input.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace lwm2m::app {
namespace {

int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void star(char* s) noexcept {
    for (; *s != '\0'; ++s)
        *s = '*';
}

} // namespace

std::optional<SecretBytes> secret_from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    Bytes buf(hex.size() / 2); // the only intermediate copy: pre-sized, wiped below
    bool ok = true;
    for (std::size_t i = 0; i < buf.size(); ++i) {
        const int hi = nibble(hex[2 * i]);
        const int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            ok = false;
            break;
        }
        buf[i] = static_cast<std::byte>(hi * 16 + lo);
    }
    std::optional<SecretBytes> out;
    if (ok) out.emplace(buf);
    secure_wipe(buf.data(), buf.size());
    return out;
}

TakenSecret take_psk_key_args(int argc, char** argv) {
    TakenSecret t;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--") break;
        for (const std::string_view name :
             {std::string_view("--psk-key"), std::string_view("--psk-key-hex")}) {
            char* value = nullptr;
            if (a == name && i + 1 < argc) {
                value = argv[++i];
            } else if (a.size() > name.size() + 1 && a.substr(0, name.size()) == name &&
                       a[name.size()] == '=') {
                value = argv[i] + name.size() + 1;
            }
            if (value == nullptr) continue;
            const std::string_view v = value;
            t.key.reset();
            t.error.reset();
            t.source = std::string(name);
            if (name == "--psk-key") {
                t.key.emplace(as_bytes(v));
            } else {
                t.key = secret_from_hex(v);
                if (!t.key)
                    t.error = "--psk-key-hex is not an even number of hex digits (value not shown)";
            }
            star(value); // CLI11 sees only '*'; so does the process list from now on
            break;
        }
    }
    return t;
}

TakenSecret take_psk_key_env() {
    TakenSecret t;
    char* v = std::getenv(psk_key_env); // the environment block itself: wiped in place below
    if (v == nullptr) return t;
    t.source = psk_key_env;
    t.key = secret_from_hex(v);
    if (!t.key)
        t.error =
            std::string(psk_key_env) + " is not an even number of hex digits (value not shown)";
    secure_wipe(v, std::strlen(v));
    ::unsetenv(psk_key_env);
    return t;
}

std::optional<SecretBytes> read_secret_file(const std::string& path, std::size_t max_size,
                                            bool strip_newline, bool* too_long) {
    if (too_long != nullptr) *too_long = false;
    const bool is_stdin = path == "-";
    const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    // One buffer, sized once (room for a CRLF the limit does not count, plus one byte that
    // detects an over-long input); read(2) keeps no copy in a stdio buffer.
    Bytes buf(max_size + (strip_newline ? 2 : 0) + 1);
    std::size_t n = 0;
    bool failed = false;
    while (n < buf.size()) {
        const ssize_t r = ::read(fd, buf.data() + n, buf.size() - n);
        if (r == 0) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            failed = true;
            break;
        }
        n += static_cast<std::size_t>(r);
    }
    if (!is_stdin) ::close(fd);
    std::optional<SecretBytes> out;
    std::size_t len = n;
    if (strip_newline && len > 0 && buf[len - 1] == std::byte{'\n'}) {
        --len;
        if (len > 0 && buf[len - 1] == std::byte{'\r'}) --len;
    }
    if (!failed && n < buf.size() && len <= max_size) {
        out.emplace(BytesView(buf.data(), len));
    } else if (!failed && too_long != nullptr) {
        *too_long = true;
    }
    secure_wipe(buf.data(), buf.size());
    return out;
}

} // namespace lwm2m::app
