#include <lwm2m/http/api.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_set>

#include <lwm2m/dm/ddf.hpp>
#include <lwm2m/format/link_format.hpp>
#include <lwm2m/http/json_content.hpp>

namespace lwm2m::http {

using nlohmann::json;

namespace {

template <class T>
using Expected = tl::expected<T, ApiError>;

tl::unexpected<ApiError> bad(std::string message) {
    return tl::unexpected(ApiError::bad_request(std::move(message)));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

/// The media type of the request's Content-Type, lower-case, without parameters.
std::string media_type(const Request& req) {
    auto ct = req.header("content-type");
    if (!ct) return {};
    std::string_view v = *ct;
    v = v.substr(0, v.find(';'));
    while (!v.empty() && v.back() == ' ')
        v.remove_suffix(1);
    while (!v.empty() && v.front() == ' ')
        v.remove_prefix(1);
    return lower(v);
}

/// The JSON body. Errors: 400 (missing, malformed), 415 (not application/json).
Expected<json> json_body(const Request& req) {
    if (req.body.empty()) return bad("a JSON request body is required");
    if (media_type(req) != "application/json")
        return tl::unexpected(
            ApiError{415, "unsupported_media_type", "the request body must be application/json"});
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded()) return bad("the request body is not valid JSON (RFC 8259, UTF-8)");
    return j;
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
    std::uint64_t v = 0;
    if (s.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

Expected<PageQuery> page_of(const Request& req, std::size_t max_page) {
    PageQuery q;
    if (auto o = req.query_param("offset")) {
        auto v = parse_uint(*o);
        if (!v) return bad("offset must be a non-negative integer");
        q.offset = static_cast<std::size_t>(std::min<std::uint64_t>(*v, SIZE_MAX));
    }
    if (auto l = req.query_param("limit")) {
        auto v = parse_uint(*l);
        if (!v || *v == 0 || *v > max_page)
            return bad("limit must be an integer from 1 to " + std::to_string(max_page));
        q.limit = static_cast<std::size_t>(*v);
    }
    return q;
}

Expected<std::chrono::milliseconds> timeout_of(const Request& req, const ApiOptions& o) {
    auto t = req.query_param("timeout");
    if (!t) return o.default_timeout;
    // Seconds, decimal ("5", "0.5").
    double s = 0;
    std::string text(*t);
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), s);
    if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(s) || s <= 0 ||
        s * 1000 > static_cast<double>(o.max_timeout.count()))
        return bad("timeout must be a number of seconds above 0 and at most " +
                   std::to_string(o.max_timeout.count() / 1000));
    auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(s * 1000)));
    return ms;
}

Expected<std::optional<format::ContentFormat>> format_of(const Request& req) {
    auto f = req.query_param("format");
    if (!f) return std::optional<format::ContentFormat>{};
    auto cf = format_from_name(*f);
    if (!cf)
        return bad("format must be one of tlv, senml-json, senml-cbor, lwm2m-json, lwm2m-cbor, "
                   "text, opaque");
    return std::optional<format::ContentFormat>(*cf);
}

Expected<dm::Path> path_of(const std::string& rest, bool allow_root = false) {
    if (rest.empty() && !allow_root) return bad("an LwM2M path is required (e.g. /3/0/1)");
    auto p = dm::Path::parse("/" + rest);
    if (!p) return bad("\"/" + rest + "\" is not an LwM2M path");
    return *p;
}

Expected<std::optional<bool>> opt_bool(const json& j, const char* name) {
    if (!j.contains(name)) return std::optional<bool>{};
    if (!j[name].is_boolean()) return bad(std::string("\"") + name + "\" must be true or false");
    return std::optional<bool>(j[name].get<bool>());
}

template <class T>
Expected<std::optional<T>> opt_uint(const json& j, const char* name,
                                    std::uint64_t max = std::numeric_limits<T>::max(),
                                    std::uint64_t min = 0) {
    if (!j.contains(name)) return std::optional<T>{};
    const json& v = j[name];
    if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0) ||
        v.get<std::uint64_t>() > max || v.get<std::uint64_t>() < min)
        return bad(std::string("\"") + name + "\" must be an integer from " + std::to_string(min) +
                   " to " + std::to_string(max));
    return std::optional<T>(static_cast<T>(v.get<std::uint64_t>()));
}

Expected<std::optional<std::string>> opt_string(const json& j, const char* name) {
    if (!j.contains(name)) return std::optional<std::string>{};
    if (!j[name].is_string()) return bad(std::string("\"") + name + "\" must be a string");
    return std::optional<std::string>(j[name].get<std::string>());
}

/// Rejects unknown members (typos must not pass silently).
Expected<void> only(const json& j, std::initializer_list<std::string_view> allowed,
                    std::string_view what) {
    if (!j.is_object()) return bad(std::string(what) + " must be a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it)
        if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
            return bad(std::string(what) + ": unknown field \"" + it.key() + "\"");
    return {};
}

/// Hex text into secret bytes; the temporary copy is wiped.
Expected<SecretBytes> secret_hex(const json& j, const char* name) {
    if (!j[name].is_string()) return bad(std::string("\"") + name + "\" must be a hex string");
    Bytes raw;
    if (!from_hex(j[name].get_ref<const std::string&>(), raw))
        return bad(std::string("\"") + name + "\" is not valid hex");
    SecretBytes s(raw);
    secure_wipe(raw.data(), raw.size());
    return s;
}

Expected<Bytes> bytes_hex(const json& j, const char* name) {
    if (!j[name].is_string()) return bad(std::string("\"") + name + "\" must be a hex string");
    Bytes raw;
    if (!from_hex(j[name].get_ref<const std::string&>(), raw))
        return bad(std::string("\"") + name + "\" is not valid hex");
    return raw;
}

bool valid_utf8_text(BytesView b) {
    std::string_view s = as_string_view(b);
    // nlohmann rejects invalid UTF-8 on dump with error_handler strict; use a quick check.
    try {
        (void)json(std::string(s)).dump();
    } catch (const json::exception&) {
        return false;
    }
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

/// Identity as UTF-8 text (psk_identity) or hex (psk_identity_hex). Both are accepted when they
/// name the same bytes, as GET shows them, so that a record read back can be sent back.
Expected<std::optional<Bytes>> identity_of(const json& j) {
    std::optional<Bytes> text, hex;
    if (j.contains("psk_identity")) {
        if (!j["psk_identity"].is_string()) return bad("\"psk_identity\" must be a string");
        text = to_bytes(j["psk_identity"].get<std::string>());
    }
    if (j.contains("psk_identity_hex")) {
        auto b = bytes_hex(j, "psk_identity_hex");
        if (!b) return tl::unexpected(b.error());
        hex = std::move(*b);
    }
    if (text && hex && *text != *hex)
        return bad("psk_identity and psk_identity_hex name different identities");
    return text ? std::move(text) : std::move(hex);
}

void put_identity(json& out, const Bytes& id) {
    if (id.empty()) return;
    if (valid_utf8_text(id)) out["psk_identity"] = std::string(as_string_view(id));
    out["psk_identity_hex"] = to_hex(id);
}

std::string coap_code(std::uint8_t code) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%u.%02u", code >> 5, code & 31u); // purity-ok (edge layer)
    return buf;
}

std::string_view ops_name(dm::Operations o) {
    switch (o) {
    case dm::Operations::none:
        return "";
    case dm::Operations::r:
        return "R";
    case dm::Operations::w:
        return "W";
    case dm::Operations::rw:
        return "RW";
    case dm::Operations::e:
        return "E";
    }
    return "";
}

/// TS 1.1 §5.4.5: arg *("," arg), arg = DIGIT ["=" "'" *(%x21-26 / %x28-7E / SP) "'"].
bool valid_execute_args(std::string_view s) {
    if (s.empty()) return true;
    std::size_t i = 0;
    for (;;) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
        ++i;
        if (i < s.size() && s[i] == '=') {
            if (++i >= s.size() || s[i] != '\'') return false;
            ++i;
            while (i < s.size() && s[i] != '\'') {
                if (s[i] < 0x20 || s[i] > 0x7e) return false;
                ++i;
            }
            if (i >= s.size()) return false;
            ++i;
        }
        if (i == s.size()) return true;
        if (s[i] != ',') return false;
        ++i;
    }
}

