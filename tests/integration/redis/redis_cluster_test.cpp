// The Redis stores over a real local Redis Cluster (3 primaries + 3 replicas, started by
// tests/support/redis_cluster.py, which sets LWM2M_TEST_REDIS_URL and LWM2M_TEST_REDIS_DIR):
// reload from a second client, secrets at rest (values and the nodes' append-only files),
// another key file, -MOVED handling with a stale slot map, WAIT on the replicas, idempotent
// re-application, a pipelined load() spanning every primary. The store contract runs in the same
// program (tests/unit/store_sqlite_stores/contract_test.cpp with LWM2M_CONTRACT_REDIS).
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/redis_bootstrap_config_store.hpp>
#include <lwm2m/store/redis_change_listener.hpp>
#include <lwm2m/store/redis_stores.hpp>

#include "support/bootstrap_samples.hpp"
#include "unit/store_sqlite_stores/temp_dir.hpp"

namespace lwm2m::store {
namespace redis_cluster_test { // named: shares a unity unit with contract_test.cpp

using test::bytes;

std::string url() {
    const char* u = std::getenv("LWM2M_TEST_REDIS_URL");
    return u ? u : "";
}

std::string fresh_prefix() {
    static int n = 0;
    return "it" + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

std::unique_ptr<RedisStores> open(const std::string& key_file, const std::string& prefix) {
    RedisStoresOptions o;
    o.prefix = prefix;
    std::string why;
    auto s = RedisStores::open(url(), key_file, o, &why);
    EXPECT_TRUE(s) << s.error().message() << ": " << why;
    return s ? std::move(*s) : nullptr;
}

RegistrationRecord reg(std::string ep, std::string loc) {
    RegistrationRecord r;
    r.endpoint = std::move(ep);
    r.location = std::move(loc);
    r.lwm2m_version = "1.1";
    r.binding = "U";
    r.peer = PeerAddr::v4(127, 0, 0, 1, 40000);
    r.registered_at = 1'700'000'000;
    r.updated_at = 1'700'000'010;
    return r;
}

std::string to_base64(BytesView b) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i + 2 < b.size(); i += 3) {
        const unsigned v = (std::to_integer<unsigned>(b[i]) << 16) |
                           (std::to_integer<unsigned>(b[i + 1]) << 8) |
                           std::to_integer<unsigned>(b[i + 2]);
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
    }
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

TEST(RedisStoresCluster, ReloadFromAnotherClientSeesEverything) {
    ASSERT_FALSE(url().empty()) << "run through tests/support/redis_cluster.py";
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto a = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(a);
    // 300 endpoints: spread over the three primaries; load() pages through SCAN.
    std::vector<Change> batch;
    std::uint64_t seq = 0;
    for (int i = 0; i < 300; ++i) {
        const auto ep = "dev-" + std::to_string(i);
        batch.push_back({++seq, RegistrationPut{reg(ep, std::to_string(i))}});
        ObservationRecord o;
        o.endpoint = ep;
        o.id = static_cast<std::uint64_t>(i) + 1;
        o.token = bytes({1, 2});
        o.paths = {"/3/0/9"};
        batch.push_back({++seq, ObservationPut{o}});
    }
    ASSERT_TRUE(a->registrations().commit(batch));
    SecurityInfo psk;
    psk.endpoint = "dev-1";
    psk.psk_identity = to_bytes("dev-1-id");
    psk.psk_key = SecretBytes(bytes({9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 11, 12}));
    ASSERT_TRUE(a->security().put(psk));
    EventRecord e;
    e.endpoint = "dev-1";
    e.kind = "registered";
    auto s1 = a->events().append(e);
    ASSERT_TRUE(s1);

    auto b = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(b);
    std::set<std::string> eps;
    std::size_t observations = 0;
    ASSERT_TRUE(b->registrations().load(
        [&](RegistrationRecord&& r) { EXPECT_TRUE(eps.insert(r.endpoint).second); },
        [&](ObservationRecord&& o) {
            EXPECT_TRUE(eps.count(o.endpoint)) << "observation before its registration";
            ++observations;
        }));
    EXPECT_EQ(eps.size(), 300U);
    EXPECT_EQ(observations, 300U);
    EXPECT_EQ(*b->registrations().size(), 300U);
    EXPECT_EQ(**b->registrations().find("dev-7"), reg("dev-7", "7"));
    const auto* found = b->security().find_by_psk_identity(to_bytes("dev-1-id"));
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(*found, psk);
    // The event sequence continues.
    auto s2 = b->events().append(e);
    ASSERT_TRUE(s2);
    EXPECT_EQ(*s2, *s1 + 1);
    const char* standalone = std::getenv("LWM2M_TEST_REDIS_STANDALONE");
    const bool one = standalone && std::string(standalone) == "1";
    EXPECT_EQ(b->client().primaries().size(), one ? 1U : 3U);
    EXPECT_EQ(b->client().standalone(), one);
}

TEST(RedisStoresCluster, SecretsAreSealedInRedisAndInTheAppendOnlyFiles) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto s = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(s);
    const auto key = bytes({0x5e, 0xc2, 0xe7, 0x4b, 0x65, 0x79, 0x21, 0x42, 0x99, 0x13, 0x37, 0x77,
                            0x01, 0xfe, 0x88, 0x31});
    SecurityInfo psk;
    psk.endpoint = "secret-dev";
    psk.psk_identity = to_bytes("secret-dev-identity");
    psk.psk_key = SecretBytes(key);
    ASSERT_TRUE(s->security().put(psk));
    const auto k = s->keys().sec("secret-dev");
    auto raw = s->client().run(redis::command({"GET", k}, k));
    ASSERT_TRUE(raw);
    ASSERT_EQ(raw->type, redis::Reply::Type::string);
    const std::string key_raw(reinterpret_cast<const char*>(key.data()), key.size());
    EXPECT_NE(raw->str.find("secret-dev-identity"), std::string::npos); // the test sees values
    EXPECT_EQ(raw->str.find(key_raw), std::string::npos);
    EXPECT_EQ(lower(raw->str).find(to_hex(key)), std::string::npos);
    // The append-only files of every node (primaries and replicas).
    const char* rdir = std::getenv("LWM2M_TEST_REDIS_DIR");
    ASSERT_NE(rdir, nullptr);
    ::sleep(1); // appendfsync everysec: the AOF write reaches the file within a second
    std::size_t files = 0;
    bool identity_seen = false;
    for (const auto& f : std::filesystem::recursive_directory_iterator(rdir)) {
        if (!f.is_regular_file()) continue;
        const auto text = test::read_file(f.path().string());
        ++files;
        identity_seen = identity_seen || text.find("secret-dev-identity") != std::string::npos;
        EXPECT_EQ(text.find(key_raw), std::string::npos) << f.path();
        EXPECT_EQ(lower(text).find(to_hex(key)), std::string::npos) << f.path();
        EXPECT_EQ(text.find(to_base64(key)), std::string::npos) << f.path();
    }
    EXPECT_GT(files, 6U);
    EXPECT_TRUE(identity_seen) << "the AOF files were not searched";

