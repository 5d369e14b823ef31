#include <lwm2m/store/sqlite.hpp>

#include <algorithm>
#include <string>
#include <utility>

#include <sqlite3.h>
#include <sys/stat.h>

namespace lwm2m::store {
namespace {

Errc map_code(int rc) noexcept {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return Errc::busy;
    case SQLITE_CONSTRAINT:
        return Errc::constraint;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return Errc::corrupt;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return Errc::io_error;
    default:
        return Errc::sql_error;
    }
}

tl::unexpected<Error> fail_rc(int rc) {
    return lwm2m::fail(map_code(rc));
}

} // namespace

// --- Database -------------------------------------------------------------------------------

Result<Database> Database::open(const std::string& path, const DatabaseOptions& options) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (!options.must_exist) flags |= SQLITE_OPEN_CREATE;
    sqlite3* raw = nullptr;
    // The database, its -wal and -shm files hold secrets (sealed, but still): create them with
    // `options.mode` by narrowing the umask while SQLite creates them.
    const ::mode_t old_mask = ::umask(static_cast<::mode_t>(~options.mode & 0777));
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    ::umask(old_mask);
    if (rc != SQLITE_OK) {
        sqlite3_close_v2(raw);
        const Errc e = map_code(rc);
        return lwm2m::fail(e == Errc::sql_error ? Errc::open_failed : e);
    }
    Database db(raw);
    sqlite3_busy_timeout(raw, options.busy_timeout_ms);
    sqlite3_extended_result_codes(raw, 1);
    // journal_mode answers with a row; an in-memory database stays "memory".
    LWM2M_TRY_VOID(db.exec("PRAGMA journal_mode=WAL"));
    LWM2M_TRY_VOID(db.exec(options.synchronous == Synchronous::full ? "PRAGMA synchronous=FULL"
                                                                    : "PRAGMA synchronous=NORMAL"));
    LWM2M_TRY_VOID(db.exec("PRAGMA foreign_keys=ON"));
    // A first read tells a non-database file (SQLITE_NOTADB) before any caller uses it.
    LWM2M_TRY_VOID(db.exec("SELECT count(*) FROM sqlite_schema"));
    return db;
}

Database::Database(Database&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)) {}
Database& Database::operator=(Database&& o) noexcept {
    if (this != &o) {
        if (db_) sqlite3_close_v2(db_);
        db_ = std::exchange(o.db_, nullptr);
    }
    return *this;
}
Database::~Database() {
    if (db_) sqlite3_close_v2(db_);
}

Result<void> Database::exec(std::string_view sql) {
    // sqlite3_exec needs a NUL-terminated string.
    const std::string text(sql);
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return fail_rc(rc);
    return ok();
}

Result<Statement> Database::prepare(std::string_view sql) {
    sqlite3_stmt* st = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return fail_rc(rc);
    }
    return Statement(db_, st);
}

Result<int> Database::user_version() {
    LWM2M_TRY(st, prepare("PRAGMA user_version"));
    LWM2M_TRY(row, st.step());
    return row ? static_cast<int>(st.int64(0)) : 0;
}

Result<void> Database::migrate(std::span<const Migration> migrations) {
    LWM2M_TRY(current, user_version());
    int highest = 0;
    for (const auto& m : migrations)
        highest = std::max(highest, m.version);
    if (current > highest) return lwm2m::fail(Errc::newer_schema);
    for (const auto& m : migrations) {
        if (m.version <= current) continue;
        LWM2M_TRY(tx, Transaction::begin(*this));
        LWM2M_TRY_VOID(exec(m.sql));
        LWM2M_TRY_VOID(exec("PRAGMA user_version=" + std::to_string(m.version)));
        LWM2M_TRY_VOID(tx.commit());
        current = m.version;
    }
    return ok();
}

Result<void> Database::begin() {
    return exec("BEGIN IMMEDIATE");
}
Result<void> Database::commit() {
    return exec("COMMIT");
}
void Database::rollback() noexcept {
    if (in_transaction()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}
bool Database::in_transaction() const noexcept {
    return sqlite3_get_autocommit(db_) == 0;
}
std::int64_t Database::changes() const noexcept {
    return sqlite3_changes64(db_);
}
std::int64_t Database::last_insert_rowid() const noexcept {
    return sqlite3_last_insert_rowid(db_);
}

// --- Statement ------------------------------------------------------------------------------

Statement::Statement(Statement&& o) noexcept
    : db_(o.db_)
    , st_(std::exchange(o.st_, nullptr))
    , bind_error_(o.bind_error_) {}
Statement& Statement::operator=(Statement&& o) noexcept {
    if (this != &o) {
        sqlite3_finalize(st_);
        db_ = o.db_;
        st_ = std::exchange(o.st_, nullptr);
        bind_error_ = o.bind_error_;
    }
    return *this;
}
Statement::~Statement() {
    sqlite3_finalize(st_);
}

namespace {
void note(int& first_error, int rc) {
    if (rc != SQLITE_OK && first_error == 0) first_error = rc;
}
} // namespace

Statement& Statement::bind(int index, std::int64_t v) {
    note(bind_error_, sqlite3_bind_int64(st_, index, v));
    return *this;
}
Statement& Statement::bind(int index, double v) {
    note(bind_error_, sqlite3_bind_double(st_, index, v));
    return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
    note(bind_error_,
         sqlite3_bind_text64(st_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
}
Statement& Statement::bind(int index, BytesView blob) {
    // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
    static const std::byte empty{};
    note(bind_error_, sqlite3_bind_blob64(st_, index, blob.empty() ? &empty : blob.data(),
                                          blob.size(), SQLITE_TRANSIENT));
    return *this;
}
Statement& Statement::bind_null(int index) {
    note(bind_error_, sqlite3_bind_null(st_, index));
    return *this;
}

Result<bool> Statement::step() {
    if (bind_error_ != 0) {
        const int rc = std::exchange(bind_error_, 0);
        sqlite3_reset(st_);
        return fail_rc(rc);
    }
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(st_);
    return fail_rc(rc);
}

Result<void> Statement::run() {
    for (;;) {
        auto r = step();
        if (!r) {
            reset();
            return tl::unexpected(r.error());
        }
        if (!*r) break;
    }
    reset();
    return ok();
}

void Statement::reset() noexcept {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    bind_error_ = 0;
}

bool Statement::is_null(int col) const noexcept {
    return sqlite3_column_type(st_, col) == SQLITE_NULL;
}
std::int64_t Statement::int64(int col) const noexcept {
    return sqlite3_column_int64(st_, col);
}
double Statement::real(int col) const noexcept {
    return sqlite3_column_double(st_, col);
}
std::string_view Statement::text(int col) const noexcept {
    const auto* p = sqlite3_column_text(st_, col);
    const int n = sqlite3_column_bytes(st_, col);
    if (!p) return {};
    return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)};
}
BytesView Statement::blob(int col) const noexcept {
    const void* p = sqlite3_column_blob(st_, col);
    const int n = sqlite3_column_bytes(st_, col);
    if (!p) return {};
    return {static_cast<const std::byte*>(p), static_cast<std::size_t>(n)};
}

// --- Transaction ----------------------------------------------------------------------------

Result<Transaction> Transaction::begin(Database& db) {
    LWM2M_TRY_VOID(db.begin());
    return Transaction(db);
}
Result<void> Transaction::commit() {
    auto r = db_->commit();
    if (r) db_ = nullptr; // a failed COMMIT leaves the transaction open: the destructor rolls back
    return r;
}

} // namespace lwm2m::store
