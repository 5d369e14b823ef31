#include <lwm2m/client/objects/device_object.hpp>

#include <algorithm>

#include <lwm2m/client/server_object.hpp>
#include <lwm2m/dm/registry.hpp>

namespace lwm2m::client {

namespace {

namespace rid = device_rid;
constexpr Iid iid0{0};

std::shared_ptr<const dm::ObjectDef> definition_for(DeviceObject::Version v) {
    switch (v) {
    case DeviceObject::Version::v1_0:
        return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(3, "1.0"));
    case DeviceObject::Version::v1_2:
        return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(3, "1.2"));
    case DeviceObject::Version::v1_1:
        break;
    }
    return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(3, "1.1"));
}

TypedObject::Options facade_options() {
    TypedObject::Options o;
    o.bootstrap_writes_read_only = false; // the values describe the device
    o.bootstrap_deletes_instances = false;
    return o;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

Result<void> non_negative(const dm::Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v.storage()); i != nullptr && *i >= 0)
        return ok();
    return fail(Status::bad_request);
}

} // namespace

// E.4 Resource 14 "UTC+X [ISO 8601]": ISO 8601-1 §4.2.5.1 offsets ±hh, ±hhmm, ±hh:mm or Z; the
// definition's "UTC" prefix is accepted; real offsets lie within -12:00..+14:00, so hours > 14 (and
// 14 with minutes) are refused.
bool is_valid_utc_offset(std::string_view s) noexcept {
    if (s == "Z") return true;
    if (s.substr(0, 3) == "UTC") {
        s.remove_prefix(3);
        if (s.empty()) return true;
    }
    if (s.size() < 3 || (s[0] != '+' && s[0] != '-') || !is_digit(s[1]) || !is_digit(s[2]))
        return false;
    const int hours = (s[1] - '0') * 10 + (s[2] - '0');
    s.remove_prefix(3);
    int minutes = 0;
    if (!s.empty()) {
        if (s[0] == ':') s.remove_prefix(1);
        if (s.size() != 2 || !is_digit(s[0]) || !is_digit(s[1])) return false;
        minutes = (s[0] - '0') * 10 + (s[1] - '0');
    }
    if (minutes > 59 || hours > 14 || (hours == 14 && minutes != 0)) return false;
    return true;
}

// E.4 Resource 15: "IANA Timezone (TZ) database format". The tz database's naming rules
// (theory.html "Timezone identifiers"): components separated by '/', each 1-14 characters of ASCII
// letters, '.', '-', '_' (plus the digits and '+' of the legacy "Etc/GMT+5", "EST5EDT"), not
// starting with '-', never "." or "..".
bool is_valid_timezone(std::string_view s) noexcept {
    if (s.empty() || s.size() > 255) return false;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = s.find('/', start);
        const std::string_view part = s.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part.empty() || part.size() > 14 || part[0] == '-' || part == "." || part == "..")
            return false;
        for (char c : part) {
            const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
            if (!letter && !is_digit(c) && c != '.' && c != '-' && c != '_' && c != '+')
                return false;
        }
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