Expected<NotificationAttributes> attributes_of(const json& j) {
    if (auto o = only(
            j,
            {"pmin", "pmax", "gt", "lt", "st", "epmin", "epmax", "edge", "con", "hqmax", "clear"},
            "attributes");
        !o)
        return tl::unexpected(o.error());
    NotificationAttributes a;
    auto u32 = [&](const char* n, std::optional<std::uint32_t>& out) -> Expected<void> {
        auto v = opt_uint<std::uint32_t>(j, n);
        if (!v) return tl::unexpected(v.error());
        out = *v;
        return {};
    };
    auto num = [&](const char* n, std::optional<double>& out) -> Expected<void> {
        if (!j.contains(n)) return {};
        if (!j[n].is_number()) return bad(std::string("\"") + n + "\" must be a number");
        out = j[n].get<double>();
        return {};
    };
    for (auto r :
         {u32("pmin", a.pmin), u32("pmax", a.pmax), u32("epmin", a.epmin), u32("epmax", a.epmax),
          u32("hqmax", a.hqmax), num("gt", a.gt), num("lt", a.lt), num("st", a.st)})
        if (!r) return tl::unexpected(r.error());
    auto edge = opt_bool(j, "edge");
    if (!edge) return tl::unexpected(edge.error());
    a.edge = *edge;
    auto con = opt_bool(j, "con");
    if (!con) return tl::unexpected(con.error());
    a.con = *con;
    if (j.contains("clear")) {
        if (!j["clear"].is_array()) return bad("\"clear\" must be an array of attribute names");
        static constexpr std::array<std::string_view, 10> known = {
            "pmin", "pmax", "gt", "lt", "st", "epmin", "epmax", "edge", "con", "hqmax"};
        for (const auto& n : j["clear"]) {
            if (!n.is_string() ||
                std::find(known.begin(), known.end(), n.get<std::string>()) == known.end())
                return bad("\"clear\" holds an unknown attribute name");
            if (j.contains(n.get<std::string>()))
                return bad("attribute \"" + n.get<std::string>() + "\" is both set and cleared");
            a.clear.push_back(n.get<std::string>());
        }
    }
    // TS 1.1 §5.1.2: pmin <= pmax, epmin <= epmax, lt < gt, lt + 2*st < gt, st >= 0.
    if (a.pmin && a.pmax && *a.pmin > *a.pmax) return bad("pmin must not exceed pmax");
    if (a.epmin && a.epmax && *a.epmin > *a.epmax) return bad("epmin must not exceed epmax");
    if (a.st && *a.st < 0) return bad("st must not be negative");
    if (a.lt && a.gt && !(*a.lt < *a.gt)) return bad("lt must be below gt");
    if (a.lt && a.gt && a.st && !(*a.lt + 2 * *a.st < *a.gt))
        return bad("lt + 2*st must be below gt");
    if (j.empty()) return bad("no attribute given");
    return a;
}

Expected<std::vector<dm::Path>> paths_of(const json& j) {
    if (auto o = only(j, {"paths"}, "body"); !o) return tl::unexpected(o.error());
    if (!j.contains("paths") || !j["paths"].is_array() || j["paths"].empty())
        return bad("\"paths\" must be a non-empty array of LwM2M paths");
    std::vector<dm::Path> out;
    for (const auto& p : j["paths"]) {
        if (!p.is_string()) return bad("\"paths\" must hold strings");
        auto parsed = dm::Path::parse(p.get<std::string>());
        if (!parsed) return bad("\"" + p.get<std::string>() + "\" is not an LwM2M path");
        if (std::find(out.begin(), out.end(), *parsed) != out.end())
            return bad("path " + parsed->to_string() + " given twice");
        out.push_back(*parsed);
    }
    return out;
}

json page_json(json items, std::size_t total, const PageQuery& q) {
    return {
        {"items", std::move(items)}, {"total", total}, {"offset", q.offset}, {"limit", q.limit}};
}

json links_json(const std::vector<ObjectLink>& links, const dm::ObjectRegistry* models) {
    json arr = json::array();
    for (const auto& l : links) {
        json a = json::object();
        for (const auto& [k, v] : l.attributes)
            a[k] = v;
        json e = {{"path", l.path.to_string()}, {"attributes", std::move(a)}};
        if (models) {
            if (const auto* d = l.path.is_root() ? nullptr : models->find(l.path.oid().v))
                e["model"] = {{"id", d->id}, {"name", d->name}, {"version", d->object_version}};
            else
                e["model"] = nullptr;
        }
        arr.push_back(std::move(e));
    }
    return arr;
}

} // namespace

std::string_view to_string(Operation op) noexcept {
    static constexpr std::array<std::string_view, 14> n = {"read",
                                                           "discover",
                                                           "write_replace",
                                                           "write_partial",
                                                           "execute",
                                                           "create",
                                                           "delete",
                                                           "write_attributes",
                                                           "observe",
                                                           "cancel_observe",
                                                           "read_composite",
                                                           "write_composite",
                                                           "observe_composite",
                                                           "cancel_observe_composite"};
    auto i = static_cast<std::size_t>(op);
    return i < n.size() ? n[i] : "unknown";
}

std::optional<format::ContentFormat> format_from_name(std::string_view name) noexcept {
    using F = format::ContentFormat;
    if (name == "tlv") return F::lwm2m_tlv;
    if (name == "senml-json") return F::senml_json;
    if (name == "senml-cbor") return F::senml_cbor;
    if (name == "lwm2m-json") return F::lwm2m_json;
    if (name == "lwm2m-cbor") return F::lwm2m_cbor;
    if (name == "text") return F::text_plain;
    if (name == "opaque") return F::octet_stream;
    if (name == "link") return F::link_format;
    return std::nullopt;
}

std::string_view format_name(format::ContentFormat f) noexcept {
    using F = format::ContentFormat;
    switch (f) {
    case F::lwm2m_tlv:
        return "tlv";
    case F::senml_json:
        return "senml-json";
    case F::senml_cbor:
        return "senml-cbor";
    case F::lwm2m_json:
        return "lwm2m-json";
    case F::lwm2m_cbor:
        return "lwm2m-cbor";
    case F::text_plain:
        return "text";
    case F::octet_stream:
        return "opaque";
    case F::link_format:
        return "link";
    }
    return "unknown";
}

json to_json(const ClientInfo& c) {
    json j = {{"endpoint", c.endpoint},
              {"registration_id", c.registration_id},
              {"lwm2m_version", c.lwm2m_version},
              {"binding", c.binding},
              {"lifetime", c.lifetime},
              {"address", c.address},
              {"security_mode", std::string(store::to_string(c.security_mode))},
              {"queue_mode", c.queue_mode},
              {"sleeping", c.sleeping},
              {"registered_at", c.registered_at},
              {"last_update", c.last_update},
              {"root_path", c.root_path},
              {"objects", links_json(c.objects, nullptr)}};
    if (c.sms_number) j["sms_number"] = *c.sms_number;
    if (c.node) j["node"] = *c.node;
    return j;
}

