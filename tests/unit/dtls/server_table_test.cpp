// ServerTable behaviour: RFC 6347 §4.2.8 session replacement, idle timeout, LRU eviction,
// cookie key rotation, and secrets never reaching the log.
#include <gtest/gtest.h>

#include "support/capture_logger.hpp"
#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace {

const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 1, 5684);
const PeerAddr kA = PeerAddr::v4(192, 0, 2, 1, 1001);
const PeerAddr kB = PeerAddr::v4(192, 0, 2, 2, 1002);
const PeerAddr kC = PeerAddr::v4(192, 0, 2, 3, 1003);

ClientConfig client_cfg(const Bytes& id, const Bytes& key) {
    ClientConfig c;
    c.server = kServer;
    c.credentials = PskCredentials{id, SecretBytes(key)};
    return c;
}

std::vector<Bytes> drain(ServerTable& s) {
    std::vector<Bytes> out;
    while (auto d = s.poll_transmit())
        out.push_back(std::move(d->bytes));
    return out;
}
std::vector<Bytes> drain(ClientSession& c) {
    std::vector<Bytes> out;
    while (auto d = c.poll_transmit())
        out.push_back(std::move(d->bytes));
    return out;
}
std::vector<Event> events(ServerTable& s) {
    std::vector<Event> out;
    while (auto e = s.poll_event())
        out.push_back(std::move(*e));
    return out;
}
std::vector<Event> events(ClientSession& s) {
    std::vector<Event> out;
    while (auto e = s.poll_event())
        out.push_back(std::move(*e));
    return out;
}

class TableTest : public ::testing::Test {
protected:
    void SetUp() override {
        id_ = to_bytes("endpoint-a");
        key_ = pattern(32, 5);
        store_.psk[id_] = SecretBytes(key_);
        lwm2m::test::GnutlsVirtualTime::install(TimePoint{});
    }
    MemStore store_;
    Bytes id_, key_;
};

// RFC 6347 §4.2.8: a new handshake from the address of an established session replaces it only
// when it completes; until then the old session keeps working.
TEST_F(TableTest, NewHandshakeReplacesSessionOnlyWhenComplete) {
    auto server = ServerTable::create(ServerConfig{}, store_);
    auto a = ClientSession::create(client_cfg(id_, key_));
    ASSERT_TRUE(server && a);
    Bench b(*server);
    b.add(kA, *a);
    ASSERT_TRUE(a->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return a->established(); }));
    b.remove(kA);
    (void)events(*server);
    b.server_events.clear();

    // The client "rebooted": a fresh session from the same address and port.
    auto fresh = ClientSession::create(client_cfg(id_, key_));
    ASSERT_TRUE(fresh);
    TimePoint now = b.now;
    ASSERT_TRUE(fresh->connect(now));
    auto ch1 = drain(*fresh);
    ASSERT_EQ(ch1.size(), 1U);
    server->on_datagram(now, kA, ch1[0]);
    auto hvr = drain(*server);
    ASSERT_EQ(hvr.size(), 1U);
    EXPECT_EQ(server->size(), 1U); // nothing allocated before the cookie
    fresh->on_datagram(now, kServer, hvr[0]);
    auto ch2 = drain(*fresh);
    ASSERT_EQ(ch2.size(), 1U);
    server->on_datagram(now, kA, ch2[0]);
    auto flight2 = drain(*server);
    ASSERT_FALSE(flight2.empty());
    EXPECT_EQ(server->size(), 2U);        // old + pending replacement
    EXPECT_TRUE(server->established(kA)); // the old one still serves

    // Old session still works both ways while the new handshake is in progress.
    ASSERT_TRUE(a->send(now, kServer, to_bytes("old-up")));
    for (auto& d : drain(*a))
        server->on_datagram(now, kA, d);
    auto ev = events(*server);
    auto up = only<Plaintext>(ev);
    ASSERT_EQ(up.size(), 1U);
    EXPECT_EQ(up[0].data, to_bytes("old-up"));
    ASSERT_TRUE(server->send(now, kA, to_bytes("old-down")));
    for (auto& d : drain(*server))
        a->on_datagram(now, kServer, d);
    auto down = only<Plaintext>(events(*a));
    ASSERT_EQ(down.size(), 1U);
    EXPECT_EQ(down[0].data, to_bytes("old-down"));

    // Complete the new handshake.
    for (auto& d : flight2)
        fresh->on_datagram(now, kServer, d);
    auto flight3 = drain(*fresh);
    ASSERT_FALSE(flight3.empty());
    for (auto& d : flight3)
        server->on_datagram(now, kA, d);
    for (auto& d : drain(*server))
        fresh->on_datagram(now, kServer, d);
    EXPECT_TRUE(fresh->established());
    ev = events(*server);
    ASSERT_EQ(ev.size(), 2U);
    ASSERT_TRUE(std::holds_alternative<Closed>(ev[0]));
    EXPECT_EQ(std::get<Closed>(ev[0]).reason, make_error_code(Errc::replaced));
    ASSERT_TRUE(std::holds_alternative<HandshakeDone>(ev[1]));
    EXPECT_EQ(server->size(), 1U);
    EXPECT_EQ(server->stats().replacements, 1U);

    // Traffic now uses the new keys: the new client reads it, the old one cannot.
    ASSERT_TRUE(server->send(now, kA, to_bytes("new-down")));
    auto out = drain(*server);
    for (auto& d : out)
        fresh->on_datagram(now, kServer, d);
    for (auto& d : out)
        a->on_datagram(now, kServer, d);
    auto got = only<Plaintext>(events(*fresh));
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0].data, to_bytes("new-down"));
    EXPECT_TRUE(only<Plaintext>(events(*a)).empty());
}

