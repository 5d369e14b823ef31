// Parsing and validation of the Registration Interface requests (LwM2M TS 1.1 §6.2.1 Register,
// §6.2.2 Update; TS 1.2 §6.2.1/§6.2.2; TS 1.0 §5.3): the Uri-Query parameters and the CoRE Link
// Format payload of objects and object instances. Pure functions (the fuzz target
// tests/fuzz/server_register feeds them arbitrary bytes).
//
// Refusals carry the response code the client gets (Transport TS 1.1 Table 6.7-2: 4.00 for an
// invalid or missing parameter, 4.12 for an unsupported LwM2M version) and a short diagnostic
// text that the engine sends as the response payload.
//
// Lenient mode (the default, QueryOptions::strict = false) accepts what real clients send and
// records it in `notes` (the engine logs them once per registration): unknown parameters are
// ignored, a "Q" from a 1.0 client and a 1.0-style "UQ" binding from a 1.1+ client mean queue
// mode, "ep"/"lwm2m" in an Update are ignored, Object 0 (Security) and Object 21 (OSCORE)
// links are dropped (TS 1.1 §6.2.1: they MUST NOT be listed), resource-level links and duplicate
// links are ignored, "ver" on an instance link is accepted. Strict mode answers all of these 4.00.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/server/errc.hpp>

namespace lwm2m::server {

/// Transport bindings of the "b" parameter: TS 1.0 §5.3.1.1 (U, UQ, S, SQ, US, UQS), TS 1.1
/// §6.2.1.1 (U, T, S, N; queue mode is the separate "Q"), TS 1.2 §6.2.1.1 (U, M, H, T, S, N).
namespace binding {
inline constexpr std::uint8_t udp = 1;    ///< U
inline constexpr std::uint8_t tcp = 2;    ///< T (1.1)
inline constexpr std::uint8_t sms = 4;    ///< S
inline constexpr std::uint8_t non_ip = 8; ///< N (1.1)
inline constexpr std::uint8_t mqtt = 16;  ///< M (1.2)
inline constexpr std::uint8_t http = 32;  ///< H (1.2)
} // namespace binding

/// "U", "UT", "US"... in the canonical order U M H T S N (no Q).
[[nodiscard]] std::string binding_to_string(std::uint8_t bits);

/// What lenient parsing tolerated (bit set). describe_notes() words them for logs.
namespace note {
inline constexpr std::uint32_t unknown_parameter = 1U << 0;        ///< ignored
inline constexpr std::uint32_t q_from_1_0 = 1U << 1;               ///< "Q" from a 1.0 client
inline constexpr std::uint32_t q_in_binding = 1U << 2;             ///< "b=UQ" from a 1.1+ client
inline constexpr std::uint32_t register_param_in_update = 1U << 3; ///< ep/lwm2m in an Update
inline constexpr std::uint32_t security_object_listed = 1U << 4;   ///< </0/x> or </21/x> dropped
inline constexpr std::uint32_t resource_link = 1U << 5;            ///< </3/0/1> ignored
inline constexpr std::uint32_t duplicate_link = 1U << 6;           ///< repeated link ignored
inline constexpr std::uint32_t version_on_instance = 1U << 7;      ///< </3/0>;ver=1.1 accepted
inline constexpr std::uint32_t bad_attribute = 1U << 8;            ///< unusable ct= / ver= ignored
inline constexpr std::uint32_t no_content_format = 1U << 9; ///< payload without Content-Format 40
inline constexpr std::uint32_t outside_root = 1U << 10;     ///< link outside the alternate path
} // namespace note

/// "unknown parameter ignored; ..." for the set bits.
[[nodiscard]] std::string describe_notes(std::uint32_t notes);

/// Why a request is refused: Errc::bad_request (4.00), Errc::unsupported_version (4.12).
struct Refusal {
    Errc code = Errc::bad_request;
    std::string text; ///< diagnostic payload for the client
};

enum class RequestKind : std::uint8_t { register_, update };

struct QueryOptions {
    RequestKind kind = RequestKind::register_;
    bool strict = false;
    /// Update: the registered LwM2M version (the binding letters depend on it).
    dm::Lwm2mVersion registered_version = dm::Lwm2mVersion::v1_0;
    std::uint32_t min_lifetime = 1;
    std::uint32_t max_lifetime = 0xFFFFFFFFu;
};

/// The Uri-Query parameters of a Register or Update. string_views point into the caller's items.
struct RegisterQuery {
    std::string_view endpoint;               ///< "ep" (Register: required, 1..255 bytes UTF-8)
    std::optional<std::uint32_t> lifetime;   ///< "lt" in seconds
    std::optional<dm::Lwm2mVersion> version; ///< "lwm2m" (Register; absent means 1.0)
    std::optional<std::uint8_t> binding;     ///< "b" as binding:: bits
    bool queue = false;                      ///< "Q" (1.1+) or a Q in a 1.0 binding
    std::optional<std::string_view> sms;     ///< "sms": MSISDN, '+'? and 1..15 digits
    std::uint32_t notes = 0;                 ///< note:: bits
};

/// Parses the items of the Uri-Query options ("ep=abc", "Q", ...). Every parameter may appear
/// once. Refusals: missing or empty "ep" (Register), bad value syntax or range, duplicates,
/// unknown parameters (strict), an LwM2M version that is not 1.0/1.1/1.2 (Errc::
/// unsupported_version when it is a well-formed "X.Y", else bad_request).
[[nodiscard]] Result<RegisterQuery> parse_register_query(std::span<const std::string_view> items,
                                                         const QueryOptions& options,
                                                         Refusal* why = nullptr);

/// One link of the Register/Update payload: an object (iid == no_instance) or an instance.
struct ObjectLink {
    static constexpr std::uint16_t no_instance = 0xFFFF;
    std::uint16_t oid = 0;
    std::uint16_t iid = no_instance;
    std::uint8_t ver_major = 1; ///< "ver" (TS 1.1 §6.2.1.1) when has_version
    std::uint8_t ver_minor = 0;
    bool has_version = false;
    friend bool operator==(const ObjectLink&, const ObjectLink&) = default;
};

/// The parsed "Objects and Object Instances" payload (TS 1.1 §6.2.1.1).
struct ObjectLinks {
    /// The alternate path from the link with rt="oma.lwm2m" (TS 1.1 §6.2.1.1), or "/".
    std::string root = "/";
    /// Content-Formats the client declares with ct= on the root link (TS 1.1 §6.2.1), in order.
    std::vector<std::uint16_t> content_formats;
    /// Objects and instances in payload order (Object 0 / 21 never included).
    std::vector<ObjectLink> links;
    std::uint32_t notes = 0; ///< note:: bits
    friend bool operator==(const ObjectLinks&, const ObjectLinks&) = default;
};

struct LinksOptions {
    bool strict = false;
    std::size_t max_links = 4096;
    std::size_t max_payload = 64u << 10;
};

/// Parses the CoRE Link Format payload. Refusals (4.00): not link format, a link target that is
/// not a path, ids out of range (instance 65535), a malformed "ver" or "ct", limits; in strict
/// mode also everything `notes` would record. An empty payload gives empty links.
[[nodiscard]] Result<ObjectLinks>
parse_object_links(std::string_view payload, const LinksOptions& options, Refusal* why = nullptr);

/// "X.Y" -> (X, Y) for X, Y in 0..255; nullopt otherwise.
[[nodiscard]] std::optional<std::pair<std::uint8_t, std::uint8_t>>
parse_version(std::string_view text) noexcept;

} // namespace lwm2m::server