json to_json(const NodeInfo& n) {
    return {{"id", n.id},
            {"alive", n.alive},
            {"self", n.self},
            {"last_seen", n.last_seen},
            {"registrations", n.registrations}};
}

json to_json(const store::EventRecord& e) {
    return {{"seq", e.seq},
            {"time", e.time},
            {"endpoint", e.endpoint},
            {"kind", e.kind},
            {"detail", e.detail}};
}

json to_json(const store::SecurityInfo& s) {
    json j = {{"endpoint", s.endpoint}, {"mode", std::string(store::to_string(s.mode))}};
    switch (s.mode) {
    case store::SecurityMode::psk:
        put_identity(j, s.psk_identity);
        j["psk_key"] = s.psk_key.empty() ? "<unset>" : "<set>";
        break;
    case store::SecurityMode::rpk:
        j["rpk_public_key_hex"] = to_hex(s.rpk_public_key);
        break;
    case store::SecurityMode::x509:
        j["x509_common_name"] = s.x509_common_name;
        break;
    case store::SecurityMode::nosec:
        break;
    }
    return j;
}

json to_json(const BootstrapConfig& c) {
    json del = json::array();
    for (const auto& p : c.delete_paths.value_or(std::vector<dm::Path>{}))
        del.push_back(p.to_string());
    json sec = json::array();
    for (const auto& s : c.security) {
        json e = {{"uri", s.uri},
                  {"bootstrap_server", s.bootstrap_server},
                  {"mode", std::string(store::to_string(s.mode))}};
        if (s.instance_id) e["instance_id"] = *s.instance_id;
        put_identity(e, s.psk_identity);
        if (!s.psk_key.empty()) e["psk_key"] = "<set>";
        if (!s.public_key.empty()) e["public_key_hex"] = to_hex(s.public_key);
        if (!s.private_key.empty()) e["private_key"] = "<set>";
        if (!s.server_public_key.empty()) e["server_public_key_hex"] = to_hex(s.server_public_key);
        if (s.short_server_id) e["short_server_id"] = *s.short_server_id;
        if (s.client_hold_off) e["client_hold_off"] = *s.client_hold_off;
        if (s.generate)
            e["generate"] = {{"psk_key_bytes", s.generate->psk_key_bytes},
                             {"psk_identity_bytes", s.generate->psk_identity_bytes}};
        sec.push_back(std::move(e));
    }
    json srv = json::array();
    for (const auto& s : c.servers) {
        json e = {{"short_server_id", s.short_server_id},
                  {"lifetime", s.lifetime},
                  {"binding", s.binding},
                  {"notification_storing", s.notification_storing}};
        if (s.instance_id) e["instance_id"] = *s.instance_id;
        if (s.default_min_period) e["default_min_period"] = *s.default_min_period;
        if (s.default_max_period) e["default_max_period"] = *s.default_max_period;
        if (s.disable_timeout) e["disable_timeout"] = *s.disable_timeout;
        srv.push_back(std::move(e));
    }
    json acls = json::array();
    for (const auto& a : c.acls) {
        json m = json::object();
        for (const auto& [ssid, rights] : a.acl)
            m[std::to_string(ssid)] = rights;
        json e = {{"object_id", a.object_id},
                  {"object_instance_id", a.object_instance_id},
                  {"acl", std::move(m)},
                  {"owner", a.owner}};
        if (a.instance_id) e["instance_id"] = *a.instance_id;
        acls.push_back(std::move(e));
    }
    json j = {{"endpoint", c.endpoint},
              {"delete", std::move(del)},
              {"security", std::move(sec)},
              {"servers", std::move(srv)},
              {"acls", std::move(acls)}};
    if (c.format) j["format"] = format_name(*c.format);
    return j;
}

json to_json(const BootstrapStatus& s) {
    json j = {{"state", s.state}};
    if (s.started_at) j["started_at"] = *s.started_at;
    if (s.finished_at) j["finished_at"] = *s.finished_at;
    if (!s.detail.empty()) j["detail"] = s.detail;
    return j;
}

json to_json(const DeviceResponse& r) {
    json j = {{"code", coap_code(r.code)},
              {"success", (r.code >> 5) == 2},
              {"rtt_ms", static_cast<double>(r.rtt.count()) / 1000.0}};
    if (r.format) j["format"] = format_name(*r.format);
    if (r.content) j["content"] = content_to_json(*r.content);
    if (!r.records.empty()) j["records"] = records_to_json(r.records);
    if (!r.links.empty()) {
        j["links_text"] = r.links;
        if (auto links = format::parse_links(r.links)) {
            json arr = json::array();
            for (const auto& l : *links) {
                json a = json::object();
                for (const auto& at : l.attrs)
                    a[at.name] = at.value ? json(*at.value) : json(nullptr);
                arr.push_back({{"target", l.target}, {"attributes", std::move(a)}});
            }
            j["links"] = std::move(arr);
        }
    }
    if (!r.location.empty()) j["location"] = r.location;
    if (!r.diagnostic.empty()) j["diagnostic"] = r.diagnostic;
    return j;
}

json to_json(const dm::ObjectDef& d, bool with_resources) {
    json j = {{"id", d.id},
              {"name", d.name.str()},
              {"urn", d.urn.str()},
              {"version", d.object_version.str()},
              {"lwm2m_version", d.lwm2m_version.str()},
              {"multiple", d.multiple},
              {"mandatory", d.mandatory}};
    if (!with_resources) {
        j["resource_count"] = d.resources.size();
        return j;
    }
    json res = json::array();
    for (const auto& r : d.resources)
        res.push_back({{"id", r.id},
                       {"name", r.name.str()},
                       {"operations", ops_name(r.operations)},
                       {"multiple", r.multiple},
                       {"mandatory", r.mandatory},
                       {"type", json_type_name(r.type)},
                       {"range", r.range_enumeration.str()},
                       {"units", r.units.str()},
                       {"description", r.description.str()}});
    j["resources"] = std::move(res);
    return j;
}

Expected<store::SecurityInfo> security_from_json(const json& j, const std::string& path_ep) {
    if (auto o = only(j,
                      {"endpoint", "mode", "psk_identity", "psk_identity_hex", "psk_key_hex",
                       "rpk_public_key_hex", "x509_common_name"},
                      "security");
        !o)
        return tl::unexpected(o.error());
    store::SecurityInfo s;
    auto ep = opt_string(j, "endpoint");
    if (!ep) return tl::unexpected(ep.error());
    if (*ep && !path_ep.empty() && **ep != path_ep)
        return bad("\"endpoint\" differs from the endpoint in the path");
    s.endpoint = *ep ? **ep : path_ep;
    auto mode = opt_string(j, "mode");
    if (!mode) return tl::unexpected(mode.error());
    if (!*mode) return bad("\"mode\" is required (psk, rpk, x509, nosec)");
    auto m = store::security_mode_from_string(**mode);
    // nosec: the endpoint may register over plain CoAP (NoSecPolicy::listed).
    if (!m) return bad("\"mode\" must be psk, rpk, x509 or nosec");
    s.mode = *m;
    auto id = identity_of(j);
    if (!id) return tl::unexpected(id.error());
    if (*id) s.psk_identity = std::move(**id);
    if (j.contains("psk_key_hex")) {
        auto k = secret_hex(j, "psk_key_hex");
        if (!k) return tl::unexpected(k.error());
        s.psk_key = std::move(*k);
    }
    if (j.contains("rpk_public_key_hex")) {
        auto k = bytes_hex(j, "rpk_public_key_hex");
        if (!k) return tl::unexpected(k.error());
        s.rpk_public_key = std::move(*k);
    }
    auto cn = opt_string(j, "x509_common_name");
    if (!cn) return tl::unexpected(cn.error());
    if (*cn) s.x509_common_name = **cn;
    if (s.mode == store::SecurityMode::nosec &&
        (!s.psk_identity.empty() || !s.psk_key.empty() || !s.rpk_public_key.empty() ||
         !s.x509_common_name.empty()))
        return bad("mode nosec takes no credentials");
    std::string why;
    if (!store::validate(s, &why)) return bad("invalid credentials: " + why);
    return s;
}

