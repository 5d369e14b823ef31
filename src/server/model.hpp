// Object models of the server (private): the library of object definitions by (id, version),
// the default model of each LwM2M release, and the per-client models ("profiles") chosen from the
// client's ver= attributes (TS 1.1.1 §7.2.3 / TS 1.2 §7.2.3). Identical version combinations
// share one profile.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <lwm2m/base/log.hpp>
#include <lwm2m/dm/object_def.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/server/register_parser.hpp>

namespace lwm2m::server::detail {

/// major << 8 | minor.
using Ver = std::uint16_t;
[[nodiscard]] inline Ver ver(std::uint8_t major, std::uint8_t minor) {
    return static_cast<Ver>((major << 8) | minor);
}
[[nodiscard]] std::optional<Ver> ver_of(std::string_view text);
[[nodiscard]] std::string ver_text(Ver v);

/// A decoding model: a registry plus what lenient decoding added to it.
struct Profile {
    std::shared_ptr<const dm::ObjectRegistry> registry;
    /// Per object: resources the registered version does not define but a newer version of the
    /// object does (added to the definition in lenient mode, logged when a client uses them).
    std::vector<std::pair<std::uint16_t, std::vector<std::uint16_t>>> extended;
    /// Versions asked for that the library does not know, as "oid ver -> used" texts (logged).
    std::vector<std::string> substitutions;
};

class ModelLibrary {
public:
    ModelLibrary(const std::vector<dm::ObjectDef>& user_objects, bool lenient,
                 std::size_t max_profiles);

    /// The profile id for a client of version `v` listing `objects`: 0..2 are the releases'
    /// defaults; others are shared by every client with the same version choices.
    [[nodiscard]] std::uint32_t profile_for(dm::Lwm2mVersion v, const ObjectLinks& objects,
                                            Logger& log);
    [[nodiscard]] const Profile& profile(std::uint32_t id) const { return profiles_[id]; }
    [[nodiscard]] std::size_t profile_count() const { return profiles_.size(); }

private:
    [[nodiscard]] const dm::ObjectDef* find(std::uint16_t oid, Ver v) const;
    [[nodiscard]] const dm::ObjectDef* nearest(std::uint16_t oid, Ver v) const;
    /// In lenient mode: `def` plus the resources of the object's other versions it lacks.
    [[nodiscard]] dm::ObjectDef decoding_def(const dm::ObjectDef& def,
                                             std::vector<std::uint16_t>* extra) const;

    bool lenient_;
    std::size_t max_profiles_;
    std::map<std::pair<std::uint16_t, Ver>, dm::ObjectDef> defs_;
    /// The definition each release uses for an object without ver= (by oid), per release.
    std::map<std::uint16_t, Ver> default_ver_[3];
    std::vector<Profile> profiles_;
    std::unordered_map<std::string, std::uint32_t> by_key_;
    bool warned_full_ = false;
};

} // namespace lwm2m::server::detail
