// The built-in resource rules of Objects 0 and 1 agree with the published object definitions
// (dm::ObjectRegistry::builtin, generated from the OMA registry by the dm layer): every defined
// resource is known here, with the same type, multiplicity and operations.
#include <gtest/gtest.h>

#include <lwm2m/client/security_object.hpp>
#include <lwm2m/client/server_object.hpp>
#include <lwm2m/dm/registry.hpp>

#include "unit/client/test_configs.hpp"

namespace lwm2m::client {
namespace {

TEST(Definitions, EveryObject0ResourceOfEveryVersionIsHandled) {
    for (auto v : {dm::Lwm2mVersion::v1_0, dm::Lwm2mVersion::v1_1, dm::Lwm2mVersion::v1_2}) {
        const auto reg = dm::ObjectRegistry::builtin(v);
        const dm::ObjectDef* def = reg.find(0);
        ASSERT_NE(def, nullptr);
        EXPECT_TRUE(def->multiple);
        EXPECT_TRUE(def->mandatory);
        for (const auto& r : def->resources) {
            SecurityInstance s;
            dm::Resource res = r.multiple
                                   ? dm::Resource::multi(r.id, {{0, test::sample_value(r.type)}})
                                   : dm::Resource::single(r.id, test::sample_value(r.type));
            const auto out = apply_security_resource(s, res);
            // Handled means validated (accepted or 4.00), never "no such resource".
            if (!out) {
                EXPECT_EQ(out.error(), make_error_code(Status::bad_request)) << "/0/x/" << r.id;
            }
            EXPECT_LE(r.id, 30) << r.id;
        }
    }
}

TEST(Definitions, Object1SpecsMatchThePublishedDefinition) {
    const auto reg = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_2);
    const dm::ObjectDef* def = reg.find(1);
    ASSERT_NE(def, nullptr);
    for (const auto& r : def->resources) {
        const ServerResourceSpec* spec = server_resource_spec(r.id);
        ASSERT_NE(spec, nullptr) << "/1/x/" << r.id;
        EXPECT_EQ(spec->type, r.type) << r.id;
        EXPECT_EQ(spec->multiple, r.multiple) << r.id;
        EXPECT_EQ(spec->executable, r.executable()) << r.id;
        EXPECT_EQ(spec->writable, r.writable()) << r.id;
        EXPECT_EQ(spec->readable, r.readable()) << r.id;
    }
    for (auto v : {dm::Lwm2mVersion::v1_0, dm::Lwm2mVersion::v1_1}) {
        const auto older = dm::ObjectRegistry::builtin(v);
        ASSERT_NE(older.find(1), nullptr);
        for (const auto& r : older.find(1)->resources) {
            const ServerResourceSpec* spec = server_resource_spec(r.id);
            ASSERT_NE(spec, nullptr) << r.id;
            // 1.0 typed these as Integer; integer and unsigned values are interchangeable here.
            if (r.type != dm::DataType::integer) {
                EXPECT_EQ(spec->type, r.type) << r.id;
            }
        }
    }
}

} // namespace
} // namespace lwm2m::client
