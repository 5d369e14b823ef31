// lwm2m-fleet: a load simulator of N LwM2M clients in one process (docs/guide-fleet.md).
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <lwm2m/client/server_uri.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/system_random.hpp>
#include <lwm2m/transport/time_source.hpp>
#include <lwm2m/transport/udp_socket.hpp>
#include <lwm2m/version.hpp>

#include "fleet.hpp"
#include "secret_input.hpp"
#include "spdlog_logger.hpp"

using namespace lwm2m;
using namespace std::chrono_literals;

namespace {

/// Devices one thread drives (socket indices are 16-bit; the loop waits with epoll, so a wake-up
/// costs what its ready sockets cost, not the 25,000).
constexpr std::size_t max_shard = 25000;

struct Options {
    std::string server_uri, bootstrap_uri;
    std::size_t count = 100;
    double rate = 100;
    double duration_s = 30;
    std::int64_t lifetime = 300;
    std::string endpoint_prefix = "fleet-";
    std::size_t first_index = 0;
    std::string psk_key_file;
    std::string lwm2m_version = "1.1";
    std::string bind = "127.0.0.1";
    double churn = 0;
    double churn_interval_s = 30;
    double value_interval_s = 5;
    double shutdown_grace_s = 10;
    bool json = false;
    bool allow_remote = false;
    std::string log_level = "error";
    std::string log_acks;
    std::size_t source_addresses = 1;
};

/// What the progress line needs from a shard, written by its thread after each iteration.
struct Progress {
    std::atomic<std::uint64_t> started{0}, registered_now{0}, registrations{0}, updates{0},
        failures{0};
};

struct Shard {
    std::vector<transport::UdpSocket> sockets;
    std::unique_ptr<fleet::Fleet> fleet;
    std::unique_ptr<transport::Loop<fleet::Fleet>> loop;
    Progress progress;
    std::thread thread;
};

Duration seconds(double s) {
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

int usage(const std::string& msg) {
    std::fprintf(stderr, "error: %s\n", msg.c_str());
    return 2;
}

} // namespace

int main(int argc, char** argv) try {
    app::TakenSecret env_key = app::take_psk_key_env();
    Options o;
    CLI::App cli{"lwm2m-fleet: N simulated LwM2M clients in one process (lwm2m-cpp). Each device "
                 "is a real client engine with a Device object on its own UDP socket; devices "
                 "start at --rate per second, register (or bootstrap first), send Updates, answer "
                 "reads, writes and observations (Battery Level /3/0/9 changes every "
                 "--value-interval) and optionally churn. Device i is <--endpoint-prefix><i>; "
                 "under DTLS-PSK its identity is its endpoint name and the key is shared.\n"
                 "stderr: a progress line per second; stdout: 'all <N> registered in <s> s' "
                 "once, then the summary (registrations, rates, latency percentiles, failures by "
                 "cause), as JSON with --json. Exit codes: 0 done, 1 a device never registered or "
                 "a fatal error, 2 usage error.",
                 "lwm2m-fleet"};
    cli.set_version_flag("--version", "lwm2m-fleet " LWM2M_VERSION_STRING);
    auto* srv = cli.add_option("--server", o.server_uri,
                               "LwM2M Server URI every device registers with (coap:// or "
                               "coaps://, an IP literal)");
    auto* bs = cli.add_option("--bootstrap", o.bootstrap_uri,
                              "Bootstrap-Server URI: every device bootstraps first (its "
                              "configuration must exist on the server)");
    srv->excludes(bs);
    cli.add_option("-n,--count", o.count, "number of devices")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
        ->capture_default_str();
    cli.add_option("--rate", o.rate, "devices started per second (ramp-up)")
        ->check(CLI::Range(0.01, 1e6))
        ->capture_default_str();
    cli.add_option("--duration", o.duration_s,
                   "seconds from the first start until the fleet de-registers and stops")
        ->check(CLI::Range(0.1, 1e7))
        ->capture_default_str();
    cli.add_option("--lifetime", o.lifetime, "registration lifetime, s (Updates before it ends)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{0xFFFFFFFF}))
        ->capture_default_str();
    cli.add_option("--endpoint-prefix", o.endpoint_prefix, "endpoint names: <prefix><index>")
        ->capture_default_str();
    cli.add_option("--first-index", o.first_index,
                   "index of the first device (several processes can share one fleet: "
                   "--first-index 0 -n 50000, then --first-index 50000 -n 50000)")
        ->capture_default_str();
    cli.add_option("--psk-key-file", o.psk_key_file,
                   "coaps:// URIs: file holding the PSK key shared by the fleet, 1..64 bytes "
                   "(one trailing newline removed; else LWM2M_PSK_KEY_HEX); each device's "
                   "identity is its endpoint name")
        ->check(CLI::ExistingFile);
    cli.add_option("--lwm2m-version", o.lwm2m_version, "LwM2M enabler version")
        ->check(CLI::IsMember({"1.0", "1.1", "1.2"}))
        ->capture_default_str();
    cli.add_option("--bind", o.bind, "local address of the devices' sockets")
        ->capture_default_str();
    cli.add_option("--source-addresses", o.source_addresses,
                   "spread the devices over K IPv4 loopback addresses, each in its own /24: "
                   "device i binds 127.<k/256>.<k%256>.1 with k = i mod K (--bind must be a "
                   "127.x address). A DTLS server caps the handshakes in progress per address "
                   "and per prefix (lwm2m-server: 8 and 64) against floods; real devices have "
                   "addresses of their own")
        ->check(CLI::Range(std::size_t{1}, std::size_t{65536}))
        ->capture_default_str();
    cli.add_option("--churn", o.churn,
                   "fraction of the registered devices that leave every --churn-interval (half "
                   "de-register, half vanish) and come back one interval later")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cli.add_option("--churn-interval", o.churn_interval_s, "seconds")
        ->check(CLI::Range(1.0, 86400.0))
        ->capture_default_str();
    cli.add_option("--value-interval", o.value_interval_s,
                   "seconds between two changes of each device's /3/0/9")
        ->check(CLI::Range(0.1, 86400.0))
        ->capture_default_str();
    cli.add_option("--shutdown-grace", o.shutdown_grace_s,
                   "seconds to wait for the De-register answers at the end")
        ->check(CLI::Range(0.0, 600.0))
        ->capture_default_str();
    cli.add_flag("--json", o.json, "print the summary as one JSON document");
    cli.add_option("--log-acks", o.log_acks,
                   "append a line '<unix ms> registered <endpoint>' to FILE for every Register "
                   "the server acknowledged (2.01) and '<unix ms> updated <endpoint> <latency ms>' "
                   "for every Update (2.04; the latency from the Update's last datagram out), "
                   "flushed as they happen: what a server that crashes must still know after its "
                   "restart");
    cli.add_flag("--allow-remote", o.allow_remote,
                 "allow a server that is not on a loopback address (a load test is an attack on "
                 "anything else)");
    cli.add_option("--log-level", o.log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->capture_default_str();
    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return cli.exit(e) == 0 ? 0 : 2;
    }
    if (o.server_uri.empty() == o.bootstrap_uri.empty())
        return usage("give exactly one of --server and --bootstrap");
    const std::string& uri_text = o.server_uri.empty() ? o.bootstrap_uri : o.server_uri;
    auto uri = client::parse_server_uri(uri_text);
    if (!uri) return usage("'" + uri_text + "' is not a coap:// or coaps:// URI");
    if (uri->host_kind == client::ServerUri::HostKind::name)
        return usage("the server must be an IP literal (no name resolution in the fleet)");
    auto server_addr = PeerAddr::parse(uri->host);
    const bool loopback =
        server_addr &&
        ((server_addr->family == PeerAddr::Family::ipv4 && server_addr->addr[0] == 127) ||
         (server_addr->family == PeerAddr::Family::ipv6 &&
          server_addr->to_string().rfind("[::1]", 0) == 0));
    if (!loopback && !o.allow_remote)
        return usage("the server is not on a loopback address: add --allow-remote if you mean it");

    fleet::FleetConfig base;
    base.server_uri = o.server_uri;
    base.bootstrap_uri = o.bootstrap_uri;
    base.endpoint_prefix = o.endpoint_prefix;
    base.lifetime = o.lifetime;
    base.version = o.lwm2m_version == "1.0"   ? dm::Lwm2mVersion::v1_0
                   : o.lwm2m_version == "1.2" ? dm::Lwm2mVersion::v1_2
                                              : dm::Lwm2mVersion::v1_1;
    base.churn_fraction = o.churn;
    base.churn_interval = seconds(o.churn_interval_s);
    base.value_interval = seconds(o.value_interval_s);
    if (uri->secure()) {
        if (!o.psk_key_file.empty()) {
            auto k = app::read_secret_file(o.psk_key_file, 64, true);
            if (!k || k->empty()) return usage("cannot read --psk-key-file (1..64 bytes)");
            base.psk_key = std::move(*k);
        } else if (env_key.key) {
            base.psk_key = std::move(*env_key.key);
        } else {
            return usage(env_key.error ? *env_key.error
                                       : "a coaps:// URI needs --psk-key-file or " +
                                             std::string(app::psk_key_env));
        }
    }

    // One socket per device: raise the descriptor limit to what the kernel allows.
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    const rlim_t need = static_cast<rlim_t>(o.count) + 256;
    if (rl.rlim_cur < need) {
        // Root (CAP_SYS_RESOURCE) may also raise the hard limit, up to fs.nr_open.
        rlimit want{need, std::max(need, rl.rlim_max)};
        if (::setrlimit(RLIMIT_NOFILE, &want) == 0) {
            rl = want;
        } else {
            rl.rlim_cur = std::min(need, rl.rlim_max);
            ::setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    if (rl.rlim_cur < need)
        return usage(fmt::format("{} devices need {} file descriptors; the limit is {}: run "
                                 "several processes with --first-index",
                                 o.count, need, rl.rlim_max));

    std::FILE* acks_file = nullptr;
    if (!o.log_acks.empty()) {
        acks_file = std::fopen(o.log_acks.c_str(), "a");
        if (acks_file == nullptr) return usage("cannot open --log-acks " + o.log_acks);
        base.record_acks = true;
    }
    std::mutex acks_mutex;

    auto logger = app::make_stderr_logger(o.log_level);
    app::SpdlogLogger log(logger);
    transport::SystemWallClock wall;
    auto local = PeerAddr::parse(o.bind);
    if (!local) return usage("--bind " + o.bind + " is not an IP address");
    if (o.source_addresses > 1 &&
        (local->family != PeerAddr::Family::ipv4 || local->addr[0] != 127))
        return usage("--source-addresses needs --bind on 127.0.0.0/8");
    // Device i's local address (--source-addresses).
    auto local_of = [&](std::size_t i) {
        PeerAddr a = *local;
        if (o.source_addresses > 1) {
            const std::size_t k = i % o.source_addresses;
            a.addr[1] = static_cast<std::uint8_t>(k >> 8);
            a.addr[2] = static_cast<std::uint8_t>(k & 0xff);
            a.addr[3] = 1;
        }
        return a;
    };

    const std::size_t shards = (o.count + max_shard - 1) / max_shard;
    std::vector<std::unique_ptr<Shard>> all;
    std::vector<std::unique_ptr<transport::SystemRandom>> randoms;
    std::size_t first = 0;
    for (std::size_t s = 0; s < shards; ++s) {
        const std::size_t n = std::min(max_shard, o.count - first);
        auto sh = std::make_unique<Shard>();
        sh->sockets.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            auto sock = transport::UdpSocket::bind(local_of(o.first_index + first + i));
            if (!sock) {
                std::fprintf(stderr, "error: socket %zu: %s\n", first + i,
                             sock.error().message().c_str());
                return 1;
            }
            sh->sockets.push_back(std::move(*sock));
        }
        fleet::FleetConfig c = base;
        c.first_index = o.first_index + first;
        c.count = n;
        c.rate = o.rate * static_cast<double>(n) / static_cast<double>(o.count);
        randoms.push_back(std::make_unique<transport::SystemRandom>());
        sh->fleet = std::make_unique<fleet::Fleet>(c, n, *randoms.back(), wall, log);
        std::vector<transport::UdpSocket*> ptrs;
        for (auto& so : sh->sockets)
            ptrs.push_back(&so);
        transport::LoopOptions lo;
        lo.batch_size = 8;
        lo.max_datagram = 2048;
        sh->loop = std::make_unique<transport::Loop<fleet::Fleet>>(*sh->fleet, ptrs, lo);
        all.push_back(std::move(sh));
        first += n;
    }

    std::atomic<bool> stop_all{false};
    const auto t0 = transport::LoopBase::now();
    const auto end = t0 + seconds(o.duration_s);
    for (auto& sh : all) {
        Shard* p = sh.get();
        p->thread = std::thread([p, end, &stop_all, &o, acks_file, &acks_mutex] {
            p->fleet->start(transport::LoopBase::now());
            p->loop->set_hook([p, acks_file, &acks_mutex](TimePoint) {
                if (acks_file != nullptr) {
                    auto acked = p->fleet->take_acks();
                    if (!acked.empty()) {
                        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count();
                        std::lock_guard<std::mutex> lock(acks_mutex);
                        for (const auto& line : acked)
                            std::fprintf(acks_file, "%lld %s\n", static_cast<long long>(ms),
                                         line.c_str());
                        std::fflush(acks_file);
                    }
                }
                const auto& st = p->fleet->stats();
                p->progress.started = st.started;
                p->progress.registered_now = st.registered_now;
                p->progress.registrations = st.registrations;
                p->progress.updates = st.updates;
                std::uint64_t f = 0;
                for (const auto& [k, v] : st.failures)
                    f += v;
                p->progress.failures = f;
            });
            while (!stop_all && transport::LoopBase::now() < end)
                (void)p->loop->run_for(std::min<Duration>(end - transport::LoopBase::now(), 1s));
            p->fleet->stop(transport::LoopBase::now());
            (void)p->loop->run_until([p] { return p->fleet->stopped(); },
                                     seconds(o.shutdown_grace_s));
        });
    }

    // SIGINT/SIGTERM end the run early (the devices still de-register).
    struct sigaction sa {};
    static std::atomic<bool>* flag = &stop_all;
    sa.sa_handler = [](int) { flag->store(true); };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    const bool tty = ::isatty(STDERR_FILENO) != 0;
    bool announced = false;
    auto last = t0;
    std::uint64_t last_registrations = 0;
    auto sum = [&](auto field) {
        std::uint64_t v = 0;
        for (auto& sh : all)
            v += (sh->progress.*field).load();
        return v;
    };
    while (transport::LoopBase::now() < end && !stop_all) {
        std::this_thread::sleep_for(50ms);
        const auto now = transport::LoopBase::now();
        const std::uint64_t reg = sum(&Progress::registered_now);
        if (!announced && reg == o.count) {
            announced = true;
            std::printf("all %zu registered in %.2f s\n", o.count,
                        std::chrono::duration<double>(now - t0).count());
            std::fflush(stdout);
        }
        if (now - last >= 1s) {
            // Registrations per second over the last interval (not the average of the run).
            const std::uint64_t regs = sum(&Progress::registrations);
            const double rate_now = static_cast<double>(regs - last_registrations) /
                                    std::chrono::duration<double>(now - last).count();
            last = now;
            last_registrations = regs;
            const double el = std::chrono::duration<double>(now - t0).count();
            std::fprintf(
                stderr,
                "%s%6.1fs started %llu registered %llu/%zu (%.0f/s) updates %llu "
                "failures %llu%s",
                tty ? "\r" : "", el, static_cast<unsigned long long>(sum(&Progress::started)),
                static_cast<unsigned long long>(reg), o.count, rate_now,
                static_cast<unsigned long long>(sum(&Progress::updates)),
                static_cast<unsigned long long>(sum(&Progress::failures)), tty ? "" : "\n");
        }
    }
    if (tty) std::fputc('\n', stderr);
    // The shards de-register their devices (bounded by --shutdown-grace) and end.
    stop_all = true;
    for (auto& sh : all)
        sh->thread.join();

    // Summary (the threads are joined: their statistics are ours now).
    fleet::FleetStats total;
    for (auto& sh : all) {
        const auto& st = sh->fleet->stats();
        total.started += st.started;
        total.registrations += st.registrations;
        total.updates += st.updates;
        total.bootstraps += st.bootstraps;
        total.deregistrations += st.deregistrations;
        total.churned += st.churned;
        total.dtls_handshakes += st.dtls_handshakes;
        for (const auto& [k, v] : st.failures)
            total.failures[k] += v;
        total.register_ms.insert(total.register_ms.end(), st.register_ms.begin(),
                                 st.register_ms.end());
        total.update_ms.insert(total.update_ms.end(), st.update_ms.begin(), st.update_ms.end());
    }
    if (acks_file != nullptr) std::fclose(acks_file);
    const double elapsed = std::chrono::duration<double>(transport::LoopBase::now() - t0).count();
    const std::size_t never = o.count - std::min(o.count, total.register_ms.size());
    auto& lat = total.register_ms;
    const double p50 = fleet::percentile(lat, 50), p90 = fleet::percentile(lat, 90),
                 p99 = fleet::percentile(lat, 99), pmax = fleet::percentile(lat, 100);
    auto& ulat = total.update_ms;
    const double u50 = fleet::percentile(ulat, 50), u90 = fleet::percentile(ulat, 90),
                 u99 = fleet::percentile(ulat, 99), umax = fleet::percentile(ulat, 100);
    if (o.json) {
        nlohmann::json j = {
            {"devices", o.count},
            {"elapsed_s", elapsed},
            {"started", total.started},
            {"registrations", total.registrations},
            {"never_registered", never},
            {"updates", total.updates},
            {"bootstraps", total.bootstraps},
            {"deregistrations", total.deregistrations},
            {"churned", total.churned},
            {"dtls_handshakes", total.dtls_handshakes},
            {"register_latency_ms", {{"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", pmax}}},
            {"update_latency_ms", {{"p50", u50}, {"p90", u90}, {"p99", u99}, {"max", umax}}},
            {"failures", total.failures}};
        std::printf("%s\n", j.dump(2).c_str());
    } else {
        std::printf("devices %zu, %.1f s: %llu registrations (%.0f/s), %llu updates, %llu "
                    "bootstraps, %llu de-registrations, %llu churned, %zu never registered\n",
                    o.count, elapsed, static_cast<unsigned long long>(total.registrations),
                    static_cast<double>(total.registrations) / elapsed,
                    static_cast<unsigned long long>(total.updates),
                    static_cast<unsigned long long>(total.bootstraps),
                    static_cast<unsigned long long>(total.deregistrations),
                    static_cast<unsigned long long>(total.churned), never);
        std::printf("start -> registered: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                    p50, p90, p99, pmax);
        if (!ulat.empty())
            std::printf("update -> answered: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                        u50, u90, u99, umax);
        for (const auto& [cause, n] : total.failures)
            std::printf("failure x%llu: %s\n", static_cast<unsigned long long>(n), cause.c_str());
    }
    return never == 0 ? 0 : 1;
} catch (const std::exception& e) {
    // Anything not handled above (out of memory, a thread that cannot start): a message, not
    // std::terminate().
    std::fprintf(stderr, "lwm2m-fleet: %s\n", e.what());
    return 1;
} catch (...) {
    std::fprintf(stderr, "lwm2m-fleet: unexpected exception\n");
    return 1;
}
