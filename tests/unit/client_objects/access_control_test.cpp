// Object 2 (Access Control): the TS 1.1 §7.3.2 rule table of check(), the owner rule for writes,
// value validation, the Bootstrap interface, and the instances that follow created/deleted object
// instances.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <lwm2m/client/objects/access_control_object.hpp>

#include "unit/client_objects/helpers.hpp"

namespace lwm2m::client {
namespace access_control_test { // named: unity builds join the files

using test::P;
namespace rid = acl_rid;
using AC = AccessControlObject;

constexpr std::uint16_t R = acl_right::read, W = acl_right::write, E = acl_right::execute,
                        D = acl_right::delete_, C = acl_right::create;

AclInstance acl(std::uint16_t oid, std::uint16_t iid, std::uint16_t owner,
                std::map<std::uint16_t, std::uint16_t> entries) {
    AclInstance a;
    a.object_id = oid;
    a.object_instance_id = iid;
    a.owner = owner;
    a.acl = std::move(entries);
    return a;
}

dm::Instance acl_dm(std::uint16_t iid, std::uint16_t oid, std::uint16_t target, std::uint16_t owner,
                    dm::FlatMap<std::uint16_t, dm::Value> entries = {}) {
    dm::Instance in;
    in.id = iid;
    in.resources[0] = test::res(0, dm::Value::integer(oid));
    in.resources[1] = test::res(1, dm::Value::integer(target));
    if (!entries.empty()) in.resources[2] = dm::Resource::multi(2, std::move(entries));
    in.resources[3] = test::res(3, dm::Value::integer(owner));
    return in;
}

// Servers 101, 102, 103. Targets: /3/0 (owner 101, 102 may read), /3303/0 (owner 101, default
// R|E), /3303 object level (owner 101, 102 may create), /3303/1 (bootstrap-owned, 101 R|W),
// /1/0 (owner 101, ACL for itself only).
class AccessControlTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(ac.add(acl(3, 0, 101, {{102, R}}), Iid{0}));
        ASSERT_TRUE(ac.add(acl(3303, 0, 101, {{0, R | E}}), Iid{1}));
        ASSERT_TRUE(ac.add(acl(3303, 0xffff, 101, {{102, C}}), Iid{2}));
        ASSERT_TRUE(ac.add(acl(3303, 1, 0xffff, {{101, R | W}}), Iid{3}));
        ASSERT_TRUE(ac.add(acl(1, 0, 101, {{101, R | W}}), Iid{4}));
        ac.set_change_listener(&listener);
    }
    Result<void> put(const Actor& a, std::uint16_t iid, std::uint16_t r, dm::Value v) {
        return ac.write(a, P(2, iid, r), test::content(P(2, iid, r), test::res(r, std::move(v))),
                        WriteMode::replace);
    }
    AC ac{AC::Version::v1_1};
    test::RecordingListener listener;
};

