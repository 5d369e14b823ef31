// Messages between lwm2m-server nodes (cluster_codec.hpp, docs/cluster.md).
#include "cluster_codec.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/http/json_content.hpp>
#include <lwm2m/store/binary_codec.hpp>

namespace lwm2m::app::cluster {
namespace {

using store::codec::Reader;
using store::codec::Writer;

constexpr std::size_t max_paths = 1024;
constexpr std::size_t max_clear = 64;
constexpr std::size_t max_records = 100000;
constexpr auto last_op = static_cast<std::uint8_t>(http::Operation::cancel_observe_composite);
constexpr auto last_event = static_cast<std::uint8_t>(http::EventType::dropped);

/// JSON text that never throws (a device's invalid UTF-8 is replaced, as the SSE stream does).
std::string text_of(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void put_format(Writer& w, const std::optional<format::ContentFormat>& f) {
    w.u8(f ? 1 : 0);
    if (f) w.varint(static_cast<std::uint16_t>(*f));
}

bool get_format(Reader& r, std::optional<format::ContentFormat>& f) {
    std::uint8_t has = 0;
    if (!r.u8(has) || has > 1) return false;
    if (has == 0) return true;
    std::uint16_t n = 0;
    if (!r.uint(n)) return false;
    f = format::content_format_from(n);
    return f.has_value();
}

template <class T>
void put_opt(Writer& w, const std::optional<T>& v) {
    w.u8(v ? 1 : 0);
    if (!v) return;
    if constexpr (std::is_same_v<T, double>)
        w.varint(std::bit_cast<std::uint64_t>(*v));
    else if constexpr (std::is_same_v<T, bool>)
        w.u8(*v ? 1 : 0);
    else
        w.varint(*v);
}

template <class T>
bool get_opt(Reader& r, std::optional<T>& v) {
    std::uint8_t has = 0;
    if (!r.u8(has) || has > 1) return false;
    if (has == 0) return true;
    if constexpr (std::is_same_v<T, double>) {
        std::uint64_t bits = 0;
        if (!r.varint(bits)) return false;
        v = std::bit_cast<double>(bits);
    } else if constexpr (std::is_same_v<T, bool>) {
        std::uint8_t b = 0;
        if (!r.u8(b) || b > 1) return false;
        v = b == 1;
    } else {
        T x{};
        if (!r.uint(x)) return false;
        v = x;
    }
    return true;
}

/// Content as its typed REST JSON text (empty: none).
void put_content(Writer& w, const std::optional<dm::Content>& c) {
    w.str(c ? text_of(http::content_to_json(*c)) : std::string());
}

bool get_content(Reader& r, std::optional<dm::Content>& c) {
    std::string text;
    if (!r.str(text)) return false;
    if (text.empty()) return true;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("path") || !j["path"].is_string())
        return false;
    auto base = dm::Path::parse(j["path"].get<std::string>());
    if (!base) return false;
    auto content = http::content_from_json(j, *base, nullptr);
    if (!content) return false;
    c = std::move(*content);
    return true;
}

/// Records one by one: path, type name, the value's JSON text, optional time (SenML "t": a
/// notification's records carry it; the REST input form has none, so not the REST array).
void put_records(Writer& w, const std::vector<dm::Record>& recs) {
    w.varint(recs.size());
    for (const auto& r : recs) {
        w.str(r.path.to_string());
        w.str(http::json_type_name(r.value.type()));
        w.str(text_of(http::value_to_json(r.value)));
        put_opt(w, r.time);
    }
}

bool get_records(Reader& r, std::vector<dm::Record>& recs) {
    std::uint64_t n = 0;
    if (!r.varint(n) || n > max_records) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string p;
        std::string type;
        std::string value;
        dm::Record rec;
        if (!r.str(p) || !r.str(type) || !r.str(value) || !get_opt(r, rec.time)) return false;
        auto path = dm::Path::parse(p);
        auto t = http::json_type_from_name(type);
        if (!path || !t) return false;
        auto j = nlohmann::json::parse(value, nullptr, false);
        if (j.is_discarded()) return false;
        if (j.is_null() && *t == dm::DataType::float_) // value_to_json's form of NaN / inf
            j = std::numeric_limits<double>::quiet_NaN();
        auto v = http::value_from_json(j, *t);
        if (!v) return false;
        rec.path = *path;
        rec.value = std::move(*v);
        recs.push_back(std::move(rec));
    }
    return true;
}

void head(Writer& w, Kind k) {
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(k));
}

