// DTLS server figures over real UDP on 127.0.0.1 (issue: side-by-side server comparison).
//
// A load generator made of our ClientSession (+ coap::Endpoint through SecureEndpoint) measures:
//   handshakes  each client: new UDP socket, full DTLS 1.2 PSK handshake with the server's
//               HelloVerifyRequest cookie, one CoAP CON GET, close_notify; `--concurrency` such
//               clients at a time until `--handshakes` are done. Against (1) `lwm2m coap serve`
//               with PSK (GET /hello) and (2) `coap-server-gnutls -k KEY` (GET /, its banner).
//               Reported: handshakes per second, and the server process's CPU time per handshake
//               (utime+stime from /proc/<pid>/stat before/after; client and server share the
//               machine's cores, so wall rate alone would hide the server's cost).
//   requests    (3) `--sessions` sessions to our server kept open, then CON GET /hello
//               round-robin over them, `--window` outstanding at a time, for `--requests`
//               requests: requests per second and server CPU per request.
//
//   dtls_udp_bench --lwm2m build/rel/apps/lwm2m/lwm2m [--coap-server /usr/bin/coap-server-gnutls]
//                  [--handshakes 3000] [--concurrency 4] [--sessions 1000] [--requests 50000]
//                  [--window 16]
//
// A bench program (docs/architecture.md: benchmarks report, never pass/fail on time). Not a ctest.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <lwm2m/base/random.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>

extern char** environ;

namespace {

using namespace lwm2m;
using Clock = std::chrono::steady_clock;

TimePoint mono_now() {
    return TimePoint{std::chrono::duration_cast<Duration>(Clock::now().time_since_epoch())};
}

const std::string identity = "lwm2m-cpp-bench-client";
const std::string key = "0123456789abcdef0123456789abcdef"; // printable: libcoap takes -k text

struct Server {
    pid_t pid = -1;
    std::uint16_t port = 0;
    ~Server() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
    }
};

double cpu_seconds(pid_t pid) {
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return 0;
    char buf[1024];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')');
    if (p == nullptr) return 0;
    unsigned long long utime = 0, stime = 0;
    // proc(5): after "(comm)": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    // cmajflt utime(14) stime(15)
    if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                    &stime) != 2)
        return 0;
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

pid_t spawn(const std::vector<std::string>& args, int stdout_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const int devnull = ::open("/dev/null", O_WRONLY);
    posix_spawn_file_actions_adddup2(&fa, stdout_fd >= 0 ? stdout_fd : devnull, 1);
    posix_spawn_file_actions_adddup2(&fa, devnull, 2);
    std::vector<char*> argv;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    ::close(devnull);
    return pid;
}

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

bool start_ours(Server& s, const std::string& lwm2m) {
    int p[2];
    if (::pipe(p) != 0) return false;
    s.pid = spawn({lwm2m, "--log-level", "off", "coap", "serve", "--listen", "127.0.0.1:0",
                   "--psk-identity", identity, "--psk-key", key},
                  p[1]);
    ::close(p[1]);
    std::string line;
    char c;
    while (::read(p[0], &c, 1) == 1 && c != '\n')
        line += c;
    ::close(p[0]);
    const auto colon = line.rfind(':');
    if (s.pid < 0 || colon == std::string::npos) return false;
    s.port = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
    return true;
}

bool start_libcoap(Server& s, const std::string& path) {
    std::uint16_t port = free_port();
    if (port > 65000) port = 40000;
    s.pid = spawn({path, "-A", "127.0.0.1", "-p", std::to_string(port), "-k", key, "-v", "0"}, -1);
    s.port = static_cast<std::uint16_t>(port + 1); // CoAPS on -p + 1
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return s.pid > 0;
}

