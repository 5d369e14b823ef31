// Every route of the REST API against the fake backend, through the Router (no sockets), and the
// check that docs/openapi.json documents exactly the registered routes.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include <lwm2m/http/api.hpp>
#include <lwm2m/http/auth.hpp>

#include "unit/http/fake_backend.hpp"

using namespace lwm2m;
using namespace lwm2m::http;
using nlohmann::json;

namespace {

constexpr const char* token = "t0ken";

class Api : public ::testing::Test {
public:
    Api() {
        register_api(router, backend, hub, ApiOptions{{"lwm2m-cpp", "1.2.3", {"1.1"}}});
        router.set_authenticator(bearer_authenticator(SecretBytes(as_bytes(token))));
    }

    struct Out {
        unsigned status = 0;
        json body;
        Response raw;
        bool answered = false;
    };

    Out call(std::string method, std::string target, std::string body = {},
             std::string content_type = "application/json", bool auth = true) {
        Request req;
        req.method = std::move(method);
        req.target = std::move(target);
        req.body = std::move(body);
        if (!req.body.empty() && !content_type.empty())
            req.headers.emplace_back("content-type", content_type);
        if (auth) req.headers.emplace_back("authorization", std::string("Bearer ") + token);
        // Shared: a parked request may be answered (503) when the backend goes away, after
        // this call returned.
        auto out = std::make_shared<Out>();
        router.dispatch(req, Reply::to([out](Response r) {
                            out->answered = true;
                            out->status = r.status;
                            if (!r.body.empty() && r.content_type == "application/json")
                                out->body = json::parse(r.body);
                            out->raw = std::move(r);
                        }));
        last_answer_within = req.answer_within;
        return *out;
    }
    Out call(std::string method, std::string target, const json& body) {
        return call(std::move(method), std::move(target), body.dump());
    }
    static std::string header(const Out& o, std::string_view name) {
        for (const auto& [k, v] : o.raw.headers)
            if (k == name) return v;
        return {};
    }

    Router router;
    std::shared_ptr<EventHub> hub = EventHub::create();
    fake::FakeBackend backend{std::nullopt, hub};
    std::chrono::milliseconds last_answer_within{0};
};

void expect_error(const Api::Out& o, unsigned status, std::string_view code = {}) {
    EXPECT_EQ(o.status, status) << o.body.dump();
    ASSERT_TRUE(o.body.contains("error")) << o.body.dump();
    EXPECT_EQ(o.body["error"]["status"], status);
    EXPECT_FALSE(o.body["error"]["message"].get<std::string>().empty());
    if (!code.empty()) {
        EXPECT_EQ(o.body["error"]["code"], code);
    }
}

} // namespace

TEST_F(Api, HealthIsPublicEverythingElseNeedsTheToken) {
    auto h = call("GET", "/api/health", "", "", false);
    EXPECT_EQ(h.status, 200u);
    EXPECT_EQ(h.body["status"], "ok");
    auto v = call("GET", "/api/version", "", "", false);
    expect_error(v, 401, "unauthorized");
    v = call("GET", "/api/version");
    EXPECT_EQ(v.status, 200u);
    EXPECT_EQ(v.body["version"], "1.2.3");
    EXPECT_EQ(v.body["api_version"], "1");
    for (const auto& r : router.routes())
        if (r.pattern != "/api/health") {
            EXPECT_FALSE(r.is_public) << r.method << " " << r.pattern;
        }
}

TEST_F(Api, StatsShowCountersAndLatencyWithBuckets) {
    expect_error(call("GET", "/api/stats", "", "", false), 401, "unauthorized");
    auto r = call("GET", "/api/stats");
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(r.body["dm"]["registrations"], 2);
    EXPECT_EQ(r.body["dm"]["updates"], 7);
    EXPECT_EQ(r.body["bootstrap"]["finished"], 1);
    EXPECT_EQ(r.body["dtls"]["sessions"], 0);
    const auto& u = r.body["latency"]["update"];
    EXPECT_EQ(u["count"], 4);
    EXPECT_DOUBLE_EQ(u["max_ms"].get<double>(), 4.0);
    EXPECT_DOUBLE_EQ(u["p99_ms"].get<double>(), 4.0);
    EXPECT_GE(u["p50_ms"].get<double>(), 0.2);
    EXPECT_LE(u["p50_ms"].get<double>(), 0.2 * 1.125);
    ASSERT_EQ(u["buckets_us"].size(), 4u);
    std::uint64_t total = 0;
    for (const auto& b : u["buckets_us"])
        total += b[1].get<std::uint64_t>();
    EXPECT_EQ(total, 4u);
}

