// SQLite implementations of the server-side stores (registrations, security credentials, event
// log) and SqliteStores, which opens a data directory. Design, schema and figures: docs/store.md.
//
// Data directory layout (created with mode 0700 when missing):
//
//   <dir>/lwm2m.db       the database (WAL mode; lwm2m.db-wal / lwm2m.db-shm next to it), 0600
//   <dir>/secret.key     the SecretBox key (32 random bytes, created on first open), 0600
//
// Schema: sqlite_store_migrations(), applied through PRAGMA user_version (version 1: the tables
// registrations, observations, security, events, bootstrap_outcomes, bootstrap_configs).
//
// Threading: one Database connection belongs to one thread. The stores of a SqliteStores share
// its main connection and are used by the engine's loop thread. To commit registrations on a
// writer thread (CommitQueue, group commit), give the queue a second connection
// (SqliteStores::open_connection()) and submit RegistrationWriter::apply() as the unit of work:
//
//   auto stores = SqliteStores::open("/var/lib/lwm2m");   // at start, on the loop thread
//   engine->restore(now, (*stores)->registrations());     // reload (docs/server.md)
//   auto queue = CommitQueue::start(*(*stores)->open_connection());
//   auto writer = std::make_shared<RegistrationWriter>();
//   std::vector<Change> batch;                            // each loop iteration:
//   if (auto seq = engine->take_changes(batch); seq != 0)
//       queue->submit(
//           [writer, b = std::move(batch)](Database& db) { return writer->apply(db, b); },
//           [&loop, &engine, seq](Result<void> r) {
//               loop.post([&engine, seq, r](TimePoint now) {
//                   engine->on_persisted(now, seq, r); });
//           });
//
// Reads through registrations() on the loop thread see every committed unit (WAL readers do not
// block the writer).
//
// Secrets: PSK keys are sealed with SecretBox (AES-256-GCM) bound to "security/<endpoint>/psk_key"
// before they reach the database; a database copied without its key file reveals no key. Error
// texts never carry key bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/store/event_log.hpp>
#include <lwm2m/store/memory_stores.hpp>
#include <lwm2m/store/registration_store.hpp>
#include <lwm2m/store/secret_box.hpp>
#include <lwm2m/store/security_store.hpp>
#include <lwm2m/store/sqlite.hpp>

namespace lwm2m::store {

/// The schema of lwm2m.db, one Migration per version (1: the first schema). Apply with
/// Database::migrate(); SqliteStores::open() does.
[[nodiscard]] std::span<const Migration> sqlite_store_migrations() noexcept;

/// Applies batches of registration Changes to a Database, with its statements compiled once
/// (the cost of a commit is then the rows, not SQL parsing). For CommitQueue, create one writer
/// and share it between the units (they all run on the writer thread):
///
///   auto writer = std::make_shared<RegistrationWriter>();
///   queue->submit([writer, c = std::move(changes)](Database& db) {
///       return writer->apply(db, c); }, done);
///
/// Not thread-safe: one thread at a time (the writer thread).
class RegistrationWriter {
public:
    RegistrationWriter();
    ~RegistrationWriter();
    RegistrationWriter(RegistrationWriter&&) noexcept;
    RegistrationWriter& operator=(RegistrationWriter&&) noexcept;

    /// Applies `batch` in order to the registrations/observations tables of `db`, WITHOUT
    /// opening a transaction: call it inside one (SqliteRegistrationStore::commit does) or as a
    /// CommitQueue unit (which runs inside the queue's SAVEPOINT). Semantics are those of
    /// RegistrationStore::commit. The statements are compiled for `db` on first use (again when
    /// called with another Database). Errors: store::Errc (sql_error, io_error, busy, corrupt,
    /// constraint); the caller rolls back.
    [[nodiscard]] Result<void> apply(Database& db, std::span<const Change> batch);

private:
    struct Statements;
    std::unique_ptr<Statements> st_;
};

/// RegistrationWriter().apply(db, batch) (compiles the statements for this call only).
[[nodiscard]] Result<void> apply_registration_changes(Database& db, std::span<const Change> batch);

/// Reads every registration, then every observation, of `db` (RegistrationStore::load).
/// Errors: store::Errc; Errc::corrupt for a row that does not decode (bad peer address or mode).
[[nodiscard]] Result<void>
load_registrations(Database& db, const std::function<void(RegistrationRecord&&)>& on_registration,
                   const std::function<void(ObservationRecord&&)>& on_observation);

/// RegistrationStore on a Database whose schema is sqlite_store_migrations(). The Database must
/// outlive the store and is used by one thread at a time (see the file comment for CommitQueue).
class SqliteRegistrationStore final : public RegistrationStore {
public:
    explicit SqliteRegistrationStore(Database& db)
        : db_(&db) {}

