#include <lwm2m/dm/registry.hpp>

#include <gtest/gtest.h>

using namespace lwm2m::dm;

TEST(Registry, BuiltinPicksTheEnablerVersions) {
    struct Want {
        Lwm2mVersion v;
        const char* versions[8];
    };
    const Want wants[] = {
        {Lwm2mVersion::v1_0, {"1.0", "1.0", "1.0", "1.0", "1.0", "1.0", "1.0", "1.0"}},
        {Lwm2mVersion::v1_1, {"1.1", "1.1", "1.0", "1.1", "1.2", "1.0", "1.0", "1.0"}},
        {Lwm2mVersion::v1_2, {"1.2", "1.2", "1.1", "1.2", "1.3", "1.2", "1.0", "1.0"}},
    };
    for (const auto& w : wants) {
        const auto reg = ObjectRegistry::builtin(w.v);
        ASSERT_EQ(reg.all().size(), 8u);
        for (std::uint16_t oid = 0; oid < 8; ++oid) {
            const ObjectDef* d = reg.find(oid);
            ASSERT_NE(d, nullptr);
            EXPECT_EQ(d->object_version, w.versions[oid])
                << "object " << oid << " enabler " << to_string(w.v);
        }
    }
}

TEST(Registry, CoreFactsOfSecurityAndServer) {
    const auto reg = ObjectRegistry::builtin(Lwm2mVersion::v1_1);
    const ObjectDef* sec = reg.find(0);
    ASSERT_NE(sec, nullptr);
    EXPECT_EQ(sec->urn, "urn:oma:lwm2m:oma:0:1.1");
    EXPECT_TRUE(sec->multiple);
    EXPECT_TRUE(sec->mandatory);
    const ResourceDef* key = reg.find(0, 5);
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(key->name, "Secret Key");
    EXPECT_EQ(key->type, DataType::opaque);
    EXPECT_EQ(key->operations, Operations::none);
    EXPECT_EQ(reg.find(0, 10)->range_enumeration, "1..65534");
    EXPECT_EQ(ObjectRegistry::builtin(Lwm2mVersion::v1_0).find(0, 10)->range_enumeration,
              "1-65534");
    const ResourceDef* lifetime = reg.find(1, 1);
    ASSERT_NE(lifetime, nullptr);
    EXPECT_EQ(lifetime->name, "Lifetime");
    EXPECT_EQ(lifetime->units, "s");
    EXPECT_TRUE(lifetime->writable());
    EXPECT_TRUE(lifetime->readable());
    EXPECT_TRUE(reg.find(1, 8)->executable()); // Registration Update Trigger
    EXPECT_EQ(reg.find(1, 9999), nullptr);
    EXPECT_EQ(reg.find(9999), nullptr);
    EXPECT_EQ(reg.find(9999, 0), nullptr);
    EXPECT_TRUE(reg.find(3, 7)->multiple);
}

TEST(Registry, AddReplacesAndSorts) {
    ObjectRegistry reg;
    ObjectDef d;
    d.id = 3300;
    d.name = "Generic Sensor";
    d.resources.push_back(ResourceDef{5700, "Sensor Value", Operations::r, false, true,
                                      DataType::float_, "", "", ""});
    d.resources.push_back(
        ResourceDef{5601, "Min", Operations::r, false, false, DataType::float_, "", "", ""});
    reg.add(d);
    ASSERT_NE(reg.find(3300, 5601), nullptr);
    EXPECT_EQ(reg.find(3300)->resources.front().id, 5601);
    d.name = "Replaced";
    reg.add(d);
    EXPECT_EQ(reg.find(3300)->name, "Replaced");
    EXPECT_EQ(reg.all().size(), 1u);
}

TEST(Registry, EveryPublishedVersionIsBuiltIn) {
    const auto all = builtin_objects();
    EXPECT_EQ(all.size(), 20u);
    EXPECT_TRUE(builtin_object(4, "1.3").has_value());
    EXPECT_FALSE(builtin_object(6, "1.1").has_value());
    for (const auto& d : all)
        for (std::size_t k = 1; k < d.resources.size(); ++k)
            EXPECT_LT(d.resources[k - 1].id, d.resources[k].id) << d.id << " " << d.object_version;
}

