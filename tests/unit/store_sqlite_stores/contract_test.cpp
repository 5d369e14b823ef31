// The contract of RegistrationStore, SecurityStore and EventLog, run against the memory and the
// SQLite implementations (typed tests, label unit), so that they cannot drift apart. Compiled a
// second time with LWM2M_CONTRACT_REDIS for the Redis stores over a local Redis Cluster
// (tests/integration/redis, label integration: LWM2M_TEST_REDIS_URL names the cluster).
#include <algorithm>
#include <cstdlib>
#include <memory>

#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/memory_stores.hpp>
#include <lwm2m/store/sqlite_stores.hpp>
#ifdef LWM2M_CONTRACT_REDIS
#include <unistd.h>

#include <lwm2m/store/redis_stores.hpp>
#endif

#include "temp_dir.hpp"

namespace lwm2m::store {
namespace {

using test::bytes;

struct MemoryImpl {
    explicit MemoryImpl(std::size_t event_capacity)
        : events_(event_capacity) {}
    RegistrationStore& registrations() { return registrations_; }
    SecurityStore& security() { return security_; }
    EventLog& events() { return events_; }
    MemoryRegistrationStore registrations_;
    MemorySecurityStore security_;
    MemoryEventLog events_;
};

struct SqliteImpl {
    explicit SqliteImpl(std::size_t event_capacity) {
        SqliteStoresOptions o;
        o.event_log_max_rows = event_capacity;
        auto s = SqliteStores::open(dir_.path(), o);
        EXPECT_TRUE(s) << s.error().message();
        stores_ = std::move(*s);
    }
    RegistrationStore& registrations() { return stores_->registrations(); }
    SecurityStore& security() { return stores_->security(); }
    EventLog& events() { return stores_->events(); }
    test::TempDir dir_;
    std::unique_ptr<SqliteStores> stores_;
};

#ifdef LWM2M_CONTRACT_REDIS
/// The Redis stores under a key prefix of their own (every test starts empty on the shared
/// cluster).
struct RedisImpl {
    explicit RedisImpl(std::size_t event_capacity) {
        const char* url = std::getenv("LWM2M_TEST_REDIS_URL");
        EXPECT_NE(url, nullptr) << "LWM2M_TEST_REDIS_URL is not set (run through redis_cluster.py)";
        RedisStoresOptions o;
        o.event_log_max_rows = event_capacity;
        o.prefix = "contract" + std::to_string(::getpid()) + "_" + std::to_string(counter_++);
        std::string why;
        auto s = RedisStores::open(url ? url : "", dir_.file("secret.key"), o, &why);
        EXPECT_TRUE(s) << s.error().message() << ": " << why;
        if (s) stores_ = std::move(*s);
    }
    RegistrationStore& registrations() { return stores_->registrations(); }
    SecurityStore& security() { return stores_->security(); }
    EventLog& events() { return stores_->events(); }
    static inline int counter_ = 0;
    test::TempDir dir_;
    std::unique_ptr<RedisStores> stores_;
};
#endif

template <class Impl>
class StoreContract : public ::testing::Test {
protected:
    std::unique_ptr<Impl> make(std::size_t event_capacity = 1000) {
        return std::make_unique<Impl>(event_capacity);
    }
};
#ifdef LWM2M_CONTRACT_REDIS
using Impls = ::testing::Types<RedisImpl>;
#else
using Impls = ::testing::Types<MemoryImpl, SqliteImpl>;
#endif
TYPED_TEST_SUITE(StoreContract, Impls);

RegistrationRecord reg(std::string ep, std::string loc) {
    RegistrationRecord r;
    r.endpoint = std::move(ep);
    r.location = std::move(loc);
    r.lwm2m_version = "1.1";
    r.lifetime_s = 300;
    r.binding = "UQ";
    r.queue_mode = true;
    r.sms_number = "+4915100000";
    r.object_links = "</1/0>,</3/0>";
    r.peer = PeerAddr::v6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 5684);
    r.peer.scope_id = 3;
    r.socket = 1;
    r.security = SecurityMode::psk;
    r.registered_at = 1'700'000'000;
    r.updated_at = 1'700'000'100;
    return r;
}

ObservationRecord obs(std::string ep, std::uint64_t id) {
    ObservationRecord o;
    o.endpoint = std::move(ep);
    o.id = id;
    o.token = bytes({0x00, 0xff, 0x10, 0x20});
    o.paths = {"/3/0/13", "/1/0/1"};
    o.composite = true;
    o.accept = 112;
    o.created_at = 1'700'000'050;
    return o;
}

struct Loaded {
    std::vector<RegistrationRecord> regs;
    std::vector<ObservationRecord> obs;
};

Loaded load_sorted(const RegistrationStore& s) {
    Loaded l;
    EXPECT_TRUE(s.load([&](RegistrationRecord&& r) { l.regs.push_back(std::move(r)); },
                       [&](ObservationRecord&& o) { l.obs.push_back(std::move(o)); }));
    std::sort(l.regs.begin(), l.regs.end(),
              [](const auto& a, const auto& b) { return a.endpoint < b.endpoint; });
    std::sort(l.obs.begin(), l.obs.end(), [](const auto& a, const auto& b) {
        return std::tie(a.endpoint, a.id) < std::tie(b.endpoint, b.id);
    });
    return l;
}

TYPED_TEST(StoreContract, RegistrationBatchAppliesInOrderAndRoundTripsEveryField) {
    auto impl = this->make();
    auto& s = impl->registrations();
    std::vector<Change> batch{{1, RegistrationPut{reg("a", "1")}},
                              {2, RegistrationPut{reg("b", "2")}},
                              {3, RegistrationRemove{"a"}},
                              {4, RegistrationPut{reg("a", "3")}}};
    ASSERT_TRUE(s.commit(batch));
    EXPECT_EQ(*s.size(), 2U);
    auto a = s.find("a");
    ASSERT_TRUE(a && *a);
    EXPECT_EQ(**a, reg("a", "3"));
    auto none = s.find("nobody");
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    // An Update (put without replaces) changes fields in place.
    auto updated = reg("b", "2");
    updated.lifetime_s = 60;
    updated.peer = PeerAddr::v4(192, 0, 2, 7, 40000);
    updated.object_links = "</3/0>";
    std::vector<Change> b2{{5, RegistrationPut{updated}}};
    ASSERT_TRUE(s.commit(b2));
    EXPECT_EQ(**s.find("b"), updated);
}

TYPED_TEST(StoreContract, FindByLocationFollowsTheRegistration) {
    auto impl = this->make();
    auto& s = impl->registrations();
    std::vector<Change> batch{{1, RegistrationPut{reg("a", "n1-1")}},
                              {2, RegistrationPut{reg("b", "n2-7")}}};
    ASSERT_TRUE(s.commit(batch));
    auto a = s.find_by_location("n1-1");
    ASSERT_TRUE(a && *a);
    EXPECT_EQ(**a, reg("a", "n1-1"));
    EXPECT_EQ((*s.find_by_location("n2-7"))->endpoint, "b");
    EXPECT_FALSE(*s.find_by_location("n1-7"));
    // Registered again (new location): the old location finds nothing.
    std::vector<Change> again{{3, RegistrationPut{reg("a", "n2-9"), true}}};
    ASSERT_TRUE(s.commit(again));
    EXPECT_FALSE(*s.find_by_location("n1-1"));
    EXPECT_EQ((*s.find_by_location("n2-9"))->endpoint, "a");
    // Removed: nothing.
    std::vector<Change> gone{{4, RegistrationRemove{"b"}}};
    ASSERT_TRUE(s.commit(gone));
    EXPECT_FALSE(*s.find_by_location("n2-7"));
}

TYPED_TEST(StoreContract, ObservationsFollowTheirRegistration) {
    auto impl = this->make();
    auto& s = impl->registrations();
    std::vector<Change> b1{{1, RegistrationPut{reg("a", "1")}},
                           {2, ObservationPut{obs("a", 7)}},
                           {3, ObservationPut{obs("a", 8)}},
                           {4, ObservationPut{obs("zz", 9)}}, // no registration: ignored
                           {5, RegistrationPut{reg("b", "2")}},
                           {6, ObservationPut{obs("b", 1)}}};
    ASSERT_TRUE(s.commit(b1));
    auto l = load_sorted(s);
    ASSERT_EQ(l.regs.size(), 2U);
    ASSERT_EQ(l.obs.size(), 3U);
    EXPECT_EQ(l.obs[0], obs("a", 7));
    // Replacing an observation (same id).
    auto o8 = obs("a", 8);
    o8.token = bytes({1});
    o8.paths = {"/3303/0/5700"};
    o8.composite = false;
    o8.accept.reset();
    std::vector<Change> b2{
        {7, ObservationPut{o8}}, {8, ObservationRemove{"a", 7}}, {9, ObservationRemove{"a", 99}}};
    ASSERT_TRUE(s.commit(b2));
    l = load_sorted(s);
    ASSERT_EQ(l.obs.size(), 2U);
    EXPECT_EQ(l.obs[0], o8);
    // A new Register (replaces) drops the observations; a removal too.
    std::vector<Change> b3{{10, RegistrationPut{reg("a", "4"), true}},
                           {11, RegistrationRemove{"b"}}};
    ASSERT_TRUE(s.commit(b3));
    l = load_sorted(s);
    ASSERT_EQ(l.regs.size(), 1U);
    EXPECT_EQ(l.regs[0].location, "4");
    EXPECT_TRUE(l.obs.empty());
    // Re-registering "b" does not bring its old observations back.
    std::vector<Change> b4{{12, RegistrationPut{reg("b", "5")}}};
    ASSERT_TRUE(s.commit(b4));
    EXPECT_TRUE(load_sorted(s).obs.empty());
}

TYPED_TEST(StoreContract, EmptyBatchIsFine) {
    auto impl = this->make();
    ASSERT_TRUE(impl->registrations().commit({}));
    EXPECT_EQ(*impl->registrations().size(), 0U);
}

SecurityInfo psk(std::string ep, std::string identity, Bytes key) {
    SecurityInfo i;
    i.endpoint = std::move(ep);
    i.mode = SecurityMode::psk;
    i.psk_identity = to_bytes(identity);
    i.psk_key = SecretBytes(key);
    return i;
}

TYPED_TEST(StoreContract, SecurityIndexesEveryCredentialKind) {
    auto impl = this->make();
    auto& s = impl->security();
    ASSERT_TRUE(s.put(psk("dev-psk", std::string("id\0bin", 6), bytes({1, 2, 3, 4}))));
    SecurityInfo rpk;
    rpk.endpoint = "dev-rpk";
    rpk.mode = SecurityMode::rpk;
    rpk.rpk_public_key = bytes({0x30, 0x59, 0x01});
    ASSERT_TRUE(s.put(rpk));
    SecurityInfo x509;
    x509.endpoint = "dev-x509";
    x509.mode = SecurityMode::x509;
    ASSERT_TRUE(s.put(x509));
    SecurityInfo nosec;
    nosec.endpoint = "dev-nosec";
    nosec.mode = SecurityMode::nosec;
    ASSERT_TRUE(s.put(nosec));

    EXPECT_EQ(s.size(), 4U);
    const auto* p = s.find_by_psk_identity(to_bytes(std::string("id\0bin", 6)));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, psk("dev-psk", std::string("id\0bin", 6), bytes({1, 2, 3, 4})));
    EXPECT_EQ(s.find_by_psk_identity(to_bytes("id")), nullptr);
    ASSERT_NE(s.find_by_rpk(bytes({0x30, 0x59, 0x01})), nullptr);
    EXPECT_EQ(s.find_by_rpk(bytes({0x30, 0x59, 0x01}))->endpoint, "dev-rpk");
    ASSERT_NE(s.find_by_x509_cn("dev-x509"), nullptr);
    ASSERT_NE(s.find("dev-nosec"), nullptr);
    std::size_t n = 0;
    s.for_each([&](const SecurityInfo&) { ++n; });
    EXPECT_EQ(n, 4U);

