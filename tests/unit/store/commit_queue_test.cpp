// store::CommitQueue: group commit on a writer thread, per-unit rollback, durability order.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/commit_queue.hpp>

namespace lwm2m::store {
namespace {

Result<void> insert(Database& db, std::int64_t v) {
    LWM2M_TRY(st, db.prepare("INSERT INTO t(v) VALUES(?1)"));
    st.bind(1, v);
    return st.run();
}

std::int64_t count(Database& db) {
    auto st = db.prepare("SELECT count(*) FROM t");
    EXPECT_TRUE(st && st->step());
    return st ? st->int64(0) : -1;
}

Database open_db(const std::string& path) {
    auto db = Database::open(path);
    EXPECT_TRUE(db);
    EXPECT_TRUE(db->exec("CREATE TABLE IF NOT EXISTS t(v INTEGER UNIQUE)"));
    return std::move(*db);
}

TEST(CommitQueue, GroupsUnitsIntoFewTransactionsAndReportsEachOnce) {
    const auto path = (std::filesystem::temp_directory_path() /
                       ("lwm2m_cq_" + std::to_string(::getpid()) + ".sqlite"))
                          .string();
    std::filesystem::remove(path);
    constexpr int n = 5000;
    std::atomic<int> done{0};
    std::mutex m;
    std::vector<int> order;
    {
        auto q = CommitQueue::start(open_db(path));
        // The first unit holds the writer until everything is queued: the rest must then go in
        // batches (deterministic grouping, whatever the scheduler does).
        std::promise<void> all_queued;
        auto gate = all_queued.get_future().share();
        q->submit(
            [gate](Database&) -> Result<void> {
                gate.wait();
                return ok();
            },
            {});
        for (int i = 0; i < n; ++i)
            q->submit([i](Database& db) { return insert(db, i); },
                      [&, i](Result<void> r) {
                          EXPECT_TRUE(r);
                          std::lock_guard lock(m);
                          order.push_back(i);
                          ++done;
                      });
        all_queued.set_value();
        q->flush();
        EXPECT_EQ(done.load(), n);
        const auto s = q->stats();
        EXPECT_EQ(s.units, static_cast<std::uint64_t>(n) + 1);
        EXPECT_EQ(s.failed, 0u);
        EXPECT_LE(s.batches, 3u);      // the gate (with whatever was queued), then at most 2 more
        EXPECT_GE(s.max_batch, 2500u); // max(1 + k, n - k) for the k units batched with the gate
    }
    // Callbacks come in submission order, and everything is in the file after a reopen.
    for (int i = 0; i < n; ++i)
        ASSERT_EQ(order[i], i);
    auto db = open_db(path);
    EXPECT_EQ(count(db), n);
    std::filesystem::remove(path);
}

TEST(CommitQueue, AFailingUnitRollsBackAloneAndGetsItsError) {
    auto q = CommitQueue::start(open_db(":memory:"), 16);
    std::vector<bool> results(4);
    q->submit([](Database& db) { return insert(db, 1); },
              [&](Result<void> r) { results[0] = bool(r); });
    // Inserts 2, then fails on the duplicate 1: the 2 must be rolled back with it.
    q->submit(
        [](Database& db) -> Result<void> {
            LWM2M_TRY_VOID(insert(db, 2));
            return insert(db, 1);
        },
        [&](Result<void> r) {
            results[1] = bool(r);
            EXPECT_EQ(r.error(), make_error_code(Errc::constraint));
        });
    q->submit([](Database& db) { return insert(db, 3); },
              [&](Result<void> r) { results[2] = bool(r); });
    q->submit([](Database&) -> Result<void> { return lwm2m::fail(lwm2m::Errc::invalid_argument); },
              [&](Result<void> r) { results[3] = bool(r); });
    q->flush();
    EXPECT_EQ(results, (std::vector<bool>{true, false, true, false}));
    std::vector<std::int64_t> values;
    ASSERT_TRUE(q->run_sync([&](Database& db) -> Result<void> {
        LWM2M_TRY(st, db.prepare("SELECT v FROM t ORDER BY v"));
        for (;;) {
            LWM2M_TRY(row, st.step());
            if (!row) break;
            values.push_back(st.int64(0));
        }
        return ok();
    }));
    EXPECT_EQ(values, (std::vector<std::int64_t>{1, 3}));
    EXPECT_EQ(q->stats().failed, 2u);
}

TEST(CommitQueue, SubmitsFromManyThreadsAllLand) {
    auto q = CommitQueue::start(open_db(":memory:"));
    std::atomic<int> ok_count{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i)
                q->submit([v = t * 1000 + i](Database& db) { return insert(db, v); },
                          [&](Result<void> r) { ok_count += r ? 1 : 0; });
        });
    for (auto& th : threads)
        th.join();
    q->flush();
    EXPECT_EQ(ok_count.load(), 2000);
    std::int64_t rows = 0;
    ASSERT_TRUE(q->run_sync([&](Database& db) -> Result<void> {
        rows = count(db);
        return ok();
    }));
    EXPECT_EQ(rows, 2000);
}

} // namespace
} // namespace lwm2m::store