TEST_F(Api, ClientsListFiltersAndPages) {
    auto o = call("GET", "/api/clients");
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["total"], 3);
    EXPECT_EQ(o.body["items"].size(), 3u);
    EXPECT_EQ(o.body["items"][0]["endpoint"], "dev1");
    EXPECT_EQ(o.body["items"][0]["objects"][1]["path"], "/3/0");
    EXPECT_EQ(o.body["items"][0]["objects"][1]["attributes"]["ver"], "1.1");
    o = call("GET", "/api/clients?ep=dev");
    EXPECT_EQ(o.body["total"], 2);
    o = call("GET", "/api/clients?ep_prefix=sens");
    EXPECT_EQ(o.body["total"], 1);
    o = call("GET", "/api/clients?binding=UQ");
    EXPECT_EQ(o.body["items"][0]["endpoint"], "dev2");
    o = call("GET", "/api/clients?security=psk");
    EXPECT_EQ(o.body["items"][0]["endpoint"], "sensor-a");
    o = call("GET", "/api/clients?offset=1&limit=1");
    EXPECT_EQ(o.body["total"], 3);
    ASSERT_EQ(o.body["items"].size(), 1u);
    EXPECT_EQ(o.body["items"][0]["endpoint"], "dev2");
    EXPECT_EQ(o.body["limit"], 1);
    expect_error(call("GET", "/api/clients?limit=0"), 400, "bad_request");
    expect_error(call("GET", "/api/clients?limit=100000"), 400);
    expect_error(call("GET", "/api/clients?offset=-1"), 400);
    expect_error(call("GET", "/api/clients?security=magic"), 400);
    expect_error(call("GET", "/api/clients?binding=X"), 400);
}

TEST_F(Api, ClientsListSaysWhenANodeIsMissing) {
    auto o = call("GET", "/api/clients");
    ASSERT_EQ(o.status, 200u);
    EXPECT_FALSE(o.body.contains("partial")) << "only on a partial answer";
    EXPECT_FALSE(o.body.contains("missing_nodes"));
    backend.list_missing = std::vector<std::string>{"n1", "n3"};
    o = call("GET", "/api/clients?limit=2");
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["partial"], true);
    EXPECT_EQ(o.body["missing_nodes"], nlohmann::json::array({"n1", "n3"}));
    EXPECT_EQ(o.body["items"].size(), 2u);
    EXPECT_EQ(o.body["total"], 3);
}

TEST_F(Api, OneClientObjectsAndDelete) {
    auto o = call("GET", "/api/clients/dev1");
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["registration_id"], "r-dev1");
    EXPECT_EQ(o.body["security_mode"], "nosec");
    o = call("GET", "/api/clients/dev1/objects");
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["objects"][1]["model"]["name"], "Device");
    EXPECT_TRUE(o.body["objects"][2]["model"].is_null()) << "3303 is not a core model";
    expect_error(call("GET", "/api/clients/ghost"), 404, "unknown_client");
    expect_error(call("GET", "/api/clients/ghost/objects"), 404);
    bool fin = false;
    auto sub = hub->subscribe({}, std::nullopt);
    EXPECT_EQ(call("DELETE", "/api/clients/dev2").status, 204u);
    EXPECT_NE(sub->take(&fin).find("event: deregistration"), std::string::npos);
    expect_error(call("DELETE", "/api/clients/dev2"), 404);
    expect_error(call("POST", "/api/clients/dev1"), 405, "method_not_allowed");
}

TEST_F(Api, ReadDiscoverAndParameters) {
    auto o = call("GET", "/api/clients/dev1/read/3/0?format=senml-cbor&timeout=2.5");
    ASSERT_EQ(o.status, 200u) << o.body.dump();
    EXPECT_EQ(o.body["code"], "2.05");
    EXPECT_EQ(o.body["success"], true);
    EXPECT_EQ(o.body["rtt_ms"], 1.5);
    EXPECT_EQ(o.body["format"], "senml-cbor");
    EXPECT_EQ(o.body["content"]["kind"], "instance");
    EXPECT_EQ(o.body["content"]["resources"][0]["value"], "Acme");
    auto d = backend.last_device();
    ASSERT_TRUE(d);
    EXPECT_EQ(d->op, Operation::read);
    EXPECT_EQ(d->endpoint, "dev1");
    EXPECT_EQ(d->timeout, std::chrono::milliseconds(2500));
    EXPECT_EQ(d->format, format::ContentFormat::senml_cbor);
    EXPECT_EQ(last_answer_within, std::chrono::milliseconds(4500)) << "timeout + margin";

    o = call("GET", "/api/clients/dev1/read/3/0/7");
    EXPECT_EQ(o.status, 200u) << "a CoAP error is data";
    EXPECT_EQ(o.body["code"], "4.04");
    EXPECT_EQ(o.body["success"], false);

    o = call("GET", "/api/clients/dev1/discover/3/0");
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["links"][2]["target"], "/3/0/9");
    EXPECT_EQ(o.body["links"][2]["attributes"]["pmin"], "10");

    expect_error(call("GET", "/api/clients/dev1/read/"), 400);
    expect_error(call("GET", "/api/clients/dev1/read/3/x"), 400);
    expect_error(call("GET", "/api/clients/dev1/read/3/0/1/2/3"), 400);
    expect_error(call("GET", "/api/clients/dev1/read/3?format=xml"), 400);
    expect_error(call("GET", "/api/clients/dev1/read/3?timeout=0"), 400);
    expect_error(call("GET", "/api/clients/dev1/read/3?timeout=1e9"), 400);
    expect_error(call("GET", "/api/clients/dev1/read/3?timeout=abc"), 400);
    expect_error(call("GET", "/api/clients/ghost/read/3/0"), 404);
}