TEST_F(TableTest, FailedReplacementLeavesOldSessionAlone) {
    auto server = ServerTable::create(ServerConfig{}, store_);
    auto a = ClientSession::create(client_cfg(id_, key_));
    ASSERT_TRUE(server && a);
    Bench b(*server);
    b.add(kA, *a);
    ASSERT_TRUE(a->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return a->established(); }));
    b.remove(kA);
    (void)events(*server);

    auto intruder = ClientSession::create(client_cfg(to_bytes("nobody"), key_));
    ASSERT_TRUE(intruder);
    TimePoint now = b.now;
    ASSERT_TRUE(intruder->connect(now));
    for (int round = 0; round < 6; ++round) {
        for (auto& d : drain(*intruder))
            server->on_datagram(now, kA, d);
        for (auto& d : drain(*server))
            intruder->on_datagram(now, kServer, d);
    }
    EXPECT_FALSE(intruder->established());
    EXPECT_EQ(server->size(), 1U);
    EXPECT_TRUE(server->established(kA));
    auto ev = events(*server);
    EXPECT_TRUE(only<HandshakeFailed>(ev).empty()); // the working session's peer is not "failed"
    EXPECT_TRUE(only<Closed>(ev).empty());
    ASSERT_TRUE(a->send(now, kServer, to_bytes("still-here")));
    for (auto& d : drain(*a))
        server->on_datagram(now, kA, d);
    auto up = only<Plaintext>(events(*server));
    ASSERT_EQ(up.size(), 1U);
    EXPECT_EQ(up[0].data, to_bytes("still-here"));
}

TEST_F(TableTest, DuplicateClientHelloAfterHandshakeIsIgnored) {
    auto server = ServerTable::create(ServerConfig{}, store_);
    auto a = ClientSession::create(client_cfg(id_, key_));
    ASSERT_TRUE(server && a);
    Bench b(*server);
    std::vector<Bytes> hellos;
    b.fate = [&](const Datagram& d, bool to_server) {
        if (to_server && d.bytes.size() > 13 && d.bytes[13] == std::byte{1})
            hellos.push_back(d.bytes);
        return 1;
    };
    b.add(kA, *a);
    ASSERT_TRUE(a->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return a->established(); }));
    ASSERT_EQ(hellos.size(), 2U);
    for (const auto& h : hellos)
        server->on_datagram(b.now, kA, h); // late duplicates
    EXPECT_EQ(server->size(), 1U);
    EXPECT_TRUE(server->established(kA));
    EXPECT_GE(server->stats().dropped_datagrams, 1U);
}

