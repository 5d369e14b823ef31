// The server engine on the SQLite store, end to end: Registers journaled by server::Engine are
// committed through CommitQueue on a second connection (the 2.01 leaves only after the completion
// came back), the data directory is closed, a new engine restores from the reopened store and the
// client carries on with an Update on its old location.
#include <atomic>
#include <memory>

#include <gtest/gtest.h>

#include <lwm2m/store/commit_queue.hpp>
#include <lwm2m/store/sqlite_stores.hpp>

#include "lockstep/server/server_harness.hpp"
#include "temp_dir.hpp"

namespace lwm2m::server::test {
namespace {

TEST(SqliteServerRestart, RegistrationsCommittedThroughCommitQueueSurviveARestart) {
    store::test::TempDir dir;
    std::string loc_a;
    {
        auto stores = store::SqliteStores::open(dir.path());
        ASSERT_TRUE(stores) << stores.error().message();
        auto conn = (*stores)->open_connection();
        ASSERT_TRUE(conn);
        auto queue = store::CommitQueue::start(std::move(*conn));
        auto writer = std::make_shared<store::RegistrationWriter>();

        ServerHarness h;
        h.receive(kPeerA, register_msg("ep=sq-a&lt=1000&lwm2m=1.1&Q", "</1/0>,</3/0>,</3303/0>",
                                       0x100, "a1"));
        h.receive(kPeerB, register_msg("ep=sq-b&lt=20", "</1/0>", 0x101, "b1"));
        std::vector<store::Change> batch;
        const auto seq = h.engine->take_changes(batch);
        ASSERT_NE(seq, 0U);
        EXPECT_FALSE(h.engine->poll_transmit()); // held until durable
        std::atomic<bool> ok{false};
        queue->submit(
            [writer, b = std::move(batch)](store::Database& db) { return writer->apply(db, b); },
            [&ok](Result<void> r) { ok = static_cast<bool>(r); });
        queue->flush();
        ASSERT_TRUE(ok.load());
        // What the loop would run when the posted completion arrives.
        h.engine->on_persisted(h.now, seq, Result<void>{});
        auto resp = h.expect_tx(&kPeerA);
        ASSERT_EQ(resp.code, coap::code::created);
        loc_a = resp.path(coap::option::location_path).substr(4);
        EXPECT_EQ(h.expect_tx(&kPeerB).code, coap::code::created);
        EXPECT_EQ(*(*stores)->registrations().size(), 2U);
    }
    // A new process 100 s later (wall clock) on the same data directory.
    auto stores = store::SqliteStores::open(dir.path());
    ASSERT_TRUE(stores) << stores.error().message();
    ServerHarness h2;
    h2.wall.t += 100;
    auto n = h2.engine->restore(h2.now, (*stores)->registrations());
    ASSERT_TRUE(n) << n.error().message();
    EXPECT_EQ(*n, 1U); // sq-b expired (20 s + grace < 100 s)
    auto info = h2.engine->registration("sq-a");
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->queue_mode);
    EXPECT_EQ(info->expires_at, h2.now + 1000s + 30s - 100s);
    // The expiry of sq-b reaches the database at the next commit.
    std::vector<store::Change> batch;
    ASSERT_NE(h2.engine->take_changes(batch), 0U);
    ASSERT_TRUE((*stores)->registrations().commit(batch));
    EXPECT_FALSE(*(*stores)->registrations().find("sq-b"));
    // The device carries on with an Update on its old location.
    h2.receive(kPeerA, con(coap::code::post).mid(0x900).token("u").path("/rd/" + loc_a));
    const auto seq = h2.engine->take_changes(batch);
    ASSERT_NE(seq, 0U);
    ASSERT_TRUE((*stores)->registrations().commit(batch));
    h2.engine->on_persisted(h2.now, seq);
    EXPECT_EQ(h2.expect_tx(&kPeerA).code, coap::code::changed);
}

} // namespace
} // namespace lwm2m::server::test
