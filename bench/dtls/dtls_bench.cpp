// DTLS handshake cost: bare GnuTLS in memory vs our ClientSession + ServerTable, PSK and
// ECDHE-ECDSA (mutual X.509), plus heap per idle established server session.
//
//   build/<release>/bench/dtls/dtls_bench
//
// (a) BM_BareGnutlsPsk:   two GnuTLS sessions, direct buffers, stateless cookie exchange.
// (b) BM_OursPsk:         ClientSession + ServerTable doing the same handshake.
// (c) BM_BareGnutlsEcdhe / BM_OursEcdhe: TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, both sides present
//     P-256 certificates; the server verifies the client chain against the CA, the client
//     checks the server certificate (exact match, LwM2M certificate usage 3).
// (d) BM_IdleSessionHeap: heap (mallinfo2) per idle established server session at 10,000, with
//     the session on GnuTLS (arg 2 = 0) or on the own record path (arg 2 = 1, issue #13).
// (e) BM_ServerSeal / BM_ServerOpen: one server-side application record of N bytes protected
//     or opened, GnuTLS (arg 1 = 0) vs the own AES-128-CCM-8 record path (arg 1 = 1).
// Every handshake includes cookie exchange, one application record and the server-side close.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

#include <gnutls/crypto.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/server_table.hpp>

#include "dtls/bare_gnutls.hpp"
#include "support/dtls_creds.hpp"

namespace {

using namespace lwm2m;
using namespace lwm2m::dtls;
using namespace lwm2m::bench;

// ---- ours -------------------------------------------------------------------------------------

class Store final : public CredentialStore {
public:
    std::optional<SecretBytes> psk_key(BytesView identity) override {
        if (identity.size() == 128) return SecretBytes(bench::psk_key());
        return std::nullopt;
    }
    bool rpk_allowed(BytesView) override { return false; }
};

const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 1, 5684);

ServerConfig server_config(bool ecdhe, bool own_record_path = true) {
    ServerConfig cfg;
    cfg.own_record_path = own_record_path;
    if (ecdhe) {
        const auto& pki = lwm2m::test::test_pki();
        cfg.psk = false;
        cfg.x509 = X509Credentials{{pki.server.der}, pki.server.key.private_key_der};
        cfg.client_ca_der = {pki.ca.der};
        cfg.cipher_suites = {CipherSuite::ecdhe_ecdsa_aes_128_ccm_8};
    } else {
        cfg.cipher_suites = {CipherSuite::psk_aes_128_ccm_8};
    }
    cfg.max_sessions = 200000;
    cfg.idle_timeout = std::chrono::hours(24);
    return cfg;
}

ClientConfig client_config(bool ecdhe) {
    ClientConfig cfg;
    cfg.server = kServer;
    if (ecdhe) {
        const auto& pki = lwm2m::test::test_pki();
        cfg.credentials = X509Credentials{{pki.client.der}, pki.client.key.private_key_der};
        cfg.server_public_key = pki.server.der;
        cfg.cipher_suites = {CipherSuite::ecdhe_ecdsa_aes_128_ccm_8};
    } else {
        cfg.credentials = PskCredentials{psk_identity(), SecretBytes(psk_key())};
        cfg.cipher_suites = {CipherSuite::psk_aes_128_ccm_8};
    }
    return cfg;
}

/// One complete handshake through our API; the session stays open unless `close`.
bool our_handshake(ServerTable& server, const ClientConfig& ccfg, const PeerAddr& at, bool close) {
    auto client = ClientSession::create(ccfg);
    if (!client) return false;
    const TimePoint now{};
    if (!client->connect(now)) return false;
    for (int round = 0; round < 20 && !client->established(); ++round) {
        while (auto d = client->poll_transmit())
            server.on_datagram(now, at, d->bytes);
        while (auto d = server.poll_transmit())
            client->on_datagram(now, kServer, d->bytes);
    }
    if (!client->established()) return false;
    if (!client->send(now, kServer, as_bytes("coap register"))) return false;
    while (auto d = client->poll_transmit())
        server.on_datagram(now, at, d->bytes);
    bool got = false;
    while (auto e = server.poll_event())
        got |= std::holds_alternative<Plaintext>(*e);
    while (client->poll_event()) {
    }
    if (close) server.close(now, at);
    while (server.poll_transmit()) {
    }
    return got;
}

void BM_BareGnutlsPsk(benchmark::State& st) {
    BareServer srv(false);
    for (auto _ : st)
        if (!bare_handshake(srv)) st.SkipWithError("bare handshake failed");
    st.SetItemsProcessed(st.iterations());
}
void BM_OursPsk(benchmark::State& st) {
    Store store;
    auto server = ServerTable::create(server_config(false), store);
    const auto ccfg = client_config(false);
    std::uint32_t i = 0;
    for (auto _ : st) {
        ++i;
        const auto at = PeerAddr::v4(192, 0, static_cast<std::uint8_t>(i >> 16),
                                     static_cast<std::uint8_t>(i >> 8),
                                     static_cast<std::uint16_t>(1024 + (i & 0xFF)));
        if (!our_handshake(*server, ccfg, at, true)) st.SkipWithError("our handshake failed");
    }
    st.SetItemsProcessed(st.iterations());
}
void BM_BareGnutlsEcdhe(benchmark::State& st) {
    (void)lwm2m::test::test_pki();
    BareServer srv(true);
    for (auto _ : st)
        if (!bare_handshake(srv)) st.SkipWithError("bare handshake failed");
    st.SetItemsProcessed(st.iterations());
}
void BM_OursEcdhe(benchmark::State& st) {
    Store store;
    auto server = ServerTable::create(server_config(true), store);
    const auto ccfg = client_config(true);
    std::uint32_t i = 0;
    for (auto _ : st) {
        ++i;
        const auto at = PeerAddr::v4(192, 0, static_cast<std::uint8_t>(i >> 16),
                                     static_cast<std::uint8_t>(i >> 8),
                                     static_cast<std::uint16_t>(1024 + (i & 0xFF)));
        if (!our_handshake(*server, ccfg, at, true)) st.SkipWithError("our handshake failed");
    }
    st.SetItemsProcessed(st.iterations());
}

