// A small RAII layer over SQLite 3 (Debian libsqlite3-dev), the servers' embedded store.
//
//   auto db = Database::open(path, {});            // WAL, foreign keys, busy timeout
//   LWM2M_TRY_VOID(db->migrate(migrations));       // schema versions in PRAGMA user_version
//   auto st = db->prepare("INSERT INTO t(a, b) VALUES(?1, ?2)");
//   st->bind(1, 42); st->bind(2, "text"); LWM2M_TRY_VOID(st->run());
//
// Durability: WAL with synchronous=NORMAL survives a crash of the process (kill -9: the WAL is in
// the OS page cache); synchronous=FULL also survives a power loss at the cost of an fsync per
// commit. Commits are grouped by CommitQueue (commit_queue.hpp), so FULL costs one fsync per
// batch, not per change.
//
// One Database belongs to one thread at a time (SQLITE_OPEN_NOMUTEX: no locking inside SQLite).
// Errors: lwm2m::store::Errc (store/errc.hpp, category "lwm2m.store"); messages never contain bound
// values (they may hold secrets), only SQLite's own text about the statement.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/store/errc.hpp>

struct sqlite3;
struct sqlite3_stmt;

namespace lwm2m::store {

enum class Synchronous : std::uint8_t { normal, full };

struct DatabaseOptions {
    Synchronous synchronous = Synchronous::normal;
    /// How long a writer waits for a lock held by another connection.
    int busy_timeout_ms = 5000;
    /// Open an existing file only (fail with open_failed when missing).
    bool must_exist = false;
    /// File mode of a newly created database (and its -wal/-shm files through the umask of 077
    /// applied while opening).
    unsigned mode = 0600;
};

/// One schema step: applied in order when PRAGMA user_version < version.
struct Migration {
    int version;
    std::string_view sql;
};

class Statement;

class Database {
public:
    /// Opens (or creates) the database at `path` (":memory:" for tests) in WAL mode.
    /// Errors: open_failed, corrupt, io_error, busy.
    [[nodiscard]] static Result<Database> open(const std::string& path,
                                               const DatabaseOptions& options = {});
    Database(Database&&) noexcept;
    Database& operator=(Database&&) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database();

    /// Runs one or more statements without results. Errors: see the class comment.
    [[nodiscard]] Result<void> exec(std::string_view sql);
    /// Compiles a statement. Errors: sql_error.
    [[nodiscard]] Result<Statement> prepare(std::string_view sql);
    /// Applies the migrations whose version is above PRAGMA user_version, each in its own
    /// transaction with the user_version update. Errors: newer_schema when the database's
    /// version is above the highest migration; sql_error (the step is rolled back).
    [[nodiscard]] Result<void> migrate(std::span<const Migration> migrations);
    [[nodiscard]] Result<int> user_version();

    [[nodiscard]] Result<void> begin(); ///< BEGIN IMMEDIATE (takes the write lock now)
    [[nodiscard]] Result<void> commit();
    void rollback() noexcept; ///< no-op when no transaction is open
    [[nodiscard]] bool in_transaction() const noexcept;

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    [[nodiscard]] std::int64_t changes() const noexcept;
    [[nodiscard]] std::int64_t last_insert_rowid() const noexcept;
    [[nodiscard]] sqlite3* handle() const noexcept { return db_; }

private:
    explicit Database(sqlite3* db) noexcept
        : db_(db) {}
    sqlite3* db_ = nullptr;
};

/// A compiled statement. Bind parameters are 1-based (SQLite's ?N). Text and blob values are
/// copied by SQLite at bind time (SQLITE_TRANSIENT), so temporaries are fine.
class Statement {
public:
    Statement(Statement&&) noexcept;
    Statement& operator=(Statement&&) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    Statement& bind(int index, std::int64_t v);
    Statement& bind(int index, int v) { return bind(index, static_cast<std::int64_t>(v)); }
    Statement& bind(int index, double v);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, BytesView blob);
    Statement& bind_null(int index);
    template <class T>
    Statement& bind(int index, const std::optional<T>& v) {
        return v ? bind(index, *v) : bind_null(index);
    }

    /// Advances to the next row: true when a row is available, false when done.
    /// Errors: see Database. A bind error (out of range index) shows here as sql_error.
    [[nodiscard]] Result<bool> step();
    /// Runs a statement that returns no rows (step to the end), then resets it.
    [[nodiscard]] Result<void> run();
    /// Resets for re-execution and clears the bindings.
    void reset() noexcept;

    [[nodiscard]] bool is_null(int col) const noexcept;
    [[nodiscard]] std::int64_t int64(int col) const noexcept;
    [[nodiscard]] double real(int col) const noexcept;
    /// Valid until the next step/reset.
    [[nodiscard]] std::string_view text(int col) const noexcept;
    /// Valid until the next step/reset.
    [[nodiscard]] BytesView blob(int col) const noexcept;

private:
    friend class Database;
    Statement(sqlite3* db, sqlite3_stmt* st) noexcept
        : db_(db)
        , st_(st) {}
    sqlite3* db_ = nullptr;
    sqlite3_stmt* st_ = nullptr;
    int bind_error_ = 0; ///< first failing sqlite3_bind_* code, reported by step()
};

/// RAII transaction: BEGIN IMMEDIATE in begin(), ROLLBACK in the destructor unless committed.
class Transaction {
public:
    [[nodiscard]] static Result<Transaction> begin(Database& db);
    Transaction(Transaction&& o) noexcept
        : db_(o.db_) {
        o.db_ = nullptr;
    }
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    ~Transaction() {
        if (db_) db_->rollback();
    }
    [[nodiscard]] Result<void> commit();

private:
    explicit Transaction(Database& db)
        : db_(&db) {}
    Database* db_;
};

} // namespace lwm2m::store
