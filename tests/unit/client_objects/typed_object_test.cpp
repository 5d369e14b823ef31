// TypedObject: an IPSO Temperature object (3303) in a few lines from a DDF text, bindings checked
// against the definition, writes validated all-or-nothing, operations per the definition, Create /
// Delete / Discover, and the ChangeListener on application changes.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <lwm2m/client/objects/typed_object.hpp>
#include <lwm2m/dm/ddf.hpp>
#include <lwm2m/dm/value_check.hpp>

#include "unit/client_objects/helpers.hpp"

namespace lwm2m::client {
namespace {

using test::P;
using test::RecordingListener;

// A DDF document in the shape of the OMA registry's 3303.xml (IPSO Temperature 1.1), reduced to
// the resources the tests use; written here, loaded with the project's DDF loader.
constexpr const char* kTemperatureDdf = R"(<?xml version="1.0" encoding="utf-8"?>
<LWM2M xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Object ObjectType="MODefinition">
    <Name>Temperature</Name>
    <Description1>Temperature sensor.</Description1>
    <ObjectID>3303</ObjectID>
    <ObjectURN>urn:oma:lwm2m:ext:3303:1.1</ObjectURN>
    <LWM2MVersion>1.0</LWM2MVersion>
    <ObjectVersion>1.1</ObjectVersion>
    <MultipleInstances>Multiple</MultipleInstances>
    <Mandatory>Optional</Mandatory>
    <Resources>
      <Item ID="5700"><Name>Sensor Value</Name><Operations>R</Operations>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory>
        <Type>Float</Type><RangeEnumeration></RangeEnumeration><Units>Cel</Units>
        <Description>Last or Current Measured Value from the Sensor.</Description></Item>
      <Item ID="5601"><Name>Min Measured Value</Name><Operations>R</Operations>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
        <Type>Float</Type><RangeEnumeration></RangeEnumeration><Units></Units>
        <Description>The minimum value measured.</Description></Item>
      <Item ID="5602"><Name>Max Measured Value</Name><Operations>R</Operations>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
        <Type>Float</Type><RangeEnumeration></RangeEnumeration><Units></Units>
        <Description>The maximum value measured.</Description></Item>
      <Item ID="5605"><Name>Reset Min and Max Measured Values</Name><Operations>E</Operations>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
        <Type></Type><RangeEnumeration></RangeEnumeration><Units></Units>
        <Description>Reset the Min and Max Measured Values to Current Value.</Description></Item>
      <Item ID="5701"><Name>Sensor Units</Name><Operations>R</Operations>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
        <Type>String</Type><RangeEnumeration></RangeEnumeration><Units></Units>
        <Description>Measurement Units Definition.</Description></Item>
      <Item ID="5750"><Name>Application Type</Name><Operations>RW</Operations>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
        <Type>String</Type><RangeEnumeration>0..32</RangeEnumeration><Units></Units>
        <Description>The application type of the sensor or actuator as a string.</Description></Item>
    </Resources>
  </Object>
</LWM2M>
)";

dm::ObjectDef temperature_def() {
    auto def = dm::load_ddf(kTemperatureDdf, "3303-test.xml");
    EXPECT_TRUE(def) << def.error().message();
    return *def;
}

const Actor dm1 = Actor::dm_server(ShortServerId{1});

// The example of the docs: a working IPSO temperature sensor.
TEST(TypedObject, IpsoTemperatureInAFewLines) {
    TypedObject temp(temperature_def());
    double celsius = 21.5, lo = 21.5, hi = 21.5;
    ASSERT_TRUE(temp.add_instance(Iid{0}));
    ASSERT_TRUE(temp.bind(Iid{0}, Rid{5700}, celsius));
    ASSERT_TRUE(temp.bind(Iid{0}, Rid{5601}, lo));
    ASSERT_TRUE(temp.bind(Iid{0}, Rid{5602}, hi));
    ASSERT_TRUE(temp.set(Iid{0}, Rid{5701}, std::string("Cel")));
    ASSERT_TRUE(temp.bind_execute(Iid{0}, Rid{5605}, [&](std::string_view) {
        lo = hi = celsius;
        return ok();
    }));

    EXPECT_EQ(temp.oid(), Oid{3303});
    EXPECT_EQ(temp.version(), "1.1");
    auto v = temp.read(dm1, P(3303, 0, 5700));
    ASSERT_TRUE(v);
    EXPECT_EQ(std::get<dm::Resource>(v->node).value, dm::Value::float_(21.5));

    celsius = 30.25;
    hi = 30.25;
    EXPECT_OK(temp.execute(dm1, P(3303, 0, 5605), ""));
    EXPECT_EQ(lo, 30.25);
    const auto inst = temp.read(dm1, P(3303, 0));
    ASSERT_TRUE(inst);
    const auto& in = std::get<dm::Instance>(inst->node);
    EXPECT_EQ(in.resources.size(), 4u); // 5700 5601 5602 5701: the E resource is never read
    EXPECT_EQ(in.resources.at(5701).value, dm::Value::string("Cel"));

    // RW resource from a server; R resource refused.
    EXPECT_OK(
        temp.write(dm1, P(3303, 0, 5750),
                   test::content(P(3303, 0, 5750), test::res(5750, dm::Value::string("Fridge"))),
                   WriteMode::replace));
    EXPECT_EQ(temp.get<std::string>(Iid{0}, Rid{5750}), "Fridge");
    EXPECT_STATUS(
        temp.write(dm1, P(3303, 0, 5700),
                   test::content(P(3303, 0, 5700), test::res(5700, dm::Value::float_(1.0))),
                   WriteMode::replace),
        Status::method_not_allowed);
    EXPECT_EQ(celsius, 30.25);
}

class TypedObjectTest : public ::testing::Test {
protected:
    void SetUp() override {
        obj.set_change_listener(&listener);
        ASSERT_TRUE(obj.add_instance(Iid{0}));
        listener.paths.clear();
    }
    Result<void> put(const Actor& a, std::uint16_t rid, dm::Value v, std::uint16_t iid = 0) {
        return obj.write(a, P(3303, iid, rid), test::content(P(3303, iid, rid), test::res(rid, v)),
                         WriteMode::replace);
    }
    TypedObject obj{temperature_def()};
    RecordingListener listener;
};

TEST_F(TypedObjectTest, BindChecksTheDefinitionAtBindTime) {
    int i = 0;
    double d = 0;
    std::string s;
    std::vector<double> vec;
    EXPECT_STATUS(obj.bind(Iid{0}, Rid{5700}, i), Status::bad_request);   // Float resource
    EXPECT_STATUS(obj.bind(Iid{0}, Rid{5701}, d), Status::bad_request);   // String resource
    EXPECT_STATUS(obj.bind(Iid{0}, Rid{5605}, s), Status::bad_request);   // executable
    EXPECT_STATUS(obj.bind(Iid{0}, Rid{5700}, vec), Status::bad_request); // single resource
    EXPECT_STATUS(obj.bind(Iid{0}, Rid{9999}, d), Status::not_found);
    EXPECT_STATUS(obj.bind(Iid{7}, Rid{5700}, d), Status::not_found);
    EXPECT_STATUS(obj.bind_execute(Iid{0}, Rid{5700}, [](std::string_view) { return ok(); }),
                  Status::bad_request);
    EXPECT_OK(obj.bind(Iid{0}, Rid{5700}, d));
    EXPECT_OK(obj.bind(Iid{0}, Rid{5701}, s));
}

TEST_F(TypedObjectTest, OperationsFollowTheDefinition) {
    // E resource: never read, never written; R: not written by a DM server.
    EXPECT_STATUS(obj.read(dm1, P(3303, 0, 5605)), Status::method_not_allowed);
    EXPECT_STATUS(put(dm1, 5605, dm::Value{}), Status::method_not_allowed);
    EXPECT_STATUS(obj.execute(dm1, P(3303, 0, 5700), ""), Status::method_not_allowed);
    // Defined E resource without a callback: not instantiated.
    EXPECT_STATUS(obj.execute(dm1, P(3303, 0, 5605), ""), Status::not_found);
    // Absent values and unknown ids.
    EXPECT_STATUS(obj.read(dm1, P(3303, 0, 5700)), Status::not_found);
    EXPECT_STATUS(obj.read(dm1, P(3303, 0, 1234)), Status::not_found);
    EXPECT_STATUS(obj.read(dm1, P(3303, 9)), Status::not_found);
    EXPECT_STATUS(obj.read(dm1, P(3304)), Status::not_found);
    EXPECT_STATUS(put(dm1, 1234, dm::Value::integer(1)), Status::not_found);
    // Execute needs a resource path.
    EXPECT_STATUS(obj.execute(Actor::local_app(), P(3303, 0), ""), Status::method_not_allowed);
}

TEST_F(TypedObjectTest, WrittenValuesAreCheckedAgainstTypeAndRange) {
    EXPECT_STATUS(put(dm1, 5750, dm::Value::integer(5)), Status::bad_request);
    EXPECT_STATUS(put(dm1, 5750, dm::Value::string(std::string(33, 'x'))), Status::bad_request);
    EXPECT_OK(put(dm1, 5750, dm::Value::string(std::string(32, 'x'))));
    EXPECT_OK(put(dm1, 5750, dm::Value::corelnk("y"))); // String <-> Corelnk is lossless
    EXPECT_EQ(obj.get<std::string>(Iid{0}, Rid{5750}), "y");
    // The application's own values are checked too.
    EXPECT_STATUS(obj.set(Iid{0}, Rid{5750}, std::string(40, 'z')), Status::bad_request);
    EXPECT_STATUS(obj.set(Iid{0}, Rid{5700}, 5), Status::bad_request);  // int into a Float
    EXPECT_OK(obj.set_value(Iid{0}, Rid{5700}, dm::Value::integer(5))); // exact: 5.0
    EXPECT_EQ(obj.get<double>(Iid{0}, Rid{5700}), 5.0);
}

// A definition with the value kinds the helper must not truncate.
dm::ObjectDef gadget_def() {
    dm::ObjectDef d;
    d.id = 32800;
    d.name = "Gadget";
    d.object_version = "1.0";
    d.multiple = true;
    auto r = [](std::uint16_t id, dm::Operations op, dm::DataType t, bool multi, bool mand,
                std::string range = "") {
        dm::ResourceDef x;
        x.id = id;
        x.name = "r" + std::to_string(id);
        x.operations = op;
        x.type = t;
        x.multiple = multi;
        x.mandatory = mand;
        x.range_enumeration = std::move(range);
        return x;
    };
    d.resources = {
        r(0, dm::Operations::rw, dm::DataType::integer, false, true),
        r(1, dm::Operations::rw, dm::DataType::unsigned_integer, false, false),
        r(2, dm::Operations::rw, dm::DataType::string, true, false),
        r(3, dm::Operations::rw, dm::DataType::integer, true, false, "0..100"),
        r(4, dm::Operations::w, dm::DataType::opaque, false, false),
        r(5, dm::Operations::rw, dm::DataType::boolean, false, false),
        r(6, dm::Operations::r, dm::DataType::time, false, false),
        r(7, dm::Operations::e, dm::DataType::none, false, false),
        r(8, dm::Operations::rw, dm::DataType::string, false, false),
    };
    return d;
}

class GadgetTest : public ::testing::Test {
protected:
    void SetUp() override {
        obj.set_change_listener(&listener);
        ASSERT_TRUE(obj.add_instance(Iid{0}));
        listener.paths.clear();
    }
    Result<void> put(const Actor& a, std::uint16_t rid, dm::Value v, std::uint16_t iid = 0) {
        return obj.write(a, P(32800, iid, rid),
                         test::content(P(32800, iid, rid), test::res(rid, std::move(v))),
                         WriteMode::replace);
    }
    TypedObject obj{gadget_def()};
    RecordingListener listener;
};

TEST_F(GadgetTest, NoSilentTruncationIntoTheBoundType) {
    std::uint8_t small = 7;
    ASSERT_TRUE(obj.bind(Iid{0}, Rid{0}, small));
    EXPECT_STATUS(put(dm1, 0, dm::Value::integer(300)), Status::bad_request);
    EXPECT_STATUS(put(dm1, 0, dm::Value::integer(-1)), Status::bad_request);
    EXPECT_EQ(small, 7);
    EXPECT_OK(put(dm1, 0, dm::Value::integer(255)));
    EXPECT_EQ(small, 255);
    EXPECT_OK(put(dm1, 0, dm::Value::unsigned_integer(3))); // lossless Unsigned -> Integer
    EXPECT_EQ(small, 3);
    std::uint64_t big = 0;
    ASSERT_TRUE(obj.bind(Iid{0}, Rid{1}, big));
    EXPECT_OK(put(dm1, 1, dm::Value::unsigned_integer(18446744073709551615ull)));
    EXPECT_EQ(big, 18446744073709551615ull);
    EXPECT_STATUS(put(dm1, 1, dm::Value::integer(-5)), Status::bad_request);
    // An uint64 cannot bind to an Integer resource: not every value would be representable.
    EXPECT_STATUS(obj.bind(Iid{0}, Rid{0}, big), Status::bad_request);
    float f = 0;
    dm::ObjectDef fd = temperature_def();
    TypedObject t(fd);
    ASSERT_TRUE(t.add_instance(Iid{0}));
    ASSERT_TRUE(t.bind(Iid{0}, Rid{5700}, f));
    EXPECT_STATUS(t.set(Iid{0}, Rid{5700}, 1e300), Status::bad_request); // beyond float
    EXPECT_OK(t.set(Iid{0}, Rid{5700}, 2.5));
    EXPECT_EQ(f, 2.5f);
}

TEST_F(GadgetTest, InstanceWriteIsAllOrNothing) {
    std::int32_t level = 1;
    ASSERT_TRUE(obj.bind(Iid{0}, Rid{0}, level));
    ASSERT_TRUE(obj.set(Iid{0}, Rid{8}, std::string("before")));
    listener.paths.clear();
    dm::Instance in;
    in.id = 0;
    in.resources[0] = test::res(0, dm::Value::integer(42));
    in.resources[8] = test::res(8, dm::Value::string("after"));
    in.resources[3] = dm::Resource::multi(
        3, {{0, dm::Value::integer(50)}, {1, dm::Value::integer(101)}}); // out of range
    EXPECT_STATUS(obj.write(dm1, P(32800, 0), test::content(P(32800, 0), in), WriteMode::partial),
                  Status::bad_request);
    EXPECT_EQ(level, 1);
    EXPECT_EQ(obj.get<std::string>(Iid{0}, Rid{8}), "before");
    EXPECT_FALSE(obj.resource(Iid{0}, Rid{3}));
    in.resources[3].instances.at(1) = dm::Value::integer(100);
    EXPECT_OK(obj.write(dm1, P(32800, 0), test::content(P(32800, 0), in), WriteMode::partial));
    EXPECT_EQ(level, 42);
    EXPECT_EQ(obj.get<std::string>(Iid{0}, Rid{8}), "after");
    // Server writes do not go to the listener (the engine knows them).
    EXPECT_TRUE(listener.paths.empty());
}

TEST_F(GadgetTest, AFailingSetterRollsBackWhatWasStored) {
    std::int64_t a = 1;
    bool b = false;
    ASSERT_TRUE(obj.bind(Iid{0}, Rid{0}, a));
    ASSERT_TRUE(obj.bind<bool>(
        Iid{0}, Rid{5}, [&] { return b; },
        [&](const bool&) -> Result<void> { return fail(Status::service_unavailable); }));
    dm::Instance in;
    in.id = 0;
    in.resources[0] = test::res(0, dm::Value::integer(9));
    in.resources[5] = test::res(5, dm::Value::boolean(true));
    EXPECT_STATUS(obj.write(dm1, P(32800, 0), test::content(P(32800, 0), in), WriteMode::partial),
                  Status::service_unavailable);
    EXPECT_EQ(a, 1);
    // A getter without setter is read-only.
    ASSERT_TRUE(obj.bind<std::string>(Iid{0}, Rid{8}, [] { return std::string("fixed"); }));
    EXPECT_STATUS(put(dm1, 8, dm::Value::string("x")), Status::method_not_allowed);
    EXPECT_STATUS(obj.set(Iid{0}, Rid{8}, std::string("x")), Status::method_not_allowed);
    EXPECT_EQ(obj.get<std::string>(Iid{0}, Rid{8}), "fixed");
}

TEST_F(GadgetTest, MultipleResourcesReplaceMergeAndDeleteInstances) {
    ASSERT_TRUE(obj.set(Iid{0}, Rid{2}, Riid{0}, std::string("a")));
    ASSERT_TRUE(obj.set(Iid{0}, Rid{2}, Riid{5}, std::string("b")));
    const dm::Path p = P(32800, 0, 2);
    // Partial update (POST) merges.
    EXPECT_OK(obj.write(dm1, p,
                        test::content(p, dm::Resource::multi(2, {{7, dm::Value::string("c")}})),
                        WriteMode::partial));
    EXPECT_EQ(obj.resource(Iid{0}, Rid{2})->instances.size(), 3u);
    // Replace (PUT) replaces.
    EXPECT_OK(obj.write(dm1, p,
                        test::content(p, dm::Resource::multi(2, {{1, dm::Value::string("z")}})),
                        WriteMode::replace));
    const auto r = obj.resource(Iid{0}, Rid{2});
    ASSERT_EQ(r->instances.size(), 1u);
    EXPECT_EQ(r->instances.at(1), dm::Value::string("z"));
    // One resource instance.
    EXPECT_OK(obj.write(dm1, P(32800, 0, 2, 4),
                        test::value_content(P(32800, 0, 2, 4), dm::Value::string("w")),
                        WriteMode::replace));
    EXPECT_EQ(std::get<dm::Value>(obj.read(dm1, P(32800, 0, 2, 4))->node), dm::Value::string("w"));
    EXPECT_STATUS(obj.read(dm1, P(32800, 0, 2, 9)), Status::not_found);
    // DM Delete of a resource instance (TS 1.1).
    EXPECT_OK(obj.delete_(dm1, P(32800, 0, 2, 4)));
    EXPECT_STATUS(obj.delete_(dm1, P(32800, 0, 2, 4)), Status::not_found);
    EXPECT_EQ(obj.resource(Iid{0}, Rid{2})->instances.size(), 1u);
    // 65535 is not a resource instance id.
    EXPECT_STATUS(
        obj.write(dm1, p,
                  test::content(p, dm::Resource::multi(2, {{0xffff, dm::Value::string("c")}})),
                  WriteMode::partial),
        Status::bad_request);
    // A single value for a multiple resource is malformed.
    EXPECT_STATUS(put(dm1, 2, dm::Value::string("x")), Status::bad_request);
}

TEST_F(GadgetTest, VectorAndMapBindings) {
    std::vector<std::string> names{"x", "y"};
    std::map<std::uint16_t, std::int32_t> levels{{3, 10}, {9, 90}};
    ASSERT_TRUE(obj.bind(Iid{0}, Rid{2}, names));
    ASSERT_TRUE(obj.bind(Iid{0}, Rid{3}, levels));
    auto r = obj.resource(Iid{0}, Rid{2});
    ASSERT_TRUE(r && r->multiple);
    EXPECT_EQ(r->instances.at(1), dm::Value::string("y"));
    const dm::Path p2 = P(32800, 0, 2);
    // A vector holds dense ids from 0: a gap is refused, an append is fine.
    EXPECT_STATUS(
        obj.write(dm1, p2,
                  test::content(p2, dm::Resource::multi(2, {{5, dm::Value::string("gap")}})),
                  WriteMode::partial),
        Status::bad_request);
    EXPECT_OK(obj.write(dm1, p2,
                        test::content(p2, dm::Resource::multi(2, {{2, dm::Value::string("z")}})),
                        WriteMode::partial));
    EXPECT_EQ(names, (std::vector<std::string>{"x", "y", "z"}));
    EXPECT_OK(obj.set(Iid{0}, Rid{3}, Riid{4}, 40));
    EXPECT_EQ(levels.at(4), 40);
    EXPECT_STATUS(obj.set(Iid{0}, Rid{3}, Riid{4}, 400), Status::bad_request); // range 0..100
    EXPECT_OK(obj.unset(Iid{0}, Rid{3}, Riid{9}));
    EXPECT_EQ(levels.count(9), 0u);
    EXPECT_TRUE(listener.saw(P(32800, 0, 3, 4)));
    EXPECT_TRUE(listener.saw(P(32800, 0, 3, 9)));
}

TEST_F(GadgetTest, ReplaceOfAnInstanceRemovesAbsentOptionalOwnedResources) {
    ASSERT_TRUE(obj.set(Iid{0}, Rid{0}, 1));
    ASSERT_TRUE(obj.set(Iid{0}, Rid{8}, std::string("label")));
    ASSERT_TRUE(obj.set(Iid{0}, Rid{6}, dm::Time{100})); // R: kept (servers cannot write it)
    dm::Instance in;
    in.id = 0;
    in.resources[5] = test::res(5, dm::Value::boolean(true));
    EXPECT_OK(obj.write(dm1, P(32800, 0), test::content(P(32800, 0), in), WriteMode::replace));
    EXPECT_FALSE(obj.resource(Iid{0}, Rid{8}));          // optional RW: removed
    EXPECT_EQ(obj.get<std::int64_t>(Iid{0}, Rid{0}), 1); // mandatory: kept
    EXPECT_EQ(obj.get<dm::Time>(Iid{0}, Rid{6}), dm::Time{100});
    EXPECT_EQ(obj.get<bool>(Iid{0}, Rid{5}), true);
}

TEST_F(GadgetTest, WOnlyResourceIsWrittenNeverRead) {
    EXPECT_OK(put(dm1, 4, dm::Value::opaque(test::bytes_of(4, 1))));
    EXPECT_STATUS(obj.read(dm1, P(32800, 0, 4)), Status::method_not_allowed);
    const auto inst = obj.read(dm1, P(32800, 0));
    ASSERT_TRUE(inst);
    EXPECT_EQ(std::get<dm::Instance>(inst->node).resources.count(4), 0u);
}

TEST_F(GadgetTest, CreateAndDeleteByServers) {
    // Mandatory writable resource 0 is missing.
    dm::Instance empty;
    EXPECT_STATUS(obj.create(dm1, std::nullopt, empty), Status::bad_request);
    EXPECT_EQ(obj.instances().size(), 1u);
    dm::Instance in;
    in.resources[0] = test::res(0, dm::Value::integer(4));
    auto id = obj.create(dm1, std::nullopt, in);
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, Iid{1});
    EXPECT_STATUS(obj.create(dm1, Iid{1}, in), Status::bad_request); // taken
    EXPECT_STATUS(obj.create(dm1, Iid{0xffff}, in), Status::bad_request);
    // R resource in a server's Create: refused (values of R resources come from the device).
    dm::Instance with_r = in;
    with_r.resources[6] = test::res(6, dm::Value::time(5));
    EXPECT_STATUS(obj.create(dm1, Iid{8}, with_r), Status::method_not_allowed);
    EXPECT_FALSE(obj.has_instance(Iid{8}));
    EXPECT_OK(obj.delete_(dm1, P(32800, 1)));
    EXPECT_STATUS(obj.delete_(dm1, P(32800, 1)), Status::not_found);
    EXPECT_TRUE(listener.paths.empty()); // server operations
    // The application's own instance changes reach the listener.
    EXPECT_OK(obj.add_instance(Iid{5}));
    EXPECT_OK(obj.remove_instance(Iid{5}));
    EXPECT_EQ(listener.paths.size(), 2u);
    EXPECT_TRUE(listener.saw(P(32800, 5)));
}