bool get_request(Reader& r, ForwardedRequest& m) {
    auto& q = m.request;
    std::uint8_t op = 0;
    if (!r.varint(m.id) || !r.str(m.from) || m.from.empty() || !r.u8(op) || op > last_op ||
        !r.str(q.endpoint) || q.endpoint.empty())
        return false;
    q.op = static_cast<http::Operation>(op);
    std::uint64_t n = 0;
    if (!r.varint(n) || n > max_paths) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string text;
        if (!r.str(text)) return false;
        auto p = dm::Path::parse(text);
        if (!p) return false;
        q.paths.push_back(*p);
    }
    std::uint8_t given = 0;
    if (!get_content(r, q.content) || !r.u8(given) || given > 1) return false;
    q.instance_id_given = given == 1;
    std::uint64_t timeout_ms = 0;
    if (!get_records(r, q.records) || !get_format(r, q.format) || !r.varint(timeout_ms) ||
        timeout_ms > 3'600'000 || !r.str(q.execute_arguments))
        return false;
    q.timeout = std::chrono::milliseconds(timeout_ms);
    auto& a = q.attributes;
    if (!get_opt(r, a.pmin) || !get_opt(r, a.pmax) || !get_opt(r, a.epmin) ||
        !get_opt(r, a.epmax) || !get_opt(r, a.hqmax) || !get_opt(r, a.gt) || !get_opt(r, a.lt) ||
        !get_opt(r, a.st) || !get_opt(r, a.edge) || !get_opt(r, a.con))
        return false;
    if (!r.varint(n) || n > max_clear) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string s;
        if (!r.str(s) || s.empty()) return false;
        a.clear.push_back(std::move(s));
    }
    std::uint8_t active = 0;
    if (!r.u8(active) || active > 1) return false;
    q.active_cancel = active == 1;
    return true;
}

bool get_reply(Reader& r, ForwardedReply& m) {
    std::uint8_t ok_byte = 0;
    if (!r.varint(m.id) || !r.str(m.from) || m.from.empty() || !r.u8(ok_byte) || ok_byte > 1)
        return false;
    if (ok_byte == 0) {
        http::ApiError e;
        if (!r.uint(e.status) || e.status < 400 || e.status > 599 || !r.str(e.code) ||
            e.code.empty() || !r.str(e.message))
            return false;
        m.outcome = tl::unexpected(std::move(e));
        return true;
    }
    http::DeviceResponse d;
    std::uint64_t rtt = 0;
    if (!r.u8(d.code) || !get_content(r, d.content) || !get_records(r, d.records) ||
        !r.str(d.links) || !get_format(r, d.format) || !r.varint(rtt) || !r.str(d.location) ||
        !r.str(d.diagnostic))
        return false;
    d.rtt = std::chrono::microseconds(static_cast<std::int64_t>(rtt & 0x7FFF'FFFF'FFFF'FFFF));
    m.outcome = std::move(d);
    return true;
}

bool get_event(Reader& r, ForwardedEvent& m) {
    std::uint8_t type = 0;
    std::string data;
    if (!r.str(m.from) || m.from.empty() || !r.u8(type) || type > last_event ||
        !r.str(m.event.endpoint) || !r.str(data))
        return false;
    m.event.type = static_cast<http::EventType>(type);
    auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    m.event.data = std::move(j);
    return true;
}

void put_client(Writer& w, const http::ClientInfo& c) {
    w.str(c.endpoint);
    w.str(c.registration_id);
    w.str(c.lwm2m_version);
    w.str(c.binding);
    w.varint(c.lifetime);
    w.u8(c.sms_number ? 1 : 0);
    if (c.sms_number) w.str(*c.sms_number);
    w.str(c.address);
    w.u8(static_cast<std::uint8_t>(c.security_mode));
    w.u8(c.queue_mode ? 1 : 0);
    w.u8(c.sleeping ? 1 : 0);
    w.svarint(c.registered_at);
    w.svarint(c.last_update);
    w.str(c.root_path);
    w.varint(c.objects.size());
    for (const auto& o : c.objects) {
        w.str(o.path.to_string());
        w.varint(o.attributes.size());
        for (const auto& [k, v] : o.attributes) {
            w.str(k);
            w.str(v);
        }
    }
}

bool get_flag(Reader& r, bool& b) {
    std::uint8_t x = 0;
    if (!r.u8(x) || x > 1) return false;
    b = x == 1;
    return true;
}

bool get_client(Reader& r, http::ClientInfo& c) {
    bool has_sms = false;
    std::uint8_t mode = 0;
    if (!r.str(c.endpoint) || c.endpoint.empty() || !r.str(c.registration_id) ||
        !r.str(c.lwm2m_version) || !r.str(c.binding) || !r.uint(c.lifetime) ||
        !get_flag(r, has_sms))
        return false;
    if (has_sms) {
        std::string sms;
        if (!r.str(sms)) return false;
        c.sms_number = std::move(sms);
    }
    if (!r.str(c.address) || !r.u8(mode) ||
        mode > static_cast<std::uint8_t>(store::SecurityMode::nosec) ||
        !get_flag(r, c.queue_mode) || !get_flag(r, c.sleeping) || !r.svarint(c.registered_at) ||
        !r.svarint(c.last_update) || !r.str(c.root_path))
        return false;
    c.security_mode = static_cast<store::SecurityMode>(mode);
    std::uint64_t n = 0;
    if (!r.varint(n) || n > max_paths) return false;
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string text;
        std::uint64_t na = 0;
        if (!r.str(text) || !r.varint(na) || na > 16) return false;
        auto p = dm::Path::parse(text);
        if (!p) return false;
        http::ObjectLink o;
        o.path = *p;
        for (std::uint64_t k = 0; k < na; ++k) {
            std::string a;
            std::string v;
            if (!r.str(a) || a.empty() || !r.str(v)) return false;
            o.attributes.emplace_back(std::move(a), std::move(v));
        }
        c.objects.push_back(std::move(o));
    }
    return true;
}

bool get_list_request(Reader& r, ListRequest& m) {
    auto& q = m.query;
    std::uint64_t limit = 0;
    bool has_binding = false;
    std::uint8_t mode = 0;
    if (!r.varint(m.id) || !r.str(m.from) || m.from.empty() || !r.varint(limit) ||
        limit > max_list_items || !r.str(q.endpoint_contains) || !r.str(q.endpoint_prefix) ||
        !get_flag(r, has_binding))
        return false;
    q.page.offset = 0;
    q.page.limit = static_cast<std::size_t>(limit);
    if (has_binding) {
        std::string b;
        if (!r.str(b) || b.empty()) return false;
        q.binding = std::move(b);
    }
    if (!r.u8(mode)) return false;
    if (mode != 0xFF) {
        if (mode > static_cast<std::uint8_t>(store::SecurityMode::nosec)) return false;
        q.security_mode = static_cast<store::SecurityMode>(mode);
    }
    return true;
}

bool get_list_reply(Reader& r, ListReply& m) {
    std::uint64_t total = 0;
    std::uint64_t n = 0;
    if (!r.varint(m.id) || !r.str(m.from) || m.from.empty() || !r.varint(total) || !r.varint(n) ||
        n > max_list_items || n > total)
        return false;
    m.page.total = static_cast<std::size_t>(total);
    for (std::uint64_t i = 0; i < n; ++i) {
        http::ClientInfo c;
        if (!get_client(r, c)) return false;
        m.page.items.push_back(std::move(c));
    }
    return true;
}

bool get_remove(Reader& r, RemoveRequest& m) {
    return r.varint(m.id) && r.str(m.from) && !m.from.empty() && r.str(m.endpoint) &&
           !m.endpoint.empty();
}

} // namespace

