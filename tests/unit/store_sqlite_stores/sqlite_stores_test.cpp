// SQLite-specific behaviour of the stores: the data directory, reopen-and-reload, secrets at rest,
// wrong key file, corrupt database, write-through, the bootstrap outcome transaction and commits
// through CommitQueue.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/commit_queue.hpp>
#include <lwm2m/store/sqlite_stores.hpp>

#include "temp_dir.hpp"

namespace lwm2m::store {
namespace sqlite_stores_test { // named: unity builds join the files

using test::bytes;
using test::read_file;
using test::TempDir;

RegistrationRecord reg(std::string ep, std::string loc) {
    RegistrationRecord r;
    r.endpoint = std::move(ep);
    r.location = std::move(loc);
    r.lwm2m_version = "1.2";
    r.lifetime_s = 86400;
    r.binding = "U";
    r.object_links = "</1/0>,</3/0>";
    r.peer = PeerAddr::v4(10, 1, 2, 3, 56830);
    r.registered_at = 1'700'000'000;
    r.updated_at = 1'700'000'500;
    return r;
}

SecurityInfo psk(std::string ep, std::string identity, Bytes key) {
    SecurityInfo i;
    i.endpoint = std::move(ep);
    i.mode = SecurityMode::psk;
    i.psk_identity = to_bytes(identity);
    i.psk_key = SecretBytes(key);
    return i;
}

std::string to_base64(BytesView b) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < b.size(); i += 3) {
        const unsigned v = (std::to_integer<unsigned>(b[i]) << 16) |
                           (std::to_integer<unsigned>(b[i + 1]) << 8) |
                           std::to_integer<unsigned>(b[i + 2]);
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
    }
    return out; // the full groups are enough to find the key
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

/// Every file of the data directory (database, WAL, shm, key file excluded) concatenated.
std::string data_files(const TempDir& dir) {
    std::string all;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
        if (e.path().filename() != "secret.key") all += read_file(e.path().string());
    return all;
}

TEST(SqliteStores, CreatesTheDataDirectoryWithPrivateFiles) {
    TempDir dir;
    const std::string data = dir.path() + "/data";
    auto s = SqliteStores::open(data);
    ASSERT_TRUE(s) << s.error().message();
    struct stat st {};
    ASSERT_EQ(::stat(data.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700U);
    ASSERT_EQ(::stat((data + "/lwm2m.db").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0U);
    ASSERT_EQ(::stat((data + "/secret.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0U);
    EXPECT_EQ(*(*s)->database().user_version(), 1);
    EXPECT_EQ((*s)->database_path(), data + "/lwm2m.db");
}

TEST(SqliteStores, ReopenReloadsEverything) {
    TempDir dir;
    ObservationRecord o;
    o.endpoint = "ep-1";
    o.id = 42;
    o.token = bytes({1, 2, 3});
    o.paths = {"/3/0"};
    {
        auto s = SqliteStores::open(dir.path());
        ASSERT_TRUE(s);
        std::vector<Change> batch;
        for (int i = 0; i < 100; ++i)
            batch.push_back({static_cast<std::uint64_t>(i + 1),
                             RegistrationPut{reg("ep-" + std::to_string(i), std::to_string(i))}});
        batch.push_back({101, ObservationPut{o}});
        ASSERT_TRUE((*s)->registrations().commit(batch));
        ASSERT_TRUE((*s)->security().put(psk("ep-1", "id-1", bytes({9, 8, 7, 6, 5, 4, 3, 2}))));
        EventRecord e;
        e.endpoint = "ep-1";
        e.kind = "registered";
        ASSERT_TRUE((*s)->events().append(e));
    }
    auto s = SqliteStores::open(dir.path());
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(*(*s)->registrations().size(), 100U);
    std::size_t regs = 0;
    std::vector<ObservationRecord> obs;
    ASSERT_TRUE((*s)->registrations().load([&](RegistrationRecord&&) { ++regs; },
                                           [&](ObservationRecord&& r) { obs.push_back(r); }));
    EXPECT_EQ(regs, 100U);
    ASSERT_EQ(obs.size(), 1U);
    EXPECT_EQ(obs[0], o);
    // Deadline and location survive (the restarted engine continues the registration).
    auto r = (*s)->registrations().find("ep-7");
    ASSERT_TRUE(r && *r);
    EXPECT_EQ(**r, reg("ep-7", "7"));
    const auto* sec = (*s)->security().find_by_psk_identity(to_bytes("id-1"));
    ASSERT_NE(sec, nullptr);
    EXPECT_TRUE(sec->psk_key.equals(bytes({9, 8, 7, 6, 5, 4, 3, 2})));
    auto ev = (*s)->events().read({});
    ASSERT_TRUE(ev);
    ASSERT_EQ(ev->size(), 1U);
    EXPECT_EQ((*ev)[0].kind, "registered");
    // Sequence numbers continue after a restart.
    auto next = (*s)->events().append({});
    ASSERT_TRUE(next);
    EXPECT_GT(*next, (*ev)[0].seq);
}

TEST(SqliteEventLog, RetentionHoldsAcrossReopens) {
    TempDir dir;
    SqliteStoresOptions o;
    o.event_log_max_rows = 10; // pruned every 10/64 + 1 = 1 append beyond the bound
    auto rows = [](SqliteStores& s) {
        auto st = s.database().prepare("SELECT count(*) FROM events");
        EXPECT_TRUE(st && *st->step());
        return st->int64(0);
    };
    for (int round = 0; round < 3; ++round) {
        auto s = SqliteStores::open(dir.path(), o);
        ASSERT_TRUE(s);
        for (int i = 0; i < 15; ++i) {
            EventRecord e;
            e.kind = "k" + std::to_string(round * 100 + i);
            ASSERT_TRUE((*s)->events().append(e));
            EXPECT_LE(rows(**s), 11);
        }
        auto all = (*s)->events().read({});
        ASSERT_TRUE(all);
        ASSERT_EQ(all->size(), 10U);
        EXPECT_EQ(all->back().kind, "k" + std::to_string(round * 100 + 14));
        EXPECT_EQ(*(*s)->events().size(), 10U);
    }
}

TEST(SqliteStores, SecretsAreNeverReadableInTheDatabaseFiles) {
    TempDir dir;
    const Bytes key = bytes({0x5e, 0xc7, 0xe7, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                             0x99, 0xaa, 0xbb, 0xcc});
    {
        auto s = SqliteStores::open(dir.path());
        ASSERT_TRUE(s);
        ASSERT_TRUE((*s)->security().put(psk("dev", "dev-identity", key)));
        BootstrapOutcome out;
        out.endpoint = "dev2";
        out.success = true;
        std::vector<SecurityInfo> creds{psk("dev2", "dev2-identity", key)};
        ASSERT_TRUE((*s)->commit_bootstrap_outcome(out, creds));
        // Checked while open (the WAL holds the rows) and after close (checkpointed).
        const std::string bytes = data_files(dir);
        EXPECT_NE(bytes.find("dev-identity"), std::string::npos); // the test can see rows
        EXPECT_EQ(bytes.find(as_string_view(key)), std::string::npos);
        EXPECT_EQ(lower(bytes).find(to_hex(key)), std::string::npos);
        EXPECT_EQ(bytes.find(to_base64(key)), std::string::npos);
    }
    const std::string bytes = data_files(dir);
    EXPECT_NE(bytes.find("dev2-identity"), std::string::npos);
    EXPECT_EQ(bytes.find(as_string_view(key)), std::string::npos);
    EXPECT_EQ(lower(bytes).find(to_hex(key)), std::string::npos);
    EXPECT_EQ(bytes.find(to_base64(key)), std::string::npos);
}

TEST(SqliteStores, AnotherKeyFileIsAClearDecryptError) {
    TempDir dir;
    {
        auto s = SqliteStores::open(dir.path());
        ASSERT_TRUE(s);
        ASSERT_TRUE((*s)->security().put(psk("dev", "id", bytes({1, 2, 3, 4}))));
    }
    // Replace the key file by another valid one.
    std::filesystem::remove(dir.file("secret.key"));
    {
        auto other = SecretBox::load_or_create(dir.file("secret.key"));
        ASSERT_TRUE(other);
    }
    auto s = SqliteStores::open(dir.path());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), make_error_code(Errc::decrypt_failed));
}

TEST(SqliteStores, ARowCopiedToAnotherEndpointDoesNotOpen) {
    TempDir dir;
    {
        auto s = SqliteStores::open(dir.path());
        ASSERT_TRUE(s);
        ASSERT_TRUE((*s)->security().put(psk("a", "id-a", bytes({1, 2, 3, 4}))));
        ASSERT_TRUE((*s)->security().put(psk("b", "id-b", bytes({5, 6, 7, 8}))));
        // The key is bound to its row's endpoint (SecretBox context).
        ASSERT_TRUE((*s)->database().exec(
            "UPDATE security SET psk_key=(SELECT psk_key FROM security WHERE endpoint='a') "
            "WHERE endpoint='b'"));
    }
    auto s = SqliteStores::open(dir.path());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), make_error_code(Errc::decrypt_failed));
}

TEST(SqliteStores, ACorruptDatabaseIsAnError) {
    TempDir dir;
    {
        std::ofstream f(dir.file("lwm2m.db"), std::ios::binary);
        f << std::string(8192, 'x');
    }
    ::chmod(dir.file("lwm2m.db").c_str(), 0600);
    auto s = SqliteStores::open(dir.path());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), make_error_code(Errc::corrupt));
}

