// The admin commands' output helpers (apps/lwm2m/rest_format.hpp) and the SSE parser
// (apps/lwm2m/rest_client.hpp): no network.
#include <gtest/gtest.h>

#include "rest_client.hpp"
#include "rest_format.hpp"

using namespace lwm2m::app;
using nlohmann::json;

namespace {

ObjectModel device_model() {
    return *object_model_from_json(json::parse(R"({"id": 3, "name": "Device", "resources": [
        {"id": 0, "name": "Manufacturer", "type": "string", "units": "", "operations": "R"},
        {"id": 6, "name": "Available Power Sources", "type": "integer", "units": "",
         "multiple": true},
        {"id": 9, "name": "Battery Level", "type": "integer", "units": "%"},
        {"id": 13, "name": "Current Time", "type": "time", "units": ""}]})"));
}

} // namespace

TEST(RestFormat, TableAlignsColumnsAndEscapesControlCharacters) {
    Table t({"PATH", "NAME", "VALUE"});
    t.add({"/3/0/0", "Manufacturer", "Acme"});
    t.add({"/3/0/9", "Battery Level", "87 %"});
    t.add({"/1/0/1", "x\ny", ""});
    t.add({"/é", "ü", "a\tb"});
    EXPECT_EQ(t.render(), "PATH    NAME           VALUE\n"
                          "/3/0/0  Manufacturer   Acme\n"
                          "/3/0/9  Battery Level  87 %\n"
                          "/1/0/1  x\\ny\n"
                          "/é      ü              a\\tb\n");
    EXPECT_EQ(t.rows(), 4u);
}

TEST(RestFormat, ValuesByType) {
    EXPECT_EQ(format_value(json("Acme"), "string"), "Acme");
    EXPECT_EQ(format_value(json(87), "integer", "%"), "87 %");
    EXPECT_EQ(format_value(json(21.5), "float", "Cel"), "21.5 Cel");
    EXPECT_EQ(format_value(json(0.1), "float"), "0.1");
    EXPECT_EQ(format_value(json(true), "boolean"), "true");
    EXPECT_EQ(format_value(json(nullptr), "float", "Cel"), "-");
    EXPECT_EQ(format_value(json(1700000000), "time"), "1700000000 (2023-11-14T22:13:20Z)");
    EXPECT_EQ(format_value(json("AAH/"), "opaque"), "0x0001ff (3 bytes)");
    EXPECT_EQ(format_value(json(""), "opaque"), "(0 bytes)");
    EXPECT_EQ(format_value(json("3:0"), "objlnk"), "3:0");
    EXPECT_EQ(format_value(json(18446744073709551615ULL), "unsigned"), "18446744073709551615");
    EXPECT_EQ(iso8601_utc(1700000000123, true), "2023-11-14T22:13:20.123Z");
}

TEST(RestFormat, ContentRowsUseModelNamesUnitsAndOrderInstancesNumerically) {
    auto m = device_model();
    ModelLookup models = [&m](std::uint16_t oid) { return oid == 3 ? &m : nullptr; };
    auto content = json::parse(R"({"path": "/3/0", "kind": "instance", "id": 0, "resources": [
        {"id": 0, "type": "string", "value": "Acme"},
        {"id": 6, "type": "integer", "instances": {"10": 7, "2": 1}},
        {"id": 9, "type": "integer", "value": 87},
        {"id": 77, "type": "string", "value": "?"}]})");
    Table t({"PATH", "NAME", "VALUE"});
    add_content_rows(content, models, t);
    EXPECT_EQ(t.render(), "PATH       NAME                     VALUE\n"
                          "/3/0/0     Manufacturer             Acme\n"
                          "/3/0/6/2   Available Power Sources  1\n"
                          "/3/0/6/10  Available Power Sources  7\n"
                          "/3/0/9     Battery Level            87 %\n"
                          "/3/0/77                             ?\n");

    Table one({"PATH", "NAME", "VALUE"});
    add_content_rows(json::parse(R"({"path": "/3/0/9", "kind": "resource", "id": 9,
                                     "type": "integer", "value": 5})"),
                     models, one);
    add_content_rows(json::parse(R"({"path": "/3/0/6/1", "kind": "resource_instance", "id": 1,
                                     "type": "integer", "value": 2})"),
                     models, one);
    add_content_rows(json::parse(R"({"path": "/3", "kind": "object", "id": 3, "instances": [
                                     {"id": 1, "resources": []}]})"),
                     models, one);
    EXPECT_EQ(one.render(), "PATH      NAME                     VALUE\n"
                            "/3/0/9    Battery Level            5 %\n"
                            "/3/0/6/1  Available Power Sources  2\n"
                            "/3/1                               (no resources)\n");

    Table recs({"PATH", "NAME", "VALUE"});
    add_record_rows(json::parse(R"([{"path": "/3/0/13", "type": "time", "value": 0},
                                    {"path": "/5/0/1", "type": "string", "value": "u"}])"),
                    models, recs);
    EXPECT_EQ(recs.render(), "PATH     NAME          VALUE\n"
                             "/3/0/13  Current Time  0 (1970-01-01T00:00:00Z)\n"
                             "/5/0/1                 u\n");
}

