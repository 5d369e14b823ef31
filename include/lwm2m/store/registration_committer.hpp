// RegistrationCommitter (library lwm2m_store_redis, which needs it first; it depends only on the
// RegistrationStore interface): group commit for any RegistrationStore on a writer thread of its
// own (the SQLite stores have CommitQueue, which owns a Database; this one works through the
// RegistrationStore interface, for the Redis store). The engine thread submits the batches of
// Engine::take_changes(); every batch queued while a commit runs joins the next commit (the
// batches are concatenated, in order, into ONE RegistrationStore::commit call), so a slow store
// (network round trips, WAIT on replicas) costs latency under load, not throughput.
//
//   RegistrationCommitter committer(store);
//   committer.submit(std::move(batch), [&loop, seq](Result<void> r) {
//       loop.post([=](TimePoint now) { engine.on_persisted(now, seq, r); }); });
//
// A failed commit fails every batch of the group (each `done` gets the error; the engine then
// answers 5.03 and journals removals, docs/server.md "Durability"). Other work for the writer
// thread (event log appends) goes through post(), in submission order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <variant>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/store/registration_store.hpp>

namespace lwm2m::store {

struct RegistrationCommitterStats {
    std::uint64_t commits = 0;   ///< RegistrationStore::commit calls
    std::uint64_t batches = 0;   ///< batches submitted and committed (or failed)
    std::uint64_t failed = 0;    ///< batches whose callback got an error
    std::uint64_t max_group = 0; ///< most batches in one commit
    std::uint64_t tasks = 0;     ///< post()ed tasks run
};

class RegistrationCommitter {
public:
    using Done = std::function<void(Result<void>)>;

    /// Starts the writer thread; `store` must outlive the committer and is used only by that
    /// thread from now on. A commit covers at most `max_changes` changes (more batches wait).
    explicit RegistrationCommitter(RegistrationStore& store, std::size_t max_changes = 8192);
    /// Runs what was submitted, then stops the thread.
    ~RegistrationCommitter();
    RegistrationCommitter(const RegistrationCommitter&) = delete;
    RegistrationCommitter& operator=(const RegistrationCommitter&) = delete;

    /// Queues a batch. Thread-safe. `done` runs on the writer thread (keep it short: post to the
    /// owner's loop). After the destructor started: `done` gets lwm2m::Errc::invalid_state.
    void submit(std::vector<Change> batch, Done done);
    /// Runs `task` on the writer thread, in order with the batches. Thread-safe.
    void post(std::function<void()> task);
    /// Commits `batch` on the writer thread and waits for the result. Never call it from the
    /// writer thread (a `done` callback or a task). Errors: those of the store.
    [[nodiscard]] Result<void> commit_sync(std::vector<Change> batch);
    /// Blocks until everything submitted before the call has run.
    void flush();
    [[nodiscard]] RegistrationCommitterStats stats() const;

private:
    struct Unit {
        std::vector<Change> batch;
        Done done;
    };
    using Item = std::variant<Unit, std::function<void()>>;
    void writer();

    RegistrationStore* store_;
    std::size_t max_changes_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    bool busy_ = false;
    RegistrationCommitterStats stats_;
    std::thread thread_;
};

} // namespace lwm2m::store
