// The Access Control Object (Object 2) on the client, and the access decisions it makes for the
// engine between several DM servers (LwM2M TS 1.1 §7.3.2 "Access Control" and Appendix E.3; TS 1.2
// §7.3.2; the OMA definitions 1.0 and 1.1 from dm::builtin_object).
//
// One instance per object instance: Object ID (0) and Object Instance ID (1) name the target
// (Object Instance ID 65535 = the object itself, which carries the Create right), ACL (2) holds the
// rights per server (Resource Instance ID = Short Server ID, 0 = the default for servers without
// an entry; bits R 1 (Read, Observe, Discover, Write-Attributes), W 2, E 4, D 8, C 16), Access
// Control Owner (3) the server that manages the instance (65535: only the Bootstrap-Server).
//
// Rights of server S on a target (TS 1.1 §7.3.2):
//   1. no Access Control instance for the target: no right (the engine only asks with more than
//      one DM server account; with one, that server has full rights and this object is not asked);
//   2. an ACL entry for S: those rights;
//   3. else S is the Access Control Owner: full rights;
//   4. else the default entry (Resource Instance 0): its rights; else none.
// check() maps an operation to its right: Read/Observe/Discover/Write-Attributes R, Write W,
// Execute E, Delete D, Create C on the object-level instance (Object Instance ID 65535). On a whole
// object, Read/Observe/Discover/Write-Attributes are allowed when S has R on at least one instance
// of it (the engine then keeps only those: check() with /oid/iid). Denials are 4.01.
// Object 1 (Server): an Access Control instance applies when one exists; without one the Server
// Object's own rule (a server reaches only its own account) decides. Object 0 is never reachable.
// Object 2 itself is not governed by Access Control instances: every DM server may read, observe
// and discover it; only the instance's owner may write it (ACL and Owner; Object ID and Object
// Instance ID are read-only to DM servers); a DM server never creates or deletes Access Control
// instances (4.01): the client creates one when a server creates an object instance (owner = the
// creator) and removes it with the instance. The Bootstrap-Server writes, reads (1.1
// Bootstrap-Read), discovers and deletes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/log.hpp>
#include <lwm2m/client/engine_hooks.hpp>
#include <lwm2m/client/object.hpp>
#include <lwm2m/dm/object_def.hpp>

namespace lwm2m::client {

namespace acl_rid {
inline constexpr std::uint16_t object_id = 0, object_instance_id = 1, acl = 2,
                               access_control_owner = 3;
}

/// The ACL bits (E.3 Resource 2).
namespace acl_right {
inline constexpr std::uint16_t read = 1, write = 2, execute = 4, delete_ = 8, create = 16, all = 31;
}

/// Object Instance ID 65535 in an Access Control instance: the object level (Create rights);
/// Access Control Owner 65535: managed by the Bootstrap-Server only (E.3).
inline constexpr std::uint16_t acl_max_id = 0xffff;
inline constexpr std::size_t max_acl_instances = 512;
inline constexpr std::size_t max_acl_entries = 64;

struct AclInstance {
    std::optional<std::uint16_t> object_id;          ///< 0: 1..65534
    std::optional<std::uint16_t> object_instance_id; ///< 1: 0..65535 (65535 = object level)
    std::map<std::uint16_t, std::uint16_t> acl;      ///< 2: SSID (0 = default) -> rights
    std::optional<std::uint16_t> owner;              ///< 3: 0..65535
    friend bool operator==(const AclInstance&, const AclInstance&) = default;
};

/// The rights of `ssid` from one Access Control instance (steps 2-4 above).
[[nodiscard]] std::uint16_t acl_rights(const AclInstance& inst, std::uint16_t ssid) noexcept;

class AccessControlObject final : public ObjectHandler, public AccessController {
public:
    enum class Version : std::uint8_t { v1_0, v1_1 };

    /// Version: the default is the one LwM2M 1.1 lists (1.0, ACL values 16-bit; 1.1: 0..31).
    explicit AccessControlObject(Version version = Version::v1_0,
                                 Logger& log = NullLogger::instance());

