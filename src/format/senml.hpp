// Base name / base time planning shared by the SenML JSON, SenML CBOR and LwM2M JSON encoders
// (RFC 8428 §4.1, §4.5.3; LwM2M TS Core 1.1 §7.4.4-§7.4.6).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/format/codec.hpp>

namespace lwm2m::format::detail {

struct SenmlPlan {
    std::string bn;            ///< base name written on the first record; empty: none
    bool names = true;         ///< false: the single record is named by bn alone
    bool use_bt = false;       ///< write "bt" on the first record and relative "t"
    double bt = 0;
};

/// `base` is the content path for Read/Notify results, nullptr for composite records.
[[nodiscard]] SenmlPlan plan_senml(const std::vector<dm::Record>& recs, const dm::Path* base,
                                   const EncodeOptions& o);
/// The record's name relative to plan.bn (into `out`, cleared first).
/// Errors: invalid_content when the record is not below the base.
[[nodiscard]] Result<void> senml_name(const SenmlPlan& plan, const dm::Path& p, std::string& out);

/// Resolves bn + n into a leaf or partial path. Errors: malformed.
[[nodiscard]] Result<dm::Path> senml_resolve(std::string_view bn, std::string_view n);

} // namespace lwm2m::format::detail
