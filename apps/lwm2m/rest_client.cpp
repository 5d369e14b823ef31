#include "rest_client.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <lwm2m/base/secret.hpp>

namespace lwm2m::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

std::optional<ServerAddress> ServerAddress::parse(std::string_view url, std::string* why) {
    auto fail = [why](std::string m) -> std::optional<ServerAddress> {
        if (why) *why = std::move(m);
        return std::nullopt;
    };
    ServerAddress a;
    a.text = std::string(url);
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme) {
        if (url.substr(0, 8) == "https://")
            return fail("https:// is not supported: run the API behind a TLS proxy on the same "
                        "host, or use http:// on loopback");
        return fail("the server address must look like http://HOST[:PORT]");
    }
    url.remove_prefix(scheme.size());
    if (auto slash = url.find('/'); slash != std::string_view::npos) {
        if (url.substr(slash) != "/")
            return fail("the server address takes no path (the API is under /api)");
        url = url.substr(0, slash);
    }
    std::string_view port;
    if (!url.empty() && url.front() == '[') {
        auto close = url.find(']');
        if (close == std::string_view::npos) return fail("unterminated [IPv6] literal");
        a.host = std::string(url.substr(1, close - 1));
        auto rest = url.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return fail("junk after the [IPv6] literal");
            port = rest.substr(1);
        }
    } else {
        auto colon = url.rfind(':');
        a.host = std::string(url.substr(0, colon));
        if (colon != std::string_view::npos) port = url.substr(colon + 1);
    }
    if (a.host.empty()) return fail("the server address has no host");
    if (!port.empty()) {
        unsigned v = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
        if (ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535)
            return fail("the port must be 1..65535");
        a.port = static_cast<std::uint16_t>(v);
    }
    return a;
}

std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// ---- SSE ------------------------------------------------------------------------------------

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
    std::vector<SseEvent> out;
    for (char c : bytes) {
        if (c == '\n' && last_cr_) { // the LF of a CRLF
            last_cr_ = false;
            continue;
        }
        last_cr_ = c == '\r';
        if (c == '\n' || c == '\r') {
            line(pending_, out);
            pending_.clear();
        } else {
            pending_ += c;
        }
    }
    return out;
}

void SseParser::line(std::string_view l, std::vector<SseEvent>& out) {
    if (l.empty()) { // dispatch (HTML §9.2.6)
        if (has_data_) {
            if (cur_.event.empty()) cur_.event = "message";
            out.push_back(std::move(cur_));
        }
        cur_ = {};
        has_data_ = false;
        return;
    }
    if (l.front() == ':') return; // comment (heartbeat)
    auto colon = l.find(':');
    std::string_view field = l.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
        value = l.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
        if (has_data_) cur_.data += '\n';
        cur_.data += value;
        has_data_ = true;
    } else if (field == "event") {
        cur_.event = std::string(value);
    } else if (field == "id") {
        cur_.id = std::string(value);
    } // retry: and unknown fields are ignored
}

// ---- transport ------------------------------------------------------------------------------

namespace {

/// A connected TCP socket whose blocking reads and writes wait with poll(2) first, so that a
/// deadline and the stop flag are honoured (Beast's sync algorithms take any SyncStream).
class DeadlineStream {
public:
    using executor_type = tcp::socket::executor_type;
    DeadlineStream(tcp::socket& s, Clock::time_point deadline, const std::atomic<int>* stop)
        : s_(s)
        , deadline_(deadline)
        , stop_(stop) {}
    executor_type get_executor() { return s_.get_executor(); }
    void set_deadline(Clock::time_point d) { deadline_ = d; }