    /// One transaction (BEGIN IMMEDIATE .. COMMIT) around apply_registration_changes().
    /// Errors: store::Errc (busy, io_error, sql_error, corrupt); on error nothing is applied.
    [[nodiscard]] Result<void> commit(std::span<const Change> batch) override;
    /// Registrations in endpoint order, then observations by (endpoint, id). Errors: as
    /// load_registrations().
    [[nodiscard]] Result<void>
    load(const std::function<void(RegistrationRecord&&)>& on_registration,
         const std::function<void(ObservationRecord&&)>& on_observation) const override;
    /// Errors: store::Errc (sql_error, io_error, busy), Errc::corrupt.
    [[nodiscard]] Result<std::optional<RegistrationRecord>>
    find(std::string_view endpoint) const override;
    /// Errors: store::Errc (sql_error, io_error, busy).
    [[nodiscard]] Result<std::size_t> size() const override;
    /// Observations of one endpoint, by id (tests, REST). Errors: as load().
    [[nodiscard]] Result<std::vector<ObservationRecord>>
    observations(std::string_view endpoint) const;

private:
    Database* db_;
    RegistrationWriter writer_;
};

/// SecurityStore on a Database: every record in an in-memory index (the find*() answer from
/// memory, O(1)), written through: the row is committed before the index changes, so a failed
/// write leaves both unchanged. PSK keys are sealed with `box` in the database.
class SqliteSecurityStore final : public SecurityStore {
public:
    /// Loads every record of `db` (opening each sealed key with `box`). `db` and `box` must
    /// outlive the store. Errors: store::Errc::decrypt_failed (a key does not open: another key
    /// file, or a tampered row), Errc::corrupt (a row that fails validate() or is unreadable),
    /// SQLite errors.
    [[nodiscard]] static Result<std::unique_ptr<SqliteSecurityStore>> open(Database& db,
                                                                           const SecretBox& box);

    /// Errors: as SecurityStore::put (lwm2m::Errc::invalid_argument, Errc::conflict) and SQLite
    /// errors (store unchanged).
    [[nodiscard]] Result<void> put(SecurityInfo info, std::string* why = nullptr) override;
    /// All or none: every record check()ed, then one transaction. Errors: as put().
    [[nodiscard]] Result<void> put_all(std::vector<SecurityInfo> infos, std::size_t* stored,
                                       std::string* why = nullptr) override;
    /// Errors: SQLite errors (store unchanged).
    [[nodiscard]] Result<bool> remove(std::string_view endpoint) override;
    [[nodiscard]] const SecurityInfo* find(std::string_view endpoint) const override {
        return cache_.find(endpoint);
    }
    [[nodiscard]] const SecurityInfo* find_by_psk_identity(BytesView identity) const override {
        return cache_.find_by_psk_identity(identity);
    }
    [[nodiscard]] const SecurityInfo* find_by_rpk(BytesView spki) const override {
        return cache_.find_by_rpk(spki);
    }
    [[nodiscard]] const SecurityInfo* find_by_x509_cn(std::string_view cn) const override {
        return cache_.find_by_x509_cn(cn);
    }
    void for_each(const std::function<void(const SecurityInfo&)>& fn) const override {
        cache_.for_each(fn);
    }
    [[nodiscard]] std::size_t size() const override { return cache_.size(); }

