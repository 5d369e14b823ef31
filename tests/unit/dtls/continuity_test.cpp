// Issue #13: DTLS sessions that survive the loss of a node. SessionState codec and sealing, the
// own AES-128-CCM-8 record path against real GnuTLS clients, export from one ServerTable and
// import into another with no handshake, replay and sequence-number rules.
#include <gtest/gtest.h>

#include <malloc.h>

#include <lwm2m/base/random.hpp>
#include <lwm2m/dm/value_text.hpp>
#include <lwm2m/dtls/session_state.hpp>

#include "support/capture_logger.hpp"
#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test::continuity {
namespace {

const PeerAddr kSrv = PeerAddr::v4(10, 0, 0, 1, 5684);
const PeerAddr kPeer = PeerAddr::v4(192, 0, 2, 1, 1001);

std::uint64_t seq_of(BytesView rec) {
    std::uint64_t s = 0;
    for (std::size_t i = 5; i < 11; ++i)
        s = (s << 8) | std::to_integer<std::uint8_t>(rec[i]);
    return s;
}
std::uint16_t epoch_of(BytesView rec) {
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(rec[3]) << 8) |
                                      std::to_integer<unsigned>(rec[4]));
}

SessionState sample_state() {
    SessionState s;
    s.suite = CipherSuite::ecdhe_ecdsa_aes_128_ccm_8;
    s.epoch = 1;
    s.client_write_key = SecretBytes(pattern(16, 1));
    s.client_write_iv = SecretBytes(pattern(4, 2));
    s.server_write_key = SecretBytes(pattern(16, 3));
    s.server_write_iv = SecretBytes(pattern(4, 4));
    s.write_seq = 77;
    s.read_window.mark(5);
    s.read_window.mark(9);
    s.identity.kind = PeerIdentity::Kind::x509;
    s.identity.psk_identity = to_bytes("id");
    s.identity.public_key_spki = pattern(91, 5);
    s.identity.subject_dn = "CN=client-ep";
    s.identity.certificate_der = pattern(300, 6);
    s.peer = PeerAddr::v4(192, 0, 2, 9, 4711);
    return s;
}

void expect_same(const SessionState& a, const SessionState& b) {
    EXPECT_EQ(a.suite, b.suite);
    EXPECT_EQ(a.epoch, b.epoch);
    EXPECT_TRUE(a.client_write_key.equals(b.client_write_key.view()));
    EXPECT_TRUE(a.client_write_iv.equals(b.client_write_iv.view()));
    EXPECT_TRUE(a.server_write_key.equals(b.server_write_key.view()));
    EXPECT_TRUE(a.server_write_iv.equals(b.server_write_iv.view()));
    EXPECT_EQ(a.write_seq, b.write_seq);
    EXPECT_EQ(a.read_window, b.read_window);
    EXPECT_EQ(a.identity.kind, b.identity.kind);
    EXPECT_EQ(a.identity.psk_identity, b.identity.psk_identity);
    EXPECT_EQ(a.identity.public_key_spki, b.identity.public_key_spki);
    EXPECT_EQ(a.identity.subject_dn, b.identity.subject_dn);
    EXPECT_EQ(a.identity.certificate_der, b.identity.certificate_der);
    EXPECT_EQ(a.peer, b.peer);
}

