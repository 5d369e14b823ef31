#include <lwm2m/http/server.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/http/events.hpp>

namespace lwm2m::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

/// Replies may arrive from any thread at any time; the gate makes posting into the io_context
/// safe even while the server is being destroyed.
struct Gate {
    std::mutex mutex;
    bool open = true;
};

class Session;

} // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
    Impl(const Router& r, ServerOptions o, Logger& l)
        : router(r)
        , options(std::move(o))
        , log(l) {}

    const Router& router;
    ServerOptions options;
    Logger& log;
    std::shared_ptr<Gate> gate = std::make_shared<Gate>();

    mutable std::mutex mutex; // sessions, stats
    std::condition_variable idle_cv;
    std::list<std::weak_ptr<Session>> sessions;
    ServerStats stats;
    std::atomic<bool> stopping{false};
    std::atomic<std::uint16_t> bound_port{0};
    bool started = false;
    bool stopped = false;

    // Declared last: destroyed first, while the members above are still alive for the
    // destructors of the sessions its pending handlers hold.
    std::vector<std::thread> threads;
    net::io_context ioc;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::optional<tcp::acceptor> acceptor;
    net::steady_timer accept_pause{ioc};

    void do_accept();
    void count(std::uint64_t ServerStats::*field) {
        std::lock_guard lock(mutex);
        ++(stats.*field);
    }
};

namespace {

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view busy_503 =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    "Content-Length: 91\r\n\r\n"
    "{\"error\":{\"status\":503,\"code\":\"too_many_connections\",\"message\":\"connection limit "
    "reached\"}}";
static_assert(busy_503.size() - busy_503.find("\r\n\r\n") - 4 == 91);

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket&& socket, std::shared_ptr<HttpServer::Impl> srv)
        : stream_(std::move(socket))
        , srv_(std::move(srv))
        , timer_(stream_.get_executor()) {
        beast::error_code ec;
        auto ep = stream_.socket().remote_endpoint(ec);
        if (!ec) {
            remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
        }
    }

    ~Session() {
        std::lock_guard lock(srv_->mutex);
        --srv_->stats.active_connections;
        if (sse_) --srv_->stats.event_streams;
        srv_->idle_cv.notify_all();
    }

    void start() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
    }

    [[nodiscard]] auto executor() { return stream_.get_executor(); }

    /// Closes now, whatever the state (destruction).
    void force_close() { close(); }

    /// Graceful stop, on the session's strand.
    void on_stop() {
        stopping_ = true;
        if (state_ == State::reading || state_ == State::sse) {
            if (sub_) sub_->close();
            close();
        }
        // waiting/writing: the response goes out with "Connection: close", then close().
    }

