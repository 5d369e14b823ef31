// Downlink requests of the Device Management & Service Enablement and Information Reporting
// interfaces (LwM2M TS 1.1 §6.3, §6.4; TS 1.2 §6.3, §6.4) as data: what Engine::send() takes.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/path.hpp>
#include <lwm2m/format/content_format.hpp>
#include <lwm2m/format/link_format.hpp>

namespace lwm2m::server {

/// A downlink request. Never 0 for a valid id.
struct RequestId {
    std::uint64_t value = 0;
    friend constexpr bool operator==(RequestId, RequestId) = default;
    friend constexpr auto operator<=>(RequestId, RequestId) = default;
};
/// An observation (TS 1.1 §6.4.1). Never 0 for a valid id; unique across restarts (persisted).
struct ObservationId {
    std::uint64_t value = 0;
    friend constexpr bool operator==(ObservationId, ObservationId) = default;
    friend constexpr auto operator<=>(ObservationId, ObservationId) = default;
};

enum class Operation : std::uint8_t {
    read,                     ///< GET (TS 1.1 §6.3.1)
    discover,                 ///< GET Accept: link-format (§6.3.2)
    write_replace,            ///< PUT (§6.3.3 Write, replace)
    write_update,             ///< POST (§6.3.3 Write, partial update)
    write_attributes,         ///< PUT with Uri-Query attributes (§6.3.4)
    execute,                  ///< POST with optional arguments (§6.3.5)
    create,                   ///< POST to an object (§6.3.6)
    delete_,                  ///< DELETE (§6.3.7)
    observe,                  ///< GET Observe=0 (§6.4.1)
    cancel_observation,       ///< GET Observe=1 on the observation's token (§6.4.2, active)
    read_composite,           ///< FETCH with a list of paths (TS 1.1 §6.3.8)
    write_composite,          ///< iPATCH with records (TS 1.1 §6.3.9)
    observe_composite,        ///< FETCH Observe=0 (TS 1.1 §6.4.3)
    cancel_observe_composite, ///< FETCH Observe=1 on the observation's token (§6.4.4, active)
};

[[nodiscard]] std::string_view to_string(Operation op) noexcept;

/// A request as data. Build with the named constructors; `format` is the Content-Format of the
/// request payload and `accept` the one asked for the response: when unset the engine chooses
/// from the client's LwM2M version and declared formats (EngineConfig::format_preference).
struct Request {
    Operation op = Operation::read;
    dm::Path path;                            ///< single-path operations
    std::vector<dm::Path> paths;              ///< read/observe composite
    std::optional<dm::Content> content;       ///< write_replace / write_update / create
    std::vector<dm::Record> records;          ///< write_composite
    std::string arguments;                    ///< execute: "0='v',1" (TS 1.1 §5.4.5 syntax)
    std::vector<format::LinkAttr> attributes; ///< write_attributes: pmin, pmax, gt, lt, st,
                                              ///< epmin, epmax, con, hqmax, edge; no value =
                                              ///< remove the attribute
    std::optional<format::ContentFormat> format;
    std::optional<format::ContentFormat> accept;
    std::optional<Duration> timeout; ///< default EngineConfig::request_timeout

    static Request read(dm::Path p, std::optional<format::ContentFormat> accept = {});
    static Request discover(dm::Path p);
    /// Replace (PUT) when `replace`, else partial update (POST). The target is content.path.
    static Request write(dm::Content c, bool replace = true,
                         std::optional<format::ContentFormat> f = {});
    static Request write_attributes(dm::Path p, std::vector<format::LinkAttr> attrs);
    static Request execute(dm::Path p, std::string arguments = {});
    /// `c` holds the new instance(s) at object level (/oid, Object node with instance ids).
    static Request create(dm::Content c, std::optional<format::ContentFormat> f = {});
    static Request delete_(dm::Path p);
    static Request observe(dm::Path p, std::optional<format::ContentFormat> accept = {});
    static Request read_composite(std::vector<dm::Path> paths,
                                  std::optional<format::ContentFormat> f = {});
    static Request write_composite(std::vector<dm::Record> records,
                                   std::optional<format::ContentFormat> f = {});
    static Request observe_composite(std::vector<dm::Path> paths,
                                     std::optional<format::ContentFormat> f = {});
};

/// Checks an Execute argument list (TS 1.1 §5.4.5: arg *("," arg), arg = DIGIT ["=" "'" text
/// "'"], text without "'"). Errors: server::Errc::invalid_request.
[[nodiscard]] Result<void> validate_execute_arguments(std::string_view args);

} // namespace lwm2m::server

template <>
struct std::hash<lwm2m::server::RequestId> {
    std::size_t operator()(lwm2m::server::RequestId id) const noexcept { return id.value; }
};
template <>
struct std::hash<lwm2m::server::ObservationId> {
    std::size_t operator()(lwm2m::server::ObservationId id) const noexcept { return id.value; }
};
