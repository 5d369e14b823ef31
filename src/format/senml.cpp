#include "senml.hpp"

#include <algorithm>

#include "common.hpp"

namespace lwm2m::format::detail {

SenmlPlan plan_senml(const std::vector<dm::Record>& recs, const dm::Path* base, const EncodeOptions& o) {
    SenmlPlan p;
    if (base != nullptr && base->depth() > 0) {
        append_path(p.bn, *base);
        if (recs.size() == 1 && recs[0].path == *base) p.names = false;
        else p.bn.push_back('/');
    }
    if (o.use_base_time && !recs.empty()) {
        bool all = true;
        for (const auto& r : recs) all = all && r.time.has_value();
        if (all) {
            p.use_bt = true;
            p.bt = *recs[0].time;
        }
    }
    return p;
}

Result<void> senml_name(const SenmlPlan& plan, const dm::Path& p, std::string& out) {
    out.clear();
    if (!plan.names) return ok();
    append_path(out, p);
    if (plan.bn.empty()) return ok();
    if (out.size() <= plan.bn.size() || out.compare(0, plan.bn.size(), plan.bn) != 0)
        return fail(Errc::invalid_content);
    out.erase(0, plan.bn.size());
    return ok();
}

Result<dm::Path> senml_resolve(std::string_view bn, std::string_view n) {
    // A path has at most 4 ids of 5 digits: longer names are malformed anyway.
    char buf[64];
    if (bn.size() + n.size() > sizeof buf) return fail(Errc::malformed);
    std::copy(bn.begin(), bn.end(), buf);
    std::copy(n.begin(), n.end(), buf + bn.size());
    dm::Path p;
    if (!parse_path(std::string_view(buf, bn.size() + n.size()), p) || p.depth() == 0)
        return fail(Errc::malformed);
    return p;
}

} // namespace lwm2m::format::detail
