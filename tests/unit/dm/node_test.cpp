#include <lwm2m/dm/errc.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/registry.hpp>

#include <gtest/gtest.h>

using namespace lwm2m::dm;
using lwm2m::Iid;
using lwm2m::Oid;
using lwm2m::Rid;
using lwm2m::Riid;

namespace node_test { // named: unity builds join the files

Path P(std::string_view s) {
    return Path::parse(s).value();
}

Instance device_instance() {
    Instance i{0, {}};
    i.resources.emplace(0, Resource::single(0, Value::string("ACME")));
    i.resources.emplace(7,
                        Resource::multi(7, {{0, Value::integer(3800)}, {1, Value::integer(5000)}}));
    i.resources.emplace(13, Resource::single(13, Value::time(1700000000)));
    return i;
}

TEST(Flatten, ObjectInPathOrder) {
    Object o{3, {}};
    o.instances.emplace(0, device_instance());
    const auto recs = flatten(Content{P("/3"), o});
    ASSERT_EQ(recs.size(), 4u);
    EXPECT_EQ(recs[0].path, P("/3/0/0"));
    EXPECT_EQ(recs[1].path, P("/3/0/7/0"));
    EXPECT_EQ(recs[2].path, P("/3/0/7/1"));
    EXPECT_EQ(recs[3].path, P("/3/0/13"));
    EXPECT_EQ(recs[2].value, Value::integer(5000));
    EXPECT_FALSE(recs[0].time.has_value());
}

TEST(Flatten, EachLevel) {
    EXPECT_EQ(flatten(Content{P("/3/0"), device_instance()}).size(), 4u);
    const auto r = flatten(Content{P("/3/0/7"), device_instance().resources.at(7)});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1].path, P("/3/0/7/1"));
    const auto v = flatten(Content{P("/3/0/7/1"), Value::integer(9)});
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0], (Record{P("/3/0/7/1"), Value::integer(9), std::nullopt}));
    EXPECT_TRUE(flatten(Content{P("/3/0/7"), Resource::multi(7)}).empty());
}

TEST(Unflatten, RoundTripsEveryLevelWithoutRegistry) {
    Object o{3, {}};
    o.instances.emplace(0, device_instance());
    Instance i1 = device_instance();
    i1.id = 1;
    o.instances.emplace(1, i1);
    const Content c{P("/3"), o};
    auto back = unflatten(c.path, flatten(c), nullptr);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, c);

    const Content ci{P("/3/0"), device_instance()};
    EXPECT_EQ(unflatten(ci.path, flatten(ci)).value(), ci);
    const Content cr{P("/3/0/7"), device_instance().resources.at(7)};
    EXPECT_EQ(unflatten(cr.path, flatten(cr)).value(), cr);
    const Content cs{P("/3/0/0"), Resource::single(0, Value::string("ACME"))};
    EXPECT_EQ(unflatten(cs.path, flatten(cs)).value(), cs);
    const Content cv{P("/3/0/7/1"), Value::integer(1)};
    EXPECT_EQ(unflatten(cv.path, flatten(cv)).value(), cv);
}

TEST(Unflatten, AcceptsAnyRecordOrder) {
    std::vector<Record> recs{{P("/3/0/13"), Value::time(1), {}},
                             {P("/3/0/7/1"), Value::integer(2), {}},
                             {P("/3/0/7/0"), Value::integer(1), {}}};
    auto c = unflatten(P("/3/0"), recs);
    ASSERT_TRUE(c);
    const auto& inst = std::get<Instance>(c->node);
    EXPECT_TRUE(inst.resources.at(7).multiple);
    EXPECT_EQ(inst.resources.at(7).instances.size(), 2u);
}

TEST(Unflatten, RegistryDecidesMultiple) {
    const auto reg = ObjectRegistry::builtin(Lwm2mVersion::v1_1);
    // Device /3/0/7 (Power Source Voltage) is multiple: a record without riid is a shape error
    std::vector<Record> bad{{P("/3/0/7"), Value::integer(1), {}}};
    auto r = unflatten(P("/3/0"), bad, &reg);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::bad_structure));
    // ... but without a registry it is taken as a single resource
    EXPECT_TRUE(unflatten(P("/3/0"), bad, nullptr));
    // Device /3/0/0 (Manufacturer) is single: an instance record is a shape error
    std::vector<Record> bad2{{P("/3/0/0/0"), Value::string("x"), {}}};
    EXPECT_FALSE(unflatten(P("/3/0"), bad2, &reg));
    // An empty multiple resource can be rebuilt only with the definition
    auto empty = unflatten(P("/3/0/7"), {}, &reg);
    ASSERT_TRUE(empty);
    EXPECT_EQ(std::get<Resource>(empty->node), Resource::multi(7));
    EXPECT_FALSE(unflatten(P("/3/0/7"), {}, nullptr));
    EXPECT_FALSE(unflatten(P("/3/0/0"), {}, &reg));
    // A resource-instance base of a single resource is a shape error
    std::vector<Record> one{{P("/3/0/0/0"), Value::string("x"), {}}};
    EXPECT_FALSE(unflatten(P("/3/0/0/0"), one, &reg));
}

TEST(Unflatten, RejectsBadRecordSets) {
    auto err = [](const Path& base, std::vector<Record> recs) {
        auto r = unflatten(base, recs);
        return r ? std::error_code{} : r.error();
    };
    const auto structure = make_error_code(Errc::bad_structure);
    const auto path = make_error_code(Errc::bad_path);
    EXPECT_EQ(err(P("/3/0"),
                  {{P("/3/0/1"), Value::integer(1), {}}, {P("/3/0/1"), Value::integer(2), {}}}),
              structure);
    EXPECT_EQ(err(P("/3/0"),
                  {{P("/3/0/1/0"), Value::integer(1), {}}, {P("/3/0/1/0"), Value::integer(2), {}}}),
              structure);
    EXPECT_EQ(err(P("/3/0"),
                  {{P("/3/0/1"), Value::integer(1), {}}, {P("/3/0/1/0"), Value::integer(2), {}}}),
              structure);
    EXPECT_EQ(err(P("/3/0"),
                  {{P("/3/0/1/0"), Value::integer(1), {}}, {P("/3/0/1"), Value::integer(2), {}}}),
              structure);
    EXPECT_EQ(err(P("/3/0"), {{P("/3/1/1"), Value::integer(1), {}}}), path); // outside base
    EXPECT_EQ(err(P("/3/0"), {{P("/3/0"), Value::integer(1), {}}}), path);   // not a leaf
    EXPECT_EQ(err(P("/"), {{P("/3/0/1"), Value::integer(1), {}}}), path);    // root base
    EXPECT_EQ(err(P("/3/0/1/2"), {}), structure);                            // no value
    EXPECT_EQ(err(P("/3"), {{lwm2m::dm::Path(Oid{3}, Iid{65535}, Rid{1}), Value::integer(1), {}}}),
              path);
    EXPECT_EQ(err(P("/3/0/1"),
                  {{P("/3/0/1"), Value::integer(1), {}}, {P("/3/0/1"), Value::integer(1), {}}}),
              structure);
}

} // namespace node_test
