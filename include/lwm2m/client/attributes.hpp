// Notification attributes (LwM2M TS 1.1 §5.1.2 "<NOTIFICATION> Class Attributes", TS 1.2 §5.1.1):
// the value a Write-Attributes sets at one level (object, instance, resource, resource instance)
// for one server, the inheritance to an observed path and the checks of a Write-Attributes.
//
// Rules implemented (docs/client.md "Attributes"):
//  - pmin, pmax, epmin, epmax are non-negative integers (seconds); gt, lt, st are decimal numbers,
//    st >= 0 (a Step is a non-negative difference).
//  - gt, lt and st only on a resource or resource instance of a numeric type (Integer, Unsigned
//    Integer, Float; TS 1.1 §5.1.2 "applicable only to numerical single-instance Resources",
//    1.2 also resource instances); elsewhere 4.00 Bad Request.
//  - `con` (0 or 1) only in 1.2 (TS 1.2 §5.1.1); `edge` and `hqmax` are not implemented: 4.00.
//  - A name without value removes that attribute (TS 1.1 §5.4.4 "unset").
//  - After applying, one level must satisfy: pmin <= pmax, epmin <= epmax, lt < gt and
//    lt + 2*st < gt (TS 1.1 §5.1.2); otherwise 4.00 and nothing is stored.
//  - Inheritance (TS 1.1 §5.1.2): resource instance <- resource <- instance <- object <- the
//    Server Object defaults (Resource 2 pmin, Resource 3 pmax). Across levels a pmax below the
//    effective pmin is ignored, and epmax below epmin likewise.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/object_def.hpp>
#include <lwm2m/dm/path.hpp>
#include <lwm2m/dm/registry.hpp>

namespace lwm2m::client {

struct NotificationAttributes {
    std::optional<std::int64_t> pmin, pmax, epmin, epmax; ///< seconds
    std::optional<double> gt, lt, st;
    std::optional<bool> con; ///< 1.2: confirmable notifications

    [[nodiscard]] bool empty() const {
        return !pmin && !pmax && !epmin && !epmax && !gt && !lt && !st && !con;
    }
    /// Fills every attribute absent here from `parent`.
    void inherit(const NotificationAttributes& parent);
    friend bool operator==(const NotificationAttributes&, const NotificationAttributes&) = default;
};

/// Applies the Uri-Query items of a Write-Attributes ("pmin=10", "gt=2.5", "pmax") addressed to
/// `path` (`def` is the resource's definition for resource-level paths, else nullptr) to
/// `attrs`, all or nothing. Errors: Status::bad_request (unknown name, bad value, an attribute
/// not allowed at that level or type, or a resulting inconsistent set).
[[nodiscard]] Result<void> apply_write_attributes(NotificationAttributes& attrs,
                                                  std::span<const std::string> queries,
                                                  const dm::Path& path, const dm::ResourceDef* def,
                                                  dm::Lwm2mVersion version);

/// The CoRE Link parameters of a set (for Discover): "pmin=10", "gt=2.5", ...
void append_link_attributes(std::string& out, const NotificationAttributes& attrs);

} // namespace lwm2m::client