    // Another key file: nothing opens, nothing is loaded.
    test::TempDir other;
    RedisStoresOptions o;
    o.prefix = prefix;
    auto wrong = RedisStores::open(url(), other.file("secret.key"), o);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error(), make_error_code(Errc::decrypt_failed));
    // A sealed value copied to another endpoint's key does not open there.
    const auto k2 = s->keys().sec("thief");
    auto copy = s->client().run(redis::command({"SET", k2, raw->str}, k2, true));
    ASSERT_TRUE(copy);
    auto moved = RedisStores::open(url(), dir.file("secret.key"), o);
    ASSERT_FALSE(moved);
}

// The test cluster has a password (tests/support/redis_cluster.py): the URL's user info is
// every connection's AUTH, and a wrong password is a clear error naming the node, not the
// password.
TEST(RedisStoresCluster, AWrongPasswordIsRefusedClearly) {
    const auto u = url();
    const auto at = u.rfind('@');
    ASSERT_NE(at, std::string::npos) << "the test cluster has no password";
    test::TempDir dir;
    RedisStoresOptions o;
    o.prefix = fresh_prefix();
    o.cluster.retry_deadline = std::chrono::milliseconds(300);
    std::string why;
    auto s = RedisStores::open("redis://:not-the-secret" + u.substr(at), dir.file("secret.key"), o,
                               &why);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), make_error_code(Errc::unavailable));
    EXPECT_NE(why.find("authentication refused"), std::string::npos) << why;
    EXPECT_EQ(why.find("not-the-secret"), std::string::npos) << why;
    // Without user info the cluster refuses every command (NOAUTH): no store either.
    EXPECT_FALSE(RedisStores::open("redis://" + u.substr(at + 1), dir.file("secret.key"), o, &why));
    EXPECT_NE(why.find("NOAUTH"), std::string::npos) << why;
}

TEST(RedisStoresCluster, StaleSlotMapIsCorrectedByMoved) {
    test::TempDir dir;
    auto s = open(dir.file("secret.key"), fresh_prefix());
    ASSERT_TRUE(s);
    auto& client = s->writer_client();
    const auto primaries = client.primaries();
    ASSERT_EQ(primaries.size(), 3U);
    client.debug_route_all_slots_to(primaries[0]);
    std::vector<Change> batch;
    for (int i = 0; i < 60; ++i)
        batch.push_back({static_cast<std::uint64_t>(i + 1),
                         RegistrationPut{reg("mv-" + std::to_string(i), std::to_string(i))}});
    const auto before = client.stats();
    ASSERT_TRUE(s->registrations().commit(batch));
    const auto after = client.stats();
    EXPECT_GT(after.moved, before.moved); // two thirds of the endpoints live elsewhere
    EXPECT_EQ(after.retries, before.retries);
    EXPECT_GT(after.waits, before.waits); // the replicas acknowledged (WAIT 1)
    for (int i = 0; i < 60; ++i)
        EXPECT_TRUE(*s->registrations().find("mv-" + std::to_string(i))) << i;
}

/// A command for the node owning `slot` (every command here is routed by a slot).
redis::Command at(std::uint16_t slot, std::vector<std::string> args) {
    redis::Command c;
    c.args = std::move(args);
    c.slot = slot;
    return c;
}

