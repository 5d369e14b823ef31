// Rules "Bootstrap-Finish consistency check" and Bootstrap-Delete (docs/security-object.md), and
// the snapshot / rollback of AccountStore.
#include <gtest/gtest.h>

#include <algorithm>

#include <lwm2m/client/client_config.hpp>
#include <lwm2m/client/config_codec.hpp>

#include "unit/client/test_configs.hpp"

namespace lwm2m::client {
namespace {

using test::bootstrap_account;
using test::bytes_of;
using test::psk_account;
using test::res;
using test::server_instance;

dm::Path sp(std::uint16_t i) {
    return dm::Path{Oid{0}, Iid{i}};
}
dm::Path vp(std::uint16_t i) {
    return dm::Path{Oid{1}, Iid{i}};
}

bool has_reason(const std::vector<std::string>& reasons, std::string_view needle) {
    return std::any_of(reasons.begin(), reasons.end(),
                       [&](const std::string& r) { return r.find(needle) != std::string::npos; });
}

class FinishTest : public ::testing::Test {
protected:
    const Actor bs = Actor::bootstrap_server();
    void write_security(const dm::Instance& in) {
        ASSERT_TRUE(store.security().write(bs, sp(in.id), test::content(sp(in.id), in),
                                           WriteMode::replace));
    }
    void write_server(const dm::Instance& in) {
        ASSERT_TRUE(
            store.server().write(bs, vp(in.id), test::content(vp(in.id), in), WriteMode::replace));
    }
    void good_setup() {
        write_security(bootstrap_account(0));
        write_security(psk_account(1, 101, to_bytes("dev"), bytes_of(16, 1)));
        write_server(server_instance(0, 101));
    }
    FinishResult finish_expect_406(std::string_view reason) {
        const auto gen = store.generation();
        const ClientConfig before = store.committed();
        FinishResult r = store.finish(bs);
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.status, Status::not_acceptable);
        EXPECT_TRUE(has_reason(r.reasons, reason)) << "wanted '" << reason << "' in:\n"
                                                   << [&] {
                                                          std::string s;
                                                          for (const auto& x : r.reasons)
                                                              s += x + "\n";
                                                          return s;
                                                      }();
        EXPECT_EQ(store.generation(), gen);
        EXPECT_TRUE(store.committed() == before);
        EXPECT_TRUE(store.working() == before); // rolled back
        return r;
    }
    test::ManualWallClock wall{1'800'000'000};
    AccountStore store{{}, wall};
};

TEST_F(FinishTest, ConsistentConfigurationIsCommitted) {
    good_setup();
    const auto r = store.finish(bs);
    EXPECT_TRUE(r.ok);
    EXPECT_TRUE(r.reasons.empty());
    EXPECT_EQ(store.generation(), 1u);
    EXPECT_TRUE(store.committed() == store.working());
    EXPECT_FALSE(store.committed().needs_bootstrap());
}

TEST_F(FinishTest, NonBootstrapAccountWithoutShortServerIdIs406) {
    good_setup();
    dm::Instance in = psk_account(2, 1, to_bytes("x"), bytes_of(16, 2));
    in.resources.erase(10);
    write_security(in);
    finish_expect_406("/0/2: resource 10 (Short Server ID) is required");
}

TEST_F(FinishTest, SecurityInstanceWithoutServerInstanceOfSameSsidIs406) {
    good_setup();
    write_security(psk_account(2, 102, to_bytes("x"), bytes_of(16, 2)));
    finish_expect_406("/0/2: no Server Object instance with Short Server ID 102");
}

TEST_F(FinishTest, ServerInstanceWithoutSecurityInstanceIs406) {
    good_setup();
    write_server(server_instance(1, 103));
    finish_expect_406("/1/1: no Security instance with Short Server ID 103");
}

TEST_F(FinishTest, DuplicateShortServerIdIs406) {
    good_setup();
    write_security(psk_account(2, 101, to_bytes("x"), bytes_of(16, 2)));
    finish_expect_406("Short Server ID 101 already used by /0/1");
}

TEST_F(FinishTest, DuplicateShortServerIdInServerObjectIs406) {
    good_setup();
    write_server(server_instance(1, 101));
    finish_expect_406("/1/1: Short Server ID 101 already used by /1/0");
}

TEST_F(FinishTest, AtMostOneBootstrapServerInstance) {
    good_setup();
    write_security(bootstrap_account(5, "coap://bs2.example.com"));
    finish_expect_406("2 Bootstrap-Server instances");
}

TEST_F(FinishTest, SecurityModeMustAgreeWithUriScheme) {
    good_setup();
    write_security(
        psk_account(1, 101, to_bytes("dev"), bytes_of(16, 1), "coap://server.example.com"));
    finish_expect_406("/0/1: Security Mode 0 requires a coaps:// URI");
    dm::Instance bsi = bootstrap_account(0, "coaps://bs.example.com");
    write_security(bsi);
    finish_expect_406("/0/0: Security Mode 3 (NoSec) requires a coap:// URI");
}

TEST_F(FinishTest, PskModeNeedsIdentityAndKey) {
    good_setup();
    dm::Instance in = psk_account(1, 101, to_bytes("dev"), bytes_of(16, 1));
    in.resources.erase(5);
    write_security(in);
    finish_expect_406("PSK mode requires resource 5");
    in = psk_account(1, 101, Bytes{}, bytes_of(16, 1));
    write_security(in);
    finish_expect_406("PSK mode requires resource 3");
}

TEST_F(FinishTest, RpkCertificateAndEstModesNeedResources3_4_5) {
    for (int mode : {1, 2, 4}) {
        good_setup();
        dm::Instance in = psk_account(1, 101, bytes_of(91, 1), bytes_of(138, 2));
        in.resources[2] = res(2, dm::Value::integer(mode));
        write_security(in); // no resource 4
        finish_expect_406("Security Mode " + std::to_string(mode) +
                          " requires resources 3, 4 and 5");
        in.resources[4] = res(4, dm::Value::opaque(bytes_of(91, 3)));
        good_setup();
        write_security(in);
        EXPECT_TRUE(store.finish(bs).ok) << mode;
    }
}

TEST_F(FinishTest, NoSecModeCarriesNoKeys) {
    good_setup();
    dm::Instance in = bootstrap_account(0);
    in.resources[5] = res(5, dm::Value::opaque(bytes_of(16, 1)));
    write_security(in);
    finish_expect_406("/0/0: NoSec mode must not carry resources 3, 4 or 5");
}

TEST_F(FinishTest, CiphersuitesMustFitTheSecurityMode) {
    good_setup();
    dm::Resource cs = dm::Resource::multi(16);
    cs.instances.emplace(0, dm::Value::unsigned_integer(0xC0AE)); // certificate suite in PSK mode
    ASSERT_TRUE(store.security().write(bs, dm::Path{Oid{0}, Iid{1}, Rid{16}},
                                       dm::Content{dm::Path{Oid{0}, Iid{1}, Rid{16}}, cs},
                                       WriteMode::replace));
    finish_expect_406("/0/1: no cipher suite in resource 16 fits Security Mode 0");
}

TEST_F(FinishTest, MandatoryResourcesMustBePresent) {
    good_setup();
    dm::Instance in = psk_account(1, 101, to_bytes("dev"), bytes_of(16, 1));
    in.resources.erase(0);
    in.resources.erase(1);
    write_security(in);
    dm::Instance s = server_instance(0, 101);
    s.resources.erase(1);
    s.resources.erase(7);
    write_server(s);
    const auto r = finish_expect_406("/0/1: resource 0 (LwM2M Server URI) is missing");
    EXPECT_TRUE(has_reason(r.reasons, "/0/1: resource 1 (Bootstrap-Server) is missing"));
    EXPECT_TRUE(has_reason(r.reasons, "/1/0: resource 1 (Lifetime) is missing"));
    EXPECT_TRUE(has_reason(r.reasons, "/1/0: resource 7 (Binding) is missing"));
}

TEST_F(FinishTest, PskKeyOver64BytesReportedNotTruncated) {
    // Write-time checks stop a 65-byte PSK key already; a configuration built in code (or loaded)
    // is checked again by check_consistency.
    ClientConfig c = test::make_config(1);
    SecurityInstance& s = c.security.at(1);
    s.secret_key = SecretBytes(bytes_of(65, 1));
    s.public_key_or_identity = bytes_of(max_psk_identity_size + 1, 1);
    const auto reasons = check_consistency(c);
    EXPECT_TRUE(has_reason(reasons, "PSK key of 65 bytes exceeds 64"));
    EXPECT_TRUE(has_reason(reasons, "PSK identity of 1025 bytes exceeds 1024"));
    EXPECT_EQ(s.secret_key.size(), 65u);
}

TEST_F(FinishTest, Psk128ByteIdentityAnd64ByteKeyFinishAndSurviveRoundTrip) {
    good_setup();
    Bytes id = bytes_of(128, 0);
    id[10] = std::byte{0};
    write_security(psk_account(1, 101, id, bytes_of(64, 200)));
    ASSERT_TRUE(store.finish(bs).ok);
    EXPECT_EQ(store.committed().security.at(1).public_key_or_identity, id);
    EXPECT_TRUE(store.committed().security.at(1).secret_key.equals(bytes_of(64, 200)));
}

TEST_F(FinishTest, FailedFinishReturnsToLastConsistentConfiguration) {
    good_setup();
    ASSERT_TRUE(store.finish(bs).ok);
    const ClientConfig good = store.committed();
    // A second bootstrap session deletes everything and writes half a configuration.
    ASSERT_TRUE(store.bootstrap_delete(bs, dm::Path{}));
    write_security(psk_account(3, 300, to_bytes("half"), bytes_of(16, 9)));
    EXPECT_FALSE(store.working() == good);
    finish_expect_406("no Server Object instance with Short Server ID 300");
    EXPECT_TRUE(store.committed() == good);
    EXPECT_TRUE(store.working() == good);
    EXPECT_NE(store.security().find(Iid{1}), nullptr);
    EXPECT_EQ(store.security().find(Iid{3}), nullptr);
}

TEST_F(FinishTest, RollbackDiscardsTheWorkingState) {
    good_setup();
    ASSERT_TRUE(store.finish(bs).ok);
    write_security(psk_account(1, 101, to_bytes("changed"), bytes_of(16, 4)));
    store.rollback();
    EXPECT_EQ(store.security().find(Iid{1})->public_key_or_identity, to_bytes("dev"));
}

TEST_F(FinishTest, BootstrapDeleteOfRootKeepsBootstrapAccountAndEmptiesObject1) {
    good_setup();
    ASSERT_TRUE(store.bootstrap_delete(bs, dm::Path{}));
    const ClientConfig w = store.working();
    ASSERT_EQ(w.security.size(), 1u);
    EXPECT_TRUE(w.security.begin()->second.is_bootstrap());
    EXPECT_TRUE(w.servers.empty());
    EXPECT_EQ(store.bootstrap_delete(bs, sp(0)).error(), make_error_code(Status::bad_request));
    EXPECT_EQ(store.bootstrap_delete(bs, dm::Path{Oid{3}, Iid{0}}).error(),
              make_error_code(Status::bad_request));
    EXPECT_EQ(
        store.bootstrap_delete(Actor::dm_server(ShortServerId{101}), dm::Path{Oid{0}}).error(),
        make_error_code(Status::unauthorized));
}

TEST_F(FinishTest, OnlyBootstrapServerOrFactoryMayFinish) {
    good_setup();
    const auto r = store.finish(Actor::dm_server(ShortServerId{101}));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.status, Status::unauthorized);
    EXPECT_EQ(store.generation(), 0u);
    EXPECT_TRUE(store.finish(Actor::factory()).ok);
}

TEST_F(FinishTest, Resource12_BootstrapAccountPurgedAfterAccountTimeout) {
    good_setup();
    dm::Instance bsi = bootstrap_account(0);
    bsi.resources[12] = res(12, dm::Value::integer(60));
    write_security(bsi);
    const TimePoint t0 = TimePoint{} + std::chrono::hours(5);
    ASSERT_TRUE(store.finish(bs, t0).ok);
    ASSERT_EQ(store.next_deadline(), t0 + std::chrono::seconds(60));
    const auto gen = store.generation();
    EXPECT_FALSE(store.on_timeout(t0 + std::chrono::seconds(59)));
    EXPECT_NE(store.committed().security.count(0), 0u);
    EXPECT_TRUE(store.on_timeout(t0 + std::chrono::seconds(60)));
    EXPECT_EQ(store.committed().security.count(0), 0u);
    EXPECT_EQ(store.security().find(Iid{0}), nullptr);
    EXPECT_NE(store.security().find(Iid{1}), nullptr); // the DM account stays
    EXPECT_EQ(store.generation(), gen + 1);
    EXPECT_FALSE(store.next_deadline());
    EXPECT_FALSE(store.on_timeout(t0 + std::chrono::hours(1)));
}

// Resource 12 across a restart: resource 12 = 3600, the device bootstraps, reboots (the monotonic
// clock starts again) and rebuilds its store from the persisted file.
class Resource12RestartTest : public FinishTest {
protected:
    static constexpr std::int64_t kTimeout = 3600;
    const TimePoint t0 = TimePoint{} + std::chrono::hours(5);
    const TimePoint boot = TimePoint{} + std::chrono::seconds(3); // after the reboot
    void bootstrap_with_timeout() {
        good_setup();
        dm::Instance bsi = bootstrap_account(0);
        bsi.resources[12] = res(12, dm::Value::integer(kTimeout));
        write_security(bsi);
        ASSERT_TRUE(store.finish(bs, t0).ok);
        ASSERT_EQ(store.committed().bs_purge_at, wall.unix_seconds() + kTimeout);
    }
    /// Encodes the committed configuration, decodes it, builds a new store at `boot`.
    AccountStore restart() {
        const SecretBytes file = encode_config(store.committed());
        auto d = decode_config(file.view());
        EXPECT_TRUE(d) << d.error().message();
        if (!d) return AccountStore({}, wall, boot);
        EXPECT_TRUE(*d == store.committed());
        return AccountStore(std::move(*d), wall, boot);
    }
};

TEST_F(Resource12RestartTest, DeadlineSurvivesARestart) {
    bootstrap_with_timeout();
    const std::int64_t purge_at = *store.committed().bs_purge_at;
    wall.advance(std::chrono::minutes(10));
    AccountStore again = restart();
    ASSERT_EQ(again.committed().bs_purge_at, purge_at);
    ASSERT_EQ(again.next_deadline(), boot + std::chrono::seconds(kTimeout - 600));
    EXPECT_FALSE(again.on_timeout(boot + std::chrono::seconds(kTimeout - 601)));
    EXPECT_EQ(again.committed().security.count(0), 1u);
    const auto gen = again.generation();
    EXPECT_TRUE(again.on_timeout(boot + std::chrono::seconds(kTimeout - 600)));
    EXPECT_EQ(again.committed().security.count(0), 0u);
    EXPECT_EQ(again.security().find(Iid{0}), nullptr);
    EXPECT_NE(again.security().find(Iid{1}), nullptr); // the DM account stays
    EXPECT_EQ(again.generation(), gen + 1);
    EXPECT_FALSE(again.committed().bs_purge_at); // and the purge itself is persisted
    const auto d = decode_config(encode_config(again.committed()).view());
    ASSERT_TRUE(d);
    EXPECT_EQ(d->security.count(0), 0u);
    EXPECT_FALSE(d->bs_purge_at);
}

TEST_F(Resource12RestartTest, DeadlinePassedWhileOffPurgesAtTheFirstTimeout) {
    bootstrap_with_timeout();
    wall.advance(std::chrono::hours(2));
    AccountStore again = restart();
    ASSERT_EQ(again.next_deadline(), boot);
    EXPECT_TRUE(again.on_timeout(boot));
    EXPECT_EQ(again.committed().security.count(0), 0u);
}

TEST_F(Resource12RestartTest, WallClockSetBackNeverExtendsTheTimeout) {
    bootstrap_with_timeout();
    wall.set(0); // e.g. no RTC after the reboot: 1970
    AccountStore again = restart();
    EXPECT_EQ(again.next_deadline(), boot + std::chrono::seconds(kTimeout));
}

TEST_F(Resource12RestartTest, AnotherBootstrapRestartsTheTimerAndZeroClearsIt) {
    bootstrap_with_timeout();
    wall.advance(std::chrono::minutes(30));
    ASSERT_TRUE(store.finish(bs, t0 + std::chrono::minutes(30)).ok);
    EXPECT_EQ(store.committed().bs_purge_at, wall.unix_seconds() + kTimeout);
    dm::Instance bsi = bootstrap_account(0);
    bsi.resources[12] = res(12, dm::Value::integer(0));
    write_security(bsi);
    ASSERT_TRUE(store.finish(bs, t0 + std::chrono::minutes(31)).ok);
    EXPECT_FALSE(store.committed().bs_purge_at);
    EXPECT_FALSE(store.next_deadline());
    EXPECT_FALSE(restart().next_deadline());
}

TEST_F(Resource12RestartTest, DmChangesKeepTheDeadline) {
    bootstrap_with_timeout();
    const auto purge_at = store.committed().bs_purge_at;
    const dm::Path lt{Oid{1}, Iid{0}, Rid{1}};
    ASSERT_TRUE(store.server().write(Actor::dm_server(ShortServerId{101}), lt,
                                     test::content(lt, res(1, dm::Value::integer(77))),
                                     WriteMode::replace));
    EXPECT_TRUE(store.commit_dm_changes());
    EXPECT_EQ(store.committed().bs_purge_at, purge_at);
    EXPECT_EQ(store.next_deadline(), t0 + std::chrono::seconds(kTimeout));
}

TEST(ClientConfig, Resource12_PurgeDeadlineNeedsABootstrapAccountWithATimeout) {
    ClientConfig c = test::make_config(1);
    c.bs_purge_at = 1'800'000'000;
    EXPECT_FALSE(check_consistency(c).empty()); // Resource 12 absent
    c.security.at(0).bs_account_timeout = 0;
    EXPECT_FALSE(check_consistency(c).empty()); // 0: forever
    c.security.at(0).bs_account_timeout = 60;
    EXPECT_TRUE(check_consistency(c).empty());
    c.security.erase(0);
    EXPECT_FALSE(check_consistency(c).empty()); // no Bootstrap-Server account
}

TEST_F(FinishTest, Resource12_ZeroAccountTimeoutMeansForever) {
    good_setup();
    dm::Instance bsi = bootstrap_account(0);
    bsi.resources[12] = res(12, dm::Value::integer(0));
    write_security(bsi);
    ASSERT_TRUE(store.finish(bs, TimePoint{}).ok);
    EXPECT_FALSE(store.next_deadline());
    EXPECT_FALSE(store.on_timeout(TimePoint{} + std::chrono::hours(24 * 365)));
    EXPECT_EQ(store.committed().security.count(0), 1u);
}

TEST_F(FinishTest, DmServerChangesToObject1AreCommittedWhenConsistent) {
    good_setup();
    ASSERT_TRUE(store.finish(bs).ok);
    const Actor dm = Actor::dm_server(ShortServerId{101});
    const dm::Path lt{Oid{1}, Iid{0}, Rid{1}};
    ASSERT_TRUE(store.server().write(dm, lt, test::content(lt, res(1, dm::Value::integer(77))),
                                     WriteMode::replace));
    EXPECT_EQ(store.committed().servers.at(0).lifetime(), 300); // not yet
    const auto gen = store.generation();
    EXPECT_TRUE(store.commit_dm_changes());
    EXPECT_EQ(store.committed().servers.at(0).lifetime(), 77);
    EXPECT_EQ(store.generation(), gen + 1);
    EXPECT_FALSE(store.commit_dm_changes()); // nothing new
    // A working state that is not a pure DM change (Object 0 touched) is rolled back instead.
    write_security(psk_account(1, 101, to_bytes("other"), bytes_of(16, 5)));
    EXPECT_FALSE(store.commit_dm_changes());
    EXPECT_EQ(store.security().find(Iid{1})->public_key_or_identity, to_bytes("dev"));
}

TEST(ClientConfig, Resource9_OnlySmsFromAConfiguredMsisdnIsKnown) {
    ClientConfig c = test::make_config(2);
    c.security.at(1).sms_number = "+33612345678";
    EXPECT_TRUE(c.is_known_sms_sender("+33612345678"));
    EXPECT_FALSE(c.is_known_sms_sender("+33612345679"));
    EXPECT_FALSE(c.is_known_sms_sender("33612345678"));
    EXPECT_FALSE(c.is_known_sms_sender(""));
}

TEST(AccountStore, InconsistentInitialConfigurationIsNotUsed) {
    ClientConfig c = test::make_config(2);
    c.servers.erase(0);
    test::ManualWallClock wall;
    AccountStore s(c, wall);
    EXPECT_TRUE(s.committed().security.empty());
    EXPECT_TRUE(s.committed().needs_bootstrap());
    AccountStore good(test::make_config(2), wall);
    EXPECT_EQ(good.committed().security.size(), 3u);
    EXPECT_EQ(good.security().instances().size(), 3u);
}

} // namespace
} // namespace lwm2m::client
