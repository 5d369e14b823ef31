// The admin commands over the REST API. Exit statuses (commands.hpp, guide-cli.md): 0 success,
// 1 the device answered a CoAP error, 2 usage, 3 network (API unreachable), 4 timeout (the
// device or the API did not answer in time), 5 the API answered an HTTP error, 128+signal.
#include "admin_commands.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <lwm2m/coap/message.hpp>
#include <lwm2m/dm/path.hpp>

#include "commands.hpp"
#include "pem.hpp"
#include "rest_client.hpp"
#include "rest_format.hpp"

namespace lwm2m::app {

std::string_view coap_reason(coap::Code c); // coap_client.cpp

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<int> g_signal{0};

void on_signal(int sig) {
    g_signal.store(sig);
}

/// SIGINT/SIGTERM raise the stop flag polled by RestClient (no SA_RESTART: poll(2) returns).
struct SignalGuard {
    SignalGuard() {
        struct sigaction sa {};
        sa.sa_handler = &on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
    }
    ~SignalGuard() {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
    }
};

/// A command failed; the exit status and the message for stderr.
struct Failure {
    int status;
    std::string message;
};

const char* const device_formats[] = {"tlv",        "senml-json", "senml-cbor", "lwm2m-json",
                                      "lwm2m-cbor", "text",       "opaque"};

std::string read_text_file(const std::string& path, std::string* why) {
    if (path == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        return ss.str();
    }
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        *why = "cannot read " + path;
        return {};
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string hex_of(BytesView b) {
    static constexpr char d[] = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (auto c : b) {
        s += d[static_cast<unsigned>(c) >> 4];
        s += d[static_cast<unsigned>(c) & 15];
    }
    return s;
}

} // namespace

struct AdminCommands::State {
    // Global options.
    std::string server;
    std::string token_file;
    std::string config_file;
    bool json_out = false;
    std::optional<double> timeout_s;

    // Subcommands and their arguments.
    CLI::App* clients = nullptr;
    std::string filter, ep_prefix, binding, security_mode;
    std::size_t limit = 1000, offset = 0;

    CLI::App* client = nullptr;
    CLI::App* stats = nullptr;
    CLI::App* read = nullptr;
    CLI::App* write = nullptr;
    CLI::App* exec = nullptr;
    CLI::App* create = nullptr;
    CLI::App* del = nullptr;
    CLI::App* discover = nullptr;
    CLI::App* attrs = nullptr;
    CLI::App* observe = nullptr;
    CLI::App* composite = nullptr;
    CLI::App* comp_read = nullptr;
    CLI::App* comp_observe = nullptr;
    CLI::App* events = nullptr;
    CLI::App* ev_history = nullptr;
    CLI::App* security = nullptr;
    CLI::App* sec_psk = nullptr;
    CLI::App* sec_rpk = nullptr;
    CLI::App* sec_x509 = nullptr;
    CLI::App* sec_list = nullptr;
    CLI::App* sec_show = nullptr;
    CLI::App* sec_delete = nullptr;
    CLI::App* sec_import = nullptr;
    std::string import_file;
    CLI::App* bootstrap = nullptr;
    CLI::App* bs_add = nullptr;
    CLI::App* bs_list = nullptr;
    CLI::App* bs_show = nullptr;
    CLI::App* bs_delete = nullptr;
    CLI::App* bs_status = nullptr;

    std::string ep, path;
    std::vector<std::string> paths;
    std::string value;
    std::string node;
    std::string type;
    bool partial = false;
    std::string exec_args;
    std::optional<unsigned> create_id;
    std::string format;
    // attrs
    std::optional<std::uint32_t> pmin, pmax, epmin, epmax, hqmax;
    std::optional<double> gt, lt, st;
    std::optional<bool> edge, con;
    std::vector<std::string> clear;
    // streams
    std::optional<std::size_t> count;
    std::optional<double> duration_s;
    bool keep = false;
    std::vector<std::string> event_eps, event_types;
    std::string last_event_id;
    // events history
    std::string history_ep;
    std::uint64_t history_after = 0;
    std::size_t history_limit = 100;
    bool history_all = false;
    // security
    std::string identity, identity_hex, key_file, public_key_file, public_key_hex, common_name;
    bool replace = false;
    // bootstrap
    std::string bs_file, bs_replace;

    TakenSecret env_key;
    std::optional<RestClient> rest;
    std::map<std::uint16_t, std::optional<ObjectModel>> models;

    // ---- helpers ----------------------------------------------------------------------------

    int resolve_connection(Failure& f);
    std::optional<json> call(std::string_view method, const std::string& target, Failure& f,
                             std::string body = {}, bool print_json = true,
                             std::string_view content_type = "application/json");
    const ObjectModel* model(std::uint16_t oid);
    ModelLookup lookup() {
        return [this](std::uint16_t oid) { return model(oid); };
    }
    [[nodiscard]] std::string device_query(bool with_format) const;
    std::optional<std::string> lwm2m_path(const std::string& p, Failure& f) const;
    [[nodiscard]] std::string client_base() const { return "/api/clients/" + url_encode(ep); }
    int device_result(const json& r, Failure& f, const std::function<void(const json&)>& body);
    int stream_events(const std::string& target, const std::function<bool()>& on_open,
                      const std::function<bool(const json&)>& on_event, Failure& f);

