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
// (d) BM_IdleSessionHeap: heap (mallinfo2) per idle established server session at 10,000.
// Every handshake includes cookie exchange, one application record and the server-side close.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include <gnutls/crypto.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/server_table.hpp>

#include "support/dtls_creds.hpp"

namespace {

using namespace lwm2m;
using namespace lwm2m::dtls;

// ---- bare GnuTLS ------------------------------------------------------------------------------

using Pipe = std::deque<std::vector<unsigned char>>;
struct End {
    gnutls_session_t s = nullptr;
    Pipe* in = nullptr;
    Pipe* out = nullptr;
};

ssize_t vec_push(gnutls_transport_ptr_t p, const giovec_t* iov, int n) {
    auto* e = static_cast<End*>(p);
    std::vector<unsigned char> d;
    for (int i = 0; i < n; ++i)
        d.insert(d.end(), static_cast<unsigned char*>(iov[i].iov_base),
                 static_cast<unsigned char*>(iov[i].iov_base) + iov[i].iov_len);
    e->out->push_back(std::move(d));
    return static_cast<ssize_t>(e->out->back().size());
}
ssize_t pull(gnutls_transport_ptr_t p, void* buf, size_t len) {
    auto* e = static_cast<End*>(p);
    if (e->in->empty()) {
        gnutls_transport_set_errno(e->s, EAGAIN);
        return -1;
    }
    const size_t n = std::min(len, e->in->front().size());
    std::memcpy(buf, e->in->front().data(), n);
    e->in->pop_front();
    return static_cast<ssize_t>(n);
}
int pull_timeout(gnutls_transport_ptr_t p, unsigned) {
    return static_cast<End*>(p)->in->empty() ? 0 : 1;
}
ssize_t cookie_push(gnutls_transport_ptr_t p, const void* data, size_t size) {
    auto* q = static_cast<Pipe*>(p);
    q->emplace_back(static_cast<const unsigned char*>(data),
                    static_cast<const unsigned char*>(data) + size);
    return static_cast<ssize_t>(size);
}
void wire(End& e, unsigned mtu) {
    gnutls_transport_set_ptr(e.s, &e);
    gnutls_transport_set_vec_push_function(e.s, vec_push);
    gnutls_transport_set_pull_function(e.s, pull);
    gnutls_transport_set_pull_timeout_function(e.s, pull_timeout);
    gnutls_dtls_set_mtu(e.s, mtu);
}

const char* kPskPrio =
    "NONE:+VERS-DTLS1.2:+CURVE-SECP256R1:+SIGN-ECDSA-SHA256:+PSK:+AES-128-CCM-8:+AEAD";
const char* kEcdhePrio = "NONE:+VERS-DTLS1.2:+CURVE-SECP256R1:+SIGN-ECDSA-SHA256:+ECDHE-ECDSA:+AES-"
                         "128-CCM-8:+AEAD:+CTYPE-X509";

Bytes psk_identity() {
    return Bytes(128, std::byte{'i'});
}
Bytes psk_key() {
    return Bytes(64, std::byte{0x5A});
}

struct BareServer {
    gnutls_priority_t prio = nullptr;
    gnutls_psk_server_credentials_t psk = nullptr;
    gnutls_certificate_credentials_t cert = nullptr;
    unsigned char cookie_key[GNUTLS_COOKIE_KEY_SIZE];
    bool ecdhe = false;
    explicit BareServer(bool use_ecdhe)
        : ecdhe(use_ecdhe) {
        gnutls_global_init();
        gnutls_priority_init(&prio, ecdhe ? kEcdhePrio : kPskPrio, nullptr);
        gnutls_rnd(GNUTLS_RND_KEY, cookie_key, sizeof cookie_key);
        if (!ecdhe) {
            gnutls_psk_allocate_server_credentials(&psk);
            gnutls_psk_set_server_credentials_function2(
                psk, [](gnutls_session_t, const gnutls_datum_t* user, gnutls_datum_t* key) -> int {
                    if (user->size != 128) return -1;
                    key->data = static_cast<unsigned char*>(gnutls_malloc(64));
                    std::memset(key->data, 0x5A, 64);
                    key->size = 64;
                    return 0;
                });
        } else {
            const auto& pki = lwm2m::test::test_pki();
            gnutls_certificate_allocate_credentials(&cert);
            gnutls_datum_t c{const_cast<unsigned char*>(
                                 reinterpret_cast<const unsigned char*>(pki.server.der.data())),
                             static_cast<unsigned>(pki.server.der.size())};
            gnutls_datum_t k{const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(
                                 pki.server.key.private_key_der.view().data())),
                             static_cast<unsigned>(pki.server.key.private_key_der.size())};
            gnutls_certificate_set_x509_key_mem(cert, &c, &k, GNUTLS_X509_FMT_DER);
            gnutls_datum_t ca{const_cast<unsigned char*>(
                                  reinterpret_cast<const unsigned char*>(pki.ca.der.data())),
                              static_cast<unsigned>(pki.ca.der.size())};
            gnutls_certificate_set_x509_trust_mem(cert, &ca, GNUTLS_X509_FMT_DER);
            gnutls_certificate_set_verify_function(cert, [](gnutls_session_t s) -> int {
                unsigned status = 0;
                if (gnutls_certificate_verify_peers2(s, &status) < 0 || status != 0) return -1;
                return 0;
            });
        }
    }
    ~BareServer() {
        if (psk) gnutls_psk_free_server_credentials(psk);
        if (cert) gnutls_certificate_free_credentials(cert);
        gnutls_priority_deinit(prio);
        gnutls_global_deinit();
    }
};