    // A mode change moves the index entry.
    SecurityInfo moved;
    moved.endpoint = "dev-psk";
    moved.mode = SecurityMode::x509;
    moved.x509_common_name = "cn-1";
    ASSERT_TRUE(s.put(moved));
    EXPECT_EQ(s.find_by_psk_identity(to_bytes(std::string("id\0bin", 6))), nullptr);
    ASSERT_NE(s.find_by_x509_cn("cn-1"), nullptr);
    EXPECT_EQ(s.find_by_x509_cn("dev-psk"), nullptr);

    auto removed = s.remove("dev-rpk");
    ASSERT_TRUE(removed);
    EXPECT_TRUE(*removed);
    EXPECT_FALSE(*s.remove("dev-rpk"));
    EXPECT_EQ(s.find_by_rpk(bytes({0x30, 0x59, 0x01})), nullptr);
    EXPECT_EQ(s.size(), 3U);
}

TYPED_TEST(StoreContract, SecurityCredentialBelongsToOneEndpointAndInvalidIsRefused) {
    auto impl = this->make();
    auto& s = impl->security();
    ASSERT_TRUE(s.put(psk("a", "shared", bytes({1, 2, 3}))));
    std::string why;
    auto r = s.put(psk("b", "shared", bytes({9})), &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::conflict));
    EXPECT_EQ(why, "the PSK identity is bound to another endpoint");
    EXPECT_EQ(s.find("b"), nullptr);
    EXPECT_EQ(s.find_by_psk_identity(to_bytes("shared"))->endpoint, "a");
    // The same endpoint may change its key.
    ASSERT_TRUE(s.put(psk("a", "shared", bytes({4, 5}))));
    EXPECT_TRUE(s.find("a")->psk_key.equals(bytes({4, 5})));

    auto bad = psk("c", "", bytes({1}));
    r = s.put(bad, &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(lwm2m::Errc::invalid_argument));
    EXPECT_EQ(s.size(), 1U);
}

