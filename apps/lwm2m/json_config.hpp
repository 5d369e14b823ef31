// A JSON configuration file for CLI11 programs (lwm2m-server, lwm2m-client): one JSON object whose
// keys are the long option names without "--", e.g. {"coap-port": 5683, "log-level": "debug"};
// arrays give a repeated option several values. Nested objects are refused. The command line
// wins over the file.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace lwm2m::app {

class JsonConfig final : public CLI::Config {
public:
    std::string to_config(const CLI::App*, bool, bool, std::string) const override { return {}; }
    /// Throws CLI::ConversionError (CLI11 reports it as a usage error) for text that is not a JSON
    /// object or a value that is not a string, number, boolean or array of those.
    std::vector<CLI::ConfigItem> from_config(std::istream& in) const override;
};

} // namespace lwm2m::app
