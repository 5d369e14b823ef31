// Alerts both ways against a bare GnuTLS peer: a fatal alert closes an established session with
// Closed{peer_alert} (and frees the server's slot); a warning alert is ignored.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#include "unit/dtls/dtls_harness.hpp"

namespace lwm2m::dtls::test {
namespace alert_test { // named: unity builds join the files

const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 1, 5684);
const PeerAddr kClient = PeerAddr::v4(192, 0, 2, 50, 6000);

/// A plain GnuTLS DTLS peer with in-memory queues (PSK, identity "bare", key 16 x 0x11).
class BarePeer {
public:
    explicit BarePeer(bool server) {
        gnutls_global_init();
        gnutls_init(&s_,
                    (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK);
        gnutls_priority_set_direct(
            s_, "NONE:+VERS-DTLS1.2:+CURVE-SECP256R1:+SIGN-ECDSA-SHA256:+PSK:+AES-128-CCM-8:+AEAD",
            nullptr);
        static const unsigned char key[16] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                              0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11};
        if (server) {
            gnutls_psk_allocate_server_credentials(&scred_);
            gnutls_psk_set_server_credentials_function2(
                scred_, [](gnutls_session_t, const gnutls_datum_t*, gnutls_datum_t* k) -> int {
                    k->data = static_cast<unsigned char*>(gnutls_malloc(16));
                    std::memcpy(k->data, key, 16);
                    k->size = 16;
                    return 0;
                });
            gnutls_credentials_set(s_, GNUTLS_CRD_PSK, scred_);
        } else {
            gnutls_psk_allocate_client_credentials(&ccred_);
            gnutls_datum_t u{
                const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>("bare")), 4};
            gnutls_datum_t k{const_cast<unsigned char*>(key), 16};
            gnutls_psk_set_client_credentials2(ccred_, &u, &k, GNUTLS_PSK_KEY_RAW);
            gnutls_credentials_set(s_, GNUTLS_CRD_PSK, ccred_);
        }
        gnutls_transport_set_ptr(s_, this);
        gnutls_transport_set_vec_push_function(
            s_, [](gnutls_transport_ptr_t p, const giovec_t* iov, int n) -> ssize_t {
                auto* self = static_cast<BarePeer*>(p);
                Bytes d;
                for (int i = 0; i < n; ++i) {
                    const auto* b = static_cast<const std::byte*>(iov[i].iov_base);
                    d.insert(d.end(), b, b + iov[i].iov_len);
                }
                self->out.push_back(std::move(d));
                return static_cast<ssize_t>(self->out.back().size());
            });
        gnutls_transport_set_pull_function(
            s_, [](gnutls_transport_ptr_t p, void* buf, size_t len) -> ssize_t {
                auto* self = static_cast<BarePeer*>(p);
                if (self->in.empty()) {
                    gnutls_transport_set_errno(self->s_, EAGAIN);
                    return -1;
                }
                const size_t n = std::min(len, self->in.front().size());
                std::memcpy(buf, self->in.front().data(), n);
                self->in.pop_front();
                return static_cast<ssize_t>(n);
            });
        gnutls_transport_set_pull_timeout_function(
            s_, [](gnutls_transport_ptr_t p, unsigned) -> int {
                return static_cast<BarePeer*>(p)->in.empty() ? 0 : 1;
            });
        gnutls_dtls_set_mtu(s_, 1232);
    }
    ~BarePeer() {
        gnutls_deinit(s_);
        if (scred_) gnutls_psk_free_server_credentials(scred_);
        if (ccred_) gnutls_psk_free_client_credentials(ccred_);
        gnutls_global_deinit();
    }
    BarePeer(const BarePeer&) = delete;
    BarePeer& operator=(const BarePeer&) = delete;

    /// Advances the handshake; true once complete.
    bool step() {
        if (done_) return true;
        done_ = gnutls_handshake(s_) == 0;
        return done_;
    }
    void alert(gnutls_alert_level_t level, gnutls_alert_description_t what) {
        gnutls_alert_send(s_, level, what);
    }
    void send(const std::string& text) { gnutls_record_send(s_, text.data(), text.size()); }