bool contains(BytesView hay, BytesView needle) {
    return !needle.empty() &&
           std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

// ---- ReplayWindow (RFC 6347 §4.1.2.6) ---------------------------------------------------------

TEST(ReplayWindow, AcceptsNewRejectsSeenAndTooOld) {
    ReplayWindow w;
    EXPECT_TRUE(w.may_accept(0));
    w.mark(10);
    EXPECT_FALSE(w.may_accept(10));
    EXPECT_TRUE(w.may_accept(9));
    EXPECT_TRUE(w.may_accept(11));
    w.mark(9);
    EXPECT_FALSE(w.may_accept(9));
    w.mark(100);
    EXPECT_FALSE(w.may_accept(10)); // 90 behind: outside the 64-record window
    EXPECT_TRUE(w.may_accept(37));  // 63 behind, never seen
    EXPECT_FALSE(w.may_accept(36)); // 64 behind
    EXPECT_FALSE(w.may_accept(kMaxRecordSequence + 1));
    const ReplayWindow above = ReplayWindow::above(500);
    EXPECT_FALSE(above.may_accept(500));
    EXPECT_FALSE(above.may_accept(470));
    EXPECT_TRUE(above.may_accept(501));
}

// ---- codec ------------------------------------------------------------------------------------

TEST(SessionStateCodec, RoundTrip) {
    const SessionState s = sample_state();
    auto enc = encode_session_state(s);
    ASSERT_TRUE(enc);
    auto dec = decode_session_state(*enc);
    ASSERT_TRUE(dec) << dec.error().message();
    expect_same(s, *dec);
    // IPv6 with scope, PSK identity with a 0x00 byte, empty window.
    SessionState v6 = sample_state();
    v6.suite = CipherSuite::psk_aes_128_ccm_8;
    v6.peer = PeerAddr::v6({0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 5683);
    v6.peer.scope_id = 3;
    v6.read_window = {};
    v6.identity = {};
    v6.identity.kind = PeerIdentity::Kind::psk;
    v6.identity.psk_identity = bytes_of({'a', 0, 'b'});
    auto enc6 = encode_session_state(v6);
    ASSERT_TRUE(enc6);
    auto dec6 = decode_session_state(*enc6);
    ASSERT_TRUE(dec6);
    expect_same(v6, *dec6);
}

TEST(SessionStateCodec, EveryTruncationAndTrailingByteIsMalformed) {
    auto enc = encode_session_state(sample_state());
    ASSERT_TRUE(enc);
    for (std::size_t n = 0; n < enc->size(); ++n) {
        auto d = decode_session_state(BytesView(enc->data(), n));
        ASSERT_FALSE(d) << "prefix of " << n << " bytes decoded";
        EXPECT_EQ(d.error(), make_error_code(Errc::malformed_state));
    }
    Bytes longer = *enc;
    longer.push_back(std::byte{0});
    EXPECT_FALSE(decode_session_state(longer));
}

TEST(SessionStateCodec, BadFieldsAreMalformed) {
    auto enc = encode_session_state(sample_state());
    ASSERT_TRUE(enc);
    auto with = [&](std::size_t off, std::uint8_t v) {
        Bytes b = *enc;
        b[off] = std::byte{v};
        return decode_session_state(b);
    };
    EXPECT_FALSE(with(0, 'X'));  // magic
    EXPECT_FALSE(with(3, 2));    // version
    EXPECT_FALSE(with(5, 0x23)); // suite 0xC023: CBC, not exportable
    EXPECT_FALSE(with(7, 0));    // epoch 0 (high byte is 0 already)
    EXPECT_FALSE(with(8, 15));   // client key length 15
    EXPECT_FALSE(with(25, 5));   // client salt length 5
    // Encoding refuses what decoding would refuse.
    SessionState s = sample_state();
    s.suite = CipherSuite::psk_aes_128_cbc_sha256;
    EXPECT_EQ(encode_session_state(s).error(), make_error_code(Errc::not_exportable));
    s = sample_state();
    s.server_write_key = SecretBytes(pattern(32, 1));
    EXPECT_EQ(encode_session_state(s).error(), make_error_code(Errc::malformed_state));
    s = sample_state();
    s.write_seq = kMaxRecordSequence + 2;
    EXPECT_FALSE(encode_session_state(s));
    s = sample_state();
    s.peer = PeerAddr{};
    EXPECT_FALSE(encode_session_state(s));
}

// ---- sealing ----------------------------------------------------------------------------------

TEST(SessionStateSeal, OpensOnlyWithTheKeyAndAddress) {
    SeededRandom rnd(7);
    const SecretBytes key(pattern(32, 9));
    const SessionState s = sample_state();
    auto sealed = seal_session_state(s, key, rnd);
    ASSERT_TRUE(sealed);
    // The record keys never appear in the clear.
    EXPECT_FALSE(contains(*sealed, s.client_write_key.view()));
    EXPECT_FALSE(contains(*sealed, s.server_write_key.view()));
    auto opened = open_session_state(*sealed, key, s.peer);
    ASSERT_TRUE(opened) << opened.error().message();
    expect_same(s, *opened);
    // Two seals of the same state differ (random nonce).
    auto again = seal_session_state(s, key, rnd);
    ASSERT_TRUE(again);
    EXPECT_NE(*again, *sealed);

    const SecretBytes wrong(pattern(32, 10));
    EXPECT_EQ(open_session_state(*sealed, wrong, s.peer).error(),
              make_error_code(Errc::authentication_failed));
    PeerAddr other = s.peer;
    other.port = static_cast<std::uint16_t>(other.port + 1);
    EXPECT_EQ(open_session_state(*sealed, key, other).error(),
              make_error_code(Errc::authentication_failed));
    for (std::size_t i = 0; i < sealed->size(); i += 7) {
        Bytes b = *sealed;
        b[i] ^= std::byte{0x01};
        EXPECT_FALSE(open_session_state(b, key, s.peer)) << "flipped byte " << i;
    }
    for (std::size_t n = 0; n < sealed->size(); n += 5)
        EXPECT_FALSE(open_session_state(BytesView(sealed->data(), n), key, s.peer));
    EXPECT_EQ(open_session_state(*sealed, SecretBytes(pattern(16, 9)), s.peer).error(),
              make_error_code(Errc::invalid_config));
    EXPECT_EQ(seal_session_state(s, SecretBytes(pattern(31, 9)), rnd).error(),
              make_error_code(Errc::invalid_config));
}

// ---- RecordPath against a mirror (the client's keys) --------------------------------------------

SessionState mirrored(const SessionState& s) {
    SessionState m = s;
    std::swap(m.client_write_key, m.server_write_key);
    std::swap(m.client_write_iv, m.server_write_iv);
    return m;
}

TEST(RecordPath, SeveralRecordsPerDatagramEmptyRecordsAndAlerts) {
    SessionState s = sample_state();
    s.read_window = {};
    auto server = RecordPath::create(s);
    auto client = RecordPath::create(mirrored(s));
    ASSERT_TRUE(server && client);
    // RFC 6347 §4.1.1: three records in one datagram, one of them empty.
    Bytes d;
    for (const Bytes& p : {to_bytes("one"), Bytes{}, to_bytes("three")}) {
        auto rec = client->seal(p);
        ASSERT_TRUE(rec);
        d.insert(d.end(), rec->begin(), rec->end());
    }
    auto got = server->open(d);
    ASSERT_EQ(got.application_data.size(), 3U);
    EXPECT_EQ(got.application_data[0], to_bytes("one"));
    EXPECT_TRUE(got.application_data[1].empty());
    EXPECT_EQ(got.application_data[2], to_bytes("three"));
    EXPECT_EQ(got.dropped, 0U);
    // The same datagram again: three replays.
    got = server->open(d);
    EXPECT_TRUE(got.application_data.empty());
    EXPECT_EQ(got.replayed, 3U);
    // A truncated trailing record is dropped, the complete ones before it are not.
    auto a = client->seal(to_bytes("a"));
    auto b = client->seal(to_bytes("b"));
    ASSERT_TRUE(a && b);
    Bytes cut = *a;
    cut.insert(cut.end(), b->begin(), b->end() - 3);
    got = server->open(cut);
    ASSERT_EQ(got.application_data.size(), 1U);
    EXPECT_EQ(got.dropped, 1U);
    // Our records open on the client side; sequence numbers grow by one each.
    const std::uint64_t before = server->state().write_seq;
    auto e = server->seal({});
    ASSERT_TRUE(e);
    EXPECT_EQ(seq_of(*e), before);
    EXPECT_EQ(server->state().write_seq, before + 1);
    EXPECT_EQ(client->open(*e).application_data.size(), 1U);
    auto cn = client->seal_close_notify();
    ASSERT_TRUE(cn);
    EXPECT_TRUE(server->open(*cn).close_notify);
    EXPECT_EQ(server->seal(Bytes(16385)).error(), make_error_code(Errc::message_too_large));
    // Another epoch is dropped even with the right keys.
    auto other = client->seal(to_bytes("x"));
    ASSERT_TRUE(other);
    (*other)[4] = std::byte{2};
    EXPECT_EQ(server->open(*other).dropped, 1U);
}

TEST(RecordPath, SequenceNumbersEndAt48Bits) {
    SessionState s = sample_state();
    s.write_seq = kMaxRecordSequence;
    auto p = RecordPath::create(s);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->seal(to_bytes("last")));
    EXPECT_EQ(p->seal(to_bytes("one more")).error(), make_error_code(Errc::sequence_exhausted));
    s.suite = CipherSuite::ecdhe_ecdsa_aes_128_cbc_sha256;
    EXPECT_EQ(RecordPath::create(s).error(), make_error_code(Errc::not_exportable));
}

// ---- the own record path with real GnuTLS clients ---------------------------------------------

ClientConfig psk_client(std::vector<CipherSuite> suites = {CipherSuite::psk_aes_128_ccm_8}) {
    ClientConfig c;
    c.server = kSrv;
    c.credentials = PskCredentials{to_bytes("endpoint-a"), SecretBytes(pattern(16, 5))};
    c.cipher_suites = std::move(suites);
    return c;
}

/// One real client and whichever ServerTable currently serves its address; datagrams are moved
/// by hand so a test can watch, drop or replay them.
struct Link {
    Link(ClientSession* c, ServerTable* s)
        : client(c)
        , server(s) {}
    ClientSession* client;
    ServerTable* server;
    TimePoint now{};
    std::vector<Bytes> last_to_server; ///< client datagrams delivered by the last settle()
    std::vector<Bytes> last_to_client;
    std::vector<Event> server_events, client_events;

    void settle(bool drop_server_output = false) {
        last_to_server.clear();
        last_to_client.clear();
        for (int i = 0; i < 1000; ++i) {
            bool moved = false;
            while (auto d = client->poll_transmit()) {
                moved = true;
                last_to_server.push_back(d->bytes);
                server->on_datagram(now, kPeer, d->bytes);
            }
            while (auto d = server->poll_transmit()) {
                moved = true;
                EXPECT_EQ(d->peer, kPeer);
                last_to_client.push_back(d->bytes);
                if (!drop_server_output) client->on_datagram(now, kSrv, d->bytes);
            }
            while (auto e = server->poll_event())
                server_events.push_back(std::move(*e));
            while (auto e = client->poll_event())
                client_events.push_back(std::move(*e));
            if (!moved) return;
        }
    }
    void timeouts(Duration d) {
        now += d;
        lwm2m::test::GnutlsVirtualTime::set(now);
        client->on_timeout(now);
        server->on_timeout(now);
    }
    std::vector<Bytes> server_plaintexts() {
        std::vector<Bytes> out;
        for (auto& p : only<Plaintext>(server_events))
            out.push_back(p.data);
        server_events.clear();
        return out;
    }
    std::vector<Bytes> client_plaintexts() {
        std::vector<Bytes> out;
        for (auto& p : only<Plaintext>(client_events))
            out.push_back(p.data);
        client_events.clear();
        return out;
    }
};

class Continuity : public ::testing::Test {
protected:
    void SetUp() override {
        lwm2m::test::GnutlsVirtualTime::install(TimePoint{});
        store_.psk[to_bytes("endpoint-a")] = SecretBytes(pattern(16, 5));
    }
    MemStore store_;
};

TEST_F(Continuity, OwnPathCarriesThousandRecordsBothWaysThenCloseNotify) {
    auto server = ServerTable::create(ServerConfig{}, store_);
    auto client = ClientSession::create(psk_client());
    ASSERT_TRUE(server && client);
    Link l(&*client, &*server);
    ASSERT_TRUE(client->connect(l.now));
    l.settle();
    ASSERT_TRUE(client->established());
    ASSERT_TRUE(server->established(kPeer));
    EXPECT_TRUE(server->own_record_path(kPeer));
    EXPECT_EQ(server->stats().own_path_switches, 1U);
    EXPECT_EQ(server->stats().sessions_freed, 1U); // the GnuTLS session is gone
    EXPECT_EQ(server->size(), 1U);
    ASSERT_EQ(only<HandshakeDone>(l.server_events).size(), 1U);
    l.server_events.clear();

    std::uint64_t last_seq = 0;
    for (int i = 0; i < 1000; ++i) {
        const Bytes up = pattern(1 + static_cast<std::size_t>(i % 700), i);
        const Bytes down = pattern(1 + static_cast<std::size_t>((i * 7) % 900), i + 1);
        ASSERT_TRUE(client->send(l.now, kSrv, up));
        ASSERT_TRUE(server->send(l.now, kPeer, down));
        l.settle();
        auto got_up = l.server_plaintexts();
        auto got_down = l.client_plaintexts();
        ASSERT_EQ(got_up.size(), 1U) << "record " << i;
        ASSERT_EQ(got_down.size(), 1U) << "record " << i;
        EXPECT_EQ(got_up[0], up);
        EXPECT_EQ(got_down[0], down);
        ASSERT_EQ(l.last_to_client.size(), 1U);
        const std::uint64_t s = seq_of(l.last_to_client[0]);
        EXPECT_EQ(epoch_of(l.last_to_client[0]), 1U);
        EXPECT_GT(s, last_seq); // strictly increasing, above GnuTLS's Finished (seq 0)
        last_seq = s;
    }
    EXPECT_EQ(server->stats().own_path_dropped, 0U);
    EXPECT_GE(*server->session_read_high_water(kPeer), 1000U);
    // Too large for one record under the MTU.
    EXPECT_EQ(server->send(l.now, kPeer, Bytes(1300)).error(),
              make_error_code(Errc::message_too_large));

    client->close(l.now);
    l.settle();
    auto closed = only<Closed>(l.server_events);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reason, make_error_code(Errc::closed));
    EXPECT_FALSE(server->established(kPeer));
    EXPECT_EQ(server->size(), 0U);
}

