// Bare GnuTLS DTLS handshakes in memory (two sessions joined by buffers, stateless cookie
// exchange, one application record, server close): the reference rate our DTLS code is measured
// against (bench_dtls, and bench_server's DTLS-PSK registration in the same run).
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <vector>

#include <gnutls/crypto.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#include <lwm2m/base/bytes.hpp>

#include "support/dtls_creds.hpp"

namespace lwm2m::bench {

using Pipe = std::deque<std::vector<unsigned char>>;
struct End {
    gnutls_session_t s = nullptr;
    Pipe* in = nullptr;
    Pipe* out = nullptr;
};

inline ssize_t vec_push(gnutls_transport_ptr_t p, const giovec_t* iov, int n) {
    auto* e = static_cast<End*>(p);
    std::vector<unsigned char> d;
    for (int i = 0; i < n; ++i)
        d.insert(d.end(), static_cast<unsigned char*>(iov[i].iov_base),
                 static_cast<unsigned char*>(iov[i].iov_base) + iov[i].iov_len);
    e->out->push_back(std::move(d));
    return static_cast<ssize_t>(e->out->back().size());
}
inline ssize_t pull(gnutls_transport_ptr_t p, void* buf, size_t len) {
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
inline int pull_timeout(gnutls_transport_ptr_t p, unsigned) {
    return static_cast<End*>(p)->in->empty() ? 0 : 1;
}
inline ssize_t cookie_push(gnutls_transport_ptr_t p, const void* data, size_t size) {
    auto* q = static_cast<Pipe*>(p);
    q->emplace_back(static_cast<const unsigned char*>(data),
                    static_cast<const unsigned char*>(data) + size);
    return static_cast<ssize_t>(size);
}
inline void wire(End& e, unsigned mtu) {
    gnutls_transport_set_ptr(e.s, &e);
    gnutls_transport_set_vec_push_function(e.s, vec_push);
    gnutls_transport_set_pull_function(e.s, pull);
    gnutls_transport_set_pull_timeout_function(e.s, pull_timeout);
    gnutls_dtls_set_mtu(e.s, mtu);
}

inline const char* const kPskPrio =
    "NONE:+VERS-DTLS1.2:+CURVE-SECP256R1:+SIGN-ECDSA-SHA256:+PSK:+AES-128-CCM-8:+AEAD";
inline const char* const kEcdhePrio =
    "NONE:+VERS-DTLS1.2:+CURVE-SECP256R1:+SIGN-ECDSA-SHA256:+ECDHE-ECDSA:+AES-"
    "128-CCM-8:+AEAD:+CTYPE-X509";

inline Bytes psk_identity() {
    return Bytes(128, std::byte{'i'});
}
inline Bytes psk_key() {
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

/// Adds the time it lives to `*sum` (when not null): the server side's share of a loop that
/// runs both ends of a handshake in one thread.
class SideTimer {
public:
    explicit SideTimer(std::chrono::nanoseconds* sum)
        : sum_(sum)
        , t0_(sum ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{}) {}
    ~SideTimer() {
        if (sum_) *sum_ += std::chrono::steady_clock::now() - t0_;
    }
    SideTimer(const SideTimer&) = delete;
    SideTimer& operator=(const SideTimer&) = delete;

private:
    std::chrono::nanoseconds* sum_;
    std::chrono::steady_clock::time_point t0_;
};

/// One complete bare handshake: cookie exchange, handshake, one record, server close.
/// `server_time` (optional) accumulates the time spent in the server's calls.
inline bool bare_handshake(BareServer& srv, std::chrono::nanoseconds* server_time = nullptr) {
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
            const SideTimer t(server_time);
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
            const SideTimer t(server_time);
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
        const SideTimer t(server_time);
        ok = gnutls_record_recv(s.s, buf, sizeof buf) == static_cast<ssize_t>(sizeof msg);
        gnutls_bye(s.s, GNUTLS_SHUT_WR);
    } else {
        ok = false;
    }
    if (s.s) {
        const SideTimer t(server_time);
        gnutls_deinit(s.s);
    }
    gnutls_deinit(c.s);
    if (cpsk) gnutls_psk_free_client_credentials(cpsk);
    if (ccert) gnutls_certificate_free_credentials(ccert);
    gnutls_priority_deinit(cprio);
    return ok;
}

} // namespace lwm2m::bench
