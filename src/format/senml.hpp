// Base name / base time planning shared by the SenML JSON, SenML CBOR and LwM2M JSON encoders
// (RFC 8428 §4.1, §4.5.3; LwM2M TS Core 1.1 §7.4.4-§7.4.6).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/format/codec.hpp>

#include "common.hpp"
#include "formats.hpp"

namespace lwm2m::format::detail {

struct SenmlPlan {
    dm::Path base;       ///< the base path when bn is set
    std::string bn;      ///< base name written on the first record; empty: none
    bool names = true;   ///< false: the single record is named by bn alone
    bool use_bt = false; ///< write "bt" on the first record and relative "t"
    double bt = 0;
};

/// `base` is the content path for Read/Notify results, nullptr for composite records.
[[nodiscard]] SenmlPlan plan_senml(const Leaves& recs, const dm::Path* base,
                                   const EncodeOptions& o);
/// The record's name relative to plan.bn (into `out`, cleared first).
/// Errors: invalid_content when the record is not below the base.
[[nodiscard]] Result<void> senml_name(const SenmlPlan& plan, const dm::Path& p, std::string& out);

/// Resolves bn + n into a leaf or partial path. Errors: malformed.
[[nodiscard]] Result<dm::Path> senml_resolve(std::string_view bn, std::string_view n);

/// Appends a decoded SenML record: the value is moved in once; `timed` records get the resolved
/// time bt + t (RFC 8428 §4.5.3).
inline void push_record(std::vector<dm::Record>& out, const dm::Path& path, dm::Value&& v,
                        bool timed, double bt_plus_t, const DecodeOptions& o) {
    out.push_back(
        dm::Record{path, std::move(v),
                   timed ? std::optional<double>(resolve_time(bt_plus_t, o)) : std::nullopt});
}

/// bn + n resolution with the base name parsed once (RFC 8428 §4.5.1: the name is the
/// concatenation of bn and n).
class NameResolver {
public:
    void set_base(std::string_view bn);
    [[nodiscard]] Result<dm::Path> resolve(std::string_view n) const;

private:
    std::string bn_;
    bool fast_ = true; ///< bn_ is empty or a valid path prefix ending in '/'
    std::uint16_t ids_[4] = {0, 0, 0, 0};
    int depth_ = 0;
};

} // namespace lwm2m::format::detail
