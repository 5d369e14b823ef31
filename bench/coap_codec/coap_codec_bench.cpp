// CoAP codec micro-benchmarks (RFC 7252 §3): decode and encode of an LwM2M Register request and
// of a small 2.05 Content response. Every benchmark reports allocs/op, counted by the global
// operator new replacement of lwm2m_alloc_counter (decode and encode into a caller buffer must show
// 0).
#include <benchmark/benchmark.h>

#include <vector>

#include <lwm2m/coap/codec.hpp>

#include "alloc_counter.hpp"
#include "support/coap_samples.hpp"

namespace {

using namespace lwm2m;
using namespace lwm2m::coap;

using lwm2m::test::make_register;
using lwm2m::test::register_links;

Message make_content() {
    Message m;
    m.type = Type::ack;
    m.code = code::content;
    m.message_id = 0x7d34;
    m.token = Token::from_u64(0x1122334455667788ULL);
    m.add_uint_option(option::content_format, content_format::senml_cbor);
    m.payload = to_bytes(std::string_view("\x81\xa2\x00\x67/3/0/0/\x03\x64"
                                          "ACME",
                                          18)); // SenML CBOR
    return m;
}

// Wraps a measured loop with allocation counting and standard counters.
template <class F>
void run(benchmark::State& state, std::size_t bytes, F&& body) {
    const std::size_t before = lwm2m::test::allocation_count();
    for (auto _ : state)
        body();
    state.counters["allocs/op"] =
        benchmark::Counter(static_cast<double>(lwm2m::test::allocation_count() - before),
                           benchmark::Counter::kAvgIterations);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void decode_into_bench(benchmark::State& state, const Message& m) {
    const Bytes wire = encode(m);
    MessageView view;
    run(state, wire.size(), [&] {
        benchmark::DoNotOptimize(wire.data());
        auto r = decode_into(wire, view);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(view);
    });
    if (!decode_into(wire, view) || view.option_count != m.options().size())
        state.SkipWithError("decode failed");
}

void decode_by_value_bench(benchmark::State& state, const Message& m) {
    const Bytes wire = encode(m);
    run(state, wire.size(), [&] {
        benchmark::DoNotOptimize(wire.data());
        auto r = decode(wire);
        benchmark::DoNotOptimize(r);
    });
}

void encode_message_bench(benchmark::State& state, const Message& m) {
    std::vector<std::byte> buf(1500);
    run(state, encoded_size(m), [&] {
        auto r = encode(m, buf);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(buf.data());
    });
}

void encode_view_bench(benchmark::State& state, const Message& m) {
    const Bytes wire = encode(m);
    MessageView view;
    if (!decode_into(wire, view)) state.SkipWithError("decode failed");
    std::vector<std::byte> buf(1500);
    run(state, wire.size(), [&] {
        auto r = encode(view, buf);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(buf.data());
    });
}

void BM_DecodeInto_Register(benchmark::State& s) {
    decode_into_bench(s, make_register());
}
void BM_DecodeByValue_Register(benchmark::State& s) {
    decode_by_value_bench(s, make_register());
}
void BM_Encode_Register(benchmark::State& s) {
    encode_message_bench(s, make_register());
}
void BM_EncodeView_Register(benchmark::State& s) {
    encode_view_bench(s, make_register());
}
void BM_DecodeInto_Content(benchmark::State& s) {
    decode_into_bench(s, make_content());
}
void BM_DecodeByValue_Content(benchmark::State& s) {
    decode_by_value_bench(s, make_content());
}
void BM_Encode_Content(benchmark::State& s) {
    encode_message_bench(s, make_content());
}
void BM_EncodeView_Content(benchmark::State& s) {
    encode_view_bench(s, make_content());
}

// The full client-side cost of building a Register request and encoding it to a new buffer
// (owning Message: one allocation per option value, the payload and the output).
void BM_BuildAndEncode_Register(benchmark::State& state) {
    run(state, encoded_size(make_register()), [&] {
        const Message m = make_register();
        Bytes out = encode(m);
        benchmark::DoNotOptimize(out.data());
    });
}

// Decode + copy into an owning Message (what a caller that keeps a message pays).
void BM_DecodeAndCopy_Register(benchmark::State& state) {
    const Bytes wire = encode(make_register());
    MessageView view;
    run(state, wire.size(), [&] {
        if (decode_into(wire, view)) {
            Message m = Message::from_view(view);
            benchmark::DoNotOptimize(m);
        }
    });
}

BENCHMARK(BM_DecodeInto_Register);
BENCHMARK(BM_DecodeByValue_Register);
BENCHMARK(BM_Encode_Register);
BENCHMARK(BM_EncodeView_Register);
BENCHMARK(BM_DecodeInto_Content);
BENCHMARK(BM_DecodeByValue_Content);
BENCHMARK(BM_Encode_Content);
BENCHMARK(BM_EncodeView_Content);
BENCHMARK(BM_BuildAndEncode_Register);
BENCHMARK(BM_DecodeAndCopy_Register);

} // namespace

BENCHMARK_MAIN();