Expected<BootstrapConfig> bootstrap_from_json(const json& j, const std::string& path_ep) {
    if (auto o = only(j, {"endpoint", "delete", "security", "servers", "acls", "format"},
                      "bootstrap configuration");
        !o)
        return tl::unexpected(o.error());
    BootstrapConfig c;
    auto ep = opt_string(j, "endpoint");
    if (!ep) return tl::unexpected(ep.error());
    if (*ep && !path_ep.empty() && **ep != path_ep)
        return bad("\"endpoint\" differs from the endpoint in the path");
    c.endpoint = *ep ? **ep : path_ep;
    if (c.endpoint.empty() || c.endpoint.size() > store::max_endpoint_name_size)
        return bad("\"endpoint\" must have 1 to 255 bytes");
    if (auto f = opt_string(j, "format"); !f) {
        return tl::unexpected(f.error());
    } else if (*f) {
        auto cf = format_from_name(**f);
        using F = format::ContentFormat;
        if (!cf || (*cf != F::lwm2m_tlv && *cf != F::senml_json && *cf != F::senml_cbor &&
                    *cf != F::lwm2m_cbor))
            return bad("\"format\" must be tlv, senml-json, senml-cbor or lwm2m-cbor");
        c.format = cf;
    }
    if (j.contains("delete")) {
        if (!j["delete"].is_array()) return bad("\"delete\" must be an array of paths");
        c.delete_paths.emplace();
        for (const auto& p : j["delete"]) {
            if (!p.is_string()) return bad("\"delete\" must hold strings");
            auto parsed = dm::Path::parse(p.get<std::string>());
            if (!parsed || parsed->depth() > 2)
                return bad(R"("delete": ")" + p.get<std::string>() +
                           R"(" is not "/", an object or an instance path)");
            c.delete_paths->push_back(*parsed);
        }
    }
    auto array_of = [&](const char* name) -> Expected<json> {
        if (!j.contains(name)) return json::array();
        if (!j[name].is_array()) return bad(std::string("\"") + name + "\" must be an array");
        return j[name];
    };
    auto sec = array_of("security");
    if (!sec) return tl::unexpected(sec.error());
    std::set<std::uint16_t> sec_iids, srv_iids, acl_iids, ssids;
    auto iid_of = [](const json& e, std::set<std::uint16_t>& seen,
                     const char* what) -> Expected<std::optional<std::uint16_t>> {
        auto v = opt_uint<std::uint16_t>(e, "instance_id", 65534);
        if (!v) return tl::unexpected(v.error());
        if (*v && !seen.insert(**v).second)
            return bad(std::string(what) + ": instance_id " + std::to_string(**v) + " twice");
        return *v;
    };
    for (const auto& e : *sec) {
        if (auto o =
                only(e,
                     {"instance_id", "uri", "bootstrap_server", "mode", "psk_identity",
                      "psk_identity_hex", "psk_key_hex", "public_key_hex", "private_key_hex",
                      "server_public_key_hex", "short_server_id", "client_hold_off", "generate"},
                     "security instance");
            !o)
            return tl::unexpected(o.error());
        BootstrapSecurity s;
        auto iid = iid_of(e, sec_iids, "security");
        if (!iid) return tl::unexpected(iid.error());
        s.instance_id = *iid;
        auto uri = opt_string(e, "uri");
        if (!uri) return tl::unexpected(uri.error());
        if (!*uri || (*uri)->empty()) return bad("security instance: \"uri\" is required");
        s.uri = **uri;
        bool secure = s.uri.rfind("coaps://", 0) == 0 || s.uri.rfind("coaps+tcp://", 0) == 0;
        bool plain = s.uri.rfind("coap://", 0) == 0 || s.uri.rfind("coap+tcp://", 0) == 0;
        if (!secure && !plain)
            return bad("security instance: \"uri\" must be a coap:// or coaps:// URI");
        auto bs = opt_bool(e, "bootstrap_server");
        if (!bs) return tl::unexpected(bs.error());
        s.bootstrap_server = bs->value_or(false);
        auto mode = opt_string(e, "mode");
        if (!mode) return tl::unexpected(mode.error());
        auto m = store::security_mode_from_string(mode->value_or(secure ? "" : "nosec"));
        if (!m) return bad("security instance: \"mode\" must be psk, rpk, x509 or nosec");
        s.mode = *m;
        if (secure == (s.mode == store::SecurityMode::nosec))
            return bad("security instance: coaps:// needs mode psk, rpk or x509; coap:// needs "
                       "nosec");
        auto id = identity_of(e);
        if (!id) return tl::unexpected(id.error());
        if (*id) s.psk_identity = std::move(**id);
        if (e.contains("psk_key_hex")) {
            auto k = secret_hex(e, "psk_key_hex");
            if (!k) return tl::unexpected(k.error());
            s.psk_key = std::move(*k);
        }
        if (e.contains("private_key_hex")) {
            auto k = secret_hex(e, "private_key_hex");
            if (!k) return tl::unexpected(k.error());
            s.private_key = std::move(*k);
        }
        for (auto [name, dst] : {std::pair{"public_key_hex", &s.public_key},
                                 std::pair{"server_public_key_hex", &s.server_public_key}}) {
            if (!e.contains(name)) continue;
            auto b = bytes_hex(e, name);
            if (!b) return tl::unexpected(b.error());
            *dst = std::move(*b);
        }
        if (e.contains("generate")) {
            const json& g = e["generate"];
            if (auto o = only(g, {"psk_key_bytes", "psk_identity_bytes"}, "generate"); !o)
                return tl::unexpected(o.error());
            auto n = opt_uint<std::size_t>(g, "psk_key_bytes", store::max_psk_key_size, 16);
            if (!n) return tl::unexpected(n.error());
            auto idn = opt_uint<std::size_t>(g, "psk_identity_bytes", 128, 16);
            if (!idn) return tl::unexpected(idn.error());
            s.generate = BootstrapSecurity::Generate{n->value_or(16), idn->value_or(32)};
            if (s.psk_identity.size() + 16 > s.generate->psk_identity_bytes)
                return bad("security instance: generate.psk_identity_bytes must leave at least "
                           "16 random characters after the given psk_identity");
        }
        auto ssid = opt_uint<std::uint16_t>(e, "short_server_id", 65534, 1);
        if (!ssid) return tl::unexpected(ssid.error());
        s.short_server_id = *ssid;
        auto hold = opt_uint<std::uint32_t>(e, "client_hold_off");
        if (!hold) return tl::unexpected(hold.error());
        s.client_hold_off = *hold;
        // Mode rules (TS 1.1 §E.1, Resources 2-5).
        const bool has_psk = !s.psk_key.empty(), has_id = !s.psk_identity.empty();
        const bool has_pki = !s.public_key.empty() || !s.private_key.empty();
        switch (s.mode) {
        case store::SecurityMode::psk:
            if (has_pki) return bad("security instance: psk mode takes no public/private keys");
            if (s.generate && has_psk)
                return bad("security instance: give psk_key_hex or generate, not both");
            if (!s.generate && (!has_psk || !has_id))
                return bad("security instance: psk mode needs psk_identity and psk_key_hex (or "
                           "generate)");
            if (s.psk_identity.size() > store::max_psk_identity_size)
                return bad("security instance: psk identity longer than 1024 bytes");
            if (s.psk_key.size() > store::max_psk_key_size)
                return bad("security instance: psk key longer than 64 bytes");
            break;
        case store::SecurityMode::rpk:
        case store::SecurityMode::x509:
            if (has_psk || has_id || s.generate)
                return bad("security instance: rpk/x509 modes take no psk fields");
            if (s.public_key.empty() || s.private_key.empty())
                return bad("security instance: rpk/x509 modes need public_key_hex and "
                           "private_key_hex");
            break;
        case store::SecurityMode::nosec:
            if (has_psk || has_id || has_pki || s.generate || !s.server_public_key.empty())
                return bad("security instance: nosec takes no credentials");
            break;
        }
        if (!s.bootstrap_server && !s.short_server_id)
            return bad("security instance: a non-bootstrap server needs short_server_id");
        c.security.push_back(std::move(s));
    }
    auto srv = array_of("servers");
    if (!srv) return tl::unexpected(srv.error());
    for (const auto& e : *srv) {
        if (auto o =
                only(e,
                     {"instance_id", "short_server_id", "lifetime", "binding", "default_min_period",
                      "default_max_period", "disable_timeout", "notification_storing"},
                     "server instance");
            !o)
            return tl::unexpected(o.error());
        BootstrapServer s;
        auto iid = iid_of(e, srv_iids, "servers");
        if (!iid) return tl::unexpected(iid.error());
        s.instance_id = *iid;
        auto ssid = opt_uint<std::uint16_t>(e, "short_server_id", 65534, 1);
        if (!ssid) return tl::unexpected(ssid.error());
        if (!*ssid) return bad("server instance: \"short_server_id\" is required");
        s.short_server_id = **ssid;
        if (!ssids.insert(s.short_server_id).second)
            return bad("servers: short_server_id " + std::to_string(s.short_server_id) + " twice");
        auto lt = opt_uint<std::uint32_t>(e, "lifetime", UINT32_MAX, 1);
        if (!lt) return tl::unexpected(lt.error());
        s.lifetime = lt->value_or(86400);
        auto b = opt_string(e, "binding");
        if (!b) return tl::unexpected(b.error());
        if (*b) {
            s.binding = **b;
            if (s.binding.empty() || s.binding.find_first_not_of("UTSNQ") != std::string::npos)
                return bad("server instance: \"binding\" must be letters of U, T, S, N, Q");
        }
        for (auto [name, dst] : {std::pair{"default_min_period", &s.default_min_period},
                                 std::pair{"default_max_period", &s.default_max_period},
                                 std::pair{"disable_timeout", &s.disable_timeout}}) {
            auto v = opt_uint<std::uint32_t>(e, name);
            if (!v) return tl::unexpected(v.error());
            *dst = *v;
        }
        auto ns = opt_bool(e, "notification_storing");
        if (!ns) return tl::unexpected(ns.error());
        s.notification_storing = ns->value_or(true);
        c.servers.push_back(std::move(s));
    }
    for (const auto& s : c.security)
        if (!s.bootstrap_server && s.short_server_id && !ssids.count(*s.short_server_id))
            return bad("security instance for short_server_id " +
                       std::to_string(*s.short_server_id) + " has no server instance");
    auto acls = array_of("acls");
    if (!acls) return tl::unexpected(acls.error());
    for (const auto& e : *acls) {
        if (auto o = only(e, {"instance_id", "object_id", "object_instance_id", "acl", "owner"},
                          "acl instance");
            !o)
            return tl::unexpected(o.error());
        BootstrapAcl a;
        auto iid = iid_of(e, acl_iids, "acls");
        if (!iid) return tl::unexpected(iid.error());
        a.instance_id = *iid;
        auto oid = opt_uint<std::uint16_t>(e, "object_id", 65534);
        auto oiid = opt_uint<std::uint16_t>(e, "object_instance_id", 65535);
        auto owner = opt_uint<std::uint16_t>(e, "owner", 65535);
        if (!oid) return tl::unexpected(oid.error());
        if (!oiid) return tl::unexpected(oiid.error());
        if (!owner) return tl::unexpected(owner.error());
        if (!*oid || !*oiid || !*owner)
            return bad("acl instance: object_id, object_instance_id and owner are required");
        a.object_id = **oid;
        a.object_instance_id = **oiid;
        a.owner = **owner;
        if (e.contains("acl")) {
            if (!e["acl"].is_object()) return bad("acl instance: \"acl\" must map ssids to rights");
            for (auto it = e["acl"].begin(); it != e["acl"].end(); ++it) {
                auto ssid = parse_uint(it.key());
                const json& r = it.value();
                if (!ssid || *ssid > 65535)
                    return bad("acl instance: \"" + it.key() + "\" is not a short server id");
                if (!r.is_number_integer() || r.get<std::int64_t>() < 0 ||
                    r.get<std::int64_t>() > 31)
                    return bad("acl instance: rights must be an integer from 0 to 31");
                a.acl.emplace_back(static_cast<std::uint16_t>(*ssid),
                                   static_cast<std::uint8_t>(r.get<std::int64_t>()));
            }
        }
        c.acls.push_back(std::move(a));
    }
    return c;
}