TEST_F(Continuity, ServerCloseNotifyOnOwnPathReachesTheClient) {
    auto server = ServerTable::create(ServerConfig{}, store_);
    auto client = ClientSession::create(psk_client());
    ASSERT_TRUE(server && client);
    Link l(&*client, &*server);
    ASSERT_TRUE(client->connect(l.now));
    l.settle();
    ASSERT_TRUE(server->own_record_path(kPeer));
    server->close(l.now, kPeer);
    l.settle();
    auto closed = only<Closed>(l.client_events);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reason, make_error_code(Errc::closed));
}

// RFC 6347 §4.2.4: the server's final flight is lost; the client retransmits its own and the
// server, already on its own record path, resends CCS + Finished.
TEST_F(Continuity, LostFinalFlightIsResentFromTheOwnPath) {
    auto server = ServerTable::create(ServerConfig{}, store_);
    auto client = ClientSession::create(psk_client());
    ASSERT_TRUE(server && client);
    Link l(&*client, &*server);
    ASSERT_TRUE(client->connect(l.now));
    // Deliver until the server completes, dropping its last flight.
    for (int i = 0; i < 10 && !server->established(kPeer); ++i) {
        while (auto d = client->poll_transmit())
            server->on_datagram(l.now, kPeer, d->bytes);
        const bool done = server->established(kPeer);
        while (auto d = server->poll_transmit())
            if (!done) client->on_datagram(l.now, kSrv, d->bytes);
    }
    ASSERT_TRUE(server->own_record_path(kPeer));
    ASSERT_FALSE(client->established());
    for (int i = 0; i < 20 && !client->established(); ++i) {
        l.timeouts(std::chrono::seconds(1));
        l.settle();
    }
    ASSERT_TRUE(client->established());
    EXPECT_EQ(server->stats().handshakes_completed, 1U);
    ASSERT_TRUE(client->send(l.now, kSrv, to_bytes("after")));
    l.settle();
    auto got = l.server_plaintexts();
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0], to_bytes("after"));
}

