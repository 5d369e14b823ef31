// The HTTP/1.1 server of the REST API (RFC 9112), on Boost.Beast + Asio, in its own thread(s).
//
// - Binds one address (IPv4 or IPv6; default 127.0.0.1:8080), keep-alive, a bounded number of
//   connections (beyond it new connections get 503 and are closed).
// - Limits: header bytes (431), body bytes (413, decided from Content-Length before the body is
//   read; "Expect: 100-continue" is honoured), one deadline for reading a whole request including
//   the keep-alive idle wait (slowloris-safe: a trickling client is cut off), one for each write.
// - Handlers run on the HTTP thread and answer through a Reply, possibly later and from another
//   thread; the server answers 504 itself when a handler has not answered within
//   Request::answer_within.
// - A Response carrying a Subscription becomes a server-sent event stream (close-delimited
//   text/event-stream body) with heartbeat comments.
// - stop(): stops accepting, closes idle connections and event streams, lets requests in flight
//   finish (within a grace period), then joins the threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <lwm2m/base/log.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/http/router.hpp>

namespace lwm2m::http {

struct ServerOptions {
    std::string address = "127.0.0.1"; ///< IPv4 or IPv6 literal ("::1", "0.0.0.0")
    std::uint16_t port = 8080;         ///< 0: an ephemeral port (see HttpServer::port())
    std::size_t threads = 1;           ///< I/O threads (never the engine's)
    std::size_t max_connections = 256;
    std::size_t max_header_bytes = std::size_t{16} * 1024;
    std::size_t max_body_bytes = std::size_t{4} * 1024 * 1024;
    /// Reading one request (from the end of the previous response, i.e. including keep-alive
    /// idle time, to its last body byte).
    std::chrono::milliseconds request_timeout{std::chrono::seconds(15)};
    /// Writing one response or one batch of events.
    std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
    /// Comment lines sent on idle event streams (keeps proxies and clients from timing out).
    std::chrono::milliseconds sse_heartbeat{std::chrono::seconds(15)};
    /// SSE `retry:` field: how long a browser waits before reconnecting.
    std::chrono::milliseconds sse_retry{std::chrono::seconds(3)};
};

struct ServerStats {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_rejected = 0; ///< over max_connections
    std::uint64_t accept_errors = 0;        ///< accept() failed (EMFILE, ECONNABORTED, ...)
    std::uint64_t requests = 0;
    std::uint64_t bad_requests = 0; ///< unparsable, too large (400/413/431)
    std::uint64_t request_timeouts = 0;
    std::uint64_t answer_timeouts = 0; ///< 504 sent by the server
    std::size_t active_connections = 0;
    std::size_t event_streams = 0;
};

class HttpServer {
public:
    /// `router` must outlive the server and not change after start().
    explicit HttpServer(const Router& router, ServerOptions options = {},
                        Logger& log = NullLogger::instance());
    /// Stops (as stop() with a zero grace period) and releases everything. Replies sent after
    /// this are discarded safely.
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds, listens and starts the I/O threads. Errors: lwm2m::Errc::invalid_argument (address
    /// not an IP literal), lwm2m::Errc::invalid_state (already started), errno codes of
    /// socket/bind/listen (EADDRINUSE, EACCES).
    [[nodiscard]] Result<void> start();
    /// The bound port (the real one when ServerOptions::port was 0); 0 before start().
    [[nodiscard]] std::uint16_t port() const noexcept;
    /// Graceful stop: no new connections; idle keep-alive connections and event streams close;
    /// requests in flight get their answer (then the connection closes) unless `grace` passes
    /// first. Joins the I/O threads. Idempotent; call from any thread but an I/O thread.
    void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    [[nodiscard]] ServerStats stats() const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

} // namespace lwm2m::http
