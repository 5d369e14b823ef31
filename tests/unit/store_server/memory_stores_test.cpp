// The in-memory server stores: registration journal semantics (ordered batches, cascade of
// observations), credential indexes and conflicts, the bounded event log.
#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/memory_stores.hpp>

namespace lwm2m::store {
namespace {

RegistrationRecord reg(std::string ep, std::string loc) {
    RegistrationRecord r;
    r.endpoint = std::move(ep);
    r.location = std::move(loc);
    r.lwm2m_version = "1.1";
    r.binding = "U";
    r.object_links = "</1/0>,</3/0>";
    r.peer = PeerAddr::v4(10, 0, 0, 1, 5683);
    r.registered_at = 1000;
    r.updated_at = 1000;
    return r;
}

ObservationRecord obs(std::string ep, std::uint64_t id) {
    ObservationRecord o;
    o.endpoint = std::move(ep);
    o.id = id;
    o.token = to_bytes("tok");
    o.paths = {"/3/0/13"};
    return o;
}

TEST(MemoryRegistrationStore, AppliesABatchInOrder) {
    MemoryRegistrationStore s;
    std::vector<Change> batch;
    batch.push_back({1, RegistrationPut{reg("a", "1")}});
    batch.push_back({2, RegistrationPut{reg("b", "2")}});
    batch.push_back({3, RegistrationRemove{"a"}});
    batch.push_back({4, RegistrationPut{reg("a", "3")}}); // re-registered in the same batch
    ASSERT_TRUE(s.commit(batch));
    EXPECT_EQ(*s.size(), 2U);
    auto a = s.find("a");
    ASSERT_TRUE(a && *a);
    EXPECT_EQ((*a)->location, "3");
    EXPECT_EQ(s.commits(), 1U);
}

TEST(MemoryRegistrationStore, RemovingARegistrationRemovesItsObservations) {
    MemoryRegistrationStore s;
    std::vector<Change> b1{{1, RegistrationPut{reg("a", "1")}},
                           {2, ObservationPut{obs("a", 7)}},
                           {3, ObservationPut{obs("a", 8)}},
                           {4, ObservationPut{obs("zz", 9)}}}; // no registration: ignored
    ASSERT_TRUE(s.commit(b1));
    EXPECT_EQ(s.observations("a").size(), 2U);
    EXPECT_TRUE(s.observations("zz").empty());
    std::vector<Change> b2{{5, ObservationRemove{"a", 7}}};
    ASSERT_TRUE(s.commit(b2));
    ASSERT_EQ(s.observations("a").size(), 1U);
    EXPECT_EQ(s.observations("a")[0].id, 8U);
    std::vector<Change> b3{{6, RegistrationRemove{"a"}}, {7, RegistrationPut{reg("a", "2")}}};
    ASSERT_TRUE(s.commit(b3));
    EXPECT_TRUE(s.observations("a").empty());
}

TEST(MemoryRegistrationStore, LoadReturnsEverythingAndAFailedCommitChangesNothing) {
    MemoryRegistrationStore s;
    std::vector<Change> b1{{1, RegistrationPut{reg("a", "1")}}, {2, ObservationPut{obs("a", 7)}}};
    ASSERT_TRUE(s.commit(b1));
    s.fail_commits(make_error_code(Errc::unavailable));
    std::vector<Change> b2{{3, RegistrationRemove{"a"}}};
    auto r = s.commit(b2);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::unavailable));
    s.fail_commits(std::nullopt);
    std::vector<RegistrationRecord> regs;
    std::vector<ObservationRecord> os;
    ASSERT_TRUE(s.load([&](RegistrationRecord&& rec) { regs.push_back(std::move(rec)); },
                       [&](ObservationRecord&& o) { os.push_back(std::move(o)); }));
    ASSERT_EQ(regs.size(), 1U);
    EXPECT_EQ(regs[0], reg("a", "1"));
    ASSERT_EQ(os.size(), 1U);
    EXPECT_EQ(os[0], obs("a", 7));
}

