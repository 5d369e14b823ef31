// Raw DTLS 1.2 interop over 127.0.0.1 with GnuTLS's command-line peers (package gnutls-bin):
//   gnutls-cli --udp  -> our ServerTable   (PSK 128-byte identity / 64-byte key, RPK, X.509)
//   our ClientSession -> gnutls-serv --udp --echo (same three modes)
// A tiny poll()+recvfrom/sendto loop inside the test drives the sans-I/O objects in real time.
// Every loop is bounded; spawned processes are always killed.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gnutls/gnutls.h>

#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/server_table.hpp>

#include "interop/dtls/interop_util.hpp"
#include "support/dtls_creds.hpp"

namespace lwm2m::dtls::interop {
namespace {

using namespace std::chrono_literals;
using namespace lwm2m::interop;
using lwm2m::test::test_pki;

// LwM2M maximum sizes: 128-byte identity, 64-byte key. gnutls tools take the identity as a
// command-line string and the key as hex, so the identity here is printable.
std::string identity128() {
    std::string s = "urn:dev:ops:lwm2m-cpp-interop-";
    while (s.size() < 128)
        s += static_cast<char>('a' + s.size() % 26);
    return s;
}
Bytes key64() {
    Bytes k(64);
    for (std::size_t i = 0; i < k.size(); ++i)
        k[i] = static_cast<std::byte>((i * 73 + 11) & 0xFF);
    return k;
}

class Store final : public CredentialStore {
public:
    std::optional<SecretBytes> psk_key(BytesView identity) override {
        if (as_string_view(identity) == identity128()) return SecretBytes(key64());
        return std::nullopt;
    }
    bool rpk_allowed(BytesView spki) override { return equal(spki, allowed_rpk); }
    Bytes allowed_rpk;
};

enum class Mode { psk, rpk, x509 };

// Priority strings for the GnuTLS tools: exactly the LwM2M suites of each mode.
const std::string kPskPrio = "NONE:+VERS-DTLS1.2:+PSK:+AES-128-CCM-8:+AES-128-CBC:+AEAD:+SHA256:+"
                             "SIGN-ALL:+CURVE-ALL:+CTYPE-X509";
const std::string kEcdhePrio = "NONE:+VERS-DTLS1.2:+ECDHE-ECDSA:+AES-128-CCM-8:+AES-128-CBC:+AEAD:+"
                               "SHA256:+SIGN-ALL:+CURVE-ALL";
const std::string kRpkPrio = kEcdhePrio + ":+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK";
const std::string kX509Prio = kEcdhePrio + ":+CTYPE-X509";
std::vector<Closed> only_closed(const std::vector<Event>& ev) {
    std::vector<Closed> out;
    for (const auto& e : ev)
        if (const auto* c = std::get_if<Closed>(&e)) out.push_back(*c);
    return out;
}
const char* name(Mode m) {
    return m == Mode::psk ? "psk" : m == Mode::rpk ? "rpk" : "x509";
}

class GnutlsCliToOurServer : public ::testing::TestWithParam<Mode> {};

TEST_P(GnutlsCliToOurServer, HandshakeEchoClose) {
    const Mode mode = GetParam();
    const auto& pki = test_pki();
    TempDir dir;
    Store store;
    const auto cli_key = lwm2m::test::generate_p256_key();
    store.allowed_rpk = cli_key.spki_der;
    ServerConfig cfg;
    cfg.rpk = RpkCredentials{pki.server_rpk.spki_der, pki.server_rpk.private_key_der};
    cfg.x509 = X509Credentials{{pki.server.der}, pki.server.key.private_key_der};
    cfg.client_ca_der = {pki.ca.der};
    auto server = ServerTable::create(cfg, store);
    ASSERT_TRUE(server) << server.error().message();
    Udp udp;

    std::vector<std::string> args = {GNUTLS_CLI_PATH, "--udp", "-p", std::to_string(udp.port()),
                                     "127.0.0.1"};
    switch (mode) {
    case Mode::psk: {
        std::string hex = to_hex(key64());
        args.insert(args.end(),
                    {"--pskusername", identity128(), "--pskkey", hex, "--priority", kPskPrio});
        break;
    }
    case Mode::rpk:
        args.insert(args.end(),
                    {"--rawpkkeyfile",
                     dir.write("cli.key", pem(Bytes(cli_key.private_key_der.view().begin(),
                                                    cli_key.private_key_der.view().end()),
                                              "PRIVATE KEY")),
                     "--rawpkfile", dir.write("cli.pub", pem(cli_key.spki_der, "PUBLIC KEY")),
                     "--insecure", "--priority", kRpkPrio});
        break;
    case Mode::x509:
        args.insert(
            args.end(),
            {"--x509cafile", dir.write("ca.pem", pem(pki.ca.der, "CERTIFICATE")), "--x509certfile",
             dir.write("client.pem", pem(pki.client.der, "CERTIFICATE")), "--x509keyfile",
             dir.write("client.key", pem(Bytes(pki.client.key.private_key_der.view().begin(),
                                               pki.client.key.private_key_der.view().end()),
                                         "PRIVATE KEY")),
             "--verify-hostname", "server", "--priority", kX509Prio});
        break;
    }
    Child cli(args);
    ASSERT_TRUE(cli.ok());
    std::vector<Event> events;
    bool echoed = false, closed = false;
    PeerAddr peer;
    auto on_event = [&](Event& e) {
        if (auto* p = std::get_if<Plaintext>(&e)) {
            Bytes reply = to_bytes("echo:");
            reply.insert(reply.end(), p->data.begin(), p->data.end());
            EXPECT_TRUE(server->send(mono_now(), p->peer, reply));
        }
        if (auto* h = std::get_if<HandshakeDone>(&e)) {
            peer = h->peer;
            cli.write("hello-interop\n");
        }
        if (std::holds_alternative<Closed>(e)) closed = true;
        events.push_back(e);
    };
    ASSERT_TRUE(drive(
        *server, udp,
        [&] {
            echoed = cli.output().find("echo:hello-interop") != std::string::npos;
            return echoed;
        },
        20s, on_event))
        << name(mode) << ": gnutls-cli output:\n"
        << cli.output();
    cli.close_stdin(); // gnutls-cli sends close_notify on EOF
    EXPECT_TRUE(drive(
        *server, udp, [&] { return closed; }, 10s, on_event))
        << cli.output();
    auto done = std::find_if(events.begin(), events.end(), [](const Event& e) {
        return std::holds_alternative<HandshakeDone>(e);
    });
    ASSERT_NE(done, events.end());
    const auto& id = std::get<HandshakeDone>(*done).identity;
    switch (mode) {
    case Mode::psk:
        EXPECT_EQ(id.kind, PeerIdentity::Kind::psk);
        EXPECT_EQ(id.psk_identity, to_bytes(identity128()));
        EXPECT_EQ(std::get<HandshakeDone>(*done).suite, CipherSuite::psk_aes_128_ccm_8);
        break;
    case Mode::rpk:
        EXPECT_EQ(id.kind, PeerIdentity::Kind::raw_public_key);
        EXPECT_EQ(id.public_key_spki, cli_key.spki_der);
        break;
    case Mode::x509:
        EXPECT_EQ(id.kind, PeerIdentity::Kind::x509);
        EXPECT_EQ(id.subject_dn, "CN=client-ep");
        break;
    }
    EXPECT_EQ(server->size(), 0U);
    // Issue #13: a CCM-8 session left GnuTLS at the end of the handshake; the echo and the
    // client's close_notify went through the own record path.
    if (exportable_suite(std::get<HandshakeDone>(*done).suite)) {
        EXPECT_EQ(server->stats().own_path_switches, 1U);
        EXPECT_EQ(server->stats().own_path_dropped, 0U);
        ASSERT_EQ(only_closed(events).size(), 1U);
        EXPECT_EQ(only_closed(events)[0].reason, make_error_code(Errc::closed));
    }
}

INSTANTIATE_TEST_SUITE_P(Dtls, GnutlsCliToOurServer,
                         ::testing::Values(Mode::psk, Mode::rpk, Mode::x509),
                         [](const auto& i) { return std::string(name(i.param)); });

class OurClientToGnutlsServ : public ::testing::TestWithParam<Mode> {};

TEST_P(OurClientToGnutlsServ, HandshakeEcho) {
    const Mode mode = GetParam();
    const auto& pki = test_pki();
    TempDir dir;
    std::vector<std::string> args = {GNUTLS_SERV_PATH, "--udp", "--echo"};
    ClientConfig cfg;
    switch (mode) {
    case Mode::psk: {
        // gnutls-serv's --pskpasswd file is "username:hexkey", so the username cannot contain
        // ':'; use a 128-byte identity without colons.
        std::string id = identity128();
        std::replace(id.begin(), id.end(), ':', '-');
        args.insert(args.end(),
                    {"--pskpasswd", dir.write("psk.txt", id + ":" + to_hex(key64()) + "\n"),
                     "--priority", kPskPrio});
        cfg.credentials = PskCredentials{to_bytes(id), SecretBytes(key64())};
        break;
    }
    case Mode::rpk:
        args.insert(args.end(),
                    {"--rawpkkeyfile",
                     dir.write("srv.key", pem(Bytes(pki.server_rpk.private_key_der.view().begin(),
                                                    pki.server_rpk.private_key_der.view().end()),
                                              "PRIVATE KEY")),
                     "--rawpkfile",
                     dir.write("srv.pub", pem(pki.server_rpk.spki_der, "PUBLIC KEY")), "--priority",
                     kRpkPrio});
        cfg.credentials = RpkCredentials{pki.client_rpk.spki_der, pki.client_rpk.private_key_der};
        cfg.server_public_key = pki.server_rpk.spki_der;
        break;
    case Mode::x509:
        args.insert(args.end(),
                    {"--x509certfile", dir.write("srv.pem", pem(pki.server.der, "CERTIFICATE")),
                     "--x509keyfile",
                     dir.write("srv.key", pem(Bytes(pki.server.key.private_key_der.view().begin(),
                                                    pki.server.key.private_key_der.view().end()),
                                              "PRIVATE KEY")),
                     "--x509cafile", dir.write("ca.pem", pem(pki.ca.der, "CERTIFICATE")),
                     "--priority", kX509Prio});
        cfg.credentials = X509Credentials{{pki.client.der}, pki.client.key.private_key_der};
        cfg.server_public_key = pki.server.der;
        break;
    }
    // Started once it says it listens (bounded); our client retransmits anyway.
    auto [serv_child, port] = start_on_free_port(
        [&](std::uint16_t p) {
            auto a = args;
            a.insert(a.end(), {"-p", std::to_string(p)});
            return a;
        },
        [](Child& c) { return c.output().find("IPv6") != std::string::npos; },
        [](std::uint16_t) { return true; });
    ASSERT_TRUE(serv_child) << "gnutls-serv did not start";
    Child& serv = *serv_child;
    cfg.server = PeerAddr::v4(127, 0, 0, 1, port);
    auto client = ClientSession::create(cfg);
    ASSERT_TRUE(client) << client.error().message();
    Udp udp;
    ASSERT_TRUE(client->connect(mono_now()));
    std::vector<Event> events;
    bool echoed = false;
    auto on_event = [&](Event& e) {
        if (std::holds_alternative<HandshakeDone>(e)) {
            EXPECT_TRUE(client->send(mono_now(), client->server(), to_bytes("ping-interop")));
        }
        if (auto* p = std::get_if<Plaintext>(&e)) echoed = p->data == to_bytes("ping-interop");
        if (auto* f = std::get_if<HandshakeFailed>(&e)) {
            ADD_FAILURE() << f->error.message();
        }
        events.push_back(e);
    };
    ASSERT_TRUE(drive(
        *client, udp, [&] { return echoed; }, 20s, on_event))
        << name(mode) << ": gnutls-serv output:\n"
        << serv.output();
    auto done = std::find_if(events.begin(), events.end(), [](const Event& e) {
        return std::holds_alternative<HandshakeDone>(e);
    });
    ASSERT_NE(done, events.end());
    const auto& hd = std::get<HandshakeDone>(*done);
    if (mode == Mode::rpk) {
        EXPECT_EQ(hd.identity.public_key_spki, pki.server_rpk.spki_der);
    }
    if (mode == Mode::x509) {
        EXPECT_EQ(hd.identity.subject_dn, "CN=server");
    }
    client->close(mono_now());
    while (auto d = client->poll_transmit())
        udp.send(*d);
}

INSTANTIATE_TEST_SUITE_P(Dtls, OurClientToGnutlsServ,
                         ::testing::Values(Mode::psk, Mode::rpk, Mode::x509),
                         [](const auto& i) { return std::string(name(i.param)); });

} // namespace
} // namespace lwm2m::dtls::interop