TEST_F(Continuity, CbcSessionsStayOnGnutlsAndAreNotExportable) {
    auto server = ServerTable::create(ServerConfig{}, store_);
    auto client = ClientSession::create(psk_client({CipherSuite::psk_aes_128_cbc_sha256}));
    ASSERT_TRUE(server && client);
    Link l(&*client, &*server);
    ASSERT_TRUE(client->connect(l.now));
    l.settle();
    ASSERT_TRUE(server->established(kPeer));
    EXPECT_FALSE(server->own_record_path(kPeer));
    EXPECT_EQ(server->export_session(kPeer).error(), make_error_code(Errc::not_exportable));
    EXPECT_EQ(server->export_session(PeerAddr::v4(1, 2, 3, 4, 5)).error(),
              make_error_code(Errc::not_connected));
    ASSERT_TRUE(client->send(l.now, kSrv, to_bytes("cbc")));
    l.settle();
    EXPECT_EQ(l.server_plaintexts().size(), 1U);
}

// The acceptance test of issue #13: export from table A, seal, open, import into table B; the
// same GnuTLS client keeps talking to B with no handshake.
TEST_F(Continuity, ExportedSessionContinuesOnAnotherTableWithoutHandshake) {
    auto a = ServerTable::create(ServerConfig{}, store_);
    MemStore empty; // B does not even know the PSK: no handshake could succeed there
    auto b = ServerTable::create(ServerConfig{}, empty);
    auto client = ClientSession::create(psk_client());
    ASSERT_TRUE(a && b && client);
    Link l(&*client, &*a);
    ASSERT_TRUE(client->connect(l.now));
    l.settle();
    ASSERT_TRUE(a->own_record_path(kPeer));
    std::uint64_t a_max_seq = 0;
    std::vector<Bytes> up_records;
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(client->send(l.now, kSrv, pattern(40, i)));
        ASSERT_TRUE(a->send(l.now, kPeer, pattern(50, i)));
        l.settle();
        ASSERT_EQ(l.server_plaintexts().size(), 1U);
        ASSERT_EQ(l.client_plaintexts().size(), 1U);
        a_max_seq = std::max(a_max_seq, seq_of(l.last_to_client.at(0)));
        up_records.push_back(l.last_to_server.at(0));
    }

    auto exported = a->export_session(kPeer);
    ASSERT_TRUE(exported);
    EXPECT_EQ(exported->identity.psk_identity, to_bytes("endpoint-a"));
    EXPECT_EQ(exported->peer, kPeer);
    EXPECT_GT(exported->write_seq, a_max_seq);
    EXPECT_EQ(a->stats().sessions_exported, 1U);
    SeededRandom rnd(1);
    const SecretBytes cluster_key(pattern(32, 77));
    auto sealed = seal_session_state(*exported, cluster_key, rnd);
    ASSERT_TRUE(sealed);

    // Node A dies; the client's next record reaches B, which has no session: reported, kept.
    l.server = &*b;
    ASSERT_TRUE(client->send(l.now, kSrv, to_bytes("to B before import")));
    l.settle();
    EXPECT_TRUE(l.server_plaintexts().empty());
    auto unknown = b->poll_unknown_session();
    ASSERT_TRUE(unknown);
    EXPECT_EQ(*unknown, kPeer);
    EXPECT_FALSE(b->poll_unknown_session());
    EXPECT_EQ(b->stats().unknown_session_datagrams, 1U);

    auto opened = open_session_state(*sealed, cluster_key, *unknown);
    ASSERT_TRUE(opened);
    const std::uint64_t floor = std::uint64_t{1} << 32; // the range the cluster layer reserved
    ASSERT_TRUE(b->import_session(l.now, std::move(*opened), floor));
    EXPECT_TRUE(b->established(kPeer));
    EXPECT_TRUE(b->own_record_path(kPeer));
    EXPECT_EQ(b->stats().sessions_imported, 1U);
    while (auto e = b->poll_event())
        l.server_events.push_back(std::move(*e));
    auto done = only<HandshakeDone>(l.server_events);
    ASSERT_EQ(done.size(), 1U);
    EXPECT_EQ(done[0].identity.psk_identity, to_bytes("endpoint-a"));
    auto replayed_kept = l.server_plaintexts();
    ASSERT_EQ(replayed_kept.size(), 1U); // the kept datagram was replayed by the import
    EXPECT_EQ(replayed_kept[0], to_bytes("to B before import"));

    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(client->send(l.now, kSrv, pattern(30, 100 + i)));
        ASSERT_TRUE(b->send(l.now, kPeer, pattern(60, 100 + i)));
        l.settle();
        auto up = l.server_plaintexts();
        auto down = l.client_plaintexts();
        ASSERT_EQ(up.size(), 1U);
        ASSERT_EQ(down.size(), 1U);
        EXPECT_EQ(up[0], pattern(30, 100 + i));
        EXPECT_EQ(down[0], pattern(60, 100 + i));
        EXPECT_GE(seq_of(l.last_to_client.at(0)), floor); // above everything A sent
    }
    EXPECT_EQ(b->stats().handshakes_completed, 0U);
    EXPECT_EQ(b->stats().hello_verify_sent, 0U);
    EXPECT_TRUE(client->established());

    // Records A already accepted are replays for B.
    const std::size_t replays = b->stats().own_path_replays;
    for (const auto& r : up_records)
        b->on_datagram(l.now, kPeer, r);
    while (auto e = b->poll_event())
        l.server_events.push_back(std::move(*e));
    EXPECT_TRUE(l.server_plaintexts().empty());
    EXPECT_EQ(b->stats().own_path_replays, replays + up_records.size());
    // ...and so are records B itself accepted.
    ASSERT_TRUE(client->send(l.now, kSrv, to_bytes("once")));
    l.settle();
    ASSERT_EQ(l.server_plaintexts().size(), 1U);
    b->on_datagram(l.now, kPeer, l.last_to_server.at(0));
    while (auto e = b->poll_event())
        l.server_events.push_back(std::move(*e));
    EXPECT_TRUE(l.server_plaintexts().empty());

    // A forged record (flipped tag byte) is dropped, the session stays.
    Bytes forged = l.last_to_server.at(0);
    forged.back() ^= std::byte{1};
    forged[10] = std::byte{0xEE}; // a fresh sequence number
    const std::size_t dropped = b->stats().own_path_dropped;
    b->on_datagram(l.now, kPeer, forged);
    EXPECT_EQ(b->stats().own_path_dropped, dropped + 1);
    EXPECT_TRUE(b->established(kPeer));

    // Re-export from B: the write floor moved with it.
    auto again = b->export_session(kPeer);
    ASSERT_TRUE(again);
    EXPECT_GT(again->write_seq, floor);
}