/// One load-generating client: its own UDP socket connected to the server, a ClientSession and a
/// CoAP endpoint.
struct Client {
    int fd = -1;
    std::optional<dtls::ClientSession> session;
    std::unique_ptr<coap::Endpoint> coap;
    std::unique_ptr<dtls::SecureEndpoint<dtls::ClientSession>> sep;
    bool busy = false; ///< a request is outstanding
    bool failed = false;
    bool got_response = false;

    ~Client() { reset(); }
    void reset() {
        sep.reset();
        coap.reset();
        session.reset();
        if (fd >= 0) ::close(fd);
        fd = -1;
        busy = got_response = failed = false;
    }
};

class Generator {
public:
    Generator(std::uint16_t port, std::string path)
        : server_(PeerAddr::v4(127, 0, 0, 1, port))
        , path_(std::move(path)) {
        ep_ = ::epoll_create1(0);
    }
    ~Generator() { ::close(ep_); }

    bool open(Client& c, std::size_t index) {
        c.reset();
        c.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(server_.port);
        if (c.fd < 0 || ::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            return false;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = index;
        ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
        dtls::ClientConfig cfg;
        cfg.server = server_;
        cfg.credentials = dtls::PskCredentials{to_bytes(identity), SecretBytes(as_bytes(key))};
        auto s = dtls::ClientSession::create(cfg);
        if (!s) return false;
        c.session.emplace(std::move(*s));
        c.coap = std::make_unique<coap::Endpoint>(coap::Config{}, rng_);
        c.sep = std::make_unique<dtls::SecureEndpoint<dtls::ClientSession>>(*c.coap, *c.session);
        return true;
    }

    void get(Client& c) {
        coap::Message m;
        m.type = coap::Type::con;
        m.code = coap::code::get;
        m.set_path(path_);
        const TimePoint now = mono_now();
        c.busy = true;
        c.got_response = false;
        if (!c.coap->send_request(now, server_, std::move(m))) c.failed = true;
        c.sep->flush(now);
        flush(c);
    }

    void close(Client& c) {
        if (c.session && c.session->established()) {
            c.session->close(mono_now());
            flush(c);
        }
        c.reset();
    }

    /// Waits up to `ms` for datagrams, feeds them, then runs due timers of `active` clients.
    template <class OnDone>
    void step(std::vector<Client>& clients, const std::vector<std::size_t>& active, int ms,
              OnDone on_done) {
        epoll_event evs[64];
        const int n = ::epoll_wait(ep_, evs, 64, ms);
        const TimePoint now = mono_now();
        for (int i = 0; i < n; ++i) {
            Client& c = clients[evs[i].data.u64];
            for (;;) {
                const ssize_t r = ::recv(c.fd, buf_, sizeof buf_, 0);
                if (r <= 0) break;
                c.sep->on_datagram(now, server_, BytesView(buf_, static_cast<std::size_t>(r)));
            }
            settle(c, now);
            if (c.busy && (c.got_response || c.failed)) {
                c.busy = false;
                on_done(evs[i].data.u64);
            }
        }
        for (std::size_t idx : active) {
            Client& c = clients[idx];
            if (!c.sep) continue;
            if (auto d = c.sep->next_deadline(); d && *d <= now) {
                c.sep->on_timeout(now);
                settle(c, now);
                if (c.busy && (c.got_response || c.failed)) {
                    c.busy = false;
                    on_done(idx);
                }
            }
        }
    }

private:
    void settle(Client& c, TimePoint now) {
        while (auto e = c.sep->poll_event()) {
            if (auto* ce = std::get_if<coap::Event>(&*e)) {
                if (auto* r = std::get_if<coap::Response>(ce)) {
                    if (r->response.code.is_success())
                        c.got_response = true;
                    else
                        c.failed = true;
                } else if (std::holds_alternative<coap::RequestFailed>(*ce)) {
                    c.failed = true;
                }
            } else if (auto* de = std::get_if<dtls::Event>(&*e)) {
                if (std::holds_alternative<dtls::HandshakeFailed>(*de) ||
                    std::holds_alternative<dtls::Closed>(*de)) {
                    c.failed = true;
                }
            }
        }
        c.sep->flush(now);
        flush(c);
    }
    void flush(Client& c) {
        while (auto d = c.sep->poll_transmit())
            (void)::send(c.fd, d->bytes.data(), d->bytes.size(), 0);
    }

    PeerAddr server_;
    std::string path_;
    int ep_ = -1;
    SeededRandom rng_{42};
    std::byte buf_[65536];
};

struct HandshakeFigures {
    std::size_t done = 0;
    std::size_t failed = 0;
    double wall_s = 0;
    double server_cpu_s = 0;
};

HandshakeFigures run_handshakes(std::uint16_t port, const std::string& path, pid_t server,
                                std::size_t total, std::size_t concurrency) {
    Generator g(port, path);
    std::vector<Client> clients(concurrency);
    std::vector<std::size_t> active;
    for (std::size_t i = 0; i < concurrency; ++i)
        active.push_back(i);
    HandshakeFigures f;
    std::size_t started = 0;
    const double cpu0 = cpu_seconds(server);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < concurrency && started < total; ++i, ++started) {
        g.open(clients[i], i);
        g.get(clients[i]);
    }
    const auto limit = t0 + std::chrono::seconds(120);
    while (f.done + f.failed < total && Clock::now() < limit) {
        g.step(clients, active, 5, [&](std::size_t i) {
            if (clients[i].got_response)
                ++f.done;
            else
                ++f.failed;
            g.close(clients[i]);
            if (started < total) {
                ++started;
                g.open(clients[i], i);
                g.get(clients[i]);
            }
        });
    }
    f.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    f.server_cpu_s = cpu_seconds(server) - cpu0;
    return f;
}

