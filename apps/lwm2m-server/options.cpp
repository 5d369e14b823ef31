#include "options.hpp"

#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>

#include <lwm2m/store/redis_cluster.hpp>
#include <lwm2m/version.hpp>

#include "json_config.hpp"

namespace lwm2m::app {

int parse_options(int argc, char** argv, ServerOptions& o) {
    CLI::App app{"lwm2m-server: LwM2M device-management and bootstrap server with a REST API "
                 "(lwm2m-cpp)",
                 "lwm2m-server"};
    // A repeated option takes its last value (a wrapper script can override what it passed).
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.config_formatter(std::make_shared<JsonConfig>());
    app.set_config("--config", "",
                   "JSON configuration file: an object whose keys are the long option names "
                   "without '--' (e.g. {\"coap-port\": 5683, \"store\": \"sqlite\"}); the command "
                   "line wins");
    app.allow_config_extras(false);
    app.set_version_flag("--version", "lwm2m-server " LWM2M_VERSION_STRING);

    app.add_option("--dm", o.dm, "run the device-management server role (true/false)")
        ->capture_default_str();
    app.add_option("--bootstrap", o.bootstrap, "run the bootstrap server role (true/false)")
        ->capture_default_str();
    app.add_option("--coap-address", o.coap_address,
                   "local address of the CoAP sockets (0.0.0.0, ::, 127.0.0.1, ...)")
        ->capture_default_str();
    auto port = CLI::Range(0, 65535);
    app.add_option("--coap-port", o.coap_port, "DM server, CoAP NoSec port (0: no listener)")
        ->check(port)
        ->capture_default_str();
    app.add_option("--coaps-port", o.coaps_port, "DM server, CoAP over DTLS port (0: no listener)")
        ->check(port)
        ->capture_default_str();
    app.add_option("--bs-coap-port", o.bs_coap_port,
                   "bootstrap server, CoAP NoSec port (0: no listener)")
        ->check(port)
        ->capture_default_str();
    app.add_option("--bs-coaps-port", o.bs_coaps_port,
                   "bootstrap server, CoAP over DTLS port (0: no listener)")
        ->check(port)
        ->capture_default_str();
    app.add_option("--http-address", o.http_address,
                   "REST API address (keep it on loopback or behind a TLS proxy: no TLS here)")
        ->capture_default_str();
    app.add_option("--http-port", o.http_port, "REST API port (0: ephemeral, printed at start)")
        ->check(port)
        ->capture_default_str();
    app.add_option("--data-dir", o.data_dir,
                   "data directory: the database, the secret key file (0600) and the API token "
                   "file (api-token, 0600)")
        ->capture_default_str();
    app.add_option("--store", o.store,
                   "where registrations, credentials and bootstrap configurations live: sqlite "
                   "(the data directory), memory, or redis://[[user]:password@]host:port[,host:"
                   "port...] (a Redis Cluster, or one Redis; the secret key file stays in the "
                   "data directory; put a URL with a password in the --config file, not on the "
                   "command line)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                if (v == "memory" || v == "sqlite") return {};
                std::string why;
                if (v.rfind("redis://", 0) == 0 && lwm2m::store::redis::parse_url(v, &why))
                    return {};
                return why.empty() ? "memory, sqlite or redis://host:port[,host:port...]"
                                   : "bad Redis URL: " + why;
            },
            "memory|sqlite|redis://host:port,..."))
        ->capture_default_str();
    app.add_option("--node-id", o.node_id,
                   "this server node's id among the nodes sharing a Redis store (1-64 of "
                   "A-Z a-z 0-9 . _ -); default: the id in <data-dir>/node-id, created as "
                   "<hostname>-<8 hex digits> on first start (docs/cluster.md)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                const bool good = !v.empty() && v.size() <= 64 &&
                                  v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                                      "qrstuvwxyz0123456789._-") == v.npos;
                return good ? std::string() : "1 to 64 characters of A-Z a-z 0-9 . _ -";
            },
            "ID"));
    app.add_option("--nosec", o.nosec,
                   "who may register over plain CoAP: refuse (nobody), listed (endpoints whose "
                   "credentials say nosec), any (any endpoint without credentials requiring DTLS)")
        ->check(CLI::IsMember({"refuse", "listed", "any"}))
        ->capture_default_str();
    app.add_option("--bs-allow-nosec", o.bs_allow_nosec,
                   "accept Bootstrap-Requests over plain CoAP (endpoints whose bootstrap "
                   "credentials are nosec)")
        ->capture_default_str();
    app.add_option("--objects-dir", o.objects_dir,
                   "folder of DDF files (*.xml) with object definitions beyond Objects 0-7");
    app.add_option("--web-root", o.web_root, "folder of the web UI's static files (served at /)");
    app.add_option("--dtls-rpk", o.dtls_rpk,
                   "PEM file with the server's raw public key (PUBLIC KEY + unencrypted PRIVATE "
                   "KEY): the DTLS listeners also accept RPK clients (RFC 7250) whose key is "
                   "stored for them")
        ->check(CLI::ExistingFile);
    app.add_option("--dtls-cert", o.dtls_cert,
                   "PEM certificate chain of the server (end-entity first): with --dtls-key and "
                   "--dtls-ca the DTLS listeners also accept X.509 clients")
        ->check(CLI::ExistingFile);
    app.add_option("--dtls-key", o.dtls_key, "PEM private key of --dtls-cert")
        ->check(CLI::ExistingFile);
    app.add_option("--dtls-ca", o.dtls_ca, "PEM CA certificates client certificates chain to")
        ->check(CLI::ExistingFile);
    app.add_option("--public-host", o.public_host,
                   "host name or address devices use to reach this server (shown in URIs)")
        ->capture_default_str();
    app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error, off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->capture_default_str();
    app.add_option("--strict", o.strict,
                   "refuse what lenient parsing tolerates in registrations (true/false)")
        ->capture_default_str();
    app.add_option(
           "--reuse-port", o.reuse_port,
           "SO_REUSEPORT on the CoAP/DTLS sockets (true/false): several lwm2m-server "
           "nodes on one host bind the same ports and the kernel spreads the clients over "
           "them by address; use it with a shared --store redis://... (docs/cluster-nodes.md)")
        ->capture_default_str();
    app.add_option("--dtls-takeover", o.dtls_takeover,
                   "with --store redis://...: export DTLS sessions (sealed with a key derived "
                   "from secret.key) so that the node a client's flow moves to takes its session "
                   "over without a handshake (true/false; docs/cluster-nodes.md)")
        ->capture_default_str();
    app.add_option("--shutdown-grace", o.shutdown_grace_s,
                   "seconds that requests in flight get to finish on SIGTERM")
        ->check(CLI::Range(0.0, 300.0))
        ->capture_default_str();
    app.footer("Ports: DM 5683 (coap) / 5684 (coaps), bootstrap 5783 / 5784, REST 127.0.0.1:8080.\n"
               "The REST API needs 'Authorization: Bearer <token>' with the token of "
               "<data-dir>/api-token\n"
               "(created at first start). SIGTERM / SIGINT stop gracefully (exit 0).\n"
               "Documentation: docs/guide-server.md, docs/rest-api.md.");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help / --version exit 0; every usage error exits 2 (after CLI11's message).
        return app.exit(e) == 0 ? 0 : 2;
    }
    const int x509_given = !o.dtls_cert.empty() + !o.dtls_key.empty() + !o.dtls_ca.empty();
    if (x509_given != 0 && x509_given != 3) {
        std::fprintf(stderr, "lwm2m-server: --dtls-cert, --dtls-key and --dtls-ca go together\n");
        return 2;
    }
    if (!o.dm && !o.bootstrap) {
        std::fprintf(stderr, "lwm2m-server: both roles are turned off (--dm, --bootstrap)\n");
        return 2;
    }
    return -1;
}

} // namespace lwm2m::app
