#include "options.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/client/server_object.hpp>
#include <lwm2m/client/server_uri.hpp>
#include <lwm2m/version.hpp>

#include "json_config.hpp"
#include "secret_input.hpp"

namespace lwm2m::app {
namespace {

auto usage(const std::string& msg) {
    fmt::print(stderr, "error: {}\n", msg);
    return fail(lwm2m::Errc::invalid_argument);
}

} // namespace

bool ClientOptions::has_object(int oid) const {
    return std::find(objects.begin(), objects.end(), oid) != objects.end();
}

int parse_options(int argc, char** argv, ClientOptions& o) {
    // Keys never reach CLI11 (which copies strings): taken out of argv and the environment first.
    o.credentials.arg_key = take_psk_key_args(argc, argv);
    o.credentials.env_key = take_psk_key_env();

    CLI::App app{
        "lwm2m-client: the LwM2M client daemon of lwm2m-cpp. It bootstraps (--bootstrap) "
        "or registers with a configured server (--server), answers device management "
        "and reports observations; its state directory keeps the accounts (keys "
        "included, mode 0600), registrations, observations and firmware across restarts "
        "and kill -9. SIGINT/SIGTERM de-register and exit 0.\n"
        "stdout gets one line per milestone: 'bootstrapped <ep> from <uri>', "
        "'registered <ep> at <uri> location <path>', 'updated <ep> at <uri>', "
        "'deregistered <ep> from <uri>'. Logs go to stderr and never show keys; SIGUSR1 logs the "
        "statistics (requests, notifications, registrations, heap in use).\n"
        "Exit codes: 0 stopped by a signal, 1 fatal error (socket, state directory), "
        "2 usage error.",
        "lwm2m-client"};
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.config_formatter(std::make_shared<JsonConfig>());
    app.set_config("--config", "",
                   "JSON configuration file: an object whose keys are the long option names "
                   "without '--' (e.g. {\"endpoint\": \"dev-1\", \"bootstrap\": "
                   "\"coaps://bs.example:5784\", \"psk-key-file\": \"/etc/lwm2m/key\"}); the "
                   "command line wins");
    app.allow_config_extras(false);
    app.set_version_flag("--version", "lwm2m-client " LWM2M_VERSION_STRING);

    app.add_option("-e,--endpoint", o.endpoint, "Endpoint Client Name (ep=, TS 1.1 §6.2.1)")
        ->required();
    auto* bs = app.add_option(
        "--bootstrap", o.bootstrap_uri,
        "Bootstrap-Server URI (coap://host:port or coaps://host:port): the client asks it for "
        "its accounts (client-initiated bootstrap, TS 1.1 §5.2.5) and registers with the servers "
        "it provisions; the credentials options are those of the bootstrap account");
    auto* dm = app.add_option(
        "--server", o.server_uri,
        "LwM2M Server URI (factory bootstrap, TS 1.1 §5.2.3): register with this server directly; "
        "the credentials options are those of this account");
    bs->excludes(dm);
    app.add_option("--ssid", o.short_server_id,
                   "Short Server ID of the --server account (1..65534)")
        ->check(CLI::Range(1, 65534))
        ->capture_default_str();
    add_credential_options(app, o.credentials, "client");
    app.add_option("--hold-off", o.hold_off,
                   "Client Hold Off Time (Object 0 Resource 11, seconds) of the --bootstrap "
                   "account: wait this long before a client-initiated bootstrap")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--bootstrap-jitter", o.bootstrap_jitter_s,
                   "seconds: a uniform random extra wait [0, s] added to the hold-off, so that a "
                   "fleet that lost its server does not storm the Bootstrap-Server")
        ->check(CLI::Range(0.0, 3600.0))
        ->capture_default_str();
    app.add_option("--bootstrap-account-timeout", o.bootstrap_account_timeout,
                   "Bootstrap-Server Account Timeout (Object 0 Resource 12, seconds; 0 = keep the "
                   "account forever): purge the bootstrap account this long after a successful "
                   "bootstrap (the deadline survives restarts)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();

    app.add_option("-d,--state-dir", o.state_dir,
                   "state directory (created 0700): accounts.bin (keys, 0600), engine.bin, "
                   "firmware.json and the firmware package. What it holds wins over the "
                   "--bootstrap/--server options: use --reset-state after changing them")
        ->capture_default_str();
    app.add_flag("--reset-state", o.reset_state,
                 "forget the state directory's content first (back to the factory "
                 "configuration given by the options)");
    app.add_option("--bind", o.bind_address,
                   "local address of the UDP socket ('::' is dual-stack IPv6 + IPv4; falls back "
                   "to 0.0.0.0 without IPv6)")
        ->capture_default_str();
    app.add_option("--port", o.port, "local UDP port (0: ephemeral)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();

    app.add_option("--lifetime", o.lifetime,
                   "registration lifetime in seconds (Object 1 Resource 1 of the --server "
                   "account; a Bootstrap-Server provisions its own)")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{0xFFFFFFFF}))
        ->capture_default_str();
    app.add_option("--binding", o.binding, "Binding (Object 1 Resource 7) of the --server account")
        ->check(CLI::IsMember({"U", "UQ"}))
        ->capture_default_str();
    app.add_flag("--queue-mode", o.queue_mode,
                 "queue mode (TS 1.1 §6.5): the client stops listening MAX_TRANSMIT_WAIT after "
                 "its last exchange and wakes on its own schedule (b=UQ in 1.0, Q in 1.1+)");
    app.add_option("--notification-storing", o.notification_storing,
                   "Object 1 Resource 6 of the --server account: keep notifications while "
                   "offline and send them on reconnection (true/false)")
        ->capture_default_str();
    app.add_option("--lwm2m-version", o.lwm2m_version, "LwM2M enabler version spoken")
        ->check(CLI::IsMember({"1.0", "1.1", "1.2"}))
        ->capture_default_str();
    app.add_option("--objects", o.objects,
                   "objects served (comma-separated): 2 Access Control, 3 Device (always), "
                   "4 Connectivity Monitoring, 5 Firmware Update, 3303 Temperature (a demo "
                   "sensor that changes every --demo-interval)")
        ->delimiter(',')
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->check(CLI::IsMember({2, 3, 4, 5, 3303}))
        ->capture_default_str();
    app.add_option("--ddf", o.ddf_files,
                   "an object definition (OMA DDF XML) to serve with one instance 0 whose "
                   "resources servers read and write (repeatable)")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->check(CLI::ExistingFile);