TEST_F(Api, WriteReplaceAndPartial) {
    auto o = call("PUT", "/api/clients/dev1/write/1/0/1", json{{"value", 300}});
    ASSERT_EQ(o.status, 200u) << o.body.dump();
    EXPECT_EQ(o.body["code"], "2.04");
    auto d = backend.last_device();
    ASSERT_TRUE(d && d->content);
    EXPECT_EQ(d->op, Operation::write_replace);
    EXPECT_EQ(std::get<dm::Resource>(d->content->node).value, dm::Value::integer(300));

    o = call("PATCH", "/api/clients/dev1/write/3/0",
             json{{"resources", {{{"id", 14}, {"value", "+01:00"}}, {{"id", 13}, {"value", 5}}}}});
    ASSERT_EQ(o.status, 200u) << o.body.dump();
    d = backend.last_device();
    EXPECT_EQ(d->op, Operation::write_partial);
    EXPECT_EQ(std::get<dm::Instance>(d->content->node).resources.size(), 2u);

    expect_error(call("PUT", "/api/clients/dev1/write/1/0/1", json{{"value", "x"}}), 400);
    expect_error(call("PUT", "/api/clients/dev1/write/1/0/1", "{\"value\": ", "application/json"),
                 400, "bad_request");
    expect_error(call("PUT", "/api/clients/dev1/write/1/0/1", "value=1",
                      "application/x-www-form-urlencoded"),
                 415, "unsupported_media_type");
    expect_error(call("PUT", "/api/clients/dev1/write/1/0/1", "", ""), 400);
    expect_error(call("PATCH", "/api/clients/dev1/write/3", json{{"instances", json::array()}}),
                 400);
    expect_error(call("PUT", "/api/clients/dev1/write/1/0/1", json{{"value", 1}, {"vlaue", 2}}),
                 400);
}

TEST_F(Api, ExecuteCreateDeleteAttributes) {
    auto o = call("POST", "/api/clients/dev1/execute/3/0/4");
    ASSERT_EQ(o.status, 200u) << o.body.dump();
    o = call("POST", "/api/clients/dev1/execute/3/0/4", json{{"args", "0='a b',1"}});
    ASSERT_EQ(o.status, 200u) << o.body.dump();
    EXPECT_EQ(backend.last_device()->execute_arguments, "0='a b',1");
    expect_error(call("POST", "/api/clients/dev1/execute/3/0/4", json{{"args", "x"}}), 400);
    expect_error(call("POST", "/api/clients/dev1/execute/3/0/4", json{{"args", "0='open"}}), 400);
    expect_error(call("POST", "/api/clients/dev1/execute/3/0", json::object()), 400);
    expect_error(call("POST", "/api/clients/dev1/execute/3/0/4", json{{"arg", "0"}}), 400);

    o = call("POST", "/api/clients/dev1/create/3303",
             json{{"resources", {{{"id", 5700}, {"type", "float"}, {"value", 21.5}}}}});
    ASSERT_EQ(o.status, 200u) << o.body.dump();
    EXPECT_EQ(o.body["code"], "2.01");
    EXPECT_FALSE(backend.last_device()->instance_id_given);
    o = call("POST", "/api/clients/dev1/create/3303",
             json{{"id", 4}, {"resources", json::array()}});
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["location"], "/3303/4");
    EXPECT_TRUE(backend.last_device()->instance_id_given);
    expect_error(
        call("POST", "/api/clients/dev1/create/3303/1", json{{"resources", json::array()}}), 400);

    o = call("DELETE", "/api/clients/dev1/delete/3303/4");
    EXPECT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["code"], "2.02");
    expect_error(call("DELETE", "/api/clients/dev1/delete/3303"), 400);

    o = call(
        "PUT", "/api/clients/dev1/attributes/3/0/9",
        json{{"pmin", 10}, {"pmax", 60}, {"gt", 50}, {"lt", 10}, {"st", 5}, {"clear", {"epmin"}}});
    ASSERT_EQ(o.status, 200u) << o.body.dump();
    auto a = backend.last_device()->attributes;
    EXPECT_EQ(a.pmin, 10u);
    EXPECT_EQ(a.gt, 50.0);
    EXPECT_EQ(a.clear, (std::vector<std::string>{"epmin"}));
    expect_error(
        call("PUT", "/api/clients/dev1/attributes/3/0/9", json{{"pmin", 60}, {"pmax", 10}}), 400);
    expect_error(
        call("PUT", "/api/clients/dev1/attributes/3/0/9", json{{"gt", 10}, {"lt", 5}, {"st", 3}}),
        400);
    expect_error(call("PUT", "/api/clients/dev1/attributes/3/0/9", json{{"pmin", -1}}), 400);
    expect_error(call("PUT", "/api/clients/dev1/attributes/3/0/9", json{{"pmni", 1}}), 400);
    expect_error(call("PUT", "/api/clients/dev1/attributes/3/0/9", json::object()), 400);
    expect_error(
        call("PUT", "/api/clients/dev1/attributes/3/0/9", json{{"pmin", 1}, {"clear", {"pmin"}}}),
        400);
}

