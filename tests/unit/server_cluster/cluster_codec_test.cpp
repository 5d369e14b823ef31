// The messages between lwm2m-server nodes (apps/lwm2m-server/cluster_codec.hpp): round trips of
// every field, strict decoding (every truncation, trailing bytes, bad versions, kinds, ranges,
// JSON), docs/cluster.md "Messages".
#include <gtest/gtest.h>

#include <cmath>

#include <lwm2m/dm/node.hpp>
#include <lwm2m/http/json_content.hpp>

#include "cluster_codec.hpp"

namespace lwm2m::app::cluster {
namespace {

dm::Path path(std::string_view s) {
    return *dm::Path::parse(s);
}

dm::Content device_content() {
    std::vector<dm::Record> recs{
        {path("/3/0/0"), dm::Value::string("Acme \xc3\xa9"), std::nullopt},
        {path("/3/0/9"), dm::Value::integer(-80), std::nullopt},
        {path("/3/0/6/0"), dm::Value::integer(1), std::nullopt},
        {path("/3/0/6/3"), dm::Value::integer(5), std::nullopt},
        {path("/3/0/21"), dm::Value::unsigned_integer(18446744073709551615ULL), std::nullopt},
        {path("/3/0/13"), dm::Value::time(1700000000), std::nullopt},
        {path("/3/0/17"), dm::Value::opaque(to_bytes(std::string_view("\x00\xff\x10", 3))),
         std::nullopt},
        {path("/3/0/18"), dm::Value::float_(21.5), std::nullopt},
        {path("/3/0/19"), dm::Value::boolean(true), std::nullopt},
    };
    return *dm::unflatten(path("/3/0"), recs);
}

ForwardedRequest full_request() {
    ForwardedRequest m;
    m.id = 0x1234'5678'9ABC'DEF0ULL;
    m.from = "node-a.example_1";
    auto& q = m.request;
    q.op = http::Operation::write_partial;
    q.endpoint = "dev-\xe2\x82\xac";
    q.paths = {path("/3/0"), path("/5/0/1")};
    q.content = device_content();
    q.instance_id_given = false;
    q.records = {{path("/3303/0/5700"), dm::Value::float_(-3.25), 1700000000.5},
                 {path("/3/0/14"), dm::Value::string("+02"), std::nullopt}};
    q.format = format::ContentFormat::senml_cbor;
    q.timeout = std::chrono::milliseconds(12345);
    q.execute_arguments = "0='x',1";
    q.attributes.pmin = 1;
    q.attributes.pmax = 60;
    q.attributes.epmin = 2;
    q.attributes.epmax = 30;
    q.attributes.hqmax = 7;
    q.attributes.gt = 20.5;
    q.attributes.lt = -1e300;
    q.attributes.st = 0.1;
    q.attributes.edge = false;
    q.attributes.con = true;
    q.attributes.clear = {"gt", "lt"};
    q.active_cancel = true;
    return m;
}

void expect_same(const ForwardedRequest& a, const ForwardedRequest& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.from, b.from);
    const auto& x = a.request;
    const auto& y = b.request;
    EXPECT_EQ(x.op, y.op);
    EXPECT_EQ(x.endpoint, y.endpoint);
    EXPECT_EQ(x.paths, y.paths);
    EXPECT_EQ(x.content, y.content);
    EXPECT_EQ(x.instance_id_given, y.instance_id_given);
    EXPECT_EQ(x.records, y.records);
    EXPECT_EQ(x.format, y.format);
    EXPECT_EQ(x.timeout, y.timeout);
    EXPECT_EQ(x.execute_arguments, y.execute_arguments);
    EXPECT_EQ(x.attributes.pmin, y.attributes.pmin);
    EXPECT_EQ(x.attributes.pmax, y.attributes.pmax);
    EXPECT_EQ(x.attributes.epmin, y.attributes.epmin);
    EXPECT_EQ(x.attributes.epmax, y.attributes.epmax);
    EXPECT_EQ(x.attributes.hqmax, y.attributes.hqmax);
    EXPECT_EQ(x.attributes.gt, y.attributes.gt);
    EXPECT_EQ(x.attributes.lt, y.attributes.lt);
    EXPECT_EQ(x.attributes.st, y.attributes.st);
    EXPECT_EQ(x.attributes.edge, y.attributes.edge);
    EXPECT_EQ(x.attributes.con, y.attributes.con);
    EXPECT_EQ(x.attributes.clear, y.attributes.clear);
    EXPECT_EQ(x.active_cancel, y.active_cancel);
}

ForwardedReply full_reply() {
    ForwardedReply m;
    m.id = 42;
    m.from = "n2";
    http::DeviceResponse d;
    d.code = 0x45;
    d.content = device_content();
    // A notification's SenML records carry times; a NaN float reads back as NaN.
    d.records = {{path("/3/0/9"), dm::Value::integer(80), std::nullopt},
                 {path("/3303/0/5700"), dm::Value::float_(21.25), 1700000000.25},
                 {path("/3303/0/5601"), dm::Value::float_(std::nan("")), std::nullopt}};
    d.links = "</3/0/1>,</3/0/2>;dim=2";
    d.format = format::ContentFormat::lwm2m_tlv;
    d.rtt = std::chrono::microseconds(1500);
    d.location = "/3303/1";
    d.diagnostic = "ok";
    m.outcome = std::move(d);
    return m;
}

ForwardedEvent full_event() {
    ForwardedEvent m;
    m.from = "n1";
    m.event.type = http::EventType::notification;
    m.event.endpoint = "dev-1";
    m.event.data = {{"observation", 7}, {"seq", 3}, {"path", "/3/0/13"}, {"node", "n1"}};
    return m;
}

/// Every strict prefix of `wire` fails to decode, and so does `wire` plus one byte.
void expect_strict(const std::string& wire) {
    ASSERT_TRUE(decode(wire)) << "the full message must decode";
    for (std::size_t n = 0; n < wire.size(); ++n)
        EXPECT_FALSE(decode(std::string_view(wire).substr(0, n))) << "prefix of " << n;
    EXPECT_FALSE(decode(wire + '\0'));
}

TEST(ClusterCodec, RequestRoundTripsEveryField) {
    const auto m = full_request();
    const auto wire = encode(m);
    EXPECT_EQ(static_cast<std::uint8_t>(wire[0]), version);
    EXPECT_EQ(static_cast<std::uint8_t>(wire[1]), static_cast<std::uint8_t>(Kind::request));
    auto d = decode(wire);
    ASSERT_TRUE(d);
    auto* got = std::get_if<ForwardedRequest>(&*d);
    ASSERT_NE(got, nullptr);
    expect_same(m, *got);
    expect_strict(wire);
}

TEST(ClusterCodec, MinimalRequestRoundTrips) {
    ForwardedRequest m;
    m.id = 1;
    m.from = "a";
    m.request.op = http::Operation::read;
    m.request.endpoint = "e";
    m.request.paths = {path("/3/0")};
    auto d = decode(encode(m));
    ASSERT_TRUE(d);
    auto* got = std::get_if<ForwardedRequest>(&*d);
    ASSERT_NE(got, nullptr);
    expect_same(m, *got);
    EXPECT_FALSE(got->request.content);
    EXPECT_FALSE(got->request.format);
    EXPECT_FALSE(got->request.attributes.pmin);
    expect_strict(encode(m));
}

TEST(ClusterCodec, EveryOperationRoundTrips) {
    for (int op = 0; op <= static_cast<int>(http::Operation::cancel_observe_composite); ++op) {
        ForwardedRequest m;
        m.id = static_cast<std::uint64_t>(op);
        m.from = "a";
        m.request.op = static_cast<http::Operation>(op);
        m.request.endpoint = "e";
        auto d = decode(encode(m));
        ASSERT_TRUE(d) << op;
        EXPECT_EQ(std::get<ForwardedRequest>(*d).request.op, m.request.op);
    }
}

TEST(ClusterCodec, RepliesRoundTrip) {
    const auto m = full_reply();
    auto d = decode(encode(m));
    ASSERT_TRUE(d);
    const auto& got = std::get<ForwardedReply>(*d);
    EXPECT_EQ(got.id, 42u);
    EXPECT_EQ(got.from, "n2");
    ASSERT_TRUE(got.outcome);
    EXPECT_EQ(got.outcome->code, 0x45);
    EXPECT_EQ(got.outcome->content, m.outcome->content);
    ASSERT_EQ(got.outcome->records.size(), 3u);
    EXPECT_EQ(got.outcome->records[0], m.outcome->records[0]);
    EXPECT_EQ(got.outcome->records[1], m.outcome->records[1]);
    EXPECT_EQ(got.outcome->records[2].path, m.outcome->records[2].path);
    EXPECT_TRUE(std::isnan(got.outcome->records[2].value.as_float()));
    EXPECT_EQ(got.outcome->links, m.outcome->links);
    EXPECT_EQ(got.outcome->format, format::ContentFormat::lwm2m_tlv);
    EXPECT_EQ(got.outcome->rtt, std::chrono::microseconds(1500));
    EXPECT_EQ(got.outcome->location, "/3303/1");
    EXPECT_EQ(got.outcome->diagnostic, "ok");
    expect_strict(encode(m));

    ForwardedReply e;
    e.id = 7;
    e.from = "n3";
    e.outcome = tl::unexpected(http::ApiError{504, "device_timeout", "the device did not answer"});
    auto de = decode(encode(e));
    ASSERT_TRUE(de);
    const auto& ge = std::get<ForwardedReply>(*de);
    ASSERT_FALSE(ge.outcome);
    EXPECT_EQ(ge.outcome.error().status, 504u);
    EXPECT_EQ(ge.outcome.error().code, "device_timeout");
    EXPECT_EQ(ge.outcome.error().message, "the device did not answer");
    expect_strict(encode(e));

    // An error status outside 400..599 is not an error reply.
    e.outcome = tl::unexpected(http::ApiError{200, "x", "y"});
    EXPECT_FALSE(decode(encode(e)));
}

TEST(ClusterCodec, EventsRoundTrip) {
    const auto m = full_event();
    auto d = decode(encode(m));
    ASSERT_TRUE(d);
    const auto& got = std::get<ForwardedEvent>(*d);
    EXPECT_EQ(got.from, "n1");
    EXPECT_EQ(got.event.type, http::EventType::notification);
    EXPECT_EQ(got.event.endpoint, "dev-1");
    EXPECT_EQ(got.event.data, m.event.data);
    expect_strict(encode(m));
    // Invalid UTF-8 from a device does not throw: it is replaced.
    auto bad = m;
    bad.event.data["content"] = std::string("\xff\xfe");
    auto db = decode(encode(bad));
    ASSERT_TRUE(db);
    EXPECT_TRUE(std::get<ForwardedEvent>(*db).event.data["content"].is_string());
}

TEST(ClusterCodec, RejectsBadHeadersAndFields) {
    auto wire = encode(full_request());
    EXPECT_FALSE(decode(""));
    auto v = wire;
    v[0] = static_cast<char>(version + 1);
    EXPECT_FALSE(decode(v)) << "another version";
    auto k = wire;
    k[1] = 9;
    EXPECT_FALSE(decode(k)) << "unknown kind";
    k[1] = 0;
    EXPECT_FALSE(decode(k)) << "kind 0";

    ForwardedRequest r;
    r.id = 1;
    r.from = "a";
    r.request.endpoint = "e";
    auto w = encode(r);
    // Layout: version, kind, id (1 byte), from (len 1 + "a"), op: the op byte is at 5.
    ASSERT_EQ(w[5], static_cast<char>(http::Operation::read));
    w[5] = static_cast<char>(static_cast<int>(http::Operation::cancel_observe_composite) + 1);
    EXPECT_FALSE(decode(w)) << "unknown operation";
    r.from.clear();
    EXPECT_FALSE(decode(encode(r))) << "no asking node";
    r.from = "a";
    r.request.endpoint.clear();
    EXPECT_FALSE(decode(encode(r))) << "no endpoint";

    auto ev = full_event();
    auto we = encode(ev);
    // version, kind, from (len + "n1"), type at 5.
    ASSERT_EQ(we[5], static_cast<char>(http::EventType::notification));
    we[5] = static_cast<char>(static_cast<int>(http::EventType::dropped) + 1);
    EXPECT_FALSE(decode(we)) << "unknown event type";
}

TEST(ClusterCodec, RejectsBadContentJson) {
    // A request whose content JSON is replaced by text that is not the REST content form.
    ForwardedRequest r;
    r.id = 1;
    r.from = "a";
    r.request.endpoint = "e";
    const std::vector<dm::Record> one{{path("/3/0/1"), dm::Value::string("m"), std::nullopt}};
    r.request.content = *dm::unflatten(path("/3/0/1"), one);
    auto good = encode(r);
    ASSERT_TRUE(decode(good));
    const auto json_text = http::content_to_json(*r.request.content).dump();
    const auto at = good.find(json_text);
    ASSERT_NE(at, std::string::npos);
    for (const std::string bad : {"{", "[]", R"({"path":"/x"})", R"({"path":"/3/0/1","kind":1})"}) {
        std::string w = good.substr(0, at - 1);
        w += static_cast<char>(bad.size()); // one-byte length (all < 128)
        w += bad;
        w += good.substr(at + json_text.size());
        EXPECT_FALSE(decode(w)) << bad;
    }
}

TEST(ClusterCodec, RejectsUnknownContentFormats) {
    ForwardedRequest r;
    r.id = 1;
    r.from = "a";
    r.request.endpoint = "e";
    r.request.format = format::ContentFormat::lwm2m_tlv; // 11542: varint 0x96 0x5A
    auto w = encode(r);
    const std::string tlv = "\x01\x96\x5A";
    const auto at = w.find(tlv);
    ASSERT_NE(at, std::string::npos);
    w[at + 1] = static_cast<char>(0xFF); // 11647: no such format
    EXPECT_FALSE(decode(w));
}

// ---- GET /api/clients and DELETE /api/clients/{ep} across the nodes ----------------------------

http::ClientInfo client(std::string ep, std::int64_t last_update = 100) {
    http::ClientInfo c;
    c.endpoint = std::move(ep);
    c.last_update = last_update;
    return c;
}

http::ClientInfo full_client() {
    http::ClientInfo c;
    c.endpoint = "dev-\xe2\x82\xac";
    c.registration_id = "rd7";
    c.lwm2m_version = "1.2";
    c.binding = "UQ";
    c.lifetime = 4294967295U;
    c.sms_number = "+15550100";
    c.address = "[2001:db8::1]:5684";
    c.security_mode = store::SecurityMode::x509;
    c.queue_mode = true;
    c.sleeping = true;
    c.registered_at = -5;
    c.last_update = 1700000123;
    c.root_path = "/lwm2m";
    c.objects = {{path("/3/0"), {}}, {path("/1"), {{"ver", "1.1"}, {"x", ""}}}};
    return c;
}

TEST(ClusterCodec, ListRequestRoundTrips) {
    ListRequest m;
    m.id = 77;
    m.from = "n2";
    m.query.page = {5, 300}; // the offset does not travel: the asker pages the merged list
    m.query.endpoint_contains = "ab";
    m.query.endpoint_prefix = "dev-";
    m.query.binding = "UQ";
    m.query.security_mode = store::SecurityMode::psk;
    const auto wire = encode(m);
    EXPECT_EQ(static_cast<std::uint8_t>(wire[1]), static_cast<std::uint8_t>(Kind::list_request));
    auto d = decode(wire);
    ASSERT_TRUE(d);
    const auto& got = std::get<ListRequest>(*d);
    EXPECT_EQ(got.id, 77U);
    EXPECT_EQ(got.from, "n2");
    EXPECT_EQ(got.query.page.offset, 0U);
    EXPECT_EQ(got.query.page.limit, 300U);
    EXPECT_EQ(got.query.endpoint_contains, "ab");
    EXPECT_EQ(got.query.endpoint_prefix, "dev-");
    EXPECT_EQ(got.query.binding, std::optional<std::string>("UQ"));
    EXPECT_EQ(got.query.security_mode, store::SecurityMode::psk);
    expect_strict(wire);

    ListRequest bare;
    bare.id = 1;
    bare.from = "a";
    auto db = decode(encode(bare));
    ASSERT_TRUE(db);
    const auto& b = std::get<ListRequest>(*db);
    EXPECT_FALSE(b.query.binding);
    EXPECT_FALSE(b.query.security_mode);
    EXPECT_EQ(b.query.page.limit, 100U);
    expect_strict(encode(bare));

    bare.query.page.limit = 1000000; // capped on the wire
    auto dc = decode(encode(bare));
    ASSERT_TRUE(dc);
    EXPECT_EQ(std::get<ListRequest>(*dc).query.page.limit, max_list_items);
    // Security mode byte (the last one) out of range; no asking node.
    auto w = encode(m);
    w.back() = 9;
    EXPECT_FALSE(decode(w)) << "security mode 9";
    bare.from.clear();
    EXPECT_FALSE(decode(encode(bare))) << "no asking node";
}

TEST(ClusterCodec, ListReplyRoundTripsEveryField) {
    ListReply m;
    m.id = 9;
    m.from = "n3";
    m.page.total = 12345;
    m.page.items = {full_client(), client("z")};
    const auto wire = encode(m);
    auto d = decode(wire);
    ASSERT_TRUE(d);
    const auto& got = std::get<ListReply>(*d);
    EXPECT_EQ(got.id, 9U);
    EXPECT_EQ(got.from, "n3");
    EXPECT_EQ(got.page.total, 12345U);
    ASSERT_EQ(got.page.items.size(), 2U);
    const auto& c = got.page.items[0];
    const auto want = full_client();
    EXPECT_EQ(c.endpoint, want.endpoint);
    EXPECT_EQ(c.registration_id, "rd7");
    EXPECT_EQ(c.lwm2m_version, "1.2");
    EXPECT_EQ(c.binding, "UQ");
    EXPECT_EQ(c.lifetime, 4294967295U);
    EXPECT_EQ(c.sms_number, want.sms_number);
    EXPECT_EQ(c.address, want.address);
    EXPECT_EQ(c.security_mode, store::SecurityMode::x509);
    EXPECT_TRUE(c.queue_mode);
    EXPECT_TRUE(c.sleeping);
    EXPECT_EQ(c.registered_at, -5);
    EXPECT_EQ(c.last_update, 1700000123);
    EXPECT_EQ(c.root_path, "/lwm2m");
    ASSERT_EQ(c.objects.size(), 2U);
    EXPECT_EQ(c.objects[1].path, path("/1"));
    EXPECT_EQ(c.objects[1].attributes, want.objects[1].attributes);
    EXPECT_FALSE(c.node) << "the node is the asker's to set";
    EXPECT_EQ(got.page.items[1].endpoint, "z");
    EXPECT_FALSE(got.page.items[1].sms_number);
    expect_strict(wire);

    ListReply empty;
    empty.id = 1;
    empty.from = "n1";
    auto de = decode(encode(empty));
    ASSERT_TRUE(de);
    EXPECT_TRUE(std::get<ListReply>(*de).page.items.empty());
    expect_strict(encode(empty));

    // An item without endpoint, a bad object path, a bad security mode.
    auto bad = m;
    bad.page.items[1].endpoint.clear();
    EXPECT_FALSE(decode(encode(bad))) << "empty endpoint";
    const auto at = wire.find("/lwm2m");
    ASSERT_NE(at, std::string::npos);
    auto w = wire;
    // "/lwm2m", the object count, the first object path's length byte, then its '/'.
    ASSERT_EQ(w[at + 8], '/');
    w[at + 8] = 'x'; // "/3/0" becomes "x3/0"
    EXPECT_FALSE(decode(w)) << "bad object path";
    auto s = encode(ListReply{1, "n", {{client("e")}, 1, false, {}}});
    // Layout: version, kind, id, from (len + "n"), total, count, then the item: endpoint (2),
    // registration id (1), version (len + "1.1"), binding (len + "U"), lifetime (3 bytes:
    // 86400), sms flag, address (1), security mode.
    const std::size_t mode_at = 2 + 1 + 2 + 1 + 1 + 2 + 1 + 4 + 2 + 3 + 1 + 1;
    ASSERT_EQ(s[mode_at], static_cast<char>(store::SecurityMode::nosec));
    s[mode_at] = 4;
    EXPECT_FALSE(decode(s)) << "security mode 4";
}

TEST(ClusterCodec, RemoveRequestRoundTrips) {
    RemoveRequest m{42, "n1", "dev-9"};
    const auto wire = encode(m);
    auto d = decode(wire);
    ASSERT_TRUE(d);
    const auto& got = std::get<RemoveRequest>(*d);
    EXPECT_EQ(got.id, 42U);
    EXPECT_EQ(got.from, "n1");
    EXPECT_EQ(got.endpoint, "dev-9");
    expect_strict(wire);
    EXPECT_FALSE(decode(encode(RemoveRequest{1, "n1", ""}))) << "no endpoint";
    EXPECT_FALSE(decode(encode(RemoveRequest{1, "", "e"}))) << "no asking node";
}

std::vector<std::string> eps_of(const std::vector<http::ClientInfo>& v) {
    std::vector<std::string> out;
    for (const auto& c : v)
        out.push_back(c.endpoint);
    return out;
}

TEST(ClusterMerge, MergesInEndpointOrderAndPages) {
    const std::vector<std::vector<http::ClientInfo>> lists{
        {client("a"), client("d"), client("g")},
        {client("b"), client("e")},
        {},
        {client("c"), client("f"), client("h"), client("i")}};
    std::size_t dups = 99;
    EXPECT_EQ(eps_of(merge_client_pages(lists, 0, 100, &dups)),
              (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h", "i"}));
    EXPECT_EQ(dups, 0U);
    // Pages of 2 put together: the whole list, no duplicate, no gap.
    std::vector<std::string> paged;
    for (std::size_t off = 0; off < 12; off += 2) {
        auto page = eps_of(merge_client_pages(lists, off, 2));
        EXPECT_LE(page.size(), 2U);
        paged.insert(paged.end(), page.begin(), page.end());
    }
    EXPECT_EQ(paged, eps_of(merge_client_pages(lists, 0, 100)));
    EXPECT_EQ(eps_of(merge_client_pages(lists, 7, 5)), (std::vector<std::string>{"h", "i"}));
    EXPECT_TRUE(merge_client_pages(lists, 9, 5).empty());
    EXPECT_TRUE(merge_client_pages(lists, 0, 0).empty());
    EXPECT_TRUE(merge_client_pages({}, 0, 10).empty());
}

TEST(ClusterMerge, KeepsTheMostRecentOfAnEndpointHeldTwice) {
    auto old_b = client("b", 100);
    old_b.address = "old";
    auto new_b = client("b", 200);
    new_b.address = "new";
    auto tie_c1 = client("c", 50);
    tie_c1.address = "first";
    auto tie_c2 = client("c", 50);
    tie_c2.address = "second";
    const std::vector<std::vector<http::ClientInfo>> lists{{client("a"), old_b, tie_c1},
                                                           {new_b, tie_c2, client("d")}};
    std::size_t dups = 0;
    auto all = merge_client_pages(lists, 0, 10, &dups);
    ASSERT_EQ(eps_of(all), (std::vector<std::string>{"a", "b", "c", "d"}));
    EXPECT_EQ(all[1].address, "new");
    EXPECT_EQ(all[2].address, "first") << "a tie keeps the first list's";
    EXPECT_EQ(dups, 2U);
    // The other way round: the newer one in the first list.
    auto flipped = merge_client_pages({{new_b}, {old_b}}, 0, 10);
    ASSERT_EQ(flipped.size(), 1U);
    EXPECT_EQ(flipped[0].address, "new");
    // Paging counts an endpoint once.
    EXPECT_EQ(eps_of(merge_client_pages(lists, 2, 2)), (std::vector<std::string>{"c", "d"}));
}

} // namespace
} // namespace lwm2m::app::cluster
