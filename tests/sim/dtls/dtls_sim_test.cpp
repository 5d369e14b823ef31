// DTLS under a lossy network (virtual time, GnuTLS's clock hooked to it): handshake and 20
// application round trips complete with 10% loss and 10% duplication, for several seeds and for
// PSK, RPK and X.509. Invariants: no handshake failure, one HandshakeDone per side, no record
// delivered more often than it was sent (DTLS replay protection, RFC 6347 §4.1.2.6).
// CCM-8 sessions run on the own record path (issue #13); the Takeover cases move the session to
// a second ServerTable (export, import above a reserved sequence range) after 10 round trips,
// with datagrams still in flight, and the last 10 go to the new table with no handshake.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include <lwm2m/base/random.hpp>

#include "support/sim_network.hpp"
#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace {

const PeerAddr kClient = PeerAddr::v4(192, 0, 2, 77, 50000);

enum class Mode { psk, rpk, x509 };

struct SimResult {
    int round_trips = 0;
    std::size_t datagrams = 0;
};

void run_sim(Mode mode, std::uint64_t seed, bool takeover = false) {
    const auto& pki = lwm2m::test::test_pki();
    MemStore store;
    const Bytes id = pattern(128, static_cast<int>(seed));
    const Bytes key = pattern(64, static_cast<int>(seed) + 1);
    store.psk[id] = SecretBytes(key);
    store.rpk.push_back(pki.client_rpk.spki_der);
    ServerConfig scfg;
    scfg.rpk = RpkCredentials{pki.server_rpk.spki_der, pki.server_rpk.private_key_der};
    scfg.x509 = X509Credentials{{pki.server.der}, pki.server.key.private_key_der};
    scfg.client_ca_der = {pki.ca.der};
    auto server = ServerTable::create(scfg, store);
    auto second = ServerTable::create(scfg, store);
    ASSERT_TRUE(server && second);
    ClientConfig ccfg;
    ccfg.server = PeerAddr::v4(10, 0, 0, 1, 5684);
    switch (mode) {
    case Mode::psk:
        ccfg.credentials = PskCredentials{id, SecretBytes(key)};
        break;
    case Mode::rpk:
        ccfg.credentials = RpkCredentials{pki.client_rpk.spki_der, pki.client_rpk.private_key_der};
        ccfg.server_public_key = pki.server_rpk.spki_der;
        break;
    case Mode::x509:
        ccfg.credentials = X509Credentials{{pki.client.der}, pki.client.key.private_key_der};
        ccfg.server_public_key = pki.server.der;
        break;
    }
    auto client = ClientSession::create(std::move(ccfg));
    ASSERT_TRUE(client);

    Bench b(*server);
    SeededRandom rnd(seed);
    std::size_t dropped = 0, duplicated = 0;
    b.fate = [&](const Datagram& d, bool to_srv) {
        const auto r = rnd.uniform(100);
        if (std::getenv("DTLS_SIM_DEBUG")) {
            std::string recs;
            std::size_t off = 0;
            while (off + 13 <= d.bytes.size()) {
                const unsigned t = std::to_integer<unsigned>(d.bytes[off]);
                const unsigned ep = std::to_integer<unsigned>(d.bytes[off + 4]);
                const unsigned len = (std::to_integer<unsigned>(d.bytes[off + 11]) << 8) |
                                     std::to_integer<unsigned>(d.bytes[off + 12]);
                recs += " " + std::to_string(t) + "/e" + std::to_string(ep);
                if (t == 22 && ep == 0 && off + 13 < d.bytes.size())
                    recs += ":h" + std::to_string(std::to_integer<unsigned>(d.bytes[off + 13]));
                off += 13 + len;
            }
            std::printf("t=%lldms %s%s -> %s\n", (long long)to_ms(b.now.time_since_epoch()),
                        to_srv ? "C->S" : "S->C", recs.c_str(),
                        r < 10   ? "DROP"
                        : r < 20 ? "DUP"
                                 : "ok");
        }
        if (r < 10) {
            ++dropped;
            return 0;
        }
        if (r < 20) {
            ++duplicated;
            return 2;
        }
        return 1;
    };
    b.add(kClient, *client);
    ASSERT_TRUE(client->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return client->established(); }, 120s))
        << "seed " << seed << " handshake did not complete";
    ASSERT_TRUE(b.run_until([&] { return server->established(kClient); }, 120s));

    // 20 request/response round trips; the application retransmits every 2 s (as CoAP would).
    std::map<std::string, int> sent, received_by_server;
    std::size_t server_seen = 0, client_seen = 0;
    int done = 0;
    for (int i = 0; i < 20; ++i) {
        if (takeover && i == 10) {
            // Node A stops (whatever it has queued is lost); node B imports its session.
            auto st = server->export_session(kClient);
            ASSERT_TRUE(st) << st.error().message();
            while (server->poll_transmit()) {
            }
            while (auto e = server->poll_event())
                b.server_events.push_back(std::move(*e));
            ASSERT_TRUE(second->import_session(b.now, std::move(*st), std::uint64_t{1} << 32));
            server = std::move(second); // node A's table is gone
            b.set_server(*server);
        }
        const std::string req = "req-" + std::to_string(i);
        const std::string resp = "resp-" + std::to_string(i);
        bool ok = false;
        for (int attempt = 0; attempt < 30 && !ok; ++attempt) {
            ASSERT_TRUE(client->send(b.now, client->server(), as_bytes(req)));
            ++sent[req];
            b.settle();
            for (; server_seen < b.server_events.size(); ++server_seen) {
                if (auto* p = std::get_if<Plaintext>(&b.server_events[server_seen])) {
                    const std::string text(as_string_view(p->data));
                    ++received_by_server[text];
                    const std::string answer = "resp-" + text.substr(4);
                    ASSERT_TRUE(server->send(b.now, p->peer, as_bytes(answer)));
                }
            }
            b.settle();
            auto& cev = b.client_events[kClient];
            for (; client_seen < cev.size(); ++client_seen)
                if (auto* p = std::get_if<Plaintext>(&cev[client_seen]))
                    if (as_string_view(p->data) == resp) ok = true;
            if (!ok) b.advance(2s);
        }
        ASSERT_TRUE(ok) << "seed " << seed << " round trip " << i;
        ++done;
    }
    EXPECT_EQ(done, 20);
    for (const auto& [text, n] : received_by_server)
        EXPECT_LE(n, sent[text]) << text << ": a record was delivered twice";
    EXPECT_TRUE(only<HandshakeFailed>(b.server_events).empty());
    EXPECT_TRUE(only<HandshakeFailed>(b.client_events[kClient]).empty());
    // An import announces the session again (HandshakeDone) without a handshake.
    EXPECT_EQ(only<HandshakeDone>(b.server_events).size(), takeover ? 2U : 1U);
    EXPECT_EQ(only<HandshakeDone>(b.client_events[kClient]).size(), 1U);
    EXPECT_EQ(server->size(), 1U);
    EXPECT_TRUE(server->own_record_path(kClient)); // every mode negotiates a CCM-8 suite
    if (takeover) {
        EXPECT_EQ(server->stats().handshakes_completed, 0U);
        EXPECT_EQ(server->stats().sessions_imported, 1U);
    }
    EXPECT_GT(dropped + duplicated, 0U); // the network did interfere
}