TEST(RestFormat, ModelFromJsonRejectsOtherShapes) {
    EXPECT_FALSE(object_model_from_json(json::parse(R"({"error": {}})")));
    EXPECT_FALSE(object_model_from_json(json::parse("[]")));
    auto m = device_model();
    EXPECT_EQ(m.name, "Device");
    ASSERT_TRUE(m.resources.count(9));
    EXPECT_EQ(m.resources[9].units, "%");
    EXPECT_TRUE(m.resources[6].multiple);
}

TEST(RestFormat, ParseTypedValue) {
    std::string why;
    EXPECT_EQ(*parse_typed_value("60", "integer", &why), json(60));
    EXPECT_EQ(*parse_typed_value("-5", "integer", &why), json(-5));
    EXPECT_FALSE(parse_typed_value("6x", "integer", &why));
    EXPECT_NE(why.find("not an integer"), std::string::npos);
    EXPECT_FALSE(parse_typed_value("-1", "unsigned", &why));
    EXPECT_EQ(*parse_typed_value("18446744073709551615", "unsigned", &why),
              json(18446744073709551615ULL));
    EXPECT_EQ(*parse_typed_value("21.5", "float", &why), json(21.5));
    EXPECT_FALSE(parse_typed_value("inf", "float", &why));
    EXPECT_EQ(*parse_typed_value("1", "boolean", &why), json(true));
    EXPECT_FALSE(parse_typed_value("yes", "boolean", &why));
    EXPECT_EQ(*parse_typed_value("0x0001ff", "opaque", &why), json("AAH/"));
    EXPECT_EQ(*parse_typed_value("00", "opaque", &why), json("AA=="));
    EXPECT_FALSE(parse_typed_value("0x0", "opaque", &why));
    EXPECT_EQ(*parse_typed_value("3:0", "objlnk", &why), json("3:0"));
    EXPECT_FALSE(parse_typed_value("3:70000", "objlnk", &why));
    EXPECT_EQ(*parse_typed_value("42", "string", &why), json("42"));
    EXPECT_EQ(*parse_typed_value("1700000000", "time", &why), json(1700000000));
    // No model: numbers and booleans as JSON, the rest as text.
    EXPECT_EQ(*parse_typed_value("7", "", &why), json(7));
    EXPECT_EQ(*parse_typed_value("0.5", "", &why), json(0.5));
    EXPECT_EQ(*parse_typed_value("false", "", &why), json(false));
    EXPECT_EQ(*parse_typed_value("hello", "", &why), json("hello"));
}

TEST(SseParser, EventsAcrossChunksAndLineEndings) {
    SseParser p;
    EXPECT_TRUE(p.feed("retry: 3000\n\n: heartbeat\n\nid: 17\nevent: regis").empty());
    auto ev = p.feed("tration\ndata: {\"a\":\r\ndata: 1}\r\n\r\nda");
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].id, "17");
    EXPECT_EQ(ev[0].event, "registration");
    EXPECT_EQ(ev[0].data, "{\"a\":\n1}");
    ev = p.feed("ta:x\r\rdata\n\n");
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].event, "message");
    EXPECT_EQ(ev[0].data, "x");
    EXPECT_EQ(ev[0].id, "");
    EXPECT_EQ(ev[1].data, "");
}

TEST(ServerAddress, Parse) {
    auto a = ServerAddress::parse("http://127.0.0.1:8080");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 8080);
    a = ServerAddress::parse("http://[::1]:9/");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "::1");
    EXPECT_EQ(a->port, 9);
    a = ServerAddress::parse("http://localhost");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->port, 80);
    std::string why;
    EXPECT_FALSE(ServerAddress::parse("https://h", &why));
    EXPECT_NE(why.find("https"), std::string::npos);
    EXPECT_FALSE(ServerAddress::parse("127.0.0.1:8080"));
    EXPECT_FALSE(ServerAddress::parse("http://h:0"));
    EXPECT_FALSE(ServerAddress::parse("http://h:65536"));
    EXPECT_FALSE(ServerAddress::parse("http://h/api"));
    EXPECT_FALSE(ServerAddress::parse("http://:80"));
    EXPECT_EQ(url_encode("dev/1 é~"), "dev%2F1%20%C3%A9~");
}
