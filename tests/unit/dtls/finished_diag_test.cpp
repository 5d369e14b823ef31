// DTLS diagnostics of a PSK client whose Finished is not accepted (issue #7). A server that
// cannot decrypt our Finished may drop it silently (RFC 6347 §4.1.2.7; OpenSSL does), or end the
// handshake with a non-specific alert (libcoap's GnuTLS server sends close_notify). Either way
// the client names the likely cause (wrong PSK key or identity) instead of a bare timeout, and
// within its handshake timeout; a correct handshake with lost replies is not misdiagnosed.
#include <gtest/gtest.h>

#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace finished_diag_test { // named: unity builds join the files

const PeerAddr kClient = PeerAddr::v4(192, 0, 2, 60, 7000);

bool has_alert(const Datagram& d) {
    for (std::size_t off = 0; off + 13 <= d.bytes.size();) {
        if (d.bytes[off] == std::byte{21}) return true;
        off += 13 + ((std::to_integer<std::size_t>(d.bytes[off + 11]) << 8) |
                     std::to_integer<std::size_t>(d.bytes[off + 12]));
    }
    return false;
}
bool has_epoch1(const Datagram& d) {
    for (std::size_t off = 0; off + 13 <= d.bytes.size();) {
        if (d.bytes[off + 3] != std::byte{0} || d.bytes[off + 4] != std::byte{0}) return true;
        off += 13 + ((std::to_integer<std::size_t>(d.bytes[off + 11]) << 8) |
                     std::to_integer<std::size_t>(d.bytes[off + 12]));
    }
    return false;
}

/// An alert record in the clear (epoch 0), as a server sends it before its ChangeCipherSpec.
Bytes plain_alert(int level, int description) {
    return bytes_of({21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 100, 0, 2, level, description});
}

struct DiagRun {
    MemStore store;
    std::optional<ServerTable> server;
    std::optional<ClientSession> client;
    std::optional<Bench> bench;
    std::size_t client_finished_flights = 0;

    /// Server knows key 1; the client uses `client_key`.
    DiagRun(int client_key, Duration handshake_timeout = std::chrono::seconds(60)) {
        const Bytes id = to_bytes("diag-ep");
        store.psk[id] = SecretBytes(pattern(16, 1));
        auto s = ServerTable::create(ServerConfig{}, store);
        EXPECT_TRUE(s);
        server.emplace(std::move(*s));
        ClientConfig c;
        c.server = PeerAddr::v4(10, 0, 0, 1, 5684);
        c.credentials = PskCredentials{id, SecretBytes(pattern(16, client_key))};
        c.handshake_timeout = handshake_timeout;
        auto cs = ClientSession::create(std::move(c));
        EXPECT_TRUE(cs);
        client.emplace(std::move(*cs));
        bench.emplace(*server);
        bench->add(kClient, *client);
    }
    bool failed() const {
        auto it = bench->client_events.find(kClient);
        return it != bench->client_events.end() && !only<HandshakeFailed>(it->second).empty();
    }
    Error failure() const {
        auto f = only<HandshakeFailed>(bench->client_events.at(kClient));
        return f.empty() ? Error{} : f.front().error;
    }
    /// Runs until the client is established or failed; returns the virtual time it took.
    Duration go() {
        EXPECT_TRUE(client->connect(bench->now));
        const TimePoint start = bench->now;
        bench->run_until([&] { return client->established() || failed(); }, 200s);
        return bench->now - start;
    }
};

TEST(DtlsFinishedDiagnosis, SilentlyDroppedFinishedIsNamedAndFastOnWrongKey) {
    DiagRun r(2);
    // The server's decrypt_error alert is lost: from the client's view the server drops our
    // Finished without a word, like OpenSSL.
    r.bench->fate = [&](const Datagram& d, bool to_server) {
        if (to_server && has_epoch1(d)) ++r.client_finished_flights;
        return !to_server && has_alert(d) ? 0 : 1;
    };
    const Duration took = r.go();
    ASSERT_TRUE(r.failed());
    EXPECT_EQ(r.failure(), make_error_code(Errc::no_finished_reply)) << r.failure().message();
    EXPECT_NE(r.failure().message().find("no reply to our Finished: wrong PSK key or identity?"),
              std::string::npos);
    EXPECT_GE(r.client_finished_flights, 4U);
    // 4 transmissions (0, 1, 3, 7 s) and one more timeout: ~15 s, far below the 60 s timeout.
    EXPECT_LE(took, 16s);
    EXPECT_FALSE(r.client->next_deadline().has_value());
}

