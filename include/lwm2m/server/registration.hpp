// A registration as the engine's API shows it (a copy; the engine keeps a compact form).
#pragma once

#include <cstdint>
#include <string>

#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/server/register_parser.hpp>
#include <lwm2m/store/security_info.hpp>

namespace lwm2m::server {

struct RegistrationInfo {
    std::string endpoint;
    std::string location; ///< the id after "/rd/"
    dm::Lwm2mVersion version = dm::Lwm2mVersion::v1_0;
    std::uint32_t lifetime_s = 86400;
    std::uint8_t binding = binding::udp; ///< binding:: bits
    bool queue_mode = false;
    std::string sms_number;
    ObjectLinks objects; ///< root path, declared content formats, objects and instances
    PeerAddr peer;
    std::uint16_t socket = 0; ///< listener index
    store::SecurityMode security = store::SecurityMode::nosec;
    std::int64_t registered_at = 0; ///< Unix seconds
    std::int64_t updated_at = 0;    ///< Unix seconds
    TimePoint expires_at;           ///< last Register/Update + lifetime + grace
    std::uint32_t notes = 0;        ///< what lenient parsing tolerated (note:: bits)
};

} // namespace lwm2m::server