TEST_F(Api, ObserveAndComposite) {
    bool fin = false;
    auto sub = hub->subscribe({{"dev1"}, {EventType::notification}}, std::nullopt);
    auto o = call("POST", "/api/clients/dev1/observe/3/0/0");
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["content"]["value"], "Acme");
    EXPECT_NE(sub->take(&fin).find("\"path\":\"/3/0/0\""), std::string::npos);
    o = call("DELETE", "/api/clients/dev1/observe/3/0/0?mode=active");
    ASSERT_EQ(o.status, 200u);
    EXPECT_TRUE(backend.last_device()->active_cancel);
    expect_error(call("DELETE", "/api/clients/dev1/observe/3/0/0?mode=loud"), 400);

    o = call("POST", "/api/clients/dev1/composite/read", json{{"paths", {"/3/0/0", "/1/0/1"}}});
    ASSERT_EQ(o.status, 200u) << o.body.dump();
    EXPECT_EQ(o.body["records"].size(), 2u);
    EXPECT_EQ(o.body["records"][1]["path"], "/1/0/1");
    o = call("POST", "/api/clients/dev1/composite/observe", json{{"paths", {"/3/0/0"}}});
    EXPECT_EQ(o.status, 200u);
    o = call("DELETE", "/api/clients/dev1/composite/observe", json{{"paths", {"/3/0/0"}}});
    EXPECT_EQ(o.status, 200u);
    EXPECT_EQ(backend.last_device()->op, Operation::cancel_observe_composite);
    o = call("POST", "/api/clients/dev1/composite/write",
             json{{"records",
                   {{{"path", "/1/0/1"}, {"value", 120}}, {{"path", "/3/0/14"}, {"value", "Z"}}}}});
    ASSERT_EQ(o.status, 200u) << o.body.dump();
    EXPECT_EQ(backend.last_device()->records.size(), 2u);
    EXPECT_EQ(backend.last_device()->paths.size(), 2u);
    expect_error(call("POST", "/api/clients/dev1/composite/read", json{{"paths", json::array()}}),
                 400);
    expect_error(
        call("POST", "/api/clients/dev1/composite/read", json{{"paths", {"/3/0", "/3/0"}}}), 400);
    expect_error(call("POST", "/api/clients/dev1/composite/read", json{{"paths", {3}}}), 400);
    expect_error(
        call("POST", "/api/clients/dev1/composite/write", json{{"records", json::array()}}), 400);
    expect_error(call("POST", "/api/clients/dev1/composite/write",
                      json{{"records", {{{"path", "/1/0/1"}, {"value", "x"}}}}}),
                 400);
}

TEST_F(Api, SleepyDeviceIsLeftToTheServersTimeout) {
    auto o = call("GET", "/api/clients/sleepy/read/3/0?timeout=1");
    EXPECT_FALSE(o.answered) << "the handler returns without blocking; the server answers 504";
    EXPECT_EQ(last_answer_within, std::chrono::milliseconds(3000));
}

