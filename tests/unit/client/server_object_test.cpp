// Object 1 (Server) rules: resource validation, DM access to the own instance only, Execute.
#include <gtest/gtest.h>

#include <lwm2m/client/server_object.hpp>

#include "unit/client/test_configs.hpp"

namespace lwm2m::client {
namespace server_object_test { // named: unity builds join the files

using test::res;
using test::server_instance;

dm::Path inst(std::uint16_t i) {
    return dm::Path{Oid{1}, Iid{i}};
}
dm::Path rpath(std::uint16_t i, std::uint16_t r) {
    return dm::Path{Oid{1}, Iid{i}, Rid{r}};
}

class ServerObjectTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(obj.write(Actor::bootstrap_server(), inst(0),
                              test::content(inst(0), server_instance(0, 101)), WriteMode::replace));
        ASSERT_TRUE(obj.write(Actor::bootstrap_server(), inst(1),
                              test::content(inst(1), server_instance(1, 102)), WriteMode::replace));
    }
    Result<void> put(const Actor& a, std::uint16_t iid, std::uint16_t rid, dm::Value v) {
        return obj.write(a, rpath(iid, rid), test::content(rpath(iid, rid), res(rid, std::move(v))),
                         WriteMode::replace);
    }
    Result<void> bs(std::uint16_t rid, dm::Value v) {
        return put(Actor::bootstrap_server(), 0, rid, std::move(v));
    }
    static void expect_code(const Result<void>& r, Status s) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), make_error_code(s));
    }
    ServerObject obj;
    const Actor dm101 = Actor::dm_server(ShortServerId{101});
};

TEST_F(ServerObjectTest, Resource0_ShortServerIdIs1To65534) {
    EXPECT_TRUE(bs(0, dm::Value::integer(65534)));
    expect_code(bs(0, dm::Value::integer(0)), Status::bad_request);
    expect_code(bs(0, dm::Value::integer(65535)), Status::bad_request);
    EXPECT_EQ(obj.find(Iid{0})->short_server_id(), 65534);
}

TEST_F(ServerObjectTest, Resources1To3And5_LifetimeAtLeast1PeriodsAndTimeoutNonNegative) {
    EXPECT_TRUE(bs(1, dm::Value::integer(86400)));
    expect_code(bs(1, dm::Value::integer(0)), Status::bad_request);
    expect_code(bs(1, dm::Value::integer(-5)), Status::bad_request);
    for (std::uint16_t r : {std::uint16_t{2}, std::uint16_t{3}, std::uint16_t{5}}) {
        EXPECT_TRUE(bs(r, dm::Value::integer(0)));
        expect_code(bs(r, dm::Value::integer(-1)), Status::bad_request);
    }
    EXPECT_EQ(obj.find(Iid{0})->lifetime(), 86400);
    EXPECT_EQ(obj.find(Iid{1})->disable_timeout(), 86400); // default (E.2)
}

TEST_F(ServerObjectTest, Resource6And7_NotificationStoringBooleanBindingLetters) {
    expect_code(bs(6, dm::Value::integer(1)), Status::bad_request);
    for (const char* b : {"U", "UQ", "T", "US", "UQS", "UN", "TU"})
        EXPECT_TRUE(bs(7, dm::Value::string(b))) << b;
    for (const char* b : {"", "Q", "UU", "X", "u", "UQSTNQ"})
        expect_code(bs(7, dm::Value::string(b)), Status::bad_request);
}

TEST_F(ServerObjectTest, RetryResources17To20_CountsAtLeast1DefaultsApplied) {
    const ServerInstance& s = *obj.find(Iid{0});
    EXPECT_EQ(s.communication_retry_count(), 5u);
    EXPECT_EQ(s.communication_retry_timer(), 60u);
    EXPECT_EQ(s.communication_sequence_delay(), 86400u);
    EXPECT_EQ(s.communication_sequence_retry_count(), 1u);
    expect_code(bs(17, dm::Value::unsigned_integer(0)), Status::bad_request);
    expect_code(bs(20, dm::Value::unsigned_integer(0)), Status::bad_request);
    EXPECT_TRUE(bs(17, dm::Value::unsigned_integer(3)));
    EXPECT_TRUE(bs(18, dm::Value::unsigned_integer(0)));
    EXPECT_EQ(obj.find(Iid{0})->communication_retry_count(), 3u);
    EXPECT_EQ(obj.find(Iid{0})->communication_retry_timer(), 0u);
}