TEST_F(GadgetTest, CreateHandlerBindsTheNewInstance) {
    std::map<std::uint16_t, std::int64_t> storage;
    std::vector<std::uint16_t> deleted;
    obj.on_create([&](TypedObject& o, Iid iid) -> Result<void> {
        if (iid.v == 13) return fail(Status::forbidden);
        return o.bind(iid, Rid{0}, storage[iid.v]);
    });
    obj.on_delete([&](Iid iid) {
        storage.erase(iid.v);
        deleted.push_back(iid.v);
    });
    dm::Instance in;
    in.resources[0] = test::res(0, dm::Value::integer(77));
    ASSERT_TRUE(obj.create(dm1, Iid{3}, in));
    EXPECT_EQ(storage.at(3), 77);
    EXPECT_STATUS(obj.create(dm1, Iid{13}, in), Status::forbidden);
    EXPECT_FALSE(obj.has_instance(Iid{13}));
    // A failed create is undone through on_delete.
    dm::Instance bad_in;
    bad_in.resources[0] = test::res(0, dm::Value::string("no"));
    EXPECT_STATUS(obj.create(dm1, Iid{4}, bad_in), Status::bad_request);
    EXPECT_EQ(deleted, (std::vector<std::uint16_t>{4}));
    EXPECT_EQ(storage.count(4), 0u);
    // Bootstrap-Write creates instances; a DM Write does not.
    EXPECT_STATUS(put(dm1, 0, dm::Value::integer(1), 6), Status::not_found);
    EXPECT_OK(put(Actor::bootstrap_server(), 0, dm::Value::integer(1), 6));
    EXPECT_EQ(storage.at(6), 1);
}