    app.add_option("--manufacturer", o.manufacturer, "Device /3/0/0")->capture_default_str();
    app.add_option("--model", o.model, "Device /3/0/1")->capture_default_str();
    app.add_option("--serial", o.serial, "Device /3/0/2 (default: the endpoint name)");
    app.add_option("--firmware-version", o.firmware_version,
                   "Device /3/0/3 at the first start (a firmware update then sets it)")
        ->capture_default_str();
    app.add_option("--firmware-fail", o.firmware_fail,
                   "simulate a firmware update failure: 'integrity' (the package fails its check: "
                   "Update Result 5) or 'update' (applying fails: Update Result 8)")
        ->check(CLI::IsMember({"none", "integrity", "update"}))
        ->capture_default_str();
    app.add_option("--demo-interval", o.demo_interval_s,
                   "seconds between two changes of the demo sensor (/3303/0/5700) and the battery "
                   "level (/3/0/9)")
        ->check(CLI::Range(0.1, 86400.0))
        ->capture_default_str();
    app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->capture_default_str();
    app.add_option("--shutdown-grace", o.shutdown_grace_s,
                   "seconds to wait for the De-register answers on SIGINT/SIGTERM")
        ->check(CLI::Range(0.0, 300.0))
        ->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        o.credentials.wipe_keys();
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (o.bootstrap_uri.empty() == o.server_uri.empty()) {
        o.credentials.wipe_keys();
        std::fprintf(stderr, "error: give exactly one of --bootstrap and --server\n");
        return 2;
    }
    if (!o.has_object(3)) o.objects.push_back(3);
    if (o.serial.empty()) o.serial = o.endpoint;
    return -1;
}

