// CoAP over DTLS interop with libcoap's tools (package libcoap3-bin) over 127.0.0.1:
//   coap-client-gnutls / coap-client-openssl -u <128-byte identity> -k <64-byte key>
//       -> SecureEndpoint<ServerTable> (our CoAP server role answers 2.05)
//   SecureEndpoint<ClientSession> -> coap-server-gnutls -k <key> (GET / answered 2.05)
// PSK identity and key are printable because the tools take them on the command line.
#include <gtest/gtest.h>

#include <lwm2m/dtls/secure_endpoint.hpp>

#include "interop/dtls/interop_util.hpp"

namespace lwm2m::dtls::interop_test {
namespace {

using namespace std::chrono_literals;
using namespace lwm2m::interop;

std::string identity128() {
    std::string s = "urn:imei:lwm2m-cpp-coap-interop-";
    while (s.size() < 128)
        s += static_cast<char>('A' + s.size() % 26);
    return s;
}
std::string key64() {
    std::string k;
    while (k.size() < 64)
        k += static_cast<char>('0' + (k.size() * 7) % 75); // printable
    return k;
}

class Store final : public CredentialStore {
public:
    std::optional<SecretBytes> psk_key(BytesView identity) override {
        if (as_string_view(identity) == identity128()) return SecretBytes(as_bytes(key64()));
        return std::nullopt;
    }
    bool rpk_allowed(BytesView) override { return false; }
};

class CoapClientToOurServer : public ::testing::TestWithParam<const char*> {};

void get_over_dtls_psk(const std::string& tool, bool ccm8_only) {
    Store store;
    ServerConfig cfg;
    if (ccm8_only) cfg.cipher_suites = {CipherSuite::psk_aes_128_ccm_8};
    auto table = ServerTable::create(cfg, store);
    ASSERT_TRUE(table);
    SeededRandom rnd(7);
    coap::Endpoint coap_ep(coap::Config{}, rnd);
    SecureEndpoint<ServerTable> server(coap_ep, *table);
    Udp udp;
    Child cli({tool, "-m", "get", "-B", "10", "-u", identity128(), "-k", key64(),
               "coaps://127.0.0.1:" + std::to_string(udp.port()) + "/lwm2m/test"});
    ASSERT_TRUE(cli.ok());
    bool handshake = false;
    std::string path;
    PeerIdentity who;
    CipherSuite suite{};
    auto on_event = [&](SecureEndpoint<ServerTable>::Event& e) {
        if (auto* de = std::get_if<dtls::Event>(&e)) {
            if (auto* h = std::get_if<HandshakeDone>(de)) {
                handshake = true;
                who = h->identity;
                suite = h->suite;
            }
            return;
        }
        auto& ce = std::get<coap::Event>(e);
        if (auto* in = std::get_if<coap::IncomingRequest>(&ce)) {
            path = in->request.path();
            coap::Message resp;
            resp.code = coap::code::content;
            resp.payload = to_bytes("hello from lwm2m-cpp over DTLS");
            EXPECT_TRUE(server.coap().send_response(mono_now(), in->id, resp));
            server.flush(mono_now());
        }
    };
    const bool ok = drive(
        server, udp,
        [&] { return cli.output().find("hello from lwm2m-cpp over DTLS") != std::string::npos; },
        20s, on_event);
    EXPECT_TRUE(ok) << tool << " output:\n" << cli.output();
    EXPECT_TRUE(handshake);
    EXPECT_EQ(path, "/lwm2m/test");
    EXPECT_EQ(who.kind, PeerIdentity::Kind::psk);
    EXPECT_EQ(as_string_view(who.psk_identity), identity128());
    // Issue #13: a CCM-8 session runs on the own record path from the end of the handshake, so
    // the CoAP request and response went through it.
    if (ccm8_only) {
        EXPECT_EQ(suite, CipherSuite::psk_aes_128_ccm_8);
    }
    if (exportable_suite(suite)) {
        EXPECT_EQ(table->stats().own_path_switches, 1U);
        EXPECT_EQ(table->stats().own_path_dropped, 0U);
    }
}

TEST_P(CoapClientToOurServer, GetOverDtlsPsk) {
    const std::string tool = GetParam();
    if (::access(tool.c_str(), X_OK) != 0) GTEST_SKIP() << tool << " not installed (libcoap3-bin)";
    get_over_dtls_psk(tool, false);
}

TEST_P(CoapClientToOurServer, GetOverDtlsPskOwnRecordPath) {
    const std::string tool = GetParam();
    if (::access(tool.c_str(), X_OK) != 0) GTEST_SKIP() << tool << " not installed (libcoap3-bin)";
    get_over_dtls_psk(tool, true);
}

INSTANTIATE_TEST_SUITE_P(Libcoap, CoapClientToOurServer,
                         ::testing::Values("/usr/bin/coap-client-gnutls",
                                           "/usr/bin/coap-client-openssl"),
                         [](const auto& i) {
                             return std::string(i.param).find("openssl") != std::string::npos
                                        ? "openssl"
                                        : "gnutls";
                         });

TEST(OurClientToCoapServer, GetOverDtlsPsk) {
    const std::string tool = "/usr/bin/coap-server-gnutls";
    if (::access(tool.c_str(), X_OK) != 0) GTEST_SKIP() << tool << " not installed (libcoap3-bin)";
    // coap-server listens on -p for CoAP and on -p + 1 for CoAPS.
    // It prints nothing when it listens: "ready" once it has not exited for 300 ms (a port taken
    // meanwhile makes it exit at once); our client retransmits anyway.
    int polls = 0;
    auto [srv_child, port] = start_on_free_port(
        [&](std::uint16_t p) {
            polls = 0;
            return std::vector<std::string>{
                tool, "-A",    "127.0.0.1", "-p",        std::to_string(p),
                "-k", key64(), "-h",        "lwm2m-hint"};
        },
        [&](Child&) { return ++polls > 6; },
        [](std::uint16_t p) { return p < 65000; }); // and p + 1 for CoAPS
    ASSERT_TRUE(srv_child) << tool << " did not start";
    Child& srv = *srv_child;
    ClientConfig cfg;
    cfg.server = PeerAddr::v4(127, 0, 0, 1, static_cast<std::uint16_t>(port + 1));
    cfg.credentials = PskCredentials{to_bytes(identity128()), SecretBytes(as_bytes(key64()))};
    auto session = ClientSession::create(cfg);
    ASSERT_TRUE(session);
    SeededRandom rnd(9);
    coap::Endpoint coap_ep(coap::Config{}, rnd);
    SecureEndpoint<ClientSession> client(coap_ep, *session);
    Udp udp;
    coap::Message req;
    req.type = coap::Type::con;
    req.code = coap::code::get;
    req.set_path("/");
    ASSERT_TRUE(client.coap().send_request(mono_now(), cfg.server, req));
    client.flush(mono_now());
    std::optional<coap::Response> resp;
    auto on_event = [&](SecureEndpoint<ClientSession>::Event& e) {
        if (auto* ce = std::get_if<coap::Event>(&e)) {
            if (auto* r = std::get_if<coap::Response>(ce)) resp = *r;
            if (auto* f = std::get_if<coap::RequestFailed>(ce)) ADD_FAILURE() << f->error.message();
        } else if (auto* f = std::get_if<HandshakeFailed>(&std::get<dtls::Event>(e))) {
            ADD_FAILURE() << f->error.message();
        }
    };
    ASSERT_TRUE(drive(
        client, udp, [&] { return resp.has_value(); }, 20s, on_event))
        << "coap-server output:\n"
        << srv.output();
    EXPECT_EQ(resp->response.code, coap::code::content);
    EXPECT_FALSE(resp->response.payload.empty());
    EXPECT_TRUE(session->established());
    session->close(mono_now());
    while (auto d = client.poll_transmit())
        udp.send(*d);
}

} // namespace
} // namespace lwm2m::dtls::interop_test
