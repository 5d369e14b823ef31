// Routing of REST requests: method + path templates, percent-decoding, query strings, bearer-token
// authentication, 401 / 404 / 405 (with Allow) as JSON errors.
//
// Templates are absolute paths of '/'-separated segments; a segment is a literal, "{name}" (one
// non-empty segment) or, as the last segment only, "{name...}" (the rest of the path, possibly
// several segments; may be empty). Segments are percent-decoded after splitting, so "%2F" inside
// an endpoint name stays in that parameter.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <lwm2m/http/message.hpp>

namespace lwm2m::http {

/// Decodes %XX escapes (RFC 3986 §2.1). With `plus_is_space` (query strings,
/// application/x-www-form-urlencoded) '+' becomes ' '. Returns nullopt for a malformed escape
/// ("%", "%4", "%zz") or a decoded NUL byte.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view s,
                                                        bool plus_is_space = false);

/// Encodes every byte outside RFC 3986 unreserved characters as %XX (path segments, query values).
[[nodiscard]] std::string percent_encode(std::string_view s);

/// Splits "a=1&b=x%20y&c" into decoded pairs ("c" has an empty value). Returns nullopt when a
/// name or value has a malformed escape.
[[nodiscard]] std::optional<std::vector<std::pair<std::string, std::string>>>
parse_query(std::string_view query);

/// Whether a request may run: the check behind the bearer token.
using Authenticator = std::function<bool(const Request&)>;

/// A route handler. It answers through `reply`, now or later; it may edit `req` (it owns it).
using Handler = std::function<void(Request& req, Reply reply)>;

struct RouteInfo {
    std::string method;
    std::string pattern;
    bool is_public = false; ///< served without authentication
};

class Router {
public:
    /// Registers `handler` for `method` on `pattern`. `is_public` routes skip the authenticator.
    /// Throws std::invalid_argument for a malformed pattern ("{x...}" not last, empty name,
    /// not starting with '/') or a duplicate (method, pattern): programming errors.
    void add(std::string_view method, std::string_view pattern, Handler handler,
             bool is_public = false);

    /// Every request runs through `auth` unless its route is public. Without one, all run.
    void set_authenticator(Authenticator auth) { auth_ = std::move(auth); }

    /// Routes `req` (method, path and query already set; query is parsed here into req.query).
    /// Answers: 400 bad_request (malformed escapes), 401 unauthorized with
    /// `WWW-Authenticate: Bearer` (authentication fails; checked before 404/405 so that unknown
    /// routes reveal nothing), 404 not_found, 405 method_not_allowed with `Allow`, else the
    /// handler's answer. A handler that throws is answered 500 internal_error.
    void dispatch(Request& req, Reply reply) const;

    [[nodiscard]] std::vector<RouteInfo> routes() const;

private:
    struct Segment {
        enum class Kind { literal, param, rest } kind;
        std::string text; ///< literal text or parameter name
    };
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<Segment> segments;
        Handler handler;
        bool is_public;
    };
    static bool match(const Route& r, const std::vector<std::string_view>& raw,
                      std::map<std::string, std::string, std::less<>>* params, bool* bad_escape);

    std::vector<Route> routes_;
    Authenticator auth_;
};

} // namespace lwm2m::http