private:
    enum class State { reading, waiting, writing, sse, closed };

    void do_read() {
        if (stopping_) return close();
        state_ = State::reading;
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(srv_->options.max_header_bytes));
        parser_->body_limit(srv_->options.max_body_bytes);
        stream_.expires_after(srv_->options.request_timeout);
        bhttp::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&Session::on_header, shared_from_this()));
    }

    bool read_failed(beast::error_code ec) {
        if (!ec) return false;
        if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
            ec == net::error::operation_aborted || ec == net::error::connection_reset) {
            close();
        } else if (ec == beast::error::timeout) {
            srv_->count(&ServerStats::request_timeouts);
            // A partial request that timed out gets 408; an idle keep-alive connection just closes.
            if (parser_ && parser_->got_some())
                fail_and_close(408, "request_timeout", "the request was not received in time");
            else
                close();
        } else if (ec == bhttp::error::header_limit) {
            srv_->count(&ServerStats::bad_requests);
            fail_and_close(431, "header_too_large", "the request header is too large");
        } else if (ec == bhttp::error::body_limit) {
            srv_->count(&ServerStats::bad_requests);
            fail_and_close(413, "payload_too_large",
                           "the request body is larger than " +
                               std::to_string(srv_->options.max_body_bytes) + " bytes");
        } else {
            srv_->count(&ServerStats::bad_requests);
            fail_and_close(400, "bad_request", "malformed HTTP request");
        }
        return true;
    }

    void on_header(beast::error_code ec, std::size_t) {
        if (read_failed(ec)) return;
        auto& req = parser_->get();
        if (iequals(req[bhttp::field::expect], "100-continue") && !parser_->is_done()) {
            net::async_write(stream_, net::buffer(continue_100.data(), continue_100.size()),
                             [self = shared_from_this()](beast::error_code e, std::size_t) {
                                 if (e) return self->close();
                                 self->read_body();
                             });
            return;
        }
        read_body();
    }

    void read_body() {
        bhttp::async_read(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (read_failed(ec)) return;
        stream_.expires_never();
        auto msg = parser_->release();
        parser_.reset();
        keep_alive_ = msg.keep_alive();
        {
            std::lock_guard lock(srv_->mutex);
            ++srv_->stats.requests;
        }
        Request req;
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        req.headers.reserve(16);
        for (const auto& f : msg)
            req.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
        req.body = std::move(msg.body());
        req.remote = remote_;
        method_ = req.method;

        state_ = State::waiting;
        const std::uint64_t gen = ++generation_;
        auto state = std::make_shared<detail::ReplyState>(
            [gate = srv_->gate, weak = weak_from_this(), gen](std::function<Response()> make) {
                std::lock_guard lock(gate->mutex);
                if (!gate->open) return;
                auto self = weak.lock();
                if (!self) return;
                net::post(self->stream_.get_executor(),
                          [self, gen, make = std::move(make)] { self->on_reply(gen, make()); });
            });
        reply_state_ = state;
        Reply reply(std::move(state));
        srv_->router.dispatch(req, reply);
        path_ = req.path;
        // The wait is armed even for a reply already marked done: Reply::send_with marks it
        // before posting the answer, and until that post has taken its reference to this
        // session, the pending wait is what keeps the session (and its socket) alive. Skipping
        // it for a done reply closed the connection without an answer when another thread
        // answered within microseconds. on_reply cancels it.
        timer_.expires_after(req.answer_within);
        timer_.async_wait([self = shared_from_this(), gen](beast::error_code e) {
            if (e || self->generation_ != gen || self->state_ != State::waiting) return;
            if (auto st = self->reply_state_.lock()) st->done.store(true);
            self->srv_->count(&ServerStats::answer_timeouts);
            self->write(Response::error(504, "answer_timeout",
                                        "no answer within the request's time limit"));
        });
    }

    void on_reply(std::uint64_t gen, Response r) {
        if (gen != generation_ || state_ != State::waiting) return;
        timer_.cancel();
        if (r.stream) return start_sse(std::move(r));
        write(std::move(r));
    }

    void write(Response r) {
        state_ = State::writing;
        auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
        res->version(11);
        res->result(r.status);
        res->set(bhttp::field::server, "lwm2m-cpp");
        if (!r.content_type.empty()) res->set(bhttp::field::content_type, r.content_type);
        res->set(bhttp::field::cache_control, "no-store");
        for (auto& [k, v] : r.headers)
            res->set(k, v);
        res->body() = std::move(r.body);
        const bool keep = keep_alive_ && !stopping_ && !close_after_;
        res->keep_alive(keep);
        res->prepare_payload();
        if (srv_->log.enabled(LogLevel::debug))
            srv_->log.write(LogLevel::debug, "http",
                            method_ + " " + path_ + " " + std::to_string(r.status));
        stream_.expires_after(srv_->options.write_timeout);
        bhttp::async_write(
            stream_, *res,
            [self = shared_from_this(), res, keep](beast::error_code ec, std::size_t) {
                self->stream_.expires_never();
                if (!ec && self->close_after_) return self->linger_close();
                if (ec || !keep) return self->close();
                self->do_read();
            });
    }

    void fail_and_close(unsigned status, std::string_view code, const std::string& msg) {
        close_after_ = true;
        method_ = "-";
        write(Response::error(status, code, msg));
    }

    // ---- server-sent events --------------------------------------------------------------
    void start_sse(Response r) {
        state_ = State::sse;
        sse_ = true;
        {
            std::lock_guard lock(srv_->mutex);
            ++srv_->stats.event_streams;
        }
        sub_ = std::move(r.stream);
        std::string head = "HTTP/1.1 200 OK\r\nServer: lwm2m-cpp\r\n"
                           "Content-Type: text/event-stream; charset=utf-8\r\n"
                           "Cache-Control: no-store\r\nConnection: close\r\n"
                           "X-Accel-Buffering: no\r\n";
        for (auto& [k, v] : r.headers)
            head.append(k).append(": ").append(v).append("\r\n");
        head += "\r\n";
        head += "retry: " + std::to_string(srv_->options.sse_retry.count()) + "\n\n";
        out_ = std::move(head);
        watch_peer();
        arm_heartbeat();
        sub_->set_notify([gate = srv_->gate, weak = weak_from_this()] {
            auto self = weak.lock();
            if (!self || self->flush_posted_.exchange(true)) return;
            std::lock_guard lock(gate->mutex);
            if (!gate->open) return;
            net::post(self->stream_.get_executor(), [self] {
                self->flush_posted_ = false;
                self->sse_flush();
            });
        });
        sse_flush();
    }

    /// Reads (and ignores) anything the client sends; EOF or an error ends the stream.
    void watch_peer() {
        stream_.socket().async_read_some(
            net::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (self->state_ != State::sse) return;
                if (ec) {
                    if (self->sub_) self->sub_->close();
                    return self->close();
                }
                self->watch_peer();
            });
    }

    void arm_heartbeat() {
        timer_.expires_after(srv_->options.sse_heartbeat);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || self->state_ != State::sse) return;
            if (!self->writing_) {
                self->out_ += ": heartbeat\n\n";
                self->sse_flush();
            }
            self->arm_heartbeat();
        });
    }

    void sse_flush() {
        if (state_ != State::sse || writing_ || !sub_) return;
        bool finished = false;
        out_ += sub_->take(&finished);
        if (finished || stopping_) finish_ = true;
        if (out_.empty()) {
            if (finish_) close();
            return;
        }
        writing_ = true;
        sending_.swap(out_);
        out_.clear();
        stream_.expires_after(srv_->options.write_timeout);
        net::async_write(stream_, net::buffer(sending_),
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->stream_.expires_never();
                             self->writing_ = false;
                             self->sending_.clear();
                             if (ec || self->finish_) {
                                 if (self->sub_) self->sub_->close();
                                 return self->close();
                             }
                             self->sse_flush();
                         });
    }

    /// After an error answer to a request whose body was not read: half-close, then discard
    /// what the client still sends (bounded in bytes and time) so that closing does not reset
    /// the connection before the client has read the answer (RFC 9112 §9.6).
    void linger_close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream_.expires_after(std::chrono::seconds(2));
        drain_some();
    }
    void drain_some() {
        stream_.async_read_some(net::buffer(scratch_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->drained_ += n;
                                    if (ec || self->drained_ > (8u << 20)) return self->close();
                                    self->drain_some();
                                });
    }

    void close() {
        if (state_ == State::closed) return;
        state_ = State::closed;
        timer_.cancel();
        if (sub_) sub_->close();
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }

    beast::tcp_stream stream_;
    std::shared_ptr<HttpServer::Impl> srv_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    std::string remote_;
    std::string method_;
    std::string path_;
    bool keep_alive_ = true;
    bool close_after_ = false;
    bool stopping_ = false;
    State state_ = State::reading;
    std::uint64_t generation_ = 0;
    std::weak_ptr<detail::ReplyState> reply_state_;
    // SSE
    bool sse_ = false;
    bool writing_ = false;
    bool finish_ = false;
    std::atomic<bool> flush_posted_{false};
    std::shared_ptr<Subscription> sub_;
    std::string out_;
    std::string sending_;
    std::array<char, 4096> scratch_{};
    std::size_t drained_ = 0;

    friend struct HttpServer::Impl;
};

} // namespace