TEST(RedisStoresCluster, SlotMigrationAskTryagainThenMoved) {
    // A real resharding of one slot (Redis Cluster specification, "Live resharding"): while the
    // slot is MIGRATING on its owner and IMPORTING on another primary, a single-key command for
    // a key the owner does not have goes to the target through -ASK (ASKING + the command); the
    // two-key commit script gets -TRYAGAIN there (its keys are not all present) and is retried
    // until the slot is given to the target (SETSLOT NODE); then -MOVED updates the map.
    test::TempDir dir;
    auto s = open(dir.file("secret.key"), fresh_prefix());
    ASSERT_TRUE(s);
    auto& data = s->writer_client(); // the stores' writes
    auto& admin = s->client();       // SETSLOT, from another connection
    const std::string ep = "ask-dev";
    const auto slot = redis::key_slot(s->keys().reg(ep));
    const auto source = data.owner(slot);
    std::uint16_t target_slot = 0;
    while (admin.owner(target_slot) == source)
        ++target_slot;
    auto id_of = [&](std::uint16_t sl) {
        auto r = admin.run(at(sl, {"CLUSTER", "MYID"}));
        EXPECT_TRUE(r);
        return r ? r->str : std::string();
    };
    const auto source_id = id_of(slot);
    const auto target_id = id_of(target_slot);
    ASSERT_FALSE(source_id.empty());
    ASSERT_FALSE(target_id.empty());
    const auto slot_text = std::to_string(slot);
    auto r = admin.run(at(target_slot, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", source_id}));
    ASSERT_TRUE(r);
    ASSERT_FALSE(r->is_error()) << r->str;
    r = admin.run(at(slot, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", target_id}));
    ASSERT_TRUE(r);
    ASSERT_FALSE(r->is_error()) << r->str;

    // -ASK: a new key of the slot is created on the target, and read back from there.
    const auto asked = data.stats().asked;
    const auto k = s->keys().reg(ep) + ":ask";
    r = data.run(redis::command({"SET", k, "v"}, k, true));
    ASSERT_TRUE(r) << data.last_error();
    EXPECT_EQ(r->str, "OK");
    r = data.run(redis::command({"GET", k}, k));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->str, "v");
    EXPECT_GE(data.stats().asked, asked + 2);

    // -TRYAGAIN while migrating; the commit goes through once the migration ends.
    const auto retries = data.stats().retries;
    Result<void> committed = fail(Errc::unavailable);
    std::thread writer([&] {
        std::vector<Change> batch{{1, RegistrationPut{reg(ep, "1")}}};
        committed = s->registrations().commit(batch);
    });
    ::usleep(400'000);
    for (auto sl : {target_slot, slot}) {
        r = admin.run(at(sl, {"CLUSTER", "SETSLOT", slot_text, "NODE", target_id}));
        ASSERT_TRUE(r);
        EXPECT_FALSE(r->is_error()) << r->str;
    }
    writer.join();
    ASSERT_TRUE(committed) << data.last_error();
    EXPECT_GT(data.stats().retries, retries);
    EXPECT_NE(data.last_error().find("TRYAGAIN"), std::string::npos) << data.last_error();

    // -MOVED for a client whose map still names the source.
    s->writer_client().debug_route_all_slots_to(source);
    const auto moved = data.stats().moved;
    auto found = s->registrations().find(ep);
    ASSERT_TRUE(found);
    ASSERT_TRUE(*found);
    EXPECT_EQ((*found)->location, "1");
    EXPECT_GT(data.stats().moved, moved);
    EXPECT_NE(data.owner(slot), source); // the slot stays there (no test needs the layout)
}

TEST(RedisStoresCluster, ReapplyingABatchConverges) {
    test::TempDir dir;
    auto s = open(dir.file("secret.key"), fresh_prefix());
    ASSERT_TRUE(s);
    ObservationRecord o;
    o.endpoint = "idem";
    o.id = 5;
    o.paths = {"/3/0"};
    std::vector<Change> batch{
        {1, RegistrationPut{reg("idem", "1")}},       {2, ObservationPut{o}},
        {3, RegistrationPut{reg("gone", "2")}},       {4, RegistrationRemove{"gone"}},
        {5, RegistrationPut{reg("idem", "3"), true}}, {6, ObservationPut{o}}};
    ASSERT_TRUE(s->registrations().commit(batch));
    ASSERT_TRUE(s->registrations().commit(batch)); // a retry after an unknown outcome
    EXPECT_EQ(*s->registrations().size(), 1U);
    EXPECT_EQ((*s->registrations().find("idem"))->location, "3");
    auto obs = s->registrations().observations("idem");
    ASSERT_TRUE(obs);
    ASSERT_EQ(obs->size(), 1U);
    EXPECT_EQ(obs->front(), o);
    EXPECT_FALSE(*s->registrations().find("gone"));
}

// docs/cluster.md "Ownership": the node id is written with each Register/Update, in the same
// script; a remove clears it; a store without a node id leaves the owner as it was.
TEST(RedisStoresCluster, OwnerIsTheNodeThatCommittedTheLastRegisterOrUpdate) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto a = open(dir.file("secret.key"), prefix);
    auto b = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(a && b);
    a->registrations().set_node_id("node-a");
    b->registrations().set_node_id("node-b");
    EXPECT_FALSE(*a->registrations().owner("own-1"));
    ASSERT_TRUE(a->registrations().commit(std::vector<Change>{
        {1, RegistrationPut{reg("own-1", "1")}}, {2, RegistrationPut{reg("own-2", "2")}}}));
    EXPECT_EQ(*b->registrations().owner("own-1"), "node-a");
    EXPECT_EQ(*b->registrations().owner("own-2"), "node-a");
    // The device updates at node b (read-through): b owns it now.
    ASSERT_TRUE(
        b->registrations().commit(std::vector<Change>{{3, RegistrationPut{reg("own-1", "1")}}}));
    EXPECT_EQ(*a->registrations().owner("own-1"), "node-b");
    EXPECT_EQ(*a->registrations().owner("own-2"), "node-a");
    // Observations do not move the owner; a de-registration clears it.
    ObservationRecord o;
    o.endpoint = "own-2";
    o.id = 1;
    o.paths = {"/3/0"};
    ASSERT_TRUE(b->registrations().commit(std::vector<Change>{{4, ObservationPut{o}}}));
    EXPECT_EQ(*a->registrations().owner("own-2"), "node-a");
    ASSERT_TRUE(a->registrations().commit(std::vector<Change>{{5, RegistrationRemove{"own-1"}}}));
    EXPECT_FALSE(*b->registrations().owner("own-1"));
    // A store without a node id (one node) writes no owner.
    auto c = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(c);
    ASSERT_TRUE(
        c->registrations().commit(std::vector<Change>{{6, RegistrationPut{reg("own-3", "3")}}}));
    EXPECT_FALSE(*a->registrations().owner("own-3"));
    EXPECT_TRUE(*a->registrations().find("own-3"));
}

// docs/cluster.md "Liveness": a heartbeat lasts its TTL; leave() ends it at once; the list
// keeps dead nodes (alive false) with their last heartbeat.
TEST(RedisStoresCluster, NodeHeartbeatsExpireAndTheListShowsThem) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto s = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(s);
    RedisNodeRegistry nodes(s->client(), s->keys(), std::chrono::milliseconds(300));
    ASSERT_TRUE(nodes.heartbeat("n1", 12, 1000));
    ASSERT_TRUE(nodes.heartbeat("n2", 0, 2000));
    EXPECT_TRUE(*nodes.alive("n1"));
    EXPECT_FALSE(*nodes.alive("n9"));
    auto l = nodes.list(3000);
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 2U);
    EXPECT_EQ((*l)[0].id, "n1");
    EXPECT_TRUE((*l)[0].alive);
    EXPECT_EQ((*l)[0].registrations, 12U);
    EXPECT_EQ((*l)[0].last_seen, 1000);
    ASSERT_TRUE(nodes.leave("n2"));
    EXPECT_FALSE(*nodes.alive("n2"));
    // n1's key expires after its TTL (Redis expires keys itself: wait for it, bounded).
    bool expired = false;
    for (int i = 0; i < 40 && !expired; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        expired = !*nodes.alive("n1");
    }
    EXPECT_TRUE(expired);
    l = nodes.list(3000);
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 2U);
    EXPECT_FALSE((*l)[0].alive);
    EXPECT_EQ((*l)[0].registrations, 0U);
    // Nodes unseen for longer than forget_after leave the list.
    l = nodes.list(1000 + 24LL * 3600 * 1000 + 1);
    ASSERT_TRUE(l);
    ASSERT_EQ(l->size(), 1U);
    EXPECT_EQ((*l)[0].id, "n2");
}