std::string encode(const ListRequest& m) {
    const auto& q = m.query;
    Writer w;
    head(w, Kind::list_request);
    w.varint(m.id);
    w.str(m.from);
    w.varint(std::min<std::uint64_t>(q.page.limit, max_list_items));
    w.str(q.endpoint_contains);
    w.str(q.endpoint_prefix);
    w.u8(q.binding ? 1 : 0);
    if (q.binding) w.str(*q.binding);
    w.u8(q.security_mode ? static_cast<std::uint8_t>(*q.security_mode) : 0xFF);
    return w.take();
}

std::string encode(const ListReply& m) {
    Writer w;
    head(w, Kind::list_reply);
    w.varint(m.id);
    w.str(m.from);
    const std::size_t n = std::min(m.page.items.size(), max_list_items);
    w.varint(std::max(m.page.total, n));
    w.varint(n);
    for (std::size_t i = 0; i < n; ++i)
        put_client(w, m.page.items[i]);
    return w.take();
}

std::string encode(const RemoveRequest& m) {
    Writer w;
    head(w, Kind::remove);
    w.varint(m.id);
    w.str(m.from);
    w.str(m.endpoint);
    return w.take();
}

std::vector<http::ClientInfo> merge_client_pages(std::vector<std::vector<http::ClientInfo>> lists,
                                                 std::size_t offset, std::size_t limit,
                                                 std::size_t* duplicates) {
    std::size_t dropped = 0;
    std::vector<http::ClientInfo> out;
    std::vector<std::size_t> at(lists.size(), 0);
    std::size_t index = 0; // position in the merged, deduplicated list
    while (out.size() < limit) {
        // The smallest endpoint at the heads of the lists (few lists: a linear scan).
        const std::string* least = nullptr;
        for (std::size_t k = 0; k < lists.size(); ++k)
            if (at[k] < lists[k].size() && (least == nullptr || lists[k][at[k]].endpoint < *least))
                least = &lists[k][at[k]].endpoint;
        if (least == nullptr) break;
        const std::string ep = *least;
        std::size_t best = lists.size();
        for (std::size_t k = 0; k < lists.size(); ++k) {
            if (at[k] >= lists[k].size() || lists[k][at[k]].endpoint != ep) continue;
            if (best == lists.size())
                best = k;
            else {
                ++dropped;
                if (lists[k][at[k]].last_update > lists[best][at[best]].last_update) best = k;
            }
        }
        const std::size_t chosen = at[best];
        for (std::size_t k = 0; k < lists.size(); ++k) // past ep (and any repeat of it)
            while (at[k] < lists[k].size() && lists[k][at[k]].endpoint == ep)
                ++at[k];
        if (index >= offset) out.push_back(std::move(lists[best][chosen]));
        ++index;
    }
    if (duplicates) *duplicates = dropped;
    return out;
}