void HttpServer::Impl::do_accept() {
    acceptor->async_accept(
        net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
            if (self->stopping || ec == net::error::operation_aborted) return;
            if (ec) {
                // Not a reason to stop listening: a connection reset before it was accepted
                // (ECONNABORTED) is gone, and out of descriptors (EMFILE, ENFILE) or buffers
                // passes once connections close; those retry after a pause instead of spinning.
                self->count(&ServerStats::accept_errors);
                self->log.write(LogLevel::warn, "http", "accept failed: " + ec.message());
                if (ec == net::error::connection_aborted) return self->do_accept();
                self->accept_pause.expires_after(std::chrono::milliseconds(100));
                self->accept_pause.async_wait([self](beast::error_code e) {
                    if (!e && !self->stopping) self->do_accept();
                });
                return;
            }
            bool reject;
            {
                std::lock_guard lock(self->mutex);
                reject = self->stats.active_connections >= self->options.max_connections;
                if (reject) {
                    ++self->stats.connections_rejected;
                } else {
                    ++self->stats.connections_accepted;
                    ++self->stats.active_connections;
                }
            }
            if (reject) {
                auto sock = std::make_shared<tcp::socket>(std::move(s));
                net::async_write(*sock, net::buffer(busy_503.data(), busy_503.size()),
                                 [sock](beast::error_code, std::size_t) {
                                     beast::error_code e;
                                     sock->shutdown(tcp::socket::shutdown_both, e);
                                     sock->close(e);
                                 });
            } else {
                auto session = std::make_shared<Session>(std::move(s), self);
                {
                    std::lock_guard lock(self->mutex);
                    self->sessions.remove_if([](auto& w) { return w.expired(); });
                    self->sessions.push_back(session);
                }
                session->start();
            }
            self->do_accept();
        });
}

