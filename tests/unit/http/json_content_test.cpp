#include <gtest/gtest.h>

#include <lwm2m/dm/errc.hpp>
#include <lwm2m/http/json_content.hpp>

using namespace lwm2m;
using namespace lwm2m::http;
using nlohmann::json;

namespace {
const dm::ObjectRegistry& models() {
    static const auto reg = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_1);
    return reg;
}
} // namespace

TEST(HttpJsonValue, EveryTypeRoundTrips) {
    const std::vector<dm::Value> values = {
        dm::Value{},
        dm::Value::string("héllo \"x\"\n"),
        dm::Value::integer(std::numeric_limits<std::int64_t>::min()),
        dm::Value::integer(42),
        dm::Value::unsigned_integer(std::numeric_limits<std::uint64_t>::max()),
        dm::Value::float_(-21.5),
        dm::Value::float_(1e300),
        dm::Value::boolean(true),
        dm::Value::boolean(false),
        dm::Value::opaque(Bytes{std::byte{0}, std::byte{1}, std::byte{0xff}}),
        dm::Value::opaque(Bytes{}),
        dm::Value::time(-1),
        dm::Value::time(1700000000),
        dm::Value::objlnk(3, 0),
        dm::Value::objlnk(65535, 65535),
        dm::Value::corelnk("</3/0>;ver=1.1"),
    };
    for (const auto& v : values) {
        json j = value_to_json(v);
        // Through text, as on the wire.
        json back_text = json::parse(j.dump());
        auto back = value_from_json(back_text, v.type());
        ASSERT_TRUE(back) << j.dump() << " as " << json_type_name(v.type());
        EXPECT_EQ(*back, v) << j.dump();
    }
    EXPECT_EQ(value_to_json(dm::Value::opaque(Bytes{std::byte{0}, std::byte{1}, std::byte{0xff}})),
              "AAH/");
    EXPECT_EQ(value_to_json(dm::Value::objlnk(3, 0)), "3:0");
    EXPECT_TRUE(value_to_json(dm::Value::float_(std::nan(""))).is_null());
    for (std::uint8_t t = 0; t <= static_cast<std::uint8_t>(dm::DataType::corelnk); ++t) {
        auto dt = static_cast<dm::DataType>(t);
        EXPECT_EQ(json_type_from_name(json_type_name(dt)), dt);
    }
    EXPECT_FALSE(json_type_from_name("int"));
}

TEST(HttpJsonValue, WrongKindsAndRangesAreErrors) {
    std::string why;
    auto expect_err = [&](const json& j, dm::DataType t, dm::Errc e) {
        auto r = value_from_json(j, t, &why);
        ASSERT_FALSE(r) << j.dump();
        EXPECT_EQ(r.error(), make_error_code(e)) << j.dump() << ": " << why;
        EXPECT_FALSE(why.empty());
    };
    expect_err("5", dm::DataType::integer, dm::Errc::type_mismatch);
    expect_err(5.5, dm::DataType::integer, dm::Errc::type_mismatch);
    expect_err(json(std::numeric_limits<std::uint64_t>::max()), dm::DataType::integer,
               dm::Errc::out_of_range);
    expect_err(-1, dm::DataType::unsigned_integer, dm::Errc::out_of_range);
    expect_err(1, dm::DataType::boolean, dm::Errc::type_mismatch);
    expect_err("true", dm::DataType::boolean, dm::Errc::type_mismatch);
    expect_err("x", dm::DataType::float_, dm::Errc::type_mismatch);
    expect_err("AAH", dm::DataType::opaque, dm::Errc::bad_value);
    expect_err("AA-/", dm::DataType::opaque, dm::Errc::bad_value);
    expect_err("3-0", dm::DataType::objlnk, dm::Errc::bad_value);
    expect_err("70000:0", dm::DataType::objlnk, dm::Errc::bad_value);
    expect_err(3, dm::DataType::string, dm::Errc::type_mismatch);
    expect_err(1, dm::DataType::none, dm::Errc::type_mismatch);
    EXPECT_TRUE(value_from_json(3, dm::DataType::float_)) << "an integer is a valid float";
}

TEST(HttpJsonContent, InstanceShapeBothWays) {
    dm::Instance in;
    in.id = 0;
    in.resources[0] = dm::Resource::single(0, dm::Value::string("Acme"));
    dm::FlatMap<std::uint16_t, dm::Value> v;
    v[0] = dm::Value::integer(1);
    v[3] = dm::Value::integer(5);
    in.resources[6] = dm::Resource::multi(6, v);
    dm::Content c{dm::Path(Oid{3}, Iid{0}), in};
    json j = content_to_json(c);
    EXPECT_EQ(j["path"], "/3/0");
    EXPECT_EQ(j["kind"], "instance");
    EXPECT_EQ(j["resources"][0], json({{"id", 0}, {"type", "string"}, {"value", "Acme"}}));
    EXPECT_EQ(j["resources"][1]["instances"], json({{"0", 1}, {"3", 5}}));
    auto back = content_from_json(json::parse(j.dump()), c.path, &models());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
    auto untyped =
        content_from_json(json::parse(R"({"resources":[{"id":0,"type":"string","value":"Acme"},
        {"id":6,"type":"integer","instances":{"0":1,"3":5}}]})"),
                          c.path, nullptr);
    ASSERT_TRUE(untyped) << "types given explicitly need no model";
    EXPECT_EQ(*untyped, c);
}

