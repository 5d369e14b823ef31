// Persistence format of the client accounts (Objects 0 and 1): a pure, versioned binary codec.
//
//   offset  size  field
//   0       4     magic "LwCS"
//   4       2     format version (big-endian) = 2 (1 is still read, see below)
//   6       2     flags = 0 (any other value: config_bad_version)
//   8       4     payload length N (big-endian), N <= max_config_file_size - 16
//   12      N     payload
//   12+N    4     CRC-32 (IEEE 802.3, reflected, as zlib) over bytes [0, 12+N)
//
//   payload  := object(0) object(1) state          (version 1: object(0) object(1), no state)
//   state    := u8 flags (bit 0: a purge deadline follows; other bits 0),
//               [i64 big-endian ClientConfig::bs_purge_at: wall-clock Unix seconds at which the
//               Bootstrap-Server account is purged, Object 0 Resource 12]
//   object   := u16 instance count, instance*   (iids strictly ascending)
//   instance := u16 iid, u16 resource count, resource*   (rids strictly ascending)
//   resource := u16 rid, u8 kind (0 single, 1 multiple),
//               single: value | multiple: u16 count, (u16 riid, value)*   (riids ascending)
//   value    := u8 dm::DataType, then string/opaque/corelnk: u32 len + bytes; integer/unsigned/
//               time/float: 8 bytes big-endian; boolean: 1 byte 0|1; objlnk: u16 oid, u16 iid
//
// Decoding checks every length against what is left before allocating, the CRC, the canonical
// ordering, and then every value with the same rules as a Bootstrap-Write (apply_*_resource) and
// the whole with check_consistency(): a decoded configuration is always one finish() would accept.
// The encoding is canonical (the decoder re-encodes and compares): one file per configuration.
// The file holds the keys in clear: write it with mode 0600 (store::write_file_atomic does).
// The encoder sizes its buffer exactly before writing (a growing buffer would free copies of the
// keys unwiped) and the decoder wipes partly decoded instances on every error path.
//
// Version 1 (before the Resource 12 deadline was persisted) is still decoded, canonically as
// version 1, to a configuration without bs_purge_at: such a file cannot tell when the last
// bootstrap happened, so its Bootstrap-Server account is kept until the next successful bootstrap
// starts the timer again (what version 1 did). encode_config() always writes version 2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/client/client_config.hpp>

namespace lwm2m::client {

inline constexpr std::uint16_t config_format_version = 2;          ///< what encode_config writes
inline constexpr std::uint16_t config_oldest_readable_version = 1; ///< oldest decode_config reads
inline constexpr std::size_t max_config_file_size = 4u << 20; ///< also the read cap for the file

/// CRC-32 (IEEE 802.3 polynomial 0xEDB88320, reflected, init/xorout 0xFFFFFFFF).
[[nodiscard]] std::uint32_t crc32(BytesView data) noexcept;

/// Encodes a configuration. The result holds key material: it is SecretBytes (wiped when dropped).
[[nodiscard]] SecretBytes encode_config(const ClientConfig& config);

/// Decodes and validates. Errors: client::Errc::config_* (see status.hpp); never throws on any
/// input, never reads past `bytes`.
[[nodiscard]] Result<ClientConfig> decode_config(BytesView bytes);

/// What the client runs with after start-up.
struct LoadOutcome {
    enum class Source : std::uint8_t {
        stored,          ///< the persisted configuration decoded and checked
        factory,         ///< the stored one was missing or unusable; the factory configuration
        needs_bootstrap, ///< no usable configuration at all: run client-initiated bootstrap
    };
    Source source = Source::needs_bootstrap;
    ClientConfig config;
    Error error; ///< why the stored configuration was not used (empty when stored)
};

/// Safe start-up: `file` is the result of reading the state file (e.g. store::read_file); on any
/// error (missing, unreadable, corrupt, truncated, inconsistent) fall back to `factory` when it is
/// itself consistent, else to an empty configuration that needs bootstrap. Never fails.
[[nodiscard]] LoadOutcome load_config(const Result<Bytes>& file,
                                      const std::optional<ClientConfig>& factory);

} // namespace lwm2m::client
