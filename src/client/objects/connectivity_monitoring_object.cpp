#include <lwm2m/client/objects/connectivity_monitoring_object.hpp>

#include <map>

#include <lwm2m/base/peer.hpp>
#include <lwm2m/dm/registry.hpp>

namespace lwm2m::client {

namespace {

namespace rid = connectivity_rid;
constexpr Iid iid0{0};

std::shared_ptr<const dm::ObjectDef> definition_for(ConnectivityMonitoringObject::Version v) {
    switch (v) {
    case ConnectivityMonitoringObject::Version::v1_0:
        return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(4, "1.0"));
    case ConnectivityMonitoringObject::Version::v1_1:
        return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(4, "1.1"));
    case ConnectivityMonitoringObject::Version::v1_3:
        return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(4, "1.3"));
    case ConnectivityMonitoringObject::Version::v1_2:
        break;
    }
    return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(4, "1.2"));
}

TypedObject::Options facade_options() {
    TypedObject::Options o;
    o.bootstrap_writes_read_only = false;
    o.bootstrap_deletes_instances = false;
    return o;
}

Result<void> non_negative(const dm::Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v.storage()); i != nullptr && *i >= 0)
        return ok();
    return fail(Status::bad_request);
}

Result<void> ip_text(const dm::Value& v) {
    const auto* s = std::get_if<std::string>(&v.storage());
    if (s == nullptr || !is_valid_ip_address(*s)) return fail(Status::bad_request);
    return ok();
}

Result<void> non_empty(const dm::Value& v) {
    const auto* s = std::get_if<std::string>(&v.storage());
    if (s == nullptr || s->empty()) return fail(Status::bad_request);
    return ok();
}

} // namespace

bool is_valid_ip_address(std::string_view s) noexcept {
    // PeerAddr::parse accepts "a.b.c.d", "::1" and the forms with a port or brackets; only the
    // bare address is an address here.
    if (s.empty() || s.front() == '[' || s.find('%') != std::string_view::npos) return false;
    const auto a = PeerAddr::parse(s);
    if (!a || a->port != 0) return false;
    if (a->family == PeerAddr::Family::ipv4) return s.find(':') == std::string_view::npos;
    return a->family == PeerAddr::Family::ipv6;
}

ConnectivityMonitoringObject::ConnectivityMonitoringObject(Version version, Logger& log)
    : TypedObjectFacade(definition_for(version), facade_options(), log) {
    (void)typed_.add_instance(iid0);
    (void)typed_.set_validator(Rid{rid::ip_addresses}, ip_text);
    (void)typed_.set_validator(Rid{rid::router_ip_addresses}, ip_text);
    (void)typed_.set_validator(Rid{rid::apn}, non_empty);
    (void)typed_.set_validator(Rid{rid::cell_id}, non_negative);
    (void)typed_.set_validator(Rid{rid::lac}, non_negative);
}

Result<void> ConnectivityMonitoringObject::set_int(std::uint16_t r, std::int64_t v) {
    return typed_.set(iid0, Rid{r}, v);
}

Result<void> ConnectivityMonitoringObject::set_strings(std::uint16_t r,
                                                       const std::vector<std::string>& v) {
    std::map<std::uint16_t, std::string> m;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i >= 0xffff) return fail(Status::request_entity_too_large);
        m.emplace(static_cast<std::uint16_t>(i), v[i]);
    }
    return typed_.set_all(iid0, Rid{r}, m);
}

Result<void> ConnectivityMonitoringObject::set_network_bearer(std::int64_t bearer) {
    return set_int(rid::network_bearer, bearer);
}

Result<void>
ConnectivityMonitoringObject::set_available_network_bearers(const std::vector<std::int64_t>& b) {
    std::map<std::uint16_t, std::int64_t> m;
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i >= 0xffff) return fail(Status::request_entity_too_large);
        m.emplace(static_cast<std::uint16_t>(i), b[i]);
    }
    return typed_.set_all(iid0, Rid{rid::available_network_bearer}, m);
}

Result<void> ConnectivityMonitoringObject::set_radio_signal_strength(std::int64_t dbm) {
    return set_int(rid::radio_signal_strength, dbm);
}
Result<void> ConnectivityMonitoringObject::set_link_quality(std::int64_t q) {
    return set_int(rid::link_quality, q);
}
Result<void> ConnectivityMonitoringObject::set_ip_addresses(const std::vector<std::string>& a) {
    return set_strings(rid::ip_addresses, a);
}
Result<void>
ConnectivityMonitoringObject::set_router_ip_addresses(const std::vector<std::string>& a) {
    return set_strings(rid::router_ip_addresses, a);
}
Result<void> ConnectivityMonitoringObject::set_link_utilization(std::int64_t percent) {
    return set_int(rid::link_utilization, percent);
}
Result<void> ConnectivityMonitoringObject::set_apns(const std::vector<std::string>& apns) {
    return set_strings(rid::apn, apns);
}
Result<void> ConnectivityMonitoringObject::set_cell_id(std::int64_t v) {
    return set_int(rid::cell_id, v);
}
Result<void> ConnectivityMonitoringObject::set_smnc(std::int64_t v) {
    return set_int(rid::smnc, v);
}
Result<void> ConnectivityMonitoringObject::set_smcc(std::int64_t v) {
    return set_int(rid::smcc, v);
}
Result<void> ConnectivityMonitoringObject::set_signal_snr(std::int64_t db) {
    return set_int(rid::signal_snr, db);
}
Result<void> ConnectivityMonitoringObject::set_lac(std::int64_t v) {
    return set_int(rid::lac, v);
}
Result<void> ConnectivityMonitoringObject::set_coverage_enhancement_level(std::int64_t level) {
    return set_int(rid::coverage_enhancement_level, level);
}

Result<void> ConnectivityMonitoringObject::clear(Rid r) {
    return typed_.unset(iid0, r);
}

} // namespace lwm2m::client
