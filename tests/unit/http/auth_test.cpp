#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/http/auth.hpp>

using namespace lwm2m;
using namespace lwm2m::http;

namespace {
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/lwm2m_http_auth_XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

Request with_auth(std::string value) {
    Request r;
    r.method = "GET";
    r.path = "/api/clients";
    r.headers.emplace_back("authorization", std::move(value));
    return r;
}
} // namespace

TEST(HttpAuth, TokenIsCreatedOnceWithMode0600AndReloaded) {
    TempDir dir;
    SeededRandom rng(7);
    bool created = false;
    auto t1 = load_or_create_token(dir.path, rng, &created);
    ASSERT_TRUE(t1);
    EXPECT_TRUE(created);
    EXPECT_EQ(t1->size(), 64u);
    for (auto b : t1->view()) {
        char c = static_cast<char>(b);
        EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
    struct ::stat st {};
    ASSERT_EQ(::stat((dir.path / "api-token").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto t2 = load_or_create_token(dir.path, rng, &created);
    ASSERT_TRUE(t2);
    EXPECT_FALSE(created);
    EXPECT_TRUE(t2->equals(t1->view()));
    SeededRandom other(8);
    EXPECT_FALSE(generate_token(other).equals(t1->view()));
}

TEST(HttpAuth, RefusesAGroupReadableOrBadTokenFile) {
    TempDir dir;
    SeededRandom rng(1);
    auto file = dir.path / "api-token";
    { std::ofstream(file) << "secret-token\n"; }
    ::chmod(file.c_str(), 0644);
    auto r = load_or_create_token(dir.path, rng);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::invalid_state));
    ::chmod(file.c_str(), 0600);
    r = load_or_create_token(dir.path, rng);
    ASSERT_TRUE(r) << "a given token is used as written";
    EXPECT_TRUE(r->equals(as_bytes("secret-token")));
    { std::ofstream(file) << "two words\n"; }
    r = load_or_create_token(dir.path, rng);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::parse_error));
    auto missing = load_or_create_token(dir.path / "no" / "such", rng);
    EXPECT_FALSE(missing);
}

TEST(HttpAuth, BearerCheck) {
    SecretBytes token(as_bytes("0123abcd"));
    EXPECT_TRUE(check_bearer(with_auth("Bearer 0123abcd"), token, false));
    EXPECT_TRUE(check_bearer(with_auth("bearer 0123abcd"), token, false));
    EXPECT_FALSE(check_bearer(with_auth("Bearer 0123abcE"), token, false));
    EXPECT_FALSE(check_bearer(with_auth("Bearer 0123abc"), token, false));
    EXPECT_FALSE(check_bearer(with_auth("Basic 0123abcd"), token, false));
    EXPECT_FALSE(check_bearer(with_auth("0123abcd"), token, false));
    Request none;
    EXPECT_FALSE(check_bearer(none, token, true));
    Request q;
    q.query.emplace_back("access_token", "0123abcd");
    EXPECT_FALSE(check_bearer(q, token, false));
    EXPECT_TRUE(check_bearer(q, token, true));
    EXPECT_FALSE(check_bearer(with_auth("Bearer "), SecretBytes{}, false)) << "no empty token";

    auto auth = bearer_authenticator(SecretBytes(as_bytes("tok")));
    Request ev;
    ev.method = "GET";
    ev.path = "/api/events";
    ev.query.emplace_back("access_token", "tok");
    EXPECT_TRUE(auth(ev)) << "EventSource cannot send headers";
    ev.path = "/api/clients";
    EXPECT_FALSE(auth(ev)) << "the query form only on /api/events";
}
