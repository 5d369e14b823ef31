// Strong ids of the LwM2M data model (docs/architecture.md §4): never a bare uint16_t.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace lwm2m {

template <class Tag>
struct StrongId {
    std::uint16_t v = 0;
    constexpr StrongId() = default;
    constexpr explicit StrongId(std::uint16_t value)
        : v(value) {}
    friend constexpr bool operator==(StrongId, StrongId) = default;
    friend constexpr auto operator<=>(StrongId, StrongId) = default;
};

using Oid = StrongId<struct OidTag>;   ///< Object ID
using Iid = StrongId<struct IidTag>;   ///< Object Instance ID (65535 is reserved, TS Core §7.2)
using Rid = StrongId<struct RidTag>;   ///< Resource ID
using Riid = StrongId<struct RiidTag>; ///< Resource Instance ID

/// Short Server ID: 1..65534 identify a server (Object 0 resource 10 / Object 1 resource 0).
using ShortServerId = StrongId<struct SsidTag>;

} // namespace lwm2m

template <class Tag>
struct std::hash<lwm2m::StrongId<Tag>> {
    std::size_t operator()(lwm2m::StrongId<Tag> id) const noexcept { return id.v; }
};