TEST(SqliteStores, ADamagedPageIsAnErrorNotACrash) {
    TempDir dir;
    {
        auto s = SqliteStores::open(dir.path());
        ASSERT_TRUE(s);
        std::vector<Change> batch;
        for (int i = 0; i < 2000; ++i)
            batch.push_back({1, RegistrationPut{reg("ep-" + std::to_string(i), "x")}});
        ASSERT_TRUE((*s)->registrations().commit(batch));
    }
    // Overwrite pages after the header (the schema page 1 stays readable).
    {
        std::fstream f(dir.file("lwm2m.db"), std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(4096 * 2);
        const std::string junk(4096 * 8, '\xa5');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    auto s = SqliteStores::open(dir.path());
    if (!s) {
        EXPECT_EQ(s.error(), make_error_code(Errc::corrupt));
        return;
    }
    std::size_t n = 0;
    auto r = (*s)->registrations().load([&](RegistrationRecord&&) { ++n; }, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::corrupt));
}

TEST(SqliteStores, ANewerSchemaIsRefused) {
    TempDir dir;
    {
        auto s = SqliteStores::open(dir.path());
        ASSERT_TRUE(s);
        ASSERT_TRUE((*s)->database().exec("PRAGMA user_version=99"));
    }
    auto s = SqliteStores::open(dir.path());
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), make_error_code(Errc::newer_schema));
}

