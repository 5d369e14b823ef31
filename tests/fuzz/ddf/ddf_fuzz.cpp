// Fuzz target: arbitrary bytes into the DDF XML loader, then everything the loader produced
// through the checks that consume definitions (range parsing, value checks, the registry).
#include <lwm2m/dm/ddf.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/dm/value_check.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view xml(reinterpret_cast<const char*>(data), size);
    lwm2m::dm::DdfError err;
    auto def = lwm2m::dm::load_ddf(xml, "fuzz.xml", &err);
    if (!def) {
        // A failure always names its file and a category error.
        if (err.file != "fuzz.xml" || err.message.empty() || !err.code) std::abort();
        return 0;
    }
    for (std::size_t k = 1; k < def->resources.size(); ++k)
        if (def->resources[k - 1].id >= def->resources[k].id) std::abort(); // sorted, unique
    for (const auto& r : def->resources) {
        (void)lwm2m::dm::parse_range(r.range_enumeration);
        (void)lwm2m::dm::check_value(r, lwm2m::dm::Value::integer(-1));
        (void)lwm2m::dm::check_value(r, lwm2m::dm::Value::string("abc"));
        if (def->resource(r.id) == nullptr) std::abort();
    }
    lwm2m::dm::ObjectRegistry reg;
    reg.add(*def);
    if (reg.find(def->id) == nullptr) std::abort();
    return 0;
}