    template <class Buffers>
    std::size_t read_some(const Buffers& b, beast::error_code& ec) {
        if (!wait(POLLIN, ec)) return 0;
        return s_.read_some(b, ec);
    }
    template <class Buffers>
    std::size_t read_some(const Buffers& b) {
        beast::error_code ec;
        auto n = read_some(b, ec);
        if (ec) throw beast::system_error(ec);
        return n;
    }
    template <class Buffers>
    std::size_t write_some(const Buffers& b, beast::error_code& ec) {
        if (!wait(POLLOUT, ec)) return 0;
        return s_.write_some(b, ec);
    }
    template <class Buffers>
    std::size_t write_some(const Buffers& b) {
        beast::error_code ec;
        auto n = write_some(b, ec);
        if (ec) throw beast::system_error(ec);
        return n;
    }

private:
    bool wait(short events, beast::error_code& ec) {
        for (;;) {
            if (stop_ && stop_->load() != 0) {
                ec = asio::error::operation_aborted;
                return false;
            }
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
            if (left.count() <= 0) {
                ec = asio::error::timed_out;
                return false;
            }
            pollfd p{s_.native_handle(), events, 0};
            int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
            if (r > 0) return true;
            if (r < 0 && errno != EINTR) {
                ec = beast::error_code(errno, boost::system::system_category());
                return false;
            }
        }
    }
    tcp::socket& s_;
    Clock::time_point deadline_;
    const std::atomic<int>* stop_;
};

TransportError classify(const beast::error_code& ec, const std::string& what,
                        const ServerAddress& srv) {
    if (ec == asio::error::timed_out)
        return {TransportFailure::timeout, what + ": no answer from " + srv.text + " in time"};
    if (ec == asio::error::operation_aborted) return {TransportFailure::interrupted, "interrupted"};
    if (ec == asio::error::connection_refused)
        return {TransportFailure::network, "cannot connect to " + srv.text +
                                               ": connection refused (is lwm2m-server running?)"};
    return {TransportFailure::network, what + " " + srv.text + ": " + ec.message()};
}

/// Resolves and connects (non-blocking connect bounded by the deadline). nullopt and `err` on
/// failure.
bool connect(tcp::socket& sock, const ServerAddress& srv, Clock::time_point deadline,
             const std::atomic<int>* stop, TransportError& err) {
    tcp::resolver resolver(sock.get_executor());
    beast::error_code ec;
    auto results =
        resolver.resolve(srv.host, std::to_string(srv.port), tcp::resolver::numeric_service, ec);
    if (ec) {
        err = {TransportFailure::network, "cannot resolve " + srv.host + ": " + ec.message()};
        return false;
    }
    for (const auto& entry : results) {
        beast::error_code e;
        if (sock.is_open()) sock.close(e);
        sock.open(entry.endpoint().protocol(), e);
        if (e) {
            ec = e;
            continue;
        }
        sock.non_blocking(true, e);
        sock.connect(entry.endpoint(), e);
        if (e == asio::error::in_progress || e == asio::error::would_block) {
            e = {};
            // Writable once the handshake is done (or failed: SO_ERROR tells).
            for (;;) {
                if (stop && stop->load() != 0) {
                    e = asio::error::operation_aborted;
                    break;
                }
                auto left =
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
                if (left.count() <= 0) {
                    e = asio::error::timed_out;
                    break;
                }
                pollfd p{sock.native_handle(), POLLOUT, 0};
                if (::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100))) > 0) {
                    int so = 0;
                    socklen_t len = sizeof so;
                    ::getsockopt(sock.native_handle(), SOL_SOCKET, SO_ERROR, &so, &len);
                    if (so) e = beast::error_code(so, boost::system::system_category());
                    break;
                }
            }
        }
        if (!e) {
            sock.non_blocking(false, e);
            sock.set_option(tcp::no_delay(true), e);
            return true;
        }
        ec = e;
        if (e == asio::error::operation_aborted || e == asio::error::timed_out) break;
    }
    err = classify(ec, "cannot connect to", srv);
    return false;
}

} // namespace

RestClient::RestClient(ServerAddress server, std::string token, std::chrono::milliseconds timeout,
                       const std::atomic<int>* stop)
    : server_(std::move(server))
    , token_(std::move(token))
    , timeout_(timeout)
    , stop_(stop) {}

namespace {

http::request<http::string_body> make_request(std::string_view method, std::string_view target,
                                              const ServerAddress& srv, const std::string& token) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    std::string host = srv.host.find(':') != std::string::npos ? "[" + srv.host + "]" : srv.host;
    req.set(http::field::host, host + ":" + std::to_string(srv.port));
    req.set(http::field::user_agent, "lwm2m-cli");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    req.set(http::field::connection, "close");
    return req;
}

} // namespace

