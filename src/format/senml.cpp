#include "senml.hpp"

#include <algorithm>

#include "common.hpp"

namespace lwm2m::format::detail {

SenmlPlan plan_senml(const Leaves& recs, const dm::Path* base, const EncodeOptions& o) {
    SenmlPlan p;
    if (base != nullptr && base->depth() > 0) {
        p.base = *base;
        append_path(p.bn, *base);
        if (recs.size() == 1 && recs[0].path == *base)
            p.names = false;
        else
            p.bn.push_back('/');
    }
    if (o.use_base_time && !recs.empty()) {
        bool all = true;
        for (const auto& r : recs)
            all = all && r.time.has_value();
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
    if (plan.bn.empty()) {
        append_path(out, p);
        return ok();
    }
    // Below the base: the ids after the base's depth, '/'-separated.
    const int d = plan.base.depth();
    if (p.depth() <= d) return fail(Errc::invalid_content);
    const std::uint16_t ids[4] = {p.oid().v, p.depth() >= 2 ? p.iid().v : std::uint16_t{0},
                                  p.depth() >= 3 ? p.rid().v : std::uint16_t{0},
                                  p.depth() >= 4 ? p.riid().v : std::uint16_t{0}};
    const std::uint16_t bids[4] = {plan.base.oid().v, d >= 2 ? plan.base.iid().v : std::uint16_t{0},
                                   d >= 3 ? plan.base.rid().v : std::uint16_t{0}, 0};
    for (int k = 0; k < d; ++k)
        if (ids[k] != bids[k]) return fail(Errc::invalid_content);
    for (int k = d; k < p.depth(); ++k) {
        if (k > d) out.push_back('/');
        append_unsigned(out, ids[k]);
    }
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

void NameResolver::set_base(std::string_view bn) {
    bn_.assign(bn);
    depth_ = 0;
    fast_ = bn.empty();
    if (bn.empty() || bn.back() != '/') return;
    dm::Path p;
    if (bn.size() == 1) {
        fast_ = true;
        return;
    }
    if (!parse_path(bn.substr(0, bn.size() - 1), p) || p.depth() == 4) return;
    depth_ = p.depth();
    ids_[0] = p.oid().v;
    if (depth_ >= 2) ids_[1] = p.iid().v;
    if (depth_ >= 3) ids_[2] = p.rid().v;
    fast_ = true;
}

Result<dm::Path> NameResolver::resolve(std::string_view n) const {
    if (!fast_) return senml_resolve(bn_, n);
    if (bn_.empty()) {
        dm::Path p;
        if (!parse_path(n, p) || p.depth() == 0) return fail(Errc::malformed);
        return p;
    }
    // bn ends with '/': n is one or more '/'-separated ids.
    std::uint16_t ids[4] = {ids_[0], ids_[1], ids_[2], ids_[3]};
    int depth = depth_;
    std::size_t i = 0;
    while (true) {
        if (depth == 4) return fail(Errc::malformed);
        const std::size_t start = i;
        std::uint32_t v = 0;
        while (i < n.size() && n[i] >= '0' && n[i] <= '9') {
            v = v * 10 + static_cast<std::uint32_t>(n[i] - '0');
            if (v > 0xFFFF) return fail(Errc::malformed);
            ++i;
        }
        if (i == start || (i - start > 1 && n[start] == '0')) return fail(Errc::malformed);
        ids[depth++] = static_cast<std::uint16_t>(v);
        if (i == n.size()) break;
        if (n[i] != '/' || i + 1 == n.size()) return fail(Errc::malformed);
        ++i;
    }
    if (depth >= 2 && ids[1] == 0xFFFF) return fail(Errc::malformed);
    switch (depth) {
    case 1:
        return dm::Path(Oid{ids[0]});
    case 2:
        return dm::Path(Oid{ids[0]}, Iid{ids[1]});
    case 3:
        return dm::Path(Oid{ids[0]}, Iid{ids[1]}, Rid{ids[2]});
    default:
        return dm::Path(Oid{ids[0]}, Iid{ids[1]}, Rid{ids[2]}, Riid{ids[3]});
    }
}

} // namespace lwm2m::format::detail
