// A small synchronous HTTP/1.1 client for the REST API of lwm2m-server (docs/rest-api.md) and a
// parser of its server-sent events (HTML Living Standard §9.2 "Server-sent events"). Used by the
// admin commands of `lwm2m` (admin_commands.cpp). Plain http:// only; the token goes in
// `Authorization: Bearer` (RFC 6750 §2.1).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lwm2m::app {

/// Where the REST API is: parsed from "http://HOST[:PORT][/]" (HOST a name, an IPv4 literal or
/// "[IPv6]"; PORT defaults to 80).
struct ServerAddress {
    std::string host; ///< without brackets
    std::uint16_t port = 80;
    std::string text; ///< as given, for messages

    /// nullopt (and `why`) for another scheme, a path other than "/", a bad port.
    static std::optional<ServerAddress> parse(std::string_view url, std::string* why = nullptr);
};

/// How a request failed before any HTTP answer arrived.
enum class TransportFailure {
    network,     ///< resolve / connect / read / write failed, or the peer closed
    timeout,     ///< no complete answer in time
    interrupted, ///< the stop flag was raised (Ctrl-C)
    protocol,    ///< the answer is not HTTP/1.1
};

struct HttpAnswer {
    int status = 0;
    std::string content_type;
    std::string body;
    bool closed = false; ///< stream(): the server ended the event stream (EOF)
};

struct TransportError {
    TransportFailure kind;
    std::string message; ///< never holds the token or request bodies
};

/// One event of a text/event-stream.
struct SseEvent {
    std::string id;    ///< "" when the event has no id: field
    std::string event; ///< "message" when no event: field was given
    std::string data;  ///< the data: lines joined by "\n"
};

/// Incremental text/event-stream parser (HTML §9.2.6): lines end in LF, CRLF or CR; comments
/// (":...") and retry: are skipped; an empty line dispatches an event that has data.
class SseParser {
public:
    /// Feeds bytes; returns the events completed by them.
    std::vector<SseEvent> feed(std::string_view bytes);

private:
    void line(std::string_view l, std::vector<SseEvent>& out);
    std::string pending_;
    bool last_cr_ = false;
    SseEvent cur_;
    bool has_data_ = false;
};

class RestClient {
public:
    /// `stop`: polled while waiting (set by a signal handler); may be null.
    RestClient(ServerAddress server, std::string token, std::chrono::milliseconds timeout,
               const std::atomic<int>* stop = nullptr);

    /// One request on a fresh connection. `target` is the path and query (already encoded).
    /// A body is sent as `content_type`. Errors: TransportError (see TransportFailure).
    [[nodiscard]] std::optional<HttpAnswer>
    request(std::string_view method, std::string_view target, std::string body = {},
            std::string_view content_type = "application/json",
            TransportError* error = nullptr) const;

    /// GET `target` as an event stream and calls `on_event` for each event until it returns
    /// false, the server closes the stream, `deadline` passes (returns with no error) or the stop
    /// flag is raised (TransportFailure::interrupted). A non-200 answer is returned as is.
    /// `on_open` runs once the 200 header is in (e.g. to start an observation after subscribing);
    /// when it returns false the stream ends there.
    [[nodiscard]] std::optional<HttpAnswer>
    stream(std::string_view target, const std::function<bool(const SseEvent&)>& on_event,
           std::optional<std::chrono::steady_clock::time_point> deadline,
           const std::function<bool()>& on_open = {}, TransportError* error = nullptr) const;

    [[nodiscard]] const ServerAddress& server() const noexcept { return server_; }

private:
    ServerAddress server_;
    std::string token_;
    std::chrono::milliseconds timeout_;
    const std::atomic<int>* stop_;
};

/// Percent-encodes one path segment or query value (RFC 3986 §2.3 unreserved kept).
[[nodiscard]] std::string url_encode(std::string_view s);

} // namespace lwm2m::app
