// Every standard object (2, 3, 4, 5) against every Actor kind: the static policy access() first,
// then the object's own rules (definition operations, single instance, owner rule).
#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <lwm2m/client/objects/access_control_object.hpp>
#include <lwm2m/client/objects/connectivity_monitoring_object.hpp>
#include <lwm2m/client/objects/device_object.hpp>
#include <lwm2m/client/objects/firmware_update_object.hpp>

#include "unit/client_objects/helpers.hpp"

namespace lwm2m::client {
namespace {

using test::P;

class NullFirmwareApp final : public FirmwareUpdateHandler {
public:
    std::optional<UpdateResult> open_package(std::optional<std::size_t>) override {
        return std::nullopt;
    }
    std::optional<UpdateResult> write_package(std::size_t, BytesView) override {
        return std::nullopt;
    }
    std::optional<UpdateResult> finish_package() override { return std::nullopt; }
    void discard_package() override {}
    std::optional<UpdateResult> apply_package() override { return std::nullopt; }
};

const Actor actors[] = {Actor::bootstrap_server(), Actor::dm_server(ShortServerId{1}),
                        Actor::factory(), Actor::local_app()};
constexpr const char* actor_names[] = {"bootstrap", "dm", "factory", "local"};

using Op = std::function<Result<void>(ObjectHandler&, const Actor&)>;
// nullopt: success.
using Row = std::pair<const char*, std::array<std::optional<Status>, 4>>;

constexpr std::optional<Status> okay = std::nullopt;
constexpr std::optional<Status> s400 = Status::bad_request;
constexpr std::optional<Status> s401 = Status::unauthorized;
constexpr std::optional<Status> s405 = Status::method_not_allowed;

Result<void> as_void(const auto& r) {
    if (r) return ok();
    return fail(r.error());
}

Op read(dm::Path p) {
    return [p](ObjectHandler& o, const Actor& a) { return as_void(o.read(a, p)); };
}
Op write(dm::Path p, dm::Value v) {
    return [p, v](ObjectHandler& o, const Actor& a) {
        return o.write(a, p, test::content(p, test::res(p.rid().v, v)), WriteMode::replace);
    };
}
Op discover(dm::Path p) {
    return [p](ObjectHandler& o, const Actor& a) { return as_void(o.discover(a, p)); };
}
Op execute(dm::Path p) {
    return [p](ObjectHandler& o, const Actor& a) { return o.execute(a, p, ""); };
}
Op create(dm::Instance in = {}) {
    return
        [in](ObjectHandler& o, const Actor& a) { return as_void(o.create(a, std::nullopt, in)); };
}
Op delete_(dm::Path p) {
    return [p](ObjectHandler& o, const Actor& a) { return o.delete_(a, p); };
}

void run(const std::function<std::unique_ptr<ObjectHandler>()>& make,
         const std::vector<std::pair<Row, Op>>& table) {
    for (const auto& [row, op] : table) {
        for (int k = 0; k < 4; ++k) {
            SCOPED_TRACE(std::string(row.first) + " by " + actor_names[k]);
            auto obj = make();
            const auto r = op(*obj, actors[k]);
            const auto& want = row.second[static_cast<std::size_t>(k)];
            if (!want) {
                EXPECT_TRUE(r) << r.error().message();
            } else {
                ASSERT_FALSE(r);
                EXPECT_EQ(r.error(), make_error_code(*want)) << r.error().message();
            }
        }
    }
}

TEST(ActorAccess, Device) {
    test::ManualWallClock clock;
    run([&] { return std::make_unique<DeviceObject>(clock); },
        {
            {{"read /3/0", {s401, okay, okay, okay}}, read(P(3, 0))},
            {{"write /3/0/14", {okay, okay, okay, okay}},
             write(P(3, 0, 14), dm::Value::string("+01:00"))},
            {{"write /3/0/0 (R)", {s405, s405, s405, s405}},
             write(P(3, 0, 0), dm::Value::string("x"))},
            {{"discover /3", {okay, okay, s405, s405}}, discover(P(3))},
            {{"execute /3/0/4", {s405, okay, s405, okay}}, execute(P(3, 0, 4))},
            {{"create /3", {s405, s405, s405, s405}}, create()},
            {{"delete /3/0", {s400, s405, s400, s400}}, delete_(P(3, 0))},
        });
}

TEST(ActorAccess, ConnectivityMonitoring) {
    run([] { return std::make_unique<ConnectivityMonitoringObject>(); },
        {
            {{"read /4/0", {s401, okay, okay, okay}}, read(P(4, 0))},
            {{"write /4/0/0 (R)", {s405, s405, s405, s405}},
             write(P(4, 0, 0), dm::Value::integer(41))},
            {{"discover /4", {okay, okay, s405, s405}}, discover(P(4))},
            {{"execute /4/0/0", {s405, s405, s405, s405}}, execute(P(4, 0, 0))},
            {{"create /4", {s405, s405, s405, s405}}, create()},
            {{"delete /4/0", {s400, s405, s400, s400}}, delete_(P(4, 0))},
        });
}

TEST(ActorAccess, FirmwareUpdate) {
    NullFirmwareApp app;
    FirmwareUpdateObject::Options o;
    o.version = FirmwareUpdateObject::Version::v1_1;
    run([&] { return std::make_unique<FirmwareUpdateObject>(app, o); },
        {
            {{"read /5/0", {s401, okay, okay, okay}}, read(P(5, 0))},
            {{"write /5/0/11", {okay, okay, okay, okay}},
             write(P(5, 0, 11), dm::Value::integer(2))},
            {{"write /5/0/3 (R)", {s405, s405, s405, s405}},
             write(P(5, 0, 3), dm::Value::integer(2))},
            {{"discover /5", {okay, okay, s405, s405}}, discover(P(5))},
            // Update in Idle: refused by the state machine for those the policy lets through.
            {{"execute /5/0/2", {s405, s405, s405, s405}}, execute(P(5, 0, 2))},
            {{"create /5", {s405, s405, s405, s405}}, create()},
            {{"delete /5/0", {s400, s405, s400, s400}}, delete_(P(5, 0))},
        });
}

TEST(ActorAccess, AccessControl) {
    auto make = [] {
        auto ac = std::make_unique<AccessControlObject>();
        AclInstance a;
        a.object_id = 3;
        a.object_instance_id = 0;
        a.owner = 1;
        (void)ac->add(a, Iid{0});
        return ac;
    };
    dm::Instance in;
    in.resources[0] = test::res(0, dm::Value::integer(4));
    in.resources[1] = test::res(1, dm::Value::integer(0));
    in.resources[3] = test::res(3, dm::Value::integer(1));
    run(make,
        {
            {{"read /2/0", {okay, okay, okay, okay}}, read(P(2, 0))},
            {{"write /2/0/3", {okay, okay, okay, okay}}, write(P(2, 0, 3), dm::Value::integer(2))},
            {{"write /2/0/0 (R)", {okay, s405, okay, okay}},
             write(P(2, 0, 0), dm::Value::integer(4))},
            {{"discover /2", {okay, okay, s405, s405}}, discover(P(2))},
            {{"execute /2/0/2", {s405, s405, s405, s405}}, execute(P(2, 0, 2))},
            {{"create /2", {s405, s401, okay, okay}}, create(in)},
            {{"delete /2/0", {okay, s401, okay, okay}}, delete_(P(2, 0))},
        });
    // A DM server that is not the owner.
    auto ac = make();
    EXPECT_STATUS(ac->write(Actor::dm_server(ShortServerId{2}), P(2, 0, 3),
                            test::content(P(2, 0, 3), test::res(3, dm::Value::integer(2))),
                            WriteMode::replace),
                  Status::unauthorized);
}

} // namespace
} // namespace lwm2m::client