// The record keys of a session never reach a log (trace level, GnuTLS's forwarded lines
// included) through the switch, export and import: raw, hex (both cases) or base64.
TEST_F(Continuity, SessionKeysAbsentFromLogs) {
    lwm2m::test::CaptureLogger alog, blog, clog;
    ServerConfig sa;
    sa.logger = &alog;
    ServerConfig sb;
    sb.logger = &blog;
    auto a = ServerTable::create(sa, store_);
    auto b = ServerTable::create(sb, store_);
    ClientConfig cc = psk_client();
    cc.logger = &clog;
    auto client = ClientSession::create(cc);
    ASSERT_TRUE(a && b && client);
    Link l(&*client, &*a);
    ASSERT_TRUE(client->connect(l.now));
    l.settle();
    ASSERT_TRUE(a->own_record_path(kPeer));
    auto st = a->export_session(kPeer);
    ASSERT_TRUE(st);
    std::vector<Bytes> secrets;
    for (const SecretBytes* k : {&st->client_write_key, &st->server_write_key})
        secrets.emplace_back(k->view().begin(), k->view().end());
    ASSERT_TRUE(b->import_session(l.now, std::move(*st), 1U << 20));
    l.server = &*b;
    ASSERT_TRUE(client->send(l.now, kSrv, to_bytes("x")));
    l.settle();
    ASSERT_EQ(l.server_plaintexts().size(), 1U);
    b->close(l.now, kPeer);
    l.settle();
    const std::string all = alog.all() + blog.all() + clog.all();
    ASSERT_FALSE(alog.lines.empty());
    for (const auto& k : secrets) {
        const BytesView part = BytesView(k).subspan(0, 12);
        const std::string hex = to_hex(part);
        std::string upper = hex;
        for (auto& ch : upper)
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        EXPECT_EQ(all.find(hex), std::string::npos);
        EXPECT_EQ(all.find(upper), std::string::npos);
        EXPECT_EQ(all.find(std::string(as_string_view(part))), std::string::npos);
        EXPECT_EQ(all.find(dm::base64_encode(part)), std::string::npos);
    }
}

