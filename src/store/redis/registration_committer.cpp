#include <lwm2m/store/registration_committer.hpp>

#include <algorithm>
#include <future>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::store {

RegistrationCommitter::RegistrationCommitter(RegistrationStore& store, std::size_t max_changes)
    : store_(&store)
    , max_changes_(std::max<std::size_t>(max_changes, 1))
    , thread_([this] { writer(); }) {}

RegistrationCommitter::~RegistrationCommitter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void RegistrationCommitter::submit(std::vector<Change> batch, Done done) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            queue_.emplace_back(Unit{std::move(batch), std::move(done)});
            wake_.notify_one();
            return;
        }
    }
    if (done) done(fail(lwm2m::Errc::invalid_state));
}

void RegistrationCommitter::post(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.emplace_back(std::move(task));
    wake_.notify_one();
}

Result<void> RegistrationCommitter::commit_sync(std::vector<Change> batch) {
    std::promise<Result<void>> p;
    auto f = p.get_future();
    submit(std::move(batch), [&p](Result<void> r) { p.set_value(r); });
    return f.get();
}

void RegistrationCommitter::flush() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

RegistrationCommitterStats RegistrationCommitter::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void RegistrationCommitter::writer() {
    std::vector<Change> group;
    std::vector<Done> dones;
    for (;;) {
        std::deque<Item> items;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return; // stopping and drained
            // Take what is queued, up to max_changes_ changes (at least one item).
            std::size_t changes = 0;
            while (!queue_.empty()) {
                auto* u = std::get_if<Unit>(&queue_.front());
                if (u && !items.empty() && changes + u->batch.size() > max_changes_) break;
                if (u) changes += u->batch.size();
                items.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            busy_ = true;
        }
        // Consecutive batches form one commit; a task ends the group before it.
        auto run_group = [&] {
            if (dones.empty()) return;
            const auto r = store_->commit(group);
            for (auto& d : dones)
                if (d) d(r);
            std::lock_guard lock(mutex_);
            ++stats_.commits;
            stats_.batches += dones.size();
            if (!r) stats_.failed += dones.size();
            stats_.max_group = std::max<std::uint64_t>(stats_.max_group, dones.size());
            group.clear();
            dones.clear();
        };
        for (auto& item : items) {
            if (auto* u = std::get_if<Unit>(&item)) {
                if (group.empty())
                    group = std::move(u->batch);
                else
                    std::move(u->batch.begin(), u->batch.end(), std::back_inserter(group));
                dones.push_back(std::move(u->done));
            } else {
                run_group();
                std::get<std::function<void()>>(item)();
                std::lock_guard lock(mutex_);
                ++stats_.tasks;
            }
        }
        run_group();
        {
            std::lock_guard lock(mutex_);
            busy_ = false;
            if (queue_.empty()) idle_.notify_all();
        }
    }
}

} // namespace lwm2m::store
