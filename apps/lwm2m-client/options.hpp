// Command line and JSON configuration file of lwm2m-client (CLI11; the file's keys are the long
// option names without "--"; the command line wins over the file). docs/guide-client.md explains
// every option.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/client/client_config.hpp>

#include "credentials.hpp"

namespace lwm2m::app {

struct ClientOptions {
    std::string endpoint;
    std::string bootstrap_uri; ///< client-initiated bootstrap from this Bootstrap-Server
    std::string server_uri;    ///< or factory bootstrap: register with this LwM2M Server
    int short_server_id = 101;
    CredentialOptions credentials;
    std::int64_t hold_off = 0;                  ///< Object 0 Resource 11 of the bootstrap account
    std::int64_t bootstrap_account_timeout = 0; ///< Object 0 Resource 12
    double bootstrap_jitter_s = 5.0;

    std::string state_dir = "lwm2m-client-state";
    bool reset_state = false;
    std::string bind_address = "::";
    int port = 0;

    std::int64_t lifetime = 300;
    std::string binding = "U";
    bool queue_mode = false;
    bool notification_storing = true;
    std::string lwm2m_version = "1.1";
    std::vector<int> objects{2, 3, 4, 5, 3303};
    std::vector<std::string> ddf_files;

    std::string manufacturer = "lwm2m-cpp";
    std::string model = "lwm2m-client";
    std::string serial;
    std::string firmware_version = "1.0.0";
    std::string firmware_fail = "none"; ///< none | integrity | update
    double demo_interval_s = 10.0;

    std::string log_level = "info";
    double shutdown_grace_s = 5.0;

    [[nodiscard]] bool has_object(int oid) const;
};

/// Parses argv (and the --config file). Returns the exit code when the program must stop (0 for
/// --help / --version, 2 for a usage error, with the message printed), or -1 to run. The PSK key
/// options are taken out of argv (and LWM2M_PSK_KEY_HEX out of the environment) before parsing.
int parse_options(int argc, char** argv, ClientOptions& out);

/// The factory configuration the options describe (Objects 0 and 1): a Bootstrap-Server account
/// (--bootstrap) or one LwM2M Server account (--server), with the credentials read from their
/// files. Errors: lwm2m::Errc::invalid_argument, with the message (no key bytes) printed to
/// stderr.
[[nodiscard]] Result<client::ClientConfig> factory_config(ClientOptions& o);

} // namespace lwm2m::app
