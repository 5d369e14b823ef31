#include <lwm2m/http/json_content.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <set>

#include <lwm2m/dm/errc.hpp>
#include <lwm2m/dm/value_text.hpp>

namespace lwm2m::http {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 10> names = {"none",   "string",  "integer", "unsigned",
                                                    "float",  "boolean", "opaque",  "time",
                                                    "objlnk", "corelnk"};

struct Err {
    std::string* why;
    tl::unexpected<Error> operator()(dm::Errc e, std::string msg) const {
        if (why) *why = std::move(msg);
        return fail(e);
    }
};

/// Rejects members other than `allowed` (strict input: a typo is an error, not ignored).
bool only_fields(const json& j, std::initializer_list<std::string_view> allowed, std::string* bad) {
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool ok = false;
        for (auto a : allowed)
            if (it.key() == a) ok = true;
        if (!ok) {
            *bad = it.key();
            return false;
        }
    }
    return true;
}

std::optional<std::uint16_t> id_of(const json& j) {
    if (!j.is_number_integer()) return std::nullopt;
    if (j.is_number_unsigned()) {
        auto v = j.get<std::uint64_t>();
        if (v > 65535) return std::nullopt;
        return static_cast<std::uint16_t>(v);
    }
    auto v = j.get<std::int64_t>();
    if (v < 0 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

json node_resource(const dm::Resource& r) {
    json j;
    j["id"] = r.id;
    if (r.multiple) {
        dm::DataType t = dm::DataType::none;
        json inst = json::object();
        for (const auto& [riid, v] : r.instances) {
            t = v.type();
            inst[std::to_string(riid)] = value_to_json(v);
        }
        j["type"] = json_type_name(t);
        j["instances"] = std::move(inst);
    } else {
        j["type"] = json_type_name(r.value.type());
        j["value"] = value_to_json(r.value);
    }
    return j;
}

json node_instance(const dm::Instance& in) {
    json res = json::array();
    for (const auto& [rid, r] : in.resources)
        res.push_back(node_resource(r));
    return {{"id", in.id}, {"resources", std::move(res)}};
}

json node_object(const dm::Object& o) {
    json inst = json::array();
    for (const auto& [iid, in] : o.instances)
        inst.push_back(node_instance(in));
    return {{"id", o.id}, {"instances", std::move(inst)}};
}

class Decoder {
public:
    Decoder(const dm::ObjectRegistry* models, std::string* why)
        : models_(models)
        , err_{why} {}

    /// The type of resource /oid/x/rid from "type" and the model.
    Result<dm::DataType> type_of(const json& j, std::uint16_t oid, std::uint16_t rid,
                                 const std::string& where) {
        const dm::ResourceDef* def = models_ ? models_->find(oid, rid) : nullptr;
        if (j.contains("type")) {
            const json& t = j["type"];
            std::optional<dm::DataType> given;
            if (t.is_string()) given = json_type_from_name(t.get<std::string>());
            if (!given) return err_(dm::Errc::bad_value, where + ": unknown \"type\"");
            if (def && def->type != *given)
                return err_(dm::Errc::type_mismatch,
                            where + ": \"type\" " + std::string(json_type_name(*given)) +
                                " contradicts the object model (" +
                                std::string(json_type_name(def->type)) + ")");
            return *given;
        }
        if (!def)
            return err_(dm::Errc::unknown_resource,
                        where + ": no object model for this resource; give \"type\"");
        return def->type;
    }

    Result<dm::Value> value(const json& j, dm::DataType t, const std::string& where) {
        std::string why;
        auto v = value_from_json(j, t, &why);
        if (!v) {
            if (err_.why) *err_.why = where + ": " + why;
            return fail(v.error());
        }
        return v;
    }

    Result<dm::Resource> resource(const json& j, std::uint16_t oid, std::uint16_t rid_hint,
                                  bool rid_fixed, const std::string& prefix) {
        if (!j.is_object()) return err_(dm::Errc::bad_structure, prefix + ": not a JSON object");
        std::string bad;
        if (!only_fields(j, {"id", "type", "value", "instances", "path", "kind"}, &bad))
            return err_(dm::Errc::bad_structure, prefix + ": unknown field \"" + bad + "\"");
        std::uint16_t rid = rid_hint;
        if (j.contains("id")) {
            auto id = id_of(j["id"]);
            if (!id) return err_(dm::Errc::bad_structure, prefix + ": bad resource \"id\"");
            if (rid_fixed && *id != rid_hint)
                return err_(dm::Errc::bad_structure, prefix + ": \"id\" differs from the path");
            rid = *id;
        } else if (!rid_fixed) {
            return err_(dm::Errc::bad_structure, prefix + ": resource without \"id\"");
        }
        std::string where = prefix + "/" + std::to_string(rid);
        if (rid_fixed) where = prefix;
        LWM2M_TRY(t, type_of(j, oid, rid, where));
        bool has_value = j.contains("value");
        bool has_inst = j.contains("instances");
        if (has_value == has_inst)
            return err_(dm::Errc::bad_structure,
                        where + R"(: a resource has exactly one of "value" and "instances")");
        const dm::ResourceDef* def = models_ ? models_->find(oid, rid) : nullptr;
        if (has_value) {
            if (def && def->multiple)
                return err_(dm::Errc::bad_structure,
                            where + ": multiple resource: give \"instances\"");
            LWM2M_TRY(v, value(j["value"], t, where));
            return dm::Resource::single(rid, std::move(v));
        }
        if (def && !def->multiple)
            return err_(dm::Errc::bad_structure, where + ": single resource: give \"value\"");
        const json& inst = j["instances"];
        if (!inst.is_object())
            return err_(dm::Errc::bad_structure,
                        where + ": \"instances\" must map instance ids to values");
        dm::FlatMap<std::uint16_t, dm::Value> values;
        for (auto it = inst.begin(); it != inst.end(); ++it) {
            auto parsed = parse_id(it.key());
            if (!parsed)
                return err_(dm::Errc::bad_structure,
                            where + ": bad resource instance id \"" + it.key() + "\"");
            LWM2M_TRY(v, value(it.value(), t, where + "/" + it.key()));
            values[*parsed] = std::move(v);
        }
        return dm::Resource::multi(rid, std::move(values));
    }

    Result<dm::Instance> instance(const json& j, std::uint16_t oid,
                                  std::optional<std::uint16_t> iid_fixed, bool id_optional,
                                  bool* id_given, const std::string& prefix) {
        if (!j.is_object()) return err_(dm::Errc::bad_structure, prefix + ": not a JSON object");
        std::string bad;
        if (!only_fields(j, {"id", "resources", "path", "kind"}, &bad))
            return err_(dm::Errc::bad_structure, prefix + ": unknown field \"" + bad + "\"");
        dm::Instance in;
        if (id_given) *id_given = false;
        if (j.contains("id")) {
            auto id = id_of(j["id"]);
            if (!id || *id == 65535)
                return err_(dm::Errc::bad_structure, prefix + ": bad instance \"id\"");
            if (iid_fixed && *id != *iid_fixed)
                return err_(dm::Errc::bad_structure, prefix + ": \"id\" differs from the path");
            in.id = *id;
            if (id_given) *id_given = true;
        } else if (iid_fixed) {
            in.id = *iid_fixed;
        } else if (!id_optional) {
            return err_(dm::Errc::bad_structure, prefix + ": instance without \"id\"");
        }
        std::string where = iid_fixed ? prefix : prefix + "/" + std::to_string(in.id);
        if (!j.contains("resources") || !j["resources"].is_array())
            return err_(dm::Errc::bad_structure, where + ": \"resources\" must be an array");
        for (const auto& r : j["resources"]) {
            LWM2M_TRY(res, resource(r, oid, 0, false, where));
            if (in.resources.find(res.id) != in.resources.end())
                return err_(dm::Errc::bad_structure,
                            where + ": resource " + std::to_string(res.id) + " twice");
            auto rid = res.id;
            in.resources[rid] = std::move(res);
        }
        return in;
    }

    Result<dm::Object> object(const json& j, std::uint16_t oid, const std::string& prefix) {
        if (!j.is_object()) return err_(dm::Errc::bad_structure, prefix + ": not a JSON object");
        std::string bad;
        if (!only_fields(j, {"id", "instances", "path", "kind"}, &bad))
            return err_(dm::Errc::bad_structure, prefix + ": unknown field \"" + bad + "\"");
        if (j.contains("id")) {
            auto id = id_of(j["id"]);
            if (!id || *id != oid)
                return err_(dm::Errc::bad_structure, prefix + ": \"id\" differs from the path");
        }
        if (!j.contains("instances") || !j["instances"].is_array())
            return err_(dm::Errc::bad_structure, prefix + ": \"instances\" must be an array");
        dm::Object o;
        o.id = oid;
        for (const auto& ij : j["instances"]) {
            LWM2M_TRY(in, instance(ij, oid, std::nullopt, false, nullptr, prefix));
            if (o.instances.find(in.id) != o.instances.end())
                return err_(dm::Errc::bad_structure,
                            prefix + ": instance " + std::to_string(in.id) + " twice");
            auto iid = in.id;
            o.instances[iid] = std::move(in);
        }
        return o;
    }

    static std::optional<std::uint16_t> parse_id(std::string_view s) {
        if (s.empty() || s.size() > 5) return std::nullopt;
        unsigned v = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (v > 65535 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
        return static_cast<std::uint16_t>(v);
    }

    const dm::ObjectRegistry* models_;
    Err err_;
};

} // namespace

std::string_view json_type_name(dm::DataType t) noexcept {
    auto i = static_cast<std::size_t>(t);
    return i < names.size() ? names[i] : "none";
}

std::optional<dm::DataType> json_type_from_name(std::string_view s) noexcept {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == s) return static_cast<dm::DataType>(i);
    return std::nullopt;
}

json value_to_json(const dm::Value& v) {
    switch (v.type()) {
    case dm::DataType::none:
        return nullptr;
    case dm::DataType::string:
        return v.as_string();
    case dm::DataType::integer:
        return v.as_integer();
    case dm::DataType::unsigned_integer:
        return v.as_unsigned();
    case dm::DataType::float_: {
        double d = v.as_float();
        if (!std::isfinite(d)) return nullptr;
        return d;
    }
    case dm::DataType::boolean:
        return v.as_boolean();
    case dm::DataType::opaque:
        return dm::base64_encode(v.as_opaque());
    case dm::DataType::time:
        return v.as_time();
    case dm::DataType::objlnk: {
        auto l = v.as_objlnk();
        return std::to_string(l.oid) + ":" + std::to_string(l.iid);
    }
    case dm::DataType::corelnk:
        return v.as_corelnk();
    }
    return nullptr;
}

Result<dm::Value> value_from_json(const json& j, dm::DataType t, std::string* why) {
    Err err{why};
    auto kind = [&](const char* want) {
        return err(dm::Errc::type_mismatch,
                   std::string("expected ") + want + " for type " + std::string(json_type_name(t)));
    };
    switch (t) {
    case dm::DataType::none:
        if (!j.is_null()) return kind("null");
        return dm::Value{};
    case dm::DataType::string:
    case dm::DataType::corelnk:
        if (!j.is_string()) return kind("a string");
        return t == dm::DataType::string ? dm::Value::string(j.get<std::string>())
                                         : dm::Value::corelnk(j.get<std::string>());
    case dm::DataType::integer:
    case dm::DataType::time: {
        if (!j.is_number_integer()) return kind("an integer");
        std::int64_t v;
        if (j.is_number_unsigned()) {
            auto u = j.get<std::uint64_t>();
            if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return err(dm::Errc::out_of_range, "integer outside int64");
            v = static_cast<std::int64_t>(u);
        } else {
            v = j.get<std::int64_t>();
        }
        return t == dm::DataType::integer ? dm::Value::integer(v) : dm::Value::time(v);
    }
    case dm::DataType::unsigned_integer:
        if (!j.is_number_integer()) return kind("a non-negative integer");
        if (!j.is_number_unsigned() && j.get<std::int64_t>() < 0)
            return err(dm::Errc::out_of_range, "negative value for type unsigned");
        return dm::Value::unsigned_integer(j.get<std::uint64_t>());
    case dm::DataType::float_:
        if (!j.is_number()) return kind("a number");
        return dm::Value::float_(j.get<double>());
    case dm::DataType::boolean:
        if (!j.is_boolean()) return kind("true or false");
        return dm::Value::boolean(j.get<bool>());
    case dm::DataType::opaque: {
        if (!j.is_string()) return kind("a base64 string");
        auto b = dm::base64_decode(j.get<std::string>());
        if (!b) return err(dm::Errc::bad_value, "not standard padded base64 (RFC 4648 §4)");
        return dm::Value::opaque(std::move(*b));
    }
    case dm::DataType::objlnk: {
        if (!j.is_string()) return kind("an \"oid:iid\" string");
        auto v = dm::parse_text(dm::DataType::objlnk, j.get<std::string>());
        if (!v) return err(dm::Errc::bad_value, "not an \"oid:iid\" object link");
        return v;
    }
    }
    return err(dm::Errc::bad_value, "unknown type");
}

json content_to_json(const dm::Content& c) {
    json j;
    switch (c.node.index()) {
    case 0:
        j = node_object(std::get<dm::Object>(c.node));
        j["kind"] = "object";
        break;
    case 1:
        j = node_instance(std::get<dm::Instance>(c.node));
        j["kind"] = "instance";
        break;
    case 2:
        j = node_resource(std::get<dm::Resource>(c.node));
        j["kind"] = "resource";
        break;
    default: {
        const auto& v = std::get<dm::Value>(c.node);
        j["kind"] = "resource_instance";
        if (c.path.has_resource_instance()) j["id"] = c.path.riid().v;
        j["type"] = json_type_name(v.type());
        j["value"] = value_to_json(v);
    }
    }
    j["path"] = c.path.to_string();
    return j;
}

json records_to_json(std::span<const dm::Record> records) {
    json arr = json::array();
    for (const auto& r : records) {
        json j = {{"path", r.path.to_string()},
                  {"type", json_type_name(r.value.type())},
                  {"value", value_to_json(r.value)}};
        if (r.time) j["time"] = *r.time;
        arr.push_back(std::move(j));
    }
    return arr;
}

Result<dm::Content> content_from_json(const json& j, const dm::Path& base,
                                      const dm::ObjectRegistry* models, std::string* why,
                                      bool instance_at_object, bool* id_given) {
    Err err{why};
    Decoder d(models, why);
    const std::string where = base.to_string();
    if (!j.is_object()) return err(dm::Errc::bad_structure, "content must be a JSON object");
    if (j.contains("path")) {
        if (!j["path"].is_string())
            return err(dm::Errc::bad_structure, "\"path\" must be a string");
        auto p = dm::Path::parse(j["path"].get<std::string>());
        if (!p || !(*p == base))
            return err(dm::Errc::bad_structure, "\"path\" differs from the target path " + where);
    }
    auto want_kind = [&](std::string_view k) -> Result<void> {
        if (!j.contains("kind")) return ok();
        if (!j["kind"].is_string() || j["kind"].get<std::string>() != k)
            return err(dm::Errc::bad_structure,
                       R"("kind" must be ")" + std::string(k) + "\" at " + where);
        return ok();
    };
    switch (base.level()) {
    case dm::Path::Level::root:
        return err(dm::Errc::bad_path, "content needs a target path");
    case dm::Path::Level::object: {
        if (instance_at_object) {
            LWM2M_TRY_VOID(want_kind("instance"));
            LWM2M_TRY(in, d.instance(j, base.oid().v, std::nullopt, true, id_given, where));
            dm::Path p(base.oid(), Iid{in.id});
            return dm::Content{p, std::move(in)};
        }
        LWM2M_TRY_VOID(want_kind("object"));
        LWM2M_TRY(o, d.object(j, base.oid().v, where));
        return dm::Content{base, std::move(o)};
    }
    case dm::Path::Level::instance: {
        LWM2M_TRY_VOID(want_kind("instance"));
        LWM2M_TRY(in, d.instance(j, base.oid().v, base.iid().v, false, nullptr, where));
        return dm::Content{base, std::move(in)};
    }
    case dm::Path::Level::resource: {
        LWM2M_TRY_VOID(want_kind("resource"));
        LWM2M_TRY(r, d.resource(j, base.oid().v, base.rid().v, true, where));
        return dm::Content{base, std::move(r)};
    }
    case dm::Path::Level::resource_instance: {
        LWM2M_TRY_VOID(want_kind("resource_instance"));
        std::string bad;
        if (!only_fields(j, {"id", "type", "value", "path", "kind"}, &bad))
            return err(dm::Errc::bad_structure, where + ": unknown field \"" + bad + "\"");
        if (j.contains("id")) {
            auto id = id_of(j["id"]);
            if (!id || *id != base.riid().v)
                return err(dm::Errc::bad_structure, where + ": \"id\" differs from the path");
        }
        if (!j.contains("value")) return err(dm::Errc::bad_structure, where + ": no \"value\"");
        LWM2M_TRY(t, d.type_of(j, base.oid().v, base.rid().v, where));
        LWM2M_TRY(v, d.value(j["value"], t, where));
        return dm::Content{base, std::move(v)};
    }
    }
    return err(dm::Errc::bad_path, "bad target path");
}