SecurityInfo psk(std::string ep, std::string identity, std::string key = "0123456789abcdef") {
    SecurityInfo i;
    i.endpoint = std::move(ep);
    i.mode = SecurityMode::psk;
    i.psk_identity = to_bytes(identity);
    i.psk_key = SecretBytes(as_bytes(key));
    return i;
}

TEST(MemorySecurityStore, IndexesEveryCredentialKind) {
    MemorySecurityStore s;
    ASSERT_TRUE(s.put(psk("dev-a", std::string("id\0a", 4))));
    SecurityInfo r;
    r.endpoint = "dev-r";
    r.mode = SecurityMode::rpk;
    r.rpk_public_key = to_bytes("spki-bytes");
    ASSERT_TRUE(s.put(r));
    SecurityInfo x;
    x.endpoint = "dev-x";
    x.mode = SecurityMode::x509;
    ASSERT_TRUE(s.put(x));
    SecurityInfo x2;
    x2.endpoint = "dev-y";
    x2.mode = SecurityMode::x509;
    x2.x509_common_name = "device-y.example";
    ASSERT_TRUE(s.put(x2));
    SecurityInfo n;
    n.endpoint = "dev-n";
    n.mode = SecurityMode::nosec;
    ASSERT_TRUE(s.put(n));

    EXPECT_EQ(s.size(), 5U);
    const Bytes binary_id = to_bytes(std::string("id\0a", 4));
    ASSERT_NE(s.find_by_psk_identity(binary_id), nullptr);
    EXPECT_EQ(s.find_by_psk_identity(binary_id)->endpoint, "dev-a");
    EXPECT_EQ(s.find_by_psk_identity(to_bytes("id")), nullptr); // binary-safe, not C strings
    ASSERT_NE(s.find_by_rpk(to_bytes("spki-bytes")), nullptr);
    EXPECT_EQ(s.find_by_rpk(to_bytes("spki-bytes"))->endpoint, "dev-r");
    ASSERT_NE(s.find_by_x509_cn("dev-x"), nullptr); // empty CN: the endpoint name
    ASSERT_NE(s.find_by_x509_cn("device-y.example"), nullptr);
    EXPECT_EQ(s.find_by_x509_cn("dev-y"), nullptr);
    ASSERT_NE(s.find("dev-n"), nullptr);
    EXPECT_EQ(s.find("dev-n")->mode, SecurityMode::nosec);
}

TEST(MemorySecurityStore, ACredentialBelongsToOneEndpoint) {
    MemorySecurityStore s;
    ASSERT_TRUE(s.put(psk("a", "shared")));
    std::string why;
    auto r = s.put(psk("b", "shared"), &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::conflict));
    EXPECT_NE(why.find("PSK identity"), std::string::npos);
    EXPECT_EQ(s.find("b"), nullptr);
    // The same endpoint may change its identity; the old identity is released.
    ASSERT_TRUE(s.put(psk("a", "renamed")));
    EXPECT_EQ(s.find_by_psk_identity(to_bytes("shared")), nullptr);
    ASSERT_TRUE(s.put(psk("b", "shared")));
    EXPECT_EQ(s.find_by_psk_identity(to_bytes("shared"))->endpoint, "b");
    // Invalid records are refused with validate()'s reason.
    SecurityInfo bad = psk("c", "");
    auto v = s.put(bad, &why);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error(), make_error_code(lwm2m::Errc::invalid_argument));
    EXPECT_EQ(why, "a PSK identity is required");
    // Removing drops the indexes.
    ASSERT_TRUE(*s.remove("b"));
    EXPECT_FALSE(*s.remove("b"));
    EXPECT_EQ(s.find_by_psk_identity(to_bytes("shared")), nullptr);
}

TEST(MemorySecurityStore, ModeChangeMovesTheIndexEntry) {
    MemorySecurityStore s;
    ASSERT_TRUE(s.put(psk("a", "ida")));
    SecurityInfo r;
    r.endpoint = "a";
    r.mode = SecurityMode::rpk;
    r.rpk_public_key = to_bytes("key");
    ASSERT_TRUE(s.put(r));
    EXPECT_EQ(s.find_by_psk_identity(to_bytes("ida")), nullptr);
    ASSERT_NE(s.find_by_rpk(to_bytes("key")), nullptr);
    EXPECT_EQ(s.size(), 1U);
}