TEST_F(GadgetTest, LimitsAre413) {
    TypedObject::Options o;
    o.max_instances = 2;
    o.max_resource_instances = 3;
    o.max_value_size = 8;
    TypedObject small(gadget_def(), o);
    ASSERT_TRUE(small.add_instance(Iid{0}));
    ASSERT_TRUE(small.add_instance(Iid{1}));
    EXPECT_STATUS(small.add_instance(Iid{2}), Status::request_entity_too_large);
    dm::Instance in;
    in.resources[0] = test::res(0, dm::Value::integer(1));
    EXPECT_STATUS(small.create(dm1, std::nullopt, in), Status::request_entity_too_large);
    EXPECT_STATUS(small.set(Iid{0}, Rid{8}, std::string(9, 'x')), Status::request_entity_too_large);
    const dm::Path p = P(32800, 0, 2);
    dm::Resource four = dm::Resource::multi(2);
    for (std::uint16_t i = 0; i < 4; ++i)
        four.instances[i] = dm::Value::string("v");
    EXPECT_STATUS(small.write(dm1, p, test::content(p, four), WriteMode::replace),
                  Status::request_entity_too_large);
}

TEST_F(GadgetTest, DiscoverListsPresentResourcesWithDim) {
    ASSERT_TRUE(obj.set(Iid{0}, Rid{0}, 1));
    ASSERT_TRUE(obj.set(Iid{0}, Rid{2}, Riid{0}, std::string("a")));
    ASSERT_TRUE(obj.set(Iid{0}, Rid{2}, Riid{3}, std::string("b")));
    ASSERT_TRUE(obj.bind_execute(Iid{0}, Rid{7}, [](std::string_view) { return ok(); }));
    auto links = obj.discover(dm1, P(32800));
    ASSERT_TRUE(links);
    std::vector<LinkInfo> expect = {
        {P(32800), {}, {}, {}, {}},       {P(32800, 0), {}, {}, {}, {}},
        {P(32800, 0, 0), {}, {}, {}, {}}, {P(32800, 0, 2), {}, {}, {}, std::uint16_t{2}},
        {P(32800, 0, 7), {}, {}, {}, {}},
    };
    EXPECT_EQ(*links, expect);
    auto one = obj.discover(dm1, P(32800, 0, 2));
    ASSERT_TRUE(one);
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ(one->front().dim, 2);
    EXPECT_STATUS(obj.discover(dm1, P(32800, 0, 5)), Status::not_found);
    EXPECT_STATUS(obj.discover(dm1, P(32800, 4)), Status::not_found);
    // Bootstrap-Discover: object (ver only when not 1.0) and instances.
    TypedObject t(temperature_def());
    ASSERT_TRUE(t.add_instance(Iid{2}));
    auto bs = t.discover(Actor::bootstrap_server(), dm::Path{});
    ASSERT_TRUE(bs);
    ASSERT_EQ(bs->size(), 2u);
    EXPECT_EQ((*bs)[0].ver, "1.1");
    EXPECT_EQ((*bs)[1].path, P(3303, 2));
}