TEST(RedisStoresCluster, BatchedLookupsByEndpointAndByLocation) {
    test::TempDir dir;
    auto s = open(dir.file("secret.key"), fresh_prefix());
    ASSERT_TRUE(s);
    // Endpoints on every primary (their hash tags spread over the slots).
    std::vector<Change> batch;
    std::vector<std::string> eps;
    std::vector<std::string> locs;
    for (int i = 0; i < 40; ++i) {
        eps.push_back("bl-" + std::to_string(i));
        locs.push_back("n1-" + std::to_string(i));
        batch.push_back(
            {static_cast<std::uint64_t>(i + 1), RegistrationPut{reg(eps.back(), locs.back())}});
    }
    ASSERT_TRUE(s->registrations().commit(batch));
    // bl-3 registered again elsewhere; bl-4 removed.
    std::vector<Change> later{{100, RegistrationPut{reg("bl-3", "n2-3"), true}},
                              {101, RegistrationRemove{"bl-4"}}};
    ASSERT_TRUE(s->registrations().commit(later));
    eps.emplace_back("nobody");
    locs.emplace_back("n9-9");
    auto by_ep = s->registrations().find_many(eps);
    ASSERT_TRUE(by_ep) << by_ep.error().message();
    ASSERT_EQ(by_ep->size(), eps.size());
    auto by_loc = s->registrations().find_many_by_location(locs);
    ASSERT_TRUE(by_loc) << by_loc.error().message();
    ASSERT_EQ(by_loc->size(), locs.size());
    for (std::size_t i = 0; i < 40; ++i) {
        if (i == 4) {
            EXPECT_FALSE((*by_ep)[i]);
            EXPECT_FALSE((*by_loc)[i]);
            continue;
        }
        ASSERT_TRUE((*by_ep)[i]) << eps[i];
        EXPECT_EQ((*by_ep)[i]->endpoint, eps[i]);
        if (i == 3) {
            EXPECT_EQ((*by_ep)[i]->location, "n2-3");
            EXPECT_FALSE((*by_loc)[i]); // the old location names nothing any more
            continue;
        }
        ASSERT_TRUE((*by_loc)[i]) << locs[i];
        EXPECT_EQ((*by_loc)[i]->endpoint, eps[i]);
    }
    EXPECT_FALSE(by_ep->back());
    EXPECT_FALSE(by_loc->back());
    EXPECT_EQ((*s->registrations().find_by_location("n2-3"))->endpoint, "bl-3");
    EXPECT_TRUE(s->registrations().find_many({})->empty());
}