// Thousands of records over many chunks: a record's address stays while others come and go, a
// removed record's place is reused, and every index answers for every live record only.
TEST(MemorySecurityStore, RecordsStayPutAndPlacesAreReusedAtScale) {
    MemorySecurityStore s;
    constexpr int kN = 3000;
    auto ep = [](int i) { return "endpoint-number-" + std::to_string(i); };
    auto id = [](int i) { return std::string(100, 'i') + std::to_string(i); };
    ASSERT_TRUE(s.put(psk(ep(0), id(0))));
    const SecurityInfo* first = s.find(ep(0));
    for (int i = 1; i < kN; ++i)
        ASSERT_TRUE(s.put(psk(ep(i), id(i))));
    EXPECT_EQ(s.find(ep(0)), first) << "records never move";
    for (int i = 0; i < kN; i += 2)
        ASSERT_TRUE(*s.remove(ep(i)));
    EXPECT_EQ(s.size(), static_cast<std::size_t>(kN / 2));
    const SecurityInfo* kept = s.find(ep(1));
    for (int i = 0; i < kN; i += 2) // the freed places take the new records
        ASSERT_TRUE(s.put(psk("new-" + ep(i), "new-" + id(i))));
    EXPECT_EQ(s.find(ep(1)), kept);
    std::size_t seen = 0;
    s.for_each([&](const SecurityInfo&) { ++seen; });
    EXPECT_EQ(seen, static_cast<std::size_t>(kN));
    for (int i = 0; i < kN; ++i) {
        const bool removed = i % 2 == 0;
        EXPECT_EQ(s.find(ep(i)) == nullptr, removed) << i;
        EXPECT_EQ(s.find_by_psk_identity(to_bytes(id(i))) == nullptr, removed) << i;
        if (!removed) {
            EXPECT_EQ(s.find_by_psk_identity(to_bytes(id(i)))->endpoint, ep(i));
        } else {
            const auto* n = s.find_by_psk_identity(to_bytes("new-" + id(i)));
            ASSERT_NE(n, nullptr) << i;
            EXPECT_EQ(n->endpoint, "new-" + ep(i));
        }
    }
    // Replacing a record in place keeps its address and moves its index entries.
    const SecurityInfo* before = s.find(ep(1));
    ASSERT_TRUE(s.put(psk(ep(1), "other-identity")));
    EXPECT_EQ(s.find(ep(1)), before);
    EXPECT_EQ(s.find_by_psk_identity(to_bytes(id(1))), nullptr);
    EXPECT_EQ(s.find_by_psk_identity(to_bytes("other-identity")), before);
}

TEST(MemoryEventLog, BoundedAndFiltered) {
    MemoryEventLog log(3);
    for (int i = 0; i < 5; ++i) {
        EventRecord e;
        e.endpoint = i % 2 ? "odd" : "even";
        e.kind = "k" + std::to_string(i);
        auto seq = log.append(std::move(e));
        ASSERT_TRUE(seq);
        EXPECT_EQ(*seq, static_cast<std::uint64_t>(i + 1));
    }
    EXPECT_EQ(log.size(), 3U);
    auto all = log.read({});
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3U);
    EXPECT_EQ((*all)[0].seq, 3U);
    EXPECT_EQ((*all)[2].kind, "k4");
    EventQuery q;
    q.after_seq = 3;
    auto later = log.read(q);
    ASSERT_EQ(later->size(), 2U);
    EXPECT_EQ((*later)[0].seq, 4U);
    q.after_seq = 0;
    q.endpoint = "even";
    auto even = log.read(q);
    ASSERT_EQ(even->size(), 2U);
    EXPECT_EQ((*even)[0].kind, "k2");
    q.endpoint.reset();
    q.limit = 1;
    EXPECT_EQ(log.read(q)->size(), 1U);
}

} // namespace
} // namespace lwm2m::store
