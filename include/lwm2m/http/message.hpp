// HTTP requests and responses as the REST handlers see them, and Reply: the single-shot,
// thread-safe completion handle through which a handler answers, immediately or later from
// another thread (the engine thread, docs/rest-api.md "Threads").
//
// Errors are JSON bodies {"error": {"status": 400, "code": "bad_request", "message": "..."}}
// (Response::error); messages never contain secrets.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lwm2m::http {

class Subscription;

/// One parsed HTTP request. Header names are lower-case; query values and path parameters are
/// percent-decoded.
struct Request {
    std::string method; ///< "GET", "POST", ...
    std::string target; ///< the raw request-target ("/api/clients?limit=5")
    std::string path;   ///< the raw path part of the target (not decoded; set by Router)
    std::vector<std::pair<std::string, std::string>> query;   ///< decoded, in order
    std::vector<std::pair<std::string, std::string>> headers; ///< lower-case names
    std::map<std::string, std::string, std::less<>> params;   ///< path template parameters
    std::string body;
    std::string remote; ///< "127.0.0.1:50312" (logs only)
    /// The longest the server waits for the handler's Reply before it answers 504 itself. A
    /// handler that knows its own bound (a device round trip with a `timeout` parameter) raises
    /// or lowers it before returning.
    std::chrono::milliseconds answer_within{std::chrono::seconds(30)};

    /// The first header with this (lower-case) name.
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
    /// The first query parameter with this name.
    [[nodiscard]] std::optional<std::string_view> query_param(std::string_view name) const;
    /// A path template parameter (always present when the template names it).
    [[nodiscard]] const std::string& param(std::string_view name) const;
};

/// One response. A response with `stream` set is a server-sent event stream
/// (text/event-stream): the server writes the head, then the subscription's events.
struct Response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers; ///< extra headers
    std::shared_ptr<Subscription> stream;

    /// `status` with `value.dump()` as an application/json body.
    static Response json(unsigned status, const nlohmann::json& value);
    /// The JSON error body {"error": {"status", "code", "message"}}.
    static Response error(unsigned status, std::string_view code, std::string_view message);
    /// 204 without body.
    static Response no_content();
};

/// An API-level failure: the HTTP status, a stable machine-readable code and a human text.
struct ApiError {
    unsigned status = 500;
    std::string code = "internal_error";
    std::string message;

    static ApiError bad_request(std::string message) {
        return {400, "bad_request", std::move(message)};
    }
    static ApiError not_found(std::string message) {
        return {404, "not_found", std::move(message)};
    }
    static ApiError conflict(std::string message) { return {409, "conflict", std::move(message)}; }
    [[nodiscard]] Response to_response() const { return Response::error(status, code, message); }
};

namespace detail {
/// Shared state of a Reply: a once-flag and the server's delivery function.
struct ReplyState {
    using Deliver = std::function<void(std::function<Response()>)>;
    explicit ReplyState(Deliver d)
        : deliver(std::move(d)) {}
    ReplyState(const ReplyState&) = delete;
    ReplyState& operator=(const ReplyState&) = delete;
    /// A request whose every Reply copy is dropped unanswered (e.g. a task discarded by a
    /// stopped engine loop) is answered 503 engine_unavailable.
    ~ReplyState();
    std::atomic<bool> done{false};
    Deliver deliver;
};
} // namespace detail

/// The completion handle of one request. Copyable; every copy refers to the same request. The
/// first send() answers; later calls are ignored. Thread-safe: send() may be called from any
/// thread (it only hands the response to the HTTP thread). Dropping every copy without sending
/// answers 503.
class Reply {
public:
    Reply() = default;
    explicit Reply(std::shared_ptr<detail::ReplyState> s)
        : s_(std::move(s)) {}

    // These answer the request: calling them for that effect and ignoring whether this call was
    // the one that answered is the normal use, so no [[nodiscard]].
    // NOLINTBEGIN(modernize-use-nodiscard)
    /// Answers with `r`. Returns false when the request was already answered (or timed out).
    bool send(Response r) const;
    /// Answers with the response `make()` builds; `make` runs on the HTTP thread, so an engine
    /// thread can hand over plain data and leave the formatting (JSON, base64) to the HTTP side.
    bool send_with(std::function<Response()> make) const;
    /// Shorthands.
    bool json(unsigned status, const nlohmann::json& v) const {
        return send(Response::json(status, v));
    }
    bool fail(const ApiError& e) const { return send(e.to_response()); }
    // NOLINTEND(modernize-use-nodiscard)
    /// True once answered.
    [[nodiscard]] bool done() const noexcept {
        return !s_ || s_->done.load(std::memory_order_acquire);
    }

    /// A reply that calls `sink` with the response (tests, in-process callers). Thread-safe as
    /// far as `sink` is.
    static Reply to(std::function<void(Response)> sink);

private:
    std::shared_ptr<detail::ReplyState> s_;
};

} // namespace lwm2m::http
