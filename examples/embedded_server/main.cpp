// A device-management server inside an application: the LwM2M server engine (lwm2m::server) on a
// UDP socket driven by transport::Loop, with in-memory stores. It accepts registrations, reads the
// Device object (/3/0) of each new client, observes one resource and prints every notification;
// it exits after N notifications (--count) or on Ctrl-C/SIGTERM.
//
//   embedded_server [--listen 127.0.0.1:5683] [--observe /3303/0/5700] [--count N]
//   embedded_server --listen 127.0.0.1:5684 --psk-endpoint EP --psk-identity ID --psk-key-file F
//
// Without --psk-* it listens for plain CoAP (NoSec) and lets any endpoint register; with them it
// listens for DTLS 1.2 and accepts only EP with that PSK (FILE holds the key in hex). Try it with
// minimal_client/. docs/server.md describes the engine, docs/guide-server.md the full lwm2m-server.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <lwm2m/dm/value_text.hpp>
#include <lwm2m/format/codec.hpp>
#include <lwm2m/server/engine.hpp>
#include <lwm2m/store/memory_stores.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/system_random.hpp>
#include <lwm2m/transport/time_source.hpp>
#include <lwm2m/transport/udp_socket.hpp>

using namespace lwm2m;
using namespace std::chrono_literals;

namespace {

volatile std::sig_atomic_t g_stop = 0;
transport::LoopBase* g_loop = nullptr;
void on_signal(int) {
    g_stop = 1;
    if (g_loop != nullptr) g_loop->stop(); // wakes the loop at once (an eventfd write)
}

std::string option(int argc, char** argv, const char* name, std::string fallback = {}) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

// The IPSO Temperature object (3303) of minimal_client: with its definition the server decodes
// the values by their types (without it, lenient mode keeps them untyped).
dm::ObjectDef temperature_definition() {
    using dm::DataType, dm::Operations;
    auto res = [](std::uint16_t id, const char* name, Operations ops, DataType type) {
        dm::ResourceDef r;
        r.id = id, r.name = name, r.operations = ops, r.type = type, r.mandatory = id == 5700;
        return r;
    };
    dm::ObjectDef def;
    def.id = 3303, def.name = "Temperature", def.urn = "urn:oma:lwm2m:ext:3303";
    def.object_version = "1.0", def.lwm2m_version = "1.0", def.multiple = true;
    def.resources = {res(5601, "Min Measured Value", Operations::r, DataType::float_),
                     res(5602, "Max Measured Value", Operations::r, DataType::float_),
                     res(5605, "Reset Min and Max Measured Values", Operations::e, DataType::none),
                     res(5700, "Sensor Value", Operations::r, DataType::float_),
                     res(5701, "Sensor Units", Operations::r, DataType::string)};
    return def;
}

/// Prints every value of `content` as "  /o/i/r = text".
void print_values(const dm::Content& content) {
    for (const auto& record : format::to_records(content)) {
        auto text = dm::format_text(record.value);
        std::printf("  %s = %s\n", record.path.to_string().c_str(), text ? text->c_str() : "?");
    }
}

} // namespace

