#include <gtest/gtest.h>

#include <lwm2m/http/router.hpp>

using namespace lwm2m::http;

namespace {

Response call(const Router& r, std::string method, std::string target,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request req;
    req.method = std::move(method);
    req.target = std::move(target);
    req.headers = std::move(headers);
    std::optional<Response> out;
    r.dispatch(req, Reply::to([&](Response x) { out = std::move(x); }));
    EXPECT_TRUE(out.has_value());
    return out ? *out : Response{};
}

nlohmann::json body(const Response& r) {
    return nlohmann::json::parse(r.body);
}

std::string header(const Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
        if (k == name) return v;
    return {};
}

Router echo_router() {
    Router r;
    auto echo = [](Request& req, Reply reply) {
        nlohmann::json params = nlohmann::json::object();
        for (const auto& [k, v] : req.params)
            params[k] = v;
        nlohmann::json q = nlohmann::json::array();
        for (const auto& [k, v] : req.query)
            q.push_back({k, v});
        reply.json(200, {{"method", req.method}, {"params", params}, {"query", q}});
    };
    r.add("GET", "/api/clients", echo);
    r.add("GET", "/api/clients/{ep}", echo);
    r.add("DELETE", "/api/clients/{ep}", echo);
    r.add("GET", "/api/clients/{ep}/read/{path...}", echo);
    r.add("GET", "/api/health", echo, true);
    return r;
}

} // namespace

TEST(HttpPercent, DecodesAndRejectsMalformedEscapes) {
    EXPECT_EQ(percent_decode("a%20b"), "a b");
    EXPECT_EQ(percent_decode("%2Fx%2f"), "/x/");
    EXPECT_EQ(percent_decode("a+b"), "a+b");
    EXPECT_EQ(percent_decode("a+b", true), "a b");
    EXPECT_EQ(percent_decode("%C3%A9"), "\xC3\xA9");
    EXPECT_FALSE(percent_decode("%"));
    EXPECT_FALSE(percent_decode("%4"));
    EXPECT_FALSE(percent_decode("ab%zz"));
    EXPECT_FALSE(percent_decode("%00")) << "a decoded NUL is refused";
    EXPECT_EQ(percent_encode("a b/é~"), "a%20b%2F%C3%A9~");
    EXPECT_EQ(percent_decode(percent_encode("x y%z")), "x y%z");
}

TEST(HttpPercent, QueryStrings) {
    auto q = parse_query("a=1&b=x%20y&c&&d=e+f&a=2");
    ASSERT_TRUE(q);
    ASSERT_EQ(q->size(), 5u);
    EXPECT_EQ((*q)[0], (std::pair<std::string, std::string>{"a", "1"}));
    EXPECT_EQ((*q)[1].second, "x y");
    EXPECT_EQ((*q)[2], (std::pair<std::string, std::string>{"c", ""}));
    EXPECT_EQ((*q)[3].second, "e f");
    EXPECT_EQ((*q)[4].second, "2");
    EXPECT_FALSE(parse_query("a=%G1"));
}

TEST(HttpRouter, MatchesTemplatesAndDecodesSegments) {
    auto r = echo_router();
    auto res = call(r, "GET", "/api/clients/dev%2F1?limit=5&ep=a%26b");
    ASSERT_EQ(res.status, 200u);
    auto j = body(res);
    EXPECT_EQ(j["params"]["ep"], "dev/1") << "%2F stays inside the segment";
    EXPECT_EQ(j["query"][0][1], "5");
    EXPECT_EQ(j["query"][1][1], "a&b");

    j = body(call(r, "GET", "/api/clients/dev1/read/3/0/1"));
    EXPECT_EQ(j["params"]["ep"], "dev1");
    EXPECT_EQ(j["params"]["path"], "3/0/1");
    j = body(call(r, "GET", "/api/clients/dev1/read/"));
    EXPECT_EQ(j["params"]["path"], "") << "a rest parameter may be empty";
    j = body(call(r, "GET", "/api/clients/dev1/read"));
    EXPECT_EQ(j["params"]["path"], "");
}

TEST(HttpRouter, NotFoundAndMethodNotAllowedWithAllow) {
    auto r = echo_router();
    auto res = call(r, "GET", "/api/nothing");
    EXPECT_EQ(res.status, 404u);
    EXPECT_EQ(body(res)["error"]["code"], "not_found");
    EXPECT_EQ(body(res)["error"]["status"], 404);
    EXPECT_EQ(call(r, "GET", "/api/clients/").status, 404u) << "an empty {ep} does not match";
    EXPECT_EQ(call(r, "GET", "/api/clients/a/b").status, 404u);

    res = call(r, "PUT", "/api/clients/dev1");
    EXPECT_EQ(res.status, 405u);
    EXPECT_EQ(header(res, "Allow"), "GET, DELETE");
    EXPECT_EQ(body(res)["error"]["code"], "method_not_allowed");

    res = call(r, "GET", "/api/clients/a%zz");
    EXPECT_EQ(res.status, 400u);
    res = call(r, "GET", "/api/clients?x=%");
    EXPECT_EQ(res.status, 400u);
}

TEST(HttpRouter, AuthenticatorGuardsAllButPublicRoutes) {
    auto r = echo_router();
    r.set_authenticator([](const Request& req) { return req.header("x-ok").has_value(); });
    EXPECT_EQ(call(r, "GET", "/api/health").status, 200u) << "public";
    auto res = call(r, "GET", "/api/clients");
    EXPECT_EQ(res.status, 401u);
    EXPECT_EQ(header(res, "WWW-Authenticate").rfind("Bearer", 0), 0u);
    EXPECT_EQ(call(r, "GET", "/api/unknown").status, 401u)
        << "unknown routes are not revealed without a token";
    EXPECT_EQ(call(r, "GET", "/api/clients", {{"x-ok", "1"}}).status, 200u);
    EXPECT_EQ(call(r, "GET", "/api/unknown", {{"x-ok", "1"}}).status, 404u);
}

TEST(HttpRouter, BadPatternsAndDuplicatesAreProgrammingErrors) {
    Router r;
    auto h = [](Request&, Reply) {};
    EXPECT_THROW(r.add("GET", "api", h), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/{x...}/b", h), std::invalid_argument);
    EXPECT_THROW(r.add("GET", "/a/{}", h), std::invalid_argument);
    r.add("GET", "/a/{x}", h);
    EXPECT_THROW(r.add("GET", "/a/{x}", h), std::invalid_argument);
    EXPECT_EQ(r.routes().size(), 1u);
}

TEST(HttpRouter, ThrowingHandlerIs500) {
    Router r;
    r.add("GET", "/x", [](Request&, Reply) { throw std::runtime_error("boom"); });
    auto res = call(r, "GET", "/x");
    EXPECT_EQ(res.status, 500u);
    EXPECT_EQ(body(res)["error"]["message"], "the handler failed") << "no exception text leaks";
}

TEST(HttpReply, FirstSendWinsAndDropAnswers503) {
    std::vector<unsigned> got;
    {
        Reply r = Reply::to([&](Response x) { got.push_back(x.status); });
        Reply copy = r;
        EXPECT_FALSE(r.done());
        EXPECT_TRUE(r.json(200, {}));
        EXPECT_FALSE(copy.json(201, {}));
        EXPECT_TRUE(copy.done());
    }
    ASSERT_EQ(got, (std::vector<unsigned>{200}));
    got.clear();
    {
        Reply r = Reply::to([&](Response x) { got.push_back(x.status); });
    }
    EXPECT_EQ(got, (std::vector<unsigned>{503})) << "dropped unanswered";
}