    /// Checks `infos` as put() would (each valid, no credential bound to another endpoint, none
    /// taken twice in the span) without changing anything. Errors: as put() without I/O.
    [[nodiscard]] Result<void> check(std::span<const SecurityInfo> infos,
                                     std::string* why = nullptr) const;
    /// Writes the rows of `infos` into the open transaction of the store's Database (no
    /// BEGIN/COMMIT here); call apply_committed() after the COMMIT succeeded. For callers that
    /// commit security records together with other rows (commit_bootstrap_outcome).
    /// Errors: SQLite errors, Errc::io_error from sealing.
    [[nodiscard]] Result<void> write_rows(std::span<const SecurityInfo> infos);
    /// Updates the in-memory index after a committed write_rows() of the same, check()ed infos.
    void apply_committed(std::span<const SecurityInfo> infos);

private:
    SqliteSecurityStore(Database& db, const SecretBox& box) noexcept
        : db_(&db)
        , box_(&box) {}
    Database* db_;
    const SecretBox* box_;
    MemorySecurityStore cache_;
};

/// EventLog in the `events` table: seq is the row id (strictly increasing, never reused even
/// after pruning: AUTOINCREMENT); the newest `max_rows` events are kept, older ones are deleted
/// by append() (in batches of max_rows/64 + 1 rows, so the cost of pruning is amortised).
class SqliteEventLog final : public EventLog {
public:
    /// `max_rows` >= 1. The Database must outlive the log.
    SqliteEventLog(Database& db, std::size_t max_rows = 100000) noexcept;
    /// Errors: SQLite errors (nothing appended).
    [[nodiscard]] Result<std::uint64_t> append(EventRecord event) override;
    /// Errors: SQLite errors.
    [[nodiscard]] Result<std::vector<EventRecord>> read(const EventQuery& query) const override;
    /// Number of stored events. Errors: SQLite errors.
    [[nodiscard]] Result<std::size_t> size() const;

private:
    [[nodiscard]] Result<std::uint64_t> row_count() const;
    Database* db_;
    std::size_t max_rows_;
    std::size_t prune_slack_;
    std::optional<std::uint64_t> count_; ///< rows stored, known after the first append()
};

/// What a bootstrap session ended with (docs/bootstrap.md "Events and durability"), as recorded
/// next to the credentials it wrote.
struct BootstrapOutcome {
    std::uint64_t id = 0; ///< assigned by the store (row id), ignored on write
    std::string endpoint;
    std::int64_t time = 0; ///< Unix milliseconds
    bool success = false;  ///< Bootstrap-Finish answered 2.04
    std::uint64_t session = 0;
    std::string detail; ///< short text (a failure's reason); never key material
    friend bool operator==(const BootstrapOutcome&, const BootstrapOutcome&) = default;
};

struct SqliteStoresOptions {
    /// normal: survives a process crash; full: also a power loss (one fsync per commit).
    Synchronous synchronous = Synchronous::normal;
    /// Bound of the event log (rows).
    std::size_t event_log_max_rows = 100000;
    int busy_timeout_ms = 5000;
};

/// The stores of one data directory, all on one Database connection (lwm2m.db) and one SecretBox
/// (secret.key). Belongs to one thread (the engine's loop thread).
class SqliteStores {
public:
    static constexpr std::string_view database_file = "lwm2m.db";
    static constexpr std::string_view key_file = "secret.key";

    /// Opens (creating when missing) the data directory `dir` (its parent must exist): the
    /// directory (0700), the key file,
    /// the database, the schema migrations; then loads the security records.
    /// Errors: errno codes (directory, key file), lwm2m::Errc::invalid_argument (a key file of the
    /// wrong size or readable by others), store::Errc::open_failed / corrupt (lwm2m.db is not a
    /// database or damaged), newer_schema, decrypt_failed (the key file does not open the stored
    /// secrets: it is not the one they were sealed with), busy, io_error.
    [[nodiscard]] static Result<std::unique_ptr<SqliteStores>>
    open(const std::string& dir, const SqliteStoresOptions& options = {});

    SqliteStores(const SqliteStores&) = delete;
    SqliteStores& operator=(const SqliteStores&) = delete;
    ~SqliteStores();

    [[nodiscard]] SqliteRegistrationStore& registrations() noexcept { return registrations_; }
    [[nodiscard]] SqliteSecurityStore& security() noexcept { return *security_; }
    [[nodiscard]] SqliteEventLog& events() noexcept { return events_; }
    [[nodiscard]] Database& database() noexcept { return db_; }
    [[nodiscard]] const SecretBox& secret_box() const noexcept { return box_; }
    [[nodiscard]] const std::string& database_path() const noexcept { return db_path_; }

    /// Another connection to lwm2m.db (same options, schema already applied) for another thread:
    /// CommitQueue's writer, a bootstrap configuration store. Errors: as Database::open().
    [[nodiscard]] Result<Database> open_connection() const;

    /// Records the outcome of a bootstrap session and the DM credentials it wrote (replacing the
    /// endpoints' previous ones) in ONE transaction: after a crash either both are stored or
    /// neither. The security index changes only after the commit. Returns the outcome's id.
    /// Errors: as SecurityStore::put (invalid_argument, conflict: nothing written) and SQLite
    /// errors (nothing written).
    [[nodiscard]] Result<std::uint64_t>
    commit_bootstrap_outcome(const BootstrapOutcome& outcome,
                             std::span<const SecurityInfo> credentials, std::string* why = nullptr);
    /// Outcomes of `endpoint` (every endpoint when empty), newest first, at most `limit`.
    /// Errors: SQLite errors.
    [[nodiscard]] Result<std::vector<BootstrapOutcome>>
    bootstrap_outcomes(std::string_view endpoint, std::size_t limit = 100) const;

private:
    SqliteStores(Database db, SecretBox box, std::string db_path, const SqliteStoresOptions& o);
    Database db_;
    SecretBox box_;
    std::string db_path_;
    SqliteStoresOptions options_;
    SqliteRegistrationStore registrations_;
    SqliteEventLog events_;
    std::unique_ptr<SqliteSecurityStore> security_;
};

} // namespace lwm2m::store
