// Fuzz target: a ServerTable fed arbitrary datagram sequences from several peers, interleaved with
// a genuine ClientSession's flights (delivered intact or mutated), time jumps and application
// data, so the fuzzer reaches cookie, handshake, established and replacement states.
// Must never crash, leak or grow beyond its caps.
//
// Input: a sequence of ops; each op is one byte (op % 7) followed by its arguments.
//   0 peer len bytes...   raw datagram from peer (peer % 4; peer 0 is the real client's address)
//   1                     deliver the real client's next datagram to the server
//   2                     deliver all server datagrams for peer 0 to the real client
//   3 pos xor             deliver the client's next datagram with byte[pos] ^= xor
//   4 n                   advance time by n * 50 ms, fire timeouts
//   5 peer                application data both ways (client -> server, server -> peer)
//   6                     the real client reconnects (new handshake from the same address)
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/server_table.hpp>

#include "support/gnutls_time.hpp"

namespace {

using namespace lwm2m;
using namespace lwm2m::dtls;

class Store final : public CredentialStore {
public:
    std::optional<SecretBytes> psk_key(BytesView identity) override {
        if (identity.size() == 5 && as_string_view(identity) == "fuzz!") return SecretBytes(key());
        return std::nullopt;
    }
    bool rpk_allowed(BytesView) override { return false; }
    static Bytes key() { return Bytes(16, std::byte{0x2A}); }
};

PeerAddr peer_of(unsigned i) {
    return PeerAddr::v4(192, 0, 2, static_cast<std::uint8_t>(1 + (i % 4)), 4000);
}
const PeerAddr kServer = PeerAddr::v4(10, 0, 0, 1, 5684);

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static bool installed = false;
    if (!installed) {
        lwm2m::test::GnutlsVirtualTime::install(TimePoint{});
        installed = true;
    }
    TimePoint now{};
    lwm2m::test::GnutlsVirtualTime::set(now);
    Store store;
    ServerConfig scfg;
    scfg.max_sessions = 3;
    scfg.idle_timeout = std::chrono::seconds(20);
    auto server = ServerTable::create(scfg, store);
    if (!server) return 0;
    ClientConfig ccfg;
    ccfg.server = kServer;
    ccfg.credentials = PskCredentials{to_bytes("fuzz!"), SecretBytes(Store::key())};
    auto client = ClientSession::create(ccfg);
    if (!client) return 0;
    (void)client->connect(now);

    std::deque<Bytes> to_server, to_client;
    auto pump = [&] {
        while (auto d = client->poll_transmit())
            to_server.push_back(std::move(d->bytes));
        while (auto d = server->poll_transmit())
            if (d->peer == peer_of(0)) to_client.push_back(std::move(d->bytes));
        while (server->poll_event()) {
        }
        while (client->poll_event()) {
        }
    };
    std::size_t i = 0;
    auto next = [&]() -> unsigned { return i < size ? data[i++] : 0U; };
    int ops = 0;
    while (i < size && ops++ < 400) {
        pump();
        switch (next() % 7) {
        case 0: {
            const unsigned p = next();
            const std::size_t len = next() * 2U;
            const std::size_t take = std::min(len, size - i);
            server->on_datagram(now, peer_of(p),
                                BytesView(reinterpret_cast<const std::byte*>(data + i), take));
            i += take;
            break;
        }
        case 1:
            if (!to_server.empty()) {
                server->on_datagram(now, peer_of(0), to_server.front());
                to_server.pop_front();
            }
            break;
        case 2:
            while (!to_client.empty()) {
                client->on_datagram(now, kServer, to_client.front());
                to_client.pop_front();
            }
            break;
        case 3: {
            const unsigned pos = next(), x = next();
            if (!to_server.empty()) {
                Bytes b = std::move(to_server.front());
                to_server.pop_front();
                if (!b.empty()) b[pos % b.size()] ^= static_cast<std::byte>(x);
                server->on_datagram(now, peer_of(0), b);
            }
            break;
        }
        case 4: {
            now += std::chrono::milliseconds(50 * next());
            lwm2m::test::GnutlsVirtualTime::set(now);
            server->on_timeout(now);
            client->on_timeout(now);
            break;
        }
        case 5: {
            const unsigned p = next();
            const Bytes msg = to_bytes("coap-ish payload");
            (void)client->send(now, kServer, msg);
            (void)server->send(now, peer_of(p), msg);
            break;
        }
        case 6:
            client->close(now);
            (void)client->connect(now);
            break;
        }
        if (server->size() > scfg.max_sessions) __builtin_trap(); // the cap holds
    }
    return 0;
}
