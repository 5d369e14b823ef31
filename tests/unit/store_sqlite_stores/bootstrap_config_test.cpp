// BootstrapConfigStore: the contract run against both the memory and the SQLite implementation
// (typed tests), then the SQLite store's reload, secrets at rest and wrong key file.
#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include <lwm2m/store/memory_bootstrap_config_store.hpp>
#include <lwm2m/store/sqlite_bootstrap_config_store.hpp>
#include <lwm2m/store/sqlite_stores.hpp>

#include "support/bootstrap_samples.hpp"
#include "temp_dir.hpp"

namespace lwm2m::store {
namespace {

using lwm2m::test::key_for;
using lwm2m::test::typical_bootstrap_config;

struct MemoryImpl {
    BootstrapConfigStore& store() { return store_; }
    MemoryBootstrapConfigStore store_;
};

/// A data directory with SqliteStores (schema, key) and the bootstrap store on its own connection.
struct SqliteImpl {
    SqliteImpl() { reopen(); }
    void reopen() {
        bootstrap_.reset();
        stores_.reset();
        auto s = SqliteStores::open(dir_.path());
        ASSERT_TRUE(s) << s.error().message();
        stores_ = std::move(*s);
        auto conn = stores_->open_connection();
        ASSERT_TRUE(conn);
        auto b = SqliteBootstrapConfigStore::open(std::move(*conn), stores_->secret_box());
        ASSERT_TRUE(b) << b.error().message();
        bootstrap_ = std::move(*b);
    }
    BootstrapConfigStore& store() { return *bootstrap_; }
    test::TempDir dir_;
    std::unique_ptr<SqliteStores> stores_;
    std::unique_ptr<SqliteBootstrapConfigStore> bootstrap_;
};

template <class Impl>
class BootstrapStoreContract : public ::testing::Test {
protected:
    Impl impl_;
    BootstrapConfigStore& st() { return impl_.store(); }
};
using Impls = ::testing::Types<MemoryImpl, SqliteImpl>;
TYPED_TEST_SUITE(BootstrapStoreContract, Impls);

TYPED_TEST(BootstrapStoreContract, PutFindAndIndexes) {
    auto& st = this->st();
    ASSERT_TRUE(st.put(typical_bootstrap_config("a")));
    ASSERT_TRUE(st.put(typical_bootstrap_config("b")));
    EXPECT_EQ(st.size(), 2u);
    auto a = st.find("a");
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, typical_bootstrap_config("a"));
    EXPECT_EQ(st.find("c"), nullptr);
    auto by_id = st.find_by_psk_identity(as_bytes("bs-b"));
    ASSERT_TRUE(by_id);
    EXPECT_EQ(by_id->endpoint, "b");
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-c")), nullptr);
}

TYPED_TEST(BootstrapStoreContract, InvalidRefusedWithReasons) {
    auto& st = this->st();
    auto c = typical_bootstrap_config("a");
    c.accounts.servers.clear();
    std::vector<std::string> why;
    auto r = st.put(c, &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(ConfigErrc::invalid));
    EXPECT_FALSE(why.empty());
    EXPECT_EQ(st.size(), 0u);
}

TYPED_TEST(BootstrapStoreContract, CredentialConflictAndReplacement) {
    auto& st = this->st();
    ASSERT_TRUE(st.put(typical_bootstrap_config("a")));
    auto b = typical_bootstrap_config("b");
    b.bootstrap_credentials.psk_identity = to_bytes("bs-a");
    std::vector<std::string> why;
    auto r = st.put(b, &why);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(ConfigErrc::conflict));
    ASSERT_EQ(why.size(), 1u);
    EXPECT_EQ(st.find("b"), nullptr);
    auto a2 = typical_bootstrap_config("a");
    a2.bootstrap_credentials.psk_identity = to_bytes("bs-a-2");
    ASSERT_TRUE(st.put(a2));
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-a")), nullptr);
    ASSERT_TRUE(st.find_by_psk_identity(as_bytes("bs-a-2")));
    ASSERT_TRUE(st.put(b));
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-a"))->endpoint, "b");
    ASSERT_TRUE(st.put(typical_bootstrap_config("a", lwm2m::test::bs_nosec("a"))));
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-a-2")), nullptr);
}

TYPED_TEST(BootstrapStoreContract, RpkAndCertificateIndexes) {
    auto& st = this->st();
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
    SecurityInfo z = x;
    z.endpoint = "z";
    z.x509_common_name = "x";
    EXPECT_EQ(st.put(typical_bootstrap_config("z", z)).error(),
              make_error_code(ConfigErrc::conflict));
}

