// The JSON shape of LwM2M data (dm::Value, dm::Content, dm::Record) in the REST API
// (docs/rest-api.md "Values and content"). Values are typed by the object model:
//
//   type       JSON                              example
//   string     string                            "Acme"
//   integer    integer (int64)                   -5
//   unsigned   non-negative integer (uint64)     18446744073709551615
//   float      number                            21.5
//   boolean    true / false                      true
//   opaque     base64 string (RFC 4648 §4)       "AAEC"
//   time       integer, Unix seconds             1700000000
//   objlnk     "oid:iid" string                  "3:0"
//   corelnk    string (RFC 6690 link format)     "</3/0>"
//   none       null (executable resources)       null
//
// Nodes: object {"id", "instances": [instance...]}; instance {"id", "resources": [resource...]};
// single resource {"id", "type", "value"}; multiple resource {"id", "type", "instances":
// {"<riid>": value, ...}}; resource instance {"id", "type", "value"}. Content adds "path" and
// "kind" ("object", "instance", "resource", "resource_instance"). Records (composite
// operations, SenML-like): {"path", "type", "value"[, "time"]}.
//
// Decoding is strict: wrong JSON kinds, out-of-range numbers, unknown fields, missing types
// (without a model) are errors with a message naming the path; never a partial result.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/dm/value.hpp>

namespace lwm2m::http {

/// "string", "integer", "unsigned", "float", "boolean", "opaque", "time", "objlnk", "corelnk",
/// "none".
[[nodiscard]] std::string_view json_type_name(dm::DataType t) noexcept;
[[nodiscard]] std::optional<dm::DataType> json_type_from_name(std::string_view s) noexcept;

/// The bare JSON form of a value (table above). A NaN or infinite float becomes null.
[[nodiscard]] nlohmann::json value_to_json(const dm::Value& v);
/// Parses the bare JSON form of a value of type `t`. Errors: dm::Errc::type_mismatch (wrong
/// JSON kind), dm::Errc::out_of_range (integer outside the type), dm::Errc::bad_value (bad
/// base64 or objlnk text); `why` receives a message.
[[nodiscard]] Result<dm::Value> value_from_json(const nlohmann::json& j, dm::DataType t,
                                                std::string* why = nullptr);

/// {"path", "kind", ...node}.
[[nodiscard]] nlohmann::json content_to_json(const dm::Content& c);
/// [{"path", "type", "value"[, "time"]}...].
[[nodiscard]] nlohmann::json records_to_json(std::span<const dm::Record> records);

/// Decodes the node for target path `base` (object, instance, resource or resource-instance
/// level; "path" and "kind" in `j` are optional but must agree when present). Types come from
/// "type" or, when absent, from `models`; a "type" that contradicts the model is an error.
/// With `instance_at_object` (Create), `base` is an object path and `j` one instance whose
/// "id" is optional (`*id_given` tells; the content's path is then /oid/id or /oid/0).
/// Errors: dm::Errc::bad_structure, type_mismatch, out_of_range, bad_value, unknown_resource
/// (no type and no model); `why` receives a message.
[[nodiscard]] Result<dm::Content> content_from_json(const nlohmann::json& j, const dm::Path& base,
                                                    const dm::ObjectRegistry* models,
                                                    std::string* why = nullptr,
                                                    bool instance_at_object = false,
                                                    bool* id_given = nullptr);

/// Decodes records (Write-Composite). Each path must be a resource or resource-instance path.
/// Errors: as content_from_json.
[[nodiscard]] Result<std::vector<dm::Record>> records_from_json(const nlohmann::json& j,
                                                                const dm::ObjectRegistry* models,
                                                                std::string* why = nullptr);

} // namespace lwm2m::http
