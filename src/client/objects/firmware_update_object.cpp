#include <lwm2m/client/objects/firmware_update_object.hpp>

#include <algorithm>
#include <limits>
#include <map>

#include <lwm2m/client/access.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/dm/value_text.hpp>

namespace lwm2m::client {

namespace {

namespace rid = firmware_rid;
constexpr Iid iid0{0};
constexpr std::size_t max_short_string = 255; // E.6 Resources 1, 6, 7: "0..255"

std::shared_ptr<const dm::ObjectDef> definition_for(FirmwareUpdateObject::Version v) {
    switch (v) {
    case FirmwareUpdateObject::Version::v1_1:
        return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(5, "1.1"));
    case FirmwareUpdateObject::Version::v1_2:
        return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(5, "1.2"));
    case FirmwareUpdateObject::Version::v1_0:
        break;
    }
    return std::make_shared<const dm::ObjectDef>(*dm::builtin_object(5, "1.0"));
}

TypedObject::Options facade_options() {
    TypedObject::Options o;
    o.bootstrap_writes_read_only = false;
    o.bootstrap_deletes_instances = false;
    // The package size is the application's to limit (Update Result 2 "not enough flash").
    o.max_value_size = std::numeric_limits<std::size_t>::max();
    return o;
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// RFC 3986 §3.1 scheme and §3.2 "//" authority with a host; no whitespace or control characters.
// Returns the lower-cased scheme, or nullopt for a malformed URI (Update Result 7).
std::optional<std::string> uri_scheme(std::string_view uri) {
    for (char c : uri)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
    const std::size_t colon = uri.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string scheme;
    for (std::size_t i = 0; i < colon; ++i) {
        const char c = lower(uri[i]);
        const bool alpha = c >= 'a' && c <= 'z';
        const bool ok_char =
            alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
        if (!ok_char) return std::nullopt;
        scheme.push_back(c);
    }
    const std::string_view rest = uri.substr(colon + 1);
    if (rest.substr(0, 2) != "//") return std::nullopt;
    const std::string_view authority = rest.substr(2, rest.find_first_of("/?#", 2) - 2);
    if (authority.empty() || authority.front() == ':') return std::nullopt;
    return scheme;
}

std::optional<FirmwareProtocol> protocol_of(std::string_view scheme) {
    // E.6 Resource 8 values.
    if (scheme == "coap") return FirmwareProtocol::coap;
    if (scheme == "coaps") return FirmwareProtocol::coaps;
    if (scheme == "http") return FirmwareProtocol::http;
    if (scheme == "https") return FirmwareProtocol::https;
    if (scheme == "coap+tcp") return FirmwareProtocol::coap_tcp;
    if (scheme == "coaps+tcp") return FirmwareProtocol::coaps_tcp;
    return std::nullopt;
}

bool valid_short_string(const std::optional<std::string>& s) {
    return !s || (s->size() <= max_short_string && dm::is_valid_utf8(*s));
}

} // namespace

std::optional<UpdateResult> update_result_of(DownloadError e) noexcept {
    switch (e) {
    case DownloadError::not_enough_storage:
        return UpdateResult::not_enough_flash;
    case DownloadError::out_of_memory:
        return UpdateResult::out_of_ram;
    case DownloadError::connection_lost:
        return UpdateResult::connection_lost;
    case DownloadError::invalid_uri:
    case DownloadError::not_found: // the URI names nothing: Invalid URI (E.6 Resource 5 value 7)
        return UpdateResult::invalid_uri;
    case DownloadError::unsupported_protocol:
        return UpdateResult::unsupported_protocol;
    case DownloadError::cancelled:
        return std::nullopt;
    }
    return UpdateResult::connection_lost;
}

