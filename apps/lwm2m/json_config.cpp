#include "json_config.hpp"

#include <sstream>

#include <nlohmann/json.hpp>

namespace lwm2m::app {

std::vector<CLI::ConfigItem> JsonConfig::from_config(std::istream& in) const {
    std::ostringstream buf;
    buf << in.rdbuf();
    auto j = nlohmann::json::parse(buf.str(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw CLI::ConversionError("the configuration file is not a JSON object");
    std::vector<CLI::ConfigItem> result;
    for (auto it = j.begin(); it != j.end(); ++it) {
        CLI::ConfigItem item;
        item.name = it.key();
        auto text_of = [&](const nlohmann::json& v) -> std::string {
            if (v.is_string()) return v.get<std::string>();
            if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
            if (v.is_number()) return v.dump();
            throw CLI::ConversionError("configuration key '" + it.key() +
                                       "': expected a string, number or boolean");
        };
        if (it.value().is_array()) {
            for (const auto& v : it.value())
                item.inputs.push_back(text_of(v));
        } else {
            item.inputs.push_back(text_of(it.value()));
        }
        result.push_back(std::move(item));
    }
    return result;
}

} // namespace lwm2m::app