    [[nodiscard]] const dm::ObjectDef& definition() const { return *def_; }
    /// The definition as shared, immutable data (for dm::ObjectRegistry::add without a copy).
    [[nodiscard]] const std::shared_ptr<const dm::ObjectDef>& shared_definition() const {
        return def_;
    }
    void set_change_listener(ChangeListener* listener) { listener_ = listener; }

    // -- AccessController --
    [[nodiscard]] Decision check(ShortServerId ssid, Operation op,
                                 const dm::Path& path) const override;
    /// Creates (or takes over a stale) Access Control instance for /oid/iid with the creator as
    /// owner, which gives it full rights (step 3). Ignored for Objects 0 and 2; with
    /// max_acl_instances reached nothing is created (logged): only the Bootstrap-Server can then
    /// grant access to the new instance.
    void on_instance_created(Oid oid, Iid iid, ShortServerId creator) override;
    void on_instance_deleted(Oid oid, Iid iid) override;

    // -- local API --
    /// The rights of `ssid` on /oid/iid, or nullopt when no Access Control instance covers it.
    [[nodiscard]] std::optional<std::uint16_t> rights(ShortServerId ssid, Oid oid, Iid iid) const;
    /// The instance whose target is /oid/iid (iid 65535: the object level).
    [[nodiscard]] const AclInstance* find_for(Oid oid, Iid iid) const;
    [[nodiscard]] const std::map<std::uint16_t, AclInstance>& all() const { return instances_; }
    /// Adds an instance (factory configuration). Errors: Status::bad_request (invalid values,
    /// missing 0/1/3, a second instance for the same target), Status::request_entity_too_large.
    Result<Iid> add(const AclInstance& inst, std::optional<Iid> iid = std::nullopt);
    /// Replaces the whole state (load from storage; no validation beyond the types).
    void replace_all(std::map<std::uint16_t, AclInstance> instances) {
        instances_ = std::move(instances);
    }
    /// Removes the ACL entries of a server whose account was deleted (ownership stays).
    void remove_server_entries(ShortServerId ssid);
    /// Bootstrap-Finish rules: every instance has Object ID, Object Instance ID and Owner, and no
    /// two instances name the same target. Appends one reason per problem.
    void check_consistency(std::vector<std::string>& reasons) const;

    // -- ObjectHandler --
    [[nodiscard]] Oid oid() const override { return Oid{2}; }
    [[nodiscard]] std::vector<Iid> instances() const override;
    Result<dm::Content> read(const Actor& actor, const dm::Path& path) const override;
    Result<void> write(const Actor& actor, const dm::Path& path, const dm::Content& content,
                       WriteMode mode) override;
    /// Factory / local creation only; DM servers: 4.01 (see above).
    Result<Iid> create(const Actor& actor, std::optional<Iid> iid,
                       const dm::Instance& content) override;
    Result<void> delete_(const Actor& actor, const dm::Path& path) override;
    Result<std::vector<LinkInfo>> discover(const Actor& actor, const dm::Path& path) const override;
    /// No executable resource: 4.05 (4.04 for an undefined one).
    Result<void> execute(const Actor& actor, const dm::Path& path, std::string_view args) override;
    [[nodiscard]] std::string_view version() const override { return def_->object_version; }

private:
    Result<void> apply(AclInstance& inst, const dm::Resource& r, bool dm_actor, bool partial) const;
    Result<void> write_checked(const Actor& actor, const dm::Path& path, const dm::Content& content,
                               WriteMode mode, std::map<std::uint16_t, AclInstance>& next) const;
    [[nodiscard]] Result<void> check_unique(const std::map<std::uint16_t, AclInstance>& m) const;
    [[nodiscard]] dm::Instance to_dm(std::uint16_t iid, const AclInstance& inst) const;
    void changed(const dm::Path& p) const {
        if (listener_ != nullptr) listener_->on_changed(p);
    }

    std::shared_ptr<const dm::ObjectDef> def_; // never null
    std::uint16_t max_acl_value_;
    Logger* log_;
    ChangeListener* listener_ = nullptr;
    std::map<std::uint16_t, AclInstance> instances_;
};

} // namespace lwm2m::client