TYPED_TEST(StoreContract, SecurityBulkPutsAreCheckedAsAWhole) {
    auto impl = this->make();
    auto& s = impl->security();
    ASSERT_TRUE(s.put(psk("a", "taken", bytes({1}))));
    // Against the store and against each other, naming the first bad record.
    std::vector<SecurityInfo> batch{psk("b", "id-b", bytes({2})), psk("c", "taken", bytes({3}))};
    std::string why;
    auto r = check_security_puts(s, batch, &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::conflict));
    EXPECT_EQ(why, "record 1 (endpoint 'c'): the PSK identity is bound to another endpoint");
    batch = {psk("b", "same", bytes({2})), psk("c", "same", bytes({3}))};
    r = check_security_puts(s, batch, &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(why, "record 1 (endpoint 'c'): the PSK identity is bound to another endpoint");
    batch = {psk("b", "id-b", bytes({2})), psk("c", "", bytes({3}))};
    r = check_security_puts(s, batch, &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(lwm2m::Errc::invalid_argument));
    EXPECT_EQ(why.rfind("record 1 (endpoint 'c'): ", 0), 0U) << why;
    // A batch that passes is stored whole; an endpoint's own identity may stay.
    batch.clear();
    for (int i = 0; i < 300; ++i)
        batch.push_back(psk("n" + std::to_string(i), "id-n" + std::to_string(i), bytes({4})));
    batch.push_back(psk("a", "taken", bytes({5})));
    ASSERT_TRUE(check_security_puts(s, batch, &why)) << why;
    std::size_t stored = 0;
    ASSERT_TRUE(s.put_all(batch, &stored, &why)) << why;
    EXPECT_EQ(stored, 301U);
    EXPECT_EQ(s.size(), 301U);
    EXPECT_EQ(s.find_by_psk_identity(to_bytes("id-n299"))->endpoint, "n299");
    EXPECT_TRUE(s.find("a")->psk_key.equals(bytes({5})));
}

