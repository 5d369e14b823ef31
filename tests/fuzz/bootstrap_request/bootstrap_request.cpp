// Fuzz target: the Bootstrap-Request parser and the engine's request handling. The input is a
// CoAP datagram: parsed alone (check_bootstrap_request must accept only well-formed requests and
// refuse with 4.00/4.05 and a diagnostic otherwise), then fed to a NoSec bootstrap engine that
// knows the endpoint "fz" (whatever arrives, nothing crashes, every answer is a valid CoAP
// message, and a session only starts for "fz").
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <lwm2m/bootstrap/engine.hpp>
#include <lwm2m/bootstrap/request.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/store/memory_bootstrap_config_store.hpp>

#include "support/bootstrap_samples.hpp"

namespace {

struct Wall final : lwm2m::WallClock {
    [[nodiscard]] std::int64_t unix_seconds() const override { return 1'800'000'000; }
};

void parse_alone(lwm2m::BytesView in) {
    using namespace lwm2m;
    const auto v = coap::decode(in);
    if (!v) return;
    const coap::Message m = coap::Message::from_view(*v);
    (void)bootstrap::is_bootstrap_path(m);
    bootstrap::BootstrapRequest r;
    const auto refusal = bootstrap::check_bootstrap_request(m, r);
    if (refusal) {
        if (refusal->code != coap::code::bad_request &&
            refusal->code != coap::code::method_not_allowed)
            std::abort();
        if (refusal->diagnostic.empty()) std::abort();
        return;
    }
    if (m.code != coap::code::post) std::abort();
    if (r.endpoint.empty() || r.endpoint.size() > 255) std::abort();
    for (char c : r.endpoint)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
}

void through_engine(lwm2m::BytesView in) {
    using namespace lwm2m;
    static store::MemoryBootstrapConfigStore store;
    if (store.size() == 0 && !store.put(test::typical_bootstrap_config("fz", test::bs_nosec("fz"))))
        std::abort();
    SeededRandom random(1);
    Wall wall;
    bootstrap::EngineConfig cfg;
    cfg.allow_nosec = true;
    auto engine = bootstrap::Engine::create(cfg, store, random, wall);
    if (!engine) std::abort();
    const PeerAddr peer = PeerAddr::v4(192, 0, 2, 1, 5683);
    TimePoint now = TimePoint{} + std::chrono::seconds(1);
    engine->on_datagram(now, peer, in);
    for (int k = 0; k < 4; ++k) {
        while (auto d = engine->poll_transmit())
            if (!coap::decode(d->bytes)) std::abort();
        while (auto e = engine->poll_event()) {
            if (const auto* s = std::get_if<bootstrap::BootstrapStarted>(&*e))
                if (s->endpoint != "fz") std::abort();
            (void)bootstrap::describe(*e);
        }
        if (auto d = engine->next_deadline()) {
            now = std::max(now, *d);
            engine->on_timeout(now);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const lwm2m::BytesView in(reinterpret_cast<const std::byte*>(data), size);
    parse_alone(in);
    through_engine(in);
    return 0;
}
