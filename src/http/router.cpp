#include <lwm2m/http/router.hpp>

#include <algorithm>
#include <exception>
#include <stdexcept>

namespace lwm2m::http {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    if (path.empty()) return out;
    for (;;) {
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_digit(s[i + 1]);
            int lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            char d = static_cast<char>(hi * 16 + lo);
            if (d == '\0') return std::nullopt;
            out.push_back(d);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string percent_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view part = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (part.empty()) continue;
        auto eq = part.find('=');
        auto name = percent_decode(part.substr(0, eq), true);
        auto value = percent_decode(
            eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
        if (!name || !value) return std::nullopt;
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

void Router::add(std::string_view method, std::string_view pattern, Handler handler,
                 bool is_public) {
    if (pattern.empty() || pattern.front() != '/')
        throw std::invalid_argument("route pattern must start with '/'");
    Route r{std::string(method), std::string(pattern), {}, std::move(handler), is_public};
    auto parts = split_path(pattern);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        std::string_view p = parts[i];
        if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
            std::string_view name = p.substr(1, p.size() - 2);
            bool rest = name.size() > 3 && name.substr(name.size() - 3) == "...";
            if (rest) name.remove_suffix(3);
            if (name.empty()) throw std::invalid_argument("empty route parameter name");
            if (rest && i + 1 != parts.size())
                throw std::invalid_argument("{name...} must be the last segment");
            r.segments.push_back(
                {rest ? Segment::Kind::rest : Segment::Kind::param, std::string(name)});
        } else {
            r.segments.push_back({Segment::Kind::literal, std::string(p)});
        }
    }
    for (const auto& other : routes_)
        if (other.method == r.method && other.pattern == r.pattern)
            throw std::invalid_argument("duplicate route");
    routes_.push_back(std::move(r));
}

bool Router::match(const Route& r, const std::vector<std::string_view>& raw,
                   std::map<std::string, std::string, std::less<>>* params, bool* bad_escape) {
    std::size_t i = 0;
    for (const auto& seg : r.segments) {
        if (seg.kind == Segment::Kind::rest) {
            std::string joined;
            for (std::size_t k = i; k < raw.size(); ++k) {
                auto d = percent_decode(raw[k]);
                if (!d) {
                    *bad_escape = true;
                    return false;
                }
                if (k > i) joined.push_back('/');
                joined += *d;
            }
            if (params) (*params)[seg.text] = std::move(joined);
            return true;
        }
        if (i >= raw.size()) return false;
        if (seg.kind == Segment::Kind::literal) {
            if (raw[i] != seg.text) return false;
        } else {
            auto d = percent_decode(raw[i]);
            if (!d) {
                *bad_escape = true;
                return false;
            }
            if (d->empty()) return false;
            if (params) (*params)[seg.text] = std::move(*d);
        }
        ++i;
    }
    return i == raw.size();
}

void Router::dispatch(Request& req, Reply reply) const {
    std::string_view target = req.target;
    auto qmark = target.find('?');
    std::string_view raw_query;
    if (qmark != std::string_view::npos) {
        raw_query = target.substr(qmark + 1);
        target = target.substr(0, qmark);
    }
    auto q = parse_query(raw_query);
    if (!q) {
        reply.send(Response::error(400, "bad_request", "malformed percent-encoding in query"));
        return;
    }
    req.query = std::move(*q);
    req.path = std::string(target);
    auto raw = split_path(target);

    const Route* found = nullptr;
    std::vector<const Route*> path_matches;
    bool bad_escape = false;
    for (const auto& r : routes_) {
        if (!match(r, raw, nullptr, &bad_escape)) continue;
        path_matches.push_back(&r);
        if (r.method == req.method && !found) found = &r;
    }
    if (bad_escape && path_matches.empty()) {
        reply.send(Response::error(400, "bad_request", "malformed percent-encoding in path"));
        return;
    }
    bool is_public = found && found->is_public;
    if (!is_public && auth_ && !auth_(req)) {
        auto r = Response::error(401, "unauthorized", "missing or invalid bearer token");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"lwm2m\"");
        reply.send(std::move(r));
        return;
    }
    if (path_matches.empty()) {
        reply.send(Response::error(404, "not_found", "no such route"));
        return;
    }
    if (!found) {
        std::vector<std::string> methods;
        for (const auto* r : path_matches)
            if (std::find(methods.begin(), methods.end(), r->method) == methods.end())
                methods.push_back(r->method);
        std::string allow;
        for (const auto& m : methods) {
            if (!allow.empty()) allow += ", ";
            allow += m;
        }
        auto r = Response::error(405, "method_not_allowed",
                                 "method " + req.method + " not allowed here; allowed: " + allow);
        r.headers.emplace_back("Allow", allow);
        reply.send(std::move(r));
        return;
    }
    bool unused = false;
    match(*found, raw, &req.params, &unused);
    try {
        found->handler(req, reply);
    } catch (const std::exception&) {
        reply.send(Response::error(500, "internal_error", "the handler failed"));
    }
}

std::vector<RouteInfo> Router::routes() const {
    std::vector<RouteInfo> out;
    out.reserve(routes_.size());
    for (const auto& r : routes_)
        out.push_back({r.method, r.pattern, r.is_public});
    return out;
}

} // namespace lwm2m::http
