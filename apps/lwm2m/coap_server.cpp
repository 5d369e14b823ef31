// `lwm2m coap serve`: the CoAP Endpoint with the demo resources on one UDP socket.
#include <algorithm>
#include <csignal>
#include <cstdio>

#include <fmt/format.h>

#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/system_random.hpp>

#include "commands.hpp"
#include "demo_resources.hpp"
#include "signals.hpp"

namespace lwm2m::app {

int run_coap_serve(const ServeOptions& o, Logger& log) {
    if (o.resources != "demo") {
        fmt::print(stderr, "error: unknown resource set '{}' (available: demo)\n", o.resources);
        return exit_failure;
    }
    auto addr = PeerAddr::parse(o.listen);
    const bool has_port = o.listen.starts_with('[')
                              ? o.listen.find("]:") != std::string::npos
                              : std::count(o.listen.begin(), o.listen.end(), ':') == 1;
    if (addr && !has_port) addr->port = 5683; // RFC 7252 §6.1 default port
    if (!addr) {
        fmt::print(stderr, "error: --listen '{}' is not IPv4:port or [IPv6]:port\n", o.listen);
        return exit_failure;
    }
    transport::UdpSocketOptions sopt;
    // "[::]:port" serves IPv4 too; a specific IPv6 address stays IPv6-only.
    sopt.v6_only = !(addr->family == PeerAddr::Family::ipv6 && addr->addr == std::array<std::uint8_t, 16>{});
    auto sock = transport::UdpSocket::bind(*addr, sopt);
    if (!sock) {
        fmt::print(stderr, "error: cannot bind {}: {}\n", o.listen, sock.error().message());
        return exit_failure;
    }
    transport::SystemRandom rng;
    coap::Config cfg;
    coap::Endpoint ep(cfg, rng, log);
    transport::Loop loop(ep, *sock);
    DemoResources demo(ep, log);
    loop.set_hook([&](TimePoint now) { demo.on_events(now); });
    StopOnSignal guard(loop);

    fmt::print("listening on {}\n", sock->local_addr().to_string());
    std::fflush(stdout);

    using namespace std::chrono_literals;
    const TimePoint start = transport::LoopBase::now();
    const std::optional<TimePoint> end =
        o.duration_s > 0 ? std::optional<TimePoint>(start + std::chrono::duration_cast<Duration>(
                                                                std::chrono::duration<double>(o.duration_s)))
                         : std::nullopt;
    TimePoint next_tick = start + 1s;
    while (!StopOnSignal::requested()) {
        TimePoint t = transport::LoopBase::now();
        if (end && t >= *end) break;
        if (t >= next_tick) {
            demo.tick(t);
            next_tick += 1s;
            if (next_tick <= t) next_tick = t + 1s; // after a stall, do not burst
        }
        TimePoint wake = next_tick;
        if (end && *end < wake) wake = *end;
        if (auto r = loop.run_once(wake - t); !r) {
            fmt::print(stderr, "error: event loop: {}\n", r.error().message());
            return exit_failure;
        }
    }
    const auto s = ep.stats();
    log.write(LogLevel::info, "serve",
              fmt::format("stopped: {} datagrams in, {} out, {} malformed dropped", s.datagrams_received,
                          s.datagrams_sent, s.malformed_dropped));
    return exit_success;
}

} // namespace lwm2m::app