TYPED_TEST(StoreContract, EventLogIsBoundedFilteredAndOrdered) {
    auto impl = this->make(10);
    auto& log = impl->events();
    std::uint64_t last = 0;
    for (int i = 0; i < 25; ++i) {
        EventRecord e;
        e.time = 1000 + i;
        e.endpoint = i % 2 ? "odd" : "even";
        e.kind = "updated";
        e.detail = "n=" + std::to_string(i);
        auto seq = log.append(e);
        ASSERT_TRUE(seq);
        EXPECT_GT(*seq, last);
        last = *seq;
    }
    auto all = log.read({});
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 10U); // the newest 10
    EXPECT_EQ(all->front().detail, "n=15");
    EXPECT_EQ(all->back().detail, "n=24");
    EXPECT_EQ(all->back().seq, last);
    EXPECT_EQ(all->back().time, 1024);
    for (std::size_t i = 1; i < all->size(); ++i)
        EXPECT_GT((*all)[i].seq, (*all)[i - 1].seq);

    EventQuery q;
    q.endpoint = "odd";
    q.limit = 3;
    auto odd = log.read(q);
    ASSERT_TRUE(odd);
    ASSERT_EQ(odd->size(), 3U);
    EXPECT_EQ((*odd)[0].detail, "n=15");
    EXPECT_EQ((*odd)[2].detail, "n=19");
    q.after_seq = (*odd)[2].seq;
    q.limit = 100;
    auto rest = log.read(q);
    ASSERT_TRUE(rest);
    ASSERT_EQ(rest->size(), 2U);
    EXPECT_EQ((*rest)[1].detail, "n=23");
    EventQuery none;
    none.after_seq = last;
    EXPECT_TRUE(log.read(none)->empty());
}

} // namespace
} // namespace lwm2m::store