TEST(RedisStoresCluster, BootstrapConfigurationsAreSealedAndReloaded) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto s = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(s);
    auto cfgs = RedisBootstrapConfigStore::open(s->client(), s->secret_box(), s->keys());
    ASSERT_TRUE(cfgs);
    BootstrapConfig c = lwm2m::test::typical_bootstrap_config("bs-dev");
    c.bootstrap_credentials.psk_identity = to_bytes("bs-dev-id");
    std::vector<std::string> reasons;
    auto put = (*cfgs)->put(c, &reasons);
    ASSERT_TRUE(put) << (reasons.empty() ? put.error().message() : reasons.front());
    BootstrapConfig clash = lwm2m::test::typical_bootstrap_config("bs-other");
    clash.bootstrap_credentials.psk_identity = to_bytes("bs-dev-id");
    auto r = (*cfgs)->put(clash, &reasons);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(ConfigErrc::conflict));

    auto again = RedisBootstrapConfigStore::open(s->client(), s->secret_box(), s->keys());
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)->size(), 1U);
    auto found = (*again)->find_by_psk_identity(to_bytes("bs-dev-id"));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->endpoint, "bs-dev");
    const auto k = s->keys().bscfg("bs-dev");
    auto raw = s->client().run(redis::command({"GET", k}, k));
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->str.find("bs-dev-id"), std::string::npos); // the whole value is sealed
    ASSERT_TRUE((*again)->remove("bs-dev"));
    EXPECT_EQ((*again)->remove("bs-dev").error(), make_error_code(ConfigErrc::not_found));
}

// ---- several nodes: credential uniqueness and re-reading (docs/cluster.md "Credentials and
// bootstrap configurations"). Two RedisStores on their own clients play two nodes.

SecurityInfo psk_of(std::string ep, std::string identity) {
    SecurityInfo i;
    i.endpoint = std::move(ep);
    i.psk_identity = to_bytes(identity);
    i.psk_key = SecretBytes(bytes({1, 2, 3, 4, 5, 6, 7, 8}));
    return i;
}

TEST(RedisStoresCluster, ACredentialIsBoundToOneEndpointAcrossNodes) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto a = open(dir.file("secret.key"), prefix);
    auto b = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(a->security().put(psk_of("ep-a", "shared")));
    // b's index does not know ep-a (loaded before): the uniqueness key refuses.
    std::string why;
    auto r = b->security().put(psk_of("ep-b", "shared"), &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::conflict));
    EXPECT_EQ(why, "the PSK identity is bound to another endpoint");
    EXPECT_FALSE(*b->security().fetch("ep-b"));
    // Re-putting ep-a's own identity (another key) is fine at either node.
    ASSERT_TRUE(a->security().put(psk_of("ep-a", "shared")));
    // The key is confirmed (no TTL) and names ep-a.
    const auto k = *a->keys().credential(psk_of("ep-a", "shared"));
    auto v = a->client().run(redis::command({"GET", k}, k));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->str, "ep-a");
    auto ttl = a->client().run(redis::command({"PTTL", k}, k));
    ASSERT_TRUE(ttl);
    EXPECT_EQ(ttl->integer, -1);
    // ep-a moves to another identity: the old one is released and b can take it, even though
    // b's index still says nothing (and a's index is stale for b: never asked).
    ASSERT_TRUE(a->security().put(psk_of("ep-a", "other")));
    auto gone = a->client().run(redis::command({"EXISTS", k}, k));
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->integer, 0);
    ASSERT_TRUE(b->security().put(psk_of("ep-b", "shared")));
    // Removal releases too: a can bind "other" to ep-c once ep-a is removed through b... after
    // b knows ep-a (fetch + apply, as the change channel does).
    auto fetched = b->security().fetch("ep-a");
    ASSERT_TRUE(fetched && *fetched);
    EXPECT_TRUE(b->security().apply("ep-a", std::move(*fetched)));
    ASSERT_TRUE(*b->security().remove("ep-a"));
    ASSERT_TRUE(a->security().put(psk_of("ep-c", "other")));
    // a's index still holds ep-a (stale) but the key decides; the stale entry is dropped.
    EXPECT_EQ(a->security().find_by_psk_identity(to_bytes("other"))->endpoint, "ep-c");
}