TEST_F(GadgetTest, ExecuteReceivesTheArguments) {
    std::string seen;
    ASSERT_TRUE(obj.bind_execute(Iid{0}, Rid{7}, [&](std::string_view a) -> Result<void> {
        seen = a;
        if (a == "0='bad'") return fail(Status::bad_request);
        return ok();
    }));
    EXPECT_OK(obj.execute(dm1, P(32800, 0, 7), "5='x'"));
    EXPECT_EQ(seen, "5='x'");
    EXPECT_STATUS(obj.execute(dm1, P(32800, 0, 7), "0='bad'"), Status::bad_request);
    EXPECT_STATUS(obj.execute(dm1, P(32800, 3, 7), ""), Status::not_found);
}

TEST_F(GadgetTest, AccessPolicyPerActor) {
    ASSERT_TRUE(obj.set(Iid{0}, Rid{0}, 3));
    // Bootstrap-Read covers Objects 1 and 2 only; the factory source reads; Observe etc. are the
    // engine's, Discover by the local application is not an operation.
    EXPECT_STATUS(obj.read(Actor::bootstrap_server(), P(32800, 0)), Status::unauthorized);
    EXPECT_TRUE(obj.read(Actor::factory(), P(32800, 0)));
    EXPECT_TRUE(obj.read(Actor::local_app(), P(32800, 0, 0)));
    EXPECT_STATUS(obj.discover(Actor::local_app(), P(32800)), Status::method_not_allowed);
    EXPECT_STATUS(obj.read(Actor::dm_server(ShortServerId{0}), P(32800, 0)), Status::unauthorized);
    // Whole-object writes are Bootstrap / factory only.
    dm::Object o;
    o.id = 32800;
    EXPECT_STATUS(obj.write(dm1, P(32800), test::object_content(P(32800), o), WriteMode::replace),
                  Status::method_not_allowed);
    // The local application's writes reach the listener.
    listener.paths.clear();
    EXPECT_OK(put(Actor::local_app(), 8, dm::Value::string("local")));
    EXPECT_TRUE(listener.saw(P(32800, 0, 8)));
    // Same value again from the application: no change, no call.
    listener.paths.clear();
    EXPECT_OK(obj.set(Iid{0}, Rid{0}, 3));
    EXPECT_TRUE(listener.paths.empty());
    EXPECT_OK(obj.set(Iid{0}, Rid{0}, 4));
    EXPECT_TRUE(listener.saw(P(32800, 0, 0)));
}

