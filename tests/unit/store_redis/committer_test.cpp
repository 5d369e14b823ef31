// RegistrationCommitter: batches queued while a commit runs join the next commit (one
// RegistrationStore::commit for the group, in order); a failed commit fails every batch of its
// group; tasks run in order with the batches; the destructor drains.
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/memory_stores.hpp>
#include <lwm2m/store/registration_committer.hpp>

namespace lwm2m::store {
namespace {

/// A store whose first commit waits until release() (so that batches queue up behind it).
class GatedStore final : public RegistrationStore {
public:
    Result<void> commit(std::span<const Change> batch) override {
        {
            std::unique_lock lock(m_);
            entered_ = true;
            cv_.notify_all();
            cv_.wait(lock, [&] { return open_; });
            sizes_.push_back(batch.size());
        }
        return inner_.commit(batch);
    }
    Result<void> load(const std::function<void(RegistrationRecord&&)>& r,
                      const std::function<void(ObservationRecord&&)>& o) const override {
        return inner_.load(r, o);
    }
    Result<std::optional<RegistrationRecord>> find(std::string_view ep) const override {
        return inner_.find(ep);
    }
    Result<std::size_t> size() const override { return inner_.size(); }

    void wait_entered() {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return entered_; });
    }
    void release() {
        std::lock_guard lock(m_);
        open_ = true;
        cv_.notify_all();
    }
    std::vector<std::size_t> sizes() {
        std::lock_guard lock(m_);
        return sizes_;
    }
    MemoryRegistrationStore inner_;

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool entered_ = false;
    bool open_ = false;
    std::vector<std::size_t> sizes_;
};

std::vector<Change> put(const std::string& ep, std::uint64_t seq) {
    RegistrationRecord r;
    r.endpoint = ep;
    r.location = std::to_string(seq);
    return {{seq, RegistrationPut{r}}};
}

TEST(RegistrationCommitter, QueuedBatchesFormOneCommitInOrder) {
    GatedStore store;
    std::vector<std::string> order;
    std::mutex m;
    {
        RegistrationCommitter c(store);
        auto done = [&](std::string name) {
            return [&, name](Result<void> r) {
                EXPECT_TRUE(r);
                std::lock_guard lock(m);
                order.push_back(name);
            };
        };
        c.submit(put("a", 1), done("1"));
        store.wait_entered(); // the first commit runs (and waits)
        c.submit(put("b", 2), done("2"));
        c.submit(put("a", 3), done("3")); // a later change of "a" wins
        c.post([&] {
            std::lock_guard lock(m);
            order.push_back("task");
        });
        c.submit(put("c", 4), done("4"));
        store.release();
        c.flush();
        const auto st = c.stats();
        EXPECT_EQ(st.batches, 4U);
        EXPECT_EQ(st.commits, 3U); // {1}, {2, 3}, task, {4}
        EXPECT_EQ(st.max_group, 2U);
        EXPECT_EQ(st.tasks, 1U);
        EXPECT_EQ(st.failed, 0U);
    }
    EXPECT_EQ(order, (std::vector<std::string>{"1", "2", "3", "task", "4"}));
    EXPECT_EQ(store.sizes(), (std::vector<std::size_t>{1, 2, 1}));
    EXPECT_EQ((*store.inner_.find("a"))->location, "3");
    EXPECT_EQ(*store.inner_.size(), 3U);
}

TEST(RegistrationCommitter, AFailedCommitFailsItsBatchesAndCommitSyncReports) {
    MemoryRegistrationStore store;
    RegistrationCommitter c(store);
    store.fail_commits(make_error_code(Errc::unavailable));
    auto r = c.commit_sync(put("x", 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::unavailable));
    store.fail_commits(std::nullopt);
    EXPECT_TRUE(c.commit_sync(put("x", 2)));
    EXPECT_EQ((*store.find("x"))->location, "2");
    EXPECT_EQ(c.stats().failed, 1U);
}

TEST(RegistrationCommitter, DestructorDrainsEverythingSubmitted) {
    MemoryRegistrationStore store;
    int done = 0;
    {
        RegistrationCommitter c(store);
        for (int i = 0; i < 100; ++i)
            c.submit(put("ep" + std::to_string(i), static_cast<std::uint64_t>(i) + 1),
                     [&](Result<void> r) {
                         EXPECT_TRUE(r);
                         ++done; // the writer thread only
                     });
    }
    EXPECT_EQ(done, 100);
    EXPECT_EQ(*store.size(), 100U);
}

} // namespace
} // namespace lwm2m::store
