// Redis store benchmarks against SQLite (figures only, never pass/fail; docs/performance.md
// "Redis store"). Run against a local cluster:
//
//   python3 tests/support/redis_cluster.py -- build/dev/bench/store_redis/bench_store_redis
//
// (LWM2M_TEST_REDIS_URL names the cluster; without it the Redis cases report an error.)
//  - BM_CommitRedis/<batch>: registrations per second through RedisRegistrationStore::commit(),
//    `batch` new registrations per commit (1: one per commit, the unloaded server; 64: a loaded
//    server's loop iteration), WAIT 1 on each touched primary (the default durability).
//  - BM_CommitRedisNoWait/<batch>: the same without WAIT (wait_replicas = 0): the replication
//    round trip's share.
//  - BM_CommitSqlite/<batch>: SqliteRegistrationStore::commit() (one transaction per commit,
//    synchronous NORMAL) on /dev/shm, for comparison.
//  - BM_LoadRedis/<n>: load() of n registrations (SCAN of every primary + pipelined GETs).
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <lwm2m/store/redis_stores.hpp>
#include <lwm2m/store/sqlite_stores.hpp>

using namespace lwm2m;
using namespace lwm2m::store;

namespace {

RegistrationRecord registration(std::uint64_t n) {
    RegistrationRecord r;
    r.endpoint = "urn:imei:35" + std::to_string(100000000000ULL + n);
    r.location = std::to_string(n);
    r.lwm2m_version = "1.1";
    r.lifetime_s = 86400;
    r.binding = "U";
    r.object_links = "</>;rt=\"oma.lwm2m\";ct=11543,</1/0>,</3/0>,</4/0>,</5/0>,</3303/0>";
    r.peer = PeerAddr::v4(10, static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8),
                          static_cast<std::uint8_t>(n), 56830);
    r.registered_at = 1'700'000'000;
    r.updated_at = 1'700'000'000;
    return r;
}

std::string temp_path(const char* what) {
    static int n = 0;
    return "/dev/shm/lwm2m_redis_bench_" + std::to_string(::getpid()) + "_" + what +
           std::to_string(n++);
}

std::unique_ptr<RedisStores> open_redis(benchmark::State& state, int wait_replicas) {
    const char* url = std::getenv("LWM2M_TEST_REDIS_URL");
    if (!url) {
        state.SkipWithError("LWM2M_TEST_REDIS_URL is not set (run through redis_cluster.py)");
        return nullptr;
    }
    RedisStoresOptions o;
    o.prefix = "bench" + std::to_string(::getpid()) + "_" + std::to_string(std::rand());
    o.cluster.wait_replicas = wait_replicas;
    const auto key = temp_path("key");
    auto s = RedisStores::open(url, key, o);
    std::filesystem::remove(key);
    if (!s) {
        state.SkipWithError("cannot open the Redis stores");
        return nullptr;
    }
    return std::move(*s);
}

template <class Store>
void commit_loop(benchmark::State& state, Store& store) {
    const auto batch_size = static_cast<std::size_t>(state.range(0));
    std::uint64_t n = 0;
    std::vector<Change> batch;
    for (auto _ : state) {
        batch.clear();
        for (std::size_t i = 0; i < batch_size; ++i) {
            ++n;
            batch.push_back({n, RegistrationPut{registration(n)}});
        }
        if (!store.commit(batch)) {
            state.SkipWithError("a commit failed");
            return;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch_size));
}

void BM_CommitRedis(benchmark::State& state) {
    auto s = open_redis(state, 1);
    if (s) commit_loop(state, s->registrations());
}
BENCHMARK(BM_CommitRedis)->Arg(1)->Arg(64)->UseRealTime();

void BM_CommitRedisNoWait(benchmark::State& state) {
    auto s = open_redis(state, 0);
    if (s) commit_loop(state, s->registrations());
}
BENCHMARK(BM_CommitRedisNoWait)->Arg(1)->Arg(64)->UseRealTime();

void BM_CommitSqlite(benchmark::State& state) {
    const auto dir = temp_path("db");
    {
        auto s = SqliteStores::open(dir);
        if (!s) {
            state.SkipWithError("cannot open SQLite");
            return;
        }
        commit_loop(state, (*s)->registrations());
    }
    std::filesystem::remove_all(dir);
}
BENCHMARK(BM_CommitSqlite)->Arg(1)->Arg(64)->UseRealTime();

void BM_LoadRedis(benchmark::State& state) {
    auto s = open_redis(state, 0);
    if (!s) return;
    const auto n = static_cast<std::uint64_t>(state.range(0));
    std::vector<Change> batch;
    for (std::uint64_t i = 1; i <= n; ++i) {
        batch.push_back({i, RegistrationPut{registration(i)}});
        if (batch.size() == 1000 || i == n) {
            if (!s->registrations().commit(batch)) {
                state.SkipWithError("filling failed");
                return;
            }
            batch.clear();
        }
    }
    for (auto _ : state) {
        std::size_t got = 0;
        if (!s->registrations().load([&](RegistrationRecord&&) { ++got; },
                                     [](ObservationRecord&&) {}) ||
            got != n) {
            state.SkipWithError("load failed");
            return;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_LoadRedis)->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
