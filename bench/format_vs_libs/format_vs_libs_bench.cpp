// Our SenML JSON and SenML CBOR decoders against general-purpose libraries on the same payloads
// (the 20-resource Device instance of bench/format): nlohmann-json's DOM parse and its SAX parser
// (json::sax_parse with a handler that only counts), libcbor's cbor_load (DOM) and its streaming
// decoder (cbor_stream_decode with empty callbacks). The library figures do no LwM2M work at all
// (no paths, no type checks against the object definitions), so they are lower bounds for a
// decoder built on them. Figures only, no pass/fail. Run: build/release/bench/format_vs_libs/
// bench_format_vs_libs (scripts/bench bench_format_vs_libs).
#include <benchmark/benchmark.h>

#include <cbor.h>
#include <nlohmann/json.hpp>

#include <lwm2m/format/codec.hpp>

#include "unit/format/test_defs.hpp"

#include "alloc_counter.hpp"

namespace {

using namespace lwm2m;
using format::ContentFormat;

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

const Bytes& payload(ContentFormat f) {
    static const Bytes json = *format::encode(ContentFormat::senml_json, device20());
    static const Bytes cbor = *format::encode(ContentFormat::senml_cbor, device20());
    return f == ContentFormat::senml_json ? json : cbor;
}

void BM_Ours_Decode(benchmark::State& state, ContentFormat f) {
    const Bytes& in = payload(f);
    const dm::Path target(Oid{3}, Iid{0});
    AllocCount allocs(state);
    for (auto _ : state) {
        auto c = format::decode(f, in, target, reg());
        if (!c) state.SkipWithError("decode failed");
        benchmark::DoNotOptimize(c);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK_CAPTURE(BM_Ours_Decode, senml_json, ContentFormat::senml_json);
BENCHMARK_CAPTURE(BM_Ours_Decode, senml_cbor, ContentFormat::senml_cbor);

void BM_Nlohmann_Parse(benchmark::State& state) {
    const Bytes& in = payload(ContentFormat::senml_json);
    const auto* p = reinterpret_cast<const char*>(in.data());
    AllocCount allocs(state);
    for (auto _ : state) {
        auto j = nlohmann::json::parse(p, p + in.size());
        benchmark::DoNotOptimize(j);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_Nlohmann_Parse);

/// Counts events; keeps nothing (the cheapest possible consumer of nlohmann's SAX interface).
struct CountingSax : nlohmann::json_sax<nlohmann::json> {
    std::size_t events = 0;
    bool null() override { return ++events != 0; }
    bool boolean(bool) override { return ++events != 0; }
    bool number_integer(number_integer_t) override { return ++events != 0; }
    bool number_unsigned(number_unsigned_t) override { return ++events != 0; }
    bool number_float(number_float_t, const string_t&) override { return ++events != 0; }
    bool string(string_t&) override { return ++events != 0; }
    bool binary(binary_t&) override { return ++events != 0; }
    bool start_object(std::size_t) override { return ++events != 0; }
    bool key(string_t&) override { return ++events != 0; }
    bool end_object() override { return ++events != 0; }
    bool start_array(std::size_t) override { return ++events != 0; }
    bool end_array() override { return ++events != 0; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return false;
    }
};

void BM_Nlohmann_Sax(benchmark::State& state) {
    const Bytes& in = payload(ContentFormat::senml_json);
    const auto* p = reinterpret_cast<const char*>(in.data());
    AllocCount allocs(state);
    for (auto _ : state) {
        CountingSax sax;
        const bool ok = nlohmann::json::sax_parse(p, p + in.size(), &sax);
        if (!ok) state.SkipWithError("sax_parse failed");
        benchmark::DoNotOptimize(sax.events);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_Nlohmann_Sax);

void BM_Libcbor_Load(benchmark::State& state) {
    const Bytes& in = payload(ContentFormat::senml_cbor);
    const auto* p = reinterpret_cast<cbor_data>(in.data());
    for (auto _ : state) {
        cbor_load_result r;
        cbor_item_t* item = cbor_load(p, in.size(), &r);
        if (item == nullptr) state.SkipWithError("cbor_load failed");
        benchmark::DoNotOptimize(item);
        if (item != nullptr) cbor_decref(&item);
    }
    // libcbor allocates with malloc: the "allocs" counter (operator new) would not see it.
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_Libcbor_Load);

void BM_Libcbor_Stream(benchmark::State& state) {
    const Bytes& in = payload(ContentFormat::senml_cbor);
    const auto* p = reinterpret_cast<cbor_data>(in.data());
    for (auto _ : state) {
        std::size_t offset = 0;
        std::size_t items = 0;
        while (offset < in.size()) {
            const cbor_decoder_result r =
                cbor_stream_decode(p + offset, in.size() - offset, &cbor_empty_callbacks, nullptr);
            if (r.status != CBOR_DECODER_FINISHED || r.read == 0) {
                state.SkipWithError("cbor_stream_decode failed");
                break;
            }
            offset += r.read;
            ++items;
        }
        benchmark::DoNotOptimize(items);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_Libcbor_Stream);

} // namespace

BENCHMARK_MAIN();