DeviceObject::DeviceObject(const WallClock& clock, Options options, Logger& log)
    : TypedObjectFacade(definition_for(options.version), facade_options(), log)
    , clock_(&clock)
    , options_(std::move(options)) {
    (void)typed_.add_instance(iid0);
    (void)typed_.bind_execute(iid0, Rid{rid::reboot}, [this](std::string_view) {
        queue(DeviceAction::Kind::reboot);
        return ok();
    });
    (void)typed_.bind_execute(iid0, Rid{rid::factory_reset}, [this](std::string_view) {
        queue(DeviceAction::Kind::factory_reset);
        return ok();
    });
    (void)typed_.bind_execute(iid0, Rid{rid::reset_error_code}, [this](std::string_view) {
        // E.4 Resource 12: delete every error instance, keep one "0", then re-evaluate.
        (void)reset_errors();
        queue(DeviceAction::Kind::reevaluate_errors);
        return ok();
    });
    errors_ = {{0, device_error::no_error}};
    (void)typed_.bind(iid0, Rid{rid::error_code}, errors_);
    (void)typed_.bind<dm::Time>(
        iid0, Rid{rid::current_time}, [this] { return dm::Time{current_time()}; },
        [this](const dm::Time& t) -> Result<void> {
            if (options_.time_writer) return options_.time_writer(t.seconds);
            time_offset_ = t.seconds - clock_->unix_seconds();
            return ok();
        });
    (void)typed_.set_validator(Rid{rid::utc_offset}, [](const dm::Value& v) -> Result<void> {
        const auto* s = std::get_if<std::string>(&v.storage());
        if (s == nullptr || !is_valid_utc_offset(*s)) return fail(Status::bad_request);
        return ok();
    });
    (void)typed_.set_validator(Rid{rid::timezone}, [](const dm::Value& v) -> Result<void> {
        const auto* s = std::get_if<std::string>(&v.storage());
        if (s == nullptr || !is_valid_timezone(*s)) return fail(Status::bad_request);
        return ok();
    });
    (void)typed_.set_validator(Rid{rid::memory_free}, non_negative);
    (void)typed_.set_validator(Rid{rid::memory_total}, non_negative);
    (void)typed_.set_validator(Rid{rid::supported_binding}, [](const dm::Value& v) -> Result<void> {
        const auto* s = std::get_if<std::string>(&v.storage());
        if (s == nullptr || !is_valid_binding(*s)) return fail(Status::bad_request);
        return ok();
    });
    // Resource 16 is mandatory: an invalid configured text falls back to UDP.
    if (!set_supported_binding(options_.supported_binding)) (void)set_supported_binding("U");
}

Result<void> DeviceObject::set_string(std::uint16_t r, std::string& v) {
    return typed_.set(iid0, Rid{r}, v);
}

Result<void> DeviceObject::set_supported_binding(const std::string& v) {
    return typed_.set(iid0, Rid{rid::supported_binding}, v);
}

Result<void> DeviceObject::set_power_source(Riid id, PowerSource kind) {
    if (options_.version == Version::v1_0 && kind == PowerSource::fuel_cell)
        return fail(Status::bad_request); // 1.0 defines no value 3
    return typed_.set(iid0, Rid{rid::available_power_sources}, id, static_cast<std::int64_t>(kind));
}

Result<void> DeviceObject::set_power_source_voltage(Riid id, std::int64_t millivolts) {
    const auto sources = typed_.resource(iid0, Rid{rid::available_power_sources});
    if (!sources || sources->instances.count(id.v) == 0) return fail(Status::bad_request);
    return typed_.set(iid0, Rid{rid::power_source_voltage}, id, millivolts);
}

Result<void> DeviceObject::set_power_source_current(Riid id, std::int64_t milliamperes) {
    const auto sources = typed_.resource(iid0, Rid{rid::available_power_sources});
    if (!sources || sources->instances.count(id.v) == 0) return fail(Status::bad_request);
    return typed_.set(iid0, Rid{rid::power_source_current}, id, milliamperes);
}

Result<void> DeviceObject::remove_power_source(Riid id) {
    LWM2M_TRY_VOID(typed_.unset(iid0, Rid{rid::available_power_sources}, id));
    (void)typed_.unset(iid0, Rid{rid::power_source_voltage}, id);
    (void)typed_.unset(iid0, Rid{rid::power_source_current}, id);
    return ok();
}

Result<void> DeviceObject::set_battery_level(std::int64_t percent) {
    return typed_.set(iid0, Rid{rid::battery_level}, percent);
}

Result<void> DeviceObject::set_battery_status(BatteryStatus s) {
    return typed_.set(iid0, Rid{rid::battery_status}, static_cast<std::int64_t>(s));
}

Result<void> DeviceObject::set_memory_free(std::int64_t kilobytes) {
    return typed_.set(iid0, Rid{rid::memory_free}, kilobytes);
}

Result<void> DeviceObject::set_memory_total(std::int64_t kilobytes) {
    return typed_.set(iid0, Rid{rid::memory_total}, kilobytes);
}