std::optional<HttpAnswer> RestClient::request(std::string_view method, std::string_view target,
                                              std::string body, std::string_view content_type,
                                              TransportError* error) const {
    TransportError local;
    TransportError& err = error ? *error : local;
    asio::io_context ioc;
    tcp::socket sock(ioc);
    auto deadline = Clock::now() + timeout_;
    if (!connect(sock, server_, deadline, stop_, err)) return std::nullopt;
    DeadlineStream ds(sock, deadline, stop_);
    auto req = make_request(method, target, server_, token_);
    req.set(http::field::accept, "application/json");
    if (!body.empty()) {
        req.set(http::field::content_type, content_type);
        req.body() = std::move(body);
    }
    req.prepare_payload();
    beast::error_code ec;
    http::write(ds, req, ec);
    // The body may hold key material (security add-psk, bootstrap add): wiped once sent.
    if (!req.body().empty()) secure_wipe(req.body().data(), req.body().size());
    if (ec) {
        err = classify(ec, "sending to", server_);
        return std::nullopt;
    }
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(ds, buf, parser, ec);
    if (ec) {
        if (ec == http::error::end_of_stream || ec == asio::error::eof)
            err = {TransportFailure::network,
                   "the connection to " + server_.text + " closed before an answer"};
        else if (ec.category() == beast::error_code(http::error::bad_version).category())
            err = {TransportFailure::protocol, server_.text + " did not answer HTTP/1.1"};
        else
            err = classify(ec, "reading from", server_);
        return std::nullopt;
    }
    auto& res = parser.get();
    HttpAnswer a;
    a.status = static_cast<int>(res.result_int());
    a.content_type = std::string(res[http::field::content_type]);
    a.body = std::move(res.body());
    beast::error_code ignore;
    sock.shutdown(tcp::socket::shutdown_both, ignore);
    return a;
}

std::optional<HttpAnswer> RestClient::stream(std::string_view target,
                                             const std::function<bool(const SseEvent&)>& on_event,
                                             std::optional<Clock::time_point> deadline,
                                             const std::function<bool()>& on_open,
                                             TransportError* error) const {
    TransportError local;
    TransportError& err = error ? *error : local;
    asio::io_context ioc;
    tcp::socket sock(ioc);
    auto connect_deadline = Clock::now() + timeout_;
    if (deadline) connect_deadline = std::min(connect_deadline, *deadline);
    if (!connect(sock, server_, connect_deadline, stop_, err)) return std::nullopt;
    DeadlineStream ds(sock, connect_deadline, stop_);
    auto req = make_request("GET", target, server_, token_);
    req.set(http::field::accept, "text/event-stream");
    beast::error_code ec;
    http::write(ds, req, ec);
    if (ec) {
        err = classify(ec, "sending to", server_);
        return std::nullopt;
    }
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1u << 20); // an error document; the event stream is read raw below
    http::read_header(ds, buf, parser, ec);
    if (ec) {
        err = classify(ec, "reading from", server_);
        return std::nullopt;
    }
    HttpAnswer a;
    a.status = static_cast<int>(parser.get().result_int());
    a.content_type = std::string(parser.get()[http::field::content_type]);
    const bool sse = a.status == 200 && a.content_type.rfind("text/event-stream", 0) == 0 &&
                     !parser.chunked() && !parser.content_length();
    if (!sse) { // an error document: read whole
        ds.set_deadline(Clock::now() + timeout_);
        http::read(ds, buf, parser, ec);
        if (ec && ec != http::error::end_of_stream && ec != asio::error::eof) {
            err = classify(ec, "reading from", server_);
            return std::nullopt;
        }
        a.body = std::move(parser.get().body());
        return a;
    }
    // The body of an event stream runs until the server closes the connection (the server sends
    // `Connection: close` and no length): read it raw. Until its own deadline (none: forever;
    // heartbeats keep it alive).
    ds.set_deadline(deadline.value_or(Clock::time_point::max()));
    if (on_open && !on_open()) return a;
    SseParser sp;
    auto deliver = [&](std::string_view bytes) {
        for (auto& e : sp.feed(bytes))
            if (!on_event(e)) return false;
        return true;
    };
    // Bytes that came with the header.
    std::string early(static_cast<const char*>(buf.data().data()), buf.size());
    buf.consume(buf.size());
    if (!deliver(early)) return a;
    char chunk[4096];
    for (;;) {
        std::size_t n = ds.read_some(asio::buffer(chunk), ec);
        if (n && !deliver(std::string_view(chunk, n))) return a;
        if (ec == asio::error::eof || ec == asio::error::connection_reset) {
            a.closed = true; // the server closed the stream
            return a;
        }
        if (ec == asio::error::timed_out && deadline) return a; // --duration reached
        if (ec) {
            err = classify(ec, "reading from", server_);
            return std::nullopt;
        }
    }
}

} // namespace lwm2m::app
