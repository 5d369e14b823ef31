// HttpServer lifetimes on loopback: answers from another thread, answers arriving after the
// server is gone, stop() with a request in flight.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/http/server.hpp>

using namespace lwm2m::http;

namespace {

/// Sends one request and reads until the peer closes or `limit` passes; returns the bytes.
std::string exchange(std::uint16_t port, const std::string& request,
                     std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{0, 100000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return {};
    }
    (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string out;
    char buf[4096];
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0) break;
        if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

const std::string get_x = "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

} // namespace

TEST(HttpServer, AnswerFromAnotherThread) {
    Router r;
    std::thread worker;
    r.add("GET", "/x", [&](Request&, Reply reply) {
        worker = std::thread([reply] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            reply.json(200, {{"from", "worker"}});
        });
    });
    HttpServer s(r, {.address = "127.0.0.1", .port = 0});
    ASSERT_TRUE(s.start());
    ASSERT_NE(s.port(), 0);
    auto out = exchange(s.port(), get_x);
    EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
    EXPECT_NE(out.find("{\"from\":\"worker\"}"), std::string::npos) << out;
    worker.join();
    s.stop();
    EXPECT_EQ(s.stats().requests, 1u);
    EXPECT_EQ(s.stats().active_connections, 0u);
}

TEST(HttpServer, ALateAnswerAfterDestructionIsDiscarded) {
    Router r;
    std::promise<Reply> parked;
    r.add("GET", "/x", [&](Request& req, Reply reply) {
        req.answer_within = std::chrono::seconds(30);
        parked.set_value(reply);
    });
    auto s = std::make_unique<HttpServer>(r, ServerOptions{.address = "127.0.0.1", .port = 0});
    ASSERT_TRUE(s->start());
    auto port = s->port();
    auto client = std::async(std::launch::async,
                             [&] { return exchange(port, get_x, std::chrono::seconds(3)); });
    auto fut = parked.get_future();
    ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    Reply reply = fut.get();
    s.reset(); // in-flight request abandoned (grace 0)
    EXPECT_TRUE(reply.json(200, {})) << "the handle still takes the answer";
    EXPECT_EQ(client.get(), "") << "the connection was closed without an answer";
}

TEST(HttpServer, StopLetsTheRequestInFlightFinish) {
    Router r;
    std::promise<Reply> parked;
    r.add("GET", "/x", [&](Request&, Reply reply) { parked.set_value(reply); });
    HttpServer s(r, {.address = "127.0.0.1", .port = 0});
    ASSERT_TRUE(s.start());
    auto port = s.port();
    auto client = std::async(std::launch::async, [&] { return exchange(port, get_x); });
    auto fut = parked.get_future();
    ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    Reply reply = fut.get();
    std::thread answer([reply] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        reply.json(200, {{"late", true}});
    });
    auto t0 = std::chrono::steady_clock::now();
    s.stop(std::chrono::seconds(5));
    auto took = std::chrono::steady_clock::now() - t0;
    answer.join();
    auto out = client.get();
    EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
    EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
    EXPECT_LT(took, std::chrono::seconds(4)) << "stop returns once the request is answered";
    EXPECT_EQ(exchange(port, get_x, std::chrono::milliseconds(300)), "") << "no longer accepting";
}

TEST(HttpServer, StartErrors) {
    Router r;
    HttpServer bad(r, {.address = "localhost", .port = 0});
    auto e = bad.start();
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error(), make_error_code(lwm2m::Errc::invalid_argument));
    HttpServer a(r, {.address = "127.0.0.1", .port = 0});
    ASSERT_TRUE(a.start());
    EXPECT_FALSE(a.start()) << "twice";
    HttpServer b(r, {.address = "127.0.0.1", .port = a.port()});
    auto busy = b.start();
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error(), std::error_code(EADDRINUSE, std::system_category()));
}