TEST_F(Api, SecurityCredentialsAreWriteOnly) {
    const std::string key = "00112233445566778899aabbccddeeff";
    auto o = call("POST", "/api/security",
                  json{{"endpoint", "dev1"},
                       {"mode", "psk"},
                       {"psk_identity", "dev1-id"},
                       {"psk_key_hex", key}});
    ASSERT_EQ(o.status, 201u) << o.body.dump();
    EXPECT_EQ(header(o, "Location"), "/api/security/dev1");
    expect_error(call("POST", "/api/security",
                      json{{"endpoint", "dev1"},
                           {"mode", "psk"},
                           {"psk_identity", "x"},
                           {"psk_key_hex", key}}),
                 409, "conflict");
    o = call("GET", "/api/security/dev1");
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["psk_key"], "<set>");
    EXPECT_EQ(o.body["psk_identity"], "dev1-id");
    auto all = call("GET", "/api/security");
    EXPECT_EQ(all.body["total"], 1);
    for (const auto& text : {o.raw.body, all.raw.body}) {
        EXPECT_EQ(text.find(key), std::string::npos);
        EXPECT_EQ(text.find("ABEiM0RVZneImaq7zN3u/w"), std::string::npos) << "nor as base64";
    }
    o = call("PUT", "/api/security/dev1",
             json{{"mode", "psk"}, {"psk_identity_hex", "00ff"}, {"psk_key_hex", "0102"}});
    EXPECT_EQ(o.status, 204u) << o.body.dump();
    o = call("GET", "/api/security/dev1");
    EXPECT_EQ(o.body["psk_identity_hex"], "00ff");
    EXPECT_FALSE(o.body.contains("psk_identity")) << "binary identities only as hex";
    // Both forms, as GET shows a printable identity, are accepted when they agree.
    o = call("PUT", "/api/security/dev1",
             json{{"mode", "psk"},
                  {"psk_identity", "dev1-id"},
                  {"psk_identity_hex", "646576312d6964"},
                  {"psk_key_hex", "0102"}});
    EXPECT_EQ(o.status, 204u) << o.body.dump();
    EXPECT_EQ(call("GET", "/api/security/dev1").body["psk_identity"], "dev1-id");
    o = call("PUT", "/api/security/dev1", json{{"mode", "rpk"}, {"rpk_public_key_hex", "3059"}});
    EXPECT_EQ(o.status, 204u) << o.body.dump();
    o = call("PUT", "/api/security/dev1", json{{"mode", "x509"}, {"x509_common_name", "dev1"}});
    EXPECT_EQ(o.status, 204u) << o.body.dump();
    expect_error(call("PUT", "/api/security/nobody", json{{"mode", "x509"}}), 404);
    // Malformed input; no message ever holds the key.
    for (const json& bad : {json{{"endpoint", "d"}, {"mode", "psk"}, {"psk_identity", "i"}},
                            json{{"endpoint", "d"},
                                 {"mode", "psk"},
                                 {"psk_identity", "i"},
                                 {"psk_key_hex", key + "zz"}},
                            json{{"endpoint", "d"}, {"mode", "magic"}},
                            json{{"endpoint", "d"}, {"mode", "nosec"}, {"psk_key_hex", key}},
                            json{{"endpoint", 5}, {"mode", "psk"}},
                            json{{"endpoint", "d"},
                                 {"mode", "psk"},
                                 {"psk_identity", "i"},
                                 {"psk_key_hex", key},
                                 {"psk_key", key}},
                            json{{"endpoint", "d"},
                                 {"mode", "psk"},
                                 {"psk_identity", "i"},
                                 {"psk_identity_hex", "00"},
                                 {"psk_key_hex", key}},
                            json{{"mode", "psk"}, {"psk_identity", "i"}, {"psk_key_hex", key}}}) {
        auto r = call("POST", "/api/security", bad);
        expect_error(r, 400);
        EXPECT_EQ(r.raw.body.find(key), std::string::npos) << r.raw.body;
    }
    expect_error(call("PUT", "/api/security/dev1", json{{"endpoint", "other"}, {"mode", "x509"}}),
                 400);
    EXPECT_EQ(call("DELETE", "/api/security/dev1").status, 204u);
    expect_error(call("GET", "/api/security/dev1"), 404);
}

TEST_F(Api, SecurityBatchStoresAllOrNothing) {
    auto item = [](const std::string& ep) {
        return json{{"endpoint", ep},
                    {"mode", "psk"},
                    {"psk_identity", ep + "-id"},
                    {"psk_key_hex", "00112233445566778899aabbccddeeff"}};
    };
    json items = json::array({item("b1"), item("b2"), item("b3")});
    auto r = call("POST", "/api/security/batch", json{{"items", items}}.dump());
    ASSERT_EQ(r.status, 200u) << r.body.dump();
    EXPECT_EQ(r.body["stored"], 3);
    EXPECT_EQ(call("GET", "/api/security/b2").status, 200u);
    // create (the default) refuses endpoints that have credentials; upsert replaces them.
    expect_error(call("POST", "/api/security/batch", json{{"items", items}}.dump()), 409,
                 "conflict");
    r = call("POST", "/api/security/batch", json{{"items", items}, {"mode", "upsert"}}.dump());
    EXPECT_EQ(r.status, 200u);
    // Bad batches name the record and store nothing.
    json bad = json::array({item("c1"), item("c2"), json{{"endpoint", "c3"}, {"mode", "psk"}}});
    r = call("POST", "/api/security/batch", json{{"items", bad}}.dump());
    expect_error(r, 400, "bad_request");
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find("items[2]: "), std::string::npos)
        << r.body.dump();
    EXPECT_EQ(call("GET", "/api/security/c1").status, 404u);
    json twice = json::array({item("d1"), item("d1")});
    r = call("POST", "/api/security/batch", json{{"items", twice}}.dump());
    expect_error(r, 400, "bad_request");
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find("given twice"), std::string::npos);
    json no_ep = json::array({json{{"mode", "nosec"}}});
    expect_error(call("POST", "/api/security/batch", json{{"items", no_ep}}.dump()), 400,
                 "bad_request");
    expect_error(call("POST", "/api/security/batch", json{{"items", json::array()}}.dump()), 400,
                 "bad_request");
    json many = json::array();
    for (int i = 0; i < 1001; ++i)
        many.push_back(item("m" + std::to_string(i)));
    expect_error(call("POST", "/api/security/batch", json{{"items", many}}.dump()), 400,
                 "bad_request");
    expect_error(call("POST", "/api/security/batch", json{{"items", items}, {"mode", "x"}}.dump()),
                 400, "bad_request");
    expect_error(call("POST", "/api/security/batch", json{{"items", items}, {"x", 1}}.dump()), 400,
                 "bad_request");
    // The key never comes back.
    r = call("GET", "/api/security/b1");
    EXPECT_EQ(r.body.dump().find("00112233445566778899aabbccddeeff"), std::string::npos);
}

