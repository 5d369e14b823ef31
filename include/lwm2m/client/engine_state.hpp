// Persistence of the client engine's own state (docs/client.md "Persistence"): registrations,
// Write-Attributes, observations and pending wall-clock deadlines. No key material (the accounts
// are a separate file, config_codec.hpp). A pure, versioned, CRC-protected binary codec:
//
//   0   4  magic "LwES"
//   4   2  version (big-endian) = 1
//   6   4  payload length N (big-endian, <= max_engine_state_size - 14)
//   10  N  payload
//   10+N 4 CRC-32 (client::crc32) over bytes [0, 10+N)
//
//   payload := u8 flags (bit 0: bootstrap_at follows) [i64 bootstrap_at]
//              u16 count registration* u16 count attribute* u16 count observation*
//   registration := u16 ssid, u8 location count, (u16 len, bytes)*, i64 lifetime,
//                   str binding, str object links, i64 registered_at (unix s), u8 queue
//   attribute    := u16 ssid, path, u8 mask, i64 pmin/pmax/epmin/epmax, f64 gt/lt/st, u8 con
//                   (only the fields named by the mask, in that order)
//   observation  := u16 ssid, u8 token len, token, u16 format, u8 composite, u8 path count,
//                   path*, u32 seq
//   path := u8 depth, u16 id * depth;  str := u16 len, bytes
//
// Every length is checked against what is left before allocating; the decoder never reads past
// the input and rejects trailing bytes (client::Errc::config_*).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/client/attributes.hpp>
#include <lwm2m/dm/path.hpp>

namespace lwm2m::client {

inline constexpr std::size_t max_engine_state_size = 1u << 20;

struct PersistedRegistration {
    std::uint16_t ssid = 0;
    std::vector<Bytes> location; ///< Location-Path option values, exactly as received
    std::int64_t lifetime = 0;
    std::string binding;
    std::string object_links;       ///< the object list last registered (to send only changes)
    std::int64_t registered_at = 0; ///< wall clock of the last successful Register/Update
    bool queue_mode = false;
    friend bool operator==(const PersistedRegistration&, const PersistedRegistration&) = default;
};

struct PersistedAttributes {
    std::uint16_t ssid = 0;
    dm::Path path;
    NotificationAttributes attrs;
    friend bool operator==(const PersistedAttributes&, const PersistedAttributes&) = default;
};

struct PersistedObservation {
    std::uint16_t ssid = 0;
    Bytes token;
    std::uint16_t format = 0;
    bool composite = false;
    std::vector<dm::Path> paths;
    std::uint32_t seq = 0;
    friend bool operator==(const PersistedObservation&, const PersistedObservation&) = default;
};

struct EngineState {
    std::vector<PersistedRegistration> registrations;
    std::vector<PersistedAttributes> attributes;
    std::vector<PersistedObservation> observations;
    /// Wall clock (Unix s) at which a pending client-initiated bootstrap is due (hold-off).
    std::optional<std::int64_t> bootstrap_at;
    friend bool operator==(const EngineState&, const EngineState&) = default;
};

[[nodiscard]] Bytes encode_engine_state(const EngineState& state);
/// Errors: client::Errc::config_bad_magic, config_bad_version, config_truncated,
/// config_bad_length, config_crc_mismatch, config_bad_value, config_trailing_bytes.
[[nodiscard]] Result<EngineState> decode_engine_state(BytesView bytes);

} // namespace lwm2m::client
