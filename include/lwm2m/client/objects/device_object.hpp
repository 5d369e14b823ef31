// The Device Object (Object 3) on the client (LwM2M TS 1.1 Appendix E.4; the OMA definitions of
// Device 1.0, 1.1 and 1.2, taken from dm::builtin_object).
//
// The application provides the values through typed setters (each checked against the
// definition: types, ranges such as Battery Level 0..100, plus the rules below) and learns about
// the server's requests through poll_action(): Reboot (4) and Factory Reset (5) answer 2.04 first
// and happen when the application polls the action after the response went out (like
// ServerObject::poll_action). Reset Error Code (12) clears the Error Code resource to the single
// "0 = no error" instance at once and asks the application to re-evaluate its error conditions.
// Current Time (13) reads the injected WallClock; a server's Write goes to Options::time_writer
// (the application decides whether to adjust its clock) or, without one, is kept as an offset to
// the WallClock. UTC Offset (14) must be an ISO 8601 offset ("+02:00", "-0330", "+05", "Z", with an
// optional "UTC" prefix as in the definition's "UTC+X"), Timezone (15) an IANA tz database name
// ("Europe/Berlin", "Etc/GMT+5"; syntax of the tz "theory" naming rules, not a lookup); a server's
// Write of either is reported as an action too.
// Servers cannot create or delete the Device instance (TS 1.1 §5.4.4/§5.4.7: 4.05), and
// Bootstrap-Delete never affects it (TS 1.1 §5.2.7.5). Values the server does not write (R
// resources) are not writable by the Bootstrap-Server either: they describe the device.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/time.hpp>
#include <lwm2m/client/objects/typed_object.hpp>

namespace lwm2m::client {

namespace device_rid {
inline constexpr std::uint16_t manufacturer = 0, model_number = 1, serial_number = 2,
                               firmware_version = 3, reboot = 4, factory_reset = 5,
                               available_power_sources = 6, power_source_voltage = 7,
                               power_source_current = 8, battery_level = 9, memory_free = 10,
                               error_code = 11, reset_error_code = 12, current_time = 13,
                               utc_offset = 14, timezone = 15, supported_binding = 16,
                               device_type = 17, hardware_version = 18, software_version = 19,
                               battery_status = 20, memory_total = 21, ext_dev_info = 22;
}

/// Object 3 Resource 6 (E.4): the kinds of power source.
enum class PowerSource : std::uint8_t {
    dc = 0,
    internal_battery = 1,
    external_battery = 2,
    fuel_cell = 3, ///< 1.1+
    power_over_ethernet = 4,
    usb = 5,
    ac_mains = 6,
    solar = 7,
};

/// Object 3 Resource 20 (E.4).
enum class BatteryStatus : std::uint8_t {
    normal = 0,
    charging = 1,
    charge_complete = 2,
    damaged = 3,
    low_battery = 4,
    not_installed = 5,
    unknown = 6,
};

/// Object 3 Resource 11 values (E.4): 0 no error, 1-8 defined, 16-32 device specific (1.2).
namespace device_error {
inline constexpr std::uint8_t no_error = 0, low_battery = 1, external_power_off = 2,
                              gps_failure = 3, low_signal_strength = 4, out_of_memory = 5,
                              sms_failure = 6, ip_connectivity_failure = 7,
                              peripheral_malfunction = 8;
}

/// What a server asked the application to do (Execute), or told it (Write).
struct DeviceAction {
    enum class Kind : std::uint8_t {
        reboot,             ///< /3/0/4: reboot after the response went out
        factory_reset,      ///< /3/0/5: factory reset (TS: De-register MAY be sent first)
        reevaluate_errors,  ///< /3/0/12: error codes were reset; add the current ones again
        utc_offset_written, ///< a server wrote /3/0/14 (read it with utc_offset())
        timezone_written,   ///< a server wrote /3/0/15 (read it with timezone())
    };
    Kind kind;
    friend bool operator==(const DeviceAction&, const DeviceAction&) = default;
};

/// ISO 8601 UTC offset text as accepted for Resource 14 (see the file comment).
[[nodiscard]] bool is_valid_utc_offset(std::string_view text) noexcept;
/// IANA time zone name syntax as accepted for Resource 15 (see the file comment).
[[nodiscard]] bool is_valid_timezone(std::string_view text) noexcept;

class DeviceObject final : public TypedObjectFacade {
public:
    enum class Version : std::uint8_t { v1_0, v1_1, v1_2 };
    struct Options {
        /// The object version implemented (the default is the one LwM2M 1.1 lists).
        Version version = Version::v1_1;
        /// Resource 16 (Mandatory): the client's bindings and modes (TS 1.1 §6.2.1.1). The
        /// project's client binds over UDP.
        std::string supported_binding = "U";
        /// A server wrote Current Time: adjust the clock (then return ok(); reads keep using the
        /// WallClock) or refuse with a Status (e.g. Status::method_not_allowed). Empty: the object
        /// keeps the difference to the WallClock and adds it to every read.
        std::function<Result<void>(std::int64_t unix_seconds)> time_writer;
    };