TEST_F(Api, BootstrapConfigurations) {
    const std::string key = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0";
    json cfg = {
        {"endpoint", "dev9"},
        {"delete", {"/0", "/1"}},
        {"format", "tlv"},
        {"security",
         {{{"instance_id", 0},
           {"uri", "coaps://bs.example:5684"},
           {"bootstrap_server", true},
           {"mode", "psk"},
           {"psk_identity", "dev9"},
           {"psk_key_hex", key}},
          {{"instance_id", 1},
           {"uri", "coaps://dm.example:5684"},
           {"mode", "psk"},
           {"psk_identity", "dev9"},
           {"generate", {{"psk_key_bytes", 32}}},
           {"short_server_id", 101}}}},
        {"servers",
         {{{"instance_id", 0}, {"short_server_id", 101}, {"lifetime", 300}, {"binding", "UQ"}}}},
        {"acls",
         {{{"object_id", 3}, {"object_instance_id", 0}, {"acl", {{"101", 7}}}, {"owner", 101}}}}};
    auto o = call("POST", "/api/bootstrap", cfg);
    ASSERT_EQ(o.status, 201u) << o.body.dump();
    o = call("GET", "/api/bootstrap/dev9");
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["security"][0]["psk_key"], "<set>");
    EXPECT_EQ(o.body["security"][1]["generate"]["psk_key_bytes"], 32);
    EXPECT_EQ(o.body["servers"][0]["binding"], "UQ");
    EXPECT_EQ(o.body["acls"][0]["acl"]["101"], 7);
    EXPECT_EQ(o.body["delete"][1], "/1");
    EXPECT_EQ(o.raw.body.find(key), std::string::npos);
    EXPECT_EQ(call("GET", "/api/bootstrap").body["total"], 1);
    o = call("GET", "/api/bootstrap/dev9/status");
    EXPECT_EQ(o.body["state"], "finished");
    EXPECT_EQ(o.body["endpoint"], "dev9");
    expect_error(call("POST", "/api/bootstrap", cfg), 409);
    EXPECT_EQ(call("PUT", "/api/bootstrap/dev9", cfg).status, 204u);

    auto broken = [&](auto edit) {
        json c = cfg;
        edit(c);
        auto r = call("POST", "/api/bootstrap", c);
        expect_error(r, 400);
        EXPECT_EQ(r.raw.body.find(key), std::string::npos);
    };
    broken([](json& c) { c["security"][0]["uri"] = "http://x"; });
    broken([](json& c) { c["security"][0]["mode"] = "nosec"; });
    broken([](json& c) { c["security"][1]["psk_key_hex"] = "00"; });    // and generate
    broken([](json& c) { c["security"][1]["short_server_id"] = 999; }); // no server instance
    broken([](json& c) { c["security"][1].erase("short_server_id"); });
    broken([](json& c) { c["security"][1]["instance_id"] = 0; });
    broken([](json& c) { c["servers"][0]["binding"] = "X"; });
    broken([](json& c) { c["servers"][0]["lifetime"] = 0; });
    broken([](json& c) { c["acls"][0]["acl"]["101"] = 64; });
    broken([](json& c) { c["acls"][0]["acl"]["x"] = 1; });
    broken([](json& c) { c["delete"] = {"/3/0/1"}; });
    broken([](json& c) { c["format"] = "text"; });
    broken([](json& c) { c["extra"] = 1; });
    broken([](json& c) { c["security"][0]["generate"] = {{"psk_key_bytes", 8}}; });
    EXPECT_EQ(call("DELETE", "/api/bootstrap/dev9").status, 204u);
    expect_error(call("GET", "/api/bootstrap/dev9/status"), 404);
}

