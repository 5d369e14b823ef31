// lwm2m-client: the reference LwM2M client daemon (docs/guide-client.md). The client engine
// (src/client, sans-I/O) on one UDP socket driven by transport::Loop, with Objects 0-5, a demo
// temperature sensor (3303) and objects from DDF files; its state directory keeps everything a
// restart needs (state_dir.hpp).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <malloc.h>

#include <fmt/format.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/client/client_config.hpp>
#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/client/engine.hpp>
#include <lwm2m/client/engine_state.hpp>
#include <lwm2m/client/objects/access_control_object.hpp>
#include <lwm2m/client/objects/connectivity_monitoring_object.hpp>
#include <lwm2m/client/objects/device_object.hpp>
#include <lwm2m/client/objects/firmware_update_object.hpp>
#include <lwm2m/client/objects/typed_object.hpp>
#include <lwm2m/dm/ddf.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/resolve.hpp>
#include <lwm2m/transport/system_random.hpp>
#include <lwm2m/transport/time_source.hpp>
#include <lwm2m/transport/udp_socket.hpp>
#include <lwm2m/version.hpp>

#include "demo_objects.hpp"
#include "options.hpp"
#include "signals.hpp"
#include "spdlog_logger.hpp"
#include "state_dir.hpp"

using namespace lwm2m;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_firmware_size = 16u << 20;

/// Server URIs naming a host: getaddrinfo, keeping the addresses the socket can reach.
class SystemResolver final : public client::Resolver {
public:
    explicit SystemResolver(bool ipv6_socket)
        : ipv6_(ipv6_socket) {}
    Result<PeerAddr> resolve(std::string_view host, std::uint16_t port) override {
        auto all = transport::resolve_udp(std::string(host), port);
        if (!all) return fail(all.error());
        for (const auto& a : *all)
            if (ipv6_ || a.family == PeerAddr::Family::ipv4) return a;
        return fail(lwm2m::Errc::not_found);
    }

private:
    bool ipv6_;
};