TYPED_TEST(BootstrapStoreContract, RemoveAndSnapshotsOutliveReplacement) {
    auto& st = this->st();
    ASSERT_TRUE(st.put(typical_bootstrap_config("a")));
    auto snap = st.find("a");
    auto c2 = typical_bootstrap_config("a");
    c2.accounts.servers.at(0).resources[1] = dm::Resource::single(1, dm::Value::integer(999));
    ASSERT_TRUE(st.put(c2));
    EXPECT_EQ(snap->accounts.servers.at(0).lifetime(), 300);
    EXPECT_EQ(st.find("a")->accounts.servers.at(0).lifetime(), 999);
    ASSERT_TRUE(st.remove("a"));
    EXPECT_EQ(st.find("a"), nullptr);
    EXPECT_EQ(st.find_by_psk_identity(as_bytes("bs-a")), nullptr);
    EXPECT_EQ(st.remove("a").error(), make_error_code(ConfigErrc::not_found));
}

TYPED_TEST(BootstrapStoreContract, ListPagesInEndpointOrderWithoutSecrets) {
    auto& st = this->st();
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
}

TYPED_TEST(BootstrapStoreContract, ConcurrentReadersAndWriter) {
    auto& st = this->st();
    ASSERT_TRUE(st.put(typical_bootstrap_config("ep-0")));
    std::atomic<long> found{0};
    std::thread reader([&] {
        for (int i = 0; i < 5000; ++i)
            if (auto s = st.find_by_psk_identity(as_bytes("bs-ep-0")))
                found += s->endpoint == "ep-0";
    });
    for (int i = 1; i < 50; ++i) {
        ASSERT_TRUE(st.put(typical_bootstrap_config("ep-" + std::to_string(i))));
        ASSERT_TRUE(st.put(typical_bootstrap_config("ep-0")));
    }
    reader.join();
    EXPECT_EQ(st.size(), 50u);
    EXPECT_EQ(found.load(), 5000);
}

// ---------------------------------------------------------------- SQLite only

std::string data_files(const test::TempDir& dir) {
    std::string all;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        if (e.path().filename() == "secret.key") continue;
        all += test::read_file(e.path().string());
    }
    return all;
}

TEST(SqliteBootstrapConfigStore, ReopenReloadsEveryConfiguration) {
    SqliteImpl impl;
    for (int i = 0; i < 20; ++i)
        ASSERT_TRUE(impl.store().put(typical_bootstrap_config("ep-" + std::to_string(i))));
    ASSERT_TRUE(impl.store().remove("ep-3"));
    impl.reopen();
    EXPECT_EQ(impl.store().size(), 19u);
    EXPECT_EQ(impl.store().find("ep-3"), nullptr);
    auto c = impl.store().find_by_psk_identity(as_bytes("bs-ep-7"));
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, typical_bootstrap_config("ep-7")); // keys included
}

TEST(SqliteBootstrapConfigStore, KeysAreSealedInTheDatabase) {
    SqliteImpl impl;
    ASSERT_TRUE(impl.store().put(typical_bootstrap_config("leak")));
    const Bytes dm_key = key_for("dm-key-leak");
    const Bytes bs_key = key_for("bs-key-leak");
    for (int pass = 0; pass < 2; ++pass) {
        const std::string bytes = data_files(impl.dir_);
        EXPECT_NE(bytes.find("bs-leak"), std::string::npos); // the identity column is there
        for (const Bytes& k : {dm_key, bs_key}) {
            EXPECT_EQ(bytes.find(as_string_view(k)), std::string::npos);
            EXPECT_EQ(bytes.find(to_hex(k)), std::string::npos);
        }
        impl.bootstrap_.reset(); // checkpoint on close: the main file too
        impl.stores_.reset();
    }
}

TEST(SqliteBootstrapConfigStore, AnotherKeyFileIsADecryptError) {
    test::TempDir dir;
    {
        auto s = SqliteStores::open(dir.path());
        ASSERT_TRUE(s);
        auto b = SqliteBootstrapConfigStore::open(*(*s)->open_connection(), (*s)->secret_box());
        ASSERT_TRUE(b);
        ASSERT_TRUE((*b)->put(typical_bootstrap_config("a")));
    }
    auto s = SqliteStores::open(dir.path());
    ASSERT_TRUE(s);
    auto other = SecretBox::from_key(SecretBytes(key_for("another key", 32)));
    ASSERT_TRUE(other);
    auto b = SqliteBootstrapConfigStore::open(*(*s)->open_connection(), *other);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error(), make_error_code(Errc::decrypt_failed));
}

} // namespace
} // namespace lwm2m::store