    std::deque<Bytes> in, out;

private:
    gnutls_session_t s_ = nullptr;
    gnutls_psk_server_credentials_t scred_ = nullptr;
    gnutls_psk_client_credentials_t ccred_ = nullptr;
    bool done_ = false;
};

std::vector<Event> drain_events(ClientSession& c) {
    std::vector<Event> v;
    while (auto e = c.poll_event())
        v.push_back(std::move(*e));
    return v;
}
std::vector<Event> drain_events(ServerTable& s) {
    std::vector<Event> v;
    while (auto e = s.poll_event())
        v.push_back(std::move(*e));
    return v;
}

TEST(DtlsAlerts, FatalAlertFromServerClosesClientSession) {
    BarePeer server(true);
    ClientConfig cfg;
    cfg.server = kServer;
    cfg.credentials = PskCredentials{to_bytes("bare"), SecretBytes(Bytes(16, std::byte{0x11}))};
    auto client = ClientSession::create(cfg);
    ASSERT_TRUE(client);
    const TimePoint now{};
    ASSERT_TRUE(client->connect(now));
    for (int i = 0; i < 20 && !(client->established() && server.step()); ++i) {
        while (auto d = client->poll_transmit())
            server.in.push_back(d->bytes);
        server.step();
        while (!server.out.empty()) {
            client->on_datagram(now, kServer, server.out.front());
            server.out.pop_front();
        }
    }
    ASSERT_TRUE(client->established());
    (void)drain_events(*client);
    // A warning alert is not fatal (RFC 5246 §7.2).
    server.alert(GNUTLS_AL_WARNING, GNUTLS_A_USER_CANCELED);
    server.send("still here");
    while (!server.out.empty()) {
        client->on_datagram(now, kServer, server.out.front());
        server.out.pop_front();
    }
    EXPECT_TRUE(client->established());
    auto ev = drain_events(*client);
    ASSERT_EQ(only<Plaintext>(ev).size(), 1U);
    EXPECT_TRUE(only<Closed>(ev).empty());
    // A fatal alert ends the session.
    server.alert(GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR);
    while (!server.out.empty()) {
        client->on_datagram(now, kServer, server.out.front());
        server.out.pop_front();
    }
    EXPECT_FALSE(client->established());
    auto closed = only<Closed>(drain_events(*client));
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].reason, make_error_code(Errc::peer_alert));
}

TEST(DtlsAlerts, FatalAlertFromClientFreesServerSlot) {
    MemStore store;
    store.psk[to_bytes("bare")] = SecretBytes(Bytes(16, std::byte{0x11}));
    auto table = ServerTable::create(ServerConfig{}, store);
    ASSERT_TRUE(table);
    BarePeer client(false);
    const TimePoint now{};
    client.step(); // ClientHello
    for (int i = 0; i < 20 && !(table->established(kClient) && client.step()); ++i) {
        while (!client.out.empty()) {
            table->on_datagram(now, kClient, client.out.front());
            client.out.pop_front();
        }
        while (auto d = table->poll_transmit())
            client.in.push_back(d->bytes);
        client.step();
    }
    ASSERT_TRUE(table->established(kClient));
    (void)drain_events(*table);
    client.alert(GNUTLS_AL_FATAL, GNUTLS_A_INTERNAL_ERROR);
    while (!client.out.empty()) {
        table->on_datagram(now, kClient, client.out.front());
        client.out.pop_front();
    }
    EXPECT_EQ(table->size(), 0U);
    auto closed = only<Closed>(drain_events(*table));
    ASSERT_EQ(closed.size(), 1U);
    EXPECT_EQ(closed[0].peer, kClient);
    EXPECT_EQ(closed[0].reason, make_error_code(Errc::peer_alert));
}

} // namespace alert_test
} // namespace lwm2m::dtls::test
