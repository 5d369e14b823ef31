// Logger::write() escapes control bytes, DEL, backslash, dangerous code points and invalid UTF-8
// for every Logger, and passes clean text through without copying or allocating.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <lwm2m/base/log.hpp>

#include "alloc_counter.hpp"

namespace lwm2m {
namespace {

/// Records what the sink received, and whether it got the caller's own bytes (no copy).
class ViewLogger final : public Logger {
public:
    [[nodiscard]] bool enabled(LogLevel) const override { return true; }
    std::string component, message;
    const char* message_data = nullptr;
    int calls = 0;

protected:
    void sink(LogLevel, std::string_view c, std::string_view m) override {
        ++calls;
        message_data = m.data();
        component.assign(c);
        message.assign(m);
    }
};

std::string escaped(std::string_view s) {
    std::string out;
    escape_log_text(s, out);
    return out;
}

/// Escaped text is safe to print: escaping it again only doubles its backslashes (nothing else
/// in it needs escaping).
bool is_escaped_output(const std::string& e) {
    std::string doubled;
    for (char c : e) {
        doubled += c;
        if (c == '\\') doubled += c;
    }
    return escaped(e) == doubled;
}

TEST(LogEscape, PrintableAsciiIsUnchanged) {
    const std::string s = "GET /3/0/1 from 192.0.2.1:5683 -> 2.05 {\"a\":[1,2]} ~!@#$%^&*()";
    EXPECT_TRUE(log_text_is_clean(s));
    EXPECT_EQ(escaped(s), s);
    EXPECT_TRUE(log_text_is_clean(""));
}

TEST(LogEscape, ControlBytesAndDelAreEscaped) {
    EXPECT_EQ(escaped("a\nb"), "a\\x0ab");
    EXPECT_EQ(escaped("\r\n"), "\\x0d\\x0a");
    EXPECT_EQ(escaped("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
    EXPECT_EQ(escaped(std::string_view("nul\0end", 7)), "nul\\x00end");
    EXPECT_EQ(escaped("tab\there"), "tab\\x09here");
    EXPECT_EQ(escaped("del\x7f"), "del\\x7f");
    for (int b = 0; b < 0x20; ++b) {
        const char c = static_cast<char>(b);
        EXPECT_FALSE(log_text_is_clean(std::string_view(&c, 1))) << b;
    }
}

TEST(LogEscape, BackslashIsDoubledSoEscapesAreUnambiguous) {
    // A peer sending the four characters \x0a must not look like an escaped newline.
    EXPECT_EQ(escaped("\\x0a"), "\\\\x0a");
    EXPECT_FALSE(log_text_is_clean("C:\\path"));
}

TEST(LogEscape, ValidMultiByteUtf8PassesUnchanged) {
    const std::vector<std::string> ok = {
        "caf\xc3\xa9",              // U+00E9
        "\xce\xbb-calculus",        // U+03BB
        "\xe2\x82\xac 5",           // U+20AC euro
        "\xe6\x97\xa5\xe6\x9c\xac", // CJK
        "\xf0\x9f\x98\x80",         // U+1F600 (4 bytes)
        "\xf4\x8f\xbf\xbf",         // U+10FFFF, the last code point
        "\xc2\xa0\xc2\xbf",         // U+00A0, U+00BF (just above C1)
        "\xe2\x80\xa7\xe2\x80\xaf", // U+2027, U+202F (beside the escaped range)
        "\xed\x9f\xbf\xee\x80\x80", // U+D7FF, U+E000 (around the surrogates)
    };
    for (const auto& s : ok) {
        EXPECT_TRUE(log_text_is_clean(s)) << s;
        EXPECT_EQ(escaped(s), s);
    }
}

TEST(LogEscape, InvalidUtf8IsEscapedBytewise) {
    EXPECT_EQ(escaped("\xff"), "\\xff");
    EXPECT_EQ(escaped("a\x80z"), "a\\x80z");                              // stray continuation
    EXPECT_EQ(escaped("\xc3"), "\\xc3");                                  // truncated at the end
    EXPECT_EQ(escaped("\xc3("), "\\xc3(");                                // bad continuation
    EXPECT_EQ(escaped("\xc0\xaf"), "\\xc0\\xaf");                         // overlong '/'
    EXPECT_EQ(escaped("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");                // overlong, 3 bytes
    EXPECT_EQ(escaped("\xed\xa0\x80"), "\\xed\\xa0\\x80");                // surrogate U+D800
    EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");       // above U+10FFFF
    EXPECT_EQ(escaped("\xf0\x9f\x98"), "\\xf0\\x9f\\x98");                // truncated 4-byte
    EXPECT_EQ(escaped("\xe2\x82\xac\xe2\x82"), "\xe2\x82\xac\\xe2\\x82"); // good then truncated
}

TEST(LogEscape, LineSeparatorsC1AndBidiControlsAreEscaped) {
    EXPECT_EQ(escaped("\xc2\x85"), "\\xc2\\x85"); // U+0085 NEL
    EXPECT_EQ(escaped("\xc2\x9b"
                      "2J"),
              "\\xc2\\x9b"
              "2J");                                       // U+009B CSI
    EXPECT_EQ(escaped("\xe2\x80\xa8"), "\\xe2\\x80\\xa8"); // U+2028
    EXPECT_EQ(escaped("\xe2\x80\xa9"), "\\xe2\\x80\\xa9"); // U+2029
    EXPECT_EQ(escaped("\xe2\x80\xae"
                      "abc"),
              "\\xe2\\x80\\xae"
              "abc");                                      // U+202E RLO
    EXPECT_EQ(escaped("\xe2\x81\xa6"), "\\xe2\\x81\\xa6"); // U+2066 LRI
}

TEST(LogEscape, EveryOutputIsCleanAndHasNoLineBreak) {
    // Exhaustive over all 1- and 2-byte inputs, and every byte before/after a 3-byte prefix.
    for (int a = 0; a < 256; ++a) {
        for (int b = -1; b < 256; ++b) {
            std::string s(1, static_cast<char>(a));
            if (b >= 0) s.push_back(static_cast<char>(b));
            const std::string e = escaped(s);
            ASSERT_TRUE(is_escaped_output(e)) << a << " " << b;
            ASSERT_EQ(e.find('\n'), std::string::npos);
            ASSERT_EQ(e.find('\r'), std::string::npos);
            if (log_text_is_clean(s)) {
                ASSERT_EQ(e, s);
            }
        }
    }
}

TEST(LogEscape, WriteEscapesEverySinkInput) {
    ViewLogger log;
    log.write(LogLevel::info, "co\nap", "GET /a\n12:00:00 ERROR forged\x1b[2J");
    EXPECT_EQ(log.calls, 1);
    EXPECT_EQ(log.component, "co\\x0aap");
    EXPECT_EQ(log.message, "GET /a\\x0a12:00:00 ERROR forged\\x1b[2J");
}

TEST(LogEscape, CleanMessagesAreNeitherCopiedNorAllocated) {
    ViewLogger log;
    log.write(LogLevel::info, "warm", "up"); // first-use allocations of the sink's strings
    log.component.reserve(64);
    log.message.reserve(256);
    const std::string msg = "handshake with 192.0.2.1:5684 done (caf\xc3\xa9 \xf0\x9f\x98\x80)";
    const auto before = test::allocation_count();
    log.write(LogLevel::debug, "dtls", msg);
    const auto after = test::allocation_count();
    EXPECT_EQ(after - before, 0U);
    EXPECT_EQ(log.message_data, msg.data()) << "a clean message must reach the sink uncopied";
    EXPECT_EQ(log.message, msg);
}

TEST(LogEscape, NullLoggerAcceptsAnything) {
    NullLogger::instance().write(LogLevel::error, "x", std::string_view("\0\xff\n", 3));
    EXPECT_FALSE(NullLogger::instance().enabled(LogLevel::error));
}

} // namespace
} // namespace lwm2m
