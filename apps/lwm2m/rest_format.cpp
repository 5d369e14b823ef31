#include "rest_format.hpp"

#include <charconv>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace lwm2m::app {

using nlohmann::json;

namespace {

/// Display width of UTF-8 text: code points (no East Asian wide handling).
std::size_t width(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

/// Control characters would garble a table: shown as \n, \t, \xNN.
std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (c < 0x20 || c == 0x7f)
            out += fmt::format("\\x{:02x}", c);
        else
            out += static_cast<char>(c);
    }
    return out;
}

std::string base64_to_hex(const std::string& b64, std::size_t* size) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+' || c == '-') return 62;
        if (c == '/' || c == '_') return 63;
        return -1;
    };
    std::string hex;
    unsigned acc = 0;
    int bits = 0;
    *size = 0;
    for (char c : b64) {
        int v = val(c);
        if (v < 0) continue; // padding
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            hex += fmt::format("{:02x}", (acc >> bits) & 0xFF);
            ++*size;
        }
    }
    return hex;
}

std::string resource_name(const ModelLookup& models, std::uint16_t oid, std::uint16_t rid,
                          const ResourceModel** out) {
    *out = nullptr;
    const ObjectModel* m = models ? models(oid) : nullptr;
    if (!m) return "";
    auto it = m->resources.find(rid);
    if (it == m->resources.end()) return "";
    *out = &it->second;
    return it->second.name;
}

void resource_rows(const json& r, const std::string& base, std::uint16_t oid,
                   const ModelLookup& models, Table& table) {
    auto rid = r.value("id", 0);
    const ResourceModel* rm = nullptr;
    std::string name = resource_name(models, oid, static_cast<std::uint16_t>(rid), &rm);
    std::string type = r.value("type", rm ? rm->type : std::string{});
    std::string units = rm ? rm->units : std::string{};
    std::string path = base + "/" + std::to_string(rid);
    if (r.contains("instances") && r["instances"].is_object()) {
        if (r["instances"].empty()) table.add({path, name, "(no instances)"});
        // JSON object keys sort as text: order the resource instances by number.
        std::vector<std::pair<unsigned long, const json*>> inst;
        for (const auto& [k, v] : r["instances"].items())
            inst.emplace_back(std::stoul(k), &v);
        std::sort(inst.begin(), inst.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [riid, v] : inst)
            table.add({path + "/" + std::to_string(riid), name, format_value(*v, type, units)});
    } else {
        table.add({path, name, format_value(r.value("value", json(nullptr)), type, units)});
    }
}

void instance_rows(const json& in, const std::string& base, std::uint16_t oid,
                   const ModelLookup& models, Table& table) {
    std::string path = base + "/" + std::to_string(in.value("id", 0));
    if (!in.contains("resources") || in["resources"].empty()) {
        table.add({path, "", "(no resources)"});
        return;
    }
    for (const auto& r : in["resources"])
        resource_rows(r, path, oid, models, table);
}

/// The numbers of a "/a/b/c" path.
std::vector<std::uint16_t> path_ids(std::string_view p) {
    std::vector<std::uint16_t> ids;
    while (!p.empty()) {
        if (p.front() == '/') p.remove_prefix(1);
        auto slash = p.find('/');
        auto part = p.substr(0, slash);
        unsigned v = 0;
        std::from_chars(part.data(), part.data() + part.size(), v);
        ids.push_back(static_cast<std::uint16_t>(v));
        p = slash == std::string_view::npos ? std::string_view{} : p.substr(slash);
    }
    return ids;
}

} // namespace

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)) {}

void Table::add(std::vector<std::string> row) {
    row.resize(headers_.size());
    for (auto& c : row)
        c = printable(c);
    rows_.push_back(std::move(row));
}