TEST_F(Api, ModelsListGetAndUpload) {
    auto o = call("GET", "/api/models");
    ASSERT_EQ(o.status, 200u);
    EXPECT_GE(o.body["items"].size(), 8u);
    o = call("GET", "/api/models/3");
    ASSERT_EQ(o.status, 200u);
    EXPECT_EQ(o.body["name"], "Device");
    EXPECT_EQ(o.body["resources"][0]["operations"], "R");
    expect_error(call("GET", "/api/models/3303"), 404, "unknown_object");
    expect_error(call("GET", "/api/models/x"), 400);

    const std::string ddf = R"(<?xml version="1.0" encoding="utf-8"?>
<LWM2M><Object ObjectType="MODefinition"><Name>Temperature</Name><ObjectID>3303</ObjectID>
<ObjectURN>urn:oma:lwm2m:ext:3303</ObjectURN><MultipleInstances>Multiple</MultipleInstances>
<Mandatory>Optional</Mandatory><Resources>
<Item ID="5700"><Name>Sensor Value</Name><Operations>R</Operations>
<MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory><Type>Float</Type>
<RangeEnumeration></RangeEnumeration><Units>Cel</Units><Description>v</Description></Item>
</Resources></Object></LWM2M>)";
    o = call("POST", "/api/models", ddf, "application/xml");
    ASSERT_EQ(o.status, 201u) << o.body.dump();
    EXPECT_EQ(o.body["id"], 3303);
    EXPECT_EQ(call("GET", "/api/models/3303").body["resources"][0]["units"], "Cel");
    expect_error(call("POST", "/api/models", ddf, "application/xml"), 409);
    EXPECT_EQ(call("POST", "/api/models?replace=true", ddf, "text/xml").status, 201u);
    // The uploaded model now types writes.
    EXPECT_EQ(call("PUT", "/api/clients/dev1/write/3303/0/5700", json{{"value", 1.5}}).status,
              200u);
    expect_error(call("POST", "/api/models", ddf, "application/json"), 415);
    auto bad = call("POST", "/api/models", "<LWM2M><Object>", "application/xml");
    expect_error(bad, 400, "bad_ddf");
    expect_error(call("POST", "/api/models", "", "application/xml"), 415); // no body, no type
    expect_error(call("POST", "/api/models", "  ", "application/xml"), 400, "bad_ddf");
}

TEST_F(Api, EventsRouteSubscribes) {
    auto o = call("GET", "/api/events?ep=dev1&type=registration,update");
    ASSERT_TRUE(o.answered);
    EXPECT_EQ(o.status, 200u);
    EXPECT_NE(o.raw.stream, nullptr);
    EXPECT_EQ(o.raw.content_type, "text/event-stream");
    expect_error(call("GET", "/api/events?type=bogus"), 400);
    expect_error(call("GET", "/api/events?type=dropped"), 400);
    expect_error(call("GET", "/api/events?last_event_id=x"), 400);
    auto unauth = call("GET", "/api/events?access_token=t0ken", "", "", false);
    EXPECT_EQ(unauth.status, 200u) << "the query token works for EventSource";
}

TEST_F(Api, EventHistoryPagesOldestFirst) {
    // 5 events, 3 of dev1; the page size 2 walks dev1's in order through next_after.
    backend.log_event("dev1", "registered", "location /rd/1", 1700000000001);
    backend.log_event("dev2", "registered", "location /rd/2", 1700000000002);
    backend.log_event("dev1", "deregistered", "expired", 1700000000003);
    backend.log_event("", "bootstrap_failed", "server-wide", 1700000000004);
    backend.log_event("dev1", "registered", "location /rd/3", 1700000000005);

    auto all = call("GET", "/api/events/history");
    ASSERT_EQ(all.status, 200u) << all.body.dump();
    ASSERT_EQ(all.body["events"].size(), 5u);
    EXPECT_TRUE(all.body["next_after"].is_null());
    EXPECT_EQ(backend.last_history_query()->limit, 101u) << "default 100, plus one to look ahead";
    EXPECT_EQ(backend.last_history_query()->after_seq, 0u);
    EXPECT_FALSE(backend.last_history_query()->endpoint);
    const json& e0 = all.body["events"][0];
    EXPECT_EQ(e0["seq"], 1);
    EXPECT_EQ(e0["time"], 1700000000001);
    EXPECT_EQ(e0["endpoint"], "dev1");
    EXPECT_EQ(e0["kind"], "registered");
    EXPECT_EQ(e0["detail"], "location /rd/1");
    EXPECT_EQ(all.body["events"][3]["endpoint"], "");

    auto p1 = call("GET", "/api/events/history?ep=dev1&limit=2");
    ASSERT_EQ(p1.status, 200u);
    ASSERT_EQ(p1.body["events"].size(), 2u);
    EXPECT_EQ(p1.body["events"][0]["seq"], 1);
    EXPECT_EQ(p1.body["events"][1]["seq"], 3);
    EXPECT_EQ(p1.body["next_after"], 3);
    EXPECT_EQ(*backend.last_history_query()->endpoint, "dev1");
    auto p2 = call("GET", "/api/events/history?ep=dev1&limit=2&after=3");
    ASSERT_EQ(p2.status, 200u);
    ASSERT_EQ(p2.body["events"].size(), 1u);
    EXPECT_EQ(p2.body["events"][0]["seq"], 5);
    EXPECT_EQ(p2.body["events"][0]["detail"], "location /rd/3");
    EXPECT_TRUE(p2.body["next_after"].is_null());
    // A page that ends exactly at the last event says so (the look-ahead found nothing).
    auto exact = call("GET", "/api/events/history?after=3&limit=2");
    ASSERT_EQ(exact.body["events"].size(), 2u);
    EXPECT_TRUE(exact.body["next_after"].is_null());
    auto none = call("GET", "/api/events/history?ep=nobody");
    EXPECT_EQ(none.status, 200u);
    EXPECT_TRUE(none.body["events"].empty());
    EXPECT_TRUE(none.body["next_after"].is_null());
    EXPECT_EQ(call("GET", "/api/events/history?limit=1000").status, 200u);
    EXPECT_EQ(backend.last_history_query()->limit, 1001u);
}