struct RequestFigures {
    std::size_t sessions = 0;
    double setup_s = 0;
    std::size_t done = 0;
    std::size_t failed = 0;
    double wall_s = 0;
    double server_cpu_s = 0;
};

RequestFigures run_requests(std::uint16_t port, pid_t server, std::size_t sessions,
                            std::size_t total, std::size_t window) {
    Generator g(port, "/hello");
    std::vector<Client> clients(sessions);
    RequestFigures f;
    // Open all sessions, `window` handshakes (each with one GET) at a time.
    const auto s0 = Clock::now();
    {
        std::size_t next = 0, finished = 0;
        std::vector<std::size_t> active;
        for (; next < std::min(window, sessions); ++next) {
            g.open(clients[next], next);
            g.get(clients[next]);
            active.push_back(next);
        }
        const auto limit = s0 + std::chrono::seconds(120);
        while (finished < sessions && Clock::now() < limit) {
            g.step(clients, active, 5, [&](std::size_t i) {
                ++finished;
                if (clients[i].got_response) ++f.sessions;
                std::erase(active, i);
                if (next < sessions) {
                    g.open(clients[next], next);
                    g.get(clients[next]);
                    active.push_back(next);
                    ++next;
                }
            });
        }
    }
    f.setup_s = std::chrono::duration<double>(Clock::now() - s0).count();
    // Round-robin GETs over the established sessions.
    std::vector<std::size_t> active;
    std::size_t rr = 0, issued = 0;
    auto issue = [&] {
        for (std::size_t tries = 0; tries < sessions; ++tries) {
            const std::size_t i = rr++ % sessions;
            if (clients[i].busy || !clients[i].session || !clients[i].session->established())
                continue;
            g.get(clients[i]);
            active.push_back(i);
            ++issued;
            return;
        }
    };
    const double cpu0 = cpu_seconds(server);
    const auto t0 = Clock::now();
    for (std::size_t k = 0; k < window && issued < total; ++k)
        issue();
    const auto limit = t0 + std::chrono::seconds(120);
    while (f.done + f.failed < total && Clock::now() < limit && !active.empty()) {
        g.step(clients, active, 5, [&](std::size_t i) {
            if (clients[i].got_response)
                ++f.done;
            else
                ++f.failed;
            std::erase(active, i);
            if (issued < total) issue();
        });
    }
    f.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    f.server_cpu_s = cpu_seconds(server) - cpu0;
    for (auto& c : clients)
        g.close(c);
    return f;
}

