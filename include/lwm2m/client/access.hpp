// The client's access policy: ONE pure function of (actor, operation, path), the table of
// docs/security-object.md "Who may touch Object 0" plus the interface rules of LwM2M TS 1.1
// §5.2.7 (Bootstrap) and §5.4 (Device Management). Object handlers call it first; data-dependent
// checks (a DM server may only touch its own Server Object instance) stay in the handlers.
//
// Object 0 (Security):
//   | actor            | read | write | create | delete | discover | observe / write-attr / execute
//   | | bootstrap server | 4.01 | yes   | 4.05   | yes    | yes      | 4.05 | | DM server | 4.01
//   | 4.01  | 4.01   | 4.01   | 4.01     | 4.01                           | | factory source | 4.01
//   | yes   | yes    | yes    | 4.05     | 4.05                           | | local app        |
//   yes  | 4.01  | 4.01   | 4.01   | 4.05     | 4.05                           |
// Object 1 (Server): the bootstrap server may also read it (1.1 Bootstrap-Read); a DM server may
// not create or delete accounts (4.05); the local application reads but does not write it (4.01).
// Path shapes of the Bootstrap interface: Write /o, /o/i, /o/i/r (and /o/i/r/ri); Delete "/", /o,
// /o/i; Discover "/" and /o; Read (1.1) /1.. and /2.. only. Another shape: 4.00 Bad Request
// (TS 1.1 §8.2.x "Bad or unknown URI").
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <lwm2m/client/object.hpp>
#include <lwm2m/client/status.hpp>
#include <lwm2m/dm/path.hpp>

namespace lwm2m::client {

struct Decision {
    bool allowed = false;
    Status status = Status::unauthorized; ///< meaningful when !allowed

    static constexpr Decision allow() { return {true, Status::unauthorized}; }
    static constexpr Decision deny(Status s) { return {false, s}; }
    friend constexpr bool operator==(const Decision&, const Decision&) = default;
};

/// The policy. Pure: same inputs, same answer; no state, no I/O.
[[nodiscard]] Decision access(const Actor& actor, Operation op, const dm::Path& path) noexcept;

/// access() as a Result for handlers: ok() or the Status error.
[[nodiscard]] Result<void> check_access(const Actor& actor, Operation op, const dm::Path& path);

/// The object list of a Register / Update (TS 1.1 §5.3.1): one path per instance (or the bare
/// object when it has none) of every object, EXCEPT Object 0, which never leaves the client
/// (no "</0/..>" link). Objects are emitted in the order given.
[[nodiscard]] std::vector<dm::Path>
object_list_for_register(std::span<const ObjectHandler* const> objects);

} // namespace lwm2m::client
