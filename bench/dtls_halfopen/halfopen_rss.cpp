// RSS of a dtls::ServerTable holding cookie-verified half-open handshakes, and after they expire
// (before and after transport::release_free_heap()). One configuration per process:
//
//   dtls_halfopen_rss --handshakes 100000 --caps off   # no half-open caps (the old table)
//   dtls_halfopen_rss --handshakes 100000 --caps on    # ServerConfig defaults
//
// Each handshake comes from its own address in its own /24 (only the global cap applies): the
// first ClientHello gets a HelloVerifyRequest, the second carries its cookie and creates a
// session, which then stays silent until the handshake timeout. Prints one line of figures.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <malloc.h>
#include <unistd.h>

#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/server_table.hpp>
#include <lwm2m/transport/heap.hpp>

#include "support/dtls_hello.hpp"

using namespace lwm2m;

namespace {

double rss_mib() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return -1;
    unsigned long size = 0, resident = 0;
    const int n = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    if (n != 2) return -1;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

double heap_in_use_mib() {
    const struct mallinfo2 mi = mallinfo2();
    return static_cast<double>(mi.uordblks + mi.hblkhd) / 1048576.0;
}

class NoKeys final : public dtls::CredentialStore {
public:
    std::optional<SecretBytes> psk_key(BytesView) override { return std::nullopt; }
    bool rpk_allowed(BytesView) override { return false; }
};

Bytes first_client_hello() {
    dtls::ClientConfig c;
    c.server = PeerAddr::v4(10, 0, 0, 1, 5684);
    c.credentials = dtls::PskCredentials{to_bytes("bench"), SecretBytes(Bytes(16, std::byte{7}))};
    auto s = dtls::ClientSession::create(std::move(c));
    if (!s || !s->connect(TimePoint{})) return {};
    auto d = s->poll_transmit();
    return d ? d->bytes : Bytes{};
}

PeerAddr spread(std::uint32_t i) {
    return PeerAddr::v4(static_cast<std::uint8_t>(11 + (i >> 16)),
                        static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i), 1, 4000);
}

} // namespace

int main(int argc, char** argv) {
    std::uint32_t handshakes = 100000;
    bool caps = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--handshakes") == 0)
            handshakes = static_cast<std::uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
        else if (std::strcmp(argv[i], "--caps") == 0)
            caps = std::strcmp(argv[i + 1], "off") != 0;
    }
    NoKeys store;
    dtls::ServerConfig cfg;
    cfg.max_sessions = 1000000;
    if (!caps) { // what the table did before the half-open caps existed
        cfg.max_handshakes = cfg.max_sessions;
        cfg.max_handshakes_per_address = cfg.max_sessions;
        cfg.max_handshakes_per_prefix = cfg.max_sessions;
    }
    auto table = dtls::ServerTable::create(cfg, store);
    const Bytes hello = first_client_hello();
    if (!table || hello.empty()) {
        std::fprintf(stderr, "setup failed\n");
        return 1;
    }
    const double rss_start = rss_mib();
    TimePoint now{};
    std::size_t answered = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint32_t i = 0; i < handshakes; ++i) {
        const PeerAddr from = spread(i);
        table->on_datagram(now, from, hello);
        auto hvr = table->poll_transmit();
        auto cookie = hvr ? test::cookie_of_hello_verify(hvr->bytes) : std::nullopt;
        if (!cookie) {
            std::fprintf(stderr, "no HelloVerifyRequest\n");
            return 1;
        }
        table->on_datagram(now, from, test::with_cookie(hello, *cookie));
        while (auto d = table->poll_transmit())
            answered += d->peer == from ? 1 : 0;
        while (table->poll_event()) {
        }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::size_t held = table->size();
    const double rss_held = rss_mib();
    const double heap_held = heap_in_use_mib();

    now += cfg.handshake_timeout + std::chrono::seconds(1);
    table->on_timeout(now);
    while (table->poll_event()) {
    }
    const double rss_expired = rss_mib();
    const double heap_expired = heap_in_use_mib();
    const bool hint = table->take_release_hint();
    const auto t1 = std::chrono::steady_clock::now();
    const bool released = transport::release_free_heap();
    const double trim_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
    const double rss_trimmed = rss_mib();

    std::printf("caps=%s handshakes=%u verified_sessions_held=%zu (%.0f/s) rss_start=%.1fMiB "
                "rss_held=%.1fMiB heap_held=%.1fMiB per_session=%.1fKiB rss_after_expiry=%.1fMiB "
                "heap_after_expiry=%.1fMiB release_hint=%s malloc_trim=%s (%.1f ms) "
                "rss_after_trim=%.1fMiB\n",
                caps ? "on" : "off", handshakes, held, handshakes / secs, rss_start, rss_held,
                heap_held, held ? (rss_held - rss_start) * 1024.0 / static_cast<double>(held) : 0.0,
                rss_expired, heap_expired, hint ? "yes" : "no", released ? "released" : "nothing",
                trim_ms, rss_trimmed);
    return answered > 0 ? 0 : 1;
}
