#include "server/model.hpp"

#include <algorithm>

namespace lwm2m::server::detail {

std::optional<Ver> ver_of(std::string_view text) {
    auto v = parse_version(text);
    if (!v) return std::nullopt;
    return ver(v->first, v->second);
}

std::string ver_text(Ver v) {
    return std::to_string(v >> 8) + "." + std::to_string(v & 0xff);
}

ModelLibrary::ModelLibrary(const std::vector<dm::ObjectDef>& user, bool lenient,
                           std::size_t max_profiles)
    : lenient_(lenient)
    , max_profiles_(std::max<std::size_t>(max_profiles, 3)) {
    for (auto& def : dm::builtin_objects()) {
        const Ver v = ver_of(def.object_version).value_or(ver(1, 0));
        defs_[{def.id, v}] = std::move(def);
    }
    std::map<std::uint16_t, Ver> user_default; // non-core objects: 1.0, else the lowest given
    for (const auto& def : user) {
        const Ver v = ver_of(def.object_version).value_or(ver(1, 0));
        defs_[{def.id, v}] = def;
        auto [it, fresh] = user_default.try_emplace(def.id, v);
        if (!fresh && (v == ver(1, 0) || (it->second != ver(1, 0) && v < it->second)))
            it->second = v;
    }
    // TS 1.1.1 §7.2.3 / TS 1.2 §7.2.3: a core object without ver= is the version of the client's
    // LwM2M release; any other object without ver= is 1.0.
    const dm::Lwm2mVersion releases[] = {dm::Lwm2mVersion::v1_0, dm::Lwm2mVersion::v1_1,
                                         dm::Lwm2mVersion::v1_2};
    for (int r = 0; r < 3; ++r) {
        const auto builtin = dm::ObjectRegistry::builtin(releases[r]);
        for (const auto& [oid, def] : builtin.all())
            default_ver_[r][oid] = ver_of(def->object_version).value_or(ver(1, 0));
        for (const auto& [oid, v] : user_default)
            if (!default_ver_[r].count(oid)) default_ver_[r][oid] = v;
        auto reg = std::make_shared<dm::ObjectRegistry>();
        Profile p;
        for (const auto& [oid, v] : default_ver_[r]) {
            const dm::ObjectDef* def = find(oid, v);
            if (def == nullptr) continue;
            std::vector<std::uint16_t> extra;
            reg->add(decoding_def(*def, &extra));
            if (!extra.empty()) p.extended.emplace_back(oid, std::move(extra));
        }
        p.registry = std::move(reg);
        profiles_.push_back(std::move(p));
    }
}

const dm::ObjectDef* ModelLibrary::find(std::uint16_t oid, Ver v) const {
    auto it = defs_.find({oid, v});
    return it == defs_.end() ? nullptr : &it->second;
}

const dm::ObjectDef* ModelLibrary::nearest(std::uint16_t oid, Ver v) const {
    const dm::ObjectDef* best = nullptr;
    int best_d = 0;
    for (auto it = defs_.lower_bound({oid, 0}); it != defs_.end() && it->first.first == oid; ++it) {
        const int d = std::abs(int(it->first.second) - int(v)) * 2 + (it->first.second > v);
        if (best == nullptr || d < best_d) {
            best = &it->second;
            best_d = d;
        }
    }
    return best;
}

dm::ObjectDef ModelLibrary::decoding_def(const dm::ObjectDef& def,
                                         std::vector<std::uint16_t>* extra) const {
    if (!lenient_) return def;
    dm::ObjectDef out = def;
    // Newest versions first: a resource takes the definition of the newest version defining it.
    std::vector<const dm::ObjectDef*> others;
    for (auto it = defs_.lower_bound({def.id, 0}); it != defs_.end() && it->first.first == def.id;
         ++it)
        if (&it->second != &def) others.push_back(&it->second);
    std::reverse(others.begin(), others.end());
    for (const auto* o : others)
        for (const auto& r : o->resources)
            if (out.resource(r.id) == nullptr) {
                out.resources.push_back(r);
                std::sort(
                    out.resources.begin(), out.resources.end(),
                    [](const dm::ResourceDef& a, const dm::ResourceDef& b) { return a.id < b.id; });
                if (extra != nullptr) extra->push_back(r.id);
            }
    if (extra != nullptr) std::sort(extra->begin(), extra->end());
    return out;
}

std::uint32_t ModelLibrary::profile_for(dm::Lwm2mVersion v, const ObjectLinks& objects,
                                        Logger& log) {
    const int r = static_cast<int>(v);
    // The objects whose wanted version differs from the release default.
    std::vector<std::pair<std::uint16_t, Ver>> changes;
    for (const auto& l : objects.links) {
        if (!l.has_version) continue;
        const Ver want = ver(l.ver_major, l.ver_minor);
        auto d = default_ver_[r].find(l.oid);
        if (d != default_ver_[r].end() && d->second == want) continue;
        if (d == default_ver_[r].end() && find(l.oid, want) == nullptr) continue; // unknown object
        if (std::any_of(changes.begin(), changes.end(),
                        [&](const auto& c) { return c.first == l.oid; }))
            continue;
        changes.emplace_back(l.oid, want);
    }
    if (changes.empty()) return static_cast<std::uint32_t>(r);
    std::sort(changes.begin(), changes.end());
    std::string key(1, static_cast<char>('0' + r));
    for (const auto& [oid, want] : changes) {
        key += ',';
        key += std::to_string(oid);
        key += ':';
        key += ver_text(want);
    }
    if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;
    if (profiles_.size() >= max_profiles_) {
        if (!warned_full_ && log.enabled(LogLevel::warn))
            log.write(LogLevel::warn, "server",
                      "object model limit reached: clients with new object version combinations "
                      "are decoded with their LwM2M release's default objects");
        warned_full_ = true;
        return static_cast<std::uint32_t>(r);
    }
    Profile p;
    auto reg = std::make_shared<dm::ObjectRegistry>(*profiles_[r].registry);
    p.extended = profiles_[r].extended;
    for (const auto& change : changes) {
        const std::uint16_t oid = change.first; // (clang 14: no lambda capture of a binding)
        const Ver want = change.second;
        const dm::ObjectDef* def = find(oid, want);
        if (def == nullptr) {
            def = nearest(oid, want);
            if (def == nullptr) continue;
            p.substitutions.push_back("object " + std::to_string(oid) + " version " +
                                      ver_text(want) + " unknown, using " +
                                      def->object_version.str());
        }
        std::vector<std::uint16_t> extra;
        reg->add(decoding_def(*def, &extra));
        std::erase_if(p.extended, [&](const auto& e) { return e.first == oid; });
        if (!extra.empty()) p.extended.emplace_back(oid, std::move(extra));
    }
    p.registry = std::move(reg);
    const auto id = static_cast<std::uint32_t>(profiles_.size());
    profiles_.push_back(std::move(p));
    by_key_.emplace(std::move(key), id);
    return id;
}

} // namespace lwm2m::server::detail
