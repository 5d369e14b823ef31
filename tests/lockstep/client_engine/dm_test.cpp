// Device Management interface (TS 1.1 §5.4, §6.3): Read with Accept negotiation and the default
// formats, Write (replace / partial), Execute arguments, Create, Delete, Discover, composite
// operations, and Object 0 refused to every DM server without a byte of a key on the wire.
#include <gtest/gtest.h>

#include <lwm2m/dm/value_text.hpp>
#include <lwm2m/format/codec.hpp>

#include "support/engine_harness.hpp"

namespace lwm2m::client::test {
namespace {

using namespace std::chrono_literals;
namespace cf = coap::content_format;

class EngineDm : public ::testing::Test {
protected:
    EngineDm()
        : t(psk_like_config()) {}
    static ClientConfig psk_like_config() {
        // A NoSec DM account plus a second (unused) account holding key material, so that the
        // key bytes exist in Object 0 and can be searched for on the wire.
        ClientConfig c = nosec_config(300);
        c.security[2] = sec(
            psk_account(2, 102, to_bytes("identity-xyz"), key_bytes(), "coaps://other.test:5684"));
        c.servers[1] = srv(server_instance(1, 102));
        return c;
    }
    static Bytes key_bytes() { return bytes_of(16, 0xA5); }
    void SetUp() override {
        t.resolver.hosts["other.test"] = PeerAddr::v4(192, 0, 2, 99, 5684);
        t.server(PeerAddr::v4(192, 0, 2, 99, 5684)).drop_all = true;
        ASSERT_TRUE(t.engine->add_object(loc));
        t.dm_server_ok();
        t.start();
        ASSERT_EQ(t.engine->reg_state(ShortServerId{101}), RegState::registered);
    }
    coap::Response call(coap::Message m) {
        auto r = t.request(kDmAddr, std::move(m));
        EXPECT_TRUE(r.has_value());
        return r.value_or(coap::Response{});
    }
    EngineLockstep t;
    TestObject loc{6, t.registry};
};

TEST_F(EngineDm, ReadDefaultsAndAcceptNegotiation) {
    // Single resource, no Accept: text/plain (TS 1.1 §7.4.1).
    auto r = call(req(coap::code::get, "/3/0/9"));
    EXPECT_EQ(r.response.code, coap::code::content);
    EXPECT_EQ(r.response.uint_option(coap::option::content_format), cf::text_plain);
    EXPECT_EQ(as_string_view(r.response.payload), "80");
    // Instance, no Accept: the preferred format (SenML CBOR in 1.1).
    r = call(req(coap::code::get, "/3/0"));
    EXPECT_EQ(r.response.code, coap::code::content);
    EXPECT_EQ(r.response.uint_option(coap::option::content_format), cf::senml_cbor);
    auto c = format::decode(format::ContentFormat::senml_cbor, r.response.payload,
                            *dm::Path::parse("/3/0"), t.registry);
    ASSERT_TRUE(c);
    // Accept TLV.
    auto m = req(coap::code::get, "/3/0");
    m.add_uint_option(coap::option::accept, cf::lwm2m_tlv);
    r = call(m);
    EXPECT_EQ(r.response.uint_option(coap::option::content_format), cf::lwm2m_tlv);
    // Accept text/plain for an instance: the format cannot carry it, 4.06.
    m = req(coap::code::get, "/3/0");
    m.add_uint_option(coap::option::accept, cf::text_plain);
    EXPECT_EQ(call(m).response.code, coap::code::not_acceptable);
    // Unknown format: 4.06.
    m = req(coap::code::get, "/3/0/9");
    m.add_uint_option(coap::option::accept, 9999);
    EXPECT_EQ(call(m).response.code, coap::code::not_acceptable);
    // Missing things: 4.04.
    EXPECT_EQ(call(req(coap::code::get, "/3/7")).response.code, coap::code::not_found);
    EXPECT_EQ(call(req(coap::code::get, "/42")).response.code, coap::code::not_found);
    EXPECT_EQ(call(req(coap::code::get, "/rd")).response.code, coap::code::not_found);
}

TEST_F(EngineDm, ObjectZeroIsRefusedForEveryOperationWithoutLeakingKeys) {
    const Bytes key = key_bytes();
    std::vector<coap::Message> attacks;
    for (const char* p : {"/0", "/0/1", "/0/2", "/0/2/5", "/0/2/3", "/0/1/0"}) {
        attacks.push_back(req(coap::code::get, p));
        auto obs = req(coap::code::get, p);
        obs.add_uint_option(coap::option::observe, 0);
        attacks.push_back(obs);
        auto disc = req(coap::code::get, p);
        disc.add_uint_option(coap::option::accept, cf::link_format);
        attacks.push_back(disc);
        for (std::uint16_t a : {cf::lwm2m_tlv, cf::senml_json, cf::senml_cbor, cf::text_plain,
                                cf::octet_stream, cf::lwm2m_cbor}) {
            auto m = req(coap::code::get, p);
            m.add_uint_option(coap::option::accept, a);
            attacks.push_back(m);
        }
        auto wa = req(coap::code::put, p);
        wa.add_option(coap::option::uri_query, std::string_view("pmin=1"));
        attacks.push_back(wa);
        auto w = req(coap::code::put, p);
        w.add_uint_option(coap::option::content_format, cf::text_plain);
        w.payload = to_bytes("x");
        attacks.push_back(w);
        attacks.push_back(req(coap::code::post, p));
        attacks.push_back(req(coap::code::delete_, p));
    }
    // Composite read of /0 paths.
    auto fetch = req(coap::code::fetch, "/");
    fetch.add_uint_option(coap::option::content_format, cf::senml_json);
    fetch.payload = to_bytes(R"([{"n":"/0/2/5"},{"n":"/0/1"}])");
    attacks.push_back(fetch);
    for (auto& m : attacks) {
        const std::string what = lwm2m::test::describe(m);
        auto r = call(m);
        EXPECT_EQ(r.response.code, coap::code::unauthorized) << what;
        EXPECT_TRUE(r.response.payload.empty()) << what;
    }
    // Not one datagram from the client holds the key (raw, hex or base64).
    const std::string hex = to_hex(key);
    const std::string b64 = dm::base64_encode(key);
    for (const auto& d : t.all_client_datagrams) {
        EXPECT_EQ(std::search(d.begin(), d.end(), key.begin(), key.end()), d.end());
        const std::string_view s = as_string_view(d);
        EXPECT_EQ(s.find(hex), std::string_view::npos);
        EXPECT_EQ(s.find(b64), std::string_view::npos);
    }
    EXPECT_EQ(t.log.all().find(hex), std::string::npos);
}

TEST_F(EngineDm, WriteReplaceAndPartialAndErrors) {
    auto w = req(coap::code::put, "/3/0/9");
    w.add_uint_option(coap::option::content_format, cf::text_plain);
    w.payload = to_bytes("55");
    // Resource 9 (Battery Level) is read-only in the definition: 4.05.
    EXPECT_EQ(call(w).response.code, coap::code::method_not_allowed);
    // Resource 14 (UTC Offset) is RW.
    w = req(coap::code::put, "/3/0/14");
    w.add_uint_option(coap::option::content_format, cf::text_plain);
    w.payload = to_bytes("+02:00");
    EXPECT_EQ(call(w).response.code, coap::code::changed);
    EXPECT_EQ(t.device.data[0][14].value.as_string(), "+02:00");
    // No Content-Format: 4.15. Bad payload for the type: 4.00.
    w = req(coap::code::put, "/3/0/14");
    w.payload = to_bytes("x");
    EXPECT_EQ(call(w).response.code, coap::code::unsupported_content_format);
    w = req(coap::code::put, "/3/0/13");
    w.add_uint_option(coap::option::content_format, cf::text_plain);
    w.payload = to_bytes("not-a-time");
    EXPECT_EQ(call(w).response.code, coap::code::bad_request);
    // Partial update of the instance (POST /3/0) with SenML JSON.
    auto p = req(coap::code::post, "/3/0");
    p.add_uint_option(coap::option::content_format, cf::senml_json);
    p.payload = to_bytes(R"([{"n":"/3/0/15","vs":"Europe/Paris"}])");
    EXPECT_EQ(call(p).response.code, coap::code::changed);
    EXPECT_EQ(t.device.data[0][15].value.as_string(), "Europe/Paris");
    EXPECT_EQ(t.device.data[0][14].value.as_string(), "+02:00"); // kept (partial)
}

TEST_F(EngineDm, ExecuteArgumentsFollowTheTsSyntax) {
    auto e = req(coap::code::post, "/3/0/4");
    EXPECT_EQ(call(e).response.code, coap::code::changed);
    e.payload = to_bytes("0='a',1,2='b c'");
    EXPECT_EQ(call(e).response.code, coap::code::changed);
    ASSERT_EQ(t.device.executed.size(), 2u);
    EXPECT_EQ(t.device.executed[1].second, "0='a',1,2='b c'");
    for (const char* bad : {"a", "0=a", "0='a", "10", "0,", "0='x'1", ","}) {
        e.payload = to_bytes(bad);
        EXPECT_EQ(call(e).response.code, coap::code::bad_request) << bad;
    }
    // Executing a readable resource: 4.05.
    EXPECT_EQ(call(req(coap::code::post, "/3/0/9")).response.code, coap::code::method_not_allowed);
}

TEST_F(EngineDm, CreateDeleteAndObjectListUpdate) {
    const std::size_t before = t.server(kDmAddr).requests.size();
    auto c = req(coap::code::post, "/6");
    c.add_uint_option(coap::option::content_format, cf::senml_json);
    c.payload = to_bytes(R"([{"n":"/6/1/0","v":48.5},{"n":"/6/1/1","v":2.25}])");
    auto r = call(c);
    EXPECT_EQ(r.response.code, coap::code::created);
    EXPECT_EQ(r.response.path(coap::option::location_path), "/6/1");
    EXPECT_EQ(loc.data.count(1), 1u);
    // The object list changed: an Update with the new links follows.
    t.run_for(1s);
    ASSERT_GT(t.server(kDmAddr).requests.size(), before);
    const auto& u = t.server(kDmAddr).requests.back().request;
    EXPECT_NE(std::string(as_string_view(u.payload)).find("</6/1>"), std::string::npos);
    EXPECT_EQ(call(req(coap::code::delete_, "/6/1")).response.code, coap::code::deleted);
    EXPECT_EQ(loc.data.count(1), 0u);
    EXPECT_EQ(call(req(coap::code::delete_, "/6/1")).response.code, coap::code::not_found);
    // The Device instance and the own Server account cannot be deleted by a DM server.
    EXPECT_EQ(call(req(coap::code::delete_, "/3/0")).response.code, coap::code::method_not_allowed);
    EXPECT_EQ(call(req(coap::code::delete_, "/1/0")).response.code, coap::code::method_not_allowed);
}

TEST_F(EngineDm, DiscoverListsAttributesAndDim) {
    auto wa = req(coap::code::put, "/3/0/9");
    wa.add_option(coap::option::uri_query, std::string_view("pmin=10"));
    wa.add_option(coap::option::uri_query, std::string_view("gt=50"));
    EXPECT_EQ(call(wa).response.code, coap::code::changed);
    auto d = req(coap::code::get, "/3");
    d.add_uint_option(coap::option::accept, cf::link_format);
    auto r = call(d);
    ASSERT_EQ(r.response.code, coap::code::content);
    const std::string links(as_string_view(r.response.payload));
    EXPECT_NE(links.find("</3>;ver=1.1"), std::string::npos) << links;
    EXPECT_NE(links.find("</3/0/9>;pmin=10;gt=50"), std::string::npos) << links;
    EXPECT_NE(links.find("</3/0/11>;dim=1"), std::string::npos) << links;
}

TEST_F(EngineDm, ServerObjectOnlyOwnInstanceAndLifetimeChangeUpdates) {
    // /1/1 belongs to server 102: not found for 101 (Object 1 own-instance rule).
    EXPECT_NE(call(req(coap::code::get, "/1/1")).response.code, coap::code::content);
    EXPECT_EQ(call(req(coap::code::get, "/1/0/1")).response.code, coap::code::content);
    auto w = req(coap::code::put, "/1/0/1");
    w.add_uint_option(coap::option::content_format, cf::text_plain);
    w.payload = to_bytes("600");
    EXPECT_EQ(call(w).response.code, coap::code::changed);
    EXPECT_EQ(t.store.committed().servers.at(0).lifetime(), 600);
    t.run_for(1s);
    const auto& u = t.server(kDmAddr).requests.back().request;
    bool lt = false;
    for (const auto& o : u.options())
        if (o.number == coap::option::uri_query && as_string_view(o.value) == "lt=600") lt = true;
    EXPECT_TRUE(lt);
    EXPECT_GE(t.count_events(EngineEvent::Kind::state_changed), 1u);
}

TEST_F(EngineDm, CompositeReadAndWrite) {
    auto f = req(coap::code::fetch, "/");
    f.add_uint_option(coap::option::content_format, cf::senml_json);
    f.payload = to_bytes(R"([{"n":"/3/0/9"},{"n":"/3/0/0"}])");
    auto r = call(f);
    ASSERT_EQ(r.response.code, coap::code::content);
    EXPECT_EQ(r.response.uint_option(coap::option::content_format), cf::senml_json);
    const std::string body(as_string_view(r.response.payload));
    EXPECT_NE(body.find("80"), std::string::npos) << body;
    EXPECT_NE(body.find("ACME"), std::string::npos) << body;
    auto p = req(coap::code::ipatch, "/");
    p.add_uint_option(coap::option::content_format, cf::senml_json);
    p.payload = to_bytes(R"([{"n":"/3/0/14","vs":"+03:00"},{"n":"/3/0/15","vs":"UTC"}])");
    EXPECT_EQ(call(p).response.code, coap::code::changed);
    EXPECT_EQ(t.device.data[0][14].value.as_string(), "+03:00");
    EXPECT_EQ(t.device.data[0][15].value.as_string(), "UTC");
    // Composite with a text/plain body: 4.15.
    f.set_uint_option(coap::option::content_format, cf::text_plain);
    EXPECT_EQ(call(f).response.code, coap::code::unsupported_content_format);
}

TEST_F(EngineDm, SendPostsCurrentValues) {
    auto id = t.engine->send(t.now, ShortServerId{101}, {*dm::Path::parse("/3/0/9")});
    ASSERT_TRUE(id);
    auto& s = t.server(kDmAddr);
    s.auto_reply = [](const coap::IncomingRequest& in) -> std::optional<coap::Message> {
        coap::Message m;
        m.code = in.request.path() == "/dp" ? coap::code::changed : coap::code::changed;
        return m;
    };
    t.settle();
    ASSERT_FALSE(s.requests.empty());
    const auto& m = s.requests.back().request;
    EXPECT_EQ(m.path(), "/dp");
    EXPECT_EQ(m.uint_option(coap::option::content_format), cf::senml_cbor);
    EXPECT_EQ(t.count_events(EngineEvent::Kind::send_done), 1u);
    EXPECT_FALSE(t.engine->send(t.now, ShortServerId{101}, {*dm::Path::parse("/0/1/5")}));
    EXPECT_FALSE(t.engine->send(t.now, ShortServerId{7}, {*dm::Path::parse("/3/0/9")}));
}

} // namespace
} // namespace lwm2m::client::test
