#include "fleet.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <set>
#include <utility>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/client/client_config.hpp>
#include <lwm2m/client/objects/device_object.hpp>
#include <lwm2m/client/server_object.hpp>

namespace lwm2m::fleet {
namespace {

/// Server URIs of a fleet are IP literals (checked by the program): nothing to resolve.
class NoResolver final : public client::Resolver {
public:
    Result<PeerAddr> resolve(std::string_view, std::uint16_t) override {
        return fail(lwm2m::Errc::not_found);
    }
};

enum class Phase : std::uint8_t { waiting, running, leaving, away };

struct Device {
    std::string ep;
    Phase phase = Phase::waiting;
    TimePoint wake{};        ///< waiting/away: when to start
    TimePoint started_at{};  ///< of the current run (registration latency)
    bool registered = false; ///< currently registered
    bool first_done = false; ///< the current run's first registration was measured
    bool vanish = false;     ///< leaving without a De-register
    std::int64_t battery = 100;
    TimePoint last_tx{};               ///< last datagram out (update latency)
    std::uint64_t handshakes_seen = 0; ///< engine->stats().dtls_handshakes already counted
    std::unique_ptr<client::AccountStore> accounts;
    std::unique_ptr<client::DeviceObject> object;
    std::unique_ptr<client::Engine> engine;
};

} // namespace

struct Fleet::Impl {
    FleetConfig cfg;
    Random* random;
    const WallClock* wall;
    Logger* log;
    NoResolver resolver;
    dm::ObjectRegistry registry;
    std::vector<Device> devices;
    FleetStats stats;
    /// (deadline, device) of every device with a deadline; `keys` holds each device's entry.
    std::set<std::pair<TimePoint, std::size_t>> timers;
    std::vector<std::optional<TimePoint>> keys;
    std::deque<std::size_t> tx_ready;
    std::vector<bool> in_tx;
    TimePoint next_value{};
    TimePoint next_churn{};
    bool stopping = false;
    std::vector<std::string> acked;

    Impl(FleetConfig c, std::size_t n, Random& r, const WallClock& w, Logger& l)
        : cfg(std::move(c))
        , random(&r)
        , wall(&w)
        , log(&l)
        , registry(dm::ObjectRegistry::builtin(cfg.version))
        , devices(n)
        , keys(n)
        , in_tx(n) {
        for (std::size_t i = 0; i < n; ++i)
            devices[i].ep = cfg.endpoint_prefix + std::to_string(cfg.first_index + i);
    }

    /// The device's factory accounts (consistent: every mandatory Object 1 resource is set,
    /// else the AccountStore would start empty and the device would wait for a bootstrap).
    [[nodiscard]] client::ClientConfig accounts_of(const Device& d) const {
        client::SecurityInstance s;
        const bool bootstrap = !cfg.bootstrap_uri.empty();
        s.server_uri = bootstrap ? cfg.bootstrap_uri : cfg.server_uri;
        s.bootstrap_server = bootstrap;
        if (cfg.psk_key) {
            s.security_mode = client::SecurityMode::psk;
            s.public_key_or_identity.assign(reinterpret_cast<const std::byte*>(d.ep.data()),
                                            reinterpret_cast<const std::byte*>(d.ep.data()) +
                                                d.ep.size());
            s.secret_key = *cfg.psk_key;
        } else {
            s.security_mode = client::SecurityMode::nosec;
        }
        client::ClientConfig c;
        if (bootstrap) {
            s.client_hold_off = 0;
            c.security.emplace(0, std::move(s));
            return c;
        }
        s.short_server_id = 101;
        c.security.emplace(0, std::move(s));
        client::ServerInstance si;
        namespace rid = client::server_rid;
        si.resources.emplace(rid::short_server_id,
                             dm::Resource::single(rid::short_server_id, dm::Value::integer(101)));
        si.resources.emplace(rid::lifetime,
                             dm::Resource::single(rid::lifetime, dm::Value::integer(cfg.lifetime)));
        si.resources.emplace(
            rid::notification_storing,
            dm::Resource::single(rid::notification_storing, dm::Value::boolean(true)));
        si.resources.emplace(rid::binding,
                             dm::Resource::single(rid::binding, dm::Value::string("U")));
        c.servers.emplace(0, std::move(si));
        return c;
    }