TEST_F(GadgetTest, BootstrapDeleteRemovesInstancesOfAMultiInstanceObject) {
    ASSERT_TRUE(obj.add_instance(Iid{1}));
    EXPECT_OK(obj.delete_(Actor::bootstrap_server(), dm::Path{}));
    EXPECT_TRUE(obj.instances().empty());
    // A single-instance object keeps its instance (like the Device object), and refuses an
    // explicit Bootstrap-Delete of it.
    dm::ObjectDef single = gadget_def();
    single.multiple = false;
    TypedObject s(single);
    ASSERT_TRUE(s.add_instance(Iid{0}));
    EXPECT_STATUS(s.add_instance(Iid{1}), Status::bad_request);
    EXPECT_OK(s.delete_(Actor::bootstrap_server(), P(32800)));
    EXPECT_EQ(s.instances().size(), 1u);
    EXPECT_STATUS(s.delete_(Actor::bootstrap_server(), P(32800, 0)), Status::bad_request);
    EXPECT_STATUS(s.delete_(dm1, P(32800, 0)), Status::method_not_allowed);
    dm::Instance in;
    in.resources[0] = test::res(0, dm::Value::integer(1));
    EXPECT_STATUS(s.create(dm1, std::nullopt, in), Status::method_not_allowed);
}

} // namespace
} // namespace lwm2m::client

