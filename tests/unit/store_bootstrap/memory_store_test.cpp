// MemoryBootstrapConfigStore: validation on put, unique bootstrap credentials, the indexes the
// DTLS lookups use, replacement and removal, snapshots, paging, concurrent readers.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <lwm2m/store/memory_bootstrap_config_store.hpp>

#include "support/bootstrap_samples.hpp"

namespace lwm2m::store {
namespace {

using lwm2m::test::bs_psk;
using lwm2m::test::typical_bootstrap_config;

TEST(MemoryBootstrapStore, PutFindAndIndexes) {
    MemoryBootstrapConfigStore st;
    ASSERT_TRUE(st.put(typical_bootstrap_config("a")));
    ASSERT_TRUE(st.put(typical_bootstrap_config("b")));
    EXPECT_EQ(st.size(), 2u);
    auto a = st.find("a");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->endpoint, "a");
    EXPECT_EQ(st.find("c"), nullptr);
    auto by_id = st.find_by_psk_identity(as_bytes("bs-b"));
    ASSERT_TRUE(by_id);
    EXPECT_EQ(by_id->endpoint, "b");
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-c")), nullptr);
    EXPECT_EQ(st.find_by_rpk(as_bytes("bs-b")), nullptr);
}

TEST(MemoryBootstrapStore, InvalidRefusedWithReasons) {
    MemoryBootstrapConfigStore st;
    auto c = typical_bootstrap_config("a");
    c.accounts.servers.clear();
    std::vector<std::string> why;
    auto r = st.put(c, &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(ConfigErrc::invalid));
    EXPECT_FALSE(why.empty());
    EXPECT_EQ(st.size(), 0u);
}

TEST(MemoryBootstrapStore, CredentialConflictAndReplacement) {
    MemoryBootstrapConfigStore st;
    ASSERT_TRUE(st.put(typical_bootstrap_config("a")));
    // b claims a's bootstrap identity.
    auto b = typical_bootstrap_config("b");
    b.bootstrap_credentials.psk_identity = to_bytes("bs-a");
    std::vector<std::string> why;
    auto r = st.put(b, &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(ConfigErrc::conflict));
    ASSERT_EQ(why.size(), 1u);
    // a itself may change its identity; the old one is free afterwards.
    auto a2 = typical_bootstrap_config("a");
    a2.bootstrap_credentials.psk_identity = to_bytes("bs-a-2");
    ASSERT_TRUE(st.put(a2));
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-a")), nullptr);
    ASSERT_TRUE(st.find_by_psk_identity(as_bytes("bs-a-2")));
    ASSERT_TRUE(st.put(b));
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-a"))->endpoint, "b");
    // Switching a to NoSec removes it from the PSK index.
    ASSERT_TRUE(st.put(typical_bootstrap_config("a", lwm2m::test::bs_nosec("a"))));
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-a-2")), nullptr);
}

TEST(MemoryBootstrapStore, RpkAndCertificateIndexes) {
    MemoryBootstrapConfigStore st;
    SecurityInfo rpk;
    rpk.endpoint = "r";
    rpk.mode = SecurityMode::rpk;
    rpk.rpk_public_key = to_bytes("spki-bytes");
    ASSERT_TRUE(st.put(typical_bootstrap_config("r", rpk)));
    SecurityInfo x;
    x.endpoint = "x";
    x.mode = SecurityMode::x509;
    ASSERT_TRUE(st.put(typical_bootstrap_config("x", x)));
    SecurityInfo y;
    y.endpoint = "y";
    y.mode = SecurityMode::x509;
    y.x509_common_name = "cn-of-y";
    ASSERT_TRUE(st.put(typical_bootstrap_config("y", y)));
    EXPECT_EQ(st.find_by_rpk(as_bytes("spki-bytes"))->endpoint, "r");
    EXPECT_EQ(st.find_by_certificate_cn("x")->endpoint, "x");
    EXPECT_EQ(st.find_by_certificate_cn("cn-of-y")->endpoint, "y");
    EXPECT_EQ(st.find_by_certificate_cn("y"), nullptr);
    // Another endpoint whose CN would be "x".
    SecurityInfo z = x;
    z.endpoint = "z";
    z.x509_common_name = "x";
    EXPECT_EQ(st.put(typical_bootstrap_config("z", z)).error(),
              make_error_code(ConfigErrc::conflict));
}

TEST(MemoryBootstrapStore, RemoveAndSnapshotsOutliveReplacement) {
    MemoryBootstrapConfigStore st;
    ASSERT_TRUE(st.put(typical_bootstrap_config("a")));
    auto snap = st.find("a");
    auto c2 = typical_bootstrap_config("a");
    c2.accounts.servers.at(0).resources[1] = dm::Resource::single(1, dm::Value::integer(999));
    ASSERT_TRUE(st.put(c2));
    EXPECT_EQ(snap->accounts.servers.at(0).lifetime(), 300); // the old snapshot is unchanged
    EXPECT_EQ(st.find("a")->accounts.servers.at(0).lifetime(), 999);
    ASSERT_TRUE(st.remove("a"));
    EXPECT_EQ(st.find("a"), nullptr);
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-a")), nullptr);
    EXPECT_EQ(st.remove("a").error(), make_error_code(ConfigErrc::not_found));
}

TEST(MemoryBootstrapStore, ListPagesInEndpointOrderWithoutSecrets) {
    MemoryBootstrapConfigStore st;
    for (const char* ep : {"d", "a", "c", "b", "e"})
        ASSERT_TRUE(st.put(typical_bootstrap_config(ep)));
    auto p1 = st.list("", 2);
    ASSERT_EQ(p1.size(), 2u);
    EXPECT_EQ(p1[0].endpoint, "a");
    EXPECT_EQ(p1[1].endpoint, "b");
    auto p2 = st.list(p1.back().endpoint, 10);
    ASSERT_EQ(p2.size(), 3u);
    EXPECT_EQ(p2[0].endpoint, "c");
    EXPECT_EQ(p2[2].endpoint, "e");
    EXPECT_EQ(p2[0].security.at(1).resources.count(5), 0u);
    EXPECT_TRUE(st.list("e", 10).empty());
}

TEST(MemoryBootstrapStore, ConcurrentReadersAndWriter) {
    MemoryBootstrapConfigStore st;
    ASSERT_TRUE(st.put(typical_bootstrap_config("ep-0")));
    std::atomic<long> found{0};
    std::thread reader([&] {
        for (int i = 0; i < 20000; ++i)
            if (auto s = st.find_by_psk_identity(as_bytes("bs-ep-0")))
                found += s->endpoint == "ep-0";
    });
    for (int i = 1; i < 200; ++i) {
        ASSERT_TRUE(st.put(typical_bootstrap_config("ep-" + std::to_string(i))));
        ASSERT_TRUE(st.put(typical_bootstrap_config("ep-0")));
    }
    reader.join();
    EXPECT_EQ(st.size(), 200u);
    EXPECT_EQ(found.load(), 20000); // ep-0 is always findable: replacement is atomic
}

} // namespace
} // namespace lwm2m::store
