// A minimal LwM2M client: the Device object (3) and an IPSO Temperature sensor (3303) made with the
// typed helper, registered with one LwM2M server over NoSec or DTLS-PSK. It answers the server's
// reads and observes, notifies a new temperature every second and de-registers on Ctrl-C/SIGTERM.
//
//   minimal_client --server coap://127.0.0.1:5683 [--ep NAME] [--lifetime SECONDS]
//   minimal_client --server coaps://127.0.0.1:5684 --psk-identity ID --psk-key-file FILE
//
// FILE holds the PSK in hex (kept off the command line). The guide docs/guide-client-embed.md
// explains each step; embedded_server/ is a server to try it against.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <lwm2m/client/engine.hpp>
#include <lwm2m/client/objects/device_object.hpp>
#include <lwm2m/client/objects/typed_object.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/resolve.hpp>
#include <lwm2m/transport/system_random.hpp>
#include <lwm2m/transport/time_source.hpp>
#include <lwm2m/transport/udp_socket.hpp>

using namespace lwm2m;
using namespace std::chrono_literals;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
} // the loop wakes at least every 250 ms and sees it

std::string option(int argc, char** argv, const char* name, std::string fallback = {}) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

// 1. The custom object's definition (normally loaded from the OMA DDF file with dm::load_ddf).
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

// The engine asks for host names in Server URIs (never for IP literals); this blocks on DNS.
class DnsResolver final : public client::Resolver {
public:
    Result<PeerAddr> resolve(std::string_view host, std::uint16_t port) override {
        LWM2M_TRY(addrs, transport::resolve_udp(std::string(host), port));
        return addrs.front();
    }
};

} // namespace

int main(int argc, char** argv) {
    const std::string uri = option(argc, argv, "--server");
    const std::string identity = option(argc, argv, "--psk-identity");
    const std::string key_file = option(argc, argv, "--psk-key-file");
    if (uri.empty() || identity.empty() != key_file.empty()) {
        std::fprintf(stderr, "usage: minimal_client --server URI [--ep NAME] [--lifetime S] "
                             "[--psk-identity ID --psk-key-file HEXFILE]\n");
        return 2;
    }

    // 2. The account (Objects 0 and 1): one LwM2M server, short server id 1. A real device gets
    //    this from a bootstrap server or its factory configuration and persists it (see the guide).
    client::SecurityInstance security;
    security.server_uri = uri;
    security.bootstrap_server = false;
    security.short_server_id = 1;
    security.security_mode = client::SecurityMode::nosec;
    if (!key_file.empty()) {
        std::string hex;
        std::ifstream(key_file) >> hex;
        Bytes key;
        if (!from_hex(hex, key))
            return std::fprintf(stderr, "bad hex in %s\n", key_file.c_str()), 2;
        security.security_mode = client::SecurityMode::psk;
        security.public_key_or_identity = to_bytes(identity);
        security.secret_key = SecretBytes(key); // wiped when dropped, never logged
        secure_wipe(key.data(), key.size());
        secure_wipe(hex.data(), hex.size());
    }
    client::ServerInstance server; // Server object: SSID, lifetime, notification storing, binding
    const long lifetime = std::strtol(option(argc, argv, "--lifetime", "300").c_str(), nullptr, 10);
    server.resources.emplace(0, dm::Resource::single(0, dm::Value::integer(1)));
    server.resources.emplace(1, dm::Resource::single(1, dm::Value::integer(lifetime)));
    server.resources.emplace(6, dm::Resource::single(6, dm::Value::boolean(false)));
    server.resources.emplace(7, dm::Resource::single(7, dm::Value::string("U")));
    client::ClientConfig accounts_config;
    accounts_config.security.emplace(0, std::move(security));
    accounts_config.servers.emplace(0, std::move(server));

    // 3. The engine: a sans-I/O core. Clock, randomness, DNS and sockets are handed to it.
    transport::SystemRandom random;
    transport::SystemWallClock wall;
    DnsResolver resolver;
    client::AccountStore accounts(accounts_config, wall, transport::LoopBase::now());
    dm::ObjectRegistry registry = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_1);
    registry.add(temperature_definition()); // the decoder must know every object we host
    client::EngineConfig config;
    config.endpoint_name = option(argc, argv, "--ep", "minimal-client");
    client::Engine engine(config, accounts, registry, random, wall, resolver);

    // 4. The objects. Device: typed setters. Temperature: resources bound to plain variables.
    client::DeviceObject device(wall);
    (void)device.set_manufacturer("lwm2m-cpp examples");
    (void)device.set_model_number("minimal_client");
    (void)device.set_serial_number("0001");
    (void)device.set_firmware_version("1.0.0");
    client::TypedObject temperature(temperature_definition());
    double celsius = 21.0, min_seen = celsius, max_seen = celsius;
    (void)temperature.add_instance(Iid{0});
    (void)temperature.bind(Iid{0}, Rid{5700}, celsius);
    (void)temperature.bind(Iid{0}, Rid{5601}, min_seen);
    (void)temperature.bind(Iid{0}, Rid{5602}, max_seen);
    (void)temperature.set(Iid{0}, Rid{5701}, std::string("Cel"));
    (void)temperature.bind_execute(Iid{0}, Rid{5605}, [&](std::string_view) {
        min_seen = max_seen = celsius; // Execute /3303/0/5605
        return ok();
    });
    if (!engine.add_object(device) || !engine.add_object(temperature)) return 1;
    device.set_change_listener(&engine); // changes made by the application reach the observers
    temperature.set_change_listener(&engine);

    // 5. The I/O: one UDP socket driven by transport::Loop (or your own loop: see the guide).
    auto socket = transport::UdpSocket::bind(*PeerAddr::parse("0.0.0.0:0"));
    if (!socket) return std::fprintf(stderr, "socket: %s\n", socket.error().message().c_str()), 1;
    transport::Loop loop(engine, *socket);
    int exit_code = 0;
    loop.set_hook([&](TimePoint) { // after every iteration: the engine's events
        while (auto ev = engine.poll_event()) {
            using Kind = client::EngineEvent::Kind;
            if (ev->kind == Kind::registered) std::printf("registered with %s\n", uri.c_str());
            if (ev->kind == Kind::deregistered) std::printf("deregistered\n");
            if (ev->kind == Kind::registration_failed) {
                std::printf("registration failed: %s\n", ev->error.message().c_str());
                exit_code = 1;
                g_stop = 1;
            }
            std::fflush(stdout);
        }
    });
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    engine.start(transport::LoopBase::now());

    // 6. The application's own work: a new (fake) reading every second.
    TimePoint next_sample = transport::LoopBase::now() + 1s;
    for (int tick = 1; !g_stop;) {
        if (auto run = loop.run_for(250ms); !run) return 1;
        if (transport::LoopBase::now() < next_sample) continue;
        next_sample += 1s;
        celsius = 21.0 + 0.5 * (tick++ % 8);
        min_seen = std::min(min_seen, celsius), max_seen = std::max(max_seen, celsius);
        for (std::uint16_t rid : {5700, 5601, 5602})      // bound variables change silently:
            temperature.notify_changed(Iid{0}, Rid{rid}); // tell the engine (observations)
    }

    // 7. De-register (TS 1.1 §6.2.3) and wait, bounded, for the server's answer.
    engine.stop(transport::LoopBase::now());
    (void)loop.run_until([&] { return engine.stopped(); }, 5s);
    return exit_code;
}
