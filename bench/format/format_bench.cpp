// Content-format throughput: a Device object instance with 20 resources (the TS 1.1 §7.4.3 example
// plus Firmware/Hardware/Software versions, Device Type, Battery Status, Memory Total, Timezone and
// a multiple ExtDevInfo objlnk), encoded and decoded in each format. Figures only, no pass/fail.
// Run: build/<release>/bench/format/format_bench
#include <benchmark/benchmark.h>

#include <lwm2m/format/codec.hpp>
#include <lwm2m/format/link_format.hpp>

#include "format/formats.hpp"
#include "unit/format/test_defs.hpp"

#include "alloc_counter.hpp"

namespace {

using namespace lwm2m;

// Sets the "allocs" counter to the allocations per iteration of the timed loop.
class AllocCount {
public:
    explicit AllocCount(benchmark::State& s)
        : state_(s)
        , start_(lwm2m::test::allocation_count()) {}
    ~AllocCount() {
        const auto n = lwm2m::test::allocation_count() - start_;
        state_.counters["allocs"] =
            state_.iterations() == 0
                ? 0.0
                : static_cast<double>(n) / static_cast<double>(state_.iterations());
    }
    AllocCount(const AllocCount&) = delete;
    AllocCount& operator=(const AllocCount&) = delete;

private:
    benchmark::State& state_;
    std::uint64_t start_;
};
using namespace lwm2m::format;

dm::Content device20() {
    dm::Instance i = format::test::ts_device_instance(); // 13 resources
    auto put = [&](dm::Resource r) { i.resources[r.id] = std::move(r); };
    put(dm::Resource::single(15, dm::Value::string("Europe/Berlin")));
    put(dm::Resource::single(17, dm::Value::string("Sensor")));
    put(dm::Resource::single(18, dm::Value::string("HW-1.2")));
    put(dm::Resource::single(19, dm::Value::string("SW-4.5.6")));
    put(dm::Resource::single(20, dm::Value::integer(1)));
    put(dm::Resource::single(21, dm::Value::integer(262144)));
    put(dm::Resource::multi(22, {{0, dm::Value::objlnk(3303, 0)}}));
    return dm::Content{dm::Path(Oid{3}, Iid{0}), std::move(i)};
}

const dm::ObjectRegistry& reg() {
    static const dm::ObjectRegistry r = format::test::registry();
    return r;
}

void BM_Encode(benchmark::State& state, ContentFormat f) {
    const auto c = device20();
    std::size_t size = 0;
    AllocCount allocs(state);
    for (auto _ : state) {
        auto out = encode(f, c);
        size = out->size();
        benchmark::DoNotOptimize(out);
    }
    state.counters["bytes"] = static_cast<double>(size);
}

void BM_Decode(benchmark::State& state, ContentFormat f) {
    const auto c = device20();
    const auto bytes = *encode(f, c);
    const dm::Path target(Oid{3}, Iid{0});
    AllocCount allocs(state);
    for (auto _ : state) {
        auto out = decode(f, bytes, target, reg());
        if (!out) state.SkipWithError("decode failed");
        benchmark::DoNotOptimize(out);
    }
    state.counters["bytes"] = static_cast<double>(bytes.size());
}

// The parse step alone (payload -> leaf records, before the registry check and tree build).
void BM_ParseSenmlCborRecords(benchmark::State& state) {
    const auto bytes = *encode(ContentFormat::senml_cbor, device20());
    AllocCount allocs(state);
    for (auto _ : state) {
        auto out = detail::senml_cbor_decode(bytes, DecodeOptions{});
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(BM_ParseSenmlCborRecords);

// The tree build alone (leaf records -> checked Content).
void BM_FromRecords(benchmark::State& state) {
    const auto recs = to_records(device20());
    const dm::Path target(Oid{3}, Iid{0});
    AllocCount allocs(state);
    for (auto _ : state) {
        auto copy = recs;
        auto out = from_records(std::move(copy), target, reg());
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(BM_FromRecords);

void BM_ParseLinks(benchmark::State& state) {
    const std::string text =
        R"(</>;rt="oma.lwm2m";ct=11543,</1/0>,</1/1>,</2/0>,</3>;ver=1.1,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</3303/0>,</3303/1>;pmin=10;pmax=60)";
    AllocCount allocs(state);
    for (auto _ : state) {
        auto l = parse_links(text);
        benchmark::DoNotOptimize(l);
    }
}

BENCHMARK_CAPTURE(BM_Encode, tlv, ContentFormat::lwm2m_tlv);
BENCHMARK_CAPTURE(BM_Decode, tlv, ContentFormat::lwm2m_tlv);
BENCHMARK_CAPTURE(BM_Encode, senml_cbor, ContentFormat::senml_cbor);
BENCHMARK_CAPTURE(BM_Decode, senml_cbor, ContentFormat::senml_cbor);
BENCHMARK_CAPTURE(BM_Encode, senml_json, ContentFormat::senml_json);
BENCHMARK_CAPTURE(BM_Decode, senml_json, ContentFormat::senml_json);
BENCHMARK_CAPTURE(BM_Encode, lwm2m_cbor, ContentFormat::lwm2m_cbor);
BENCHMARK_CAPTURE(BM_Decode, lwm2m_cbor, ContentFormat::lwm2m_cbor);
BENCHMARK_CAPTURE(BM_Encode, lwm2m_json, ContentFormat::lwm2m_json);
BENCHMARK_CAPTURE(BM_Decode, lwm2m_json, ContentFormat::lwm2m_json);
BENCHMARK(BM_ParseLinks);

} // namespace

BENCHMARK_MAIN();