TEST_F(Api, EventHistoryRejectsBadParameters) {
    for (const char* q : {"limit=0", "limit=1001", "limit=-1", "limit=x", "limit=", "after=-1",
                          "after=1.5", "after=", "after=9223372036854775808", "ep="}) {
        auto o = call("GET", std::string("/api/events/history?") + q);
        expect_error(o, 400, "bad_request");
        EXPECT_NE(o.body.dump().find(std::string(q).substr(0, std::string(q).find('='))),
                  std::string::npos)
            << "the message names the parameter: " << o.body.dump();
    }
    EXPECT_EQ(call("GET", "/api/events/history?after=9223372036854775807").status, 200u);
    backend.fail_history(ApiError{503, "history_unavailable", "no event log"});
    expect_error(call("GET", "/api/events/history"), 503, "history_unavailable");
}

TEST_F(Api, EventHistoryNeedsTheBearerToken) {
    backend.log_event("dev1", "registered", "location /rd/1");
    expect_error(call("GET", "/api/events/history", "", "", false), 401, "unauthorized");
    // Only the SSE stream takes ?access_token= (EventSource cannot set headers).
    expect_error(call("GET", "/api/events/history?access_token=t0ken", "", "", false), 401,
                 "unauthorized");
    Request req;
    req.method = "GET";
    req.target = "/api/events/history";
    req.headers.emplace_back("authorization", "Bearer wrong");
    unsigned status = 0;
    router.dispatch(req, Reply::to([&](Response r) { status = r.status; }));
    EXPECT_EQ(status, 401u);
    EXPECT_EQ(call("GET", "/api/events/history").status, 200u);
}

TEST_F(Api, NodesListsEveryNodeOfTheStore) {
    auto r = call("GET", "/api/nodes");
    ASSERT_EQ(r.status, 200u);
    const auto& j = r.body;
    ASSERT_EQ(j["nodes"].size(), 2u);
    EXPECT_EQ(j["nodes"][0]["id"], "fake-node");
    EXPECT_EQ(j["nodes"][0]["alive"], true);
    EXPECT_EQ(j["nodes"][0]["self"], true);
    EXPECT_EQ(j["nodes"][0]["last_seen"], 1700000000000);
    EXPECT_EQ(j["nodes"][0]["registrations"], 0);
    EXPECT_EQ(j["nodes"][1]["id"], "other-node");
    EXPECT_EQ(j["nodes"][1]["alive"], false);
    EXPECT_EQ(j["nodes"][1]["self"], false);
    expect_error(call("GET", "/api/nodes", "", "", false), 401, "unauthorized");
}

// ---- docs/openapi.json documents exactly the registered routes
// -----------------------------------

TEST_F(Api, OpenApiDocumentMatchesTheRoutes) {
    std::ifstream in(LWM2M_OPENAPI_JSON);
    ASSERT_TRUE(in) << LWM2M_OPENAPI_JSON;
    std::stringstream ss;
    ss << in.rdbuf();
    json doc = json::parse(ss.str());
    EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.", 0), 0u);
    std::set<std::pair<std::string, std::string>> documented, routed;
    for (auto it = doc["paths"].begin(); it != doc["paths"].end(); ++it)
        for (auto m = it.value().begin(); m != it.value().end(); ++m) {
            if (m.key() == "parameters") continue;
            std::string method = m.key();
            for (auto& c : method)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            documented.emplace(method, it.key());
            // Every operation documents its responses, including an error one.
            EXPECT_TRUE(m.value().contains("responses")) << method << " " << it.key();
            EXPECT_TRUE(m.value().contains("operationId")) << method << " " << it.key();
        }
    for (const auto& r : router.routes()) {
        // OpenAPI has no multi-segment parameter: {path...} is documented as {path}.
        std::string p = r.pattern;
        if (auto k = p.find("...}"); k != std::string::npos) p.erase(k, 3);
        routed.emplace(r.method, p);
    }
    for (const auto& r : routed)
        EXPECT_TRUE(documented.count(r)) << "undocumented route " << r.first << " " << r.second;
    for (const auto& d : documented)
        EXPECT_TRUE(routed.count(d)) << "documented but not routed " << d.first << " " << d.second;
    // Every $ref resolves.
    std::function<void(const json&)> refs = [&](const json& j) {
        if (j.is_object()) {
            for (auto it = j.begin(); it != j.end(); ++it) {
                if (it.key() == "$ref") {
                    std::string ref = it.value();
                    ASSERT_EQ(ref.rfind("#/", 0), 0u);
                    json::json_pointer ptr(ref.substr(1));
                    EXPECT_TRUE(doc.contains(ptr)) << "dangling " << ref;
                } else {
                    refs(it.value());
                }
            }
        } else if (j.is_array()) {
            for (const auto& e : j)
                refs(e);
        }
    };
    refs(doc);
}
