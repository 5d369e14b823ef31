// CoRE Link Format (RFC 6690) for LwM2M: Discover results (LwM2M TS Core 1.1 §6.3.4 / 1.2 §6.3.4),
// Register / Update payloads (TS 1.1 §6.2.1) and Bootstrap-Discover (TS 1.1 §5.2.7.3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/path.hpp>
#include <lwm2m/format/errc.hpp>

namespace lwm2m::format {

/// One link parameter: `name`, `name=token` or `name="quoted"`.
struct LinkAttr {
    std::string name;
    std::optional<std::string> value; ///< unescaped; nullopt for a bare parameter
    bool quoted = false;              ///< serialize as a quoted-string
    friend bool operator==(const LinkAttr&, const LinkAttr&) = default;
};

struct Link {
    std::string target; ///< the URI-Reference between '<' and '>'
    std::vector<LinkAttr> attrs;

    /// The first attribute with this name, or nullptr.
    [[nodiscard]] const LinkAttr* find(std::string_view name) const;
    /// The target as an LwM2M path (`</3/0/1>`). Errors: Errc::malformed.
    [[nodiscard]] Result<dm::Path> path() const;
    friend bool operator==(const Link&, const Link&) = default;
};

struct LinkLimits {
    std::size_t max_links = 4096;       ///< links in one payload
    std::size_t max_attrs = 32;         ///< parameters per link
    std::size_t max_target = 255;       ///< bytes of a target
    std::size_t max_value = 255;        ///< bytes of a parameter value
    std::size_t max_payload = 1u << 20; ///< bytes of the whole payload
    /// Check the LwM2M attributes (TS 1.1 §5.1.2 and §6.2.1 / 1.2 §5.1.2): value syntax of
    /// pmin, pmax, gt, lt, st, epmin, epmax, con, hqmax, edge, ver, ssid, dim, ct, uri.
    bool validate_lwm2m = true;
};

/// Parses `<target>;name=value;name="quoted",...`. Whitespace is tolerated only after ','.
/// Control characters, empty targets, unterminated quotes, duplicate LwM2M attributes and the
/// limits above fail with Errc::malformed / Errc::limit_exceeded.
[[nodiscard]] Result<std::vector<Link>> parse_links(std::string_view text,
                                                    const LinkLimits& limits = {});

/// Serializes links; values are written as tokens when `!quoted` and every character is a
/// ptoken character, otherwise as quoted-strings with '"' and '\' escaped.
[[nodiscard]] std::string serialize_links(std::span<const Link> links);

/// Checks one LwM2M attribute value (see LinkLimits::validate_lwm2m); unknown names pass.
/// Errors: Errc::malformed.
[[nodiscard]] Result<void> validate_lwm2m_attr(std::string_view name,
                                               const std::optional<std::string>& value);

/// One object of a Register / Update payload (TS 1.1 §6.2.1.1).
struct RegisterObject {
    std::uint16_t oid = 0;
    std::string version;                  ///< object version ("1.1"); empty = 1.0, not written
    std::vector<std::uint16_t> instances; ///< empty: the object is listed without instances
};

struct RegisterLinkOptions {
    std::string alternate_path = "/";           ///< "</>" or e.g. "</lwm2m>" (TS 1.1 §6.2.1.1)
    std::vector<std::uint16_t> content_formats; ///< ct= on the root link; empty: no root link
                                                ///< unless alternate_path != "/"
};

/// `</>;rt="oma.lwm2m";ct=11543,</1/0>,</3>;ver=1.1,</3/0>`; objects in the given order. Object 0
/// must be left out by the caller (TS 1.1 §6.2.1).
[[nodiscard]] std::string encode_register_links(std::span<const RegisterObject> objects,
                                                const RegisterLinkOptions& options = {});

} // namespace lwm2m::format