TEST(RedisStoresCluster, ConcurrentBindingsOfOneCredentialHaveOneWinner) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto a = open(dir.file("secret.key"), prefix);
    auto b = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(a && b);
    for (int round = 0; round < 20; ++round) {
        const auto identity = "race-" + std::to_string(round);
        Result<void> ra = ok();
        Result<void> rb = ok();
        std::thread ta([&] { ra = a->security().put(psk_of("ra-" + identity, identity)); });
        std::thread tb([&] { rb = b->security().put(psk_of("rb-" + identity, identity)); });
        ta.join();
        tb.join();
        ASSERT_NE(ra.has_value(), rb.has_value()) << "round " << round;
        const auto& loser = ra ? rb : ra;
        EXPECT_EQ(loser.error(), make_error_code(Errc::conflict));
        // Redis holds exactly the winner's record.
        EXPECT_EQ(a->security().fetch("ra-" + identity)->has_value(), ra.has_value());
        EXPECT_EQ(a->security().fetch("rb-" + identity)->has_value(), rb.has_value());
    }
}

TEST(RedisStoresCluster, AStaleBindingOfADeadNodeIsTakenOver) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto a = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(a);
    const auto k = *a->keys().credential(psk_of("x", "orphan"));
    // A node died between its claim and its record: a pending claim refuses until it expires.
    ASSERT_TRUE(a->client().run(redis::command({"SET", k, "ghost", "PX", "300"}, k, true)));
    EXPECT_EQ(a->security().put(psk_of("ep-1", "orphan")).error(), make_error_code(Errc::conflict));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    ASSERT_TRUE(a->security().put(psk_of("ep-1", "orphan")));
    // A node died between changing a record and releasing its old key: the confirmed key names
    // an endpoint whose record does not carry the credential: taken over.
    const auto k2 = *a->keys().credential(psk_of("x", "left-behind"));
    ASSERT_TRUE(a->client().run(redis::command({"SET", k2, "ep-1"}, k2, true)));
    ASSERT_TRUE(a->security().put(psk_of("ep-2", "left-behind")));
    auto v = a->client().run(redis::command({"GET", k2}, k2));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->str, "ep-2");
}

// A pending claim lost between the record's write and its confirmation (its TTL ended, or a
// failover promoted a replica that never had it).
TEST(RedisStoresCluster, AClaimLostBeforeItsConfirmationIsTakenAgainOrRefused) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto a = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(a);
    auto& sec = a->security();
    auto& client = a->client();
    auto key_of = [&](const char* identity) {
        return *a->keys().credential(psk_of("x", identity));
    };
    auto value_of = [&](const std::string& k) {
        auto v = client.run(redis::command({"GET", k}, k));
        EXPECT_TRUE(v);
        return v && !v->is_nil() ? v->str : std::string("(none)");
    };
    auto pttl_of = [&](const std::string& k) {
        auto v = client.run(redis::command({"PTTL", k}, k));
        EXPECT_TRUE(v);
        return v ? v->integer : -3;
    };

    // Lost, and still free: taken, confirmed.
    const auto k1 = key_of("lost-free");
    sec.set_before_confirm_for_test([&] {
        ASSERT_TRUE(client.run(redis::command({"DEL", k1}, k1, true)));
    });
    ASSERT_TRUE(sec.put(psk_of("ep-1", "lost-free")));
    EXPECT_EQ(value_of(k1), "ep-1");
    EXPECT_EQ(pttl_of(k1), -1);
    EXPECT_EQ(sec.find_by_psk_identity(to_bytes("lost-free"))->endpoint, "ep-1");

    // Lost, then taken by another endpoint: 409, and the new endpoint's record is gone again.
    const auto k2 = key_of("lost-taken");
    sec.set_before_confirm_for_test([&] {
        ASSERT_TRUE(client.run(redis::command({"SET", k2, "ep-other"}, k2, true)));
    });
    std::string why;
    auto r = sec.put(psk_of("ep-2", "lost-taken"), &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::conflict));
    EXPECT_EQ(why, "the PSK identity is bound to another endpoint");
    EXPECT_FALSE(*sec.fetch("ep-2"));
    EXPECT_EQ(sec.find("ep-2"), nullptr);
    EXPECT_EQ(value_of(k2), "ep-other");

    // The same when an existing endpoint moves to the lost credential: its previous record is
    // back in Redis, and its previous credential is still its own.
    ASSERT_TRUE(client.run(redis::command({"DEL", k2}, k2, true)));
    sec.set_before_confirm_for_test({});
    ASSERT_TRUE(sec.put(psk_of("ep-3", "before")));
    sec.set_before_confirm_for_test([&] {
        ASSERT_TRUE(client.run(redis::command({"SET", k2, "ep-other"}, k2, true)));
    });
    r = sec.put(psk_of("ep-3", "lost-taken"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::conflict));
    auto held = sec.fetch("ep-3");
    ASSERT_TRUE(held && *held);
    EXPECT_EQ((*held)->psk_identity, to_bytes("before"));
    EXPECT_EQ(sec.find("ep-3")->psk_identity, to_bytes("before"));
    EXPECT_EQ(value_of(key_of("before")), "ep-3");
    EXPECT_EQ(value_of(k2), "ep-other");
}

