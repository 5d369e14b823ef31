#include "demo_objects.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/store/atomic_file.hpp>

namespace lwm2m::app {
namespace {

dm::ResourceDef res(std::uint16_t id, dm::DefText name, dm::Operations ops, dm::DataType type,
                    bool mandatory, dm::DefText units = {}) {
    dm::ResourceDef r;
    r.id = id;
    r.name = std::move(name);
    r.operations = ops;
    r.type = type;
    r.mandatory = mandatory;
    r.units = std::move(units);
    return r;
}

constexpr std::size_t max_package_check = 64u << 20;

} // namespace

dm::ObjectDef temperature_object_def() {
    using dm::DataType;
    using dm::Operations;
    dm::ObjectDef d;
    d.id = 3303;
    d.name = "Temperature";
    d.urn = "urn:oma:lwm2m:ext:3303";
    d.object_version = "1.0";
    d.lwm2m_version = "1.0";
    d.multiple = true;
    d.resources = {
        res(5601, "Min Measured Value", Operations::r, DataType::float_, false),
        res(5602, "Max Measured Value", Operations::r, DataType::float_, false),
        res(5603, "Min Range Value", Operations::r, DataType::float_, false),
        res(5604, "Max Range Value", Operations::r, DataType::float_, false),
        res(5605, "Reset Min and Max Measured Values", Operations::e, DataType::none, false),
        res(5700, "Sensor Value", Operations::r, DataType::float_, true, "Cel"),
        res(5701, "Sensor Units", Operations::r, DataType::string, false),
        res(5750, "Application Type", Operations::rw, DataType::string, false),
    };
    return d;
}

namespace {

client::TypedObject::Options sensor_options() {
    client::TypedObject::Options o;
    // The instance is the hardware sensor, not configuration: a Bootstrap-Delete of "/" (which
    // Bootstrap Servers send first, TS 1.1 §5.2.7.5) must not make it disappear until a reboot.
    o.bootstrap_deletes_instances = false;
    return o;
}

} // namespace

TemperatureSensor::TemperatureSensor(Logger& log)
    : object_(temperature_object_def(), sensor_options(), log) {
    const Iid i{0};
    // Every call below names a resource of the definition above with its own type: they cannot
    // fail, which the asserts in tests/integration/client check through reads.
    (void)object_.add_instance(i);
    (void)object_.bind(i, Rid{5700}, value_);
    (void)object_.bind(i, Rid{5601}, min_);
    (void)object_.bind(i, Rid{5602}, max_);
    (void)object_.set(i, Rid{5603}, -40.0);
    (void)object_.set(i, Rid{5604}, 85.0);
    (void)object_.set(i, Rid{5701}, std::string("Cel"));
    (void)object_.set(i, Rid{5750}, std::string("demo sensor"));
    (void)object_.bind_execute(i, Rid{5605}, [this](std::string_view) {
        min_ = max_ = value_;
        return ok();
    });
}

void TemperatureSensor::step() {
    ++steps_;
    // A slow sine plus a small saw-tooth: every step changes the value by at least 0.01.
    const auto t = static_cast<double>(steps_);
    const double v = std::round((21.0 + 4.0 * std::sin(t / 30.0) +
                                 0.05 * static_cast<double>(steps_ % 7) + 0.01) *
                                100.0) /
                     100.0;
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
    // set() on a bound variable stores it and tells the engine (observations, pmin/pmax, st).
    (void)object_.set(Iid{0}, Rid{5700}, v);
}

FirmwareStore::~FirmwareStore() {
    close_part();
}

void FirmwareStore::close_part() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::optional<client::UpdateResult> FirmwareStore::open_package(std::optional<std::size_t> total) {
    close_part();
    if (total && *total > max_size_) return client::UpdateResult::not_enough_flash;
    const std::string part = dir_ + "/firmware.part";
    fd_ = ::open(part.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd_ < 0) {
        log_->write(LogLevel::error, "firmware", fmt::format("cannot create {}", part));
        return client::UpdateResult::not_enough_flash;
    }
    size_ = 0;
    return std::nullopt;
}

std::optional<client::UpdateResult> FirmwareStore::write_package(std::size_t offset,
                                                                 BytesView data) {
    if (fd_ < 0 || offset != size_) return client::UpdateResult::integrity_check_failure;
    if (size_ + data.size() > max_size_) return client::UpdateResult::not_enough_flash;
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return client::UpdateResult::not_enough_flash;
        done += static_cast<std::size_t>(n);
    }
    size_ += data.size();
    return std::nullopt;
}

std::optional<client::UpdateResult> FirmwareStore::finish_package() {
    if (fd_ < 0) return client::UpdateResult::integrity_check_failure;
    const bool synced = ::fsync(fd_) == 0;
    close_part();
    if (!synced) return client::UpdateResult::not_enough_flash;
    const std::string part = dir_ + "/firmware.part";
    auto bytes = store::read_file(part, max_package_check);
    if (!bytes || bytes->size() != size_) return client::UpdateResult::integrity_check_failure;
    // The demo's "integrity check": a package must not be empty; --firmware-fail integrity fails
    // every package here.
    if (bytes->empty() || fail_ == "integrity") {
        ::unlink(part.c_str());
        return client::UpdateResult::integrity_check_failure;
    }
    if (::rename(part.c_str(), (dir_ + "/firmware.bin").c_str()) != 0)
        return client::UpdateResult::not_enough_flash;
    package_version_ = fmt::format("fw-{}-{:08x}", bytes->size(), client::crc32(*bytes));
    log_->write(LogLevel::info, "firmware",
                fmt::format("package stored: {} bytes, version {}", size_, *package_version_));
    return std::nullopt;
}

void FirmwareStore::discard_package() {
    close_part();
    ::unlink((dir_ + "/firmware.part").c_str());
    ::unlink((dir_ + "/firmware.bin").c_str());
    package_version_.reset();
}

std::optional<client::UpdateResult> FirmwareStore::apply_package() {
    if (fail_ == "update") return client::UpdateResult::update_failed;
    if (!package_version_) {
        // A package stored by a previous run: its version is recomputed from firmware.bin.
        auto bytes = store::read_file(dir_ + "/firmware.bin", max_package_check);
        if (!bytes || bytes->empty()) return client::UpdateResult::integrity_check_failure;
        package_version_ = fmt::format("fw-{}-{:08x}", bytes->size(), client::crc32(*bytes));
    }
    started_ = package_version_;
    return std::nullopt;
}

std::optional<std::string> FirmwareStore::take_started_update() {
    auto v = std::move(started_);
    started_.reset();
    return v;
}

} // namespace lwm2m::app