TEST_F(TableTest, IdleTimeoutClosesSession) {
    ServerConfig cfg;
    cfg.idle_timeout = 30s;
    auto server = ServerTable::create(cfg, store_);
    auto a = ClientSession::create(client_cfg(id_, key_));
    ASSERT_TRUE(server && a);
    Bench b(*server);
    b.add(kA, *a);
    ASSERT_TRUE(a->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return a->established(); }));
    b.advance(29s);
    EXPECT_TRUE(server->established(kA));
    ASSERT_TRUE(a->send(b.now, kServer, to_bytes("keepalive")));
    b.advance(29s);
    EXPECT_TRUE(server->established(kA)); // activity restarted the idle timer
    ASSERT_TRUE(server->next_deadline().has_value());
    b.advance(2s);
    EXPECT_EQ(server->size(), 0U);
    auto closed = only<Closed>(b.server_events);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reason, make_error_code(Errc::idle_timeout));
    EXPECT_EQ(server->stats().idle_closes, 1U);
    auto cc = only<Closed>(b.client_events[kA]);
    ASSERT_EQ(cc.size(), 1U); // close_notify reached the client
    EXPECT_EQ(cc[0].reason, make_error_code(Errc::closed));
    EXPECT_FALSE(server->next_deadline().has_value());
}

TEST_F(TableTest, LeastRecentlyActiveSessionIsEvictedAtTheCap) {
    ServerConfig cfg;
    cfg.max_sessions = 2;
    auto server = ServerTable::create(cfg, store_);
    auto a = ClientSession::create(client_cfg(id_, key_));
    auto bb = ClientSession::create(client_cfg(id_, key_));
    auto c = ClientSession::create(client_cfg(id_, key_));
    ASSERT_TRUE(server && a && bb && c);
    Bench b(*server);
    b.add(kA, *a);
    b.add(kB, *bb);
    b.add(kC, *c);
    ASSERT_TRUE(a->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return a->established(); }));
    b.advance(1s);
    ASSERT_TRUE(bb->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return bb->established(); }));
    b.advance(1s);
    ASSERT_TRUE(a->send(b.now, kServer, to_bytes("a is active"))); // now B is the LRU
    b.settle();
    b.advance(1s);
    ASSERT_TRUE(c->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return c->established(); }));
    EXPECT_EQ(server->size(), 2U);
    EXPECT_TRUE(server->established(kA));
    EXPECT_FALSE(server->established(kB));
    EXPECT_TRUE(server->established(kC));
    auto closed = only<Closed>(b.server_events);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].peer, kB);
    EXPECT_EQ(closed[0].reason, make_error_code(Errc::session_limit));
    EXPECT_EQ(server->stats().evictions, 1U);
    ASSERT_EQ(only<Closed>(b.client_events[kB]).size(), 1U); // B was told (close_notify)
}

TEST_F(TableTest, AtTheCapHandshakesInProgressAreEvictedBeforeEstablishedSessions) {
    // RFC 6347 §4.2.1: a verified cookie proves reachability, not credentials. A peer that only
    // completes the cookie exchange must not push out an authenticated session, even when the
    // authenticated session is the least recently active one.
    ServerConfig cfg;
    cfg.max_sessions = 2;
    auto server = ServerTable::create(cfg, store_);
    auto a = ClientSession::create(client_cfg(id_, key_));
    auto stuck = ClientSession::create(client_cfg(id_, key_));
    auto c = ClientSession::create(client_cfg(id_, key_));
    ASSERT_TRUE(server && a && stuck && c);
    Bench b(*server);
    b.add(kA, *a);
    b.add(kC, *c);
    ASSERT_TRUE(a->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return a->established(); }));
    b.advance(1s);
    // kB: cookie exchange done by hand, then its flights are never answered.
    ASSERT_TRUE(stuck->connect(b.now));
    for (auto& d : drain(*stuck))
        server->on_datagram(b.now, kB, d);
    for (auto& d : drain(*server))
        stuck->on_datagram(b.now, kServer, d);
    for (auto& d : drain(*stuck))
        server->on_datagram(b.now, kB, d);
    (void)drain(*server);
    ASSERT_EQ(server->size(), 2U); // A established, B handshaking: the table is full
    b.advance(1s);
    ASSERT_TRUE(c->connect(b.now));
    ASSERT_TRUE(b.run_until([&] { return c->established(); }));
    EXPECT_TRUE(server->established(kA)); // the older, idle, authenticated session survives
    EXPECT_TRUE(server->established(kC));
    EXPECT_EQ(server->size(), 2U);
    EXPECT_TRUE(only<Closed>(b.server_events).empty());
    auto failed = only<HandshakeFailed>(b.server_events);
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_EQ(failed[0].peer, kB);
    EXPECT_EQ(failed[0].error, make_error_code(Errc::session_limit));
    EXPECT_EQ(server->stats().evictions, 1U);
}