TEST_F(AccessControlTest, RuleTable) {
    using O = Operation;
    const Decision allow = Decision::allow();
    const Decision d401 = Decision::deny(Status::unauthorized);
    const Decision d404 = Decision::deny(Status::not_found);
    const Decision d405 = Decision::deny(Status::method_not_allowed);
    struct Row {
        std::uint16_t ssid;
        Operation op;
        dm::Path path;
        Decision expected;
        const char* why;
    };
    const Row rows[] = {
        // An ACL entry for the server: exactly its bits.
        {102, O::read, P(3, 0), allow, "entry R"},
        {102, O::read, P(3, 0, 0), allow, "entry R, resource"},
        {102, O::observe, P(3, 0, 9), allow, "Observe needs R"},
        {102, O::discover, P(3, 0), allow, "Discover needs R"},
        {102, O::write_attributes, P(3, 0, 9), allow, "Write-Attributes needs R"},
        {102, O::write, P(3, 0, 13), d401, "entry without W"},
        {102, O::execute, P(3, 0, 4), d401, "entry without E"},
        {102, O::delete_, P(3, 0), d401, "entry without D"},
        // The owner without an entry of its own: full rights.
        {101, O::write, P(3, 0, 13), allow, "owner"},
        {101, O::execute, P(3, 0, 4), allow, "owner"},
        {101, O::delete_, P(3, 0), allow, "owner"},
        // Neither entry nor owner, no default: nothing.
        {103, O::read, P(3, 0), d401, "no entry, no default"},
        {103, O::observe, P(3, 0, 9), d401, "no entry, no default"},
        // The default entry (Resource Instance 0).
        {103, O::read, P(3303, 0, 5700), allow, "default R"},
        {103, O::execute, P(3303, 0, 5605), allow, "default E"},
        {103, O::write, P(3303, 0, 5750), d401, "default without W"},
        {102, O::delete_, P(3303, 0), d401, "default without D"},
        // An entry wins over the owner's implicit rights and over the default.
        {101, O::delete_, P(3303, 1), d401, "entry R|W only"},
        {101, O::write, P(3303, 1, 5750), allow, "entry W"},
        {103, O::read, P(3303, 1), d401, "bootstrap-owned, no default"},
        // No Access Control instance: no right.
        {101, O::read, P(3303, 7), d401, "no instance"},
        {101, O::read, P(4, 0), d401, "no instance"},
        // Create: the C bit of the object-level instance.
        {102, O::create, P(3303), allow, "object-level C"},
        {101, O::create, P(3303), allow, "object-level owner"},
        {103, O::create, P(3303), d401, "no C"},
        {101, O::create, P(3), d401, "no object-level instance"},
        {101, O::create, P(3303, 0), d405, "Create targets an object"},
        // A whole object: R on at least one instance.
        {103, O::read, P(3303), allow, "default R on /3303/0"},
        {103, O::discover, P(3303), allow, "default R on /3303/0"},
        {103, O::read, P(3), d401, "no readable instance"},
        {102, O::observe, P(3), allow, "R on /3/0"},
        {101, O::write, P(3), d405, "no Write on an object"},
        {101, O::delete_, P(3303), d405, "no Delete on an object"},
        // Object 1: an instance applies when present; else the Server Object decides.
        {101, O::write, P(1, 0, 1), allow, "entry W on own account"},
        {102, O::read, P(1, 0), d401, "no entry, owner 101"},
        {102, O::read, P(1, 1), allow, "no instance: Server Object rule"},
        {102, O::read, P(1), allow, "Server Object filters by SSID"},
        // Object 0 never; SSIDs that name no server never.
        {101, O::read, P(0, 0), d401, "Security Object"},
        {0, O::read, P(3303, 0), d401, "SSID 0"},
        {0xffff, O::read, P(3303, 0), d401, "SSID 65535"},
        // Object 2 follows its own rules.
        {103, O::read, P(2, 0), allow, "ACL instances are readable"},
        {103, O::discover, P(2), allow, "ACL object discoverable"},
        {101, O::write, P(2, 0, 2), allow, "owner writes the ACL"},
        {102, O::write, P(2, 0, 2), d401, "not the owner"},
        {101, O::write, P(2, 3, 2), d401, "owner 65535: bootstrap only"},
        {101, O::write, P(2, 9, 2), d404, "no such ACL instance"},
        {101, O::create, P(2), d401, "DM servers do not create ACL instances"},
        {101, O::delete_, P(2, 0), d401, "DM servers do not delete ACL instances"},
        {101, O::execute, P(2, 0, 2), d405, "nothing executable"},
        {101, O::read, dm::Path{}, d405, "root"},
    };
    for (const Row& r : rows) {
        EXPECT_EQ(ac.check(ShortServerId{r.ssid}, r.op, r.path), r.expected)
            << r.ssid << " " << to_string(r.op) << " " << path_text(r.path) << ": " << r.why;
    }
}