int main(int argc, char** argv) {
    auto listen = PeerAddr::parse(option(argc, argv, "--listen", "127.0.0.1:5683"));
    auto observe = dm::Path::parse(option(argc, argv, "--observe", "/3303/0/5700"));
    const long count = std::strtol(option(argc, argv, "--count", "0").c_str(), nullptr, 10);
    const std::string psk_endpoint = option(argc, argv, "--psk-endpoint");
    if (!listen || !observe || count < 0) {
        std::fprintf(stderr,
                     "usage: embedded_server [--listen HOST:PORT] [--observe PATH] "
                     "[--count N] [--psk-endpoint EP --psk-identity ID --psk-key-file F]\n");
        return 2;
    }

    // 1. Stores: who may register (credentials) and where registrations are kept. The in-memory
    //    ones forget everything at exit; the SQLite stores (lwm2m/store/sqlite_stores.hpp) don't.
    store::MemorySecurityStore security;
    store::MemoryRegistrationStore registrations;
    server::EngineConfig config;
    config.objects.push_back(temperature_definition());
    if (psk_endpoint.empty()) {
        config.nosec = server::NoSecPolicy::any; // plain CoAP, any endpoint name
    } else {
        std::string hex;
        std::ifstream(option(argc, argv, "--psk-key-file")) >> hex;
        store::SecurityInfo info;
        info.endpoint = psk_endpoint;
        info.mode = store::SecurityMode::psk;
        info.psk_identity = to_bytes(option(argc, argv, "--psk-identity"));
        Bytes key;
        const bool hex_ok = from_hex(hex, key);
        info.psk_key = SecretBytes(key); // wiped when dropped, never logged or returned
        secure_wipe(key.data(), key.size());
        secure_wipe(hex.data(), hex.size());
        std::string why; // a fixed reason, never key bytes
        if (!hex_ok || !security.put(std::move(info), &why)) {
            std::fprintf(stderr, "bad PSK credentials: %s\n", hex_ok ? why.c_str() : "hex");
            return 2;
        }
        config.listeners[0].security = server::ListenerSecurity::dtls; // PSK is on by default
    }

    // 2. The engine: a sans-I/O core, like the client's. Listener i is socket i of the loop.
    transport::SystemRandom random;
    transport::SystemWallClock wall;
    auto engine = server::Engine::create(config, {security, random, wall});
    auto socket = transport::UdpSocket::bind(*listen);
    if (!engine || !socket) {
        std::fprintf(stderr, "start failed: %s\n",
                     (!engine ? engine.error() : socket.error()).message().c_str());
        return 1;
    }
    std::printf("listening on %s://%s\n", psk_endpoint.empty() ? "coap" : "coaps",
                socket->local_addr().to_string().c_str());
    std::fflush(stdout);

    // 3. The application: react to the engine's events after every loop iteration.
    transport::Loop loop(*engine, *socket);
    std::vector<store::Change> batch; // reused: its storage is kept between iterations
    long notifications = 0;
    loop.set_hook([&](TimePoint now) {
        while (auto event = engine->poll_event()) {
            if (auto* r = std::get_if<server::Registered>(&*event)) {
                std::printf("registered %s (lwm2m %s, lifetime %us) from %s\n", r->endpoint.c_str(),
                            std::string(dm::to_string(r->version)).c_str(), r->lifetime_s,
                            r->peer.to_string().c_str());
                // Downlink requests are data; the answers come back as events.
                (void)engine->send(now, r->endpoint,
                                   server::Request::read(*dm::Path::parse("/3/0")));
                (void)engine->send(now, r->endpoint, server::Request::observe(*observe));
            } else if (auto* u = std::get_if<server::Updated>(&*event)) {
                std::printf("updated %s\n", u->endpoint.c_str());
            } else if (auto* d = std::get_if<server::Deregistered>(&*event)) {
                std::printf("deregistered %s (%s)\n", d->endpoint.c_str(),
                            std::string(server::to_string(d->reason)).c_str());
            } else if (auto* resp = std::get_if<server::ResponseEvent>(&*event)) {
                std::printf("%s %s: %s\n", std::string(server::to_string(resp->op)).c_str(),
                            resp->endpoint.c_str(), resp->code.to_string().c_str());
                if (resp->content) print_values(*resp->content);
            } else if (auto* n = std::get_if<server::NotificationEvent>(&*event)) {
                std::printf("notification %s #%u:\n", n->endpoint.c_str(), n->seq);
                if (n->content) print_values(*n->content);
                if (count > 0 && ++notifications >= count) loop.stop();
            } else if (auto* f = std::get_if<server::RequestFailed>(&*event)) {
                std::printf("%s %s failed: %s\n", std::string(server::to_string(f->op)).c_str(),
                            f->endpoint.c_str(), f->error.message().c_str());
            }
        }
        std::fflush(stdout);
        // Durability: registration changes are committed to the store, then acknowledged; the
        // engine holds a client's 2.01/2.04/2.02 until then (docs/server.md "Durability").
        if (auto seq = engine->take_changes(batch); seq != 0)
            engine->on_persisted(now, seq, registrations.commit(batch));
    });

    // 4. Run until a signal or the notification count stops the loop.
    g_loop = &loop;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    while (!g_stop && (count == 0 || notifications < count))
        if (auto run = loop.run_for(1s); !run) return 1;
    g_loop = nullptr;
    std::printf("stopped after %ld notifications\n", notifications);
    return 0;
}