class DtlsSim : public ::testing::TestWithParam<std::tuple<Mode, std::uint64_t>> {};

TEST_P(DtlsSim, HandshakeAndRoundTripsUnderLossAndDuplication) {
    run_sim(std::get<0>(GetParam()), std::get<1>(GetParam()));
}

TEST_P(DtlsSim, SessionTakeoverUnderLossAndDuplication) {
    run_sim(std::get<0>(GetParam()), std::get<1>(GetParam()), true);
}

// 12 seeds in the default `sim` run, 300 under `sim-long` (LWM2M_SIM_SEEDS).
const std::uint64_t kSeeds = lwm2m::test::sim_seeds(12);
INSTANTIATE_TEST_SUITE_P(Psk, DtlsSim,
                         ::testing::Combine(::testing::Values(Mode::psk),
                                            ::testing::Range<std::uint64_t>(1, 1 + kSeeds)));
INSTANTIATE_TEST_SUITE_P(Rpk, DtlsSim,
                         ::testing::Combine(::testing::Values(Mode::rpk),
                                            ::testing::Range<std::uint64_t>(1000,
                                                                            1000 + kSeeds / 3)));
INSTANTIATE_TEST_SUITE_P(X509, DtlsSim,
                         ::testing::Combine(::testing::Values(Mode::x509),
                                            ::testing::Range<std::uint64_t>(2000,
                                                                            2000 + kSeeds / 3)));

} // namespace
} // namespace lwm2m::dtls::test