TEST(Registry, BuiltinObjectVersionMatchesTheRegistry) {
    // The cheap lookup the client engine uses for `ver=` gives exactly the versions builtin()
    // holds, for every enabler version and every object id (also the ones it does not hold).
    for (const auto v : {Lwm2mVersion::v1_0, Lwm2mVersion::v1_1, Lwm2mVersion::v1_2}) {
        const auto reg = ObjectRegistry::builtin(v);
        for (std::uint16_t oid = 0; oid < 40; ++oid) {
            const ObjectDef* d = reg.find(oid);
            const auto ver = builtin_object_version(v, oid);
            ASSERT_EQ(d != nullptr, ver.has_value()) << oid;
            if (d != nullptr) {
                EXPECT_EQ(d->object_version, *ver) << oid;
            }
        }
    }
    EXPECT_EQ(builtin_object_version(Lwm2mVersion::v1_1, 3), "1.1");
    EXPECT_EQ(builtin_object_version(Lwm2mVersion::v1_2, 4), "1.3");
    EXPECT_FALSE(builtin_object_version(Lwm2mVersion::v1_1, 3303).has_value());
}

TEST(Registry, SharedDefinitionsAreNotCopied) {
    // A served object's definition registered by pointer: the registry holds the same object.
    auto dev = std::make_shared<const ObjectDef>(*builtin_object(3, "1.1"));
    ObjectRegistry reg;
    reg.add(dev);
    EXPECT_EQ(reg.find(3), dev.get());
    EXPECT_EQ(dev.use_count(), 2);
    // Copies of the registry share the definitions too.
    const ObjectRegistry copy = reg;
    EXPECT_EQ(copy.find(3), dev.get());
    // Replacing the definition releases the registry's share.
    reg.add(*builtin_object(3, "1.0"));
    EXPECT_NE(reg.find(3), dev.get());
    EXPECT_EQ(reg.find(3)->object_version, "1.0");
    // A definition whose resources are out of order is copied and sorted (find relies on it).
    ObjectDef unsorted;
    unsorted.id = 3300;
    unsorted.resources.push_back(
        ResourceDef{5700, "", Operations::r, false, true, DataType::float_, "", "", ""});
    unsorted.resources.push_back(
        ResourceDef{5601, "", Operations::r, false, false, DataType::float_, "", "", ""});
    auto shared = std::make_shared<const ObjectDef>(unsorted);
    reg.add(shared);
    EXPECT_NE(reg.find(3300), shared.get());
    EXPECT_EQ(reg.find(3300)->resources.front().id, 5601);
    ASSERT_NE(reg.find(3300, 5700), nullptr);
    // A null pointer is ignored.
    reg.add(std::shared_ptr<const ObjectDef>{});
    EXPECT_EQ(reg.all().size(), 2u);
}

TEST(Registry, BuiltinTextsFollowTheBuildOption) {
    // LWM2M_DM_TEXTS=OFF drops names, descriptions and units, never what checks use.
    const auto d = builtin_object(3, "1.1");
    ASSERT_TRUE(d);
    const ResourceDef* battery = d->resource(9);
    ASSERT_NE(battery, nullptr);
    EXPECT_EQ(battery->range_enumeration, "0..100");
    EXPECT_EQ(battery->type, DataType::integer);
#if defined(LWM2M_TEST_DM_TEXTS) && !LWM2M_TEST_DM_TEXTS
    EXPECT_EQ(d->name, "");
    EXPECT_EQ(battery->description, "");
    EXPECT_EQ(battery->units, "");
#else
    EXPECT_EQ(d->name, "Device");
    EXPECT_EQ(battery->name, "Battery Level");
    EXPECT_EQ(battery->units, "%");
    EXPECT_FALSE(battery->description.empty());
#endif
}