TEST_F(ServerObjectTest, OtherResourcesStoredTypedPerDefinition) {
    EXPECT_TRUE(bs(10, dm::Value::objlnk(11, 0)));
    expect_code(bs(10, dm::Value::integer(11)), Status::bad_request);
    EXPECT_TRUE(bs(22, dm::Value::string("U")));
    expect_code(bs(22, dm::Value::string("UT")), Status::bad_request);
    EXPECT_TRUE(bs(26, dm::Value::integer(1)));
    expect_code(bs(26, dm::Value::integer(2)), Status::bad_request);
    expect_code(bs(11, dm::Value::unsigned_integer(256)), Status::bad_request);
    // Integer / Unsigned Integer interchangeable in range; stored as the definition's type.
    EXPECT_TRUE(bs(14, dm::Value::integer(30)));
    EXPECT_EQ(obj.find(Iid{0})->resources.at(14).value, dm::Value::unsigned_integer(30));
    expect_code(bs(99, dm::Value::integer(1)), Status::not_found);
    expect_code(bs(8, dm::Value::integer(1)), Status::method_not_allowed); // executable
}

TEST_F(ServerObjectTest, DmServerSeesAndWritesOnlyItsOwnInstance) {
    const auto all = obj.read(dm101, dm::Path{Oid{1}});
    ASSERT_TRUE(all);
    ASSERT_EQ(std::get<dm::Object>(all->node).instances.size(), 1u);
    EXPECT_EQ(std::get<dm::Object>(all->node).instances.count(0), 1u);
    EXPECT_EQ(obj.read(dm101, inst(1)).error(), make_error_code(Status::unauthorized));
    expect_code(put(dm101, 1, 1, dm::Value::integer(60)), Status::unauthorized);
    EXPECT_TRUE(put(dm101, 0, 1, dm::Value::integer(60)));
    EXPECT_EQ(obj.find(Iid{0})->lifetime(), 60);
    expect_code(put(dm101, 0, 0, dm::Value::integer(7)), Status::method_not_allowed); // SSID is R
    EXPECT_EQ(obj.read(dm101, rpath(0, 4)).error(), make_error_code(Status::method_not_allowed));
    expect_code(obj.delete_(dm101, inst(0)), Status::method_not_allowed);
}

TEST_F(ServerObjectTest, DmWriteReplaceKeepsReadOnlyResources) {
    dm::Instance in;
    in.id = 0;
    in.resources[1] = res(1, dm::Value::integer(120));
    in.resources[6] = res(6, dm::Value::boolean(true));
    in.resources[7] = res(7, dm::Value::string("UQ"));
    ASSERT_TRUE(obj.write(dm101, inst(0), test::content(inst(0), in), WriteMode::replace));
    EXPECT_EQ(obj.find(Iid{0})->short_server_id(), 101);
    EXPECT_EQ(obj.find(Iid{0})->lifetime(), 120);
}

TEST_F(ServerObjectTest, ExecuteQueuesActionsForTheEngine) {
    EXPECT_TRUE(obj.execute(dm101, rpath(0, 8), ""));
    EXPECT_TRUE(obj.execute(dm101, rpath(0, 8), "")); // coalesced
    EXPECT_TRUE(obj.execute(dm101, rpath(0, 4), ""));
    EXPECT_TRUE(obj.execute(dm101, rpath(0, 9), ""));
    EXPECT_EQ(obj.poll_action(), (ServerAction{ServerAction::Kind::registration_update, 101}));
    EXPECT_EQ(obj.poll_action(), (ServerAction{ServerAction::Kind::disable, 101}));
    EXPECT_EQ(obj.poll_action(), (ServerAction{ServerAction::Kind::bootstrap_request, 101}));
    EXPECT_FALSE(obj.poll_action());
    EXPECT_EQ(obj.execute(dm101, rpath(0, 1), "").error(),
              make_error_code(Status::method_not_allowed));
    EXPECT_EQ(obj.execute(dm101, rpath(1, 8), "").error(), make_error_code(Status::unauthorized));
}

TEST_F(ServerObjectTest, BootstrapReadAndDiscoverOfObject1) {
    const auto r = obj.read(Actor::bootstrap_server(), dm::Path{Oid{1}});
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<dm::Object>(r->node).instances.size(), 2u);
    const auto links = obj.discover(Actor::bootstrap_server(), dm::Path{Oid{1}});
    ASSERT_TRUE(links);
    ASSERT_EQ(links->size(), 3u);
    EXPECT_EQ((*links)[1].ssid, 101);
    EXPECT_EQ((*links)[2].ssid, 102);
}

TEST_F(ServerObjectTest, BootstrapDeleteOfObject1RemovesAllInstances) {
    ASSERT_TRUE(obj.delete_(Actor::bootstrap_server(), inst(1)));
    EXPECT_EQ(obj.instances().size(), 1u);
    ASSERT_TRUE(obj.delete_(Actor::bootstrap_server(), dm::Path{Oid{1}}));
    EXPECT_TRUE(obj.instances().empty());
}

} // namespace server_object_test
} // namespace lwm2m::client