FirmwareUpdateObject::FirmwareUpdateObject(FirmwareUpdateHandler& app, Options options, Logger& log)
    : TypedObjectFacade(definition_for(options.version), facade_options(), log)
    , app_(&app)
    , options_(std::move(options)) {
    (void)typed_.add_instance(iid0);
    // Package (W): never read; the setter runs the push transfer.
    (void)typed_.bind<Bytes>(
        iid0, Rid{rid::package}, [] { return Bytes{}; },
        [this](const Bytes& b) { return on_package(BytesView(b)); });
    (void)typed_.bind<std::string>(
        iid0, Rid{rid::package_uri}, [this] { return uri_; },
        [this](const std::string& u) { return on_uri(u); });
    (void)typed_.bind_execute(iid0, Rid{rid::update},
                              [this](std::string_view) { return on_update(); });
    (void)typed_.bind<std::int64_t>(iid0, Rid{rid::state},
                                    [this] { return static_cast<std::int64_t>(state_); });
    (void)typed_.bind<std::int64_t>(iid0, Rid{rid::update_result},
                                    [this] { return static_cast<std::int64_t>(result_); });
    if (options_.fetcher != nullptr) {
        std::map<std::uint16_t, std::int64_t> protocols;
        std::uint16_t i = 0;
        for (const FirmwareProtocol p : options_.protocols)
            protocols.emplace(i++, static_cast<std::int64_t>(p));
        (void)typed_.set_all(iid0, Rid{rid::protocol_support}, protocols);
    }
    (void)typed_.set(iid0, Rid{rid::delivery_method}, static_cast<std::int64_t>(delivery_method()));
    if (options_.version != Version::v1_0) {
        (void)typed_.bind_execute(iid0, Rid{rid::cancel},
                                  [this](std::string_view) { return on_cancel(); });
        (void)typed_.bind(iid0, Rid{rid::severity}, severity_);
        (void)typed_.bind(iid0, Rid{rid::maximum_defer_period}, max_defer_);
    }
    if (options_.version == Version::v1_2)
        (void)typed_.bind(iid0, Rid{rid::automatic_upgrade}, auto_upgrade_);
}

FirmwareUpdateObject::~FirmwareUpdateObject() {
    if (pulling_ && options_.fetcher != nullptr) options_.fetcher->cancel_download();
}

DeliveryMethod FirmwareUpdateObject::delivery_method() const {
    // The Package resource is mandatory: push always works; pull needs the engine's fetcher.
    return options_.fetcher != nullptr ? DeliveryMethod::both : DeliveryMethod::push;
}

void FirmwareUpdateObject::set_state(FirmwareState s, UpdateResult r) {
    if (s != state_) {
        // E.6 Resource 12: "Device updates this resource before making any change to the State."
        if (options_.clock != nullptr && options_.version != Version::v1_0) {
            last_change_ = options_.clock->unix_seconds();
            (void)typed_.set(iid0, Rid{rid::last_state_change_time}, dm::Time{*last_change_});
        }
        state_ = s;
        typed_.notify_changed(iid0, Rid{rid::state});
    }
    if (r != result_) {
        result_ = r;
        typed_.notify_changed(iid0, Rid{rid::update_result});
    }
}

bool FirmwareUpdateObject::is_reset_package(BytesView data) const {
    // E.6 Resource 3: "setting the Package Resource to NULL ('\0')" resets; an empty package too.
    return data.empty() || (data.size() == 1 && data[0] == std::byte{0});
}

UpdateResult FirmwareUpdateObject::storage_failure(UpdateResult r) const {
    switch (r) {
    case UpdateResult::not_enough_flash:
    case UpdateResult::out_of_ram:
    case UpdateResult::integrity_check_failure:
    case UpdateResult::unsupported_package_type:
        return r;
    default:
        return UpdateResult::integrity_check_failure;
    }
}

void FirmwareUpdateObject::fail_transfer(UpdateResult r) {
    if (pulling_) {
        pulling_ = false;
        options_.fetcher->cancel_download();
    }
    opened_ = false;
    received_ = 0;
    app_->discard_package();
    set_state(FirmwareState::idle, r);
}

void FirmwareUpdateObject::downloaded() {
    opened_ = false;
    received_ = 0;
    set_state(FirmwareState::downloaded, UpdateResult::initial);
    // E.6 (1.2) Resource 14: the update proceeds automatically when the download completed.
    if (options_.version == Version::v1_2 && auto_upgrade_) (void)on_update();
}

void FirmwareUpdateObject::reset_machine() {
    if (pulling_) {
        pulling_ = false;
        options_.fetcher->cancel_download();
    }
    // E.6 Resource 3: "The device should remove the downloaded firmware image when the state is
    // reset to Idle."
    if (state_ == FirmwareState::downloading || state_ == FirmwareState::downloaded)
        app_->discard_package();
    opened_ = false;
    received_ = 0;
    set_state(FirmwareState::idle, UpdateResult::initial);
}

Result<void> FirmwareUpdateObject::on_package(BytesView data) {
    if (state_ == FirmwareState::updating) return fail(Status::method_not_allowed);
    if (is_reset_package(data)) {
        reset_machine();
        return ok();
    }
    if (state_ != FirmwareState::idle) return fail(Status::bad_request);
    // Push (E.6.1): Idle -> Downloading -> Downloaded, or back to Idle with the failure.
    set_state(FirmwareState::downloading, UpdateResult::initial);
    opened_ = true;
    if (auto e = app_->open_package(data.size())) {
        fail_transfer(storage_failure(*e));
        return ok(); // errors of the process go to Update Result only (E.6.1)
    }
    if (auto e = app_->write_package(0, data)) {
        fail_transfer(storage_failure(*e));
        return ok();
    }
    if (auto e = app_->finish_package()) {
        fail_transfer(storage_failure(*e));
        return ok();
    }
    downloaded();
    return ok();
}

