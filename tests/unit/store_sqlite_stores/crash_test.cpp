// Crash safety: a child process commits registrations through CommitQueue (the server's writer
// thread) and reports each completed unit on a pipe; the parent kills it with SIGKILL in the
// middle of the stream. After reopening, every unit reported before the kill is present and the
// database passes PRAGMA integrity_check.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lwm2m/store/commit_queue.hpp>
#include <lwm2m/store/sqlite_stores.hpp>

#include "temp_dir.hpp"

namespace lwm2m::store {
namespace {

constexpr int changes_per_unit = 8;

std::string endpoint_of(std::uint32_t unit, int i) {
    return "crash-ep-" + std::to_string(unit) + "-" + std::to_string(i);
}

[[noreturn]] void child(const std::string& dir, int fd) {
    auto s = SqliteStores::open(dir);
    if (!s) ::_exit(2);
    auto conn = (*s)->open_connection();
    if (!conn) ::_exit(3);
    auto queue = CommitQueue::start(std::move(*conn), 64);
    auto writer = std::make_shared<RegistrationWriter>();
    for (std::uint32_t unit = 0;; ++unit) { // until killed
        std::vector<Change> changes;
        for (int i = 0; i < changes_per_unit; ++i) {
            RegistrationRecord r;
            r.endpoint = endpoint_of(unit, i);
            r.location = std::to_string(unit);
            r.lwm2m_version = "1.1";
            r.binding = "U";
            r.object_links = std::string(200, 'l'); // some bulk per row
            r.updated_at = unit;
            changes.push_back({unit, RegistrationPut{std::move(r)}});
        }
        queue->submit(
            [writer, c = std::move(changes)](Database& db) { return writer->apply(db, c); },
            [fd, unit](Result<void> r) {
                if (!r) ::_exit(4);
                // Reported only after the batch's COMMIT returned: the unit is durable.
                (void)!::write(fd, &unit, sizeof unit);
            });
        if (unit % 256 == 255) queue->flush(); // bounded queue
    }
}

TEST(SqliteStoresCrash, UnitsReportedBeforeSigkillSurviveAndTheDatabaseIsIntact) {
    test::TempDir dir;
    { ASSERT_TRUE(SqliteStores::open(dir.path())); } // schema + key created before the fork
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::close(fds[0]);
        child(dir.path(), fds[1]);
    }
    ::close(fds[1]);

    // Read completions until enough are reported (or 2 s pass), then kill mid-stream.
    std::set<std::uint32_t> reported;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    std::string partial;
    while (reported.size() < 3000 && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        std::uint32_t buf[256];
        const auto n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        ASSERT_EQ(n % static_cast<ssize_t>(sizeof(std::uint32_t)), 0); // pipe writes <= PIPE_BUF
        for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(std::uint32_t)); ++i)
            reported.insert(buf[i]);
    }
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    // Completions written before the kill are still in the pipe.
    for (;;) {
        std::uint32_t buf[256];
        const auto n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(std::uint32_t)); ++i)
            reported.insert(buf[i]);
    }
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    ASSERT_GT(reported.size(), 10U) << "the child committed too little to test anything";
    std::printf("units reported before SIGKILL: %zu\n", reported.size());

    auto s = SqliteStores::open(dir.path());
    ASSERT_TRUE(s) << s.error().message();
    {
        auto st = (*s)->database().prepare("PRAGMA integrity_check");
        ASSERT_TRUE(st);
        ASSERT_TRUE(*st->step());
        EXPECT_EQ(st->text(0), "ok");
    }
    std::set<std::string> present;
    ASSERT_TRUE((*s)->registrations().load(
        [&](RegistrationRecord&& r) { present.insert(std::move(r.endpoint)); }, {}));
    std::size_t missing = 0;
    for (auto unit : reported)
        for (int i = 0; i < changes_per_unit; ++i)
            if (!present.count(endpoint_of(unit, i))) ++missing;
    EXPECT_EQ(missing, 0U);
    // Units are all-or-nothing: every stored unit is complete.
    EXPECT_EQ(present.size() % changes_per_unit, 0U);
    EXPECT_GE(present.size(), reported.size() * changes_per_unit);
}

} // namespace
} // namespace lwm2m::store