Result<std::vector<dm::Record>> records_from_json(const json& j, const dm::ObjectRegistry* models,
                                                  std::string* why) {
    Err err{why};
    Decoder d(models, why);
    if (!j.is_array()) return err(dm::Errc::bad_structure, "records must be a JSON array");
    std::vector<dm::Record> out;
    std::set<dm::Path> seen;
    for (const auto& r : j) {
        if (!r.is_object()) return err(dm::Errc::bad_structure, "a record must be a JSON object");
        std::string bad;
        if (!only_fields(r, {"path", "type", "value"}, &bad))
            return err(dm::Errc::bad_structure, "record: unknown field \"" + bad + "\"");
        if (!r.contains("path") || !r["path"].is_string())
            return err(dm::Errc::bad_structure, "record without a \"path\" string");
        auto p = dm::Path::parse(r["path"].get<std::string>());
        if (!p || !p->has_resource())
            return err(dm::Errc::bad_path, "record path \"" + r["path"].get<std::string>() +
                                               "\" is not a resource or resource instance path");
        const std::string where = p->to_string();
        if (!seen.insert(*p).second) return err(dm::Errc::bad_structure, where + ": twice");
        if (!r.contains("value")) return err(dm::Errc::bad_structure, where + ": no \"value\"");
        LWM2M_TRY(t, d.type_of(r, p->oid().v, p->rid().v, where));
        LWM2M_TRY(v, d.value(r["value"], t, where));
        out.push_back(dm::Record{*p, std::move(v), std::nullopt});
    }
    return out;
}

} // namespace lwm2m::http
