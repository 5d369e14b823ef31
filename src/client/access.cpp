#include <lwm2m/client/access.hpp>

#include <string>

namespace lwm2m::client {

std::string_view to_string(Operation op) noexcept {
    switch (op) {
    case Operation::read:
        return "read";
    case Operation::write:
        return "write";
    case Operation::create:
        return "create";
    case Operation::delete_:
        return "delete";
    case Operation::discover:
        return "discover";
    case Operation::observe:
        return "observe";
    case Operation::write_attributes:
        return "write-attributes";
    case Operation::execute:
        return "execute";
    }
    return "?";
}

std::string_view to_string(Actor::Kind k) noexcept {
    switch (k) {
    case Actor::Kind::bootstrap_server:
        return "bootstrap-server";
    case Actor::Kind::dm_server:
        return "dm-server";
    case Actor::Kind::factory:
        return "factory";
    case Actor::Kind::local_app:
        return "local-app";
    }
    return "?";
}

std::string path_text(const dm::Path& p) {
    if (p.is_root()) return "/";
    std::string s;
    const std::uint16_t ids[4] = {p.oid().v, p.depth() >= 2 ? p.iid().v : std::uint16_t{0},
                                  p.depth() >= 3 ? p.rid().v : std::uint16_t{0},
                                  p.depth() >= 4 ? p.riid().v : std::uint16_t{0}};
    for (int k = 0; k < p.depth(); ++k) {
        s += '/';
        s += std::to_string(ids[k]);
    }
    return s;
}

namespace {

constexpr std::uint16_t security_oid = 0;
constexpr std::uint16_t server_oid = 1;
constexpr std::uint16_t acl_oid = 2;
constexpr std::uint16_t device_oid = 3;

Decision bootstrap_server(Operation op, const dm::Path& path) {
    const int d = path.depth();
    switch (op) {
    case Operation::read:
        // TS 1.1 §5.2.7.1 Bootstrap-Read: only Server (1) and Access Control (2) objects; the
        // Security Object is never readable by any server (E.1 Resource 5 "MUST NOT be readable").
        if (d == 0) return Decision::deny(Status::bad_request);
        if (path.oid().v == server_oid || path.oid().v == acl_oid) return Decision::allow();
        return Decision::deny(Status::unauthorized);
    case Operation::write:
        // TS 1.1 §5.2.7.4 Bootstrap-Write: /o, /o/i, /o/i/r (resource instances with 1.1 formats).
        if (d == 0) return Decision::deny(Status::bad_request);
        return Decision::allow();
    case Operation::delete_:
        // TS 1.1 §5.2.7.5 Bootstrap-Delete: "/", /o, /o/i. The Device Object instance is never
        // affected; deleting it explicitly is a bad request.
        if (d > 2) return Decision::deny(Status::bad_request);
        if (d >= 1 && path.oid().v == device_oid) return Decision::deny(Status::bad_request);
        return Decision::allow();
    case Operation::discover:
        // TS 1.1 §5.2.7.3 Bootstrap-Discover: "/" or /o only.
        if (d > 1) return Decision::deny(Status::bad_request);
        return Decision::allow();
    case Operation::create:
    case Operation::observe:
    case Operation::write_attributes:
    case Operation::execute:
        // Not operations of the Bootstrap interface.
        return Decision::deny(Status::method_not_allowed);
    }
    return Decision::deny(Status::method_not_allowed);
}

Decision dm_server(Operation op, const dm::Path& path) {
    const int d = path.depth();
    // E.1: Object 0 "MUST NOT be accessible by any other LwM2M Server".
    if (d >= 1 && path.oid().v == security_oid) return Decision::deny(Status::unauthorized);
    switch (op) {
    case Operation::read:
    case Operation::observe:
    case Operation::write_attributes:
    case Operation::discover:
        if (d == 0) return Decision::deny(Status::method_not_allowed);
        return Decision::allow();
    case Operation::write:
        if (d < 2) return Decision::deny(Status::method_not_allowed);
        return Decision::allow();
    case Operation::execute:
        if (d != 3) return Decision::deny(Status::method_not_allowed);
        return Decision::allow();
    case Operation::create:
        // Create targets an object (TS 1.1 §5.4.4); Server Object accounts are created by the
        // bootstrap or factory source only.
        if (d != 1) return Decision::deny(Status::method_not_allowed);
        if (path.oid().v == server_oid) return Decision::deny(Status::method_not_allowed);
        return Decision::allow();
    case Operation::delete_:
        // DM Delete targets an instance (1.1 also a resource instance); never the own account.
        if (d != 2 && d != 4) return Decision::deny(Status::method_not_allowed);
        if (path.oid().v == server_oid || path.oid().v == device_oid)
            return Decision::deny(Status::method_not_allowed);
        return Decision::allow();
    }
    return Decision::deny(Status::method_not_allowed);
}

Decision factory(Operation op, const dm::Path& path) {
    const int d = path.depth();
    switch (op) {
    case Operation::write:
        if (d == 0) return Decision::deny(Status::bad_request);
        return Decision::allow();
    case Operation::create:
        if (d != 1) return Decision::deny(Status::bad_request);
        return Decision::allow();
    case Operation::delete_:
        if (d > 2) return Decision::deny(Status::bad_request);
        if (d >= 1 && path.oid().v == device_oid) return Decision::deny(Status::bad_request);
        return Decision::allow();
    case Operation::read:
        // The factory source provisions; it has no reason to read keys back.
        if (d == 0 || path.oid().v == security_oid) return Decision::deny(Status::unauthorized);
        return Decision::allow();
    case Operation::discover:
    case Operation::observe:
    case Operation::write_attributes:
    case Operation::execute:
        return Decision::deny(Status::method_not_allowed);
    }
    return Decision::deny(Status::method_not_allowed);
}

Decision local_app(Operation op, const dm::Path& path) {
    const int d = path.depth();
    const bool security = d >= 1 && path.oid().v == security_oid;
    const bool account = d >= 1 && (path.oid().v == security_oid || path.oid().v == server_oid);
    switch (op) {
    case Operation::read:
        if (d == 0) return Decision::deny(Status::method_not_allowed);
        return Decision::allow(); // needed to run DTLS
    case Operation::write:
    case Operation::create:
    case Operation::delete_:
        // Accounts (Objects 0 and 1) change only through a bootstrap or the factory source.
        if (account || d == 0) return Decision::deny(Status::unauthorized);
        return Decision::allow();
    case Operation::discover:
    case Operation::observe:
    case Operation::write_attributes:
        return Decision::deny(Status::method_not_allowed);
    case Operation::execute:
        if (security || d != 3) return Decision::deny(Status::method_not_allowed);
        return Decision::allow();
    }
    return Decision::deny(Status::method_not_allowed);
}

} // namespace

Decision access(const Actor& actor, Operation op, const dm::Path& path) noexcept {
    switch (actor.kind) {
    case Actor::Kind::bootstrap_server:
        return bootstrap_server(op, path);
    case Actor::Kind::dm_server:
        // Short Server ID 0 and 65535 never identify a server (E.1 Resource 10).
        if (actor.ssid.v == 0 || actor.ssid.v == 0xffff)
            return Decision::deny(Status::unauthorized);
        return dm_server(op, path);
    case Actor::Kind::factory:
        return factory(op, path);
    case Actor::Kind::local_app:
        return local_app(op, path);
    }
    return Decision::deny(Status::unauthorized);
}

Result<void> check_access(const Actor& actor, Operation op, const dm::Path& path) {
    const Decision d = access(actor, op, path);
    if (d.allowed) return ok();
    return fail(d.status);
}

std::vector<dm::Path> object_list_for_register(std::span<const ObjectHandler* const> objects) {
    std::vector<dm::Path> out;
    for (const ObjectHandler* o : objects) {
        if (o == nullptr) continue;
        const Oid oid = o->oid();
        if (oid.v == security_oid) continue; // TS 1.1 §6.2.1: Object 0 is not registered
        const auto iids = o->instances();
        if (iids.empty()) {
            out.emplace_back(oid);
            continue;
        }
        for (const Iid i : iids)
            out.emplace_back(oid, i);
    }
    return out;
}

} // namespace lwm2m::client