TEST_F(Continuity, ImportRefusesBadStateAndNeverReplacesASession) {
    auto b = ServerTable::create(ServerConfig{}, store_);
    ASSERT_TRUE(b);
    SessionState s = sample_state();
    s.peer = kPeer;
    SessionState cbc = sample_state();
    cbc.suite = CipherSuite::psk_aes_128_cbc_sha256;
    EXPECT_EQ(b->import_session(TimePoint{}, std::move(cbc), 0).error(),
              make_error_code(Errc::not_exportable));
    SessionState short_key = sample_state();
    short_key.client_write_key = SecretBytes(pattern(8, 1));
    EXPECT_EQ(b->import_session(TimePoint{}, std::move(short_key), 0).error(),
              make_error_code(Errc::malformed_state));
    SessionState late = sample_state();
    EXPECT_EQ(b->import_session(TimePoint{}, std::move(late), kMaxRecordSequence + 1).error(),
              make_error_code(Errc::sequence_exhausted));
    EXPECT_EQ(b->size(), 0U);
    ASSERT_TRUE(b->import_session(TimePoint{}, s, 0));
    // A second import for the address (a stale look-up) leaves the session alone.
    EXPECT_EQ(b->import_session(TimePoint{}, s, 10).error(), make_error_code(Errc::session_exists));
    EXPECT_EQ(b->size(), 1U);
    std::vector<Event> ev;
    while (auto e = b->poll_event())
        ev.push_back(std::move(*e));
    EXPECT_TRUE(only<Closed>(ev).empty());
    EXPECT_EQ(only<HandshakeDone>(ev).size(), 1U);
    // The read window starts above the exported high-water mark (9).
    EXPECT_EQ(*b->session_read_high_water(kPeer), 9U);
    // Idle timeout applies to imported sessions too.
    b->on_timeout(TimePoint{} + std::chrono::hours(1));
    EXPECT_EQ(b->size(), 0U);
}