/// One complete bare handshake: cookie exchange, handshake, one record, server close.
bool bare_handshake(BareServer& srv) {
    Pipe c2s, s2c;
    End c{nullptr, &s2c, &c2s};
    End s{nullptr, &c2s, &s2c};
    // Client side (credentials per connection, as a device connecting from scratch).
    gnutls_priority_t cprio = nullptr;
    gnutls_psk_client_credentials_t cpsk = nullptr;
    gnutls_certificate_credentials_t ccert = nullptr;
    gnutls_priority_init(&cprio, srv.ecdhe ? kEcdhePrio : kPskPrio, nullptr);
    gnutls_init(&c.s, GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK);
    gnutls_priority_set(c.s, cprio);
    if (!srv.ecdhe) {
        gnutls_psk_allocate_client_credentials(&cpsk);
        const Bytes id = psk_identity(), key = psk_key();
        gnutls_datum_t u{
            const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(id.data())), 128};
        gnutls_datum_t k{
            const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(key.data())), 64};
        gnutls_psk_set_client_credentials2(cpsk, &u, &k, GNUTLS_PSK_KEY_RAW);
        gnutls_credentials_set(c.s, GNUTLS_CRD_PSK, cpsk);
    } else {
        const auto& pki = lwm2m::test::test_pki();
        gnutls_certificate_allocate_credentials(&ccert);
        gnutls_datum_t cd{const_cast<unsigned char*>(
                              reinterpret_cast<const unsigned char*>(pki.client.der.data())),
                          static_cast<unsigned>(pki.client.der.size())};
        gnutls_datum_t kd{const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(
                              pki.client.key.private_key_der.view().data())),
                          static_cast<unsigned>(pki.client.key.private_key_der.size())};
        gnutls_certificate_set_x509_key_mem(ccert, &cd, &kd, GNUTLS_X509_FMT_DER);
        gnutls_certificate_set_verify_function(ccert, [](gnutls_session_t session) -> int {
            unsigned n = 0;
            const gnutls_datum_t* l = gnutls_certificate_get_peers(session, &n);
            const auto& pin = lwm2m::test::test_pki().server.der;
            return (n > 0 && l[0].size == pin.size() &&
                    std::memcmp(l[0].data, pin.data(), pin.size()) == 0)
                       ? 0
                       : -1;
        });
        gnutls_credentials_set(c.s, GNUTLS_CRD_CERTIFICATE, ccert);
    }
    wire(c, 1232);
    unsigned char peer[] = {4, 127, 0, 0, 1, 0x16, 0x34};
    gnutls_datum_t ck{srv.cookie_key, sizeof srv.cookie_key};
    bool cdone = false, sdone = false, ok = true;
    for (int round = 0; round < 50 && !(cdone && sdone) && ok; ++round) {
        if (!cdone) {
            const int r = gnutls_handshake(c.s);
            if (r == 0)
                cdone = true;
            else if (r != GNUTLS_E_AGAIN)
                ok = false;
        }
        if (s.s == nullptr) {
            while (!c2s.empty()) {
                auto d = std::move(c2s.front());
                c2s.pop_front();
                gnutls_dtls_prestate_st pre;
                std::memset(&pre, 0, sizeof pre);
                if (gnutls_dtls_cookie_verify(&ck, peer, sizeof peer, d.data(), d.size(), &pre) <
                    0) {
                    gnutls_dtls_cookie_send(&ck, peer, sizeof peer, &pre, &s2c, cookie_push);
                    continue;
                }
                gnutls_init(&s.s, GNUTLS_SERVER | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK);
                gnutls_priority_set(s.s, srv.prio);
                if (srv.psk) gnutls_credentials_set(s.s, GNUTLS_CRD_PSK, srv.psk);
                if (srv.cert) {
                    gnutls_credentials_set(s.s, GNUTLS_CRD_CERTIFICATE, srv.cert);
                    gnutls_certificate_server_set_request(s.s, GNUTLS_CERT_REQUIRE);
                }
                wire(s, 1232);
                gnutls_dtls_prestate_set(s.s, &pre);
                c2s.push_front(std::move(d));
                break;
            }
        }
        if (s.s != nullptr && !sdone) {
            const int r = gnutls_handshake(s.s);
            if (r == 0)
                sdone = true;
            else if (r != GNUTLS_E_AGAIN)
                ok = false;
        }
    }
    if (ok && cdone && sdone) {
        const char msg[] = "coap register";
        gnutls_record_send(c.s, msg, sizeof msg);
        unsigned char buf[2048];
        ok = gnutls_record_recv(s.s, buf, sizeof buf) == static_cast<ssize_t>(sizeof msg);
        gnutls_bye(s.s, GNUTLS_SHUT_WR);
    } else {
        ok = false;
    }
    if (s.s) gnutls_deinit(s.s);
    gnutls_deinit(c.s);
    if (cpsk) gnutls_psk_free_client_credentials(cpsk);
    if (ccert) gnutls_certificate_free_credentials(ccert);
    gnutls_priority_deinit(cprio);
    return ok;
}

// ---- ours -------------------------------------------------------------------------------------

class Store final : public CredentialStore {
public:
    std::optional<SecretBytes> psk_key(BytesView identity) override {
        if (identity.size() == 128) return SecretBytes(::psk_key());
        return std::nullopt;
    }
    bool rpk_allowed(BytesView) override { return false; }
};

const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 1, 5684);

ServerConfig server_config(bool ecdhe) {
    ServerConfig cfg;
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
        auto server = ServerTable::create(server_config(false), store);
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
    }
}

} // namespace

BENCHMARK(BM_BareGnutlsPsk)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OursPsk)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_BareGnutlsEcdhe)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OursEcdhe)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IdleSessionHeap)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
