// A versioned binary form of store::BootstrapConfig, for stores that keep each configuration as
// one blob (the SQLite store: one row per endpoint, the blob plus indexed credential columns).
//
//   offset  size  field
//   0       4     magic "LwBC"
//   4       2     format version (big-endian) = 1
//   6       2     flags = 0 (any other value: unsupported)
//   8       4     payload length N (big-endian), N <= max_bootstrap_config_size - 16
//   12      N     payload
//   12+N    4     CRC-32 (client::crc32) over bytes [0, 12+N)
//
//   payload := str16 endpoint
//              u8 bootstrap mode, bytes16 psk identity, bytes16 psk key, bytes16 rpk, str16 cn
//              u8 count, path*                          deletes
//              u8 options (bit 0 content format, 1 version, 2 discover, 3 avoid bootstrap id;
//                          other bits 0)
//              [u16 content format] [u8 version 0/1/2] [path discover]
//              u8 count, path*                          reads
//              u16 count, generated*                    (instance ids strictly ascending)
//              bytes32 Object 0, bytes32 Object 1, bytes32 Object 2   (TLV, TS 1.1 §7.4.3;
//                                                        empty when the object has no instance)
//   path      := u8 depth (0..4), u16 id * depth
//   generated := u16 iid, u8 kind, u8 psk key size, u8 psk identity size, str8 prefix,
//                u32 certificate validity days
//   strN/bytesN := uN length, bytes        (all integers big-endian)
//
// The blob holds the keys in clear (Object 0 resource 5, the bootstrap PSK): keep it like any
// key store (file mode 0600, encrypted volume). The encoder sizes its buffer exactly; the
// decoder checks every length against what is left before allocating and never throws.
// Decoding restores the structure only: run check_bootstrap_config() (the store's put() does)
// before using a decoded configuration.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/store/bootstrap_config.hpp>

namespace lwm2m::store {

inline constexpr std::uint16_t bootstrap_config_format_version = 1;
inline constexpr std::size_t max_bootstrap_config_size = 4u << 20;

/// Encodes a configuration (its secrets included: the result is SecretBytes). Every configuration
/// that passes check_bootstrap_config() encodes. Errors: ConfigErrc::invalid (a count or length
/// over the format's fields: more than 255 deletes or reads, an endpoint, identity, key, public
/// key or CN over 65535 bytes, a prefix over 255 bytes, an Object that does not encode as TLV).
[[nodiscard]] Result<SecretBytes> encode_bootstrap_config(const BootstrapConfig& config);

/// Decodes. Errors: ConfigErrc::invalid (bad magic, version or flags, truncation, a length or
/// count over what is left, CRC mismatch, trailing bytes, a path or enum value out of range, an
/// Object 0/1/2 payload that is not valid TLV for those objects, a Security or Server resource
/// the client would refuse).
[[nodiscard]] Result<BootstrapConfig> decode_bootstrap_config(BytesView bytes);

/// The associated data that binds a sealed configuration to its endpoint ("bootstrap/<ep>"):
/// the persistent stores seal and open configurations with it (SecretBox), so a blob moved to
/// another endpoint's row or key does not open.
[[nodiscard]] std::string bootstrap_config_blob_context(std::string_view endpoint);

} // namespace lwm2m::store
