// Log injection (issue #7): peer-controlled text that reaches the log through the real CoAP
// endpoint cannot forge a log line or drive the terminal, whatever the call site does, because
// Logger::write() escapes before any sink (here the tests' CaptureLogger) sees the text.
#include <gtest/gtest.h>

#include <string>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/endpoint.hpp>

#include "support/capture_logger.hpp"
#include "support/coap_script.hpp"

namespace lwm2m {
namespace {

/// True when `s` has no byte below 0x20, no DEL and no ESC: nothing that breaks a line or
/// reaches a terminal as a control sequence.
bool no_control_bytes(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7F) return false;
    return true;
}

TEST(LogInjection, HostileUriPathThroughTheEndpointCannotForgeLines) {
    test::CaptureLogger log;
    SeededRandom rng(7);
    coap::Config cfg;
    coap::Endpoint ep(cfg, rng, log);
    const PeerAddr peer = PeerAddr::v4(203, 0, 113, 9, 40000);
    const TimePoint now{};

    // Uri-Path segments are opaque bytes (RFC 7252 §5.10.1): a peer may put a line break, a fake
    // log prefix, ANSI escapes (clear screen, colour) and invalid UTF-8 in them.
    const std::string forged = "x\n23:59:59.000 error [dtls] handshake with 10.0.0.1 failed\r";
    const std::string ansi = "\x1b[2J\x1b[31mRED\x1b[0m";
    const std::string bad_utf8 = "\xc0\xaf\xff";
    coap::Message req = test::con(coap::code::get).mid(1).token("t1");
    req.add_option(coap::option::uri_path, std::string_view(forged));
    req.add_option(coap::option::uri_path, std::string_view(ansi));
    req.add_option(coap::option::uri_path, std::string_view(bad_utf8));
    ep.on_datagram(now, peer, coap::encode(req));
    // Malformed datagrams make the endpoint log by itself too (at debug).
    ep.on_datagram(now, peer, as_bytes(std::string_view("\x45\n\x1b[2Jgarbage")));

    int requests = 0;
    while (auto e = ep.poll_event()) {
        if (auto* in = std::get_if<coap::IncomingRequest>(&*e)) {
            ++requests;
            // What every server does: log the method and the path it serves.
            log.write(LogLevel::info, "server",
                      in->request.code.to_string() + " " + in->request.path() + " from " +
                          in->peer.to_string());
            (void)ep.send_response(now, in->id, coap::Message{});
        }
    }
    ASSERT_EQ(requests, 1);
    ASSERT_FALSE(log.lines.empty());
    for (const auto& l : log.lines) {
        EXPECT_TRUE(no_control_bytes(l.message)) << l.message;
        // Nothing left that needs escaping except the backslashes of the escapes themselves.
        std::string again;
        escape_log_text(l.message, again);
        std::size_t backslashes = 0;
        for (char c : l.message)
            backslashes += c == '\\';
        EXPECT_EQ(again.size(), l.message.size() + backslashes) << l.message;
    }
    // Exactly one record per write: the forged "error" line stays inside the info record.
    const auto& served = log.lines.back();
    EXPECT_EQ(served.level, LogLevel::info);
    EXPECT_NE(served.message.find("/x\\x0a23:59:59.000 error [dtls]"), std::string::npos)
        << served.message;
    EXPECT_NE(served.message.find("\\x1b[2J\\x1b[31mRED\\x1b[0m"), std::string::npos);
    EXPECT_NE(served.message.find("\\xc0\\xaf\\xff"), std::string::npos);
    // One line per record when printed as text.
    std::size_t newlines = 0;
    for (char c : log.all())
        newlines += c == '\n';
    EXPECT_EQ(newlines, log.lines.size());
}

} // namespace
} // namespace lwm2m
