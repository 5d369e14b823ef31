#include <lwm2m/store/commit_queue.hpp>

#include <algorithm>
#include <future>
#include <utility>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::store {

std::unique_ptr<CommitQueue> CommitQueue::start(Database db, std::size_t max_batch) {
    return std::unique_ptr<CommitQueue>(
        new CommitQueue(std::move(db), std::max<std::size_t>(1, max_batch)));
}

CommitQueue::CommitQueue(Database db, std::size_t max_batch)
    : db_(std::move(db))
    , max_batch_(max_batch) {
    thread_ = std::thread([this] { writer(); });
}

CommitQueue::~CommitQueue() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void CommitQueue::submit(Work work, Done done) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            queue_.emplace_back(std::move(work), std::move(done));
            wake_.notify_one();
            return;
        }
    }
    if (done) done(lwm2m::fail(lwm2m::Errc::invalid_state));
}

Result<void> CommitQueue::run_sync(const std::function<Result<void>(Database&)>& fn) {
    std::promise<Result<void>> promise;
    auto future = promise.get_future();
    submit(
        [&fn, &promise](Database& db) -> Result<void> {
            promise.set_value(fn(db));
            return ok();
        },
        {});
    return future.get();
}

void CommitQueue::flush() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

CommitQueueStats CommitQueue::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void CommitQueue::writer() {
    std::deque<std::pair<Work, Done>> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                busy_ = false;
                idle_.notify_all();
                if (stopping_) return;
                continue;
            }
            const std::size_t n = std::min(queue_.size(), max_batch_);
            for (std::size_t k = 0; k < n; ++k) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            busy_ = true;
        }
        run_batch(batch);
        batch.clear();
        {
            std::lock_guard lock(mutex_);
            busy_ = false;
            if (queue_.empty()) idle_.notify_all();
        }
    }
}

void CommitQueue::run_batch(std::deque<std::pair<Work, Done>>& batch) {
    std::vector<Result<void>> results;
    results.reserve(batch.size());
    auto tx = Transaction::begin(db_);
    if (!tx) {
        for (auto& item : batch)
            if (item.second) item.second(tl::unexpected(tx.error()));
        std::lock_guard lock(mutex_);
        ++stats_.batches;
        stats_.units += batch.size();
        stats_.failed += batch.size();
        return;
    }
    for (auto& item : batch) {
        // SAVEPOINT per unit: a failing unit undoes only its own changes.
        auto sp = db_.exec("SAVEPOINT unit");
        if (!sp) {
            results.push_back(tl::unexpected(sp.error()));
            continue;
        }
        auto r = item.first(db_);
        if (r) {
            auto rel = db_.exec("RELEASE unit");
            results.push_back(rel ? r : rel);
        } else {
            (void)db_.exec("ROLLBACK TO unit");
            (void)db_.exec("RELEASE unit");
            results.push_back(std::move(r));
        }
    }
    auto committed = tx->commit();
    std::uint64_t failed = 0;
    for (std::size_t k = 0; k < batch.size(); ++k) {
        Result<void> r = committed ? results[k] : committed;
        if (!r) ++failed;
        if (batch[k].second) batch[k].second(std::move(r));
    }
    std::lock_guard lock(mutex_);
    ++stats_.batches;
    stats_.units += batch.size();
    stats_.failed += failed;
    stats_.max_batch = std::max<std::uint64_t>(stats_.max_batch, batch.size());
}

} // namespace lwm2m::store

namespace lwm2m::store {

std::unique_ptr<WalCheckpointer> WalCheckpointer::start(Database db,
                                                        std::chrono::milliseconds period) {
    std::unique_ptr<WalCheckpointer> c(new WalCheckpointer(std::move(db), period));
    c->thread_ = std::thread([p = c.get()] { p->loop(); });
    return c;
}

WalCheckpointer::WalCheckpointer(Database db, std::chrono::milliseconds period)
    : db_(std::move(db))
    , period_(std::max(period, std::chrono::milliseconds(1))) {}

WalCheckpointer::~WalCheckpointer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

Result<void> WalCheckpointer::disable_auto_checkpoint(Database& db) {
    return db.exec("PRAGMA wal_autocheckpoint=0");
}

Result<void> WalCheckpointer::checkpoint() {
    // PASSIVE: copies the WAL frames no reader needs, never waits for a lock (SQLITE_BUSY is
    // not an error here: the next period tries again).
    return db_.exec("PRAGMA wal_checkpoint(PASSIVE)");
}

void WalCheckpointer::loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        const bool stop = wake_.wait_for(lock, period_, [this] { return stopping_; });
        lock.unlock();
        if (checkpoint())
            runs_.fetch_add(1);
        else
            failures_.fetch_add(1);
        lock.lock();
        if (stop) return;
    }
}

} // namespace lwm2m::store