Result<void> FirmwareUpdateObject::on_uri(const std::string& uri) {
    if (state_ == FirmwareState::updating) return fail(Status::method_not_allowed);
    if (uri.empty()) {
        reset_machine();
        uri_.clear();
        return ok();
    }
    if (state_ != FirmwareState::idle) return fail(Status::bad_request);
    uri_ = uri;
    // E.6.1: the Write succeeds; a bad URI shows in Update Result (7 invalid, 9 unsupported).
    const auto scheme = uri_scheme(uri);
    if (!scheme) {
        set_state(FirmwareState::idle, UpdateResult::invalid_uri);
        return ok();
    }
    const auto proto = protocol_of(*scheme);
    if (options_.fetcher == nullptr || !proto ||
        std::find(options_.protocols.begin(), options_.protocols.end(), *proto) ==
            options_.protocols.end()) {
        set_state(FirmwareState::idle, UpdateResult::unsupported_protocol);
        return ok();
    }
    set_state(FirmwareState::downloading, UpdateResult::initial);
    pulling_ = true;
    opened_ = false;
    received_ = 0;
    options_.fetcher->start_download(uri_, *this); // may report a failure before returning
    return ok();
}

Result<void> FirmwareUpdateObject::on_update() {
    // E.6 Resource 2: "only executable when the value of the State Resource is Downloaded".
    if (state_ != FirmwareState::downloaded) return fail(Status::method_not_allowed);
    const auto r = app_->apply_package();
    if (!r) {
        set_state(FirmwareState::updating, UpdateResult::initial);
        return ok();
    }
    switch (*r) {
    case UpdateResult::deferred:
        // E.6 Resource 3 (1.1): the user defers: stay Downloaded, Update Result 11.
        set_state(FirmwareState::downloaded, options_.version == Version::v1_0
                                                 ? UpdateResult::initial
                                                 : UpdateResult::deferred);
        break;
    case UpdateResult::success:
        set_state(FirmwareState::idle, UpdateResult::success);
        break;
    case UpdateResult::not_enough_flash:
    case UpdateResult::out_of_ram:
    case UpdateResult::integrity_check_failure:
    case UpdateResult::unsupported_package_type:
        app_->discard_package();
        set_state(FirmwareState::idle, *r);
        break;
    default:
        set_state(FirmwareState::downloaded, UpdateResult::update_failed);
        break;
    }
    return ok();
}

Result<void> FirmwareUpdateObject::on_cancel() {
    // E.6 Resource 10: only before the update started; "MUST respond with Method Not Allowed"
    // while installing or after installation.
    if (state_ != FirmwareState::downloading && state_ != FirmwareState::downloaded)
        return fail(Status::method_not_allowed);
    if (pulling_) {
        pulling_ = false;
        options_.fetcher->cancel_download();
    }
    opened_ = false;
    received_ = 0;
    app_->discard_package();
    set_state(FirmwareState::idle, UpdateResult::cancelled);
    return ok();
}

Result<void> FirmwareUpdateObject::set_package_info(std::optional<std::string> name,
                                                    std::optional<std::string> version) {
    if (!valid_short_string(name) || !valid_short_string(version)) return fail(Status::bad_request);
    if (name)
        LWM2M_TRY_VOID(typed_.set(iid0, Rid{rid::pkg_name}, *name));
    else
        (void)typed_.unset(iid0, Rid{rid::pkg_name});
    if (version)
        LWM2M_TRY_VOID(typed_.set(iid0, Rid{rid::pkg_version}, *version));
    else
        (void)typed_.unset(iid0, Rid{rid::pkg_version});
    return ok();
}

Result<void> FirmwareUpdateObject::finish_update(UpdateResult outcome) {
    if (state_ != FirmwareState::updating) return fail(Status::method_not_allowed);
    switch (outcome) {
    case UpdateResult::success:
        set_state(FirmwareState::idle, UpdateResult::success);
        return ok();
    case UpdateResult::update_failed:
        set_state(FirmwareState::downloaded, UpdateResult::update_failed);
        return ok();
    case UpdateResult::not_enough_flash:
    case UpdateResult::out_of_ram:
    case UpdateResult::integrity_check_failure:
    case UpdateResult::unsupported_package_type:
        // E.6 Resource 3: "Integrity Check Failure results in the client moving to the Idle state".
        app_->discard_package();
        set_state(FirmwareState::idle, outcome);
        return ok();
    default:
        return fail(Status::bad_request);
    }
}