    void boot(std::size_t i, TimePoint now) {
        Device& d = devices[i];
        d.accounts = std::make_unique<client::AccountStore>(accounts_of(d), *wall, now);
        d.object = std::make_unique<client::DeviceObject>(*wall);
        (void)d.object->set_manufacturer("lwm2m-fleet");
        (void)d.object->set_model_number("simulated");
        (void)d.object->set_serial_number(d.ep);
        (void)d.object->set_battery_level(d.battery);
        client::EngineConfig ec;
        ec.endpoint_name = d.ep;
        ec.version = cfg.version;
        ec.bootstrap_jitter = std::chrono::seconds(1);
        d.engine = std::make_unique<client::Engine>(ec, *d.accounts, registry, *random, *wall,
                                                    resolver, *log);
        d.object->set_change_listener(d.engine.get());
        (void)d.engine->add_object(*d.object);
        d.phase = Phase::running;
        d.started_at = now;
        d.registered = false;
        d.first_done = false;
        d.handshakes_seen = 0;
        ++stats.started;
        d.engine->start(now);
        touched(i);
    }

    void drop_engine(std::size_t i) {
        Device& d = devices[i];
        if (d.registered && stats.registered_now > 0) --stats.registered_now;
        d.registered = false;
        d.engine.reset();
        d.object.reset();
        d.accounts.reset();
    }

    /// After any call into device i: its events, its output, its timer.
    void touched(std::size_t i) {
        Device& d = devices[i];
        if (d.engine) {
            while (auto ev = d.engine->poll_event())
                on_event(d, *ev);
            const std::uint64_t h = d.engine->stats().dtls_handshakes;
            stats.dtls_handshakes += h - d.handshakes_seen;
            d.handshakes_seen = h;
            if (!in_tx[i]) {
                in_tx[i] = true;
                tx_ready.push_back(i);
            }
            if (d.phase == Phase::leaving && d.engine->stopped()) {
                drop_engine(i);
                d.phase = stopping ? Phase::waiting : Phase::away;
                d.wake = stopping ? TimePoint::max() : d.wake;
            }
        }
        std::optional<TimePoint> k;
        if (d.engine) k = d.engine->next_deadline();
        if ((d.phase == Phase::waiting || d.phase == Phase::away) && !stopping) k = d.wake;
        if (keys[i] == k) return;
        if (keys[i]) timers.erase({*keys[i], i});
        keys[i] = k;
        if (k) timers.insert({*k, i});
    }

    void on_event(Device& d, const client::EngineEvent& ev) {
        using K = client::EngineEvent::Kind;
        switch (ev.kind) {
        case K::registered:
            ++stats.registrations;
            if (cfg.record_acks) acked.push_back("registered " + d.ep);
            if (!d.registered) ++stats.registered_now;
            d.registered = true;
            if (!d.first_done) {
                d.first_done = true;
                stats.register_ms.push_back(
                    std::chrono::duration<double, std::milli>(now_ - d.started_at).count());
            }
            break;
        case K::updated: {
            ++stats.updates;
            const double ms = std::chrono::duration<double, std::milli>(now_ - d.last_tx).count();
            stats.update_ms.push_back(ms);
            if (cfg.record_acks)
                acked.push_back("updated " + d.ep + " " + std::to_string(std::lround(ms)));
            break;
        }
        case K::deregistered:
            ++stats.deregistrations;
            if (d.registered && stats.registered_now > 0) --stats.registered_now;
            d.registered = false;
            break;
        case K::bootstrap_finished:
            ++stats.bootstraps;
            break;
        case K::registration_failed:
            ++stats.failures["registration: " + ev.error.message()];
            if (d.registered && stats.registered_now > 0) --stats.registered_now;
            d.registered = false;
            break;
        case K::bootstrap_failed:
            ++stats.failures["bootstrap: " + ev.error.message()];
            break;
        case K::send_failed:
            ++stats.failures["send: " + ev.error.message()];
            break;
        default:
            break;
        }
    }

    void change_values() {
        for (std::size_t i = 0; i < devices.size(); ++i) {
            Device& d = devices[i];
            if (!d.engine || !d.registered) continue;
            d.battery = d.battery <= 5 ? 100 : d.battery - 1;
            // set() tells the engine (ChangeListener): its next_deadline() becomes now, so the
            // loop's next on_timeout() evaluates the observations of the changed value.
            (void)d.object->set_battery_level(d.battery);
            touched(i);
        }
    }

