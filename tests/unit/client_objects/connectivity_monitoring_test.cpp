// Object 4 (Connectivity Monitoring): every resource set with valid and invalid values, read-only
// to servers, version-specific resources, IP address syntax, ChangeListener calls.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <lwm2m/client/objects/connectivity_monitoring_object.hpp>

#include "unit/client_objects/helpers.hpp"

namespace lwm2m::client {
namespace connectivity_monitoring_test { // named: unity builds join the files

using test::P;
namespace rid = connectivity_rid;
using CM = ConnectivityMonitoringObject;

const Actor dm1 = Actor::dm_server(ShortServerId{1});

TEST(ConnectivityMonitoring, IntegerResourcesAndTheirRanges) {
    CM cm(CM::Version::v1_3);
    test::RecordingListener listener;
    cm.set_change_listener(&listener);
    struct Case {
        std::uint16_t rid;
        Result<void> (CM::*set)(std::int64_t);
        std::int64_t good;
        std::vector<std::int64_t> bad;
    };
    const Case cases[] = {
        {rid::network_bearer, &CM::set_network_bearer, network_bearer::nb_iot, {-1, 51}},
        {rid::radio_signal_strength, &CM::set_radio_signal_strength, -93, {}},
        {rid::link_quality, &CM::set_link_quality, 12, {}},
        {rid::link_utilization, &CM::set_link_utilization, 100, {-1, 101}},
        {rid::cell_id, &CM::set_cell_id, 268435455, {-1}},
        {rid::smnc, &CM::set_smnc, 999, {-1, 1000}},
        {rid::smcc, &CM::set_smcc, 262, {-1, 1000}},
        {rid::signal_snr, &CM::set_signal_snr, -3, {}},
        {rid::lac, &CM::set_lac, 65535, {-2}},
        {rid::coverage_enhancement_level, &CM::set_coverage_enhancement_level, 4, {-1, 5}},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.rid);
        EXPECT_STATUS(cm.read(dm1, P(4, 0, c.rid)), Status::not_found);
        EXPECT_OK((cm.*c.set)(c.good));
        for (std::int64_t b : c.bad)
            EXPECT_STATUS((cm.*c.set)(b), Status::bad_request);
        auto r = cm.read(dm1, P(4, 0, c.rid));
        ASSERT_TRUE(r);
        EXPECT_EQ(std::get<dm::Resource>(r->node).value, dm::Value::integer(c.good));
        EXPECT_TRUE(listener.saw(P(4, 0, c.rid)));
        // Read-only to every server, the Bootstrap-Server included.
        EXPECT_STATUS(
            cm.write(dm1, P(4, 0, c.rid),
                     test::content(P(4, 0, c.rid), test::res(c.rid, dm::Value::integer(c.good))),
                     WriteMode::replace),
            Status::method_not_allowed);
        EXPECT_STATUS(
            cm.write(Actor::bootstrap_server(), P(4, 0, c.rid),
                     test::content(P(4, 0, c.rid), test::res(c.rid, dm::Value::integer(c.good))),
                     WriteMode::replace),
            Status::method_not_allowed);
    }
    EXPECT_OK(cm.clear(Rid{rid::cell_id}));
    EXPECT_STATUS(cm.read(dm1, P(4, 0, rid::cell_id)), Status::not_found);
    EXPECT_STATUS(cm.clear(Rid{rid::cell_id}), Status::not_found);
}

TEST(ConnectivityMonitoring, MultipleResources) {
    CM cm;
    EXPECT_OK(cm.set_available_network_bearers({network_bearer::lte_fdd, network_bearer::nb_iot}));
    EXPECT_STATUS(cm.set_available_network_bearers({0, 60}), Status::bad_request);
    EXPECT_OK(cm.set_ip_addresses({"192.0.2.10", "2001:db8::1"}));
    EXPECT_STATUS(cm.set_ip_addresses({"192.0.2.10", "host.example"}), Status::bad_request);
    EXPECT_OK(cm.set_router_ip_addresses({"192.0.2.1"}));
    EXPECT_STATUS(cm.set_router_ip_addresses({"192.0.2.1:53"}), Status::bad_request);
    EXPECT_OK(cm.set_apns({"internet", "iot.example"}));
    EXPECT_STATUS(cm.set_apns({""}), Status::bad_request);
    auto r = cm.read(dm1, P(4, 0, rid::ip_addresses));
    ASSERT_TRUE(r);
    const auto& ips = std::get<dm::Resource>(r->node);
    ASSERT_EQ(ips.instances.size(), 2u); // the failed set changed nothing
    EXPECT_EQ(ips.instances.at(1), dm::Value::string("2001:db8::1"));
    auto one = cm.read(dm1, P(4, 0, rid::available_network_bearer, 1));
    ASSERT_TRUE(one);
    EXPECT_EQ(std::get<dm::Value>(one->node), dm::Value::integer(network_bearer::nb_iot));
    auto links = cm.discover(dm1, P(4, 0));
    ASSERT_TRUE(links);
    bool saw_apn = false;
    for (const auto& l : *links) {
        if (l.path == P(4, 0, rid::apn)) {
            saw_apn = true;
            EXPECT_EQ(l.dim, 2);
        }
    }
    EXPECT_TRUE(saw_apn);
}

TEST(ConnectivityMonitoring, VersionSpecificResources) {
    CM v10(CM::Version::v1_0), v11(CM::Version::v1_1), v12(CM::Version::v1_2);
    EXPECT_EQ(v10.version(), "1.0");
    EXPECT_EQ(v12.version(), "1.2");
    EXPECT_STATUS(v10.set_signal_snr(1), Status::not_found);
    EXPECT_OK(v11.set_signal_snr(1));
    EXPECT_STATUS(v11.set_lac(1), Status::not_found);
    EXPECT_OK(v12.set_lac(1));
    EXPECT_STATUS(v12.set_coverage_enhancement_level(1), Status::not_found);
    EXPECT_EQ(CM().version(), "1.2"); // the version LwM2M 1.1 lists
}

TEST(ConnectivityMonitoring, NoServerCreatesOrDeletes) {
    CM cm;
    EXPECT_STATUS(cm.create(dm1, std::nullopt, dm::Instance{}), Status::method_not_allowed);
    EXPECT_STATUS(cm.delete_(dm1, P(4, 0)), Status::method_not_allowed);
    EXPECT_OK(cm.delete_(Actor::bootstrap_server(), P(4)));
    EXPECT_STATUS(cm.delete_(Actor::bootstrap_server(), P(4, 0)), Status::bad_request);
    EXPECT_EQ(cm.instances().size(), 1u);
    EXPECT_STATUS(cm.execute(dm1, P(4, 0, 0), ""), Status::method_not_allowed);
}

TEST(ConnectivityMonitoring, IpAddressText) {
    for (const char* ok_text : {"0.0.0.0", "192.0.2.255", "::", "::1", "2001:db8::8a2e:370:7334",
                                "fe80::1", "::ffff:192.0.2.1"}) {
        EXPECT_TRUE(is_valid_ip_address(ok_text)) << ok_text;
    }
    for (const char* bad : {"", "192.0.2", "192.0.2.256", "1.2.3.4:5683", "[::1]", "[::1]:5683",
                            "fe80::1%eth0", "2001:db8:::1", "example.com", "1.2.3.4 "}) {
        EXPECT_FALSE(is_valid_ip_address(bad)) << bad;
    }
}

} // namespace connectivity_monitoring_test
} // namespace lwm2m::client

namespace lwm2m::client {
namespace connectivity_monitoring_test { // named: unity builds join the files

TEST(ConnectivityMonitoringDefinition, EveryResourceOfEveryVersionFollowsItsOperations) {
    for (auto v : {CM::Version::v1_0, CM::Version::v1_1, CM::Version::v1_2, CM::Version::v1_3}) {
        CM cm(v);
        ASSERT_TRUE(cm.set_network_bearer(network_bearer::ethernet));
        EXPECT_GT(test::expect_operations_follow_definition(cm, cm.definition(), dm1), 30);
        EXPECT_EQ(cm.definition().object_version, cm.version());
    }
}

} // namespace connectivity_monitoring_test
} // namespace lwm2m::client
