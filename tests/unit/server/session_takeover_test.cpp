// server::SessionTakeover: the rate limits and outcomes of DTLS session take-over between nodes
// (docs/cluster-nodes.md "DTLS session takeover").
#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/dtls/errc.hpp>
#include <lwm2m/server/session_takeover.hpp>

namespace lwm2m::server::test::takeover {
namespace {

using namespace std::chrono_literals;

const TimePoint t0{std::chrono::seconds(1000)};
const PeerAddr kA = PeerAddr::v4(192, 0, 2, 1, 40001);
const PeerAddr kB = PeerAddr::v4(192, 0, 2, 2, 40002);

Bytes fill(std::size_t n, unsigned seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::byte>((seed * 31 + i * 7) & 0xFF);
    return b;
}

SecretBytes key_of(unsigned seed) {
    return SecretBytes(fill(32, seed));
}

dtls::SessionState state_for(const PeerAddr& peer) {
    dtls::SessionState s;
    s.suite = dtls::CipherSuite::psk_aes_128_ccm_8;
    s.client_write_key = SecretBytes(fill(16, 1));
    s.client_write_iv = SecretBytes(fill(4, 2));
    s.server_write_key = SecretBytes(fill(16, 3));
    s.server_write_iv = SecretBytes(fill(4, 4));
    s.write_seq = 12;
    s.read_window.mark(7);
    s.identity.kind = dtls::PeerIdentity::Kind::psk;
    s.identity.psk_identity = Bytes{std::byte{'i'}, std::byte{'d'}};
    s.peer = peer;
    return s;
}

SessionTakeover make(SessionTakeoverConfig cfg = {}, unsigned key = 9) {
    auto t = SessionTakeover::create(cfg, key_of(key));
    EXPECT_TRUE(t);
    return std::move(*t);
}

TEST(SessionTakeover, RefusesABadKeyOrCap) {
    EXPECT_EQ(SessionTakeover::create({}, SecretBytes(fill(31, 1))).error(),
              make_error_code(lwm2m::Errc::invalid_argument));
    SessionTakeoverConfig cfg;
    cfg.max_in_flight = 0;
    EXPECT_FALSE(SessionTakeover::create(cfg, key_of(1)));
    SessionTakeoverConfig zero;
    zero.lookups_per_second = 0;
    EXPECT_FALSE(SessionTakeover::create(zero, key_of(1)));
}

TEST(SessionTakeover, FoundBlobOpensWithRaisedWindowAndReservedFloor) {
    auto t = make();
    SeededRandom rnd(3);
    auto blob = t.seal(state_for(kA), rnd);
    ASSERT_TRUE(blob);
    EXPECT_EQ(t.stats().exported, 1u);
    auto l = t.on_unknown(t0, 0, kA);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->peer, kA);
    auto imp = t.on_found(t0 + 10ms, l->id, *blob, 500, std::uint64_t{1} << 32);
    ASSERT_TRUE(imp);
    EXPECT_EQ(imp->state.peer, kA);
    EXPECT_EQ(imp->write_seq_floor, std::uint64_t{1} << 32);
    // The persisted high-water mark (500) is above the exported window (7): nothing at or
    // below it is accepted after the import.
    EXPECT_EQ(imp->state.read_window.highest, 500u);
    EXPECT_FALSE(imp->state.read_window.may_accept(500));
    EXPECT_FALSE(imp->state.read_window.may_accept(8));
    EXPECT_TRUE(imp->state.read_window.may_accept(501));
    t.on_imported(t0 + 10ms, 0, kA, ok());
    EXPECT_EQ(t.stats().imported, 1u);
    EXPECT_EQ(t.in_flight(), 0u);
}

TEST(SessionTakeover, LowerHighWaterKeepsTheExportedWindow) {
    auto t = make();
    SeededRandom rnd(3);
    auto blob = t.seal(state_for(kA), rnd);
    auto l = t.on_unknown(t0, 0, kA);
    auto imp = t.on_found(t0, l->id, *blob, 3, 0);
    ASSERT_TRUE(imp);
    EXPECT_EQ(imp->state.read_window.highest, 7u);
    EXPECT_FALSE(imp->state.read_window.may_accept(7));
}

TEST(SessionTakeover, BlobOfAnotherAddressOrKeyDoesNotOpen) {
    auto t = make();
    auto other = make({}, 10);
    SeededRandom rnd(3);
    auto for_b = t.seal(state_for(kB), rnd);
    auto l = t.on_unknown(t0, 0, kA);
    EXPECT_FALSE(t.on_found(t0, l->id, *for_b, std::nullopt, 0)); // replayed for another address
    EXPECT_EQ(t.stats().open_failed, 1u);
    auto other_key = other.seal(state_for(kB), rnd);
    auto l2 = t.on_unknown(t0, 0, kB);
    ASSERT_TRUE(l2);
    EXPECT_FALSE(t.on_found(t0, l2->id, *other_key, std::nullopt, 0));
    EXPECT_EQ(t.stats().open_failed, 2u);
    // Both are negative-cached now.
    EXPECT_FALSE(t.on_unknown(t0 + 1s, 0, kA));
    EXPECT_FALSE(t.on_unknown(t0 + 1s, 0, kB));
}

TEST(SessionTakeover, OneLookupPerAddressInFlight) {
    auto t = make();
    auto l = t.on_unknown(t0, 0, kA);
    ASSERT_TRUE(l);
    EXPECT_FALSE(t.on_unknown(t0 + 1ms, 0, kA)); // a retransmission of the same client
    EXPECT_EQ(t.stats().rate_limited, 1u);
    EXPECT_TRUE(t.on_unknown(t0 + 1ms, 0, kB)); // another address is not held up
    EXPECT_EQ(t.stats().lookups, 2u);
}

TEST(SessionTakeover, InFlightCapDropsFurtherReports) {
    SessionTakeoverConfig cfg;
    cfg.max_in_flight = 3;
    auto t = make(cfg);
    for (std::uint16_t i = 0; i < 3; ++i)
        EXPECT_TRUE(t.on_unknown(t0, 0, PeerAddr::v4(198, 51, 100, 1, i + 1)));
    for (std::uint16_t i = 3; i < 100; ++i)
        EXPECT_FALSE(t.on_unknown(t0, 0, PeerAddr::v4(198, 51, 100, 1, i + 1)));
    EXPECT_EQ(t.stats().lookups, 3u);
    EXPECT_EQ(t.stats().rate_limited, 97u);
    EXPECT_EQ(t.in_flight(), 3u);
}

TEST(SessionTakeover, NotFoundIsCachedForMissTtl) {
    SessionTakeoverConfig cfg;
    cfg.miss_ttl = 5s;
    auto t = make(cfg);
    auto l = t.on_unknown(t0, 0, kA);
    t.on_not_found(t0 + 10ms, l->id);
    EXPECT_EQ(t.stats().not_found, 1u);
    EXPECT_FALSE(t.on_unknown(t0 + 4s, 0, kA));
    EXPECT_EQ(t.stats().rate_limited, 1u);
    EXPECT_TRUE(t.on_unknown(t0 + 6s, 0, kA)); // the cache entry ran out
}

TEST(SessionTakeover, NegativeCacheIsBounded) {
    SessionTakeoverConfig cfg;
    cfg.max_misses = 10;
    cfg.max_in_flight = 1000;
    auto t = make(cfg);
    for (std::uint16_t i = 0; i < 50; ++i) {
        auto l = t.on_unknown(t0, 0, PeerAddr::v4(198, 51, 100, 2, i + 1));
        ASSERT_TRUE(l);
        t.on_not_found(t0, l->id);
    }
    // The first 40 fell out of the cache: looked up again; the last 10 are still cached.
    EXPECT_TRUE(t.on_unknown(t0, 0, PeerAddr::v4(198, 51, 100, 2, 1)));
    EXPECT_FALSE(t.on_unknown(t0, 0, PeerAddr::v4(198, 51, 100, 2, 50)));
}

TEST(SessionTakeover, UnansweredLookupsTimeOutAndLateAnswersAreIgnored) {
    SessionTakeoverConfig cfg;
    cfg.lookup_timeout = 2s;
    cfg.max_in_flight = 1;
    auto t = make(cfg);
    SeededRandom rnd(3);
    auto blob = t.seal(state_for(kA), rnd);
    auto l = t.on_unknown(t0, 0, kA);
    ASSERT_TRUE(l);
    EXPECT_FALSE(t.on_unknown(t0 + 1s, 0, kB)); // at the cap
    t.expire(t0 + 2s);
    EXPECT_EQ(t.stats().timed_out, 1u);
    EXPECT_EQ(t.in_flight(), 0u);
    // The timed-out address's kept datagram is dropped so that the table reports it again
    // (a look-up lost in a store failover must not strand the device).
    auto f = t.poll_forget();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->peer, kB); // refused at the cap first
    f = t.poll_forget();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->peer, kA);
    EXPECT_FALSE(t.on_found(t0 + 3s, l->id, *blob, std::nullopt, 0)); // too late
    EXPECT_EQ(t.stats().imported + t.stats().open_failed, 0u);
    EXPECT_TRUE(t.on_unknown(t0 + 3s, 0, kB));
}