TEST(SqliteSecurityStore, AFailedWriteLeavesTheIndexUnchanged) {
    TempDir dir;
    auto s = SqliteStores::open(dir.path());
    ASSERT_TRUE(s);
    auto& sec = (*s)->security();
    ASSERT_TRUE(sec.put(psk("a", "id-a", bytes({1, 2, 3}))));
    ASSERT_TRUE(
        (*s)->database().exec("CREATE TEMP TRIGGER no_writes BEFORE UPDATE ON main.security BEGIN "
                              "SELECT RAISE(ABORT, 'refused'); END; "
                              "CREATE TEMP TRIGGER no_deletes BEFORE DELETE ON main.security BEGIN "
                              "SELECT RAISE(ABORT, 'refused'); END; "
                              "CREATE TEMP TRIGGER no_inserts BEFORE INSERT ON main.security BEGIN "
                              "SELECT RAISE(ABORT, 'refused'); END;"));
    EXPECT_FALSE(sec.put(psk("a", "id-a2", bytes({4, 5, 6}))));
    EXPECT_FALSE(sec.put(psk("b", "id-b", bytes({4, 5, 6}))));
    EXPECT_FALSE(sec.remove("a"));
    ASSERT_NE(sec.find("a"), nullptr);
    EXPECT_NE(sec.find_by_psk_identity(to_bytes("id-a")), nullptr);
    EXPECT_EQ(sec.find_by_psk_identity(to_bytes("id-a2")), nullptr);
    EXPECT_EQ(sec.find("b"), nullptr);
    EXPECT_EQ(sec.size(), 1U);
}