/// SIGUSR1: log the statistics (engine counters, heap in use) at the next loop iteration.
std::atomic<bool> g_stats_requested{false};
/// Heap in use (malloc'd + mmapped) when main() started: the C++ runtime's and GnuTLS's global
/// initialisation, which the statistics subtract to show what the client itself holds.
std::size_t g_heap_at_start = 0;
std::size_t heap_in_use() {
    const struct mallinfo2 mi = ::mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
void on_sigusr1(int) {
    g_stats_requested.store(true);
}

void milestone(const std::string& line) {
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

dm::Lwm2mVersion version_of(const std::string& v) {
    if (v == "1.0") return dm::Lwm2mVersion::v1_0;
    if (v == "1.2") return dm::Lwm2mVersion::v1_2;
    return dm::Lwm2mVersion::v1_1;
}

/// Objects 0-2 of the enabler version; the served objects add their own definitions, shared with
/// the registry (Access Control's replaces the copy made here). The full built-in registry would
/// also hold definitions nobody serves: heap for nothing.
dm::ObjectRegistry core_registry(dm::Lwm2mVersion v) {
    dm::ObjectRegistry r;
    for (const std::uint16_t oid : {0, 1, 2})
        if (const auto ver = dm::builtin_object_version(v, oid))
            if (auto d = dm::builtin_object(oid, *ver)) r.add(std::move(*d));
    return r;
}

enum class RunEnd { stopped, reboot, factory_reset, fatal };

/// One "boot" of the device: objects and engine built from the state directory, run until a
/// signal, a Reboot or a Factory Reset.
class Device {
public:
    Device(app::ClientOptions& o, const client::ClientConfig& factory, app::StateDir& dir,
           transport::UdpSocket& socket, Logger& log)
        : o_(o)
        , factory_(factory)
        , dir_(dir)
        , socket_(socket)
        , log_(log)
        , resolver_(socket.family() == PeerAddr::Family::ipv6)
        , version_(version_of(o.lwm2m_version))
        , registry_(core_registry(version_))
        , device_(wall_, device_options(), log)
        , connectivity_(connectivity_version(), log)
        , acl_(version_ == dm::Lwm2mVersion::v1_2 ? client::AccessControlObject::Version::v1_1
                                                  : client::AccessControlObject::Version::v1_0,
               log)
        , sensor_(log)
        , firmware_store_(dir.path(), o.firmware_fail, max_firmware_size, log) {}

    RunEnd run();

private:
    [[nodiscard]] client::DeviceObject::Options device_options() const {
        client::DeviceObject::Options d;
        d.version = version_ == dm::Lwm2mVersion::v1_0   ? client::DeviceObject::Version::v1_0
                    : version_ == dm::Lwm2mVersion::v1_2 ? client::DeviceObject::Version::v1_2
                                                         : client::DeviceObject::Version::v1_1;
        d.supported_binding = o_.queue_mode && version_ == dm::Lwm2mVersion::v1_0 ? "UQ" : "U";
        return d;
    }
    [[nodiscard]] client::ConnectivityMonitoringObject::Version connectivity_version() const {
        using V = client::ConnectivityMonitoringObject::Version;
        return version_ == dm::Lwm2mVersion::v1_0   ? V::v1_0
               : version_ == dm::Lwm2mVersion::v1_2 ? V::v1_3
                                                    : V::v1_2;
    }
    bool setup_objects(client::Engine& engine);
    bool load_ddf_objects();
    void fill_device_values();
    void restore_firmware(client::FirmwareUpdateObject& fw);
    void persist(const client::Engine& engine);
    void persist_firmware(const client::FirmwareUpdateObject& fw);
    void on_event(const client::EngineEvent& ev, client::Engine& engine, bool& dirty);
    void log_stats(const client::Engine& engine) const;
    [[nodiscard]] std::string server_uri(ShortServerId ssid) const;
    [[nodiscard]] std::string location(const client::Engine& engine, ShortServerId ssid) const;

    app::ClientOptions& o_;
    const client::ClientConfig& factory_;
    app::StateDir& dir_;
    transport::UdpSocket& socket_;
    Logger& log_;
    transport::SystemRandom random_;
    transport::SystemWallClock wall_;
    SystemResolver resolver_;
    dm::Lwm2mVersion version_;
    dm::ObjectRegistry registry_;
    std::unique_ptr<client::AccountStore> accounts_;
    client::DeviceObject device_;
    client::ConnectivityMonitoringObject connectivity_;
    client::AccessControlObject acl_;
    app::TemperatureSensor sensor_;
    app::FirmwareStore firmware_store_;
    std::unique_ptr<client::FirmwareUpdateObject> firmware_;
    std::vector<std::unique_ptr<client::TypedObject>> ddf_objects_;
    app::FirmwareRecord fw_record_;
    std::int64_t battery_ = 100;
};

bool Device::load_ddf_objects() {
    for (const auto& file : o_.ddf_files) {
        auto def = dm::load_ddf_file(file);
        if (!def) {
            log_.write(LogLevel::error, "client",
                       fmt::format("--ddf {}: {}", file, def.error().message()));
            return false;
        }
        if (def->id <= 5 || def->id == 3303 || registry_.find(def->id) != nullptr ||
            std::any_of(ddf_objects_.begin(), ddf_objects_.end(),
                        [&](const auto& t) { return t->definition().id == def->id; })) {
            log_.write(LogLevel::error, "client",
                       fmt::format("--ddf {}: object {} is already served", file, def->id));
            return false;
        }
        auto obj = std::make_unique<client::TypedObject>(*def, log_);
        (void)obj->add_instance(Iid{0});
        ddf_objects_.push_back(std::move(obj));
    }
    return true;
}

void Device::fill_device_values() {
    (void)device_.set_manufacturer(o_.manufacturer);
    (void)device_.set_model_number(o_.model);
    (void)device_.set_serial_number(o_.serial);
    (void)device_.set_firmware_version(fw_record_.version);
    (void)device_.set_software_version(LWM2M_VERSION_STRING);
    (void)device_.set_power_source(Riid{0}, client::PowerSource::internal_battery);
    (void)device_.set_power_source_voltage(Riid{0}, 3700);
    (void)device_.set_battery_level(battery_);
    (void)device_.set_battery_status(client::BatteryStatus::normal);
    (void)device_.set_memory_total(64);
    (void)device_.set_memory_free(48);
    (void)device_.set_utc_offset("+00:00");
    (void)device_.set_timezone("Etc/UTC");
    (void)connectivity_.set_network_bearer(client::network_bearer::ethernet);
    (void)connectivity_.set_available_network_bearers({client::network_bearer::ethernet});
    (void)connectivity_.set_radio_signal_strength(0);
}

bool Device::setup_objects(client::Engine& engine) {
    if (!load_ddf_objects()) return false;
    fill_device_values();
    std::vector<client::ObjectHandler*> objects;
    auto add_facade = [&](client::TypedObjectFacade& f) {
        f.set_change_listener(&engine);
        // The registry decodes payloads with the definition the object implements (shared).
        registry_.add(f.shared_definition());
        objects.push_back(&f);
    };
    add_facade(device_);
    if (o_.has_object(4)) add_facade(connectivity_);
    if (o_.has_object(5)) {
        client::FirmwareUpdateObject::Options fo;
        fo.version = version_ == dm::Lwm2mVersion::v1_2
                         ? client::FirmwareUpdateObject::Version::v1_2
                         : client::FirmwareUpdateObject::Version::v1_0;
        fo.fetcher = &engine;
        fo.clock = &wall_;
        firmware_ = std::make_unique<client::FirmwareUpdateObject>(firmware_store_, fo, log_);
        restore_firmware(*firmware_);
        add_facade(*firmware_);
    }
    if (o_.has_object(2)) {
        acl_.set_change_listener(&engine);
        engine.set_access_controller(&acl_);
        registry_.add(acl_.shared_definition());
        objects.push_back(&acl_);
    }
    if (o_.has_object(3303)) {
        sensor_.object().set_change_listener(&engine);
        registry_.add(sensor_.object().shared_definition());
        objects.push_back(&sensor_.object());
    }
    for (auto& t : ddf_objects_) {
        t->set_change_listener(&engine);
        registry_.add(t->shared_definition());
        objects.push_back(t.get());
    }
    for (auto* obj : objects) {
        if (auto r = engine.add_object(*obj); !r) {
            log_.write(LogLevel::error, "client",
                       fmt::format("object {}: {}", obj->oid().v, r.error().message()));
            return false;
        }
    }
    return true;
}

void Device::restore_firmware(client::FirmwareUpdateObject& fw) {
    if (auto r = dir_.read_firmware()) {
        if (auto ok = fw.restore(r->state, r->result, r->package_uri); !ok) {
            log_.write(LogLevel::warn, "firmware",
                       "firmware.json holds no valid state: starting Idle");
            fw_record_.state = client::FirmwareState::idle;
            fw_record_.result = client::UpdateResult::initial;
        } else {
            fw_record_.state = fw.state();
            fw_record_.result = fw.update_result();
            fw_record_.package_uri = fw.package_uri();
        }
    }
    // An update that was running when the previous run ended ("updating" across a reboot):
    // the demo application completes it now.
    if (fw.state() == client::FirmwareState::updating) {
        const auto failure = firmware_store_.apply_package();
        const auto version = firmware_store_.take_started_update();
        if (!failure && version) {
            fw_record_.version = *version;
            (void)fw.finish_update(client::UpdateResult::success);
        } else {
            (void)fw.finish_update(failure.value_or(client::UpdateResult::update_failed));
        }
    }
}

void Device::persist_firmware(const client::FirmwareUpdateObject& fw) {
    app::FirmwareRecord r = fw_record_;
    r.state = fw.state();
    r.result = fw.update_result();
    r.package_uri = fw.package_uri();
    if (r == fw_record_) return;
    if (auto w = dir_.write_firmware(r); !w) {
        log_.write(LogLevel::error, "client",
                   fmt::format("cannot write firmware.json: {}", w.error().message()));
        return;
    }
    fw_record_ = r;
}

void Device::persist(const client::Engine& engine) {
    const client::EngineSnapshot snap = engine.snapshot();
    if (auto w = dir_.write("accounts.bin", snap.accounts.view()); !w)
        log_.write(LogLevel::error, "client",
                   fmt::format("cannot write accounts.bin: {}", w.error().message()));
    if (auto w = dir_.write("engine.bin", snap.state); !w)
        log_.write(LogLevel::error, "client",
                   fmt::format("cannot write engine.bin: {}", w.error().message()));
}

std::string Device::server_uri(ShortServerId ssid) const {
    for (const auto& [iid, s] : accounts_->committed().security)
        if (!s.is_bootstrap() && s.short_server_id == ssid.v && s.server_uri) return *s.server_uri;
    return "?";
}

std::string Device::location(const client::Engine& engine, ShortServerId ssid) const {
    auto st = client::decode_engine_state(engine.snapshot().state);
    if (!st) return "?";
    for (const auto& r : st->registrations) {
        if (r.ssid != ssid.v) continue;
        std::string path;
        for (const auto& seg : r.location)
            path += "/" + std::string(reinterpret_cast<const char*>(seg.data()), seg.size());
        return path;
    }
    return "?";
}

void Device::on_event(const client::EngineEvent& ev, client::Engine& engine, bool& dirty) {
    using K = client::EngineEvent::Kind;
    const std::string& ep = o_.endpoint;
    switch (ev.kind) {
    case K::registered:
        milestone(fmt::format("registered {} at {} location {}", ep, server_uri(ev.ssid),
                              location(engine, ev.ssid)));
        break;
    case K::updated:
        milestone(fmt::format("updated {} at {}", ep, server_uri(ev.ssid)));
        break;
    case K::deregistered:
        milestone(fmt::format("deregistered {} from {}", ep, server_uri(ev.ssid)));
        break;
    case K::registration_failed:
        log_.write(LogLevel::error, "client",
                   fmt::format("registration with {} failed: {}", server_uri(ev.ssid),
                               ev.error.message()));
        break;
    case K::bootstrap_started:
        log_.write(LogLevel::info, "client", "bootstrap started");
        break;
    case K::bootstrap_finished: {
        std::string bs = "?";
        for (const auto& [iid, s] : accounts_->committed().security)
            if (s.is_bootstrap() && s.server_uri) bs = *s.server_uri;
        milestone(fmt::format("bootstrapped {} from {}", ep, bs));
        dirty = true;
        break;
    }
    case K::bootstrap_failed:
        log_.write(
            LogLevel::warn, "client",
            fmt::format("bootstrap failed ({}); retrying after the hold-off", ev.error.message()));
        break;
    case K::state_changed:
        dirty = true;
        break;
    case K::account_purged:
        log_.write(LogLevel::info, "client",
                   "Bootstrap-Server account purged (Object 0 Resource 12 timeout)");
        dirty = true;
        break;
    case K::disabled:
        log_.write(LogLevel::info, "client",
                   fmt::format("server {} disabled the client (Object 1 Resource 4)", ev.ssid.v));
        break;
    case K::sleeping:
    case K::awake:
    case K::send_done:
    case K::send_failed:
        break;
    }
}

void Device::log_stats(const client::Engine& engine) const {
    const client::EngineStats st = engine.stats();
    // mallinfo2: every malloc'd or mmapped byte of the process (GnuTLS sessions included under
    // DTLS), and the part allocated since main() started.
    const std::size_t heap = heap_in_use();
    log_.write(LogLevel::info, "client",
               fmt::format("stats: requests {} notifications {} (stored {}, dropped {}) "
                           "registrations {} updates {} bootstraps {} heap-in-use {} bytes "
                           "({} since start)",
                           st.requests_handled, st.notifications_sent, st.notifications_stored,
                           st.notifications_dropped, st.registrations, st.updates, st.bootstraps,
                           heap, heap - std::min(heap, g_heap_at_start)));
}

RunEnd Device::run() {
    const TimePoint t0 = transport::LoopBase::now();
    // Accounts: the stored ones when they decode and are consistent, else the options'.
    auto stored = dir_.read("accounts.bin", client::max_config_file_size);
    auto outcome = client::load_config(stored, factory_);
    if (outcome.source == client::LoadOutcome::Source::stored) {
        log_.write(LogLevel::info, "client",
                   fmt::format("accounts from {}/accounts.bin (--reset-state starts from the "
                               "options again)",
                               dir_.path()));
    } else if (stored) {
        log_.write(LogLevel::warn, "client",
                   fmt::format("{}/accounts.bin is unusable ({}): factory configuration used",
                               dir_.path(), outcome.error.message()));
    }
    accounts_ = std::make_unique<client::AccountStore>(std::move(outcome.config), wall_, t0, log_);
    if (auto fw = dir_.read_firmware(); fw && !fw->version.empty())
        fw_record_.version = fw->version;
    else
        fw_record_.version = o_.firmware_version;

    client::EngineConfig ecfg;
    ecfg.endpoint_name = o_.endpoint;
    ecfg.version = version_;
    ecfg.queue_mode = o_.queue_mode;
    ecfg.bootstrap_jitter =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o_.bootstrap_jitter_s));
    client::Engine engine(ecfg, *accounts_, registry_, random_, wall_, resolver_, log_);
    if (!setup_objects(engine)) return RunEnd::fatal;
    if (auto st = dir_.read("engine.bin", client::max_engine_state_size); st) {
        if (auto r = engine.restore_state(*st, t0); !r)
            log_.write(
                LogLevel::warn, "client",
                fmt::format("engine.bin is unusable ({}): starting afresh", r.error().message()));
    }
    engine.start(t0);
    persist(engine);
    if (firmware_) persist_firmware(*firmware_);

    // One server conversation at a time: a receive batch of one datagram (the default 32 x 4 KiB
    // suits servers; here it would be most of the heap). The loop still reads up to
    // max_batches_per_wakeup datagrams per wake-up, one recvmmsg each.
    transport::LoopOptions lo;
    lo.batch_size = 1;
    lo.max_outbox = 64;
    transport::Loop loop(engine, socket_, lo);
    app::StopOnSignal stop_on_signal(loop);
    RunEnd end = RunEnd::stopped;
    bool ending = false;
    const auto interval =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o_.demo_interval_s));
    TimePoint next_demo = t0 + interval;
    loop.set_hook([&](TimePoint now) {
        bool dirty = false;
        while (auto ev = engine.poll_event())
            on_event(*ev, engine, dirty);
        while (auto a = device_.poll_action()) {
            using A = client::DeviceAction::Kind;
            if (a->kind == A::reboot || a->kind == A::factory_reset) {
                end = a->kind == A::reboot ? RunEnd::reboot : RunEnd::factory_reset;
                log_.write(LogLevel::info, "client",
                           a->kind == A::reboot ? "reboot requested by a server"
                                                : "factory reset requested by a server");
                ending = true;
                loop.stop();
            }
        }
        if (firmware_) {
            if (auto v = firmware_store_.take_started_update()) {
                // The Execute response is already queued: the demo "flashes" at once.
                fw_record_.version = *v;
                (void)device_.set_firmware_version(*v);
                (void)firmware_->finish_update(client::UpdateResult::success);
                log_.write(LogLevel::info, "firmware", fmt::format("updated to {}", *v));
                dirty = true;
            }
            persist_firmware(*firmware_);
        }
        if (now >= next_demo) {
            next_demo = now + interval;
            if (o_.has_object(3303)) sensor_.step();
            battery_ = battery_ <= 5 ? 100 : battery_ - 1;
            (void)device_.set_battery_level(battery_);
        }
        if (dirty) persist(engine);
        if (g_stats_requested.exchange(false)) log_stats(engine);
    });

    milestone(fmt::format("started {} on {}", o_.endpoint, socket_.local_addr().to_string()));
    while (!ending && !app::StopOnSignal::requested()) {
        if (auto r = loop.run_for(std::min<Duration>(interval, 1s)); !r) {
            log_.write(LogLevel::error, "client", fmt::format("loop: {}", r.error().message()));
            return RunEnd::fatal;
        }
    }
    if (end == RunEnd::reboot) {
        // A reboot does not de-register (the device just goes away and comes back): flush the
        // Execute response, persist, and start over from the state directory.
        (void)loop.run_for(100ms);
        persist(engine);
        return end;
    }
    // SIGINT/SIGTERM and Factory Reset (TS 1.1 E.4: "the client MAY De-register first").
    engine.stop(transport::LoopBase::now());
    const auto grace =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o_.shutdown_grace_s));
    auto done = loop.run_until([&] { return engine.stopped(); }, grace);
    while (auto ev = engine.poll_event()) {
        bool dirty = false;
        on_event(*ev, engine, dirty);
    }
    if (!done || !*done)
        log_.write(LogLevel::warn, "client", "not every server answered the De-register in time");
    persist(engine);
    return end;
}

} // namespace