TEST(SessionTakeover, TheImportStartsAboveTheExportersRangeWhateverTheCounterSays) {
    // The exporter was itself an importer with the range [3 * 2^32, 4 * 2^32); the store's
    // counter key expired meanwhile and answered 2^32 again. Starting there would reuse the
    // exporter's (key, nonce) pairs: the import starts at 4 * 2^32.
    auto t = make();
    SeededRandom rnd(3);
    auto st = state_for(kA);
    st.write_seq = (std::uint64_t{3} << 32) + 77;
    auto blob = t.seal(st, rnd);
    ASSERT_TRUE(blob);
    auto l = t.on_unknown(t0, 0, kA);
    ASSERT_TRUE(l);
    auto imp = t.on_found(t0, l->id, *blob, std::nullopt, std::uint64_t{1} << 32);
    ASSERT_TRUE(imp);
    EXPECT_EQ(imp->write_seq_floor, std::uint64_t{4} << 32);
    // A counter above the exporter's range is taken as it is.
    l = t.on_unknown(t0 + 1s, 0, kB);
    st.peer = kB;
    blob = t.seal(st, rnd);
    imp = t.on_found(t0 + 1s, l->id, *blob, std::nullopt, std::uint64_t{9} << 32);
    ASSERT_TRUE(imp);
    EXPECT_EQ(imp->write_seq_floor, std::uint64_t{9} << 32);
}