TEST(SqliteSecurityStore, BulkPutsAreOneTransactionAllOrNone) {
    TempDir dir;
    {
        auto s = SqliteStores::open(dir.path());
        ASSERT_TRUE(s);
        auto& sec = (*s)->security();
        ASSERT_TRUE(sec.put(psk("a", "taken", bytes({1}))));
        // The store checks the whole batch itself: a conflict in the last record stores none.
        std::vector<SecurityInfo> batch{psk("b", "id-b", bytes({2})),
                                        psk("c", "taken", bytes({3}))};
        std::size_t stored = 7;
        std::string why;
        EXPECT_FALSE(sec.put_all(batch, &stored, &why));
        EXPECT_EQ(stored, 0U);
        EXPECT_EQ(sec.find("b"), nullptr);
        // A write failing in the middle of the transaction leaves nothing either.
        ASSERT_TRUE((*s)->database().exec(
            "CREATE TEMP TRIGGER no_c BEFORE INSERT ON main.security WHEN NEW.endpoint = 'c' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END;"));
        batch = {psk("b", "id-b", bytes({2})), psk("c", "id-c", bytes({3}))};
        EXPECT_FALSE(sec.put_all(batch, &stored, &why));
        EXPECT_EQ(sec.find("b"), nullptr);
        EXPECT_EQ(sec.find_by_psk_identity(to_bytes("id-b")), nullptr);
        ASSERT_TRUE((*s)->database().exec("DROP TRIGGER temp.no_c"));
        batch.clear();
        for (int i = 0; i < 1000; ++i)
            batch.push_back(psk("n" + std::to_string(i), "id-" + std::to_string(i), bytes({4})));
        ASSERT_TRUE(sec.put_all(batch, &stored, &why)) << why;
        EXPECT_EQ(stored, 1000U);
    }
    // Durable: every record is there after reopening, none of the refused ones.
    auto s = SqliteStores::open(dir.path());
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)->security().size(), 1001U);
    EXPECT_EQ((*s)->security().find("b"), nullptr);
    EXPECT_NE((*s)->security().find_by_psk_identity(to_bytes("id-999")), nullptr);
}

TEST(SqliteStores, BootstrapOutcomeAndCredentialsCommitTogether) {
    TempDir dir;
    {
        auto s = SqliteStores::open(dir.path());
        ASSERT_TRUE(s);
        ASSERT_TRUE((*s)->security().put(psk("old", "taken", bytes({1}))));
        BootstrapOutcome out;
        out.endpoint = "dev";
        out.time = 1234;
        out.success = true;
        out.session = 7;
        out.detail = "finished";
        std::vector<SecurityInfo> creds{psk("dev", "dev-id", bytes({1, 2, 3, 4}))};
        auto id = (*s)->commit_bootstrap_outcome(out, creds);
        ASSERT_TRUE(id);
        EXPECT_NE((*s)->security().find_by_psk_identity(to_bytes("dev-id")), nullptr);

        // A conflicting credential: neither the outcome nor the credentials are written.
        std::string why;
        std::vector<SecurityInfo> bad{psk("dev", "dev-id-2", bytes({5})),
                                      psk("dev3", "taken", bytes({1}))};
        auto r = (*s)->commit_bootstrap_outcome(out, bad, &why);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), make_error_code(Errc::conflict));
        EXPECT_EQ(why, "record 1 (endpoint 'dev3'): the PSK identity is bound to another endpoint");
        EXPECT_EQ((*s)->security().find_by_psk_identity(to_bytes("dev-id-2")), nullptr);

        // A failing outcome insert rolls the credentials back too.
        ASSERT_TRUE((*s)->database().exec(
            "CREATE TEMP TRIGGER no_outcomes BEFORE INSERT ON main.bootstrap_outcomes BEGIN "
            "SELECT RAISE(ABORT, 'refused'); END;"));
        std::vector<SecurityInfo> next{psk("dev", "dev-id-3", bytes({6}))};
        ASSERT_FALSE((*s)->commit_bootstrap_outcome(out, next));
        EXPECT_EQ((*s)->security().find_by_psk_identity(to_bytes("dev-id-3")), nullptr);
        EXPECT_NE((*s)->security().find_by_psk_identity(to_bytes("dev-id")), nullptr);
    }
    auto s = SqliteStores::open(dir.path());
    ASSERT_TRUE(s);
    auto outcomes = (*s)->bootstrap_outcomes("dev");
    ASSERT_TRUE(outcomes);
    ASSERT_EQ(outcomes->size(), 1U);
    EXPECT_EQ((*outcomes)[0].detail, "finished");
    EXPECT_EQ((*outcomes)[0].session, 7U);
    EXPECT_TRUE((*outcomes)[0].success);
    const auto* dev = (*s)->security().find("dev");
    ASSERT_NE(dev, nullptr);
    EXPECT_EQ(dev->psk_identity, to_bytes("dev-id"));
    EXPECT_EQ((*s)->bootstrap_outcomes("")->size(), 1U);
}