std::string encode(const ForwardedRequest& m) {
    const auto& q = m.request;
    Writer w;
    head(w, Kind::request);
    w.varint(m.id);
    w.str(m.from);
    w.u8(static_cast<std::uint8_t>(q.op));
    w.str(q.endpoint);
    w.varint(q.paths.size());
    for (const auto& p : q.paths)
        w.str(p.to_string());
    put_content(w, q.content);
    w.u8(q.instance_id_given ? 1 : 0);
    put_records(w, q.records);
    put_format(w, q.format);
    w.varint(static_cast<std::uint64_t>(std::max<std::int64_t>(0, q.timeout.count())));
    w.str(q.execute_arguments);
    const auto& a = q.attributes;
    put_opt(w, a.pmin);
    put_opt(w, a.pmax);
    put_opt(w, a.epmin);
    put_opt(w, a.epmax);
    put_opt(w, a.hqmax);
    put_opt(w, a.gt);
    put_opt(w, a.lt);
    put_opt(w, a.st);
    put_opt(w, a.edge);
    put_opt(w, a.con);
    w.varint(a.clear.size());
    for (const auto& c : a.clear)
        w.str(c);
    w.u8(q.active_cancel ? 1 : 0);
    return w.take();
}

std::string encode(const ForwardedReply& m) {
    Writer w;
    head(w, Kind::reply);
    w.varint(m.id);
    w.str(m.from);
    w.u8(m.outcome ? 1 : 0);
    if (!m.outcome) {
        const auto& e = m.outcome.error();
        w.varint(e.status);
        w.str(e.code);
        w.str(e.message);
        return w.take();
    }
    const auto& d = *m.outcome;
    w.u8(d.code);
    put_content(w, d.content);
    put_records(w, d.records);
    w.str(d.links);
    put_format(w, d.format);
    w.varint(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.rtt.count())));
    w.str(d.location);
    w.str(d.diagnostic);
    return w.take();
}

std::string encode(const ForwardedEvent& m) {
    Writer w;
    head(w, Kind::event);
    w.str(m.from);
    w.u8(static_cast<std::uint8_t>(m.event.type));
    w.str(m.event.endpoint);
    w.str(m.event.data.is_object() ? text_of(m.event.data) : std::string("{}"));
    return w.take();
}

Result<Message> decode(std::string_view data) {
    Reader r(data);
    std::uint8_t v = 0;
    std::uint8_t kind = 0;
    if (!r.u8(v) || v != version || !r.u8(kind)) return fail(Errc::invalid_argument);
    bool good = false;
    Message out;
    switch (static_cast<Kind>(kind)) {
    case Kind::request: {
        ForwardedRequest m;
        good = get_request(r, m);
        out = std::move(m);
        break;
    }
    case Kind::reply: {
        ForwardedReply m;
        good = get_reply(r, m);
        out = std::move(m);
        break;
    }
    case Kind::event: {
        ForwardedEvent m;
        good = get_event(r, m);
        out = std::move(m);
        break;
    }
    case Kind::list_request: {
        ListRequest m;
        good = get_list_request(r, m);
        out = std::move(m);
        break;
    }
    case Kind::list_reply: {
        ListReply m;
        good = get_list_reply(r, m);
        out = std::move(m);
        break;
    }
    case Kind::remove: {
        RemoveRequest m;
        good = get_remove(r, m);
        out = std::move(m);
        break;
    }
    default:
        break;
    }
    if (!good || !r.done()) return fail(Errc::invalid_argument);
    return out;
}

} // namespace lwm2m::app::cluster