std::string Table::render() const {
    std::vector<std::size_t> w(headers_.size(), 0);
    for (std::size_t i = 0; i < headers_.size(); ++i)
        w[i] = width(headers_[i]);
    for (const auto& r : rows_)
        for (std::size_t i = 0; i < r.size(); ++i)
            w[i] = std::max(w[i], width(r[i]));
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string l;
        for (std::size_t i = 0; i < cells.size(); ++i) {
            l += cells[i];
            if (i + 1 < cells.size()) l.append(w[i] - width(cells[i]) + 2, ' ');
        }
        while (!l.empty() && l.back() == ' ')
            l.pop_back();
        out += l;
        out += '\n';
    };
    line(headers_);
    for (const auto& r : rows_)
        line(r);
    return out;
}

std::optional<ObjectModel> object_model_from_json(const json& j) {
    if (!j.is_object() || !j.contains("id") || !j["id"].is_number_unsigned()) return std::nullopt;
    ObjectModel m;
    m.id = j["id"].get<std::uint16_t>();
    if (j.contains("name") && j["name"].is_string()) m.name = j["name"].get<std::string>();
    if (j.contains("resources") && j["resources"].is_array()) {
        for (const auto& r : j["resources"]) {
            if (!r.is_object() || !r.contains("id") || !r["id"].is_number_unsigned()) continue;
            ResourceModel rm;
            auto str = [&r](const char* k) {
                return r.contains(k) && r[k].is_string() ? r[k].get<std::string>() : std::string{};
            };
            rm.name = str("name");
            rm.type = str("type");
            rm.units = str("units");
            rm.operations = str("operations");
            rm.multiple = r.value("multiple", false);
            m.resources[r["id"].get<std::uint16_t>()] = std::move(rm);
        }
    }
    return m;
}