    void churn(TimePoint now) {
        std::vector<std::size_t> registered;
        for (std::size_t i = 0; i < devices.size(); ++i)
            if (devices[i].registered && devices[i].phase == Phase::running)
                registered.push_back(i);
        const auto n = static_cast<std::size_t>(
            std::floor(cfg.churn_fraction * static_cast<double>(registered.size())));
        for (std::size_t k = 0; k < n && !registered.empty(); ++k) {
            const std::size_t pick = random->next_u32() % registered.size();
            const std::size_t i = registered[pick];
            registered[pick] = registered.back();
            registered.pop_back();
            Device& d = devices[i];
            ++stats.churned;
            d.wake = now + cfg.churn_interval;
            if (k % 2 == 0) {
                d.phase = Phase::leaving; // De-register, then come back
                d.engine->stop(now);
                touched(i);
            } else {
                drop_engine(i); // vanish: the server sees the lifetime run out
                d.phase = Phase::away;
                touched(i);
            }
        }
    }

    TimePoint now_{};
};

Fleet::Fleet(FleetConfig config, std::size_t socket_count, Random& random, const WallClock& wall,
             Logger& log)
    : impl_(std::make_unique<Impl>(std::move(config), socket_count, random, wall, log)) {}

Fleet::~Fleet() = default;

void Fleet::start(TimePoint now) {
    Impl& m = *impl_;
    m.now_ = now;
    const double rate = std::max(m.cfg.rate, 0.001);
    for (std::size_t i = 0; i < m.devices.size(); ++i) {
        m.devices[i].wake = now + std::chrono::duration_cast<Duration>(
                                      std::chrono::duration<double>(static_cast<double>(i) / rate));
        m.touched(i);
    }
    m.next_value = now + m.cfg.value_interval;
    m.next_churn = now + m.cfg.churn_interval;
}

void Fleet::stop(TimePoint now) {
    Impl& m = *impl_;
    m.now_ = now;
    m.stopping = true;
    for (std::size_t i = 0; i < m.devices.size(); ++i) {
        Device& d = m.devices[i];
        if (d.phase == Phase::running || d.phase == Phase::leaving) {
            if (d.phase == Phase::running) d.engine->stop(now);
            d.phase = Phase::leaving;
        } else {
            d.phase = Phase::waiting;
        }
        m.touched(i);
    }
}

bool Fleet::stopped() const {
    return std::none_of(impl_->devices.begin(), impl_->devices.end(),
                        [](const Device& d) { return d.engine != nullptr; });
}

void Fleet::on_datagram(TimePoint now, std::uint16_t socket, const PeerAddr& from,
                        BytesView bytes) {
    Impl& m = *impl_;
    m.now_ = now;
    if (socket >= m.devices.size() || !m.devices[socket].engine) return;
    m.devices[socket].engine->on_datagram(now, from, bytes);
    m.touched(socket);
}

void Fleet::on_timeout(TimePoint now) {
    Impl& m = *impl_;
    m.now_ = now;
    while (!m.timers.empty() && m.timers.begin()->first <= now) {
        const std::size_t i = m.timers.begin()->second;
        m.timers.erase(m.timers.begin());
        m.keys[i].reset();
        Device& d = m.devices[i];
        if (d.engine) {
            d.engine->on_timeout(now);
        } else if (!m.stopping && (d.phase == Phase::waiting || d.phase == Phase::away)) {
            m.boot(i, now);
            continue;
        }
        m.touched(i);
    }
    if (m.stopping) return;
    if (now >= m.next_value) {
        m.next_value = now + m.cfg.value_interval;
        m.change_values();
    }
    if (m.cfg.churn_fraction > 0 && now >= m.next_churn) {
        m.next_churn = now + m.cfg.churn_interval;
        m.churn(now);
    }
}

std::optional<Datagram> Fleet::poll_transmit() {
    Impl& m = *impl_;
    while (!m.tx_ready.empty()) {
        const std::size_t i = m.tx_ready.front();
        Device& d = m.devices[i];
        if (d.engine) {
            if (auto dg = d.engine->poll_transmit()) {
                dg->socket = static_cast<std::uint16_t>(i);
                d.last_tx = m.now_;
                return dg;
            }
        }
        m.tx_ready.pop_front();
        m.in_tx[i] = false;
    }
    return std::nullopt;
}

std::optional<TimePoint> Fleet::next_deadline() const {
    const Impl& m = *impl_;
    std::optional<TimePoint> t;
    if (!m.timers.empty()) t = m.timers.begin()->first;
    if (!m.stopping) {
        const TimePoint periodic =
            m.cfg.churn_fraction > 0 ? std::min(m.next_value, m.next_churn) : m.next_value;
        if (!t || periodic < *t) t = periodic;
    }
    return t;
}

const FleetStats& Fleet::stats() const {
    return impl_->stats;
}

std::vector<std::string> Fleet::take_acks() {
    std::vector<std::string> out;
    out.swap(impl_->acked);
    return out;
}

double percentile(std::vector<double>& values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto rank =
        static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

} // namespace lwm2m::fleet