std::string arg(int argc, char** argv, const char* name, const char* def) {
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return def;
}

void print_hs(const char* who, const HandshakeFigures& f) {
    std::printf(
        "%-28s %6zu ok %4zu failed  %8.1f handshakes/s  server CPU %7.1f us/handshake (%.2f s)\n",
        who, f.done, f.failed, static_cast<double>(f.done) / f.wall_s,
        f.done ? f.server_cpu_s * 1e6 / static_cast<double>(f.done) : 0.0, f.server_cpu_s);
}

} // namespace

int main(int argc, char** argv) {
    const std::string lwm2m = arg(argc, argv, "--lwm2m", "");
    const std::string libcoap = arg(argc, argv, "--coap-server", "/usr/bin/coap-server-gnutls");
    const std::size_t handshakes = std::stoul(arg(argc, argv, "--handshakes", "3000"));
    const std::size_t concurrency = std::stoul(arg(argc, argv, "--concurrency", "4"));
    const std::size_t sessions = std::stoul(arg(argc, argv, "--sessions", "1000"));
    const std::size_t requests = std::stoul(arg(argc, argv, "--requests", "50000"));
    const std::size_t window = std::stoul(arg(argc, argv, "--window", "16"));
    if (lwm2m.empty()) {
        std::fprintf(stderr,
                     "usage: dtls_udp_bench --lwm2m PATH [--coap-server PATH] [--handshakes N] "
                     "[--concurrency N] [--sessions N] [--requests N] [--window N]\n");
        return 2;
    }
    ::signal(SIGPIPE, SIG_IGN);
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    double load[3] = {0, 0, 0};
    ::getloadavg(load, 3);
    std::printf("load average before: %.2f %.2f %.2f; %u CPUs\n", load[0], load[1], load[2],
                std::thread::hardware_concurrency());
    std::printf("handshake runs: %zu handshakes (PSK, cookie, one CON GET, close_notify), %zu "
                "concurrent clients\n",
                handshakes, concurrency);
    {
        Server s;
        if (!start_ours(s, lwm2m)) {
            std::fprintf(stderr, "cannot start %s\n", lwm2m.c_str());
            return 2;
        }
        run_handshakes(s.port, "/hello", s.pid, 200, concurrency); // warm-up
        print_hs("lwm2m coap serve (ours)",
                 run_handshakes(s.port, "/hello", s.pid, handshakes, concurrency));
    }
    if (::access(libcoap.c_str(), X_OK) == 0) {
        Server s;
        if (!start_libcoap(s, libcoap)) return 2;
        run_handshakes(s.port, "/", s.pid, 200, concurrency);
        print_hs(libcoap.substr(libcoap.rfind('/') + 1).c_str(),
                 run_handshakes(s.port, "/", s.pid, handshakes, concurrency));
    } else {
        std::printf("%s not installed: skipped\n", libcoap.c_str());
    }
    {
        Server s;
        if (!start_ours(s, lwm2m)) return 2;
        auto f = run_requests(s.port, s.pid, sessions, requests, window);
        std::printf(
            "requests over established sessions (ours): %zu sessions opened in %.2f s; %zu GET ok, "
            "%zu failed "
            "in %.2f s = %.0f requests/s (window %zu), server CPU %.1f us/request (%.2f s)\n",
            f.sessions, f.setup_s, f.done, f.failed, f.wall_s,
            static_cast<double>(f.done) / f.wall_s, window,
            f.done ? f.server_cpu_s * 1e6 / static_cast<double>(f.done) : 0.0, f.server_cpu_s);
    }
    ::getloadavg(load, 3);
    std::printf("load average after: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    return 0;
}