Result<void> FirmwareUpdateObject::start_deferred_update() {
    if (state_ != FirmwareState::downloaded || result_ != UpdateResult::deferred)
        return fail(Status::method_not_allowed);
    set_state(FirmwareState::updating, UpdateResult::initial);
    return ok();
}

Result<void> FirmwareUpdateObject::restore(FirmwareState state, UpdateResult result,
                                           std::string package_uri) {
    if (pulling_ || state_ == FirmwareState::downloading) return fail(Status::method_not_allowed);
    const auto max_result = options_.version == Version::v1_0 ? UpdateResult::unsupported_protocol
                                                              : UpdateResult::deferred;
    if (result > max_result || package_uri.size() > max_short_string ||
        !dm::is_valid_utf8(package_uri))
        return fail(Status::bad_request);
    switch (state) {
    case FirmwareState::idle:
        break;
    case FirmwareState::downloading:
        state = FirmwareState::idle;
        result = UpdateResult::connection_lost;
        app_->discard_package();
        break;
    case FirmwareState::downloaded:
        if (result != UpdateResult::initial && result != UpdateResult::deferred &&
            result != UpdateResult::update_failed)
            return fail(Status::bad_request);
        break;
    case FirmwareState::updating:
        if (result != UpdateResult::initial) return fail(Status::bad_request);
        break;
    default:
        return fail(Status::bad_request);
    }
    uri_ = std::move(package_uri);
    set_state(state, result);
    return ok();
}

void FirmwareUpdateObject::on_download_chunk(std::size_t offset, BytesView data,
                                             std::optional<std::size_t> total) {
    if (!pulling_ || state_ != FirmwareState::downloading) return; // stale: cancelled before
    if (!opened_) {
        opened_ = true;
        if (auto e = app_->open_package(total)) {
            fail_transfer(storage_failure(*e));
            return;
        }
    }
    if (offset != received_) {
        fail_transfer(UpdateResult::connection_lost); // a gap: the transfer is broken
        return;
    }
    if (auto e = app_->write_package(offset, data)) {
        fail_transfer(storage_failure(*e));
        return;
    }
    received_ += data.size();
}

void FirmwareUpdateObject::on_download_complete() {
    if (!pulling_ || state_ != FirmwareState::downloading) return;
    pulling_ = false;
    if (!opened_) {
        opened_ = true;
        if (auto e = app_->open_package(std::size_t{0})) {
            fail_transfer(storage_failure(*e));
            return;
        }
    }
    if (auto e = app_->finish_package()) {
        fail_transfer(storage_failure(*e));
        return;
    }
    downloaded();
}

void FirmwareUpdateObject::on_download_failed(DownloadError error) {
    if (!pulling_ || state_ != FirmwareState::downloading) return;
    pulling_ = false;
    opened_ = false;
    received_ = 0;
    app_->discard_package();
    set_state(FirmwareState::idle, update_result_of(error).value_or(result_));
}

Result<void> FirmwareUpdateObject::write(const Actor& actor, const dm::Path& path,
                                         const dm::Content& content, WriteMode mode) {
    if (path.depth() == 3 && path.oid().v == 5 && path.rid().v == rid::package) {
        // The push package: handed to the application from the request without a copy.
        LWM2M_TRY_VOID(check_access(actor, Operation::write, path));
        if (path.iid().v != 0) return fail(Status::not_found);
        const auto* r = std::get_if<dm::Resource>(&content.node);
        if (!(content.path == path) || r == nullptr || r->id != rid::package || r->multiple)
            return fail(Status::bad_request);
        const auto* b = std::get_if<Bytes>(&r->value.storage());
        if (b == nullptr) return fail(Status::bad_request);
        return on_package(BytesView(*b));
    }
    // One state-machine trigger per request: a Package together with a Package URI is ambiguous.
    auto both = [](const dm::Instance& in) {
        return in.resources.count(rid::package) != 0 && in.resources.count(rid::package_uri) != 0;
    };
    if (const auto* in = std::get_if<dm::Instance>(&content.node); in != nullptr && both(*in))
        return fail(Status::bad_request);
    if (const auto* o = std::get_if<dm::Object>(&content.node); o != nullptr) {
        for (const auto& kv : o->instances)
            if (both(kv.second)) return fail(Status::bad_request);
    }
    return typed_.write(actor, path, content, mode);
}

} // namespace lwm2m::client