TEST(RedisStoresCluster, OpenCreatesMissingUniquenessKeys) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto a = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->security().put(psk_of("old-ep", "old-id")));
    const auto k = *a->keys().credential(psk_of("old-ep", "old-id"));
    ASSERT_TRUE(a->client().run(redis::command({"DEL", k}, k, true))); // written before the keys
    auto b = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(b);
    auto v = b->client().run(redis::command({"GET", k}, k));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->str, "old-ep");
}

TEST(RedisStoresCluster, ChangesAreAnnouncedAndReadBackByAnotherNode) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto a = open(dir.file("secret.key"), prefix);
    auto b = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(a && b);
    std::mutex m;
    std::vector<ChangeNotice> notices;
    int resyncs = 0;
    RedisChangeListenerOptions lo;
    lo.nodes = *redis::parse_url(url(), nullptr, &lo.cluster.auth);
    lo.keys = b->keys();
    lo.poll = std::chrono::milliseconds(50);
    auto listener = RedisChangeListener::start(
        lo,
        [&](const ChangeNotice& n) {
            std::lock_guard lock(m);
            notices.push_back(n);
        },
        [&] {
            std::lock_guard lock(m);
            ++resyncs;
        });
    ASSERT_TRUE(listener);
    auto wait = [&](const std::function<bool()>& pred) {
        for (int i = 0; i < 300; ++i) {
            {
                std::lock_guard lock(m);
                if (pred()) return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    };
    ASSERT_TRUE(wait([&] { return resyncs == 1; })) << "no resync after subscribing";
    ASSERT_TRUE(a->security().put(psk_of("n-1", "n-1-id")));
    auto cfgs_a = RedisBootstrapConfigStore::open(a->client(), a->secret_box(), a->keys());
    auto cfgs_b = RedisBootstrapConfigStore::open(b->client(), b->secret_box(), b->keys());
    ASSERT_TRUE(cfgs_a && cfgs_b);
    ASSERT_TRUE((*cfgs_a)->put(lwm2m::test::typical_bootstrap_config("n-bs")));
    ASSERT_TRUE(wait([&] { return notices.size() == 2; }));
    {
        std::lock_guard lock(m);
        EXPECT_EQ(notices[0].kind, ChangeKind::security);
        EXPECT_EQ(notices[0].endpoint, "n-1");
        EXPECT_EQ(notices[1].kind, ChangeKind::bootstrap_config);
        EXPECT_EQ(notices[1].endpoint, "n-bs");
    }
    // What a node does with them: re-read into its index.
    EXPECT_EQ(b->security().find("n-1"), nullptr);
    auto f = b->security().fetch("n-1");
    ASSERT_TRUE(f && *f);
    EXPECT_TRUE(b->security().apply("n-1", std::move(*f)));
    ASSERT_NE(b->security().find_by_psk_identity(to_bytes("n-1-id")), nullptr);
    EXPECT_FALSE((*cfgs_b)->find("n-bs"));
    ASSERT_TRUE((*cfgs_b)->reload("n-bs"));
    EXPECT_TRUE((*cfgs_b)->find("n-bs"));
    // Removals, and a full re-read after a gap.
    ASSERT_TRUE(*a->security().remove("n-1"));
    ASSERT_TRUE(a->security().put(psk_of("n-2", "n-2-id")));
    ASSERT_TRUE((*cfgs_a)->remove("n-bs"));
    auto all = b->security().fetch_all();
    ASSERT_TRUE(all);
    EXPECT_EQ(b->security().apply_all(std::move(*all)), 2U); // n-1 gone, n-2 added
    EXPECT_EQ(b->security().find("n-1"), nullptr);
    EXPECT_NE(b->security().find("n-2"), nullptr);
    ASSERT_TRUE((*cfgs_b)->reload_all());
    EXPECT_FALSE((*cfgs_b)->find("n-bs"));
    EXPECT_TRUE(wait([&] { return notices.size() == 5; }));
    EXPECT_EQ((*listener)->stats().bad, 0U);
}

TEST(RedisStoresCluster, TheSweepRemovesOnlyExpiredRegistrationsOfDeadNodes) {
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto s = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(s);
    const std::int64_t now = 1'800'000'000;
    RedisNodeRegistry nodes(s->client(), s->keys());
    ASSERT_TRUE(nodes.heartbeat("alive-node", 1, now * 1000));
    auto commit_as = [&](const std::string& node, RegistrationRecord r) {
        RedisRegistrationStore regs(s->writer_client(), s->keys());
        regs.set_node_id(node);
        ObservationRecord o;
        o.endpoint = r.endpoint;
        o.id = 1;
        o.token = bytes({1});
        o.paths = {"/3/0/9"};
        std::vector<Change> batch{{1, RegistrationPut{std::move(r)}}, {2, ObservationPut{o}}};
        ASSERT_TRUE(regs.commit(batch));
    };
    auto rec = [&](std::string ep, std::int64_t age_s) {
        auto r = reg(std::move(ep), "l");
        r.lifetime_s = 100;
        r.updated_at = now - age_s;
        return r;
    };
    // 300 fresh ones of a dead node (several scan pages), and one of each case.
    for (int i = 0; i < 300; ++i)
        commit_as("dead-node", rec("fresh-" + std::to_string(i), 10));
    commit_as("dead-node", rec("stale-dead", 100 + 61));
    commit_as("", rec("stale-unowned", 100 + 61));
    commit_as("alive-node", rec("stale-alive", 100 + 61));
    commit_as("dead-node", rec("in-grace", 100 + 59));
    RedisRegistrationSweeper sweeper(s->client(), s->keys(), std::chrono::seconds(60), 32);
    std::size_t removed = 0;
    std::size_t examined = 0;
    std::size_t steps = 0;
    for (;;) {
        auto st = sweeper.step(now);
        ASSERT_TRUE(st);
        ++steps;
        removed += st->removed;
        examined += st->examined;
        if (st->cycle_done) break;
        ASSERT_LT(steps, 1000U);
    }
    EXPECT_GT(steps, 3U); // bounded work per step
    EXPECT_GE(examined, 304U);
    EXPECT_EQ(removed, 2U);
    auto& regs = s->registrations();
    EXPECT_FALSE(*regs.find("stale-dead"));
    EXPECT_FALSE(*regs.find("stale-unowned"));
    EXPECT_TRUE(regs.observations("stale-dead")->empty());
    EXPECT_FALSE(*regs.owner("stale-dead"));
    EXPECT_TRUE(*regs.find("stale-alive"));
    EXPECT_TRUE(*regs.find("in-grace"));
    EXPECT_TRUE(*regs.find("fresh-7"));
    EXPECT_EQ(regs.observations("fresh-7")->size(), 1U);
    EXPECT_EQ(*regs.size(), 302U);
    // A second cycle finds nothing more.
    for (;;) {
        auto st = sweeper.step(now);
        ASSERT_TRUE(st);
        EXPECT_EQ(st->removed, 0U);
        if (st->cycle_done) break;
    }
}

TEST(RedisStoresCluster, LosingAReplicaIsAcceptedOrRefusedAsConfigured) {
    // Runs last in this file: it shuts one replica down for good.
    test::TempDir dir;
    const auto prefix = fresh_prefix();
    auto s = open(dir.file("secret.key"), prefix);
    ASSERT_TRUE(s);
    auto& data = s->writer_client();
    const auto primary = data.primaries().front();
    std::string ep;
    for (int i = 0; ep.empty(); ++i)
        if (data.owner(redis::key_slot(s->keys().reg("rl-" + std::to_string(i)))) == primary)
            ep = "rl-" + std::to_string(i);
    const auto slot = redis::key_slot(s->keys().reg(ep));
    std::vector<Change> batch{{1, RegistrationPut{reg(ep, "1")}}};
    const auto waits = data.stats().waits;
    ASSERT_TRUE(s->registrations().commit(batch));
    EXPECT_GT(data.stats().waits, waits); // acknowledged by the replica
    EXPECT_EQ(data.stats().unreplicated, 0U);

    // The primary's replica, from INFO replication ("slave0:ip=127.0.0.1,port=7003,...").
    auto info = data.run(at(slot, {"INFO", "replication"}));
    ASSERT_TRUE(info);
    const auto at_port = info->str.find(",port=");
    ASSERT_NE(at_port, std::string::npos) << info->str;
    const int replica_port = std::atoi(info->str.c_str() + at_port + 6);
    ASSERT_GT(replica_port, 0);
    timeval tv{2, 0};
    redisContext* rc = redisConnectWithTimeout("127.0.0.1", replica_port, tv);
    ASSERT_TRUE(rc && !rc->err);
    redis::Auth auth;
    ASSERT_TRUE(redis::parse_url(url(), nullptr, &auth));
    if (!auth.password.empty()) {
        const auto pw = as_string_view(auth.password.view());
        auto* ok = static_cast<redisReply*>(redisCommand(rc, "AUTH %b", pw.data(), pw.size()));
        ASSERT_TRUE(ok && ok->type == REDIS_REPLY_STATUS);
        freeReplyObject(ok);
    }
    redisReply* reply = static_cast<redisReply*>(redisCommand(rc, "SHUTDOWN NOSAVE"));
    if (reply) freeReplyObject(reply); // no reply: the connection closed with the process
    redisFree(rc);

    // Strict: a primary without a replica online takes no writes.
    RedisStoresOptions strict;
    strict.prefix = prefix;
    strict.cluster.require_replica = true;
    strict.cluster.retry_deadline = std::chrono::milliseconds(1500);
    auto st = RedisStores::open(url(), dir.file("secret.key"), strict);
    ASSERT_TRUE(st);
    std::vector<Change> b2{{2, RegistrationPut{reg(ep, "2")}}};
    auto refused = (*st)->registrations().commit(b2);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), make_error_code(Errc::unavailable));
    EXPECT_NE((*st)->writer_client().last_error().find("no replica online"), std::string::npos)
        << (*st)->writer_client().last_error();
    // Default: accepted by the primary alone, and counted.
    ASSERT_TRUE(s->registrations().commit(b2)) << data.last_error();
    EXPECT_GT(data.stats().unreplicated, 0U);
    EXPECT_EQ((*s->registrations().find(ep))->location, "2");
}

} // namespace redis_cluster_test
} // namespace lwm2m::store