TEST(SessionTakeover, LookupsPerSecondAreBudgeted) {
    // Forged records from more addresses than the negative cache holds: at most the burst at
    // once, then lookups_per_second.
    SessionTakeoverConfig cfg;
    cfg.max_in_flight = 1000;
    cfg.lookups_per_second = 10;
    cfg.lookup_burst = 5;
    auto t = make(cfg);
    // Reports from 50 new addresses at `at`: how many became look-ups.
    auto burst = [&t](unsigned first, TimePoint at) {
        unsigned started = 0;
        for (unsigned i = first; i < first + 50; ++i)
            if (t.on_unknown(at, 0, PeerAddr::v4(198, 51, 100, static_cast<std::uint8_t>(i), 5000)))
                ++started;
        return started;
    };
    EXPECT_EQ(burst(0, t0), 5u);
    EXPECT_EQ(t.stats().rate_limited, 45u);
    EXPECT_EQ(burst(50, t0 + 500ms), 5u); // half a second later: 5 more tokens
    // The bucket never holds more than the burst, however long it waited.
    EXPECT_EQ(burst(100, t0 + 1h), 5u);
}

TEST(SessionTakeover, ImportFailureIsCountedAndCached) {
    auto t = make();
    SeededRandom rnd(3);
    auto blob = t.seal(state_for(kA), rnd);
    auto l = t.on_unknown(t0, 0, kA);
    auto imp = t.on_found(t0, l->id, *blob, std::nullopt, 0);
    ASSERT_TRUE(imp);
    t.on_imported(t0, 0, kA, fail(dtls::Errc::sequence_exhausted));
    EXPECT_EQ(t.stats().import_failed, 1u);
    EXPECT_EQ(t.stats().imported, 0u);
    EXPECT_FALSE(t.on_unknown(t0 + 1s, 0, kA));
}

TEST(SessionTakeover, MissesAndRefusalsAskToDropTheKeptDatagram) {
    SessionTakeoverConfig cfg;
    cfg.max_in_flight = 1;
    auto t = make(cfg);
    auto l = t.on_unknown(t0, 3, kA);
    ASSERT_TRUE(l);
    EXPECT_FALSE(t.poll_forget());
    EXPECT_FALSE(t.on_unknown(t0, 3, kA)); // in flight: its datagram waits for the look-up
    EXPECT_FALSE(t.poll_forget());
    EXPECT_FALSE(t.on_unknown(t0, 4, kB)); // at the cap: dropped, reported again later
    auto f = t.poll_forget();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->listener, 4);
    EXPECT_EQ(f->peer, kB);
    t.on_not_found(t0, l->id);
    f = t.poll_forget();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->listener, 3);
    EXPECT_EQ(f->peer, kA);
    EXPECT_FALSE(t.poll_forget());
}

TEST(SessionTakeover, SealCountsFailures) {
    auto t = make();
    SeededRandom rnd(3);
    auto s = state_for(kA);
    s.suite = dtls::CipherSuite::psk_aes_128_cbc_sha256; // not exportable
    EXPECT_FALSE(t.seal(s, rnd));
    t.export_failed();
    EXPECT_EQ(t.stats().export_failed, 2u);
    EXPECT_EQ(t.stats().exported, 0u);
}

} // namespace
} // namespace lwm2m::server::test::takeover
