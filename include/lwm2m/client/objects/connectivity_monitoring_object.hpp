// The Connectivity Monitoring Object (Object 4) on the client (LwM2M TS 1.1 Appendix E.5; the OMA
// definitions 1.0 to 1.3 from dm::builtin_object).
//
// Every resource is R: the application reports the values through typed setters, each checked
// against the definition (bearers 0..50, Link Utilization 0..100 %, SMNC / SMCC 0..999, Coverage
// Enhancement Level 0..4, ...) plus: IP and router addresses are IPv4 dotted quads or IPv6
// addresses in text form (RFC 4291 §2.2, no zone, no port), Cell ID and LAC are never negative,
// APNs are non-empty. A resource the chosen object version does not define (SignalSNR before 1.1,
// LAC before 1.2, Coverage Enhancement Level before 1.3) is Status::not_found. Each change reaches
// the ChangeListener so that observations follow. Servers can read, observe and discover; every
// Write is 4.05, and so is a Bootstrap-Write (the values describe the device).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/client/objects/typed_object.hpp>

namespace lwm2m::client {

namespace connectivity_rid {
inline constexpr std::uint16_t network_bearer = 0, available_network_bearer = 1,
                               radio_signal_strength = 2, link_quality = 3, ip_addresses = 4,
                               router_ip_addresses = 5, link_utilization = 6, apn = 7, cell_id = 8,
                               smnc = 9, smcc = 10, signal_snr = 11, lac = 12,
                               coverage_enhancement_level = 13;
}

/// Object 4 Resource 0 values (E.5): 0-20 cellular, 21-40 wireless, 41-50 wireline.
namespace network_bearer {
inline constexpr std::int64_t gsm = 0, td_scdma = 1, wcdma = 2, cdma2000 = 3, wimax = 4,
                              lte_tdd = 5, lte_fdd = 6, nb_iot = 7, nr_tdd = 8, nr_fdd = 9,
                              wlan = 21, bluetooth = 22, ieee_802_15_4 = 23, ethernet = 41,
                              dsl = 42, plc = 43;
}

/// An IPv4 dotted quad or an IPv6 address in text form, without port, brackets or zone.
[[nodiscard]] bool is_valid_ip_address(std::string_view text) noexcept;

class ConnectivityMonitoringObject final : public TypedObjectFacade {
public:
    enum class Version : std::uint8_t { v1_0, v1_1, v1_2, v1_3 };

    /// Version: the default is the one LwM2M 1.1 lists (1.2).
    explicit ConnectivityMonitoringObject(Version version = Version::v1_2,
                                          Logger& log = NullLogger::instance());

    // Errors of every setter: Status::bad_request (outside the definition's range or the rules
    // above), Status::not_found (not defined in this object version).
    Result<void> set_network_bearer(std::int64_t bearer);
    Result<void> set_available_network_bearers(const std::vector<std::int64_t>& bearers);
    /// dBm (RSSI / RSCP / RSRP / NRSRP by bearer).
    Result<void> set_radio_signal_strength(std::int64_t dbm);
    Result<void> set_link_quality(std::int64_t quality);
    Result<void> set_ip_addresses(const std::vector<std::string>& addresses);
    Result<void> set_router_ip_addresses(const std::vector<std::string>& addresses);
    Result<void> set_link_utilization(std::int64_t percent);
    Result<void> set_apns(const std::vector<std::string>& apns);
    Result<void> set_cell_id(std::int64_t cell_id);
    Result<void> set_smnc(std::int64_t smnc);
    Result<void> set_smcc(std::int64_t smcc);
    Result<void> set_signal_snr(std::int64_t db);
    Result<void> set_lac(std::int64_t lac);
    Result<void> set_coverage_enhancement_level(std::int64_t level);
    /// Removes a value the current bearer does not have (e.g. Cell ID on Ethernet).
    /// Errors: Status::not_found.
    Result<void> clear(Rid rid);

private:
    Result<void> set_int(std::uint16_t rid, std::int64_t v);
    Result<void> set_strings(std::uint16_t rid, const std::vector<std::string>& v);
};

} // namespace lwm2m::client
