// Logging facade used by the core through an interface (docs/architecture.md §2: the core never
// prints). apps/ adapts it to spdlog; tests capture lines.
//
// Rules:
// - Never pass key material to a Logger. Use SecretBytes::redacted() where a size helps.
// - Peer-controlled text (Uri-Path, endpoint names, identities, error details) may be passed as
//   is: Logger::write() escapes every message before it reaches a sink (see escape_log_text), so
//   no call site can forge a log line or send terminal escapes, and no sink has to remember it.
#pragma once

#include <string>
#include <string_view>

namespace lwm2m {

enum class LogLevel { trace, debug, info, warn, error, off };

/// Whether `text` may reach a log sink unchanged: printable ASCII (0x20..0x7E, except '\') and
/// valid UTF-8 sequences other than the escaped code points listed at escape_log_text().
[[nodiscard]] bool log_text_is_clean(std::string_view text) noexcept;

/// Appends `text` to `out` with every byte that could forge a line, drive a terminal or confuse
/// a reader escaped as `\xNN` (two lower-case hex digits):
/// - C0 control bytes 0x00..0x1F (newline, carriage return, ESC, tab, ...) and DEL 0x7F;
/// - bytes that are not part of a valid UTF-8 sequence (RFC 3629 §4: overlong forms,
///   surrogates, code points above U+10FFFF, truncated sequences, stray continuation bytes);
/// - the bytes of valid sequences for C1 controls U+0080..U+009F (U+009B is an 8-bit CSI),
///   U+2028/U+2029 (line/paragraph separators) and the bidirectional overrides U+202A..U+202E
///   and U+2066..U+2069, which reorder how a line is displayed.
/// A backslash becomes `\\`, so the escaping is unambiguous (`\x0a` in the output is always an
/// escaped byte, never text a peer sent). Everything else, including valid multi-byte UTF-8,
/// is copied unchanged.
void escape_log_text(std::string_view text, std::string& out);

class Logger {
public:
    virtual ~Logger() = default;
    [[nodiscard]] virtual bool enabled(LogLevel level) const = 0;

    /// Writes one log record. `component` and `message` are escaped (escape_log_text) before the
    /// sink sees them; when both are clean (the usual case) they are passed through without any
    /// copy or allocation. Never throws for any input bytes (std::bad_alloc aside).
    void write(LogLevel level, std::string_view component, std::string_view message);

protected:
    /// Receives one record whose component and message are escaped: printable ASCII and valid
    /// UTF-8 only (no control bytes, no line breaks), a backslash only as the start of `\\` or
    /// `\xNN`. Implementations print or store them as they are.
    virtual void sink(LogLevel level, std::string_view component, std::string_view message) = 0;
};

/// Discards everything; the default where no logger is injected.
class NullLogger final : public Logger {
public:
    [[nodiscard]] bool enabled(LogLevel) const override { return false; }
    static NullLogger& instance() noexcept;

protected:
    void sink(LogLevel, std::string_view, std::string_view) override {}
};

} // namespace lwm2m
