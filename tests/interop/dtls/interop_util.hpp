// Helpers for the interop tests (tests only): a UDP socket on 127.0.0.1, a spawned peer process
// with piped stdin/stdout (always killed), temp files, PEM encoding and a bounded real-time loop
// driving any sans-I/O core.
#pragma once

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
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gnutls/gnutls.h>

#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/time.hpp>

extern char** environ;

namespace lwm2m::interop {

using namespace std::chrono_literals;

inline TimePoint mono_now() {
    return TimePoint{
        std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch())};
}

class Udp {
public:
    Udp() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ~Udp() { ::close(fd_); }
    Udp(const Udp&) = delete;
    Udp& operator=(const Udp&) = delete;
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] int fd() const { return fd_; }
    void send(const Datagram& d) {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        std::memcpy(&a.sin_addr, d.peer.addr.data(), 4);
        a.sin_port = htons(d.peer.port);
        (void)::sendto(fd_, d.bytes.data(), d.bytes.size(), 0, reinterpret_cast<sockaddr*>(&a),
                       sizeof a);
    }
    bool recv(PeerAddr& from, Bytes& out) {
        std::byte buf[65536];
        sockaddr_in a{};
        socklen_t len = sizeof a;
        const ssize_t n =
            ::recvfrom(fd_, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&a), &len);
        if (n < 0) return false;
        const auto* ip = reinterpret_cast<const std::uint8_t*>(&a.sin_addr);
        from = PeerAddr::v4(ip[0], ip[1], ip[2], ip[3], ntohs(a.sin_port));
        out.assign(buf, buf + n);
        return true;
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

inline std::uint16_t free_udp_port() {
    Udp u;
    return u.port();
}

class Child {
public:
    explicit Child(std::vector<std::string> args) {
        int in[2], out[2];
        if (::pipe(in) != 0 || ::pipe(out) != 0) return;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_adddup2(&fa, out[1], 2);
        posix_spawn_file_actions_addclose(&fa, in[1]);
        posix_spawn_file_actions_addclose(&fa, out[0]);
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&fa);
        ::close(in[0]);
        ::close(out[1]);
        in_ = in[1];
        out_ = out[0];
        ::fcntl(out_, F_SETFL, O_NONBLOCK);
    }
    ~Child() {
        close_stdin();
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) ::close(out_);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    [[nodiscard]] bool ok() const { return pid_ > 0; }
    void write(const std::string& s) {
        if (in_ >= 0) (void)!::write(in_, s.data(), s.size());
    }
    void close_stdin() {
        if (in_ >= 0) ::close(in_);
        in_ = -1;
    }
    const std::string& output() {
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(out_, buf, sizeof buf);
            if (n <= 0) break;
            out_text_.append(buf, static_cast<std::size_t>(n));
        }
        return out_text_;
    }
    bool exited() {
        if (pid_ <= 0) return true;
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
        }
        return false;
    }

private:
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1;
    std::string out_text_;
};

/// Starts a peer server on a free UDP port: `args_for(port)` gives its command line. A port
/// found free can be taken by another test before the child binds it (the child then exits), so
/// a child that exits before `ready` (true once it listens, polled for up to 5 s) is started
/// again on another port, up to 5 times. `port_ok` may refuse a port (e.g. when the peer also
/// needs port + 1). Returns the running child (nullptr when every try failed) and its port.
template <class ArgsFor, class Ready, class PortOk>
std::pair<std::unique_ptr<Child>, std::uint16_t>
start_on_free_port(ArgsFor&& args_for, Ready&& ready, PortOk&& port_ok) {
    for (int attempt = 0; attempt < 5; ++attempt) {
        std::uint16_t port = free_udp_port();
        if (!port_ok(port)) continue;
        auto child = std::make_unique<Child>(args_for(port));
        if (!child->ok()) return {nullptr, 0};
        for (int i = 0; i < 100; ++i) {
            if (child->exited()) break;
            if (ready(*child)) return {std::move(child), port};
            ::usleep(50000);
        }
        if (!child->exited()) return {std::move(child), port}; // slow to say so: go on anyway
    }
    return {nullptr, 0};
}

inline std::string pem(const Bytes& der, const char* label) {
    gnutls_datum_t in{
        const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(der.data())),
        static_cast<unsigned>(der.size())};
    gnutls_datum_t out{};
    if (gnutls_pem_base64_encode2(label, &in, &out) < 0) return {};
    std::string s(reinterpret_cast<const char*>(out.data), out.size);
    gnutls_free(out.data);
    return s;
}

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/lwm2m-dtls-interop-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string write(const std::string& name, const std::string& content) {
        const std::string p = path_ + "/" + name;
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }

private:
    std::string path_;
};

/// Drives a sans-I/O core over `udp` until `done()` or `limit` (real time).
template <class Core, class OnEvent>
bool drive(Core& core, Udp& udp, const std::function<bool()>& done, Duration limit,
           OnEvent&& on_event) {
    const TimePoint end = mono_now() + limit;
    while (mono_now() < end) {
        while (auto d = core.poll_transmit())
            udp.send(*d);
        while (auto e = core.poll_event())
            on_event(*e);
        while (auto d = core.poll_transmit())
            udp.send(*d);
        if (done()) return true;
        pollfd p{udp.fd(), POLLIN, 0};
        int wait_ms = 50;
        if (auto dl = core.next_deadline())
            wait_ms = static_cast<int>(std::clamp<std::int64_t>(to_ms(*dl - mono_now()), 0, 50));
        ::poll(&p, 1, wait_ms);
        PeerAddr from;
        Bytes b;
        while (udp.recv(from, b))
            core.on_datagram(mono_now(), from, b);
        const TimePoint now = mono_now();
        if (auto dl = core.next_deadline(); dl && now >= *dl) core.on_timeout(now);
    }
    return done();
}

} // namespace lwm2m::interop