std::size_t heap_in_use() {
    const struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

void BM_IdleSessionHeap(benchmark::State& st) {
    const auto n = static_cast<std::uint32_t>(st.range(0));
    for (auto _ : st) {
        Store store;
        auto server = ServerTable::create(server_config(false, st.range(1) != 0), store);
        const auto ccfg = client_config(false);
        // Warm-up: one session opened and closed (first-use allocations inside GnuTLS).
        our_handshake(*server, ccfg, PeerAddr::v4(198, 51, 100, 1, 1), true);
        const std::size_t before = heap_in_use();
        for (std::uint32_t i = 0; i < n; ++i) {
            const auto at =
                PeerAddr::v4(10, static_cast<std::uint8_t>(i >> 16),
                             static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i), 5683);
            if (!our_handshake(*server, ccfg, at, false)) {
                st.SkipWithError("handshake failed");
                return;
            }
        }
        const std::size_t after = heap_in_use();
        if (server->size() != n) st.SkipWithError("sessions missing");
        st.counters["sessions"] = static_cast<double>(server->size());
        st.counters["bytes_per_session"] = static_cast<double>(after - before) / n;
        st.counters["own_path"] = static_cast<double>(server->stats().own_path_switches);
    }
}

/// One established PSK CCM-8 session kept open, for the record benchmarks.
struct OpenSession {
    Store store;
    std::optional<ServerTable> server;
    std::optional<ClientSession> client;
    const PeerAddr at = PeerAddr::v4(192, 0, 2, 1, 40000);
    TimePoint now{};
    explicit OpenSession(bool own) {
        auto s = ServerTable::create(server_config(false, own), store);
        auto c = ClientSession::create(client_config(false));
        if (!s || !c) return;
        server.emplace(std::move(*s));
        client.emplace(std::move(*c));
        if (!client->connect(now)) return;
        for (int round = 0; round < 20 && !client->established(); ++round) {
            while (auto d = client->poll_transmit())
                server->on_datagram(now, at, d->bytes);
            while (auto d = server->poll_transmit())
                client->on_datagram(now, kServer, d->bytes);
        }
        while (server->poll_event()) {
        }
        while (client->poll_event()) {
        }
    }
    [[nodiscard]] bool ok() const {
        return client && client->established() && server && server->established(at);
    }
};

void BM_ServerSeal(benchmark::State& st) {
    OpenSession s(st.range(0) != 0);
    if (!s.ok()) {
        st.SkipWithError("no session");
        return;
    }
    const Bytes payload(static_cast<std::size_t>(st.range(1)), std::byte{0x5A});
    for (auto _ : st) {
        if (!s.server->send(s.now, s.at, payload)) st.SkipWithError("send failed");
        auto d = s.server->poll_transmit();
        benchmark::DoNotOptimize(d);
    }
    st.SetItemsProcessed(st.iterations());
    st.SetBytesProcessed(st.iterations() * st.range(1));
}

void BM_ServerOpen(benchmark::State& st) {
    OpenSession s(st.range(0) != 0);
    if (!s.ok()) {
        st.SkipWithError("no session");
        return;
    }
    const Bytes payload(static_cast<std::size_t>(st.range(1)), std::byte{0x5A});
    // Records from the client, made outside the timed region in batches (each is accepted only
    // once: RFC 6347 §4.1.2.6 replay window).
    std::vector<Bytes> batch;
    std::size_t next = 0;
    for (auto _ : st) {
        if (next == batch.size()) {
            st.PauseTiming();
            batch.clear();
            next = 0;
            for (int i = 0; i < 4096; ++i) {
                if (!s.client->send(s.now, kServer, payload)) break;
                while (auto d = s.client->poll_transmit())
                    batch.push_back(std::move(d->bytes));
            }
            st.ResumeTiming();
        }
        s.server->on_datagram(s.now, s.at, batch[next++]);
        auto e = s.server->poll_event();
        if (!e || !std::holds_alternative<Plaintext>(*e)) st.SkipWithError("record not opened");
    }
    st.SetItemsProcessed(st.iterations());
    st.SetBytesProcessed(st.iterations() * st.range(1));
}

} // namespace

BENCHMARK(BM_BareGnutlsPsk)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OursPsk)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BareGnutlsEcdhe)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OursEcdhe)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IdleSessionHeap)
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ServerSeal)->ArgsProduct({{0, 1}, {64, 1024}})->Unit(benchmark::kNanosecond);
BENCHMARK(BM_ServerOpen)->ArgsProduct({{0, 1}, {64, 1024}})->Unit(benchmark::kNanosecond);

BENCHMARK_MAIN();
