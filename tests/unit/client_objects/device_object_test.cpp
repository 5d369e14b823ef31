// Object 3 (Device): every resource read and written with valid and invalid values (exact Status),
// executes that queue actions, the Error Code rules, Current Time, UTC offset / timezone syntax.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <lwm2m/client/objects/device_object.hpp>

#include "unit/client_objects/helpers.hpp"

namespace lwm2m::client {
namespace device_object_test { // named: unity builds join the files

using test::P;
namespace rid = device_rid;

const Actor dm1 = Actor::dm_server(ShortServerId{1});

class DeviceTest : public ::testing::Test {
protected:
    void SetUp() override { dev.set_change_listener(&listener); }
    dm::Value read(std::uint16_t r) {
        auto c = dev.read(dm1, P(3, 0, r));
        EXPECT_TRUE(c) << r << ": " << c.error().message();
        if (!c) return {};
        return std::get<dm::Resource>(c->node).value;
    }
    dm::Resource read_res(std::uint16_t r) {
        auto c = dev.read(dm1, P(3, 0, r));
        EXPECT_TRUE(c) << r;
        if (!c) return {};
        return std::get<dm::Resource>(c->node);
    }
    Result<void> put(const Actor& a, std::uint16_t r, dm::Value v) {
        return dev.write(a, P(3, 0, r), test::content(P(3, 0, r), test::res(r, std::move(v))),
                         WriteMode::replace);
    }
    test::ManualWallClock clock{1'700'000'000};
    DeviceObject dev{clock};
    test::RecordingListener listener;
};

TEST_F(DeviceTest, IdentityStringsAreReadOnlyToEveryServer) {
    struct Case {
        std::uint16_t rid;
        Result<void> (DeviceObject::*set)(std::string);
    };
    const Case cases[] = {
        {rid::manufacturer, &DeviceObject::set_manufacturer},
        {rid::model_number, &DeviceObject::set_model_number},
        {rid::serial_number, &DeviceObject::set_serial_number},
        {rid::firmware_version, &DeviceObject::set_firmware_version},
        {rid::device_type, &DeviceObject::set_device_type},
        {rid::hardware_version, &DeviceObject::set_hardware_version},
        {rid::software_version, &DeviceObject::set_software_version},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.rid);
        EXPECT_STATUS(dev.read(dm1, P(3, 0, c.rid)), Status::not_found); // not set yet
        EXPECT_OK((dev.*c.set)("value-" + std::to_string(c.rid)));
        EXPECT_EQ(read(c.rid), dm::Value::string("value-" + std::to_string(c.rid)));
        EXPECT_TRUE(listener.saw(P(3, 0, c.rid)));
        EXPECT_STATUS(put(dm1, c.rid, dm::Value::string("x")), Status::method_not_allowed);
        EXPECT_STATUS(put(Actor::bootstrap_server(), c.rid, dm::Value::string("x")),
                      Status::method_not_allowed);
        EXPECT_STATUS((dev.*c.set)(std::string("\xff\xfe")), Status::bad_request); // not UTF-8
    }
}

TEST_F(DeviceTest, MandatoryResourcesArePresentFromTheStart) {
    EXPECT_EQ(read(rid::supported_binding), dm::Value::string("U"));
    const dm::Resource ec = read_res(rid::error_code);
    ASSERT_EQ(ec.instances.size(), 1u);
    EXPECT_EQ(ec.instances.at(0), dm::Value::integer(0));
    EXPECT_EQ(read(rid::current_time), dm::Value::time(1'700'000'000));
    EXPECT_EQ(dev.version(), "1.1");
    EXPECT_EQ(dev.oid(), Oid{3});
    EXPECT_EQ(dev.instances(), std::vector<Iid>{Iid{0}});
}

TEST_F(DeviceTest, SupportedBindingIsValidated) {
    EXPECT_OK(dev.set_supported_binding("UQ"));
    EXPECT_OK(dev.set_supported_binding("UTSNQ"));
    for (const char* b : {"", "Q", "UU", "X", "u"}) {
        SCOPED_TRACE(b);
        EXPECT_STATUS(dev.set_supported_binding(b), Status::bad_request);
    }
    EXPECT_EQ(read(rid::supported_binding), dm::Value::string("UTSNQ"));
    DeviceObject::Options o;
    o.supported_binding = "bogus"; // falls back to UDP: resource 16 is mandatory
    DeviceObject d2(clock, o);
    EXPECT_EQ(std::get<dm::Resource>(d2.read(dm1, P(3, 0, 16)).value().node).value,
              dm::Value::string("U"));
}

TEST_F(DeviceTest, ExecutesAnswerFirstAndQueueTheAction) {
    EXPECT_FALSE(dev.poll_action());
    EXPECT_OK(dev.execute(dm1, P(3, 0, rid::reboot), ""));
    EXPECT_OK(dev.execute(dm1, P(3, 0, rid::reboot), "")); // coalesces
    EXPECT_OK(dev.execute(dm1, P(3, 0, rid::factory_reset), ""));
    EXPECT_EQ(dev.poll_action(), DeviceAction{DeviceAction::Kind::reboot});
    EXPECT_EQ(dev.poll_action(), DeviceAction{DeviceAction::Kind::factory_reset});
    EXPECT_FALSE(dev.poll_action());
    // Non-executable resources and reads of executable ones.
    EXPECT_STATUS(dev.execute(dm1, P(3, 0, rid::manufacturer), ""), Status::method_not_allowed);
    EXPECT_STATUS(dev.execute(dm1, P(3, 0, rid::current_time), ""), Status::method_not_allowed);
    EXPECT_STATUS(dev.read(dm1, P(3, 0, rid::reboot)), Status::method_not_allowed);
    EXPECT_STATUS(put(dm1, rid::reboot, dm::Value{}), Status::method_not_allowed);
    EXPECT_STATUS(dev.execute(dm1, P(3, 1, rid::reboot), ""), Status::not_found);
    // The Bootstrap-Server does not execute (not a Bootstrap operation).
    EXPECT_STATUS(dev.execute(Actor::bootstrap_server(), P(3, 0, rid::reboot), ""),
                  Status::method_not_allowed);
}

TEST_F(DeviceTest, ErrorCodeFollowsTheE4Rules) {
    auto codes = [&] {
        std::vector<std::pair<std::uint16_t, std::int64_t>> out;
        for (const auto& [ri, v] : read_res(rid::error_code).instances)
            out.emplace_back(ri, v.as_integer());
        return out;
    };
    using V = std::vector<std::pair<std::uint16_t, std::int64_t>>;
    EXPECT_OK(dev.add_error(device_error::low_battery));
    EXPECT_EQ(codes(), (V{{0, 1}})); // the first error replaces the "0" instance
    EXPECT_OK(dev.add_error(device_error::out_of_memory));
    EXPECT_OK(dev.add_error(device_error::out_of_memory)); // already active
    EXPECT_EQ(codes(), (V{{0, 1}, {1, 5}}));
    EXPECT_OK(dev.clear_error(device_error::low_battery));
    EXPECT_EQ(codes(), (V{{1, 5}})); // its instance is deleted
    EXPECT_STATUS(dev.clear_error(device_error::low_battery), Status::not_found);
    EXPECT_OK(dev.clear_error(device_error::out_of_memory));
    EXPECT_EQ(codes(), (V{{0, 0}})); // back to "no error"
    EXPECT_STATUS(dev.add_error(0), Status::bad_request);
    EXPECT_STATUS(dev.add_error(9), Status::bad_request); // 1.1: 0-8
    EXPECT_STATUS(dev.clear_error(0), Status::not_found);
    EXPECT_TRUE(listener.saw(P(3, 0, rid::error_code)));
    // Device 1.2 has device specific codes 16-32.
    DeviceObject::Options o;
    o.version = DeviceObject::Version::v1_2;
    DeviceObject d12(clock, o);
    EXPECT_OK(d12.add_error(32));
    EXPECT_STATUS(d12.add_error(33), Status::bad_request);
    EXPECT_EQ(d12.version(), "1.2");
}

TEST_F(DeviceTest, ResetErrorCodeClearsAndAsksForReevaluation) {
    ASSERT_TRUE(dev.add_error(device_error::gps_failure));
    ASSERT_TRUE(dev.add_error(device_error::sms_failure));
    listener.paths.clear();
    EXPECT_OK(dev.execute(dm1, P(3, 0, rid::reset_error_code), ""));
    EXPECT_TRUE(dev.errors().empty());
    const dm::Resource ec = read_res(rid::error_code);
    ASSERT_EQ(ec.instances.size(), 1u);
    EXPECT_EQ(ec.instances.at(0), dm::Value::integer(0));
    EXPECT_TRUE(listener.saw(P(3, 0, rid::error_code)));
    EXPECT_EQ(dev.poll_action(), DeviceAction{DeviceAction::Kind::reevaluate_errors});
    // Error Code is R for servers.
    EXPECT_STATUS(
        dev.write(dm1, P(3, 0, 11),
                  test::content(P(3, 0, 11), dm::Resource::multi(11, {{0, dm::Value::integer(3)}})),
                  WriteMode::replace),
        Status::method_not_allowed);
}

TEST_F(DeviceTest, CurrentTimeFollowsTheClockAndAWriteKeepsAnOffset) {
    clock.advance(std::chrono::seconds(10));
    EXPECT_EQ(read(rid::current_time), dm::Value::time(1'700'000'010));
    EXPECT_OK(put(dm1, rid::current_time, dm::Value::time(1'800'000'000)));
    clock.advance(std::chrono::seconds(5));
    EXPECT_EQ(read(rid::current_time), dm::Value::time(1'800'000'005));
    EXPECT_EQ(dev.current_time(), 1'800'000'005);
    EXPECT_STATUS(put(dm1, rid::current_time, dm::Value::string("now")), Status::bad_request);
    EXPECT_OK(put(dm1, rid::current_time, dm::Value::integer(1'900'000'000))); // Integer -> Time
    EXPECT_EQ(dev.current_time(), 1'900'000'000);
}

TEST_F(DeviceTest, CurrentTimeWriteGoesToTheApplicationWhenItDecides) {
    std::vector<std::int64_t> asked;
    DeviceObject::Options o;
    o.time_writer = [&](std::int64_t t) -> Result<void> {
        asked.push_back(t);
        if (t < 1'000'000'000) return fail(Status::method_not_allowed);
        clock.set(t); // the application adjusts its clock
        return ok();
    };
    DeviceObject d(clock, o);
    auto w = [&](std::int64_t t) {
        return d.write(dm1, P(3, 0, 13),
                       test::content(P(3, 0, 13), test::res(13, dm::Value::time(t))),
                       WriteMode::replace);
    };
    EXPECT_OK(w(1'750'000'000));
    EXPECT_EQ(d.current_time(), 1'750'000'000);
    EXPECT_STATUS(w(5), Status::method_not_allowed);
    EXPECT_EQ(d.current_time(), 1'750'000'000);
    EXPECT_EQ(asked, (std::vector<std::int64_t>{1'750'000'000, 5}));
}

TEST(DeviceText, UtcOffsetSyntax) {
    for (const char* ok_text : {"+02:00", "-03:30", "+0530", "+05", "Z", "UTC+01:00", "UTC-11",
                                "+14:00", "-12:00", "+00:00", "UTC"}) {
        EXPECT_TRUE(is_valid_utc_offset(ok_text)) << ok_text;
    }
    for (const char* bad : {"", "02:00", "+2:00", "+02:0", "+02:60", "+15:00", "+14:30", "+02:00Z",
                            "UTC+", "utc+01", "+0200 ", "+02-00", "GMT+1", "z"}) {
        EXPECT_FALSE(is_valid_utc_offset(bad)) << bad;
    }
}

TEST(DeviceText, TimezoneSyntax) {
    for (const char* ok_text :
         {"Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5", "EST5EDT",
          "America/Port-au-Prince", "America/Argentina/ComodRivadavia"}) {
        EXPECT_TRUE(is_valid_timezone(ok_text)) << ok_text;
    }
    for (const char* bad :
         {"", "/Europe", "Europe/", "Europe//Berlin", "Europe/../etc", "Europe/Ber lin", "-Foo",
          "Europe/Berlin,M3", "America/AVeryLongNamePart", "Europe/Zürich"}) {
        EXPECT_FALSE(is_valid_timezone(bad)) << bad;
    }
}

TEST_F(DeviceTest, UtcOffsetAndTimezoneWritesAreValidatedAndReported) {
    EXPECT_OK(put(dm1, rid::utc_offset, dm::Value::string("+02:00")));
    EXPECT_EQ(dev.utc_offset(), "+02:00");
    EXPECT_STATUS(put(dm1, rid::utc_offset, dm::Value::string("+2")), Status::bad_request);
    EXPECT_EQ(dev.utc_offset(), "+02:00");
    EXPECT_OK(put(dm1, rid::timezone, dm::Value::string("Europe/Berlin")));
    EXPECT_STATUS(put(dm1, rid::timezone, dm::Value::string("Berlin, Germany")),
                  Status::bad_request);
    EXPECT_EQ(dev.timezone(), "Europe/Berlin");
    EXPECT_EQ(dev.poll_action(), DeviceAction{DeviceAction::Kind::utc_offset_written});
    EXPECT_EQ(dev.poll_action(), DeviceAction{DeviceAction::Kind::timezone_written});
    EXPECT_FALSE(dev.poll_action());
    // The same value again is not a change.
    EXPECT_OK(put(dm1, rid::timezone, dm::Value::string("Europe/Berlin")));
    EXPECT_FALSE(dev.poll_action());
    // The application's own settings are checked too and reach the listener.
    EXPECT_STATUS(dev.set_utc_offset("two hours"), Status::bad_request);
    EXPECT_OK(dev.set_timezone("Asia/Tokyo"));
    EXPECT_TRUE(listener.saw(P(3, 0, rid::timezone)));
    EXPECT_FALSE(dev.poll_action()); // not a server write
}

TEST_F(DeviceTest, PowerSourcesShareTheirResourceInstanceIds) {
    EXPECT_STATUS(dev.set_power_source_voltage(Riid{1}, 3300), Status::bad_request);
    EXPECT_OK(dev.set_power_source(Riid{1}, PowerSource::internal_battery));
    EXPECT_OK(dev.set_power_source(Riid{4}, PowerSource::usb));
    EXPECT_OK(dev.set_power_source_voltage(Riid{1}, 3300));
    EXPECT_OK(dev.set_power_source_current(Riid{1}, -120)); // charging current may be negative
    EXPECT_EQ(read_res(rid::available_power_sources).instances.size(), 2u);
    EXPECT_EQ(read_res(rid::power_source_voltage).instances.at(1), dm::Value::integer(3300));
    EXPECT_STATUS(dev.set_power_source(Riid{0xffff}, PowerSource::dc), Status::bad_request);
    EXPECT_OK(dev.remove_power_source(Riid{1}));
    EXPECT_STATUS(dev.remove_power_source(Riid{1}), Status::not_found);
    EXPECT_STATUS(dev.read(dm1, P(3, 0, rid::power_source_voltage, 1)), Status::not_found);
    // Device 1.0 has no Fuel Cell.
    DeviceObject::Options o;
    o.version = DeviceObject::Version::v1_0;
    DeviceObject d10(clock, o);
    EXPECT_STATUS(d10.set_power_source(Riid{0}, PowerSource::fuel_cell), Status::bad_request);
    EXPECT_OK(d10.set_power_source(Riid{0}, PowerSource::solar));
    EXPECT_EQ(d10.version(), "1.0");
}

TEST_F(DeviceTest, BatteryAndMemoryRanges) {
    EXPECT_OK(dev.set_battery_level(0));
    EXPECT_OK(dev.set_battery_level(100));
    EXPECT_STATUS(dev.set_battery_level(101), Status::bad_request);
    EXPECT_STATUS(dev.set_battery_level(-1), Status::bad_request);
    EXPECT_EQ(read(rid::battery_level), dm::Value::integer(100));
    EXPECT_OK(dev.set_battery_status(BatteryStatus::charging));
    EXPECT_STATUS(dev.set_battery_status(static_cast<BatteryStatus>(7)), Status::bad_request);
    EXPECT_EQ(read(rid::battery_status), dm::Value::integer(1));
    EXPECT_OK(dev.set_memory_free(512));
    EXPECT_OK(dev.set_memory_total(4096));
    EXPECT_STATUS(dev.set_memory_free(-1), Status::bad_request);
    EXPECT_STATUS(dev.set_memory_total(-4), Status::bad_request);
    EXPECT_EQ(read(rid::memory_free), dm::Value::integer(512));
    EXPECT_OK(dev.set_ext_dev_info({{3, 1}, {3, 2}}));
    EXPECT_EQ(read_res(rid::ext_dev_info).instances.at(1), dm::Value::objlnk(3, 2));
    for (std::uint16_t r : {rid::battery_level, rid::memory_free, rid::battery_status}) {
        EXPECT_STATUS(put(dm1, r, dm::Value::integer(1)), Status::method_not_allowed);
    }
}

TEST_F(DeviceTest, TheInstanceCannotBeCreatedOrDeleted) {
    EXPECT_STATUS(dev.create(dm1, std::nullopt, dm::Instance{}), Status::method_not_allowed);
    EXPECT_STATUS(dev.delete_(dm1, P(3, 0)), Status::method_not_allowed);
    EXPECT_STATUS(dev.delete_(Actor::bootstrap_server(), P(3)), Status::bad_request);
    EXPECT_STATUS(dev.delete_(Actor::bootstrap_server(), P(3, 0)), Status::bad_request);
    EXPECT_OK(dev.delete_(Actor::bootstrap_server(), dm::Path{})); // "/" never affects /3/0
    EXPECT_EQ(dev.instances().size(), 1u);
}

TEST_F(DeviceTest, DiscoverShowsVersionAndDim) {
    ASSERT_TRUE(dev.add_error(1));
    ASSERT_TRUE(dev.add_error(2));
    auto links = dev.discover(dm1, P(3));
    ASSERT_TRUE(links);
    ASSERT_GE(links->size(), 3u);
    EXPECT_EQ((*links)[0].path, P(3));
    EXPECT_EQ((*links)[0].ver, "1.1");
    bool saw_reboot = false, saw_errors = false;
    for (const auto& l : *links) {
        if (l.path == P(3, 0, rid::reboot)) saw_reboot = true;
        if (l.path == P(3, 0, rid::error_code)) {
            saw_errors = true;
            EXPECT_EQ(l.dim, 2);
        }
        EXPECT_FALSE(l.path == P(3, 0, rid::manufacturer)); // not set: not present
    }
    EXPECT_TRUE(saw_reboot);
    EXPECT_TRUE(saw_errors);
}

} // namespace device_object_test
} // namespace lwm2m::client

namespace lwm2m::client {
namespace device_object_test { // named: unity builds join the files

TEST(DeviceDefinition, EveryResourceOfEveryVersionFollowsItsOperations) {
    test::ManualWallClock clock;
    for (auto v :
         {DeviceObject::Version::v1_0, DeviceObject::Version::v1_1, DeviceObject::Version::v1_2}) {
        DeviceObject::Options o;
        o.version = v;
        DeviceObject dev(clock, o);
        ASSERT_TRUE(dev.set_manufacturer("m"));
        EXPECT_GT(test::expect_operations_follow_definition(dev, dev.definition(),
                                                            Actor::dm_server(ShortServerId{7})),
                  60);
        EXPECT_EQ(dev.definition().object_version, dev.version());
    }
}

} // namespace device_object_test
} // namespace lwm2m::client