TEST(Registry, BuiltinDefinitionsReferToTheConstantTables) {
    // issue #8: a built-in definition holds no heap copy of its texts or resources, and copies of
    // it (one per served object) do not make one either.
    const auto d = builtin_object(3, "1.1");
    ASSERT_TRUE(d);
    const ObjectDef copy = *d;
    for (const ObjectDef* def : {&*d, &copy}) {
        EXPECT_TRUE(def->resources.is_static());
        EXPECT_FALSE(def->name.owned());
        EXPECT_FALSE(def->urn.owned());
        for (const ResourceDef& r : def->resources) {
            EXPECT_FALSE(r.name.owned() || r.range_enumeration.owned() || r.units.owned() ||
                         r.description.owned())
                << r.id;
        }
    }
    EXPECT_EQ(copy.resources.data(), d->resources.data()); // the same table
    EXPECT_EQ(copy, *d);
    // Registering it keeps the view (the tables are sorted by id: nothing to sort, no copy).
    ObjectRegistry reg;
    reg.add(ObjectDef(*d));
    ASSERT_NE(reg.find(3), nullptr);
    EXPECT_TRUE(reg.find(3)->resources.is_static());
    EXPECT_EQ(reg.find(3, 9), d->resource(9));
}

TEST(Registry, ResourceListCopiesATableOnFirstModification) {
    const auto d = builtin_object(3, "1.1");
    ASSERT_TRUE(d);
    ObjectDef changed = *d;
    const std::size_t n = d->resources.size();
    ResourceDef extra;
    extra.id = 30000;
    extra.name = "Extra";
    extra.operations = Operations::r;
    changed.resources.push_back(extra);
    EXPECT_FALSE(changed.resources.is_static());
    ASSERT_EQ(changed.resources.size(), n + 1);
    EXPECT_EQ(changed.resources.back().id, 30000);
    EXPECT_EQ(changed.resources.back().name, "Extra");
    // The table and the original definition are untouched.
    EXPECT_TRUE(d->resources.is_static());
    EXPECT_EQ(d->resources.size(), n);
    EXPECT_NE(changed, *d);
    changed.resources.erase(changed.resources.end() - 1);
    EXPECT_EQ(changed, *d); // equal by content, owned or not
    // Non-const element access also copies first.
    ObjectDef renamed = *d;
    renamed.resources[0].name = std::string("Maker");
    EXPECT_EQ(renamed.resources[0].name, "Maker");
    EXPECT_NE(d->resources[0].name, "Maker");
}

TEST(DefText, LiteralsAreReferencedRunTimeTextIsCopied) {
    const DefText lit = "Temperature";
    EXPECT_FALSE(lit.owned());
    EXPECT_EQ(lit, "Temperature");
    std::string run_time = "Sensor Value";
    DefText copy = run_time;
    EXPECT_TRUE(copy.owned());
    run_time[0] = 'X'; // the copy does not follow its source
    EXPECT_EQ(copy, "Sensor Value");
    EXPECT_EQ(copy.size(), 12u);
    const DefText copy2 = copy; // deep copy
    EXPECT_TRUE(copy2.owned());
    EXPECT_NE(copy2.data(), copy.data());
    EXPECT_EQ(copy2, copy);
    DefText moved = std::move(copy);
    EXPECT_EQ(moved, "Sensor Value");
    EXPECT_TRUE(DefText(std::string()).empty());
    EXPECT_FALSE(DefText(std::string()).owned()); // empty: no heap
    const char* c_string = run_time.c_str();      // a run-time C string is copied too
    const DefText from_c = c_string;
    EXPECT_TRUE(from_c.owned());
    EXPECT_EQ(from_c, "Xensor Value");
    ResourceDef r;
    r.units = c_string; // assignable like the std::string it replaced
    EXPECT_EQ(r.units, run_time);
    const std::string as_string = lit;
    EXPECT_EQ(as_string + "!", "Temperature!");
    EXPECT_EQ("T: " + lit, "T: Temperature");
}
