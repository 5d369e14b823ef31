// Human output of the admin commands: aligned tables and LwM2M values typed by the object models
// of GET /api/models/{oid} (names, units), plus the parsing of a value typed on the command line.
// No I/O here (unit tested in tests/unit/cli/rest_format_test.cpp).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lwm2m::app {

/// A text table: a header row, then rows; columns padded to the widest cell (UTF-8 aware), two
/// spaces between columns, no trailing blanks.
class Table {
public:
    explicit Table(std::vector<std::string> headers);
    void add(std::vector<std::string> row);
    [[nodiscard]] std::string render() const;
    [[nodiscard]] std::size_t rows() const noexcept { return rows_.size(); }

private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

/// What the model says about one resource (from GET /api/models/{oid}).
struct ResourceModel {
    std::string name;
    std::string type; ///< the API's type name: string, integer, unsigned, float, boolean, ...
    std::string units;
    std::string operations; ///< R, W, RW, E
    bool multiple = false;
};

struct ObjectModel {
    std::uint16_t id = 0;
    std::string name;
    std::map<std::uint16_t, ResourceModel> resources;
};

/// The model in a GET /api/models/{oid} answer; nullopt when the JSON does not have that shape.
[[nodiscard]] std::optional<ObjectModel> object_model_from_json(const nlohmann::json& j);

/// Looks up a model by object id (nullptr: none known).
using ModelLookup = std::function<const ObjectModel*(std::uint16_t oid)>;

/// One JSON value of the API (docs/rest-api.md "Values") for people: strings as is, floats in
/// the shortest form that reads back, time as "<unix> (YYYY-MM-DDTHH:MM:SSZ)", opaque as hex with
/// its size, booleans true/false, null as "-"; `units` appended after a space when not empty.
[[nodiscard]] std::string format_value(const nlohmann::json& value, std::string_view type,
                                       std::string_view units = {});

/// The rows PATH, NAME, VALUE of a node (object, instance, resource, resource instance) of a
/// read answer's "content", one per resource (instance), in the node's order.
void add_content_rows(const nlohmann::json& content, const ModelLookup& models, Table& table);

/// The rows PATH, NAME, VALUE of composite records.
void add_record_rows(const nlohmann::json& records, const ModelLookup& models, Table& table);

/// The JSON value for `text` given on the command line as a resource of `type` (the API's type
/// names; "" when the model is unknown: a JSON literal if `text` parses as a number, true/false,
/// else a string). nullopt and `why` when `text` is not a value of that type.
[[nodiscard]] std::optional<nlohmann::json>
parse_typed_value(std::string_view text, std::string_view type, std::string* why);

/// "1700000000123" ms (or seconds when `millis` is false) as "2023-11-14T22:13:20Z".
[[nodiscard]] std::string iso8601_utc(std::int64_t t, bool millis = false);

} // namespace lwm2m::app
