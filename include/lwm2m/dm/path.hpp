// LwM2M paths: "/", "/o", "/o/i", "/o/i/r", "/o/i/r/ri" (LwM2M TS Core 1.1 §7.2; 1.2 §6.2).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <lwm2m/base/ids.hpp>
#include <lwm2m/base/result.hpp>

namespace lwm2m::dm {

class Path {
public:
    enum class Level : std::uint8_t {
        root = 0,
        object = 1,
        instance = 2,
        resource = 3,
        resource_instance = 4
    };

    constexpr Path() = default; ///< the root path "/"
    constexpr explicit Path(Oid o)
        : ids_{o.v, 0, 0, 0}
        , depth_(1) {}
    constexpr Path(Oid o, Iid i)
        : ids_{o.v, i.v, 0, 0}
        , depth_(2) {}
    constexpr Path(Oid o, Iid i, Rid r)
        : ids_{o.v, i.v, r.v, 0}
        , depth_(3) {}
    constexpr Path(Oid o, Iid i, Rid r, Riid ri)
        : ids_{o.v, i.v, r.v, ri.v}
        , depth_(4) {}

    /// Parses "/3/0/1", "3/0/1", "/" or "". Each id is a decimal 0..65535 without sign or
    /// leading '+'; 65535 is rejected as an object instance id (TS: reserved, "no instance").
    /// Errors: dm::Errc::bad_path.
    static Result<Path> parse(std::string_view text);

    [[nodiscard]] constexpr Level level() const { return static_cast<Level>(depth_); }
    [[nodiscard]] constexpr int depth() const { return depth_; }
    [[nodiscard]] constexpr bool is_root() const { return depth_ == 0; }
    [[nodiscard]] constexpr Oid oid() const { return Oid{ids_[0]}; }    ///< precondition depth >= 1
    [[nodiscard]] constexpr Iid iid() const { return Iid{ids_[1]}; }    ///< precondition depth >= 2
    [[nodiscard]] constexpr Rid rid() const { return Rid{ids_[2]}; }    ///< precondition depth >= 3
    [[nodiscard]] constexpr Riid riid() const { return Riid{ids_[3]}; } ///< precondition depth == 4
    [[nodiscard]] constexpr bool has_instance() const { return depth_ >= 2; }
    [[nodiscard]] constexpr bool has_resource() const { return depth_ >= 3; }
    [[nodiscard]] constexpr bool has_resource_instance() const { return depth_ >= 4; }

    /// The path one level up (root stays root).
    [[nodiscard]] Path parent() const;
    /// This path extended by one id (precondition depth < 4).
    [[nodiscard]] Path child(std::uint16_t id) const;
    /// True when `other` is this path or below it ("/3" is a prefix of "/3/0/1").
    [[nodiscard]] bool is_prefix_of(const Path& other) const;
    /// "/3/0/1"; the root is "/".
    [[nodiscard]] std::string to_string() const;
    /// Appends the to_string() form to `out` (no temporary string).
    void append_to(std::string& out) const;

    friend constexpr bool operator==(const Path& a, const Path& b) {
        if (a.depth_ != b.depth_) return false;
        for (int k = 0; k < a.depth_; ++k)
            if (a.ids_[k] != b.ids_[k]) return false;
        return true;
    }
    /// Orders parents before children, then by ids (depth-first document order).
    friend std::strong_ordering operator<=>(const Path& a, const Path& b);

private:
    std::uint16_t ids_[4] = {0, 0, 0, 0};
    std::uint8_t depth_ = 0;
};

} // namespace lwm2m::dm