TEST_F(AccessControlTest, OnlyTheOwnerWritesAnInstance) {
    const Actor s101 = Actor::dm_server(ShortServerId{101});
    const Actor s102 = Actor::dm_server(ShortServerId{102});
    const dm::Path p = P(2, 0, rid::acl);
    auto acl_write = [&](const Actor& a, dm::FlatMap<std::uint16_t, dm::Value> e, WriteMode m) {
        return ac.write(a, p, test::content(p, dm::Resource::multi(rid::acl, std::move(e))), m);
    };
    EXPECT_STATUS(acl_write(s102, {{102, dm::Value::integer(R | W)}}, WriteMode::partial),
                  Status::unauthorized);
    EXPECT_OK(acl_write(s101, {{103, dm::Value::integer(R)}}, WriteMode::partial));
    EXPECT_EQ(ac.find_for(Oid{3}, Iid{0})->acl,
              (std::map<std::uint16_t, std::uint16_t>{{102, R}, {103, R}}));
    EXPECT_OK(acl_write(s101, {{0, dm::Value::integer(R)}}, WriteMode::replace));
    EXPECT_EQ(ac.find_for(Oid{3}, Iid{0})->acl, (std::map<std::uint16_t, std::uint16_t>{{0, R}}));
    // Object ID / Object Instance ID are R for DM servers.
    EXPECT_STATUS(put(s101, 0, rid::object_id, dm::Value::integer(4)), Status::method_not_allowed);
    EXPECT_STATUS(put(s101, 0, rid::object_instance_id, dm::Value::integer(1)),
                  Status::method_not_allowed);
    // Ownership moves; the old owner loses the right to manage.
    EXPECT_OK(put(s101, 0, rid::access_control_owner, dm::Value::integer(102)));
    EXPECT_STATUS(put(s101, 0, rid::access_control_owner, dm::Value::integer(101)),
                  Status::unauthorized);
    EXPECT_OK(put(s102, 0, rid::access_control_owner, dm::Value::integer(101)));
    // Bootstrap-owned instance: no DM server.
    EXPECT_STATUS(put(s101, 3, rid::access_control_owner, dm::Value::integer(101)),
                  Status::unauthorized);
    EXPECT_STATUS(put(s101, 9, rid::access_control_owner, dm::Value::integer(101)),
                  Status::not_found);
    // A DM replace of the instance keeps Object ID, Instance ID and (absent) Owner.
    dm::Instance in;
    in.id = 0;
    in.resources[2] = dm::Resource::multi(2, {{102, dm::Value::integer(W)}});
    EXPECT_OK(ac.write(s101, P(2, 0), test::content(P(2, 0), in), WriteMode::replace));
    const AclInstance* a = ac.find_for(Oid{3}, Iid{0});
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->owner, 101);
    EXPECT_EQ(a->acl, (std::map<std::uint16_t, std::uint16_t>{{102, W}}));
    EXPECT_TRUE(listener.paths.empty()); // server writes: the engine reports them
}

TEST_F(AccessControlTest, ValuesAreValidated) {
    const Actor bs = Actor::bootstrap_server();
    EXPECT_STATUS(put(bs, 7, rid::object_id, dm::Value::integer(0)), Status::bad_request);
    EXPECT_STATUS(put(bs, 7, rid::object_id, dm::Value::integer(65535)), Status::bad_request);
    EXPECT_STATUS(put(bs, 7, rid::object_id, dm::Value::string("3")), Status::bad_request);
    EXPECT_OK(put(bs, 7, rid::object_id, dm::Value::integer(65534)));
    EXPECT_STATUS(put(bs, 7, rid::object_instance_id, dm::Value::integer(65536)),
                  Status::bad_request);
    EXPECT_OK(put(bs, 7, rid::object_instance_id, dm::Value::integer(65535)));
    EXPECT_STATUS(put(bs, 7, rid::access_control_owner, dm::Value::integer(-1)),
                  Status::bad_request);
    const dm::Path p = P(2, 7, rid::acl);
    auto entries = [&](std::uint16_t ssid, std::int64_t v) {
        return ac.write(
            bs, p, test::content(p, dm::Resource::multi(rid::acl, {{ssid, dm::Value::integer(v)}})),
            WriteMode::replace);
    };
    EXPECT_OK(entries(101, 31));
    EXPECT_STATUS(entries(101, 32), Status::bad_request); // 1.1: 0..31
    EXPECT_STATUS(entries(0xffff, 1), Status::bad_request);
    EXPECT_STATUS(entries(101, -1), Status::bad_request);
    // A single value for the multiple resource is malformed.
    EXPECT_STATUS(put(bs, 7, rid::acl, dm::Value::integer(1)), Status::bad_request);
    // Object 2 1.0: "16-bit".
    AC v10;
    EXPECT_EQ(v10.version(), "1.0");
    EXPECT_OK(v10.add(acl(3, 0, 101, {{101, 0xffff}})));
    const dm::Path p10 = P(2, 0, rid::acl);
    EXPECT_STATUS(v10.write(bs, p10,
                            test::content(p10, dm::Resource::multi(
                                                   rid::acl, {{101, dm::Value::integer(65536)}})),
                            WriteMode::replace),
                  Status::bad_request);
    EXPECT_EQ(v10.find_for(Oid{3}, Iid{0})->acl.at(101), 0xffff);
    // Two instances for one target.
    EXPECT_STATUS(ac.add(acl(3, 0, 102, {})), Status::bad_request);
    dm::Instance dup = acl_dm(8, 3303, 0, 101);
    EXPECT_STATUS(ac.write(bs, P(2, 8), test::content(P(2, 8), dup), WriteMode::replace),
                  Status::bad_request);
    EXPECT_EQ(ac.instances().size(), 6u); // 0-4 and 7; nothing of the failed writes
}

