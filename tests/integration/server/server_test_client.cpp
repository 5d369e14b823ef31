// A real LwM2M client (the project's client engine with a Device object) on a UDP socket, for the
// lwm2m-server integration tests. It either bootstraps (--bootstrap URI, PSK or NoSec) or
// registers directly (--server URI, NoSec) and prints one line per engine event on stdout:
//   BOOTSTRAP_STARTED / BOOTSTRAP_FINISHED / BOOTSTRAP_FAILED / REGISTERED / UPDATED /
//   REGISTRATION_FAILED / DEREGISTERED
// SIGTERM de-registers and exits 0; SIGKILL leaves the registration behind.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/client/client_config.hpp>
#include <lwm2m/client/engine.hpp>
#include <lwm2m/client/objects/device_object.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/system_random.hpp>
#include <lwm2m/transport/time_source.hpp>
#include <lwm2m/transport/udp_socket.hpp>

using namespace lwm2m;

namespace {

volatile std::sig_atomic_t g_stop = 0;
transport::LoopBase* g_loop = nullptr;
void on_signal(int) {
    g_stop = 1;
    if (g_loop != nullptr) g_loop->stop();
}

std::string arg(int argc, char** argv, const char* name, std::string def = {}) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return def;
}

class NoResolver final : public client::Resolver {
public:
    Result<PeerAddr> resolve(std::string_view, std::uint16_t) override {
        return fail(lwm2m::Errc::not_found);
    }
};

Bytes hex_arg(int argc, char** argv, const char* name) {
    Bytes b;
    std::string h = arg(argc, argv, name);
    // --psk-key-hex-file F: the key's hex in a file (keeps it off the command line).
    if (h.empty() && std::strcmp(name, "--psk-key-hex") == 0) {
        std::string file = arg(argc, argv, "--psk-key-hex-file");
        if (!file.empty()) {
            if (std::FILE* f = std::fopen(file.c_str(), "r")) {
                char buf[300] = {};
                std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
                std::fclose(f);
                h.assign(buf, n);
                while (!h.empty() && (h.back() == '\n' || h.back() == '\r' || h.back() == ' '))
                    h.pop_back();
            }
        }
    }
    if (!h.empty() && !from_hex(h, b)) {
        std::fprintf(stderr, "bad hex in %s\n", name);
        std::exit(2);
    }
    return b;
}

Bytes file_bytes(const std::string& path) {
    Bytes out;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        std::byte buf[4096];
        std::size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
            out.insert(out.end(), buf, buf + n);
        std::fclose(f);
    } else {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        std::exit(2);
    }
    return out;
}

