// `lwm2m coap serve`: the CoAP Endpoint with the demo resources on one UDP socket, in plain CoAP
// or, with PSK / X.509 / RPK options, CoAP over DTLS (RFC 7252 §9.1:
// dtls::SecureEndpoint<ServerTable>).
#include <algorithm>
#include <csignal>
#include <cstdio>

#include <fmt/format.h>

#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/transport/heap.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/system_random.hpp>

#include "commands.hpp"
#include "demo_resources.hpp"
#include "signals.hpp"

namespace lwm2m::app {
namespace {

/// The client credentials of the demo server: one PSK identity and/or a list of raw public keys.
class DemoStore final : public dtls::CredentialStore {
public:
    DemoStore(std::optional<Psk> psk, std::vector<Bytes> rpk_peers)
        : psk_(std::move(psk))
        , rpk_peers_(std::move(rpk_peers)) {}
    std::optional<SecretBytes> psk_key(BytesView identity) override {
        if (psk_ && identity.size() == psk_->identity.size() &&
            std::equal(identity.begin(), identity.end(), psk_->identity.begin())) {
            return psk_->key;
        }
        return std::nullopt;
    }
    bool rpk_allowed(BytesView spki) override {
        return std::any_of(rpk_peers_.begin(), rpk_peers_.end(), [&](const Bytes& k) {
            return k.size() == spki.size() && std::equal(k.begin(), k.end(), spki.begin());
        });
    }

private:
    std::optional<Psk> psk_;
    std::vector<Bytes> rpk_peers_;
};

/// Runs `loop` until a signal or the end of --duration, ticking /counter every second.
/// `after_tick` moves the notifications out (SecureEndpoint::flush over DTLS).
template <class Loop, class AfterTick>
int run_loop(const ServeOptions& o, Loop& loop, DemoResources& demo, AfterTick after_tick) {
    using namespace std::chrono_literals;
    const TimePoint start = transport::LoopBase::now();
    const std::optional<TimePoint> end =
        o.duration_s > 0
            ? std::optional<TimePoint>(start + std::chrono::duration_cast<Duration>(
                                                   std::chrono::duration<double>(o.duration_s)))
            : std::nullopt;
    TimePoint next_tick = start + 1s;
    while (!StopOnSignal::requested()) {
        TimePoint t = transport::LoopBase::now();
        if (end && t >= *end) break;
        if (t >= next_tick) {
            demo.tick(t);
            after_tick(t);
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
    return exit_success;
}

void print_listening(const transport::UdpSocket& sock) {
    fmt::print("listening on {}\n", sock.local_addr().to_string());
    std::fflush(stdout);
}

} // namespace

int run_coap_serve(ServeOptions& o, Logger& log) {
    if (o.resources != "demo") {
        fmt::print(stderr, "error: unknown resource set '{}' (available: demo)\n", o.resources);
        return exit_failure;
    }
    auto psk = decode_credentials(o.credentials);
    if (!psk) return exit_failure; // message printed, without the key
    auto x509 = decode_x509(o.credentials);
    if (!x509) return exit_failure;
    auto rpk = decode_rpk(o.credentials);
    if (!rpk) return exit_failure;
    const bool secure = psk->has_value() || x509->has_value() || rpk->has_value();

    auto addr = PeerAddr::parse(o.listen);
    const bool has_port = o.listen.starts_with('[')
                              ? o.listen.find("]:") != std::string::npos
                              : std::count(o.listen.begin(), o.listen.end(), ':') == 1;
    // RFC 7252 §6.1/§6.2 default ports: 5683 coap, 5684 coaps.
    if (addr && !has_port) addr->port = secure ? 5684 : 5683;
    if (!addr) {
        fmt::print(stderr, "error: --listen '{}' is not IPv4:port or [IPv6]:port\n", o.listen);
        return exit_failure;
    }
    transport::UdpSocketOptions sopt;
    // "[::]:port" serves IPv4 too; a specific IPv6 address stays IPv6-only.
    sopt.v6_only =
        !(addr->family == PeerAddr::Family::ipv6 && addr->addr == std::array<std::uint8_t, 16>{});
    auto sock = transport::UdpSocket::bind(*addr, sopt);
    if (!sock) {
        fmt::print(stderr, "error: cannot bind {}: {}\n", o.listen, sock.error().message());
        return exit_failure;
    }
    transport::SystemRandom rng;
    coap::Config cfg;
    cfg.max_buffered_bytes = o.max_buffered_bytes;
    // NoSec: RFC 9175 address validation unless turned off; over DTLS the cookie exchange
    // (RFC 6347 §4.2.1) already proved every peer's address.
    cfg.address_validation = !secure && o.amplification_factor > 0;
    cfg.amplification_factor = std::max(1U, o.amplification_factor);
    cfg.peers_verified_by_transport = secure;
    coap::Endpoint ep(cfg, rng, log);
    DemoResources demo(ep, log);

    if (!secure) {
        transport::Loop loop(ep, *sock);
        loop.set_hook([&](TimePoint now) { demo.on_events(now); });
        StopOnSignal guard(loop);
        print_listening(*sock);
        const int rc = run_loop(o, loop, demo, [](TimePoint) {});
        const auto s = ep.stats();
        log.write(LogLevel::info, "serve",
                  fmt::format("stopped: {} datagrams in, {} out, {} malformed dropped, {} "
                              "refused, {} caches evicted, {} Echo challenges, {} peers verified",
                              s.datagrams_received, s.datagrams_sent, s.malformed_dropped,
                              s.refused, s.evicted, s.echo_challenges, s.peers_verified));
        return rc;
    }

    dtls::ServerConfig scfg;
    scfg.psk = psk->has_value();
    scfg.logger = &log;
    const auto& caps = o.dtls_caps;
    if (caps.max_sessions) scfg.max_sessions = *caps.max_sessions;
    if (caps.max_handshakes) scfg.max_handshakes = *caps.max_handshakes;
    if (caps.max_handshakes_per_address)
        scfg.max_handshakes_per_address = *caps.max_handshakes_per_address;
    if (caps.max_handshakes_per_prefix)
        scfg.max_handshakes_per_prefix = *caps.max_handshakes_per_prefix;
    if (caps.ipv4_prefix_bits)
        scfg.ipv4_prefix_bits = static_cast<std::uint8_t>(*caps.ipv4_prefix_bits);
    if (caps.ipv6_prefix_bits)
        scfg.ipv6_prefix_bits = static_cast<std::uint8_t>(*caps.ipv6_prefix_bits);
    if (*x509) {
        scfg.x509 = dtls::X509Credentials{std::move((*x509)->chain), std::move((*x509)->key)};
        scfg.client_ca_der = std::move((*x509)->cas);
    }
    std::vector<Bytes> rpk_peers;
    if (*rpk) {
        scfg.rpk = dtls::RpkCredentials{std::move((*rpk)->spki), std::move((*rpk)->key)};
        rpk_peers = std::move((*rpk)->peers);
    }
    DemoStore store(std::move(*psk), std::move(rpk_peers));
    auto table = dtls::ServerTable::create(scfg, store);
    if (!table) {
        fmt::print(stderr, "error: DTLS server: {}\n", table.error().message());
        return exit_failure;
    }
    dtls::SecureEndpoint<dtls::ServerTable> sep(ep, *table);
    transport::Loop loop(sep, *sock);
    loop.set_hook([&](TimePoint now) {
        while (auto ev = sep.poll_event()) {
            if (auto* ce = std::get_if<coap::Event>(&*ev)) {
                demo.on_event(now, *ce);
                continue;
            }
            const auto& de = std::get<dtls::Event>(*ev);
            if (!log.enabled(LogLevel::info)) continue;
            if (const auto* h = std::get_if<dtls::HandshakeDone>(&de)) {
                log.write(LogLevel::info, "dtls", "session with " + h->peer.to_string());
            } else if (const auto* c = std::get_if<dtls::Closed>(&de)) {
                log.write(LogLevel::info, "dtls",
                          fmt::format("session with {} closed: {}", c->peer.to_string(),
                                      c->reason.message()));
            }
        }
        sep.flush(now);
        // Many sessions freed at once (mass handshake expiry): give the heap pages back.
        if (table->take_release_hint()) {
            const bool released = transport::release_free_heap();
            log.write(LogLevel::debug, "serve",
                      fmt::format("{} DTLS sessions left; free heap {}returned to the OS",
                                  table->size(), released ? "" : "not "));
        }
    });
    StopOnSignal guard(loop);
    print_listening(*sock);
    log.write(LogLevel::info, "serve",
              fmt::format("coaps: DTLS 1.2{}{}", scfg.psk ? ", PSK (one client identity)" : "",
                          scfg.x509 ? ", X.509 (clients verified against --ca)" : "") +
                  (scfg.rpk ? ", raw public keys (clients from --rpk-peer)" : ""));
    const int rc = run_loop(o, loop, demo, [&](TimePoint t) { sep.flush(t); });
    const auto& ts = table->stats();
    log.write(LogLevel::info, "serve",
              fmt::format("stopped: {} handshakes completed, {} failed, {} CoAP datagrams dropped "
                          "without a session; handshake caps: {} evicted and {} refused at "
                          "--max-handshakes, {} refused per address, {} per prefix",
                          ts.handshakes_completed, ts.handshakes_failed, sep.dropped(),
                          ts.half_open_evictions, ts.refused_at_capacity, ts.refused_per_address,
                          ts.refused_per_prefix));
    return rc;
}

} // namespace lwm2m::app