namespace {

/// Shared state of the routes.
struct Api {
    Backend* backend;
    std::shared_ptr<EventHub> events;
    ApiOptions options;

    template <class T, class F>
    [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] [[nodiscard]] Completion<
        T>
    done(Reply r, F convert) const {
        return Completion<T>(std::move(r), std::function<Response(T&)>(std::move(convert)));
    }
    [[nodiscard]] Completion<Done> no_content(Reply r) const {
        return done<Done>(std::move(r), [](Done&) { return Response::no_content(); });
    }
    void backend_call(Request& req) const { req.answer_within = options.backend_timeout; }

    /// Runs a device operation with the common parameters (format, timeout).
    void device(Request& req, Reply reply, DeviceRequest d) const {
        auto t = timeout_of(req, options);
        if (!t) {
            reply.fail(t.error());
            return;
        }
        auto f = format_of(req);
        if (!f) {
            reply.fail(f.error());
            return;
        }
        d.endpoint = req.param("ep");
        d.timeout = *t;
        d.format = *f;
        req.answer_within = *t + options.answer_margin;
        backend->device(std::move(d), done<DeviceResponse>(std::move(reply), [](DeviceResponse& r) {
                            return Response::json(200, to_json(r));
                        }));
    }
};

template <class T>
bool failed(const Expected<T>& e, const Reply& reply) {
    if (e) return false;
    reply.fail(e.error());
    return true;
}

} // namespace

