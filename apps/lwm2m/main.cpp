// `lwm2m`: the admin CLI. Exceptions stop here (docs/architecture.md §5: only at the edges).
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <lwm2m/dtls/server_table.hpp>
#include <lwm2m/version.hpp>

#include "admin_commands.hpp"
#include "commands.hpp"
#include "content_formats.hpp"
#include "credentials.hpp"
#include "secret_input.hpp"
#include "spdlog_logger.hpp"

namespace {

using lwm2m::app::exit_usage;

/// A --content-format / --accept value: a name of content_formats.hpp or a number 0..65535.
void add_format_option(CLI::App& c, const char* name, std::optional<int>& target,
                       const char* what) {
    c.add_option_function<std::string>(
         name,
         [&target, name](const std::string& v) {
             auto f = lwm2m::app::parse_content_format(v);
             if (!f) throw CLI::ValidationError(name, "unknown content format '" + v + "'");
             target = *f;
         },
         std::string(what) + ": a name (" + lwm2m::app::content_format_names() +
             ") or a number 0..65535")
        ->type_name("FORMAT");
}

void add_request_command(CLI::App& coap, const char* name, const char* what,
                         lwm2m::app::RequestOptions& o, bool with_payload, bool with_observe,
                         CLI::App*& out) {
    auto* c = coap.add_subcommand(name, what);
    c->add_option(
         "uri", o.uri,
         "coap://HOST[:PORT]/PATH[?QUERY] or coaps://... (CoAP over DTLS 1.2, RFC 7252 §9.1: "
         "needs --psk-identity[-hex] and --psk-key[-hex|-file], or --cert, --key and --ca, or "
         "--rpk and --rpk-peer), "
         "HOST an IPv4 "
         "literal, [IPv6] literal or a host name (resolved with getaddrinfo); PORT defaults "
         "to 5683 for coap, 5684 for coaps (RFC 7252 §6.1, §6.2). Percent-encoding is "
         "decoded into Uri-Path/Uri-Query options (§6.4)")
        ->required();
    if (with_payload) {
        auto* p = c->add_option("--payload", o.payload, "request body as text");
        auto* f = c->add_option("--payload-file", o.payload_file,
                                "request body read from a file (binary); '-': standard input")
                      ->check(CLI::ExistingFile | CLI::IsMember({"-"}));
        p->excludes(f);
        add_format_option(*c, "--content-format", o.content_format,
                          "Content-Format option of the body (RFC 7252 §5.10.3)");
    }
    add_format_option(*c, "--accept", o.accept,
                      "Accept option: the content format wanted in the response (RFC 7252 "
                      "§5.10.4; a server that cannot produce it answers 4.06)");
    if (with_observe) {
        c->add_option(
             "--observe", o.observe,
             "register as observer (RFC 7641) and wait for N responses: the first response "
             "counts as one, then N-1 notifications; exits 2 if the server does not accept "
             "the observation or fewer arrive before --timeout")
            ->check(CLI::Range(1, 1000000));
    }
    c->add_option("--timeout", o.timeout_s,
                  "seconds to wait for the response (for --observe: for all N), default 30")
        ->check(CLI::Range(0.001, 86400.0));
    c->add_flag("--non", o.non,
                "send a NON request (default CON, retransmitted per RFC 7252 §4.2)");
    c->add_option("--block-size", o.block_size,
                  "block size for Block1/Block2 transfers (RFC 7959), 16..1024, power of two; "
                  "default 1024")
        ->check(CLI::IsMember({16, 32, 64, 128, 256, 512, 1024}));
    c->add_option("--output", o.output_file,
                  "write the response payload byte-exact to this file instead of stdout; '-': "
                  "stdout, byte-exact (no newline added)");
    c->add_flag("-q,--quiet", o.quiet, "print only the payload, not the '<code> <reason>' line");
    lwm2m::app::add_credential_options(*c, o.credentials, "client");
    c->footer(std::string("Prints '<code> <reason>' (and 'observe=<n>' for notifications) then the "
                          "payload; -q only the payload.\n") +
              lwm2m::app::exit_status_help);
    out = c;
}

/// `coap serve` flags for the DTLS session table's caps (dtls::ServerConfig).
void add_dtls_cap_options(CLI::App& s, lwm2m::app::DtlsCapOptions& o) {
    const lwm2m::dtls::ServerConfig d;
    s.add_option("--max-sessions", o.max_sessions,
                 fmt::format("coaps: DTLS sessions (established + handshaking); at the cap the "
                             "least recently active one is evicted. Default {}",
                             d.max_sessions))
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
    s.add_option("--max-handshakes", o.max_handshakes,
                 fmt::format("coaps: DTLS handshakes in progress (cookie verified, not yet "
                             "authenticated, ~15 KB each); at the cap the least recently active "
                             "one is dropped. Default {}",
                             d.max_handshakes))
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
    s.add_option("--max-handshakes-per-address", o.max_handshakes_per_address,
                 fmt::format("coaps: handshakes in progress from one IP address; more "
                             "ClientHellos from it are dropped until one ends. Default {}",
                             d.max_handshakes_per_address))
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
    s.add_option("--max-handshakes-per-prefix", o.max_handshakes_per_prefix,
                 fmt::format("coaps: handshakes in progress from one network prefix "
                             "(--ipv4-prefix, --ipv6-prefix). Default {}",
                             d.max_handshakes_per_prefix))
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
    s.add_option("--ipv4-prefix", o.ipv4_prefix_bits,
                 fmt::format("coaps: IPv4 prefix length for --max-handshakes-per-prefix, 1..32. "
                             "Default {}",
                             d.ipv4_prefix_bits))
        ->check(CLI::Range(1, 32));
    s.add_option("--ipv6-prefix", o.ipv6_prefix_bits,
                 fmt::format("coaps: IPv6 prefix length for --max-handshakes-per-prefix, 1..128. "
                             "Default {}",
                             d.ipv6_prefix_bits))
        ->check(CLI::Range(1, 128));
}

} // namespace