    // ---- commands ---------------------------------------------------------------------------
    int run_clients(Failure& f);
    int run_client(Failure& f);
    int run_stats(Failure& f);
    int run_read(Failure& f);
    int run_write(Failure& f);
    int run_exec(Failure& f);
    int run_create(Failure& f);
    int run_delete(Failure& f);
    int run_discover(Failure& f);
    int run_attrs(Failure& f);
    int run_observe(Failure& f, bool composite);
    int run_composite_read(Failure& f);
    int run_events(Failure& f);
    int run_event_history(Failure& f);
    int run_security(Failure& f);
    int run_bootstrap(Failure& f);
};

AdminCommands::AdminCommands()
    : s_(std::make_unique<State>()) {}
AdminCommands::~AdminCommands() = default;

void AdminCommands::add_to(CLI::App& app) {
    auto& s = *s_;
    app.add_option("--server", s.server,
                   "admin commands: the REST API of lwm2m-server, http://HOST[:PORT] (else "
                   "LWM2M_SERVER, the config file's \"server\", http://127.0.0.1:8080)")
        ->type_name("URL");
    app.add_option("--token-file", s.token_file,
                   "admin commands: file holding the API token (else LWM2M_TOKEN, the config "
                   "file's \"token_file\" / \"token\")")
        ->type_name("FILE");
    app.add_option("--config", s.config_file,
                   "admin commands: config file (default $XDG_CONFIG_HOME/lwm2m/config.json, "
                   "~/.config/lwm2m/config.json)")
        ->type_name("FILE");
    app.add_flag("--json", s.json_out,
                 "admin commands: print the API's JSON as is (one document, or one per line for "
                 "streams) instead of tables");
    app.add_option("--timeout", s.timeout_s,
                   "admin commands: seconds the device may take to answer (the API's ?timeout=, "
                   "default 5, at most 300)")
        ->check(CLI::Range(0.001, 300.0));

    auto format_opt = [&s](CLI::App* c) {
        c->add_option("--format", s.format,
                      "content format asked of the device: tlv, senml-json, senml-cbor, "
                      "lwm2m-json, lwm2m-cbor, text, opaque")
            ->check(CLI::IsMember(
                std::vector<std::string>(std::begin(device_formats), std::end(device_formats))));
    };
    auto ep_arg = [&s](CLI::App* c) {
        c->add_option("endpoint", s.ep, "the client's endpoint name")->required();
    };
    auto path_arg = [&s](CLI::App* c, const char* what) {
        c->add_option("path", s.path, what)->required();
    };
    auto stream_opts = [&s](CLI::App* c) {
        c->add_option("--count", s.count, "stop after N events")->check(CLI::Range(1, 1000000000));
        c->add_option("--duration", s.duration_s, "stop after S seconds")
            ->check(CLI::Range(0.001, 1e9));
    };

    s.clients = app.add_subcommand("clients", "list the registered clients (GET /api/clients)");
    s.clients->add_option("--filter", s.filter, "endpoint names containing this text");
    s.clients->add_option("--ep-prefix", s.ep_prefix, "endpoint names starting with this text");
    s.clients->add_option("--binding", s.binding, "binding letters, e.g. U or UQ");
    s.clients->add_option("--security", s.security_mode, "psk, rpk, x509 or nosec")
        ->check(CLI::IsMember({"psk", "rpk", "x509", "nosec"}));
    s.clients->add_option("--limit", s.limit, "at most N clients (1..1000, default 1000)")
        ->check(CLI::Range(1, 1000));
    s.clients->add_option("--offset", s.offset, "skip the first N clients");

    s.client = app.add_subcommand("client", "one registration with its objects");
    ep_arg(s.client);

    s.stats = app.add_subcommand(
        "stats",
        "the server's counters and its Register/Update/De-register latency (GET /api/stats)");

    s.read =
        app.add_subcommand("read", "Read (LwM2M TS 1.1 §5.4.1) an object, instance or resource");
    ep_arg(s.read);
    path_arg(s.read, "LwM2M path, e.g. /3/0 or /3/0/9");
    format_opt(s.read);

    s.write = app.add_subcommand(
        "write", "Write (TS §5.4.3): a resource value typed by the object model, or a JSON node");
    ep_arg(s.write);
    path_arg(s.write, "LwM2M path of a resource (with VALUE) or of any node (with --node)");
    s.write->add_option("value", s.value,
                        "the value, read as the resource's type (opaque: hex, e.g. 0x00ff; "
                        "time: Unix seconds; objlnk: OID:IID)");
    s.write->add_option("--node", s.node,
                        "the node as the API's JSON (docs/rest-api.md), @FILE or - for stdin");
    s.write
        ->add_option("--type", s.type,
                     "the value's type when the server has no model for the resource")
        ->check(CLI::IsMember({"string", "integer", "unsigned", "float", "boolean", "opaque",
                               "time", "objlnk", "corelnk", "none"}));
    s.write->add_flag("--partial", s.partial, "partial update (PATCH) instead of replace (PUT)");
    format_opt(s.write);

    s.exec = app.add_subcommand("exec", "Execute (TS §5.4.5) a resource");
    ep_arg(s.exec);
    path_arg(s.exec, "LwM2M path of the resource, e.g. /3/0/4");
    s.exec->add_option("args", s.exec_args, "arguments, e.g. \"0='x',1\" (TS §5.4.5)");

    s.create = app.add_subcommand("create", "Create (TS §5.4.6) an object instance");
    ep_arg(s.create);
    path_arg(s.create, "the object, e.g. /3303");
    s.create->add_option("--node", s.node,
                         R"(the instance as JSON {"id", "resources": [...]}, @FILE or -)");
    s.create->add_option("--id", s.create_id, "the new instance id")->check(CLI::Range(0, 65534));
    format_opt(s.create);

    s.del = app.add_subcommand("delete", "Delete (TS §5.4.7) an object instance");
    ep_arg(s.del);
    path_arg(s.del, "the instance, e.g. /3303/1");

    s.discover = app.add_subcommand("discover", "Discover (TS §5.4.2): links and attributes");
    ep_arg(s.discover);
    path_arg(s.discover, "LwM2M path");

    s.attrs = app.add_subcommand("attrs", "Write-Attributes (TS §5.4.4, §7.3.4)");
    ep_arg(s.attrs);
    path_arg(s.attrs, "LwM2M path");
    s.attrs->add_option("--pmin", s.pmin, "minimum period, s");
    s.attrs->add_option("--pmax", s.pmax, "maximum period, s");
    s.attrs->add_option("--gt", s.gt, "greater than");
    s.attrs->add_option("--lt", s.lt, "less than");
    s.attrs->add_option("--st", s.st, "step");
    s.attrs->add_option("--epmin", s.epmin, "minimum evaluation period, s");
    s.attrs->add_option("--epmax", s.epmax, "maximum evaluation period, s");
    s.attrs->add_option("--edge", s.edge, "edge (true/false, LwM2M 1.2)");
    s.attrs->add_option("--con", s.con, "confirmable notifications (true/false, LwM2M 1.2)");
    s.attrs->add_option("--hqmax", s.hqmax, "historical queue maximum (LwM2M 1.2)");
    s.attrs->add_option("--clear", s.clear, "attribute names to remove")->delimiter(',');

    s.observe = app.add_subcommand(
        "observe", "Observe (TS §5.5.1) and print notifications until Ctrl-C, --count or "
                   "--duration; the observation is cancelled on exit unless --keep");
    ep_arg(s.observe);
    path_arg(s.observe, "LwM2M path");
    format_opt(s.observe);
    stream_opts(s.observe);
    s.observe->add_flag("--keep", s.keep, "leave the observation in place on exit");

    s.composite = app.add_subcommand("composite", "Read-Composite / Observe-Composite (TS 1.1 "
                                                  "§5.4.8, §5.5.3)");
    s.composite->require_subcommand(1);
    s.comp_read = s.composite->add_subcommand("read", "Read-Composite");
    ep_arg(s.comp_read);
    s.comp_read->add_option("paths", s.paths, "LwM2M paths")->required();
    format_opt(s.comp_read);
    s.comp_observe = s.composite->add_subcommand("observe", "Observe-Composite, streams");
    ep_arg(s.comp_observe);
    s.comp_observe->add_option("paths", s.paths, "LwM2M paths")->required();
    format_opt(s.comp_observe);
    stream_opts(s.comp_observe);
    s.comp_observe->add_flag("--keep", s.keep, "leave the observation in place on exit");

    s.events = app.add_subcommand("events", "stream the server's events (GET /api/events)");
    s.events->add_option("--ep", s.event_eps, "only these endpoints")->delimiter(',');
    s.events
        ->add_option("--type", s.event_types,
                     "only these types: registration, update, deregistration, notification, "
                     "bootstrap, sleeping, awake, coap")
        ->delimiter(',');
    s.events->add_option("--last-event-id", s.last_event_id, "resume after this event id");
    stream_opts(s.events);
    s.ev_history = s.events->add_subcommand(
        "history", "the persisted event log, oldest first (GET /api/events/history): "
                   "registrations, de-registrations, bootstrap sessions; survives restarts");
    s.ev_history->add_option("--ep", s.history_ep, "only this endpoint's events (exact name)");
    s.ev_history->add_option("--after", s.history_after,
                             "only events with a sequence number above N (default 0)");
    s.ev_history->add_option("--limit", s.history_limit, "at most N events (1..1000, default 100)")
        ->check(CLI::Range(1, 1000));
    s.ev_history->add_flag("--all", s.history_all,
                           "every page up to the newest event (--limit is then the page size)");

    s.security = app.add_subcommand(
        "security", "DM server credentials (keys from a file, stdin or LWM2M_PSK_KEY_HEX, never "
                    "the command line; never printed)");
    s.security->require_subcommand(1);
    s.sec_psk = s.security->add_subcommand("add-psk", "add (or --replace) PSK credentials");
    ep_arg(s.sec_psk);
    auto* id = s.sec_psk->add_option("--identity", s.identity, "PSK identity (UTF-8)");
    auto* idh = s.sec_psk->add_option("--identity-hex", s.identity_hex, "PSK identity as hex");
    id->excludes(idh);
    s.sec_psk->add_option("--psk-key-file", s.key_file,
                          "file holding the key bytes (one trailing newline removed); '-': "
                          "stdin; without it: LWM2M_PSK_KEY_HEX");
    s.sec_rpk = s.security->add_subcommand("add-rpk", "add (or --replace) a raw public key");
    ep_arg(s.sec_rpk);
    auto* pkf = s.sec_rpk->add_option("--public-key-file", s.public_key_file,
                                      "the client's public key: PEM (PUBLIC KEY) or DER file");
    auto* pkh = s.sec_rpk->add_option("--public-key-hex", s.public_key_hex,
                                      "the client's SubjectPublicKeyInfo DER as hex");
    pkf->excludes(pkh);
    s.sec_x509 = s.security->add_subcommand("add-x509", "add (or --replace) an X.509 identity");
    ep_arg(s.sec_x509);
    s.sec_x509->add_option("--common-name", s.common_name,
                           "the certificate's common name (default: the endpoint name)");
    for (auto* c : {s.sec_psk, s.sec_rpk, s.sec_x509})
        c->add_flag("--replace", s.replace, "replace existing credentials (PUT)");
    s.sec_list = s.security->add_subcommand("list", "list credentials (keys show as <set>)");
    s.sec_list->add_option("--limit", s.limit, "at most N (1..1000)")->check(CLI::Range(1, 1000));
    s.sec_list->add_option("--offset", s.offset, "skip the first N");
    s.sec_show = s.security->add_subcommand("show", "one endpoint's credentials");
    ep_arg(s.sec_show);
    s.sec_delete = s.security->add_subcommand("delete", "delete one endpoint's credentials");
    ep_arg(s.sec_delete);
    s.sec_import = s.security->add_subcommand(
        "import", "bulk provisioning: up to 1000 endpoints' credentials from a JSON file, all or "
                  "none (POST /api/security/batch)");
    s.sec_import
        ->add_option("file", s.import_file,
                     "a JSON array of records as POST /api/security takes them (endpoint, mode, "
                     "psk_identity or psk_identity_hex, psk_key_hex, rpk_public_key_hex, "
                     "x509_common_name); '-': stdin")
        ->required();
    s.sec_import->add_flag("--replace", s.replace,
                           "replace the credentials of endpoints that have some (else: refused)");

    s.bootstrap = app.add_subcommand("bootstrap", "bootstrap configurations (JSON files, "
                                                  "docs/rest-api.md)");
    s.bootstrap->require_subcommand(1);
    s.bs_add = s.bootstrap->add_subcommand("add", "add (or --replace) a configuration");
    s.bs_add->add_option("file", s.bs_file, "the configuration as JSON; '-': stdin")->required();
    s.bs_add
        ->add_option("--replace", s.bs_replace,
                     "replace the existing configuration of this endpoint (PUT)")
        ->type_name("ENDPOINT");
    s.bs_list = s.bootstrap->add_subcommand("list", "list configurations (secrets show as <set>)");
    s.bs_list->add_option("--limit", s.limit, "at most N (1..1000)")->check(CLI::Range(1, 1000));
    s.bs_list->add_option("--offset", s.offset, "skip the first N");
    s.bs_show = s.bootstrap->add_subcommand("show", "one configuration");
    ep_arg(s.bs_show);
    s.bs_delete = s.bootstrap->add_subcommand("delete", "delete one configuration");
    ep_arg(s.bs_delete);
    s.bs_status = s.bootstrap->add_subcommand("status", "the last bootstrap's outcome");
    ep_arg(s.bs_status);
}

bool AdminCommands::parsed() const {
    const auto& s = *s_;
    for (auto* c : {s.clients, s.client, s.stats, s.read, s.write, s.exec, s.create, s.del,
                    s.discover, s.attrs, s.observe, s.composite, s.events, s.security, s.bootstrap})
        if (c && c->parsed()) return true;
    return false;
}

int AdminCommands::run(TakenSecret env_key) {
    auto& s = *s_;
    s.env_key = std::move(env_key);
    SignalGuard guard;
    Failure f{0, {}};
    int rc = s.resolve_connection(f);
    if (rc == 0) {
        if (s.clients->parsed())
            rc = s.run_clients(f);
        else if (s.client->parsed())
            rc = s.run_client(f);
        else if (s.stats->parsed())
            rc = s.run_stats(f);
        else if (s.read->parsed())
            rc = s.run_read(f);
        else if (s.write->parsed())
            rc = s.run_write(f);
        else if (s.exec->parsed())
            rc = s.run_exec(f);
        else if (s.create->parsed())
            rc = s.run_create(f);
        else if (s.del->parsed())
            rc = s.run_delete(f);
        else if (s.discover->parsed())
            rc = s.run_discover(f);
        else if (s.attrs->parsed())
            rc = s.run_attrs(f);
        else if (s.observe->parsed())
            rc = s.run_observe(f, false);
        else if (s.comp_read->parsed())
            rc = s.run_composite_read(f);
        else if (s.comp_observe->parsed())
            rc = s.run_observe(f, true);
        else if (s.ev_history->parsed())
            rc = s.run_event_history(f);
        else if (s.events->parsed())
            rc = s.run_events(f);
        else if (s.security->parsed())
            rc = s.run_security(f);
        else if (s.bootstrap->parsed())
            rc = s.run_bootstrap(f);
    }
    if (g_signal.load() != 0) {
        std::fflush(stdout);
        std::fprintf(stderr, "interrupted\n");
        return exit_signal_base + g_signal.load();
    }
    if (rc != 0 && !f.message.empty()) std::fprintf(stderr, "error: %s\n", f.message.c_str());
    std::fflush(stdout);
    return rc;
}

// ---- connection ---------------------------------------------------------------------------

int AdminCommands::State::resolve_connection(Failure& f) {
    // Config file: $XDG_CONFIG_HOME/lwm2m/config.json, else ~/.config/lwm2m/config.json.
    std::string cfg_path = config_file;
    bool explicit_cfg = !cfg_path.empty();
    if (cfg_path.empty()) {
        if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
            cfg_path = std::string(x) + "/lwm2m/config.json";
        else if (const char* h = std::getenv("HOME"); h && *h)
            cfg_path = std::string(h) + "/.config/lwm2m/config.json";
    }
    json cfg = json::object();
    if (!cfg_path.empty()) {
        std::ifstream in(cfg_path);
        if (in) {
            std::ostringstream ss;
            ss << in.rdbuf();
            cfg = json::parse(ss.str(), nullptr, false);
            if (cfg.is_discarded() || !cfg.is_object()) {
                f = {exit_usage, cfg_path + " is not a JSON object"};
                return f.status;
            }
            for (auto& [k, v] : cfg.items()) {
                if ((k != "server" && k != "token" && k != "token_file") || !v.is_string()) {
                    f = {exit_usage, cfg_path + ": unknown or non-string field \"" + k +
                                         "\" (server, token_file, token)"};
                    return f.status;
                }
            }
        } else if (explicit_cfg) {
            f = {exit_usage, "cannot read the config file " + cfg_path};
            return f.status;
        }
    }
    std::string url = server;
    if (url.empty())
        if (const char* e = std::getenv("LWM2M_SERVER"); e && *e) url = e;
    if (url.empty()) url = cfg.value("server", std::string("http://127.0.0.1:8080"));
    std::string why;
    auto addr = ServerAddress::parse(url, &why);
    if (!addr) {
        f = {exit_usage, "--server " + url + ": " + why};
        return f.status;
    }
    std::string token;
    std::string tf = token_file;
    if (tf.empty()) {
        if (const char* e = std::getenv("LWM2M_TOKEN"); e && *e) token = e;
    }
    if (tf.empty() && token.empty()) {
        tf = cfg.value("token_file", std::string{});
        if (tf.empty()) token = cfg.value("token", std::string{});
    }
    if (!tf.empty()) {
        bool too_long = false;
        auto t = read_secret_file(tf, 4096, true, &too_long);
        if (!t) {
            f = {exit_usage, "cannot read the token file " + tf + (too_long ? " (too long)" : "")};
            return f.status;
        }
        token.assign(reinterpret_cast<const char*>(t->view().data()), t->size());
        while (!token.empty() &&
               (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
            token.pop_back();
    }
    // The socket waits for the device's timeout plus the API's 2 s margin, and a little more.
    auto ms = std::chrono::milliseconds(
        static_cast<std::int64_t>((timeout_s.value_or(5.0) + 2.0 + 5.0) * 1000));
    ms = std::max(ms, std::chrono::milliseconds(15000));
    rest.emplace(std::move(*addr), std::move(token), ms, &g_signal);
    return 0;
}

std::optional<json> AdminCommands::State::call(std::string_view method, const std::string& target,
                                               Failure& f, std::string body, bool print_json,
                                               std::string_view content_type) {
    TransportError te{};
    auto a = rest->request(method, target, std::move(body), content_type, &te);
    if (!a) {
        switch (te.kind) {
        case TransportFailure::timeout:
            f = {exit_timeout, te.message};
            break;
        case TransportFailure::interrupted:
            f = {exit_signal_base + std::max(1, g_signal.load()), "interrupted"};
            break;
        default:
            f = {exit_network, te.message};
        }
        return std::nullopt;
    }
    json j;
    if (!a->body.empty()) {
        j = json::parse(a->body, nullptr, false);
        if (j.is_discarded()) {
            f = {exit_http_error, fmt::format("HTTP {} from {}: the answer is not JSON", a->status,
                                              rest->server().text)};
            return std::nullopt;
        }
    }
    if (a->status >= 400) {
        if (json_out && print_json) fmt::print("{}\n", a->body);
        std::string code, message;
        if (j.is_object() && j.contains("error") && j["error"].is_object()) {
            code = j["error"].value("code", std::string{});
            message = j["error"].value("message", std::string{});
        }
        std::string text =
            fmt::format("{} (HTTP {}{})", message.empty() ? "request failed" : message, a->status,
                        code.empty() ? "" : " " + code);
        if (a->status == 401)
            text += "; give the API token with --token-file FILE, LWM2M_TOKEN or the config file";
        int exit_status = exit_http_error;
        if (a->status == 504 && (code == "device_timeout" || code == "answer_timeout"))
            exit_status = exit_timeout;
        f = {exit_status, text};
        return std::nullopt;
    }
    if (json_out && print_json) fmt::print("{}\n", a->body.empty() ? "{}" : a->body);
    if (j.is_null()) j = json::object();
    return j;
}

const ObjectModel* AdminCommands::State::model(std::uint16_t oid) {
    auto it = models.find(oid);
    if (it == models.end()) {
        Failure ignore{0, {}};
        bool saved = json_out;
        json_out = false;
        auto j = call("GET", "/api/models/" + std::to_string(oid), ignore, {}, false);
        json_out = saved;
        std::optional<ObjectModel> m;
        if (j) m = object_model_from_json(*j);
        it = models.emplace(oid, std::move(m)).first;
    }
    return it->second ? &*it->second : nullptr;
}

std::string AdminCommands::State::device_query(bool with_format) const {
    std::string q;
    auto add = [&q](const std::string& kv) { q += (q.empty() ? "?" : "&") + kv; };
    if (with_format && !format.empty()) add("format=" + format);
    if (timeout_s) add("timeout=" + fmt::format("{}", *timeout_s));
    return q;
}

std::optional<std::string> AdminCommands::State::lwm2m_path(const std::string& p,
                                                            Failure& f) const {
    std::string text = !p.empty() && p.front() == '/' ? p : "/" + p;
    auto parsed = dm::Path::parse(text);
    if (!parsed || parsed->is_root()) {
        f = {exit_usage,
             "'" + p + "' is not an LwM2M path (e.g. /3/0/9: numbers, at most 4 levels)"};
        return std::nullopt;
    }
    // For the URL: the segments without the leading '/'.
    return parsed->to_string().substr(1);
}

/// A device operation's answer ({code, success, rtt_ms, format, ...}): prints the status line
/// (human mode) and the body; exit 1 when the device answered an error.
int AdminCommands::State::device_result(const json& r, Failure& f,
                                        const std::function<void(const json&)>& body) {
    std::string code = r.value("code", std::string("?"));
    bool ok = r.value("success", false);
    if (!json_out) {
        int cls = 0, detail = 0;
        std::sscanf(code.c_str(), "%d.%d", &cls, &detail);
        auto reason = coap_reason(coap::Code(cls, detail));
        std::string head = code;
        if (!reason.empty()) head += fmt::format(" {}", reason);
        std::string extra;
        if (r.contains("format")) extra += r["format"].get<std::string>();
        if (r.contains("rtt_ms") && r["rtt_ms"].is_number())
            extra += fmt::format("{}{} ms", extra.empty() ? "" : ", ", r["rtt_ms"].get<double>());
        if (!extra.empty()) head += "  (" + extra + ")";
        fmt::print("{}\n", head);
        if (!ok && r.contains("diagnostic"))
            fmt::print("diagnostic: {}\n", r.value("diagnostic", ""));
        if (ok && body) body(r);
    }
    if (!ok) {
        f = {exit_error_response, ""}; // the status line says it (and --json has "success")
        return exit_error_response;
    }
    return exit_success;
}

// ---- clients ------------------------------------------------------------------------------

int AdminCommands::State::run_clients(Failure& f) {
    std::string q = fmt::format("?limit={}&offset={}", limit, offset);
    if (!filter.empty()) q += "&ep=" + url_encode(filter);
    if (!ep_prefix.empty()) q += "&ep_prefix=" + url_encode(ep_prefix);
    if (!binding.empty()) q += "&binding=" + url_encode(binding);
    if (!security_mode.empty()) q += "&security=" + security_mode;
    auto j = call("GET", "/api/clients" + q, f);
    if (!j) return f.status;
    if (json_out) return 0;
    Table t({"ENDPOINT", "LWM2M", "BINDING", "LIFETIME", "SECURITY", "ADDRESS", "LAST UPDATE"});
    for (const auto& c : (*j)["items"]) {
        auto ts = c.value("last_update", std::int64_t{0});
        t.add({c.value("endpoint", ""), c.value("lwm2m_version", ""), c.value("binding", ""),
               fmt::format("{} s", c.value("lifetime", std::int64_t{0})),
               c.value("security_mode", ""), c.value("address", ""),
               ts ? iso8601_utc(ts, ts > 100000000000LL) : "-"});
    }
    fmt::print("{}", t.render());
    std::size_t total = j->value("total", std::size_t{0});
    fmt::print("{} of {} client{}\n", t.rows(), total, total == 1 ? "" : "s");
    return 0;
}

int AdminCommands::State::run_stats(Failure& f) {
    auto j = call("GET", "/api/stats", f);
    if (!j) return f.status;
    if (json_out) return 0;
    for (const char* role : {"dm", "bootstrap"}) {
        const auto& counters = (*j)[role];
        if (!counters.is_object() || counters.empty()) continue;
        Table t({role == std::string_view("dm") ? "DEVICE MANAGEMENT" : "BOOTSTRAP", "VALUE"});
        for (const auto& [k, v] : counters.items())
            t.add({k, v.dump()});
        fmt::print("{}\n", t.render());
    }
    Table t({"LATENCY (server side)", "COUNT", "P50", "P90", "P99", "MAX"});
    for (const auto& [k, v] : (*j)["latency"].items()) {
        auto ms = [&v](const char* field) { return fmt::format("{:.3f} ms", v.value(field, 0.0)); };
        t.add({k, std::to_string(v.value("count", std::uint64_t{0})), ms("p50_ms"), ms("p90_ms"),
               ms("p99_ms"), ms("max_ms")});
    }
    fmt::print("{}", t.render());
    return 0;
}

int AdminCommands::State::run_client(Failure& f) {
    auto j = call("GET", client_base(), f, {}, true);
    if (!j) return f.status;
    if (json_out) return 0;
    Table info({"FIELD", "VALUE"});
    for (const char* k : {"endpoint", "registration_id", "lwm2m_version", "binding", "lifetime",
                          "address", "security_mode", "queue_mode", "sleeping", "registered_at",
                          "last_update", "root_path", "sms_number"}) {
        if (!j->contains(k)) continue;
        const auto& v = (*j)[k];
        std::string text = v.is_string() ? v.get<std::string>() : v.dump();
        if ((std::string_view(k) == "registered_at" || std::string_view(k) == "last_update") &&
            v.is_number_integer() && v.get<std::int64_t>() > 0) {
            auto ts = v.get<std::int64_t>();
            text = iso8601_utc(ts, ts > 100000000000LL);
        }
        if (std::string_view(k) == "lifetime") text += " s";
        info.add({k, text});
    }
    fmt::print("{}", info.render());
    // The objects with their model names.
    Failure ignore{0, {}};
    bool saved = json_out;
    auto objs = call("GET", client_base() + "/objects", ignore, {}, false);
    json_out = saved;
    const json& list = objs ? (*objs)["objects"] : (*j)["objects"];
    Table t({"OBJECT", "NAME", "VERSION", "ATTRIBUTES"});
    for (const auto& o : list) {
        std::string name, version;
        if (o.contains("model") && o["model"].is_object()) {
            name = o["model"].value("name", "");
        }
        std::string attr_text;
        if (o.contains("attributes") && o["attributes"].is_object())
            for (const auto& [k, v] : o["attributes"].items()) {
                if (k == "ver") version = v.is_string() ? v.get<std::string>() : v.dump();
                attr_text +=
                    (attr_text.empty() ? "" : ";") + k +
                    (v.is_null() ? "" : "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
            }
        t.add({o.value("path", ""), name, version, attr_text});
    }
    fmt::print("\n{}", t.render());
    return 0;
}

// ---- device operations --------------------------------------------------------------------

int AdminCommands::State::run_read(Failure& f) {
    auto p = lwm2m_path(path, f);
    if (!p) return f.status;
    auto j = call("GET", client_base() + "/read/" + *p + device_query(true), f);
    if (!j) return f.status;
    return device_result(*j, f, [this](const json& r) {
        if (!r.contains("content")) return;
        Table t({"PATH", "NAME", "VALUE"});
        add_content_rows(r["content"], lookup(), t);
        fmt::print("{}", t.render());
    });
}

int AdminCommands::State::run_write(Failure& f) {
    auto p = lwm2m_path(path, f);
    if (!p) return f.status;
    json body;
    bool has_value = write->get_option("value")->count() > 0;
    if (!node.empty() == has_value) {
        f = {exit_usage, "give either VALUE or --node"};
        return f.status;
    }
    if (!node.empty()) {
        std::string text = node, why;
        if (node == "-" || node.front() == '@') {
            text = read_text_file(node == "-" ? "-" : node.substr(1), &why);
            if (!why.empty()) {
                f = {exit_usage, why};
                return f.status;
            }
        }
        body = json::parse(text, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
            f = {exit_usage, "--node: not a JSON object"};
            return f.status;
        }
    } else {
        auto parsed = dm::Path::parse("/" + *p);
        if (parsed->depth() < 3) {
            f = {exit_usage, "a VALUE writes a resource (/oid/iid/rid); use --node for /" + *p};
            return f.status;
        }
        std::string t = type;
        std::string label = "/" + *p;
        if (t.empty()) {
            if (const auto* m = model(parsed->oid().v)) {
                auto it = m->resources.find(parsed->rid().v);
                if (it != m->resources.end()) {
                    t = it->second.type;
                    label += " (" + it->second.name + ", " + t + ")";
                }
            }
        }
        std::string why;
        auto v = parse_typed_value(value, t, &why);
        if (!v) {
            f = {exit_usage, "bad value for " + label + ": " + why};
            return f.status;
        }
        body = {{"value", *v}};
        if (!type.empty()) body["type"] = type;
    }
    auto j = call(partial ? "PATCH" : "PUT", client_base() + "/write/" + *p + device_query(true), f,
                  body.dump());
    if (!j) return f.status;
    return device_result(*j, f, {});
}

int AdminCommands::State::run_exec(Failure& f) {
    auto p = lwm2m_path(path, f);
    if (!p) return f.status;
    std::string body;
    if (!exec_args.empty()) body = json{{"args", exec_args}}.dump();
    auto j = call("POST", client_base() + "/execute/" + *p + device_query(false), f, body);
    if (!j) return f.status;
    return device_result(*j, f, {});
}

int AdminCommands::State::run_create(Failure& f) {
    auto p = lwm2m_path(path, f);
    if (!p) return f.status;
    json body = {{"resources", json::array()}};
    if (!node.empty()) {
        std::string text = node, why;
        if (node == "-" || node.front() == '@') {
            text = read_text_file(node == "-" ? "-" : node.substr(1), &why);
            if (!why.empty()) {
                f = {exit_usage, why};
                return f.status;
            }
        }
        body = json::parse(text, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
            f = {exit_usage, "--node: not a JSON object"};
            return f.status;
        }
    }
    if (create_id) body["id"] = *create_id;
    auto j = call("POST", client_base() + "/create/" + *p + device_query(true), f, body.dump());
    if (!j) return f.status;
    return device_result(*j, f, [](const json& r) {
        if (r.contains("location")) fmt::print("location: {}\n", r.value("location", ""));
    });
}

int AdminCommands::State::run_delete(Failure& f) {
    auto p = lwm2m_path(path, f);
    if (!p) return f.status;
    auto j = call("DELETE", client_base() + "/delete/" + *p + device_query(false), f);
    if (!j) return f.status;
    return device_result(*j, f, {});
}

int AdminCommands::State::run_discover(Failure& f) {
    auto p = lwm2m_path(path, f);
    if (!p) return f.status;
    auto j = call("GET", client_base() + "/discover/" + *p + device_query(false), f);
    if (!j) return f.status;
    return device_result(*j, f, [this](const json& r) {
        Table t({"TARGET", "NAME", "ATTRIBUTES"});
        if (r.contains("links"))
            for (const auto& l : r["links"]) {
                std::string target = l.value("target", "");
                std::string name;
                if (auto lp = dm::Path::parse(target); lp && lp->depth() >= 1) {
                    if (const auto* m = model(lp->oid().v)) {
                        if (lp->depth() >= 3) {
                            auto it = m->resources.find(lp->rid().v);
                            if (it != m->resources.end()) name = it->second.name;
                        } else {
                            name = m->name;
                        }
                    }
                }
                std::string attr_text;
                if (l.contains("attributes"))
                    for (const auto& [k, v] : l["attributes"].items())
                        attr_text +=
                            (attr_text.empty() ? "" : ";") + k +
                            (v.is_null() ? ""
                                         : "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
                t.add({target, name, attr_text});
            }
        fmt::print("{}", t.render());
    });
}

int AdminCommands::State::run_attrs(Failure& f) {
    auto p = lwm2m_path(path, f);
    if (!p) return f.status;
    json body = json::object();
    auto put_u = [&](const char* n, const std::optional<std::uint32_t>& v) {
        if (v) body[n] = *v;
    };
    auto put_d = [&](const char* n, const std::optional<double>& v) {
        if (v) body[n] = *v;
    };
    put_u("pmin", pmin);
    put_u("pmax", pmax);
    put_u("epmin", epmin);
    put_u("epmax", epmax);
    put_u("hqmax", hqmax);
    put_d("gt", gt);
    put_d("lt", lt);
    put_d("st", st);
    if (edge) body["edge"] = *edge;
    if (con) body["con"] = *con;
    if (!clear.empty()) body["clear"] = clear;
    if (body.empty()) {
        f = {exit_usage, "give at least one attribute (--pmin, --pmax, --gt, --lt, --st, --epmin, "
                         "--epmax, --edge, --con, --hqmax) or --clear"};
        return f.status;
    }
    if (pmin && pmax && *pmin > *pmax) {
        f = {exit_usage, "--pmin must not exceed --pmax"};
        return f.status;
    }
    auto j = call("PUT", client_base() + "/attributes/" + *p + device_query(false), f, body.dump());
    if (!j) return f.status;
    return device_result(*j, f, {});
}

int AdminCommands::State::run_composite_read(Failure& f) {
    json ps = json::array();
    for (const auto& p : paths) {
        auto lp = lwm2m_path(p, f);
        if (!lp) return f.status;
        ps.push_back("/" + *lp);
    }
    auto j = call("POST", client_base() + "/composite/read" + device_query(true), f,
                  json{{"paths", ps}}.dump());
    if (!j) return f.status;
    return device_result(*j, f, [this](const json& r) {
        Table t({"PATH", "NAME", "VALUE"});
        add_record_rows(r.value("records", json::array()), lookup(), t);
        fmt::print("{}", t.render());
    });
}

// ---- streams ------------------------------------------------------------------------------

/// Streams `target` (an /api/events URL): on_open runs once subscribed; on_event gets each
/// event's JSON and returns false to stop. Stops at --count / --duration / Ctrl-C.
int AdminCommands::State::stream_events(const std::string& target,
                                        const std::function<bool()>& on_open,
                                        const std::function<bool(const json&)>& on_event,
                                        Failure& f) {
    std::optional<Clock::time_point> deadline;
    if (duration_s)
        deadline =
            Clock::now() + std::chrono::milliseconds(static_cast<std::int64_t>(*duration_s * 1000));
    std::size_t seen = 0;
    bool open_failed = false;
    TransportError te{};
    auto a = rest->stream(
        target,
        [&](const SseEvent& e) {
            json j = json::parse(e.data, nullptr, false);
            if (j.is_discarded()) j = json{{"type", e.event}, {"data", e.data}};
            if (!j.contains("type")) j["type"] = e.event;
            if (!on_event(j)) return true; // filtered out
            ++seen;
            std::fflush(stdout);
            return !(count && seen >= *count);
        },
        deadline,
        [&] {
            if (on_open && !on_open()) open_failed = true;
            return !open_failed;
        },
        &te);
    if (open_failed) return f.status;
    if (!a) {
        if (te.kind == TransportFailure::interrupted) return exit_signal_base + g_signal.load();
        f = {te.kind == TransportFailure::timeout ? exit_timeout : exit_network, te.message};
        return f.status;
    }
    if (a->status != 200) {
        json j = json::parse(a->body, nullptr, false);
        std::string msg = j.is_object() && j.contains("error")
                              ? j["error"].value("message", std::string{})
                              : std::string("unexpected answer");
        if (json_out) fmt::print("{}\n", a->body);
        f = {exit_http_error, fmt::format("{} (HTTP {})", msg, a->status)};
        if (a->status == 401)
            f.message += "; give the API token with --token-file FILE, LWM2M_TOKEN or the config "
                         "file";
        return f.status;
    }
    if (g_signal.load() != 0) return exit_signal_base + g_signal.load();
    if (a->closed) {
        // A stopped (or restarted) server, or a consumer too slow for the server's queue (a
        // "dropped" event came first): resume with --last-event-id.
        f = {exit_network, "the server closed the event stream"};
        return f.status;
    }
    return 0;
}

int AdminCommands::State::run_observe(Failure& f, bool is_composite) {
    std::vector<std::string> ps;
    for (const auto& p : is_composite ? paths : std::vector<std::string>{path}) {
        auto lp = lwm2m_path(p, f);
        if (!lp) return f.status;
        ps.push_back("/" + *lp);
    }
    const std::string op_target =
        is_composite ? client_base() + "/composite/observe" : client_base() + "/observe" + ps[0];
    const std::string op_body = is_composite ? json{{"paths", ps}}.dump() : std::string{};
    bool observing = false;
    int rc = 0;
    // Subscribe first, then observe: no notification can slip between the two.
    std::string target = "/api/events?type=notification&ep=" + url_encode(ep);
    auto on_open = [&] {
        auto j = call("POST", op_target + device_query(true), f, op_body);
        if (!j) return false;
        rc = device_result(*j, f, [this](const json& r) {
            Table t({"PATH", "NAME", "VALUE"});
            if (r.contains("content")) add_content_rows(r["content"], lookup(), t);
            if (r.contains("records")) add_record_rows(r["records"], lookup(), t);
            if (t.rows()) fmt::print("{}", t.render());
        });
        if (rc != 0) {
            if (f.status == 0) f.status = rc;
            return false;
        }
        observing = true;
        return true;
    };
    auto on_event = [&](const json& e) {
        if (e.value("type", "") != "notification") return false;
        const json& d = e.contains("data") ? e["data"] : json::object();
        // Only this observation's notifications (when the event names its path(s)).
        if (d.is_object() && d.contains("path") && d["path"].is_string()) {
            std::string np = d["path"].get<std::string>();
            bool match = false;
            for (const auto& p : ps)
                if (np == p || np.rfind(p + "/", 0) == 0 || p.rfind(np + "/", 0) == 0) match = true;
            if (!match) return false;
        }
        if (json_out) {
            fmt::print("{}\n", e.dump());
            return true;
        }
        auto t = e.value("time", std::int64_t{0});
        fmt::print("{} notification {}{}\n", t ? iso8601_utc(t, true) : "-", e.value("ep", ""),
                   d.is_object() && d.contains("path") ? " " + d.value("path", "") : "");
        Table tab({"PATH", "NAME", "VALUE"});
        if (d.is_object() && d.contains("content")) add_content_rows(d["content"], lookup(), tab);
        if (d.is_object() && d.contains("records")) add_record_rows(d["records"], lookup(), tab);
        if (tab.rows()) fmt::print("{}", tab.render());
        return true;
    };
    int srv = stream_events(target, on_open, on_event, f);
    if (observing && !keep) {
        // Passive cancel (TS 1.1 §5.5.2): the server forgets the observation; best effort.
        int sig = g_signal.exchange(0);
        Failure ignore{0, {}};
        bool saved = json_out;
        json_out = false;
        (void)call("DELETE", op_target + device_query(false), ignore, op_body, false);
        json_out = saved;
        g_signal.store(sig);
    }
    if (rc != 0) return rc;
    return srv;
}

int AdminCommands::State::run_event_history(Failure& f) {
    json got = json::array();
    json next = nullptr;
    std::uint64_t after = history_after;
    for (;;) {
        std::string q = fmt::format("?after={}&limit={}", after, history_limit);
        if (!history_ep.empty()) q += "&ep=" + url_encode(history_ep);
        // --json: one page prints as the API sent it; --all prints the merged pages below.
        auto j = call("GET", "/api/events/history" + q, f, {}, !history_all);
        if (!j) return f.status;
        if (!j->contains("events") || !(*j)["events"].is_array()) {
            f = {exit_http_error, "the answer has no \"events\" list"};
            return f.status;
        }
        for (auto& e : (*j)["events"])
            got.push_back(std::move(e));
        next = j->value("next_after", json(nullptr));
        // A cursor that does not advance would loop forever: stop on it.
        if (!history_all || !next.is_number_unsigned() || next.get<std::uint64_t>() <= after) break;
        after = next.get<std::uint64_t>();
    }
    if (json_out) {
        if (history_all) fmt::print("{}\n", json{{"events", got}, {"next_after", next}}.dump());
        return 0;
    }
    Table t({"SEQ", "TIME", "ENDPOINT", "KIND", "DETAIL"});
    for (const auto& e : got) {
        auto ts = e.value("time", std::int64_t{0});
        std::string name = e.value("endpoint", "");
        t.add({std::to_string(e.value("seq", std::uint64_t{0})), ts ? iso8601_utc(ts, true) : "-",
               name.empty() ? "-" : name, e.value("kind", ""), e.value("detail", "")});
    }
    fmt::print("{}", t.render());
    fmt::print("{} event{}", t.rows(), t.rows() == 1 ? "" : "s");
    if (next.is_number_unsigned())
        fmt::print("; more: --after {}\n", next.get<std::uint64_t>());
    else
        fmt::print("\n");
    return 0;
}

int AdminCommands::State::run_events(Failure& f) {
    std::string q;
    auto add = [&q](const std::string& kv) { q += (q.empty() ? "?" : "&") + kv; };
    if (!event_eps.empty()) {
        std::string v;
        for (const auto& e : event_eps)
            v += (v.empty() ? "" : ",") + url_encode(e);
        add("ep=" + v);
    }
    if (!event_types.empty()) {
        std::string v;
        for (const auto& t : event_types)
            v += (v.empty() ? "" : ",") + url_encode(t);
        add("type=" + v);
    }
    if (!last_event_id.empty()) add("last_event_id=" + url_encode(last_event_id));
    return stream_events(
        "/api/events" + q, {},
        [this](const json& e) {
            if (json_out) {
                fmt::print("{}\n", e.dump());
                return true;
            }
            auto t = e.value("time", std::int64_t{0});
            std::string data;
            if (e.contains("data") && !(e["data"].is_object() && e["data"].empty()))
                data = " " + e["data"].dump();
            fmt::print("{} {:<14} {}{}\n", t ? iso8601_utc(t, true) : "-", e.value("type", ""),
                       e.value("ep", "-"), data);
            return true;
        },
        f);
}

// ---- security -----------------------------------------------------------------------------

int AdminCommands::State::run_security(Failure& f) {
    if (sec_list->parsed()) {
        auto j = call("GET", fmt::format("/api/security?limit={}&offset={}", limit, offset), f);
        if (!j) return f.status;
        if (json_out) return 0;
        Table t({"ENDPOINT", "MODE", "IDENTITY", "KEY / PUBLIC KEY / CN"});
        for (const auto& c : (*j)["items"]) {
            std::string mode = c.value("mode", "");
            std::string id = c.contains("psk_identity") ? c.value("psk_identity", "")
                             : c.contains("psk_identity_hex")
                                 ? "0x" + c.value("psk_identity_hex", "")
                                 : "";
            std::string what = mode == "psk"   ? "key " + c.value("psk_key", "")
                               : mode == "rpk" ? c.value("rpk_public_key_hex", "")
                                               : c.value("x509_common_name", "");
            if (mode == "rpk" && what.size() > 24)
                what = what.substr(0, 24) + "... (" + std::to_string(what.size() / 2) + " bytes)";
            t.add({c.value("endpoint", ""), mode, id, what});
        }
        fmt::print("{}", t.render());
        fmt::print("{} of {}\n", t.rows(), j->value("total", std::size_t{0}));
        return 0;
    }
    if (sec_import->parsed()) {
        // The file holds keys: read into a wiped buffer and sent as is inside the request body
        // (not parsed here: a parser's copies of the keys would be freed unwiped); the API
        // checks every record.
        bool too_long = false;
        auto file = read_secret_file(import_file, 4u << 20, false, &too_long);
        if (!file) {
            f = {exit_usage,
                 too_long ? import_file + " is larger than 4 MiB" : "cannot read " + import_file};
            return f.status;
        }
        const std::string_view text(reinterpret_cast<const char*>(file->view().data()),
                                    file->size());
        const auto first = text.find_first_not_of(" \t\r\n");
        if (first == std::string_view::npos || text[first] != '[') {
            file->wipe();
            f = {exit_usage, import_file + ": expected a JSON array of security records"};
            return f.status;
        }
        std::string body = std::string("{\"mode\":\"") + (replace ? "upsert" : "create") +
                           "\",\"items\":" + std::string(text) + "}";
        file->wipe();
        auto j = call("POST", "/api/security/batch", f, std::move(body));
        if (!j) return f.status;
        if (!json_out)
            fmt::print("stored the credentials of {} endpoints\n", j->value("stored", 0));
        return 0;
    }
    if (sec_show->parsed() || sec_delete->parsed()) {
        bool show = sec_show->parsed();
        auto j = call(show ? "GET" : "DELETE", "/api/security/" + url_encode(ep), f);
        if (!j) return f.status;
        if (json_out) return 0;
        if (!show) {
            fmt::print("deleted the credentials of {}\n", ep);
            return 0;
        }
        Table t({"FIELD", "VALUE"});
        for (const auto& [k, v] : j->items())
            t.add({k, v.is_string() ? v.get<std::string>() : v.dump()});
        fmt::print("{}", t.render());
        return 0;
    }
    // add-psk / add-rpk / add-x509
    json body = {{"endpoint", ep}};
    std::optional<SecretBytes> key;
    if (sec_psk->parsed()) {
        body["mode"] = "psk";
        if (!identity.empty())
            body["psk_identity"] = identity;
        else if (!identity_hex.empty())
            body["psk_identity_hex"] = identity_hex;
        else {
            f = {exit_usage, "add-psk needs --identity or --identity-hex"};
            return f.status;
        }
        if (!key_file.empty()) {
            bool too_long = false;
            key = read_secret_file(key_file, 64, true, &too_long);
            if (!key) {
                f = {exit_usage, too_long ? "the key in " + key_file + " is longer than 64 bytes"
                                          : "cannot read the key file " + key_file};
                return f.status;
            }
        } else if (env_key.key) {
            key = std::move(env_key.key);
        } else if (env_key.error) {
            f = {exit_usage, *env_key.error};
            return f.status;
        } else {
            f = {exit_usage, "add-psk needs the key: --psk-key-file FILE, --psk-key-file - "
                             "(stdin) or LWM2M_PSK_KEY_HEX"};
            return f.status;
        }
        if (key->empty()) {
            f = {exit_usage, "the PSK key is empty"};
            return f.status;
        }
    } else if (sec_rpk->parsed()) {
        body["mode"] = "rpk";
        std::string hex = public_key_hex;
        if (!public_key_file.empty()) {
            if (auto blocks = read_pem_file(public_key_file); blocks && !blocks->empty()) {
                for (const auto& b : *blocks)
                    if (b.label == "PUBLIC KEY") hex = hex_of(b.der);
                if (hex.empty()) {
                    f = {exit_usage, public_key_file + " holds no PUBLIC KEY block"};
                    return f.status;
                }
            } else {
                std::string why;
                std::string der = read_text_file(public_key_file, &why);
                if (!why.empty() || der.empty() || static_cast<unsigned char>(der[0]) != 0x30) {
                    f = {exit_usage, public_key_file + " is not a PEM or DER SubjectPublicKeyInfo"};
                    return f.status;
                }
                hex = hex_of(BytesView(reinterpret_cast<const std::byte*>(der.data()), der.size()));
            }
        }
        if (hex.empty()) {
            f = {exit_usage, "add-rpk needs --public-key-file or --public-key-hex"};
            return f.status;
        }
        body["rpk_public_key_hex"] = hex;
    } else {
        body["mode"] = "x509";
        body["x509_common_name"] = common_name.empty() ? ep : common_name;
    }
    std::string text = body.dump();
    if (key) {
        // Spliced in as text so that no JSON value holds a copy; RestClient wipes the body.
        text.pop_back();
        text.reserve(text.size() + key->size() * 2 + 20);
        text += R"(,"psk_key_hex":")";
        static constexpr char d[] = "0123456789abcdef";
        for (auto c : key->view()) {
            text += d[static_cast<unsigned>(c) >> 4];
            text += d[static_cast<unsigned>(c) & 15];
        }
        text += "\"}";
        key->wipe();
    }
    auto j = replace ? call("PUT", "/api/security/" + url_encode(ep), f, std::move(text))
                     : call("POST", "/api/security", f, std::move(text));
    if (!j) return f.status;
    if (!json_out)
        fmt::print("{} {} credentials of {}\n", replace ? "replaced" : "added",
                   body.value("mode", ""), ep);
    return 0;
}

// ---- bootstrap ----------------------------------------------------------------------------

int AdminCommands::State::run_bootstrap(Failure& f) {
    if (bs_list->parsed()) {
        auto j = call("GET", fmt::format("/api/bootstrap?limit={}&offset={}", limit, offset), f);
        if (!j) return f.status;
        if (json_out) return 0;
        Table t({"ENDPOINT", "SECURITY", "SERVERS", "ACLS", "DELETE", "FORMAT"});
        for (const auto& c : (*j)["items"]) {
            std::string uris;
            for (const auto& s : c.value("security", json::array()))
                uris += (uris.empty() ? "" : ",") + s.value("uri", "") +
                        (s.value("bootstrap_server", false) ? " (bs)" : "");
            std::string deletes;
            for (const auto& d : c.value("delete", json::array()))
                deletes += (deletes.empty() ? "" : ",") + d.get<std::string>();
            t.add({c.value("endpoint", ""), uris,
                   std::to_string(c.value("servers", json::array()).size()),
                   std::to_string(c.value("acls", json::array()).size()), deletes,
                   c.value("format", "")});
        }
        fmt::print("{}", t.render());
        fmt::print("{} of {}\n", t.rows(), j->value("total", std::size_t{0}));
        return 0;
    }
    if (bs_show->parsed() || bs_status->parsed()) {
        auto j = call(
            "GET", "/api/bootstrap/" + url_encode(ep) + (bs_status->parsed() ? "/status" : ""), f);
        if (!j) return f.status;
        if (json_out) return 0;
        if (bs_status->parsed()) {
            Table t({"FIELD", "VALUE"});
            for (const auto& [k, v] : j->items()) {
                std::string text = v.is_string() ? v.get<std::string>() : v.dump();
                if ((k == "started_at" || k == "finished_at") && v.is_number_integer())
                    text = iso8601_utc(v.get<std::int64_t>());
                t.add({k, text});
            }
            fmt::print("{}", t.render());
        } else {
            fmt::print("{}\n", j->dump(2)); // nested: the JSON is the clearest form
        }
        return 0;
    }
    if (bs_delete->parsed()) {
        auto j = call("DELETE", "/api/bootstrap/" + url_encode(ep), f);
        if (!j) return f.status;
        if (!json_out) fmt::print("deleted the bootstrap configuration of {}\n", ep);
        return 0;
    }
    // add: the file holds keys: read into a wiped buffer, sent as is (RestClient wipes it).
    bool too_long = false;
    auto file = read_secret_file(bs_file, 4u << 20, false, &too_long);
    if (!file) {
        f = {exit_usage, too_long ? bs_file + " is larger than 4 MiB" : "cannot read " + bs_file};
        return f.status;
    }
    std::string text(reinterpret_cast<const char*>(file->view().data()), file->size());
    file->wipe();
    // Not parsed here (a parser's copies of the keys would be freed unwiped): the API checks it.
    const std::string& endpoint = bs_replace;
    auto j = !endpoint.empty()
                 ? call("PUT", "/api/bootstrap/" + url_encode(endpoint), f, std::move(text))
                 : call("POST", "/api/bootstrap", f, std::move(text));
    if (!j) return f.status;
    if (!json_out)
        fmt::print("{} the bootstrap configuration of {}\n",
                   endpoint.empty() ? "added" : "replaced",
                   endpoint.empty() ? j->value("endpoint", std::string{}) : endpoint);
    return 0;
}

} // namespace lwm2m::app