Result<client::ClientConfig> factory_config(ClientOptions& o) {
    const bool bootstrap = !o.bootstrap_uri.empty();
    const std::string& uri = bootstrap ? o.bootstrap_uri : o.server_uri;
    auto parsed = client::parse_server_uri(uri);
    if (!parsed) {
        o.credentials.wipe_keys();
        return usage(fmt::format("'{}' is not a coap:// or coaps:// server URI", uri));
    }
    auto psk = decode_credentials(o.credentials);
    if (!psk) return fail(psk.error());
    auto x509 = decode_x509(o.credentials);
    if (!x509) return fail(x509.error());
    auto rpk = decode_rpk(o.credentials);
    if (!rpk) return fail(rpk.error());
    const int kinds = (*psk ? 1 : 0) + (*x509 ? 1 : 0) + (*rpk ? 1 : 0);
    if (kinds > 1) return usage("give one kind of credentials: PSK, X.509 or raw public key");
    if (parsed->secure() && kinds == 0)
        return usage("a coaps:// URI needs credentials (PSK, --cert/--key/--ca or --rpk)");
    if (!parsed->secure() && kinds != 0)
        return usage("credentials are only used with a coaps:// URI");

    client::SecurityInstance s;
    s.server_uri = uri;
    s.bootstrap_server = bootstrap;
    if (*psk) {
        s.security_mode = client::SecurityMode::psk;
        s.public_key_or_identity = std::move((*psk)->identity);
        s.secret_key = std::move((*psk)->key);
    } else if (*x509) {
        // Object 0: Resource 3 our certificate (the end-entity one), 4 the server's trust anchor:
        // the CA given by --ca with Certificate Usage 2 (DANE-TA, LwM2M TS 1.1 E.1 Resource 15).
        s.security_mode = client::SecurityMode::certificate;
        s.public_key_or_identity = std::move((*x509)->chain.front());
        s.server_public_key = std::move((*x509)->cas.front());
        s.secret_key = std::move((*x509)->key);
        s.certificate_usage = 2;
    } else if (*rpk) {
        s.security_mode = client::SecurityMode::rpk;
        s.public_key_or_identity = std::move((*rpk)->spki);
        s.server_public_key = std::move((*rpk)->peers.front());
        s.secret_key = std::move((*rpk)->key);
    } else {
        s.security_mode = client::SecurityMode::nosec;
    }

    client::ClientConfig cfg;
    if (bootstrap) {
        s.client_hold_off = o.hold_off;
        s.bs_account_timeout = o.bootstrap_account_timeout;
        cfg.security.emplace(0, std::move(s));
        return cfg;
    }
    const auto ssid = static_cast<std::uint16_t>(o.short_server_id);
    s.short_server_id = ssid;
    cfg.security.emplace(0, std::move(s));
    client::ServerInstance si;
    namespace rid = client::server_rid;
    si.resources.emplace(rid::short_server_id,
                         dm::Resource::single(rid::short_server_id, dm::Value::integer(ssid)));
    si.resources.emplace(rid::lifetime,
                         dm::Resource::single(rid::lifetime, dm::Value::integer(o.lifetime)));
    si.resources.emplace(rid::notification_storing,
                         dm::Resource::single(rid::notification_storing,
                                              dm::Value::boolean(o.notification_storing)));
    si.resources.emplace(rid::binding,
                         dm::Resource::single(rid::binding, dm::Value::string(o.binding)));
    cfg.servers.emplace(0, std::move(si));
    if (auto reasons = client::check_consistency(cfg); !reasons.empty())
        return usage("inconsistent account: " + reasons.front());
    return cfg;
}

} // namespace lwm2m::app
