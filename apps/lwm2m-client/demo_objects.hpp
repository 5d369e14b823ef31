// The application side of lwm2m-client's objects: a demo temperature sensor (IPSO 3303 built with
// the typed helper) and the firmware store behind the Firmware Update Object (Object 5).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <lwm2m/base/log.hpp>
#include <lwm2m/client/objects/firmware_update_object.hpp>
#include <lwm2m/client/objects/typed_object.hpp>
#include <lwm2m/dm/object_def.hpp>

namespace lwm2m::app {

/// The IPSO Temperature object (3303, OMA LwM2M registry, object version 1.0) with the resources
/// the sensor fills: 5700 Sensor Value, 5701 Sensor Units, 5601/5602 Min/Max Measured Value,
/// 5603/5604 Min/Max Range Value, 5605 Reset Min and Max Measured Values (E), 5750 Application
/// Type (RW).
[[nodiscard]] dm::ObjectDef temperature_object_def();

/// A temperature that drifts slowly (a deterministic function of a step counter, so that tests
/// see a value change at every step) with the min/max tracking of 5601/5602.
class TemperatureSensor {
public:
    explicit TemperatureSensor(Logger& log);
    [[nodiscard]] client::TypedObject& object() { return object_; }
    /// The next reading (every --demo-interval); the change reaches observers.
    void step();

private:
    client::TypedObject object_;
    double value_ = 21.0;
    double min_ = 21.0;
    double max_ = 21.0;
    std::uint64_t steps_ = 0;
};

/// Stores firmware packages in the state directory (firmware.part while it arrives, renamed
/// firmware.bin once complete and checked) and "applies" them by announcing a new version, the
/// package's size and CRC-32 ("fw-<size>-<crc hex>"), as a demo application would. `fail` simulates
/// failures: "integrity" fails the check (Update Result 5), "update" fails the apply (Result 8).
class FirmwareStore final : public client::FirmwareUpdateHandler {
public:
    FirmwareStore(std::string dir, std::string fail, std::size_t max_size, Logger& log)
        : dir_(std::move(dir))
        , fail_(std::move(fail))
        , max_size_(max_size)
        , log_(&log) {}
    ~FirmwareStore() override;
    FirmwareStore(const FirmwareStore&) = delete;
    FirmwareStore& operator=(const FirmwareStore&) = delete;

    std::optional<client::UpdateResult> open_package(std::optional<std::size_t> total) override;
    std::optional<client::UpdateResult> write_package(std::size_t offset, BytesView data) override;
    std::optional<client::UpdateResult> finish_package() override;
    void discard_package() override;
    std::optional<client::UpdateResult> apply_package() override;

    /// The version an apply started (taken by the application once the Execute response went
    /// out: it then reports the outcome with FirmwareUpdateObject::finish_update()).
    std::optional<std::string> take_started_update();

private:
    void close_part();
    std::string dir_;
    std::string fail_;
    std::size_t max_size_;
    Logger* log_;
    int fd_ = -1;
    std::uint32_t crc_ = 0;
    std::size_t size_ = 0;
    std::optional<std::string> package_version_; ///< of the stored package (firmware.bin)
    std::optional<std::string> started_;
};

} // namespace lwm2m::app
