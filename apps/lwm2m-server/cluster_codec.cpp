// Messages between lwm2m-server nodes (cluster_codec.hpp, docs/cluster.md).
#include "cluster_codec.hpp"

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

} // namespace

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
    default:
        break;
    }
    if (!good || !r.done()) return fail(Errc::invalid_argument);
    return out;
}

} // namespace lwm2m::app::cluster
