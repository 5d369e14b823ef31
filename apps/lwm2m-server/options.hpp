// Command line and JSON configuration file of lwm2m-server (CLI11; the file's keys are the long
// option names without "--"; the command line wins over the file).
#pragma once

#include <cstdint>
#include <string>

namespace lwm2m::app {

struct ServerOptions {
    std::string config_file;
    bool dm = true;        ///< device-management role
    bool bootstrap = true; ///< bootstrap role
    std::string coap_address = "0.0.0.0";
    int coap_port = 5683;     ///< DM NoSec listener (0: off)
    int coaps_port = 5684;    ///< DM DTLS listener (0: off)
    int bs_coap_port = 5783;  ///< bootstrap NoSec listener (0: off)
    int bs_coaps_port = 5784; ///< bootstrap DTLS listener (0: off)
    std::string http_address = "127.0.0.1";
    int http_port = 8080; ///< 0: an ephemeral port (printed)
    std::string data_dir = "lwm2m-data";
    std::string store = "sqlite";
    /// This node's id among the nodes sharing a Redis store (empty: <data-dir>/node-id).
    std::string node_id;
    std::string nosec = "listed"; ///< refuse | listed | any
    bool bs_allow_nosec = false;
    std::string objects_dir; ///< DDF files (*.xml) beyond the built-in objects
    std::string web_root;    ///< static files of the web UI, served at "/"
    /// DTLS listeners (DM and bootstrap): our raw public key (PEM PUBLIC KEY + PRIVATE KEY):
    /// enables RPK clients (checked against their stored keys, RFC 7250).
    std::string dtls_rpk;
    /// Our certificate chain, its key and the CAs client certificates must chain to (PEM):
    /// enables X.509 clients (all three together).
    std::string dtls_cert, dtls_key, dtls_ca;
    std::string public_host = "127.0.0.1"; ///< how devices reach us (shown in URIs)
    std::string log_level = "info";
    bool strict = false;
    /// SO_REUSEPORT on the CoAP sockets: several lwm2m-server processes (of one user) share the
    /// ports of one host and the kernel spreads the clients over them (docs/cluster-nodes.md).
    bool reuse_port = false;
    /// With a Redis store: DTLS sessions are exported to the store and taken over by the node a
    /// client's flow moves to, without a handshake (docs/cluster-nodes.md).
    bool dtls_takeover = true;
    double shutdown_grace_s = 5.0;
};

/// Parses argv (and the --config file). Returns the exit code when the program must stop (0 for
/// --help / --version, 2 for a usage error, with the message printed), or -1 to run.
int parse_options(int argc, char** argv, ServerOptions& out);

} // namespace lwm2m::app
