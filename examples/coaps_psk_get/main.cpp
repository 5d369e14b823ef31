// A CoAP GET over DTLS 1.2 PSK (RFC 7252 §9.1.3.1) with the sans-I/O cores of lwm2m-cpp.
//
// Without arguments the client and a server run in this process and exchange their datagrams in
// memory: no socket, so it runs anywhere. With arguments it sends the GET over UDP to a real
// server, for instance the CLI's demo server:
//
//   head -c 128 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 128 > id    # 128 bytes
//   head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > key                 # 64 bytes
//   lwm2m coap serve --listen 127.0.0.1:5684 --psk-identity "$(cat id)" --psk-key-file key &
//   coaps_psk_get 127.0.0.1:5684 /hello id key
//
// The identity and key files hold the bytes as they are (one trailing newline removed). The key
// lives in SecretBytes (wiped when dropped) and is never printed.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <variant>

#include <lwm2m/base/secret.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/system_random.hpp>
#include <lwm2m/transport/udp_socket.hpp>

namespace {

using namespace lwm2m;

/// The bytes of a file, one trailing "\n" or "\r\n" removed; the read buffer is wiped.
std::optional<SecretBytes> read_secret_file(const char* path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string data{std::istreambuf_iterator<char>(in), {}};
    std::size_t n = data.size();
    if (n > 0 && data[n - 1] == '\n') --n;
    if (n > 0 && data[n - 1] == '\r') --n;
    SecretBytes secret(as_bytes(std::string_view(data.data(), n)));
    secure_wipe(data.data(), data.size());
    return secret;
}

/// Prints the response of request `id` when `ev` is it; returns whether it was.
bool print_if_response(const coap::Event& ev, coap::RequestId id, int& exit_code) {
    if (const auto* r = std::get_if<coap::Response>(&ev); r && r->id == id) {
        const std::string body(reinterpret_cast<const char*>(r->response.payload.data()),
                               r->response.payload.size());
        std::printf("%s %s\n", r->response.code.to_string().c_str(), body.c_str());
        exit_code = r->response.code.is_success() ? 0 : 1;
        return true;
    }
    if (const auto* f = std::get_if<coap::RequestFailed>(&ev); f && f->id == id) {
        std::fprintf(stderr, "request failed: %s\n", f->error.message().c_str());
        exit_code = 2;
        return true;
    }
    return false;
}

coap::Message get_request(const std::string& path) {
    coap::Message req;
    req.type = coap::Type::con;
    req.code = coap::code::get;
    req.set_path(path);
    return req;
}

/// The server's key lookup: exactly one identity.
class OneIdentity final : public dtls::CredentialStore {
public:
    OneIdentity(Bytes identity, SecretBytes key)
        : identity_(std::move(identity))
        , key_(std::move(key)) {}
    std::optional<SecretBytes> psk_key(BytesView identity) override {
        if (!std::equal(identity.begin(), identity.end(), identity_.begin(), identity_.end()))
            return std::nullopt;
        return key_;
    }
    bool rpk_allowed(BytesView) override { return false; }

private:
    Bytes identity_;
    SecretBytes key_;
};

/// Client and server in one process, datagrams handed over in memory.
int in_memory() {
    transport::SystemRandom random;
    // The Security Object's maximum sizes (RFC 4279, LwM2M TS 1.1 §E.1): 128 and 64 bytes.
    Bytes identity(128);
    for (std::size_t i = 0; i < identity.size(); ++i)
        identity[i] = static_cast<std::byte>('a' + i % 26);
    Bytes key_bytes(64);
    random.fill(key_bytes);
    const SecretBytes key(key_bytes);
    secure_wipe(key_bytes.data(), key_bytes.size());

    const PeerAddr server_addr = *PeerAddr::parse("192.0.2.1:5684");
    const PeerAddr client_addr = *PeerAddr::parse("192.0.2.2:40000");

    OneIdentity store(identity, key);
    auto table = dtls::ServerTable::create(dtls::ServerConfig{}, store);
    dtls::ClientConfig ccfg;
    ccfg.server = server_addr;
    ccfg.credentials = dtls::PskCredentials{identity, key};
    auto session = dtls::ClientSession::create(std::move(ccfg));
    if (!table || !session) {
        std::fprintf(stderr, "DTLS setup failed\n");
        return 2;
    }
    coap::Endpoint server_coap(coap::Config{}, random);
    coap::Endpoint client_coap(coap::Config{}, random);
    dtls::SecureEndpoint<dtls::ServerTable> server(server_coap, *table);
    dtls::SecureEndpoint<dtls::ClientSession> client(client_coap, *session);

    const TimePoint now = transport::LoopBase::now();
    auto id = client.coap().send_request(now, server_addr, get_request("/hello"));
    if (!id) return 2;
    client.flush(now); // starts the handshake; the request waits for it

    int exit_code = -1;
    for (int round = 0; round < 100 && exit_code < 0; ++round) {
        const TimePoint t = transport::LoopBase::now();
        while (auto d = client.poll_transmit())
            server.on_datagram(t, client_addr, d->bytes);
        while (auto e = server.poll_event()) {
            const auto* ce = std::get_if<coap::Event>(&*e);
            if (const auto* in = ce ? std::get_if<coap::IncomingRequest>(ce) : nullptr) {
                coap::Message resp;
                resp.code =
                    in->request.path() == "/hello" ? coap::code::content : coap::code::not_found;
                resp.payload = to_bytes("Hello over DTLS-PSK");
                (void)server.coap().send_response(t, in->id, std::move(resp));
                server.flush(t);
            } else if (std::holds_alternative<dtls::Event>(*e) &&
                       std::holds_alternative<dtls::HandshakeDone>(std::get<dtls::Event>(*e))) {
                std::printf("server: DTLS session with a %zu-byte identity and a %zu-byte key\n",
                            identity.size(), key.size());
            }
        }
        while (auto d = server.poll_transmit())
            client.on_datagram(t, server_addr, d->bytes);
        while (auto e = client.poll_event())
            if (const auto* ce = std::get_if<coap::Event>(&*e))
                print_if_response(*ce, *id, exit_code);
    }
    return exit_code < 0 ? 2 : exit_code;
}

/// The GET over UDP with transport::Loop (ppoll + recvmmsg/sendmmsg).
int over_udp(const char* server_text, const char* path, const char* id_file, const char* key_file) {
    auto server_addr = PeerAddr::parse(server_text);
    auto identity = read_secret_file(id_file);
    auto key = read_secret_file(key_file);
    if (!server_addr || !identity || !key) {
        std::fprintf(stderr, "usage: coaps_psk_get [HOST:PORT PATH IDENTITY_FILE KEY_FILE]\n");
        return 2;
    }
    auto socket = transport::UdpSocket::bind(
        *PeerAddr::parse(server_addr->family == PeerAddr::Family::ipv4 ? "0.0.0.0:0" : "[::]:0"));
    if (!socket) {
        std::fprintf(stderr, "socket: %s\n", socket.error().message().c_str());
        return 2;
    }
    dtls::ClientConfig ccfg;
    ccfg.server = *server_addr;
    ccfg.credentials = dtls::PskCredentials{Bytes(identity->view().begin(), identity->view().end()),
                                            std::move(*key)};
    auto session = dtls::ClientSession::create(std::move(ccfg));
    if (!session) {
        std::fprintf(stderr, "DTLS: %s\n", session.error().message().c_str());
        return 2;
    }
    transport::SystemRandom random;
    coap::Endpoint coap_ep(coap::Config{}, random);
    dtls::SecureEndpoint<dtls::ClientSession> client(coap_ep, *session);
    const TimePoint now = transport::LoopBase::now();
    auto id = client.coap().send_request(now, *server_addr, get_request(path));
    if (!id) return 2;
    client.flush(now);

    int exit_code = -1;
    transport::Loop<dtls::SecureEndpoint<dtls::ClientSession>> loop(client, *socket);
    loop.set_hook([&](TimePoint t) {
        while (auto e = client.poll_event()) {
            if (const auto* ce = std::get_if<coap::Event>(&*e)) {
                print_if_response(*ce, *id, exit_code);
            } else if (const auto* f =
                           std::get_if<dtls::HandshakeFailed>(&std::get<dtls::Event>(*e))) {
                std::fprintf(stderr, "DTLS handshake failed: %s\n", f->error.message().c_str());
                exit_code = 2;
            }
        }
        client.flush(t);
    });
    auto done = loop.run_until([&] { return exit_code >= 0; }, std::chrono::seconds(10));
    if (!done || !*done) {
        std::fprintf(stderr, "no response within 10 s\n");
        return 2;
    }
    if (session->established()) {
        session->close(transport::LoopBase::now()); // close_notify (RFC 5246 §7.2.1)
        (void)loop.run_once(Duration::zero());
    }
    return exit_code;
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 1) return in_memory();
    if (argc == 5) return over_udp(argv[1], argv[2], argv[3], argv[4]);
    std::fprintf(stderr, "usage: coaps_psk_get [HOST:PORT PATH IDENTITY_FILE KEY_FILE]\n");
    return 2;
}