int main(int argc, char** argv) {
    // The milestone lines on stdout are flushed one by one: a small static line buffer instead of
    // the 4 KiB heap buffer glibc gives a pipe or file (issue #8 footprint).
    static char stdout_buffer[256];
    (void)std::setvbuf(stdout, stdout_buffer, _IOLBF, sizeof stdout_buffer);
    g_heap_at_start = heap_in_use();
    app::ClientOptions o;
    if (int rc = app::parse_options(argc, argv, o); rc >= 0) return rc;
    auto logger = app::make_stderr_logger(o.log_level);
    app::SpdlogLogger log(logger);
    auto factory = app::factory_config(o);
    if (!factory) return 2;

    app::StateDir dir(o.state_dir);
    if (auto r = dir.open(); !r) {
        std::fprintf(stderr, "error: state directory %s: %s\n", o.state_dir.c_str(),
                     r.error().message().c_str());
        return 1;
    }
    if (o.reset_state) {
        if (auto r = dir.wipe(); !r) {
            std::fprintf(stderr, "error: cannot reset %s: %s\n", o.state_dir.c_str(),
                         r.error().message().c_str());
            return 1;
        }
    }

    auto local = PeerAddr::parse(o.bind_address);
    if (!local) {
        std::fprintf(stderr, "error: --bind %s is not an IP address\n", o.bind_address.c_str());
        return 2;
    }
    local->port = static_cast<std::uint16_t>(o.port);
    transport::UdpSocketOptions so;
    so.v6_only = false; // "::" serves IPv4 servers too (as ::ffff:a.b.c.d)
    auto socket = transport::UdpSocket::bind(*local, so);
    if (!socket && o.bind_address == "::") {
        // No IPv6 on this host: IPv4 only.
        auto v4 = PeerAddr::parse("0.0.0.0");
        v4->port = static_cast<std::uint16_t>(o.port);
        socket = transport::UdpSocket::bind(*v4);
    }
    if (!socket) {
        std::fprintf(stderr, "error: cannot bind UDP %s port %d: %s\n", o.bind_address.c_str(),
                     o.port, socket.error().message().c_str());
        return 1;
    }

    struct sigaction usr1 {};
    usr1.sa_handler = &on_sigusr1;
    sigemptyset(&usr1.sa_mask);
    sigaction(SIGUSR1, &usr1, nullptr);

    for (;;) {
        RunEnd end = RunEnd::fatal;
        {
            Device device(o, *factory, dir, *socket, log);
            end = device.run();
        }
        switch (end) {
        case RunEnd::stopped:
            return 0;
        case RunEnd::fatal:
            return 1;
        case RunEnd::reboot:
            log.write(LogLevel::info, "client", "rebooting");
            continue;
        case RunEnd::factory_reset:
            if (auto r = dir.wipe(); !r) {
                std::fprintf(stderr, "error: factory reset of %s: %s\n", o.state_dir.c_str(),
                             r.error().message().c_str());
                return 1;
            }
            log.write(LogLevel::info, "client", "factory reset: back to the factory configuration");
            continue;
        }
    }
}