TEST_F(AccessControlTest, BootstrapInterface) {
    const Actor bs = Actor::bootstrap_server();
    // Bootstrap-Write of the whole object, Bootstrap-Read (1.1) and Bootstrap-Discover.
    dm::Object o;
    o.id = 2;
    o.instances[0] = acl_dm(0, 3, 0, 101, {{102, dm::Value::integer(R)}});
    o.instances[5] = acl_dm(5, 4, 0, 0xffff, {{0, dm::Value::integer(R)}});
    EXPECT_OK(ac.write(bs, P(2), test::object_content(P(2), o), WriteMode::replace));
    auto r = ac.read(bs, P(2, 5));
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<dm::Instance>(r->node), o.instances[5]);
    auto d = ac.discover(bs, P(2));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->front().ver, "1.1");
    EXPECT_EQ(d->size(), 7u); // /2 and six instances (0-5: the write kept 1-4), no resources
    for (std::size_t i = 1; i < d->size(); ++i)
        EXPECT_EQ((*d)[i].path.depth(), 2);
    EXPECT_STATUS(ac.create(bs, std::nullopt, o.instances[0]), Status::method_not_allowed);
    EXPECT_OK(ac.delete_(bs, P(2, 5)));
    EXPECT_STATUS(ac.delete_(bs, P(2, 5)), Status::not_found);
    EXPECT_OK(ac.delete_(bs, dm::Path{}));
    EXPECT_TRUE(ac.instances().empty());
    // DM servers neither create nor delete Access Control instances.
    const Actor s101 = Actor::dm_server(ShortServerId{101});
    EXPECT_STATUS(ac.create(s101, std::nullopt, o.instances[0]), Status::unauthorized);
    ASSERT_TRUE(ac.add(acl(3, 0, 101, {})));
    EXPECT_STATUS(ac.delete_(s101, P(2, 0)), Status::unauthorized);
    // The factory source creates them.
    auto id = ac.create(Actor::factory(), Iid{9}, acl_dm(9, 5, 0, 101));
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, Iid{9});
    EXPECT_STATUS(ac.create(Actor::factory(), Iid{10}, dm::Instance{}), Status::bad_request);
}

