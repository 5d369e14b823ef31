// The Firmware Update Object (Object 5) on the client (LwM2M TS 1.1 Appendix E.6 and its state
// diagram E.6.1; TS 1.2 E.6; the OMA definitions 1.0, 1.1 and 1.2 from dm::builtin_object).
//
// State machine (State /5/0/3, Update Result /5/0/5; every change goes to the ChangeListener, and
// Last State Change Time /5/0/12 (1.1+) is stamped from the WallClock before State changes):
//
//   Idle --Write Package (push)----------> Downloading --package stored + integrity ok-->
//   Downloaded Idle --Write Package URI (pull)------> Downloading --download complete +
//   ok---------> Downloaded Downloading --storage/download error--> Idle, Update Result 2, 3, 4, 5,
//   6, 7 or 9 Downloaded --Execute Update-----------> Updating --app: success--------------------->
//   Idle, 1
//                                           Updating --app: failed (package kept)--------->
//                                           Downloaded, 8 Updating --app: integrity / storage
//                                           failure---> Idle, 5/2/3/6
//   Downloaded --Execute Update, user defers (1.1+)--------------------------------------->
//   Downloaded, 11 Downloading / Downloaded --Execute Cancel
//   (1.1+)--------------------------------------> Idle, 10 Idle / Downloading / Downloaded --Write
//   empty Package ('' or one '\0' byte) or empty URI--> Idle, 0 Downloaded (1.2, Automatic Upgrade
//   at Download = true): Updating right after the download.
//
// Refused operations (E.6.1: "any operation that is not a trigger in the current state SHOULD be
// rejected"): Write Package / Package URI while Updating: 4.05; a non-empty Package or URI while
// Downloading or Downloaded: 4.00; Execute Update outside Downloaded: 4.05 (resource 2: "only
// executable when State is Downloaded"); Execute Cancel in Idle or Updating: 4.05 (E.6 resource
// 10). Errors of the process itself are reported only through Update Result (E.6.1): a Write of a
// Package URI with an unsupported scheme answers 2.04 and sets Update Result 9, a malformed one 7.
//
// Push: the engine reassembles the Block1 transfer and writes the whole package at once; the
// object hands it to the application (open, one chunk, finish = the integrity check hook) without
// copying it. Pull: the object asks the engine's PackageFetcher to download the URI and receives
// the chunks as the DownloadSink; without a fetcher the object is push-only (Delivery Method 1).
// Apply: Execute Update calls FirmwareUpdateHandler::apply_package(), which only starts the update
// (the Execute response must go out first); the application reports the outcome with
// finish_update(), possibly after a reboot: at start it calls restore() with what it persisted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/client/engine_hooks.hpp>
#include <lwm2m/client/objects/typed_object.hpp>

namespace lwm2m::client {

namespace firmware_rid {
inline constexpr std::uint16_t package = 0, package_uri = 1, update = 2, state = 3,
                               update_result = 5, pkg_name = 6, pkg_version = 7,
                               protocol_support = 8, delivery_method = 9, cancel = 10,
                               severity = 11, last_state_change_time = 12,
                               maximum_defer_period = 13, automatic_upgrade = 14;
}

/// Object 5 Resource 3 (E.6).
enum class FirmwareState : std::uint8_t { idle = 0, downloading = 1, downloaded = 2, updating = 3 };

/// Object 5 Resource 5 (E.6; 10 and 11 from object version 1.1).
enum class UpdateResult : std::uint8_t {
    initial = 0,
    success = 1,
    not_enough_flash = 2,
    out_of_ram = 3,
    connection_lost = 4,
    integrity_check_failure = 5,
    unsupported_package_type = 6,
    invalid_uri = 7,
    update_failed = 8,
    unsupported_protocol = 9,
    cancelled = 10,
    deferred = 11,
};

/// Object 5 Resource 8 values (E.6).
enum class FirmwareProtocol : std::uint8_t {
    coap = 0,
    coaps = 1,
    http = 2,
    https = 3,
    coap_tcp = 4,
    coaps_tcp = 5
};

/// Object 5 Resource 9 values (E.6).
enum class DeliveryMethod : std::uint8_t { pull = 0, push = 1, both = 2 };

/// The Update Result a download error means (engine_hooks.hpp DownloadError); nullopt for
/// `cancelled` (no change).
[[nodiscard]] std::optional<UpdateResult> update_result_of(DownloadError e) noexcept;

/// The application side of firmware update: stores a package and applies it. Each step returns
/// nullopt on success or the Update Result that describes the failure (storage steps: 2 not enough
/// flash, 3 out of RAM, 5 integrity check failure, 6 unsupported package type; a value that is not
/// a failure of that kind is taken as 8 for apply_package and 5 for the storage steps).
class FirmwareUpdateHandler {
public:
    virtual ~FirmwareUpdateHandler() = default;
    /// A new package begins; `total` is its size when known (push: always; pull: Size2).
    virtual std::optional<UpdateResult> open_package(std::optional<std::size_t> total) = 0;
    /// The next bytes, offsets contiguous from 0.
    virtual std::optional<UpdateResult> write_package(std::size_t offset, BytesView data) = 0;
    /// Every byte arrived: check the package (signature, hash, type): the integrity hook.
    virtual std::optional<UpdateResult> finish_package() = 0;
    /// Forget the stored or partial package (reset, cancel, failure). May be called when nothing
    /// is stored.
    virtual void discard_package() = 0;
    /// Start applying the stored package and return at once (the Execute response goes out after
    /// this returns; reboot later). nullopt: started, report with finish_update();
    /// UpdateResult::deferred (object 1.1+): the user deferred it (start_deferred_update() when
    /// accepted); UpdateResult::success: applied synchronously; a failure: see the class comment.
    virtual std::optional<UpdateResult> apply_package() = 0;
};

class FirmwareUpdateObject final : public TypedObjectFacade, public DownloadSink {
public:
    enum class Version : std::uint8_t { v1_0, v1_1, v1_2 };
    struct Options {
        /// The object version (the default is the one LwM2M 1.1 lists).
        Version version = Version::v1_0;
        /// Pull support (Package URI); nullptr: push only.
        PackageFetcher* fetcher = nullptr;
        /// Resource 8 (with a fetcher): the URI schemes the fetcher handles.
        std::vector<FirmwareProtocol> protocols{FirmwareProtocol::coap, FirmwareProtocol::coaps};
        /// Resource 12 (1.1+): Last State Change Time; without a clock the resource is absent.
        const WallClock* clock = nullptr;
    };

