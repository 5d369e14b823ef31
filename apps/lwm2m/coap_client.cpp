// `lwm2m coap get|put|post|delete URI`: one request (or one observation) with the CoAP Endpoint.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <variant>

#include <fmt/format.h>

#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/transport/coap_uri.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/resolve.hpp>
#include <lwm2m/transport/system_random.hpp>

#include "commands.hpp"
#include "icmp_errors.hpp"
#include "signals.hpp"

namespace lwm2m::app {

std::string_view coap_reason(coap::Code c) {
    switch (c.value) {
    case coap::code::created.value:
        return "Created";
    case coap::code::deleted.value:
        return "Deleted";
    case coap::code::valid.value:
        return "Valid";
    case coap::code::changed.value:
        return "Changed";
    case coap::code::content.value:
        return "Content";
    case coap::code::continue_.value:
        return "Continue";
    case coap::code::bad_request.value:
        return "Bad Request";
    case coap::code::unauthorized.value:
        return "Unauthorized";
    case coap::code::bad_option.value:
        return "Bad Option";
    case coap::code::forbidden.value:
        return "Forbidden";
    case coap::code::not_found.value:
        return "Not Found";
    case coap::code::method_not_allowed.value:
        return "Method Not Allowed";
    case coap::code::not_acceptable.value:
        return "Not Acceptable";
    case coap::code::request_entity_incomplete.value:
        return "Request Entity Incomplete";
    case coap::code::precondition_failed.value:
        return "Precondition Failed";
    case coap::code::request_entity_too_large.value:
        return "Request Entity Too Large";
    case coap::code::unsupported_content_format.value:
        return "Unsupported Content-Format";
    case coap::code::internal_server_error.value:
        return "Internal Server Error";
    case coap::code::not_implemented.value:
        return "Not Implemented";
    case coap::code::bad_gateway.value:
        return "Bad Gateway";
    case coap::code::service_unavailable.value:
        return "Service Unavailable";
    case coap::code::gateway_timeout.value:
        return "Gateway Timeout";
    case coap::code::proxying_not_supported.value:
        return "Proxying Not Supported";
    default:
        return "";
    }
}

namespace {

namespace option = coap::option;

/// Prints "<code> <reason>[ observe=<n>]" (not with -q) then the payload; with --output FILE the
/// payload goes to the file instead (byte-exact, the last one wins for observations); with
/// --output - it goes to stdout byte-exact (no newline added).
void print_response(const coap::Message& m, std::optional<std::uint32_t> seq,
                    const RequestOptions& o) {
    const auto& output_file = o.output_file;
    if (!o.quiet) {
        std::string head = m.code.to_string();
        if (auto r = coap_reason(m.code); !r.empty()) head += fmt::format(" {}", r);
        if (seq) head += fmt::format(" observe={}", *seq);
        fmt::print("{}\n", head);
    }
    if (output_file && *output_file == "-") {
        std::fwrite(m.payload.data(), 1, m.payload.size(), stdout);
    } else if (output_file) {
        std::ofstream f(*output_file, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(m.payload.data()),
                static_cast<std::streamsize>(m.payload.size()));
    } else if (!m.payload.empty()) {
        std::fwrite(m.payload.data(), 1, m.payload.size(), stdout);
        if (m.payload.back() != std::byte{'\n'}) std::fputc('\n', stdout);
    }
    std::fflush(stdout);
}

/// The bytes of a file; "-" reads standard input.
std::optional<Bytes> read_file(const std::string& path) {
    std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (f == nullptr) return std::nullopt;
    Bytes out;
    std::byte buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.insert(out.end(), buf, buf + n);
    const bool failed = std::ferror(f) != 0;
    if (f != stdin) std::fclose(f);
    if (failed) return std::nullopt;
    return out;
}

/// Parses coap:// and coaps:// URIs (RFC 7252 §6.1, §6.2). transport::parse_coap_uri knows only
/// "coap"; a coaps URI is parsed as coap with the scheme swapped, and gets port 5684 when its
/// authority names none.
std::optional<transport::CoapUri> parse_uri(const std::string& text, bool& secure) {
    constexpr std::string_view coaps = "coaps://";
    secure = text.size() >= coaps.size() &&
             std::equal(coaps.begin(), coaps.end(), text.begin(), [](char a, char b) {
                 return a == std::tolower(static_cast<unsigned char>(b));
             });
    if (!secure) {
        auto u = transport::parse_coap_uri(text);
        if (!u) return std::nullopt;
        return std::move(*u);
    }
    const std::string rest = text.substr(coaps.size());
    auto u = transport::parse_coap_uri("coap://" + rest);
    if (!u) return std::nullopt;
    u->scheme = "coaps";
    const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
    const auto bracket = authority.rfind(']');
    const auto colon = authority.rfind(':');
    const bool has_port =
        colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
    if (!has_port) u->port = 5684;
    return std::move(*u);
}

} // namespace

int run_coap_request(RequestOptions& o, Logger& log) {
    bool secure = false;
    auto uri = parse_uri(o.uri, secure);
    if (!uri) {
        fmt::print(stderr,
                   "error: '{}' is not a valid coap URI (coap[s]://IPv4[:port]/path?query, "
                   "coap[s]://[IPv6][:port]/..., or coap[s]://hostname/...; RFC 7252 §6)\n",
                   o.uri);
        return exit_failure;
    }
    auto psk = decode_credentials(o.credentials);
    if (!psk) return exit_failure; // message printed, without the key
    auto x509 = decode_x509(o.credentials);
    if (!x509) return exit_failure;
    auto rpk = decode_rpk(o.credentials);
    if (!rpk) return exit_failure;
    const int kinds = int(psk->has_value()) + int(x509->has_value()) + int(rpk->has_value());
    if (secure && kinds == 0) {
        fmt::print(stderr,
                   "error: a coaps:// URI needs --psk-identity[-hex] and --psk-key[-hex|-file], "
                   "or --cert, --key and --ca, or --rpk and --rpk-peer\n");
        return exit_failure;
    }
    if (kinds > 1) {
        fmt::print(
            stderr,
            "error: give one kind of credentials (PSK, X.509 or raw public key), not several\n");
        return exit_failure;
    }
    if (!secure && kinds > 0) {
        fmt::print(stderr, "error: PSK, X.509 and raw public key options need a coaps:// URI\n");
        return exit_failure;
    }
    auto peers = transport::resolve_udp(uri->host, uri->port);
    if (!peers) {
        fmt::print(stderr, "error: cannot resolve '{}': {}\n", uri->host, peers.error().message());
        return exit_network;
    }
    const PeerAddr peer = peers->front();

    coap::Message req;
    req.type = o.non ? coap::Type::non : coap::Type::con;
    if (o.method == "get")
        req.code = coap::code::get;
    else if (o.method == "put")
        req.code = coap::code::put;
    else if (o.method == "post")
        req.code = coap::code::post;
    else
        req.code = coap::code::delete_;
    // RFC 7252 §6.4 step 5: Uri-Host only when the host is not an IP literal.
    if (!uri->host_is_ip_literal) req.add_option(option::uri_host, std::string_view(uri->host));
    for (const auto& seg : uri->path)
        req.add_option(option::uri_path, std::string_view(seg));
    for (const auto& q : uri->query)
        req.add_option(option::uri_query, std::string_view(q));
    if (o.content_format)
        req.add_uint_option(option::content_format, static_cast<std::uint64_t>(*o.content_format));
    if (o.accept) req.add_uint_option(option::accept, static_cast<std::uint64_t>(*o.accept));
    if (o.observe) req.add_uint_option(option::observe, 0); // RFC 7641 §3.1 register
    if (o.payload) {
        req.payload = to_bytes(*o.payload);
    } else if (o.payload_file) {
        auto data = read_file(*o.payload_file);
        if (!data) {
            fmt::print(stderr, "error: cannot read --payload-file '{}'\n", *o.payload_file);
            return exit_failure;
        }
        req.payload = std::move(*data);
    }

    PeerAddr local = peer.family == PeerAddr::Family::ipv4 ? *PeerAddr::parse("0.0.0.0:0")
                                                           : *PeerAddr::parse("[::]:0");
    auto sock = transport::UdpSocket::bind(local);
    if (!sock) {
        fmt::print(stderr, "error: cannot open a UDP socket: {}\n", sock.error().message());
        return exit_network;
    }
    // ICMP errors (a closed port) end the request at once instead of after --timeout.
    enable_icmp_errors(sock->fd(), sock->family() == PeerAddr::Family::ipv6);
    transport::SystemRandom rng;
    coap::Config cfg;
    cfg.block_size = static_cast<std::size_t>(o.block_size);
    coap::Endpoint ep(cfg, rng, log);
    std::optional<dtls::ClientSession> session;
    std::optional<dtls::SecureEndpoint<dtls::ClientSession>> sep;
    if (secure) {
        dtls::ClientConfig dcfg;
        dcfg.server = peer;
        dcfg.logger = &log;
        // The handshake ends within --timeout, so its own diagnosis (e.g. "no reply to our
        // Finished") is what the user sees, not a generic request timeout.
        dcfg.handshake_timeout = std::min(
            dcfg.handshake_timeout,
            std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o.timeout_s)));
        if (*psk) {
            dcfg.credentials =
                dtls::PskCredentials{std::move((*psk)->identity), std::move((*psk)->key)};
        } else if (*rpk) {
            auto& m = **rpk;
            dcfg.credentials = dtls::RpkCredentials{std::move(m.spki), std::move(m.key)};
            dcfg.server_public_key = std::move(m.peers.front()); // RFC 7250: the pinned server key
        } else {
            auto& m = **x509;
            dcfg.credentials = dtls::X509Credentials{std::move(m.chain), std::move(m.key)};
            // LwM2M TS Core 1.1 §E.1 resource 15 = 2 (RFC 6698 DANE-TA): the --ca certificate is
            // the trust anchor the server's chain must lead to.
            dcfg.certificate_usage = dtls::CertificateUsage::trust_anchor_assertion;
            dcfg.server_public_key = m.cas.front();
            dcfg.trust_anchors_der = std::move(m.cas);
        }
        auto s = dtls::ClientSession::create(std::move(dcfg));
        if (!s) {
            fmt::print(stderr, "error: DTLS client: {}\n", s.error().message());
            return exit_usage;
        }
        session.emplace(std::move(*s));
        sep.emplace(ep, *session);
    }
    const TimePoint start = transport::LoopBase::now();
    auto id = ep.send_request(start, peer, std::move(req));
    if (!id) {
        fmt::print(stderr, "error: request not sent: {}\n", id.error().message());
        return exit_usage;
    }
    if (sep) sep->flush(start); // starts the DTLS handshake; the request waits for it
    log.write(LogLevel::debug, "client",
              fmt::format("{} {}{} to {}{}", o.method, uri->path_string(),
                          o.observe ? " (observe)" : "", peer.to_string(),
                          secure ? " over DTLS" : ""));

    const int wanted = o.observe ? *o.observe : 1;
    int received = 0;
    bool finished = false;
    int exit_code = exit_timeout;
    auto on_coap = [&](const coap::Event& ev) {
        {
            if (auto* r = std::get_if<coap::Response>(&ev); r && r->id == *id) {
                ++received;
                std::optional<std::uint32_t> seq;
                if (auto obs = r->response.uint_option(option::observe))
                    seq = static_cast<std::uint32_t>(*obs);
                print_response(r->response, seq, o);
                exit_code = r->response.code.is_success() ? exit_success : exit_error_response;
                if (!o.observe || received >= wanted) {
                    finished = true;
                } else if (!seq) {
                    // RFC 7641 §3.1: no Observe option in the response: not added to the list.
                    fmt::print(stderr, "error: the server did not accept the observation\n");
                    if (exit_code == exit_success) exit_code = exit_error_response;
                    finished = true;
                }
            } else if (auto* n = std::get_if<coap::Notification>(&ev); n && n->id == *id) {
                ++received;
                print_response(n->notification, n->seq, o);
                exit_code = n->notification.code.is_success() ? exit_success : exit_error_response;
                if (received >= wanted || !n->notification.code.is_success()) finished = true;
            } else if (auto* f = std::get_if<coap::RequestFailed>(&ev); f && f->id == *id) {
                if (!finished)
                    fmt::print(stderr, "error: {} {}: {}\n", o.method, o.uri, f->error.message());
                exit_code =
                    f->error == make_error_code(coap::Errc::timeout) ? exit_timeout : exit_network;
                finished = true;
            }
        }
    };
    // DTLS events: a failed handshake ends the request at once (the CoAP layer would only time
    // out). Messages come from dtls::Errc and never contain key material.
    auto on_dtls = [&](const dtls::Event& ev) {
        if (const auto* f = std::get_if<dtls::HandshakeFailed>(&ev)) {
            if (!finished) {
                fmt::print(stderr, "error: DTLS handshake with {} failed: {}\n", peer.to_string(),
                           f->error.message());
            }
            exit_code = exit_network;
            finished = true;
        } else if (const auto* c = std::get_if<dtls::Closed>(&ev); c && !finished) {
            fmt::print(stderr, "error: DTLS session with {} closed: {}\n", peer.to_string(),
                       c->reason.message());
            exit_code = exit_network;
            finished = true;
        } else if (const auto* h = std::get_if<dtls::HandshakeDone>(&ev)) {
            log.write(LogLevel::debug, "client",
                      "DTLS session established with " + h->peer.to_string());
        }
    };
    const auto timeout =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o.timeout_s));
    // ICMP errors about the peer (e.g. port unreachable: "connection refused").
    auto check_icmp = [&] {
        if (finished) return;
        if (auto e = take_icmp_error(sock->fd(), peer)) {
            fmt::print(stderr, "error: {} {}: {} (ICMP from {})\n", o.method, o.uri, e->what,
                       peer.to_string());
            exit_code = exit_network;
            finished = true;
        }
    };
    auto drive = [&](auto& loop) -> Result<bool> {
        StopOnSignal guard(loop);
        return loop.run_until([&] { return finished || StopOnSignal::requested(); }, timeout);
    };
    Result<bool> done = false;
    std::optional<transport::Loop<coap::Endpoint>> plain_loop;
    std::optional<transport::Loop<dtls::SecureEndpoint<dtls::ClientSession>>> secure_loop;
    if (sep) {
        secure_loop.emplace(*sep, *sock);
        secure_loop->set_hook([&](TimePoint now) {
            check_icmp();
            while (auto ev = sep->poll_event()) {
                if (auto* ce = std::get_if<coap::Event>(&*ev))
                    on_coap(*ce);
                else
                    on_dtls(std::get<dtls::Event>(*ev));
            }
            sep->flush(now);
        });
        done = drive(*secure_loop);
    } else {
        plain_loop.emplace(ep, *sock);
        plain_loop->set_hook([&](TimePoint) {
            check_icmp();
            while (auto ev = ep.poll_event())
                on_coap(*ev);
        });
        done = drive(*plain_loop);
    }
    if (!done) {
        fmt::print(stderr, "error: event loop: {}\n", done.error().message());
        return exit_network;
    }
    if (!finished && StopOnSignal::requested()) {
        // Ctrl-C / SIGTERM: stop at once, no timeout message (none happened).
        fmt::print(stderr, "interrupted\n");
        exit_code = exit_signal_base + StopOnSignal::signal_number();
    } else if (!finished) {
        if (o.observe && received > 0) {
            fmt::print(stderr, "error: timeout after {} of {} notifications\n", received, wanted);
        } else {
            fmt::print(stderr, "error: timeout: no response within {} s\n", o.timeout_s);
        }
        exit_code = exit_timeout;
    }
    if (o.observe) {
        // RFC 7641 §3.6: forget the observation. The server learns it when its next
        // notification is refused (by our RST, or by ICMP once this process has exited).
        (void)ep.cancel_request(transport::LoopBase::now(), *id);
    }
    if (session && session->established()) {
        // RFC 6347 §4.2.7 / RFC 5246 §7.2.1: close_notify, so the server frees the session now.
        session->close(transport::LoopBase::now());
        (void)secure_loop->run_once(Duration::zero());
    }
    return exit_code;
}

} // namespace lwm2m::app