// The engine's journal goes to a writer thread (CommitQueue) on a second connection; the loop
// thread's store sees every unit once its completion was reported.
TEST(SqliteStores, RegistrationsCommittedThroughCommitQueue) {
    TempDir dir;
    auto s = SqliteStores::open(dir.path());
    ASSERT_TRUE(s);
    auto conn = (*s)->open_connection();
    ASSERT_TRUE(conn) << conn.error().message();
    auto queue = CommitQueue::start(std::move(*conn));
    auto writer = std::make_shared<RegistrationWriter>(); // statements compiled once
    std::atomic<std::uint64_t> persisted{0};
    std::atomic<int> failures{0};
    std::uint64_t seq = 0;
    for (int unit = 0; unit < 50; ++unit) {
        std::vector<Change> changes; // what Engine::take_changes() returns for one iteration
        for (int i = 0; i < 20; ++i) {
            ++seq;
            changes.push_back({seq, RegistrationPut{reg("ep-" + std::to_string(seq % 700),
                                                        std::to_string(seq))}});
        }
        queue->submit(
            [writer, c = std::move(changes)](Database& db) { return writer->apply(db, c); },
            [&persisted, &failures, last = seq](Result<void> r) {
                if (!r) ++failures;
                // Engine::on_persisted(now, last, r) would be posted to the loop here.
                persisted = std::max<std::uint64_t>(persisted, last);
            });
    }
    queue->flush();
    EXPECT_EQ(persisted.load(), seq);
    EXPECT_EQ(failures.load(), 0);
    EXPECT_GE(queue->stats().units, 50U);
    EXPECT_EQ(*(*s)->registrations().size(), 700U);
    auto r = (*s)->registrations().find("ep-0");
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->location, "700");
    // A failing unit (a change of a later version of the schema) does not take the others down.
    queue->submit([](Database& db) { return db.exec("INSERT INTO nowhere VALUES(1)"); },
                  [&failures](Result<void> res) {
                      if (!res) ++failures;
                  });
    std::vector<Change> last{{seq + 1, RegistrationRemove{"ep-0"}}};
    queue->submit([last](Database& db) { return apply_registration_changes(db, last); },
                  [](Result<void>) {});
    queue->flush();
    EXPECT_EQ(failures.load(), 1);
    EXPECT_EQ(*(*s)->registrations().size(), 699U);
}

} // namespace sqlite_stores_test
} // namespace lwm2m::store

namespace lwm2m::store {
namespace wal_checkpointer_test { // named: unity builds join the files

using test::TempDir;

std::uintmax_t file_size(const TempDir& dir, const char* name) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(std::filesystem::path(dir.path()) / name, ec);
    return ec ? 0 : n;
}

void append_rows(SqliteStores& s, int n) {
    const std::string detail(2000, 'd');
    for (int i = 0; i < n; ++i)
        ASSERT_TRUE(s.events().append({0, i, "ep", "updated", detail}));
}

TEST(WalCheckpointer, CheckpointsRunOffTheWritingConnection) {
    TempDir dir;
    auto s = SqliteStores::open(dir.path(), {.event_log_max_rows = 1000000});
    ASSERT_TRUE(s);
    ASSERT_TRUE(WalCheckpointer::disable_auto_checkpoint((*s)->database()));
    // ~6 MB of rows: without automatic checkpoints the WAL holds them all (SQLite's default
    // would have checkpointed at 1000 pages, ~4 MB, inside one of these commits).
    append_rows(**s, 3000);
    const auto wal_before = file_size(dir, "lwm2m.db-wal");
    EXPECT_GT(wal_before, 5'000'000U);
    EXPECT_LT(file_size(dir, "lwm2m.db"), 1'000'000U);

    auto db = (*s)->open_connection();
    ASSERT_TRUE(db);
    auto c = WalCheckpointer::start(std::move(*db), std::chrono::milliseconds(10));
    for (int i = 0; i < 500 && c->runs() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_GE(c->runs(), 1U);
    EXPECT_EQ(c->failures(), 0U);
    // The rows reached the database file, and the writer starts the WAL over instead of
    // growing it.
    EXPECT_GT(file_size(dir, "lwm2m.db"), 5'000'000U);
    append_rows(**s, 3000);
    EXPECT_LT(file_size(dir, "lwm2m.db-wal"), wal_before + 1'000'000U);
    c.reset(); // a last checkpoint, then the thread stops
    EXPECT_GT(file_size(dir, "lwm2m.db"), 10'000'000U);
}

} // namespace wal_checkpointer_test
} // namespace lwm2m::store