    explicit FirmwareUpdateObject(FirmwareUpdateHandler& app, Logger& log = NullLogger::instance())
        : FirmwareUpdateObject(app, Options{}, log) {}
    FirmwareUpdateObject(FirmwareUpdateHandler& app, Options options,
                         Logger& log = NullLogger::instance());
    /// Cancels a running download (the fetcher must not call this sink afterwards).
    ~FirmwareUpdateObject() override;
    FirmwareUpdateObject(const FirmwareUpdateObject&) = delete;
    FirmwareUpdateObject& operator=(const FirmwareUpdateObject&) = delete;

    [[nodiscard]] FirmwareState state() const { return state_; }
    [[nodiscard]] UpdateResult update_result() const { return result_; }
    [[nodiscard]] const std::string& package_uri() const { return uri_; }
    [[nodiscard]] DeliveryMethod delivery_method() const;
    /// Resources 11, 13, 14 as last written (defaults 1, 0, false).
    [[nodiscard]] std::int64_t severity() const { return severity_; }
    [[nodiscard]] std::uint64_t maximum_defer_period() const { return max_defer_; }
    [[nodiscard]] bool automatic_upgrade() const { return auto_upgrade_; }

    /// Resources 6 and 7 (PkgName, PkgVersion, 0-255 bytes); nullopt removes the value.
    /// Errors: Status::bad_request (too long, not UTF-8).
    Result<void> set_package_info(std::optional<std::string> name,
                                  std::optional<std::string> version);
    /// The update started by apply_package() ended. `outcome`: success (-> Idle, 1),
    /// update_failed (package kept: -> Downloaded, 8), integrity_check_failure,
    /// not_enough_flash, out_of_ram or unsupported_package_type (package discarded: -> Idle).
    /// Errors: Status::method_not_allowed (not Updating), Status::bad_request (another value).
    Result<void> finish_update(UpdateResult outcome);
    /// The user accepted a deferred update (Downloaded, Update Result 11): -> Updating; report the
    /// end with finish_update(). Errors: Status::method_not_allowed.
    Result<void> start_deferred_update();
    /// At start, the state the previous run persisted: idle with any result, downloaded (the
    /// package is still stored) with initial, deferred or update_failed, updating (the update runs
    /// or ran across the reboot: report with finish_update()). A download cannot survive a restart:
    /// downloading is restored as Idle with Update Result 4 (connection lost).
    /// Errors: Status::bad_request (a combination that is not a state of E.6.1 or a result the
    /// object version does not define), Status::method_not_allowed (a transfer is running).
    Result<void> restore(FirmwareState state, UpdateResult result, std::string package_uri = {});

    // DownloadSink (the engine's PackageFetcher reports here).
    void on_download_chunk(std::size_t offset, BytesView data,
                           std::optional<std::size_t> total) override;
    void on_download_complete() override;
    void on_download_failed(DownloadError error) override;

    Result<void> write(const Actor& actor, const dm::Path& path, const dm::Content& content,
                       WriteMode mode) override;

private:
    void set_state(FirmwareState s, UpdateResult r);
    Result<void> on_package(BytesView data);
    Result<void> on_uri(const std::string& uri);
    Result<void> on_update();
    Result<void> on_cancel();
    void reset_machine();
    void fail_transfer(UpdateResult r);
    void downloaded();
    [[nodiscard]] UpdateResult storage_failure(UpdateResult r) const;
    [[nodiscard]] bool is_reset_package(BytesView data) const;

    FirmwareUpdateHandler* app_;
    Options options_;
    FirmwareState state_ = FirmwareState::idle;
    UpdateResult result_ = UpdateResult::initial;
    std::string uri_;
    std::int64_t severity_ = 1;   ///< E.6 Resource 11: "Default value is 1"
    std::uint64_t max_defer_ = 0; ///< Resource 13: 0 = no deferral allowed
    bool auto_upgrade_ = false;   ///< Resource 14
    std::optional<std::int64_t> last_change_;
    bool pulling_ = false;     ///< a fetcher download runs
    bool opened_ = false;      ///< open_package() was called for the running transfer
    std::size_t received_ = 0; ///< bytes of the running pull transfer
};

} // namespace lwm2m::client