TEST_F(TableTest, CookieFromPreviousKeyIsAcceptedAfterRotation) {
    ServerConfig cfg;
    cfg.cookie_rotation = 10s;
    auto server = ServerTable::create(cfg, store_);
    auto a = ClientSession::create(client_cfg(id_, key_));
    ASSERT_TRUE(server && a);
    TimePoint now{};
    ASSERT_TRUE(a->connect(now));
    for (auto& d : drain(*a))
        server->on_datagram(now, kA, d);
    auto hvr = drain(*server);
    ASSERT_EQ(hvr.size(), 1U);
    now += 11s; // the key rotates on the next input
    lwm2m::test::GnutlsVirtualTime::set(now);
    server->on_timeout(now);
    for (auto& d : hvr)
        a->on_datagram(now, kServer, d);
    for (auto& d : drain(*a))
        server->on_datagram(now, kA, d);
    EXPECT_EQ(server->size(), 1U); // cookie of the previous key still verified
    EXPECT_EQ(server->stats().hello_verify_sent, 1U);
}

// Secrets (PSK keys, private keys) never reach the log, neither raw nor in hex.
TEST(DtlsSecrets, KeysAbsentFromLog) {
    lwm2m::test::CaptureLogger slog, clog;
    MemStore store;
    const Bytes id = to_bytes("log-ep");
    Bytes key = pattern(64, 77);
    for (auto& x : key)
        x = static_cast<std::byte>(std::to_integer<int>(x) | 0x41); // printable-ish
    store.psk[id] = SecretBytes(key);
    store.rpk.push_back(lwm2m::test::test_pki().client_rpk.spki_der);
    ServerConfig scfg;
    scfg.logger = &slog;
    scfg.rpk = RpkCredentials{lwm2m::test::test_pki().server_rpk.spki_der,
                              lwm2m::test::test_pki().server_rpk.private_key_der};
    auto server = ServerTable::create(scfg, store);
    ASSERT_TRUE(server);
    Bench b(*server);
    std::vector<std::unique_ptr<ClientSession>> clients;
    auto add = [&](ClientConfig c, const PeerAddr& at) {
        c.server = kServer;
        c.logger = &clog;
        auto s = ClientSession::create(std::move(c));
        ASSERT_TRUE(s);
        clients.push_back(std::make_unique<ClientSession>(std::move(*s)));
        b.add(at, *clients.back());
        ASSERT_TRUE(clients.back()->connect(b.now));
    };
    add(client_cfg(id, key), kA);            // succeeds
    add(client_cfg(id, pattern(64, 1)), kB); // wrong key
    ClientConfig rc;
    rc.credentials = RpkCredentials{lwm2m::test::test_pki().client_rpk.spki_der,
                                    lwm2m::test::test_pki().client_rpk.private_key_der};
    rc.server_public_key = lwm2m::test::test_pki().other_rpk.spki_der; // wrong pin
    add(std::move(rc), kC);
    b.advance(120s);
    ASSERT_FALSE(slog.lines.empty());
    ASSERT_FALSE(clog.lines.empty());
    const std::string all = slog.all() + clog.all();
    std::vector<Bytes> secrets = {key, pattern(64, 1)};
    secrets.emplace_back(lwm2m::test::test_pki().server_rpk.private_key_der.view().begin(),
                         lwm2m::test::test_pki().server_rpk.private_key_der.view().end());
    secrets.emplace_back(lwm2m::test::test_pki().client_rpk.private_key_der.view().begin(),
                         lwm2m::test::test_pki().client_rpk.private_key_der.view().end());
    for (const auto& s : secrets) {
        // A chunk from the middle: for PKCS#8 keys that is the private scalar, not the header.
        const BytesView mid = BytesView(s).subspan(s.size() / 2, 8);
        const std::string hex = to_hex(mid);
        std::string upper = hex;
        for (auto& ch : upper)
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        EXPECT_EQ(all.find(hex), std::string::npos);
        EXPECT_EQ(all.find(upper), std::string::npos);
        EXPECT_EQ(all.find(std::string(as_string_view(mid))), std::string::npos);
    }
}

} // namespace
} // namespace lwm2m::dtls::test