namespace lwm2m::client {
namespace {

TEST(TypedObjectDefinition, GadgetResourcesFollowTheirOperations) {
    TypedObject obj(gadget_def());
    ASSERT_TRUE(obj.add_instance(Iid{0}));
    EXPECT_EQ(test::expect_operations_follow_definition(obj, obj.definition(), dm1), 27);
}

} // namespace
} // namespace lwm2m::client

#include <random>

namespace lwm2m::client {
namespace {

// Seeded random writes (values of every type, single and multiple shapes, every mode and level)
// against bound and owned storage: a failed write leaves every value unchanged, a successful one
// leaves only valid values behind.
TEST(TypedObjectProperty, FailedWritesChangeNothing) {
    std::mt19937 rng(20240611);
    TypedObject obj(gadget_def());
    ASSERT_TRUE(obj.add_instance(Iid{0}));
    ASSERT_TRUE(obj.add_instance(Iid{1}));
    std::int16_t level = 0;
    std::vector<std::string> names;
    ASSERT_TRUE(obj.bind(Iid{0}, Rid{0}, level));
    ASSERT_TRUE(obj.bind(Iid{0}, Rid{2}, names));
    const dm::DataType types[] = {
        dm::DataType::string,  dm::DataType::integer, dm::DataType::unsigned_integer,
        dm::DataType::boolean, dm::DataType::opaque,  dm::DataType::time,
        dm::DataType::float_};
    auto random_value = [&] {
        switch (types[rng() % std::size(types)]) {
        case dm::DataType::string:
            return dm::Value::string(std::string(rng() % 300, 'a'));
        case dm::DataType::integer:
            return dm::Value::integer(static_cast<std::int64_t>(rng() % 70000) - 35000);
        case dm::DataType::unsigned_integer:
            return dm::Value::unsigned_integer(rng() % 200);
        case dm::DataType::boolean:
            return dm::Value::boolean(rng() % 2 == 0);
        case dm::DataType::opaque:
            return dm::Value::opaque(Bytes(rng() % 4));
        case dm::DataType::time:
            return dm::Value::time(rng() % 1000);
        default:
            return dm::Value::float_(0.5);
        }
    };
    auto random_resource = [&](std::uint16_t r) {
        if (rng() % 2 == 0) return dm::Resource::single(r, random_value());
        dm::Resource m = dm::Resource::multi(r);
        const auto n = rng() % 4;
        for (std::uint32_t i = 0; i < n; ++i)
            m.instances[static_cast<std::uint16_t>(rng() % 5)] = random_value();
        return m;
    };
    auto snapshot = [&] { return obj.read(Actor::factory(), P(32800)); };
    int failures = 0, successes = 0;
    for (int step = 0; step < 3000; ++step) {
        const auto before = snapshot();
        ASSERT_TRUE(before);
        const std::uint16_t iid = static_cast<std::uint16_t>(rng() % 2);
        const WriteMode mode = rng() % 2 == 0 ? WriteMode::replace : WriteMode::partial;
        Result<void> r;
        if (rng() % 3 == 0) {
            dm::Instance in;
            in.id = iid;
            const auto n = 1 + rng() % 3;
            for (std::uint32_t i = 0; i < n; ++i) {
                const auto rr = static_cast<std::uint16_t>(rng() % 10);
                in.resources[rr] = random_resource(rr);
            }
            r = obj.write(dm1, P(32800, iid), dm::Content{P(32800, iid), in}, mode);
        } else {
            const auto rr = static_cast<std::uint16_t>(rng() % 10);
            r = obj.write(dm1, P(32800, iid, rr),
                          dm::Content{P(32800, iid, rr), random_resource(rr)}, mode);
        }
        if (!r) {
            ++failures;
            const auto after = snapshot();
            ASSERT_TRUE(after);
            ASSERT_EQ(after->node, before->node) << "step " << step << ": " << r.error().message();
        } else {
            ++successes;
        }
        // Whatever is stored satisfies the definition.
        const auto now = snapshot();
        ASSERT_TRUE(now);
        for (const auto& [id, inst] : std::get<dm::Object>(now->node).instances) {
            for (const auto& [rid2, res] : inst.resources) {
                const dm::ResourceDef* d = obj.definition().resource(rid2);
                ASSERT_NE(d, nullptr);
                ASSERT_EQ(res.multiple, d->multiple);
                if (!res.multiple) {
                    EXPECT_TRUE(dm::check_value(*d, res.value));
                } else {
                    for (const auto& kv : res.instances)
                        EXPECT_TRUE(dm::check_value(*d, kv.second));
                }
            }
        }
    }
    EXPECT_GT(failures, 100);
    EXPECT_GT(successes, 100);
}

} // namespace
} // namespace lwm2m::client
