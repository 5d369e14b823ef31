// SQLite store benchmarks (figures only, never pass/fail); docs/store.md has the figures.
//  - BM_CommitRegistrations/<max_batch>/<fs>/<sync>: registrations made durable per second
//    through CommitQueue, the way the server commits its journal: one unit of work per
//    registration (RegistrationWriter::apply of one RegistrationPut, a new endpoint each time),
//    2048 units submitted back to back then flush(). max_batch 64: the writer groups up to 64
//    units per transaction; 1: one transaction per registration. fs 0 = /dev/shm (tmpfs, no
//    real fsync), 1 = the current directory (run it from a directory on the disk to measure,
//    e.g. the build tree on /work). sync 0 = synchronous NORMAL (survives a process crash),
//    1 = FULL (one fsync per transaction: survives power loss).
//  - BM_SecurityLookup: find_by_psk_identity() on 10,000 PSK records (memory index).
//  - BM_LoadRegistrations: reading 100,000 registrations back at start-up (load()).
#include <benchmark/benchmark.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <lwm2m/store/commit_queue.hpp>
#include <lwm2m/store/sqlite_stores.hpp>

using namespace lwm2m;
using namespace lwm2m::store;

namespace {

class BenchDir {
public:
    explicit BenchDir(const std::filesystem::path& base) {
        path_ = base / ("lwm2m_store_bench_" + std::to_string(::getpid()) + "_" +
                        std::to_string(counter_++));
        std::filesystem::remove_all(path_);
    }
    ~BenchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] std::string path() const { return path_.string(); }

private:
    static inline int counter_ = 0;
    std::filesystem::path path_;
};

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

void BM_CommitRegistrations(benchmark::State& state) {
    const auto max_batch = static_cast<std::size_t>(state.range(0));
    const std::filesystem::path base =
        state.range(1) == 0 ? std::filesystem::path("/dev/shm") : std::filesystem::current_path();
    SqliteStoresOptions options;
    options.synchronous = state.range(2) == 0 ? Synchronous::normal : Synchronous::full;
    BenchDir dir(base);
    auto stores = SqliteStores::open(dir.path(), options);
    if (!stores) {
        state.SkipWithError("cannot open the data directory");
        return;
    }
    auto conn = (*stores)->open_connection();
    if (!conn) {
        state.SkipWithError("cannot open a second connection");
        return;
    }
    auto queue = CommitQueue::start(std::move(*conn), max_batch);
    auto writer = std::make_shared<RegistrationWriter>();
    constexpr int units = 2048;
    std::uint64_t n = 0;
    std::atomic<std::uint64_t> failed{0};
    for (auto _ : state) {
        for (int i = 0; i < units; ++i) {
            std::vector<Change> changes{{++n, RegistrationPut{registration(n)}}};
            queue->submit(
                [writer, c = std::move(changes)](Database& db) { return writer->apply(db, c); },
                [&failed](Result<void> r) {
                    if (!r) ++failed;
                });
        }
        queue->flush();
    }
    if (failed != 0) state.SkipWithError("a commit failed");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * units);
    const auto stats = queue->stats();
    state.counters["units_per_txn"] =
        stats.batches ? static_cast<double>(stats.units) / static_cast<double>(stats.batches) : 0;
}
BENCHMARK(BM_CommitRegistrations)
    ->ArgNames({"max_batch", "disk", "full"})
    ->Args({64, 0, 0})
    ->Args({1, 0, 0})
    ->Args({64, 1, 0})
    ->Args({1, 1, 0})
    ->Args({64, 1, 1})
    ->Args({1, 1, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SecurityLookup(benchmark::State& state) {
    BenchDir dir("/dev/shm");
    auto stores = SqliteStores::open(dir.path());
    if (!stores) {
        state.SkipWithError("cannot open the data directory");
        return;
    }
    constexpr int records = 10000;
    std::vector<Bytes> identities;
    if (!(*stores)->database().exec("BEGIN")) return state.SkipWithError("BEGIN");
    for (int i = 0; i < records; ++i) {
        SecurityInfo info;
        info.endpoint = "ep-" + std::to_string(i);
        info.psk_identity = to_bytes("identity-" + std::to_string(i));
        Bytes key(16, static_cast<std::byte>(i));
        info.psk_key = SecretBytes(key);
        identities.push_back(info.psk_identity);
        if (!(*stores)->security().put(std::move(info))) return state.SkipWithError("put");
    }
    if (!(*stores)->database().exec("COMMIT")) return state.SkipWithError("COMMIT");
    std::size_t i = 0;
    std::size_t found = 0;
    for (auto _ : state) {
        const auto* info = (*stores)->security().find_by_psk_identity(identities[i]);
        found += info != nullptr;
        benchmark::DoNotOptimize(info);
        i = (i + 7919) % records;
    }
    if (found != static_cast<std::size_t>(state.iterations())) state.SkipWithError("missing");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_SecurityLookup);

void BM_LoadRegistrations(benchmark::State& state) {
    BenchDir dir("/dev/shm");
    auto stores = SqliteStores::open(dir.path());
    if (!stores) {
        state.SkipWithError("cannot open the data directory");
        return;
    }
    const auto count = static_cast<std::uint64_t>(state.range(0));
    std::vector<Change> batch;
    for (std::uint64_t n = 0; n < count; ++n)
        batch.push_back({n + 1, RegistrationPut{registration(n)}});
    if (!(*stores)->registrations().commit(batch)) return state.SkipWithError("commit");
    std::size_t loaded = 0;
    for (auto _ : state) {
        loaded = 0;
        if (!(*stores)->registrations().load([&](RegistrationRecord&&) { ++loaded; }, {}))
            return state.SkipWithError("load");
    }
    if (loaded != count) state.SkipWithError("missing");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
}
BENCHMARK(BM_LoadRegistrations)->Arg(100000)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