void say(const char* what, const std::string& more = {}) {
    std::printf("%s%s%s\n", what, more.empty() ? "" : " ", more.c_str());
    std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
    const std::string ep = arg(argc, argv, "--ep");
    const std::string bs_uri = arg(argc, argv, "--bootstrap");
    const std::string dm_uri = arg(argc, argv, "--server");
    const long lifetime = std::strtol(arg(argc, argv, "--lifetime", "300").c_str(), nullptr, 10);
    const std::string version = arg(argc, argv, "--lwm2m", "1.1");
    if (ep.empty() || (bs_uri.empty() == dm_uri.empty())) {
        std::fprintf(stderr,
                     "usage: server_test_client --ep NAME (--bootstrap URI [--psk-identity-hex "
                     "H --psk-key-hex H] | --server coap://HOST:PORT) [--lifetime S]\n");
        return 2;
    }
    transport::SystemRandom random;
    transport::SystemWallClock wall;
    NoResolver resolver;

    client::ClientConfig cfg;
    if (!bs_uri.empty()) {
        client::SecurityInstance s;
        s.server_uri = bs_uri;
        s.bootstrap_server = true;
        s.client_hold_off = 0;
        Bytes id = hex_arg(argc, argv, "--psk-identity-hex");
        Bytes key = hex_arg(argc, argv, "--psk-key-hex");
        if (!key.empty()) {
            s.security_mode = client::SecurityMode::psk;
            s.public_key_or_identity = id;
            s.secret_key = SecretBytes(BytesView(key));
        } else {
            s.security_mode = client::SecurityMode::nosec;
        }
        cfg.security.emplace(0, std::move(s));
    } else {
        client::SecurityInstance s;
        s.server_uri = dm_uri;
        s.bootstrap_server = false;
        s.short_server_id = 101;
        Bytes id = hex_arg(argc, argv, "--psk-identity-hex");
        Bytes key = hex_arg(argc, argv, "--psk-key-hex");
        const std::string rpk_key = arg(argc, argv, "--rpk-key-der");
        const std::string cert = arg(argc, argv, "--cert-der");
        if (!cert.empty()) {
            // X.509: resource 3 = our certificate, 4 = the server's (Certificate Usage 3,
            // domain-issued: pinned), 5 = our PKCS#8 key.
            s.security_mode = client::SecurityMode::certificate;
            s.public_key_or_identity = file_bytes(cert);
            s.server_public_key = file_bytes(arg(argc, argv, "--server-cert-der"));
            Bytes k = file_bytes(arg(argc, argv, "--key-der"));
            s.secret_key = SecretBytes(BytesView(k));
        } else if (!rpk_key.empty()) {
            // RFC 7250 raw public keys: resource 3 = our SPKI, 4 = the server's, 5 = PKCS#8.
            s.security_mode = client::SecurityMode::rpk;
            s.public_key_or_identity = file_bytes(arg(argc, argv, "--rpk-pub-der"));
            s.server_public_key = file_bytes(arg(argc, argv, "--server-rpk-der"));
            Bytes k = file_bytes(rpk_key);
            s.secret_key = SecretBytes(BytesView(k));
        } else if (!key.empty()) {
            s.security_mode = client::SecurityMode::psk;
            s.public_key_or_identity = id;
            s.secret_key = SecretBytes(BytesView(key));
        } else {
            s.security_mode = client::SecurityMode::nosec;
        }
        cfg.security.emplace(1, std::move(s));
        client::ServerInstance si;
        si.resources.emplace(0, dm::Resource::single(0, dm::Value::integer(101)));
        si.resources.emplace(1, dm::Resource::single(1, dm::Value::integer(lifetime)));
        si.resources.emplace(6, dm::Resource::single(6, dm::Value::boolean(false)));
        si.resources.emplace(7, dm::Resource::single(7, dm::Value::string("U")));
        cfg.servers.emplace(0, std::move(si));
    }

    auto sock = transport::UdpSocket::bind(*PeerAddr::parse("127.0.0.1"));
    if (!sock) {
        std::fprintf(stderr, "bind: %s\n", sock.error().message().c_str());
        return 1;
    }
    const TimePoint t0 = transport::LoopBase::now();
    client::AccountStore accounts(cfg, wall, t0);
    auto registry = dm::ObjectRegistry::builtin(version == "1.0" ? dm::Lwm2mVersion::v1_0
                                                                 : dm::Lwm2mVersion::v1_1);
    client::EngineConfig ecfg;
    ecfg.endpoint_name = ep;
    ecfg.version = version == "1.0" ? dm::Lwm2mVersion::v1_0 : dm::Lwm2mVersion::v1_1;
    ecfg.bootstrap_jitter = std::chrono::milliseconds(200);
    ecfg.bootstrap_backoff_max = std::chrono::seconds(4);
    client::Engine engine(ecfg, accounts, registry, random, wall, resolver);
    client::DeviceObject device(wall);
    (void)device.set_manufacturer("lwm2m-cpp test");
    (void)device.set_model_number("server_test_client");
    (void)engine.add_object(device);

    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    transport::Loop loop(engine, *sock);
    g_loop = &loop;
    loop.set_hook([&](TimePoint) {
        while (auto ev = engine.poll_event()) {
            using K = client::EngineEvent::Kind;
            switch (ev->kind) {
            case K::bootstrap_started:
                say("BOOTSTRAP_STARTED");
                break;
            case K::bootstrap_finished:
                say("BOOTSTRAP_FINISHED");
                break;
            case K::bootstrap_failed:
                say("BOOTSTRAP_FAILED", ev->error.message());
                break;
            case K::registered:
                say("REGISTERED");
                break;
            case K::updated:
                say("UPDATED");
                break;
            case K::registration_failed:
                say("REGISTRATION_FAILED", ev->error.message());
                break;
            case K::deregistered:
                say("DEREGISTERED");
                break;
            default:
                break;
            }
        }
    });
    engine.start(transport::LoopBase::now());
    say("STARTED", sock->local_addr().to_string());
    while (!g_stop)
        (void)loop.run_for(std::chrono::seconds(1));
    engine.stop(transport::LoopBase::now());
    g_loop = nullptr;
    (void)loop.run_until([&] { return engine.stopped(); }, std::chrono::seconds(5));
    say("EXIT");
    return 0;
}