TEST(DtlsFinishedDiagnosis, ThreeLostFinalFlightsAreALossyPathNotAWrongKey) {
    DiagRun r(1); // the right key
    // Our final flight is lost three times in a row (the DTLS simulation met it, seed 207): the
    // client must keep trying, not report no_finished_reply.
    std::size_t lost = 0;
    r.bench->fate = [&](const Datagram& d, bool to_server) {
        if (to_server && has_epoch1(d) && lost < 3) {
            ++lost;
            return 0;
        }
        return 1;
    };
    r.go();
    EXPECT_EQ(lost, 3U);
    EXPECT_FALSE(r.failed()) << r.failure().message();
    EXPECT_TRUE(r.client->established());
}

TEST(DtlsFinishedDiagnosis, HandshakeTimeoutBoundsTheDiagnosis) {
    DiagRun r(2, 2s); // e.g. `lwm2m coap get --timeout 2`
    r.bench->fate = [](const Datagram& d, bool to_server) {
        return !to_server && has_alert(d) ? 0 : 1;
    };
    const Duration took = r.go();
    ASSERT_TRUE(r.failed());
    EXPECT_EQ(r.failure(), make_error_code(Errc::no_finished_reply)) << r.failure().message();
    EXPECT_LE(took, 2s);
}

TEST(DtlsFinishedDiagnosis, FinishedSentOnceIsStillAPlainTimeout) {
    DiagRun r(2, 500ms); // no retransmission of our Finished before the deadline
    r.bench->fate = [](const Datagram& d, bool to_server) {
        return !to_server && has_alert(d) ? 0 : 1;
    };
    r.go();
    ASSERT_TRUE(r.failed());
    EXPECT_EQ(r.failure(), make_error_code(Errc::handshake_timeout)) << r.failure().message();
}

/// The server answers our Finished with `alert` in the clear (and nothing else).
Error refused_with(int level, int description) {
    DiagRun r(2);
    bool finished_sent = false;
    r.bench->fate = [&](const Datagram& d, bool to_server) {
        if (to_server && has_epoch1(d)) finished_sent = true;
        return !to_server && finished_sent ? 0 : 1; // the server falls silent after our Finished
    };
    EXPECT_TRUE(r.client->connect(r.bench->now));
    r.bench->settle();
    EXPECT_TRUE(finished_sent);
    EXPECT_FALSE(r.failed());
    r.client->on_datagram(r.bench->now, r.bench->server_addr(), plain_alert(level, description));
    r.bench->settle();
    EXPECT_TRUE(r.failed());
    return r.failed() ? r.failure() : Error{};
}

TEST(DtlsFinishedDiagnosis, CloseNotifyAfterOurFinishedNamesTheLikelyCause) {
    // libcoap's GnuTLS server after an undecryptable Finished: a warning close_notify.
    const Error e = refused_with(1, 0);
    EXPECT_EQ(e, make_error_code(Errc::finished_refused)) << e.message();
    EXPECT_NE(e.message().find("wrong PSK key or identity?"), std::string::npos);
}

TEST(DtlsFinishedDiagnosis, HandshakeFailureAlertAfterOurFinishedIsNotASuiteMismatch) {
    const Error e = refused_with(2, 40); // fatal handshake_failure
    EXPECT_EQ(e, make_error_code(Errc::finished_refused)) << e.message();
}

TEST(DtlsFinishedDiagnosis, SpecificAlertsKeepTheirMeaning) {
    EXPECT_EQ(refused_with(2, 51), make_error_code(Errc::bad_credentials));   // decrypt_error
    EXPECT_EQ(refused_with(2, 115), make_error_code(Errc::unknown_identity)); // unknown_psk_id
}

TEST(DtlsFinishedDiagnosis, LostRepliesToACorrectFinishedAreNotMisdiagnosed) {
    DiagRun r(1); // right key
    int dropped = 0;
    r.bench->fate = [&](const Datagram& d, bool to_server) {
        if (!to_server && has_epoch1(d) && dropped < 2) {
            ++dropped; // the server's CCS + Finished is lost twice
            return 0;
        }
        return 1;
    };
    r.go();
    EXPECT_EQ(dropped, 2);
    EXPECT_TRUE(r.client->established()) << (r.failed() ? r.failure().message() : "");
}

} // namespace finished_diag_test
} // namespace lwm2m::dtls::test
