// Fuzz target: the client engine fed arbitrary datagrams from its registered DM server and from
// its Bootstrap Server. Input: records of [u8 flags][u16 length][datagram]; flags bit 0: from
// the Bootstrap Server (else the DM server), bits 1-7: seconds of virtual time to advance first.
// Invariants (std::abort on violation): no crash; no datagram from the client ever holds a byte
// sequence of the Object 0 keys (raw, hex or base64); the committed configuration stays
// consistent; the persisted state always decodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/client/engine_state.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/dm/value_text.hpp>

#include "support/engine_objects.hpp"

namespace {

using namespace lwm2m;
using namespace lwm2m::client;
using namespace lwm2m::client::test;

const Bytes& secret_key() {
    static const Bytes k = bytes_of(16, 0xC3);
    return k;
}

ClientConfig fuzz_config() {
    ClientConfig c = nosec_config(300, true, true);
    c.security[2] = sec(
        psk_account(2, 102, to_bytes("fuzz-identity"), secret_key(), "coaps://192.0.2.99:5684"));
    c.servers[1] = srv(server_instance(1, 102));
    return c;
}

bool contains(BytesView hay, BytesView needle) {
    if (needle.empty() || hay.size() < needle.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
        if (equal(hay.subspan(i, needle.size()), needle)) return true;
    return false;
}

void check_out(const Datagram& d) {
    static const std::string hex = to_hex(secret_key());
    static const std::string b64 = dm::base64_encode(secret_key());
    if (contains(d.bytes, secret_key()) || contains(d.bytes, as_bytes(hex)) ||
        contains(d.bytes, as_bytes(b64)))
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ManualWallClock wall;
    SeededRandom rnd(1);
    MapResolver resolver;
    resolver.hosts["dm.test"] = kDmAddr;
    resolver.hosts["bs.test"] = kBsAddr;
    static const auto registry = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_1);
    TimePoint now = TimePoint{} + std::chrono::seconds(1);
    AccountStore store(fuzz_config(), wall, now);
    EngineConfig cfg;
    cfg.endpoint_name = "fuzz";
    Engine engine(cfg, store, registry, rnd, wall, resolver);
    TestObject device(3, registry, "1.1");
    fill_device(device);
    (void)engine.add_object(device);
    device.listener = &engine;
    engine.start(now);

    // Register: answer the Register CON with a piggybacked 2.01.
    auto drain = [&] {
        while (auto d = engine.poll_transmit()) {
            check_out(*d);
            if (d->peer == kDmAddr) answer_register(engine, now, *d);
        }
        while (engine.poll_event()) {
        }
    };
    drain();
    drain();

    std::size_t pos = 0;
    while (pos + 3 <= size) {
        const std::uint8_t flags = data[pos];
        const std::size_t len = (std::size_t{data[pos + 1]} << 8) | data[pos + 2];
        pos += 3;
        const std::size_t n = std::min(len, size - pos);
        const std::uint32_t advance = flags >> 1;
        if (advance > 0) {
            now += std::chrono::seconds(advance);
            wall.advance(std::chrono::seconds(advance));
            if (auto dl = engine.next_deadline(); dl && *dl <= now) engine.on_timeout(now);
            drain();
        }
        engine.on_datagram(now, (flags & 1) ? kBsAddr : kDmAddr,
                           BytesView(reinterpret_cast<const std::byte*>(data + pos), n));
        drain();
        pos += n;
    }
    // Let every timer run for a while (notifications, retries, bootstrap timeouts).
    for (int i = 0; i < 64; ++i) {
        auto dl = engine.next_deadline();
        if (!dl) break;
        if (*dl > now) {
            wall.advance(std::chrono::duration_cast<std::chrono::seconds>(*dl - now));
            now = *dl;
        }
        engine.on_timeout(now);
        drain();
    }
    if (!check_consistency(store.committed()).empty()) std::abort();
    const auto snap = engine.snapshot();
    if (!decode_engine_state(snap.state)) std::abort();
    if (!decode_config(snap.accounts.view())) std::abort();
    return 0;
}