int main(int argc, char** argv) try {
    // Keys given on the command line or in the environment are taken out (and overwritten in
    // argv / the environment) before anything else copies them (issue #7, secret_input.hpp).
    lwm2m::app::TakenSecret arg_key = lwm2m::app::take_psk_key_args(argc, argv);
    lwm2m::app::TakenSecret env_key = lwm2m::app::take_psk_key_env();

    CLI::App app{"lwm2m: administration CLI of lwm2m-cpp: the REST API of lwm2m-server (clients, "
                 "read, write, exec, create, delete, discover, attrs, observe, composite, "
                 "security, bootstrap, events), a CoAP client and a demo server (coap)",
                 "lwm2m"};
    app.require_subcommand(1);
    // Global options (--log-level) also work after a subcommand: subcommands made below inherit
    // fallthrough and pass options they do not know to their parent.
    app.fallthrough();
    app.footer(lwm2m::app::exit_status_help);
    app.set_version_flag("--version", "lwm2m " LWM2M_VERSION_STRING,
                         "print 'lwm2m <version>' and exit");
    std::string log_level = "warn";
    app.add_option("--log-level", log_level,
                   "stderr log level: trace, debug, info, warn, error, off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

    auto* coap = app.add_subcommand("coap", "CoAP over UDP or DTLS (RFC 7252, 7959, 7641)");
    coap->require_subcommand(1);

    lwm2m::app::ServeOptions serve;
    auto* s = coap->add_subcommand(
        "serve",
        "run a CoAP server with the demo resources until SIGINT/SIGTERM: /hello (GET), /echo "
        "(PUT/POST store, GET returns, DELETE clears; Block1/Block2), /large (GET 4096 bytes, "
        "Block2), "
        "/counter (GET, observable: +1 every second, every 5th notification CON), "
        "/.well-known/core; "
        "4.04 for unknown paths, 4.05 for other methods. Prints 'listening on <addr>' once bound. "
        "With --psk-identity[-hex] and --psk-key[-hex|-file] (PSK, RFC 7252 §9.1.3.1: that one "
        "client "
        "identity), --rpk and --rpk-peer (raw public keys, §9.1.3.2) and/or --cert, --key and --ca "
        "(X.509, §9.1.3.3) it serves coaps (CoAP over DTLS "
        "1.2) instead of plain coap");
    s->add_option(
        "--listen", serve.listen,
        "local address IPv4[:PORT] or [IPv6][:PORT] (PORT defaults to 5683, 5684 for coaps); "
        "port 0 picks "
        "a free port; [::]:PORT also serves IPv4. Default 127.0.0.1:5683");
    s->add_option("--resources", serve.resources, "resource set to serve (only: demo)")
        ->check(CLI::IsMember({"demo"}));
    s->add_option("--duration", serve.duration_s,
                  "stop after this many seconds (default: run until signalled)")
        ->check(CLI::Range(0.0, 1e9));
    s->add_option("--amplification-factor", serve.amplification_factor,
                  "coap:// only: answer at most N times the bytes of a request to a client that "
                  "has not proved its address (RFC 9175 Echo: larger GET answers become 4.01 + "
                  "Echo, which libcoap and our client repeat automatically); 0 turns address "
                  "validation off. Default 3")
        ->check(CLI::Range(0U, 1000U));
    s->add_option("--max-buffered-bytes", serve.max_buffered_bytes,
                  "bytes held for cached replies and block-wise bodies (unverified clients' "
                  "caches are evicted first when full). Default 64 MiB")
        ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 40));
    lwm2m::app::add_credential_options(*s, serve.credentials, "server");
    add_dtls_cap_options(*s, serve.dtls_caps);

    lwm2m::app::RequestOptions req;
    CLI::App* get = nullptr;
    CLI::App* put = nullptr;
    CLI::App* post = nullptr;
    CLI::App* del = nullptr;
    add_request_command(*coap, "get", "send a GET request", req, false, true, get);
    add_request_command(*coap, "put", "send a PUT request", req, true, false, put);
    add_request_command(*coap, "post", "send a POST request", req, true, false, post);
    add_request_command(*coap, "delete", "send a DELETE request", req, false, false, del);

    lwm2m::app::AdminCommands admin;
    admin.add_to(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e); // prints the message and a hint to --help on stderr
        return exit_usage;
    }
    if (admin.parsed()) {
        try {
            return admin.run(std::move(env_key));
        } catch (const std::exception& e) {
            fmt::print(stderr, "error: {}\n", e.what());
            return exit_usage;
        }
    }
    auto& credentials = s->parsed() ? serve.credentials : req.credentials;
    credentials.arg_key = std::move(arg_key);
    credentials.env_key = std::move(env_key);

    try {
        auto raw = lwm2m::app::make_stderr_logger(log_level);
        lwm2m::app::SpdlogLogger log(raw);
        if (s->parsed()) return lwm2m::app::run_coap_serve(serve, log);
        for (auto [cmd, name] :
             {std::pair{get, "get"}, {put, "put"}, {post, "post"}, {del, "delete"}}) {
            if (cmd->parsed()) {
                req.method = name;
                return lwm2m::app::run_coap_request(req, log);
            }
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        return exit_usage;
    }
    return exit_usage;
} catch (const std::exception& e) {
    // Anything the command handlers above did not catch: a message, not std::terminate().
    fmt::print(stderr, "error: {}\n", e.what());
    return exit_usage;
} catch (...) {
    fmt::print(stderr, "error: unexpected exception\n");
    return exit_usage;
}