Result<void> DeviceObject::set_ext_dev_info(const std::vector<dm::Objlnk>& links) {
    std::map<std::uint16_t, dm::Objlnk> m;
    for (std::size_t i = 0; i < links.size(); ++i) {
        if (i >= 0xffff) return fail(Status::request_entity_too_large);
        m.emplace(static_cast<std::uint16_t>(i), links[i]);
    }
    return typed_.set_all(iid0, Rid{rid::ext_dev_info}, m);
}

std::uint8_t DeviceObject::max_error_code() const {
    return options_.version == Version::v1_2 ? 32 : 8; // "0-8" (1.0, 1.1), "0..32" (1.2)
}

Result<void> DeviceObject::add_error(std::uint8_t code) {
    if (code == device_error::no_error || code > max_error_code()) return fail(Status::bad_request);
    for (const auto& kv : errors_)
        if (kv.second == code) return ok();
    if (errors_.size() == 1 && errors_.begin()->second == device_error::no_error) {
        errors_.begin()->second = code; // the first error replaces the "no error" instance
    } else {
        std::uint16_t riid = 0;
        while (errors_.count(riid) != 0)
            ++riid;
        errors_.emplace(riid, code);
    }
    typed_.notify_changed(iid0, Rid{rid::error_code});
    return ok();
}

Result<void> DeviceObject::clear_error(std::uint8_t code) {
    const auto it = std::find_if(errors_.begin(), errors_.end(), [&](const auto& kv) {
        return kv.second == code && code != device_error::no_error;
    });
    if (it == errors_.end()) return fail(Status::not_found);
    errors_.erase(it);
    if (errors_.empty()) errors_.emplace(0, device_error::no_error);
    typed_.notify_changed(iid0, Rid{rid::error_code});
    return ok();
}

Result<void> DeviceObject::reset_errors() {
    const bool was_clear =
        errors_.size() == 1 && errors_.begin()->first == 0 && errors_.begin()->second == 0;
    errors_ = {{0, device_error::no_error}};
    if (!was_clear) typed_.notify_changed(iid0, Rid{rid::error_code});
    return ok();
}

std::vector<std::uint8_t> DeviceObject::errors() const {
    std::vector<std::uint8_t> out;
    for (const auto& kv : errors_)
        if (kv.second != device_error::no_error)
            out.push_back(static_cast<std::uint8_t>(kv.second));
    return out;
}

Result<void> DeviceObject::set_utc_offset(const std::string& v) {
    return typed_.set(iid0, Rid{rid::utc_offset}, v);
}

Result<void> DeviceObject::set_timezone(const std::string& v) {
    return typed_.set(iid0, Rid{rid::timezone}, v);
}

std::optional<std::string> DeviceObject::utc_offset() const {
    return typed_.get<std::string>(iid0, Rid{rid::utc_offset});
}

std::optional<std::string> DeviceObject::timezone() const {
    return typed_.get<std::string>(iid0, Rid{rid::timezone});
}

std::int64_t DeviceObject::current_time() const {
    return clock_->unix_seconds() + time_offset_;
}

void DeviceObject::queue(DeviceAction::Kind k) {
    const DeviceAction a{k};
    if (std::find(actions_.begin(), actions_.end(), a) == actions_.end()) actions_.push_back(a);
}

std::optional<DeviceAction> DeviceObject::poll_action() {
    if (actions_.empty()) return std::nullopt;
    const DeviceAction a = actions_.front();
    actions_.pop_front();
    return a;
}

Result<void> DeviceObject::write(const Actor& actor, const dm::Path& path,
                                 const dm::Content& content, WriteMode mode) {
    const auto old_offset = utc_offset();
    const auto old_zone = timezone();
    LWM2M_TRY_VOID(typed_.write(actor, path, content, mode));
    if (actor.is_server()) {
        if (utc_offset() != old_offset) queue(DeviceAction::Kind::utc_offset_written);
        if (timezone() != old_zone) queue(DeviceAction::Kind::timezone_written);
    }
    return ok();
}

} // namespace lwm2m::client
