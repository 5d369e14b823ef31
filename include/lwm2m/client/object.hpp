// The client-side object handler interface (docs/architecture.md §4): an object reads and writes
// dm::Values and never sees TLV / SenML bytes; the engine decodes a request with the object
// registry, checks client::access() and calls the handler with an explicit Actor. Objects 0 and 1
// implement it now (security_object.hpp, server_object.hpp); Objects 2-7 and user objects follow.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/ids.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/client/status.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/path.hpp>

namespace lwm2m::client {

/// Who performs an operation. The access policy (access.hpp) is a function of this.
struct Actor {
    enum class Kind : std::uint8_t {
        bootstrap_server, ///< Bootstrap-Write/Delete/Discover/Read/Finish (TS 1.1 §5.2.7)
        dm_server,        ///< a device-management server, identified by its Short Server ID
        factory,   ///< local configuration source: factory file, smartcard (TS 1.1 §5.2.3-4)
        local_app, ///< the device application through the local API (e.g. DTLS setup)
    };
    Kind kind = Kind::local_app;
    ShortServerId ssid{}; ///< only for dm_server

    static constexpr Actor bootstrap_server() { return {Kind::bootstrap_server, ShortServerId{}}; }
    static constexpr Actor dm_server(ShortServerId id) { return {Kind::dm_server, id}; }
    static constexpr Actor factory() { return {Kind::factory, ShortServerId{}}; }
    static constexpr Actor local_app() { return {Kind::local_app, ShortServerId{}}; }
    /// True for actors on the far side of a network connection (their reads are redacted).
    [[nodiscard]] constexpr bool is_server() const {
        return kind == Kind::bootstrap_server || kind == Kind::dm_server;
    }
    friend constexpr bool operator==(const Actor&, const Actor&) = default;
};

/// The operations of the Device Management and Bootstrap interfaces (TS 1.1 §5.2.7, §5.4).
enum class Operation : std::uint8_t {
    read,
    write,
    create,
    delete_,
    discover,
    observe,
    write_attributes,
    execute,
};
inline constexpr Operation all_operations[] = {
    Operation::read,     Operation::write,   Operation::create,           Operation::delete_,
    Operation::discover, Operation::observe, Operation::write_attributes, Operation::execute,
};
[[nodiscard]] std::string_view to_string(Operation op) noexcept;
[[nodiscard]] std::string_view to_string(Actor::Kind k) noexcept;

/// Write (PUT) replaces the target; Partial Update (POST / iPATCH) merges into it (TS 1.1 §5.4.3).
enum class WriteMode : std::uint8_t { replace, partial };

/// One entry of a Discover answer (TS 1.1 §5.2.7.3 / §5.4.2), before CoRE Link encoding.
struct LinkInfo {
    dm::Path path;
    std::optional<std::uint16_t> ssid; ///< Bootstrap-Discover: the instance's Short Server ID
    std::optional<std::string> uri;    ///< Bootstrap-Discover on Object 0: the server URI
    std::optional<std::string> ver;    ///< object version when not 1.0 ("1.1")
    std::optional<std::uint16_t> dim;  ///< multiple resources: number of instances
    friend bool operator==(const LinkInfo&, const LinkInfo&) = default;
};

/// How an object (or the application) tells the client engine that values changed, so that
/// observations and Send reports follow (LwM2M TS 1.1 §6.4, RFC 7641 §4.2). The engine implements
/// it; objects receive a pointer from their owner and call it after every change that did not come
/// from a server's Write (sensor readings, state machines, local API writes). Calls are cheap: the
/// engine only marks the path and evaluates the observation attributes at its next step.
class ChangeListener {
public:
    virtual ~ChangeListener() = default;
    /// `path` is the most specific path that changed (/o/i/r or /o/i/r/ri; /o/i when an instance
    /// was created or deleted, /o when the instance set changed).
    virtual void on_changed(const dm::Path& path) = 0;
};

class ObjectHandler {
public:
    virtual ~ObjectHandler() = default;

    [[nodiscard]] virtual Oid oid() const = 0;
    /// Existing instance ids in ascending order.
    [[nodiscard]] virtual std::vector<Iid> instances() const = 0;

    /// Read /o, /o/i, /o/i/r or /o/i/r/ri. Errors: Status (4.01, 4.04, 4.05).
    [[nodiscard]] virtual Result<dm::Content> read(const Actor& actor,
                                                   const dm::Path& path) const = 0;
    /// Write `content` (whose path equals `path`) in the given mode. All or nothing: on error the
    /// object is unchanged. Errors: Status (4.00 invalid value, 4.01, 4.04, 4.05).
    virtual Result<void> write(const Actor& actor, const dm::Path& path, const dm::Content& content,
                               WriteMode mode) = 0;
    /// Create an instance (id chosen by the client when absent). Errors: Status.
    virtual Result<Iid> create(const Actor& actor, std::optional<Iid> iid,
                               const dm::Instance& content) = 0;
    /// Delete "/", /o or /o/i (Bootstrap-Delete) or /o/i (DM Delete). Errors: Status.
    virtual Result<void> delete_(const Actor& actor, const dm::Path& path) = 0;
    /// Discover below `path`. Errors: Status.
    [[nodiscard]] virtual Result<std::vector<LinkInfo>> discover(const Actor& actor,
                                                                 const dm::Path& path) const = 0;
    /// Execute /o/i/r with the (already decoded) argument text. Errors: Status.
    virtual Result<void> execute(const Actor& actor, const dm::Path& path,
                                 std::string_view args) = 0;
    /// The object's version ("1.0", "1.1", ...) as in its definition; the engine puts `ver=` in
    /// the Register object links when it differs from the enabler's default (TS 1.1 §6.2.1.1,
    /// TS 1.2 §6.2.1.1).
    [[nodiscard]] virtual std::string_view version() const { return "1.0"; }
};

/// "/0/1/5" (a local helper that does not depend on the dm library's formatting).
[[nodiscard]] std::string path_text(const dm::Path& p);

} // namespace lwm2m::client
