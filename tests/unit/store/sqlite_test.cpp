// store::Database / Statement / Transaction over SQLite: binding, migrations, errors, file mode.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include <lwm2m/store/sqlite.hpp>

namespace lwm2m::store {
namespace {

class TempDir {
public:
    TempDir() {
        path_ = std::filesystem::temp_directory_path() /
                ("lwm2m_sqlite_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const char* name) const { return (path_ / name).string(); }

private:
    static inline int counter_ = 0;
    std::filesystem::path path_;
};

constexpr Migration schema[] = {
    {1, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, v REAL, b BLOB)"},
    {2, "ALTER TABLE t ADD COLUMN extra INTEGER"},
};

TEST(Sqlite, BindsAndReadsEveryTypeIncludingEmptyBlobsAndNul) {
    auto db = Database::open(":memory:");
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->migrate(schema));
    auto ins = db->prepare("INSERT INTO t(name, v, b, extra) VALUES(?1, ?2, ?3, ?4)");
    ASSERT_TRUE(ins);
    const Bytes blob{std::byte{0}, std::byte{1}, std::byte{0}};
    ins->bind(1, std::string_view("a\0b", 3)).bind(2, 2.5).bind(3, BytesView(blob)).bind(4, 7);
    ASSERT_TRUE(ins->run());
    ins->bind(1, "empty").bind(2, 0.0).bind(3, BytesView{}).bind_null(4);
    ASSERT_TRUE(ins->run());

    auto sel = db->prepare("SELECT name, v, b, extra FROM t ORDER BY id");
    ASSERT_TRUE(sel);
    auto row = sel->step();
    ASSERT_TRUE(row && *row);
    EXPECT_EQ(sel->text(0), std::string_view("a\0b", 3));
    EXPECT_DOUBLE_EQ(sel->real(1), 2.5);
    EXPECT_EQ(Bytes(sel->blob(2).begin(), sel->blob(2).end()), blob);
    EXPECT_EQ(sel->int64(3), 7);
    row = sel->step();
    ASSERT_TRUE(row && *row);
    EXPECT_FALSE(sel->is_null(2)); // an empty blob is a blob, not NULL
    EXPECT_TRUE(sel->blob(2).empty());
    EXPECT_TRUE(sel->is_null(3));
    row = sel->step();
    ASSERT_TRUE(row);
    EXPECT_FALSE(*row);
}

TEST(Sqlite, ConstraintAndSqlErrorsAreTyped) {
    auto db = Database::open(":memory:");
    ASSERT_TRUE(db && db->migrate(schema));
    ASSERT_TRUE(db->exec("INSERT INTO t(name) VALUES('x')"));
    auto dup = db->exec("INSERT INTO t(name) VALUES('x')");
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error(), make_error_code(Errc::constraint));
    auto bad = db->prepare("SELEC nonsense");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), make_error_code(Errc::sql_error));
    auto st = db->prepare("SELECT ?1");
    ASSERT_TRUE(st);
    st->bind(5, 1); // out of range: reported by step()
    auto r = st->step();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::sql_error));
}

TEST(Sqlite, MigrationsRunOnceAndRefuseANewerSchema) {
    TempDir dir;
    const auto path = dir.file("db.sqlite");
    {
        auto db = Database::open(path);
        ASSERT_TRUE(db && db->migrate(std::span(schema, 1)));
        EXPECT_EQ(*db->user_version(), 1);
        ASSERT_TRUE(db->migrate(schema)); // only step 2 runs
        EXPECT_EQ(*db->user_version(), 2);
        ASSERT_TRUE(db->migrate(schema)); // nothing to do (step 1 would fail: table exists)
    }
    auto db = Database::open(path);
    ASSERT_TRUE(db);
    auto older = db->migrate(std::span(schema, 1));
    ASSERT_FALSE(older);
    EXPECT_EQ(older.error(), make_error_code(Errc::newer_schema));
}

TEST(Sqlite, AFailedMigrationStepIsRolledBack) {
    auto db = Database::open(":memory:");
    ASSERT_TRUE(db);
    constexpr Migration broken[] = {{1, "CREATE TABLE a(x); CREATE TABLE a(x)"}};
    ASSERT_FALSE(db->migrate(broken));
    EXPECT_EQ(*db->user_version(), 0);
    EXPECT_FALSE(db->in_transaction());
    EXPECT_TRUE(db->exec("CREATE TABLE a(x)")); // the first CREATE was rolled back too
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
    auto db = Database::open(":memory:");
    ASSERT_TRUE(db && db->migrate(schema));
    {
        auto tx = Transaction::begin(*db);
        ASSERT_TRUE(tx);
        ASSERT_TRUE(db->exec("INSERT INTO t(name) VALUES('gone')"));
    }
    {
        auto tx = Transaction::begin(*db);
        ASSERT_TRUE(tx);
        ASSERT_TRUE(db->exec("INSERT INTO t(name) VALUES('kept')"));
        ASSERT_TRUE(tx->commit());
    }
    auto st = db->prepare("SELECT group_concat(name) FROM t");
    ASSERT_TRUE(st && st->step());
    EXPECT_EQ(st->text(0), "kept");
}

TEST(Sqlite, NewFilesAreOwnerOnlyAndWalIsOn) {
    TempDir dir;
    const auto path = dir.file("db.sqlite");
    auto db = Database::open(path);
    ASSERT_TRUE(db && db->migrate(schema));
    ASSERT_TRUE(db->exec("INSERT INTO t(name) VALUES('x')"));
    struct ::stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto mode = db->prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode && mode->step());
    EXPECT_EQ(mode->text(0), "wal");
}

TEST(Sqlite, AFileThatIsNotADatabaseIsReportedAsCorrupt) {
    TempDir dir;
    const auto path = dir.file("junk.sqlite");
    std::ofstream(path) << std::string(4096, 'x');
    auto db = Database::open(path);
    ASSERT_FALSE(db);
    EXPECT_EQ(db.error(), make_error_code(Errc::corrupt));
    auto missing = Database::open(dir.file("none.sqlite"), {.must_exist = true});
    ASSERT_FALSE(missing);
}

} // namespace
} // namespace lwm2m::store
