// CommitQueue: group commit for the servers' database. One writer thread owns the Database; the
// engine thread submits units of work and is told (on the writer thread, through its callback)
// when each is durable. Every unit submitted while the previous batch was committing goes into
// the next batch: ONE transaction (and, with synchronous=FULL, one fsync) for the whole batch, so
// durability costs latency under load, not throughput.
//
//   auto q = CommitQueue::start(std::move(db));
//   q->submit([row](Database& db) { return insert(db, row); },
//             [&loop, seq](Result<void> r) { loop.post([=](TimePoint now) {
//                 engine.on_persisted(now, seq, r); }); });
//
// A unit runs inside a SAVEPOINT: when it fails, only its own changes are rolled back and its
// callback gets the error; the others commit. When the COMMIT itself fails, every callback of the
// batch gets that error (nothing of the batch is durable).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <lwm2m/base/result.hpp>
#include <lwm2m/store/sqlite.hpp>

namespace lwm2m::store {

struct CommitQueueStats {
    std::uint64_t batches = 0;   ///< transactions committed (or failed)
    std::uint64_t units = 0;     ///< units of work run
    std::uint64_t failed = 0;    ///< units whose callback got an error
    std::uint64_t max_batch = 0; ///< largest batch so far
};

class CommitQueue {
public:
    using Work = std::function<Result<void>(Database&)>;
    using Done = std::function<void(Result<void>)>;

    /// Starts the writer thread, which owns `db` from now on.
    [[nodiscard]] static std::unique_ptr<CommitQueue> start(Database db,
                                                            std::size_t max_batch = 4096);
    /// Drains what was submitted, then stops the thread.
    ~CommitQueue();
    CommitQueue(const CommitQueue&) = delete;
    CommitQueue& operator=(const CommitQueue&) = delete;

    /// Queues a unit of work. Thread-safe. `done` runs on the writer thread: keep it short (post
    /// to the owner's loop). After the destructor started, new units fail with
    /// lwm2m::Errc::invalid_state at once.
    void submit(Work work, Done done);
    /// Runs `fn` on the writer thread as a unit of its own (in the next batch's transaction) and
    /// waits for its result (loading state at start-up, maintenance). Thread-safe; never call it
    /// from a Done callback (the writer would wait for itself).
    Result<void> run_sync(const std::function<Result<void>(Database&)>& fn);
    /// Blocks until every unit submitted before the call is committed.
    void flush();
    [[nodiscard]] CommitQueueStats stats() const;

private:
    CommitQueue(Database db, std::size_t max_batch);
    void writer();
    void run_batch(std::deque<std::pair<Work, Done>>& batch);

    Database db_;
    std::size_t max_batch_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<std::pair<Work, Done>> queue_;
    bool stopping_ = false;
    bool busy_ = false;
    CommitQueueStats stats_;
    std::thread thread_;
};

/// Moves WAL checkpoints off the commit path. SQLite checkpoints in the connection whose commit
/// crosses wal_autocheckpoint (1000 pages): that commit then copies the WAL into the database and
/// syncs it, and every registration waiting for it waits too (the p99 of the server's Update
/// latency was 11 ms at 1,667 Updates/s for that reason, p90 0.8 ms). With a WalCheckpointer the
/// writing connections turn automatic checkpoints off (disable_auto_checkpoint()) and this
/// thread runs PRAGMA wal_checkpoint(PASSIVE) on a connection of its own every `period`: a
/// passive checkpoint never blocks writers or readers (WAL mode), it copies what no reader still
/// needs, and the writer restarts the WAL from the top once a checkpoint caught up.
class WalCheckpointer {
public:
    /// Starts the thread, which owns `db`. Errors: none (a failed checkpoint is retried at the
    /// next period and counted).
    [[nodiscard]] static std::unique_ptr<WalCheckpointer> start(Database db,
                                                                std::chrono::milliseconds period);
    /// Runs a last checkpoint, then stops the thread.
    ~WalCheckpointer();
    WalCheckpointer(const WalCheckpointer&) = delete;
    WalCheckpointer& operator=(const WalCheckpointer&) = delete;

    /// PRAGMA wal_autocheckpoint=0 on a writing connection. Errors: SQLite errors.
    [[nodiscard]] static Result<void> disable_auto_checkpoint(Database& db);
    /// Checkpoints run and failed so far.
    [[nodiscard]] std::uint64_t runs() const noexcept { return runs_.load(); }
    [[nodiscard]] std::uint64_t failures() const noexcept { return failures_.load(); }

private:
    WalCheckpointer(Database db, std::chrono::milliseconds period);
    void loop();
    Result<void> checkpoint();

    Database db_;
    std::chrono::milliseconds period_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::atomic<std::uint64_t> runs_{0};
    std::atomic<std::uint64_t> failures_{0};
    std::thread thread_;
};

} // namespace lwm2m::store