void register_api(Router& router, Backend& backend, std::shared_ptr<EventHub> events,
                  ApiOptions options) {
    auto api = std::make_shared<const Api>(Api{&backend, std::move(events), std::move(options)});

    // ---- service ----------------------------------------------------------------------------
    router.add(
        "GET", "/api/health",
        [](Request&, const Reply& reply) {
            reply.json(200, {{"status", "ok"}});
        },
        true);
    router.add("GET", "/api/stats", [api](Request& req, Reply reply) {
        api->backend_call(req);
        api->backend->stats(api->done<StatsReport>(std::move(reply), [](StatsReport& r) {
            auto counters = [](const auto& list) {
                json o = json::object();
                for (const auto& [name, value] : list)
                    o[name] = value;
                return o;
            };
            json latency = json::object();
            for (const auto& [name, h] : r.latency) {
                auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000.0; };
                json buckets = json::array();
                for (const auto& [upper, n] : h.buckets())
                    buckets.push_back(json::array({upper, n}));
                latency[name] = {{"count", h.count()},
                                 {"p50_ms", ms(h.quantile_us(0.50))},
                                 {"p90_ms", ms(h.quantile_us(0.90))},
                                 {"p99_ms", ms(h.quantile_us(0.99))},
                                 {"max_ms", ms(h.max_us())},
                                 {"buckets_us", std::move(buckets)}};
            }
            return Response::json(200, {{"dm", counters(r.dm)},
                                        {"bootstrap", counters(r.bootstrap)},
                                        {"dtls", counters(r.dtls)},
                                        {"latency", std::move(latency)}});
        }));
    });
    router.add("GET", "/api/version", [api](Request&, const Reply& reply) {
        const auto& i = api->options.info;
        reply.json(200, {{"product", i.product},
                         {"version", i.version},
                         {"api_version", "1"},
                         {"lwm2m_versions", i.lwm2m_versions}});
    });

    // ---- clients ----------------------------------------------------------------------------
    router.add("GET", "/api/clients", [api](Request& req, Reply reply) {
        auto page = page_of(req, api->options.max_page);
        if (failed(page, reply)) return;
        ClientQuery q;
        q.page = *page;
        if (auto v = req.query_param("ep")) q.endpoint_contains = *v;
        if (auto v = req.query_param("ep_prefix")) q.endpoint_prefix = *v;
        if (auto v = req.query_param("binding")) {
            if (v->empty() || v->find_first_not_of("UTSNQ") != std::string_view::npos) {
                reply.fail(ApiError::bad_request("binding must be letters of U, T, S, N, Q"));
                return;
            }
            q.binding = std::string(*v);
        }
        if (auto v = req.query_param("security")) {
            auto m = store::security_mode_from_string(*v);
            if (!m) {
                reply.fail(ApiError::bad_request("security must be psk, rpk, x509 or nosec"));
                return;
            }
            q.security_mode = *m;
        }
        api->backend_call(req);
        api->backend->list_clients(
            q, api->done<ClientPage>(std::move(reply), [p = *page](ClientPage& r) {
                json items = json::array();
                for (const auto& c : r.items)
                    items.push_back(to_json(c));
                auto body = page_json(std::move(items), r.total, p);
                if (r.partial) {
                    body["partial"] = true;
                    body["missing_nodes"] = r.missing_nodes;
                }
                return Response::json(200, std::move(body));
            }));
    });
    router.add("GET", "/api/clients/{ep}", [api](Request& req, Reply reply) {
        api->backend_call(req);
        api->backend->get_client(req.param("ep"),
                                 api->done<ClientInfo>(std::move(reply), [](ClientInfo& c) {
                                     return Response::json(200, to_json(c));
                                 }));
    });
    router.add("DELETE", "/api/clients/{ep}", [api](Request& req, Reply reply) {
        api->backend_call(req);
        api->backend->delete_client(req.param("ep"), api->no_content(std::move(reply)));
    });
    router.add("GET", "/api/clients/{ep}/objects", [api](Request& req, Reply reply) {
        api->backend_call(req);
        auto models = api->backend->models();
        api->backend->get_client(
            req.param("ep"), api->done<ClientInfo>(std::move(reply), [models](ClientInfo& c) {
                return Response::json(200, {{"endpoint", c.endpoint},
                                            {"root_path", c.root_path},
                                            {"objects", links_json(c.objects, models.get())}});
            }));
    });

    // ---- operations on a client ---------------------------------------------------------------
    auto single = [api](Operation op, bool allow_root = false) {
        return [api, op, allow_root](Request& req, Reply reply) {
            auto p = path_of(req.param("path"), allow_root);
            if (failed(p, reply)) return;
            DeviceRequest d;
            d.op = op;
            d.paths.push_back(*p);
            api->device(req, std::move(reply), std::move(d));
        };
    };
    router.add("GET", "/api/clients/{ep}/read/{path...}", single(Operation::read));
    router.add("GET", "/api/clients/{ep}/discover/{path...}", single(Operation::discover));
    router.add("POST", "/api/clients/{ep}/observe/{path...}", single(Operation::observe));
    router.add("DELETE", "/api/clients/{ep}/observe/{path...}", [api](Request& req, Reply reply) {
        auto p = path_of(req.param("path"));
        if (failed(p, reply)) return;
        DeviceRequest d;
        d.op = Operation::cancel_observe;
        d.paths.push_back(*p);
        auto mode = req.query_param("mode").value_or("passive");
        if (mode != "passive" && mode != "active") {
            reply.fail(ApiError::bad_request("mode must be passive or active"));
            return;
        }
        d.active_cancel = mode == "active";
        api->device(req, std::move(reply), std::move(d));
    });
    auto write = [api](Operation op) {
        return [api, op](Request& req, Reply reply) {
            auto p = path_of(req.param("path"));
            if (failed(p, reply)) return;
            if (!p->has_instance() && op == Operation::write_partial) {
                reply.fail(ApiError::bad_request("a partial update targets an instance or below"));
                return;
            }
            auto body = json_body(req);
            if (failed(body, reply)) return;
            auto models = api->backend->models();
            std::string why;
            auto content = content_from_json(*body, *p, models.get(), &why);
            if (!content) {
                reply.fail(ApiError::bad_request(why));
                return;
            }
            DeviceRequest d;
            d.op = op;
            d.paths.push_back(*p);
            d.content = std::move(*content);
            api->device(req, std::move(reply), std::move(d));
        };
    };
    router.add("PUT", "/api/clients/{ep}/write/{path...}", write(Operation::write_replace));
    router.add("PATCH", "/api/clients/{ep}/write/{path...}", write(Operation::write_partial));
    router.add("POST", "/api/clients/{ep}/execute/{path...}", [api](Request& req, Reply reply) {
        auto p = path_of(req.param("path"));
        if (failed(p, reply)) return;
        if (p->depth() != 3) {
            reply.fail(ApiError::bad_request("execute targets a resource (/oid/iid/rid)"));
            return;
        }
        DeviceRequest d;
        d.op = Operation::execute;
        d.paths.push_back(*p);
        if (!req.body.empty()) {
            auto body = json_body(req);
            if (failed(body, reply)) return;
            auto o = only(*body, {"args"}, "body");
            if (failed(o, reply)) return;
            auto args = opt_string(*body, "args");
            if (failed(args, reply)) return;
            if (*args) {
                if (!valid_execute_args(**args)) {
                    reply.fail(ApiError::bad_request(
                        "args must follow TS 1.1 §5.4.5: 0='text',1 (digits, quoted values)"));
                    return;
                }
                d.execute_arguments = **args;
            }
        }
        api->device(req, std::move(reply), std::move(d));
    });
    router.add("POST", "/api/clients/{ep}/create/{path...}", [api](Request& req, Reply reply) {
        auto p = path_of(req.param("path"));
        if (failed(p, reply)) return;
        if (p->depth() != 1) {
            reply.fail(ApiError::bad_request("create targets an object (/oid)"));
            return;
        }
        auto body = json_body(req);
        if (failed(body, reply)) return;
        auto models = api->backend->models();
        std::string why;
        bool id_given = false;
        auto content = content_from_json(*body, *p, models.get(), &why, true, &id_given);
        if (!content) {
            reply.fail(ApiError::bad_request(why));
            return;
        }
        DeviceRequest d;
        d.op = Operation::create;
        d.paths.push_back(*p);
        d.content = std::move(*content);
        d.instance_id_given = id_given;
        api->device(req, std::move(reply), std::move(d));
    });
    router.add("DELETE", "/api/clients/{ep}/delete/{path...}", [api](Request& req, Reply reply) {
        auto p = path_of(req.param("path"));
        if (failed(p, reply)) return;
        if (p->depth() != 2 && p->depth() != 4) {
            reply.fail(ApiError::bad_request(
                "delete targets an object instance (or, LwM2M 1.2, a resource instance)"));
            return;
        }
        DeviceRequest d;
        d.op = Operation::delete_;
        d.paths.push_back(*p);
        api->device(req, std::move(reply), std::move(d));
    });
    router.add("PUT", "/api/clients/{ep}/attributes/{path...}", [api](Request& req, Reply reply) {
        auto p = path_of(req.param("path"));
        if (failed(p, reply)) return;
        auto body = json_body(req);
        if (failed(body, reply)) return;
        auto a = attributes_of(*body);
        if (failed(a, reply)) return;
        DeviceRequest d;
        d.op = Operation::write_attributes;
        d.paths.push_back(*p);
        d.attributes = std::move(*a);
        api->device(req, std::move(reply), std::move(d));
    });
    auto composite = [api](Operation op) {
        return [api, op](Request& req, Reply reply) {
            auto body = json_body(req);
            if (failed(body, reply)) return;
            DeviceRequest d;
            d.op = op;
            if (op == Operation::write_composite) {
                auto o = only(*body, {"records"}, "body");
                if (failed(o, reply)) return;
                if (!body->contains("records")) {
                    reply.fail(ApiError::bad_request("\"records\" is required"));
                    return;
                }
                auto models = api->backend->models();
                std::string why;
                auto recs = records_from_json((*body)["records"], models.get(), &why);
                if (!recs) {
                    reply.fail(ApiError::bad_request(why));
                    return;
                }
                if (recs->empty()) {
                    reply.fail(ApiError::bad_request("\"records\" is empty"));
                    return;
                }
                d.records = std::move(*recs);
                for (const auto& r : d.records)
                    d.paths.push_back(r.path);
            } else {
                auto paths = paths_of(*body);
                if (failed(paths, reply)) return;
                d.paths = std::move(*paths);
            }
            if (op == Operation::cancel_observe_composite) {
                auto mode = req.query_param("mode").value_or("passive");
                if (mode != "passive" && mode != "active") {
                    reply.fail(ApiError::bad_request("mode must be passive or active"));
                    return;
                }
                d.active_cancel = mode == "active";
            }
            api->device(req, std::move(reply), std::move(d));
        };
    };
    router.add("POST", "/api/clients/{ep}/composite/read", composite(Operation::read_composite));
    router.add("POST", "/api/clients/{ep}/composite/write", composite(Operation::write_composite));
    router.add("POST", "/api/clients/{ep}/composite/observe",
               composite(Operation::observe_composite));
    router.add("DELETE", "/api/clients/{ep}/composite/observe",
               composite(Operation::cancel_observe_composite));

    // ---- security credentials -----------------------------------------------------------------
    router.add("GET", "/api/security", [api](Request& req, Reply reply) {
        auto page = page_of(req, api->options.max_page);
        if (failed(page, reply)) return;
        api->backend_call(req);
        api->backend->list_security(
            *page, api->done<SecurityPage>(std::move(reply), [p = *page](SecurityPage& r) {
                json items = json::array();
                for (const auto& s : r.items)
                    items.push_back(to_json(s));
                return Response::json(200, page_json(std::move(items), r.total, p));
            }));
    });
    auto put_security = [api](PutMode mode) {
        return [api, mode](Request& req, Reply reply) {
            auto body = json_body(req);
            if (failed(body, reply)) return;
            auto info = security_from_json(*body, req.param("ep"));
            if (failed(info, reply)) return;
            api->backend_call(req);
            std::string ep = info->endpoint;
            api->backend->put_security(
                std::move(*info), mode, api->done<Done>(std::move(reply), [mode, ep](Done&) {
                    if (mode == PutMode::replace) return Response::no_content();
                    auto r = Response::json(201, {{"endpoint", ep}});
                    r.headers.emplace_back("Location", "/api/security/" + percent_encode(ep));
                    return r;
                }));
        };
    };
    router.add("POST", "/api/security", put_security(PutMode::create));
    router.add("POST", "/api/security/batch", [api](Request& req, Reply reply) {
        auto body = json_body(req);
        if (failed(body, reply)) return;
        const std::size_t max = api->options.max_page;
        if (auto o = only(*body, {"items", "mode"}, "batch"); !o) {
            reply.fail(o.error());
            return;
        }
        const auto mode = body->value("mode", std::string("create"));
        if (mode != "create" && mode != "upsert") {
            reply.fail(ApiError::bad_request("\"mode\" must be create or upsert"));
            return;
        }
        const auto items = body->find("items");
        if (items == body->end() || !items->is_array() || items->empty() || items->size() > max) {
            reply.fail(ApiError::bad_request("\"items\" must be an array of 1 to " +
                                             std::to_string(max) + " security records"));
            return;
        }
        std::vector<store::SecurityInfo> infos;
        infos.reserve(items->size());
        std::unordered_set<std::string> endpoints;
        for (std::size_t i = 0; i < items->size(); ++i) {
            auto info = security_from_json((*items)[i], "");
            if (info && info->endpoint.empty()) info = bad("\"endpoint\" is required");
            if (info && !endpoints.insert(info->endpoint).second)
                info = bad("endpoint '" + info->endpoint + "' is given twice");
            if (!info) {
                ApiError e = info.error();
                e.message = "items[" + std::to_string(i) + "]: " + e.message;
                reply.fail(e);
                return;
            }
            infos.push_back(std::move(*info));
        }
        api->backend_call(req);
        api->backend->put_security_batch(
            std::move(infos), mode == "upsert",
            api->done<std::size_t>(std::move(reply), [](std::size_t& n) {
                return Response::json(200, {{"stored", n}});
            }));
    });
    router.add("PUT", "/api/security/{ep}", put_security(PutMode::replace));
    router.add("GET", "/api/security/{ep}", [api](Request& req, Reply reply) {
        api->backend_call(req);
        api->backend->get_security(
            req.param("ep"),
            api->done<store::SecurityInfo>(std::move(reply), [](store::SecurityInfo& s) {
                return Response::json(200, to_json(s));
            }));
    });
    router.add("DELETE", "/api/security/{ep}", [api](Request& req, Reply reply) {
        api->backend_call(req);
        api->backend->delete_security(req.param("ep"), api->no_content(std::move(reply)));
    });

    // ---- bootstrap configurations --------------------------------------------------------------
    router.add("GET", "/api/bootstrap", [api](Request& req, Reply reply) {
        auto page = page_of(req, api->options.max_page);
        if (failed(page, reply)) return;
        api->backend_call(req);
        api->backend->list_bootstrap(
            *page, api->done<BootstrapPage>(std::move(reply), [p = *page](BootstrapPage& r) {
                json items = json::array();
                for (const auto& c : r.items)
                    items.push_back(to_json(c));
                return Response::json(200, page_json(std::move(items), r.total, p));
            }));
    });
    auto put_bootstrap = [api](PutMode mode) {
        return [api, mode](Request& req, Reply reply) {
            auto body = json_body(req);
            if (failed(body, reply)) return;
            auto cfg = bootstrap_from_json(*body, req.param("ep"));
            if (failed(cfg, reply)) return;
            api->backend_call(req);
            std::string ep = cfg->endpoint;
            api->backend->put_bootstrap(
                std::move(*cfg), mode, api->done<Done>(std::move(reply), [mode, ep](Done&) {
                    if (mode == PutMode::replace) return Response::no_content();
                    auto r = Response::json(201, {{"endpoint", ep}});
                    r.headers.emplace_back("Location", "/api/bootstrap/" + percent_encode(ep));
                    return r;
                }));
        };
    };
    router.add("POST", "/api/bootstrap", put_bootstrap(PutMode::create));
    router.add("PUT", "/api/bootstrap/{ep}", put_bootstrap(PutMode::replace));
    router.add("GET", "/api/bootstrap/{ep}", [api](Request& req, Reply reply) {
        api->backend_call(req);
        api->backend->get_bootstrap(
            req.param("ep"), api->done<BootstrapConfig>(std::move(reply), [](BootstrapConfig& c) {
                return Response::json(200, to_json(c));
            }));
    });
    router.add("DELETE", "/api/bootstrap/{ep}", [api](Request& req, Reply reply) {
        api->backend_call(req);
        api->backend->delete_bootstrap(req.param("ep"), api->no_content(std::move(reply)));
    });
    router.add("GET", "/api/bootstrap/{ep}/status", [api](Request& req, Reply reply) {
        api->backend_call(req);
        std::string ep = req.param("ep");
        api->backend->bootstrap_status(
            ep, api->done<BootstrapStatus>(std::move(reply), [ep](BootstrapStatus& s) {
                json j = to_json(s);
                j["endpoint"] = ep;
                return Response::json(200, j);
            }));
    });

    // ---- object models --------------------------------------------------------------------------
    router.add("GET", "/api/models", [api](Request&, const Reply& reply) {
        auto models = api->backend->models();
        json items = json::array();
        if (models)
            for (const auto& [id, d] : models->all())
                items.push_back(to_json(*d, false));
        reply.json(200, {{"items", std::move(items)}});
    });
    router.add("GET", "/api/models/{oid}", [api](Request& req, const Reply& reply) {
        auto oid = parse_uint(req.param("oid"));
        if (!oid || *oid > 65534) {
            reply.fail(ApiError::bad_request("the object id must be an integer from 0 to 65534"));
            return;
        }
        auto models = api->backend->models();
        const dm::ObjectDef* d = models ? models->find(static_cast<std::uint16_t>(*oid)) : nullptr;
        if (!d) {
            reply.fail(ApiError{404, "unknown_object", "no model for object " + req.param("oid")});
            return;
        }
        reply.json(200, to_json(*d, true));
    });
    router.add("POST", "/api/models", [api](Request& req, Reply reply) {
        auto mt = media_type(req);
        if (mt != "application/xml" && mt != "text/xml") {
            reply.fail(ApiError{415, "unsupported_media_type",
                                "upload a DDF file as application/xml or text/xml"});
            return;
        }
        if (req.body.empty()) {
            reply.fail(ApiError::bad_request("the DDF document is empty"));
            return;
        }
        bool replace = req.query_param("replace").value_or("false") == "true";
        dm::DdfError err;
        auto def = dm::load_ddf(req.body, "upload", &err);
        if (!def) {
            reply.fail(ApiError{400, "bad_ddf", err.to_string()});
            return;
        }
        auto models = api->backend->models();
        if (!replace && models && models->find(def->id)) {
            reply.fail(ApiError::conflict("object " + std::to_string(def->id) +
                                          " already has a model; use ?replace=true"));
            return;
        }
        api->backend_call(req);
        json summary = to_json(*def, false);
        auto id = def->id;
        api->backend->add_model(
            std::move(*def), replace, api->done<Done>(std::move(reply), [summary, id](Done&) {
                auto r = Response::json(201, summary);
                r.headers.emplace_back("Location", "/api/models/" + std::to_string(id));
                return r;
            }));
    });

    // ---- nodes ------------------------------------------------------------------------------
    router.add("GET", "/api/nodes", [api](Request& req, Reply reply) {
        api->backend_call(req);
        api->backend->list_nodes(
            api->done<std::vector<NodeInfo>>(std::move(reply), [](std::vector<NodeInfo>& ns) {
                json items = json::array();
                for (const auto& n : ns)
                    items.push_back(to_json(n));
                return Response::json(200, {{"nodes", std::move(items)}});
            }));
    });

    // ---- events -----------------------------------------------------------------------------
    // The persisted history (the event log), paged by sequence number. Unlike the stream below,
    // it takes the token only in the Authorization header (auth.cpp).
    router.add("GET", "/api/events/history", [api](Request& req, Reply reply) {
        store::EventQuery q;
        q.limit = 100;
        if (auto v = req.query_param("ep")) {
            if (v->empty()) {
                reply.fail(ApiError::bad_request("ep must not be empty"));
                return;
            }
            q.endpoint = std::string(*v);
        }
        if (auto v = req.query_param("after")) {
            auto n = parse_uint(*v);
            if (!n || *n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                reply.fail(ApiError::bad_request("after must be an event sequence number (an "
                                                 "integer from 0)"));
                return;
            }
            q.after_seq = *n;
        }
        const std::size_t max = api->options.max_page;
        if (auto v = req.query_param("limit")) {
            auto n = parse_uint(*v);
            if (!n || *n == 0 || *n > max) {
                reply.fail(ApiError::bad_request("limit must be an integer from 1 to " +
                                                 std::to_string(max)));
                return;
            }
            q.limit = static_cast<std::size_t>(*n);
        }
        const std::size_t limit = q.limit;
        q.limit = limit + 1; // one more: is there a next page?
        api->backend_call(req);
        api->backend->event_history(
            std::move(q), api->done<std::vector<store::EventRecord>>(
                              std::move(reply), [limit](std::vector<store::EventRecord>& evs) {
                                  const bool more = evs.size() > limit;
                                  if (more) evs.resize(limit);
                                  json items = json::array();
                                  for (const auto& e : evs)
                                      items.push_back(to_json(e));
                                  json next = more ? json(evs.back().seq) : json(nullptr);
                                  return Response::json(200, {{"events", std::move(items)},
                                                              {"next_after", std::move(next)}});
                              }));
    });
    router.add("GET", "/api/events", [api](Request& req, const Reply& reply) {
        if (!api->events) {
            reply.fail(ApiError{503, "events_unavailable", "this server publishes no events"});
            return;
        }
        EventFilter filter;
        auto split = [](std::string_view s, auto&& each) {
            while (!s.empty()) {
                auto c = s.find(',');
                if (auto part = s.substr(0, c); !part.empty()) each(part);
                s = c == std::string_view::npos ? std::string_view{} : s.substr(c + 1);
            }
        };
        bool bad_type = false;
        for (const auto& [k, v] : req.query) {
            if (k == "ep") split(v, [&](std::string_view e) { filter.endpoints.emplace_back(e); });
            if (k == "type")
                split(v, [&](std::string_view t) {
                    auto et = event_type_from_string(t);
                    if (!et || *et == EventType::lost || *et == EventType::dropped)
                        bad_type = true;
                    else
                        filter.types.push_back(*et);
                });
        }
        if (bad_type) {
            reply.fail(ApiError::bad_request(
                "type must be registration, update, deregistration, notification, bootstrap, "
                "sleeping, awake or coap"));
            return;
        }
        std::optional<std::uint64_t> last;
        auto last_text = req.header("last-event-id");
        if (!last_text) last_text = req.query_param("last_event_id");
        if (last_text && !last_text->empty()) {
            auto v = parse_uint(*last_text);
            if (!v) {
                reply.fail(ApiError::bad_request("Last-Event-ID must be an event id"));
                return;
            }
            last = *v;
        }
        auto sub = api->events->subscribe(std::move(filter), last);
        if (!sub) {
            reply.fail(ApiError{503, "too_many_streams", "the event stream limit is reached"});
            return;
        }
        Response r;
        r.content_type = "text/event-stream";
        r.stream = std::move(sub);
        reply.send(std::move(r));
    });
}

} // namespace lwm2m::http