TEST_F(Continuity, NewHandshakeReplacesAnOwnPathSession) {
    auto server = ServerTable::create(ServerConfig{}, store_);
    auto first = ClientSession::create(psk_client());
    ASSERT_TRUE(server && first);
    Link l(&*first, &*server);
    ASSERT_TRUE(first->connect(l.now));
    l.settle();
    ASSERT_TRUE(server->own_record_path(kPeer));
    l.server_events.clear();
    // The client reboots: a new handshake from the same address (RFC 6347 §4.2.8).
    auto second = ClientSession::create(psk_client());
    ASSERT_TRUE(second);
    l.client = &*second;
    ASSERT_TRUE(second->connect(l.now));
    l.settle();
    ASSERT_TRUE(second->established());
    EXPECT_TRUE(server->own_record_path(kPeer));
    auto closed = only<Closed>(l.server_events);
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reason, make_error_code(Errc::replaced));
    EXPECT_EQ(server->stats().own_path_switches, 2U);
    EXPECT_EQ(server->size(), 1U);
    ASSERT_TRUE(second->send(l.now, kSrv, to_bytes("new")));
    l.settle();
    EXPECT_EQ(l.server_plaintexts().size(), 1U);
}

TEST_F(Continuity, EcdheEcdsaRawPublicKeySessionMovesAcrossTables) {
    const auto& pki = lwm2m::test::test_pki();
    store_.rpk.push_back(pki.client_rpk.spki_der);
    ServerConfig sc;
    sc.rpk = RpkCredentials{pki.server_rpk.spki_der, pki.server_rpk.private_key_der};
    auto a = ServerTable::create(sc, store_);
    auto b = ServerTable::create(sc, store_);
    ClientConfig cc;
    cc.server = kSrv;
    cc.credentials = RpkCredentials{pki.client_rpk.spki_der, pki.client_rpk.private_key_der};
    cc.server_public_key = pki.server_rpk.spki_der;
    cc.cipher_suites = {CipherSuite::ecdhe_ecdsa_aes_128_ccm_8};
    auto client = ClientSession::create(cc);
    ASSERT_TRUE(a && b && client);
    Link l(&*client, &*a);
    ASSERT_TRUE(client->connect(l.now));
    l.settle();
    ASSERT_TRUE(a->own_record_path(kPeer));
    auto st = a->export_session(kPeer);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->suite, CipherSuite::ecdhe_ecdsa_aes_128_ccm_8);
    EXPECT_EQ(st->identity.public_key_spki, pki.client_rpk.spki_der);
    ASSERT_TRUE(b->import_session(l.now, std::move(*st), 1000));
    l.server = &*b;
    ASSERT_TRUE(client->send(l.now, kSrv, to_bytes("rpk")));
    ASSERT_TRUE(b->send(l.now, kPeer, to_bytes("back")));
    l.settle();
    EXPECT_EQ(l.server_plaintexts().size(), 1U);
    EXPECT_EQ(l.client_plaintexts().size(), 1U);
    EXPECT_EQ(b->stats().handshakes_completed, 0U);
}