TEST_F(AccessControlTest, ReadDiscoverExecuteByDmServers) {
    const Actor s103 = Actor::dm_server(ShortServerId{103});
    auto r = ac.read(s103, P(2, 0, rid::acl, 102));
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<dm::Value>(r->node), dm::Value::integer(R));
    EXPECT_STATUS(ac.read(s103, P(2, 0, rid::acl, 103)), Status::not_found);
    EXPECT_STATUS(ac.read(s103, P(2, 42)), Status::not_found);
    auto d = ac.discover(s103, P(2, 0));
    ASSERT_TRUE(d);
    ASSERT_EQ(d->size(), 5u); // instance, 0, 1, 2 (dim 1), 3
    EXPECT_EQ((*d)[3].path, P(2, 0, rid::acl));
    EXPECT_EQ((*d)[3].dim, 1);
    EXPECT_STATUS(ac.execute(s103, P(2, 0, rid::acl), ""), Status::method_not_allowed);
    EXPECT_STATUS(ac.execute(s103, P(2, 0, 9), ""), Status::not_found);
    EXPECT_STATUS(ac.read(s103, P(3, 0)), Status::not_found);
}

TEST_F(AccessControlTest, InstancesFollowObjectInstances) {
    ac.on_instance_created(Oid{3303}, Iid{5}, ShortServerId{102});
    const AclInstance* a = ac.find_for(Oid{3303}, Iid{5});
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->owner, 102);
    EXPECT_TRUE(a->acl.empty());
    EXPECT_EQ(listener.paths.size(), 1u);
    EXPECT_EQ(listener.paths[0].depth(), 2);
    // The creator has full rights, the others none (no default).
    EXPECT_TRUE(ac.check(ShortServerId{102}, Operation::delete_, P(3303, 5)).allowed);
    EXPECT_FALSE(ac.check(ShortServerId{101}, Operation::read, P(3303, 5)).allowed);
    // A stale instance for the target is taken over by the creator.
    ac.on_instance_created(Oid{3303}, Iid{1}, ShortServerId{103});
    EXPECT_EQ(ac.find_for(Oid{3303}, Iid{1})->owner, 103);
    EXPECT_TRUE(ac.find_for(Oid{3303}, Iid{1})->acl.empty());
    // Objects 0 and 2 get none.
    const auto before = ac.instances().size();
    ac.on_instance_created(Oid{0}, Iid{3}, ShortServerId{101});
    ac.on_instance_created(Oid{2}, Iid{3}, ShortServerId{101});
    EXPECT_EQ(ac.instances().size(), before);
    // Deleting the object instance removes its Access Control instance.
    listener.paths.clear();
    ac.on_instance_deleted(Oid{3303}, Iid{5});
    EXPECT_EQ(ac.find_for(Oid{3303}, Iid{5}), nullptr);
    EXPECT_EQ(listener.paths.size(), 1u);
    EXPECT_FALSE(ac.check(ShortServerId{102}, Operation::read, P(3303, 5)).allowed);
    // A removed server's entries go.
    ac.remove_server_entries(ShortServerId{102});
    EXPECT_TRUE(ac.find_for(Oid{3}, Iid{0})->acl.empty());
    EXPECT_EQ(ac.find_for(Oid{3303}, Iid{0})->acl.count(0), 1u); // the default stays
}

TEST_F(AccessControlTest, InstanceLimit) {
    AC small;
    for (std::uint16_t i = 0; i < max_acl_instances; ++i)
        small.on_instance_created(Oid{3303}, Iid{i}, ShortServerId{1});
    EXPECT_EQ(small.instances().size(), max_acl_instances);
    small.on_instance_created(Oid{3303}, Iid{60000}, ShortServerId{1});
    EXPECT_EQ(small.instances().size(), max_acl_instances);
    EXPECT_EQ(small.find_for(Oid{3303}, Iid{60000}), nullptr);
    EXPECT_STATUS(small.add(acl(4, 0, 1, {})), Status::request_entity_too_large);
}

TEST_F(AccessControlTest, BootstrapFinishConsistency) {
    std::vector<std::string> reasons;
    ac.check_consistency(reasons);
    EXPECT_TRUE(reasons.empty());
    const Actor bs = Actor::bootstrap_server();
    ASSERT_TRUE(put(bs, 20, rid::object_id, dm::Value::integer(3)));
    ac.check_consistency(reasons);
    ASSERT_EQ(reasons.size(), 2u); // resources 1 and 3 missing
    EXPECT_NE(reasons[0].find("/2/20"), std::string::npos);
}

} // namespace access_control_test
} // namespace lwm2m::client
