// The administration commands of `lwm2m` over the REST API of lwm2m-server (docs/rest-api.md,
// docs/guide-cli.md "Administration"): clients, client, read, write, exec, create, delete,
// discover, attrs, observe, composite, security, bootstrap, events (and events history).
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

#include "secret_input.hpp"

namespace lwm2m::app {

/// HTTP error answered by the REST API (4xx/5xx other than a device timeout): exit status 5.
inline constexpr int exit_http_error = 5; // = commands.hpp exit_http

/// The admin commands: registered on the top-level CLI::App, run after parsing.
class AdminCommands {
public:
    AdminCommands();
    ~AdminCommands();
    AdminCommands(const AdminCommands&) = delete;
    AdminCommands& operator=(const AdminCommands&) = delete;

    /// Adds the global options (--server, --token-file, --config, --json, --timeout) and the
    /// subcommands to `app`.
    void add_to(CLI::App& app);
    /// True when one of the admin subcommands was given.
    [[nodiscard]] bool parsed() const;
    /// Runs it; returns the exit status. `env_key`: LWM2M_PSK_KEY_HEX, taken by main().
    int run(TakenSecret env_key);

    struct State;

private:
    std::unique_ptr<State> s_;
};

} // namespace lwm2m::app