TEST_F(Continuity, UnknownSessionBufferIsBounded) {
    ServerConfig sc;
    sc.unknown_session_buffer = 4;
    auto server = ServerTable::create(sc, store_);
    ASSERT_TRUE(server);
    // A well-formed protected record header (epoch 1) with a 24-byte fragment.
    Bytes rec = bytes_of({23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 7, 0, 24});
    rec.resize(13 + 24);
    for (std::uint16_t port = 1; port <= 50; ++port)
        server->on_datagram(TimePoint{}, PeerAddr::v4(198, 51, 100, 1, port), rec);
    std::size_t reports = 0;
    while (server->poll_unknown_session())
        ++reports;
    EXPECT_EQ(reports, 4U);
    EXPECT_EQ(server->stats().unknown_session_datagrams, 50U);
    EXPECT_EQ(server->size(), 0U);
    // Garbage and epoch-0 datagrams are not reported.
    Bytes junk = rec;
    junk[0] = std::byte{99};
    server->on_datagram(TimePoint{}, kPeer, junk);
    EXPECT_FALSE(server->poll_unknown_session());
}

// Memory per idle established session: GnuTLS vs the own record path (docs/performance.md).
TEST_F(Continuity, OwnPathSessionsUseAFractionOfTheMemory) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "a sanitizer's allocator: mallinfo2() does not see the heap";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    GTEST_SKIP() << "a sanitizer's allocator: mallinfo2() does not see the heap";
#endif
#endif
    auto measure = [&](bool own) {
        ServerConfig sc;
        sc.own_record_path = own;
        auto server = ServerTable::create(sc, store_);
        EXPECT_TRUE(server);
        std::vector<std::unique_ptr<ClientSession>> clients;
        constexpr int kSessions = 64;
        // Handshake every client first (their memory is not the server's), then measure the
        // server's heap around creating/destroying its sessions by closing them all.
        std::vector<PeerAddr> addrs;
        for (int i = 0; i < kSessions; ++i) {
            auto c = ClientSession::create(psk_client());
            EXPECT_TRUE(c);
            clients.push_back(std::make_unique<ClientSession>(std::move(*c)));
            addrs.push_back(PeerAddr::v4(192, 0, 2, 1, static_cast<std::uint16_t>(2000 + i)));
        }
        TimePoint now{};
        for (int i = 0; i < kSessions; ++i) {
            ClientSession& c = *clients[static_cast<std::size_t>(i)];
            EXPECT_TRUE(c.connect(now));
            for (int round = 0; round < 20 && !c.established(); ++round) {
                while (auto d = c.poll_transmit())
                    server->on_datagram(now, addrs[static_cast<std::size_t>(i)], d->bytes);
                while (auto d = server->poll_transmit())
                    c.on_datagram(now, kSrv, d->bytes);
            }
            EXPECT_TRUE(c.established());
        }
        while (server->poll_event()) {
        }
        EXPECT_EQ(server->size(), static_cast<std::size_t>(kSessions));
        const std::size_t before = mallinfo2().uordblks;
        for (const auto& a : addrs)
            server->close(now, a);
        while (server->poll_transmit()) {
        }
        const std::size_t after = mallinfo2().uordblks;
        return (before - after) / kSessions;
    };
    const std::size_t gnutls = measure(false);
    const std::size_t own = measure(true);
    std::printf("bytes per idle established session: GnuTLS %zu, own record path %zu\n", gnutls,
                own);
    EXPECT_GT(gnutls, 4000U);
    EXPECT_LT(own, 2000U);
    EXPECT_LT(own * 4, gnutls);
}

} // namespace
} // namespace lwm2m::dtls::test::continuity