    explicit DeviceObject(const WallClock& clock, Logger& log = NullLogger::instance())
        : DeviceObject(clock, Options{}, log) {}
    DeviceObject(const WallClock& clock, Options options, Logger& log = NullLogger::instance());

    // Identity strings (Resources 0, 1, 2, 3, 17, 18, 19). Errors: Status::bad_request (not valid
    // UTF-8), Status::request_entity_too_large (over 64 KiB).
    Result<void> set_manufacturer(std::string v) { return set_string(device_rid::manufacturer, v); }
    Result<void> set_model_number(std::string v) { return set_string(device_rid::model_number, v); }
    Result<void> set_serial_number(std::string v) {
        return set_string(device_rid::serial_number, v);
    }
    Result<void> set_firmware_version(std::string v) {
        return set_string(device_rid::firmware_version, v);
    }
    Result<void> set_device_type(std::string v) { return set_string(device_rid::device_type, v); }
    Result<void> set_hardware_version(std::string v) {
        return set_string(device_rid::hardware_version, v);
    }
    Result<void> set_software_version(std::string v) {
        return set_string(device_rid::software_version, v);
    }
    /// Resource 16. Errors: Status::bad_request (not a valid binding text).
    Result<void> set_supported_binding(const std::string& v);

    /// Resources 6/7/8 share the Resource Instance ID of one power source (E.4). Errors:
    /// Status::bad_request (65535, a kind the object version does not define (Fuel Cell in 1.0),
    /// a voltage/current for a power source that is not set).
    Result<void> set_power_source(Riid id, PowerSource kind);
    Result<void> set_power_source_voltage(Riid id, std::int64_t millivolts);
    Result<void> set_power_source_current(Riid id, std::int64_t milliamperes);
    /// Removes the source and its voltage and current. Errors: Status::not_found.
    Result<void> remove_power_source(Riid id);
    /// Resource 9 (0-100 %). Errors: Status::bad_request.
    Result<void> set_battery_level(std::int64_t percent);
    /// Resource 20. Errors: Status::bad_request.
    Result<void> set_battery_status(BatteryStatus s);
    /// Resources 10 and 21 in kilobytes (1 kB = 1000 bytes, E.4); never negative.
    /// Errors: Status::bad_request.
    Result<void> set_memory_free(std::int64_t kilobytes);
    Result<void> set_memory_total(std::int64_t kilobytes);
    /// Resource 22 (Objlnk to external Device instances). Errors: Status::bad_request.
    Result<void> set_ext_dev_info(const std::vector<dm::Objlnk>& links);

    /// Resource 11 (E.4): the first error replaces the "0" instance; each further error gets a
    /// new Resource Instance; clearing the last error restores the single "0" instance.
    /// Errors: Status::bad_request (0 or outside the version's range 1-8 / 1-32).
    Result<void> add_error(std::uint8_t code);
    /// Errors: Status::not_found (the code is not active).
    Result<void> clear_error(std::uint8_t code);
    /// Active error codes (empty when only "0 = no error" is present).
    [[nodiscard]] std::vector<std::uint8_t> errors() const;

    /// Resources 14 and 15. Errors: Status::bad_request (see is_valid_utc_offset /
    /// is_valid_timezone).
    Result<void> set_utc_offset(const std::string& v);
    Result<void> set_timezone(const std::string& v);
    [[nodiscard]] std::optional<std::string> utc_offset() const;
    [[nodiscard]] std::optional<std::string> timezone() const;
    /// Resource 13: the WallClock plus the offset a server's Write left (no time_writer).
    [[nodiscard]] std::int64_t current_time() const;

    /// The oldest pending action (identical pending actions coalesce).
    std::optional<DeviceAction> poll_action();

    Result<void> write(const Actor& actor, const dm::Path& path, const dm::Content& content,
                       WriteMode mode) override;

private:
    Result<void> set_string(std::uint16_t rid, std::string& v);
    void queue(DeviceAction::Kind k);
    Result<void> reset_errors();
    [[nodiscard]] std::uint8_t max_error_code() const;

    const WallClock* clock_;
    Options options_;
    std::int64_t time_offset_ = 0;
    std::map<std::uint16_t, std::int64_t> errors_; ///< Resource 11 (riid -> code)
    std::deque<DeviceAction> actions_;
};

} // namespace lwm2m::client