TEST(HttpJsonContent, EveryLevel) {
    dm::Object o;
    o.id = 3303;
    o.instances[1].id = 1;
    o.instances[1].resources[5700] = dm::Resource::single(5700, dm::Value::float_(21.5));
    for (const dm::Content& c :
         {dm::Content{dm::Path(Oid{3303}), o},
          dm::Content{dm::Path(Oid{3}, Iid{0}, Rid{9}),
                      dm::Resource::single(9, dm::Value::integer(87))},
          dm::Content{dm::Path(Oid{3}, Iid{0}, Rid{6}, Riid{2}), dm::Value::integer(1)}}) {
        json j = content_to_json(c);
        auto back = content_from_json(json::parse(j.dump()), c.path, nullptr);
        ASSERT_TRUE(back) << j.dump();
        EXPECT_EQ(*back, c) << j.dump();
    }
}

TEST(HttpJsonContent, TypesFromTheModel) {
    std::string why;
    // /3/0/14 UTC Offset (string), /3/0/13 Current Time (time), /1/0/1 Lifetime (integer).
    auto c = content_from_json(json{{"value", "+02:00"}}, dm::Path(Oid{3}, Iid{0}, Rid{14}),
                               &models(), &why);
    ASSERT_TRUE(c) << why;
    EXPECT_EQ(std::get<dm::Resource>(c->node).value, dm::Value::string("+02:00"));
    c = content_from_json(json{{"value", 1700000000}}, dm::Path(Oid{3}, Iid{0}, Rid{13}),
                          &models());
    ASSERT_TRUE(c);
    EXPECT_EQ(std::get<dm::Resource>(c->node).value, dm::Value::time(1700000000));

    auto bad =
        content_from_json(json{{"value", "x"}}, dm::Path(Oid{1}, Iid{0}, Rid{1}), &models(), &why);
    ASSERT_FALSE(bad);
    EXPECT_NE(why.find("/1/0/1"), std::string::npos) << why;
    bad = content_from_json(json{{"type", "string"}, {"value", "x"}},
                            dm::Path(Oid{1}, Iid{0}, Rid{1}), &models(), &why);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), make_error_code(dm::Errc::type_mismatch)) << why;
    bad =
        content_from_json(json{{"value", 1}}, dm::Path(Oid{9999}, Iid{0}, Rid{1}), &models(), &why);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), make_error_code(dm::Errc::unknown_resource));
    bad = content_from_json(json{{"value", 1}}, dm::Path(Oid{3}, Iid{0}, Rid{6}), &models(), &why);
    EXPECT_FALSE(bad) << "a multiple resource takes instances";
}

TEST(HttpJsonContent, StructureErrors) {
    std::string why;
    const dm::Path inst(Oid{3}, Iid{0});
    for (
        const char* text : {
            R"([])",
            R"({"resources": {}})",
            R"({"resources": [{"id": 0, "type": "string", "value": "a", "extra": 1}]})",
            R"({"resources": [{"type": "string", "value": "a"}]})",
            R"({"resources": [{"id": 0, "type": "string"}]})",
            R"({"resources": [{"id": 0, "type": "string", "value": "a", "instances": {}}]})",
            R"({"resources": [{"id": 0, "type": "string", "value": "a"}, {"id": 0, "type": "string", "value": "b"}]})",
            R"({"resources": [{"id": 70000, "type": "string", "value": "a"}]})",
            R"({"resources": [{"id": 6, "type": "integer", "instances": {"01": 1}}]})",
            R"({"id": 1, "resources": []})",
            R"({"path": "/3/1", "resources": []})",
            R"({"kind": "object", "resources": []})",
            R"({"resources": [{"id": 0, "type": "strng", "value": "a"}]})",
        }) {
        auto r = content_from_json(json::parse(text), inst, &models(), &why);
        EXPECT_FALSE(r) << text;
        EXPECT_FALSE(why.empty()) << text;
    }
    bool given = true;
    auto create =
        content_from_json(json::parse(R"({"resources":[{"id":5700,"type":"float","value":1}]})"),
                          dm::Path(Oid{3303}), nullptr, &why, true, &given);
    ASSERT_TRUE(create) << why;
    EXPECT_FALSE(given);
    EXPECT_EQ(create->path, dm::Path(Oid{3303}, Iid{0}));
    create = content_from_json(json::parse(R"({"id":7,"resources":[]})"), dm::Path(Oid{3303}),
                               nullptr, &why, true, &given);
    ASSERT_TRUE(create);
    EXPECT_TRUE(given);
    EXPECT_EQ(create->path, dm::Path(Oid{3303}, Iid{7}));
}

TEST(HttpJsonRecords, BothWaysAndErrors) {
    std::vector<dm::Record> recs = {
        {dm::Path(Oid{3}, Iid{0}, Rid{0}), dm::Value::string("A"), 12.5},
        {dm::Path(Oid{3}, Iid{0}, Rid{6}, Riid{1}), dm::Value::integer(5), {}}};
    json j = records_to_json(recs);
    EXPECT_EQ(j[0]["time"], 12.5);
    EXPECT_FALSE(j[1].contains("time"));
    j[0].erase("time");
    auto back = records_from_json(j, nullptr);
    ASSERT_TRUE(back);
    recs[0].time.reset();
    EXPECT_EQ(*back, recs);
    std::string why;
    EXPECT_TRUE(
        records_from_json(json::parse(R"([{"path":"/1/0/1","value":60}])"), &models(), &why))
        << why;
    for (
        const char* text :
        {R"({})", R"([{"path":"/3/0","type":"string","value":"a"}])",
         R"([{"path":"/3/0/0","type":"string"}])",
         R"([{"path":"/3/0/0","type":"string","value":"a"},{"path":"/3/0/0","type":"string","value":"b"}])",
         R"([{"path":"/3/0/0","type":"string","value":"a","x":1}])",
         R"([{"path":"/9999/0/0","value":"a"}])"}) {
        EXPECT_FALSE(records_from_json(json::parse(text), &models(), &why)) << text;
    }
}