HttpServer::HttpServer(const Router& router, ServerOptions options, Logger& log)
    : impl_(std::make_shared<Impl>(router, std::move(options), log)) {}

HttpServer::~HttpServer() {
    // A destructor must not throw (std::terminate): should stopping fail (a mutex or memory
    // error), what is left is released with impl_.
    try {
        stop(std::chrono::milliseconds(0));
        {
            std::lock_guard lock(impl_->gate->mutex);
            impl_->gate->open = false;
        }
        // Pending handlers hold sessions, which hold impl_: close every socket and timer and let
        // the handlers finish on this thread (no I/O thread runs any more), which releases them.
        auto& im = *impl_;
        std::vector<std::shared_ptr<Session>> live;
        {
            std::lock_guard lock(im.mutex);
            for (auto& w : im.sessions)
                if (auto s = w.lock()) live.push_back(std::move(s));
            im.sessions.clear();
        }
        im.ioc.restart();
        net::post(im.ioc, [impl = impl_] {
            beast::error_code ec;
            if (impl->acceptor) impl->acceptor->close(ec);
            impl->accept_pause.cancel();
        });
        for (auto& s : live)
            net::post(s->executor(), [s] { s->force_close(); });
        live.clear();
        im.ioc.run_for(std::chrono::seconds(2));
    } catch (...) {
    }
}

Result<void> HttpServer::start() {
    auto& im = *impl_;
    if (im.started) return fail(Errc::invalid_state);
    beast::error_code ec;
    auto addr = net::ip::make_address(im.options.address, ec);
    if (ec) return fail(Errc::invalid_argument);
    tcp::endpoint ep(addr, im.options.port);
    tcp::acceptor acc(im.ioc);
    auto sys = [](const beast::error_code& e) {
        return fail(std::error_code(e.value(), std::system_category()));
    };
    acc.open(ep.protocol(), ec);
    if (ec) return sys(ec);
    acc.set_option(net::socket_base::reuse_address(true), ec);
    if (addr.is_v6()) acc.set_option(net::ip::v6_only(true), ec);
    acc.bind(ep, ec);
    if (ec) return sys(ec);
    acc.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return sys(ec);
    im.bound_port = acc.local_endpoint().port();
    im.acceptor.emplace(std::move(acc));
    im.started = true;
    im.work.emplace(net::make_work_guard(im.ioc));
    im.do_accept();
    std::size_t n = im.options.threads == 0 ? 1 : im.options.threads;
    for (std::size_t i = 0; i < n; ++i)
        im.threads.emplace_back([impl = impl_] { impl->ioc.run(); });
    return ok();
}

std::uint16_t HttpServer::port() const noexcept {
    return impl_->bound_port.load();
}

void HttpServer::stop(std::chrono::milliseconds grace) {
    auto& im = *impl_;
    if (!im.started || im.stopped) return;
    im.stopped = true;
    im.stopping = true;
    net::post(im.ioc, [impl = impl_] {
        beast::error_code ec;
        if (impl->acceptor) impl->acceptor->close(ec);
        impl->accept_pause.cancel();
    });
    std::vector<std::shared_ptr<Session>> live;
    {
        std::lock_guard lock(im.mutex);
        for (auto& w : im.sessions)
            if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live)
        net::post(s->executor(), [s] { s->on_stop(); });
    live.clear();
    {
        std::unique_lock lock(im.mutex);
        im.idle_cv.wait_for(lock, grace, [&] { return im.stats.active_connections == 0; });
    }
    im.work.reset();
    im.ioc.stop();
    for (auto& t : im.threads)
        if (t.joinable()) t.join();
    im.threads.clear();
}

ServerStats HttpServer::stats() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->stats;
}

} // namespace lwm2m::http