std::string iso8601_utc(std::int64_t t, bool millis) {
    auto secs = static_cast<std::time_t>(millis ? t / 1000 : t);
    std::tm tm{};
    if (!gmtime_r(&secs, &tm)) return std::to_string(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    if (millis) return fmt::format("{}.{:03d}Z", buf, static_cast<int>(t % 1000));
    return std::string(buf) + "Z";
}

std::string format_value(const json& v, std::string_view type, std::string_view units) {
    std::string s;
    if (v.is_null()) {
        s = "-";
    } else if (type == "opaque" && v.is_string()) {
        std::size_t n = 0;
        std::string hex = base64_to_hex(v.get<std::string>(), &n);
        s = n == 0 ? "(0 bytes)" : fmt::format("0x{} ({} bytes)", hex, n);
        return s;
    } else if (type == "time" && v.is_number_integer()) {
        auto t = v.get<std::int64_t>();
        return fmt::format("{} ({})", t, iso8601_utc(t));
    } else if (v.is_string()) {
        s = v.get<std::string>();
    } else if (v.is_boolean()) {
        s = v.get<bool>() ? "true" : "false";
    } else if (v.is_number_float()) {
        s = fmt::format("{}", v.get<double>()); // shortest round-trip form
    } else {
        s = v.dump();
    }
    if (!units.empty() && !v.is_null()) s += fmt::format(" {}", units);
    return s;
}

void add_content_rows(const json& content, const ModelLookup& models, Table& table) {
    std::string path = content.value("path", std::string("/"));
    std::string kind = content.value("kind", std::string{});
    auto ids = path_ids(path);
    if (kind == "object" ||
        (kind.empty() && content.contains("instances") && content["instances"].is_array())) {
        auto oid = static_cast<std::uint16_t>(content.value("id", ids.empty() ? 0 : ids[0]));
        if (content["instances"].empty()) table.add({path, "", "(no instances)"});
        for (const auto& in : content["instances"])
            instance_rows(in, "/" + std::to_string(oid), oid, models, table);
    } else if (kind == "instance" || (kind.empty() && content.contains("resources"))) {
        if (ids.size() < 2) return;
        instance_rows(content, "/" + std::to_string(ids[0]), ids[0], models, table);
    } else if (kind == "resource" && ids.size() >= 3) {
        resource_rows(content, fmt::format("/{}/{}", ids[0], ids[1]), ids[0], models, table);
    } else if (kind == "resource_instance" && ids.size() >= 4) {
        const ResourceModel* rm = nullptr;
        std::string name = resource_name(models, ids[0], ids[2], &rm);
        std::string type = content.value("type", rm ? rm->type : std::string{});
        table.add({path, name,
                   format_value(content.value("value", json(nullptr)), type,
                                rm ? rm->units : std::string{})});
    }
}

void add_record_rows(const json& records, const ModelLookup& models, Table& table) {
    if (!records.is_array()) return;
    for (const auto& r : records) {
        std::string path = r.value("path", std::string{});
        auto ids = path_ids(path);
        const ResourceModel* rm = nullptr;
        std::string name =
            ids.size() >= 3 ? resource_name(models, ids[0], ids[2], &rm) : std::string{};
        std::string type = r.value("type", rm ? rm->type : std::string{});
        table.add(
            {path, name,
             format_value(r.value("value", json(nullptr)), type, rm ? rm->units : std::string{})});
    }
}

std::optional<json> parse_typed_value(std::string_view text, std::string_view type,
                                      std::string* why) {
    auto fail = [&](std::string m) -> std::optional<json> {
        if (why) *why = std::move(m);
        return std::nullopt;
    };
    const std::string t(text);
    auto as_int = [&]() -> std::optional<std::int64_t> {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
        return v;
    };
    auto as_double = [&]() -> std::optional<double> {
        double v = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || ec != std::errc() || p != t.data() + t.size() || !std::isfinite(v))
            return std::nullopt;
        return v;
    };
    if (type == "string" || type == "corelnk") return json(t);
    if (type == "integer" || type == "time") {
        if (auto v = as_int()) return json(*v);
        return fail("'" + t + "' is not an integer" +
                    (type == "time" ? " (Unix seconds)" : std::string{}));
    }
    if (type == "unsigned") {
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (t.empty() || ec != std::errc() || p != t.data() + t.size())
            return fail("'" + t + "' is not an unsigned integer");
        return json(v);
    }
    if (type == "float") {
        if (auto v = as_double()) return json(*v);
        return fail("'" + t + "' is not a number");
    }
    if (type == "boolean") {
        if (t == "true" || t == "1") return json(true);
        if (t == "false" || t == "0") return json(false);
        return fail("'" + t + "' is not a boolean (true, false, 1, 0)");
    }
    if (type == "objlnk") {
        auto colon = t.find(':');
        auto num = [](std::string_view s) {
            unsigned v = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            return !s.empty() && ec == std::errc() && p == s.data() + s.size() && v <= 65535;
        };
        if (colon == std::string::npos || !num(std::string_view(t).substr(0, colon)) ||
            !num(std::string_view(t).substr(colon + 1)))
            return fail("'" + t + "' is not an object link (OID:IID)");
        return json(t);
    }
    if (type == "opaque") {
        // Hex ("0x00ff" or "00ff") is sent as base64 (RFC 4648 §4), anything else must be base64.
        std::string_view h = t;
        if (h.substr(0, 2) == "0x") h.remove_prefix(2);
        if (h.size() % 2 != 0 || h.find_first_not_of("0123456789abcdefABCDEF") != h.npos)
            return fail("'" + t + "' is not hex bytes (e.g. 0x00ff)");
        static constexpr char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::vector<unsigned char> bytes;
        for (std::size_t i = 0; i < h.size(); i += 2)
            bytes.push_back(
                static_cast<unsigned char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
        std::string out;
        for (std::size_t i = 0; i < bytes.size(); i += 3) {
            unsigned v = bytes[i] << 16;
            if (i + 1 < bytes.size()) v |= bytes[i + 1] << 8;
            if (i + 2 < bytes.size()) v |= bytes[i + 2];
            out += b64[(v >> 18) & 63];
            out += b64[(v >> 12) & 63];
            out += i + 1 < bytes.size() ? b64[(v >> 6) & 63] : '=';
            out += i + 2 < bytes.size() ? b64[v & 63] : '=';
        }
        return json(out);
    }
    if (type == "none") {
        if (t.empty() || t == "null") return json(nullptr);
        return fail("this resource takes no value");
    }
    // No model: JSON literals when they are numbers or booleans, text otherwise.
    if (auto v = as_int()) return json(*v);
    if (auto v = as_double()) return json(*v);
    if (t == "true" || t == "false") return json(t == "true");
    return json(t);
}

} // namespace lwm2m::app
