// Client engine: life cycle, links, registration (TS 1.1 §6.2), client-initiated bootstrap
// (TS 1.1 §5.2.5-5.2.6), timers. See engine_impl.hpp for the split.
#include <algorithm>
#include <cmath>
#include <limits>

#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/coap/codec.hpp>
#include <lwm2m/format/link_format.hpp>

#include "client/engine/engine_impl.hpp"

namespace lwm2m::client {

using detail::Account;
using detail::BsState;
using detail::Link;
using detail::LinkEvent;
using detail::ReqKind;

std::string_view to_string(RegState s) noexcept {
    switch (s) {
    case RegState::idle:
        return "idle";
    case RegState::registering:
        return "registering";
    case RegState::registered:
        return "registered";
    case RegState::updating:
        return "updating";
    case RegState::deregistering:
        return "deregistering";
    case RegState::waiting_retry:
        return "waiting-retry";
    case RegState::disabled:
        return "disabled";
    case RegState::failed:
        return "failed";
    }
    return "?";
}

namespace {

std::string_view version_text(dm::Lwm2mVersion v) {
    return dm::to_string(v);
}

Duration seconds(std::int64_t s) {
    // Object 0/1 timers are up to 2^32-1 s: far below Duration's range.
    return std::chrono::seconds(std::max<std::int64_t>(s, 0));
}

/// exp back-off factor 2^n saturating.
std::int64_t pow2(unsigned n) {
    return n >= 30 ? (std::int64_t{1} << 30) : (std::int64_t{1} << n);
}

} // namespace

Engine::Impl::Impl(EngineConfig c, AccountStore& a, const dm::ObjectRegistry& r, Random& rnd,
                   const WallClock& w, Resolver& res, Logger& l)
    : cfg(std::move(c))
    , store(a)
    , registry(r)
    , random(rnd)
    , wall(w)
    , resolver(res)
    , log(l) {
    objects[0] = &store.security();
    objects[1] = &store.server();
}

void Engine::Impl::emit(EngineEvent::Kind k, std::uint16_t ssid, Error e,
                        std::optional<TimePoint> until, std::uint64_t send_id) {
    // Bounded: consecutive state_changed events coalesce; the application drains every step.
    if (k == EngineEvent::Kind::state_changed && !events.empty() &&
        events.back().kind == EngineEvent::Kind::state_changed)
        return;
    if (events.size() >= 256) events.pop_front();
    events.push_back(EngineEvent{k, ShortServerId{ssid}, e, send_id, until});
}

void Engine::Impl::log_line(LogLevel lv, const std::string& m) const {
    if (log.enabled(lv)) log.write(lv, "client.engine", m);
}

Account* Engine::Impl::find_account(std::uint16_t ssid) {
    for (auto& a : accounts)
        if (!a->bootstrap && a->ssid == ssid) return a.get();
    return nullptr;
}

Account* Engine::Impl::bootstrap_account() {
    for (auto& a : accounts)
        if (a->bootstrap) return a.get();
    return nullptr;
}

const ServerInstance* Engine::Impl::server_instance(std::uint16_t ssid) const {
    for (const auto& [iid, s] : store.server().all())
        if (s.short_server_id() == ssid) return &s;
    return nullptr;
}

Duration Engine::Impl::queue_timeout() const {
    return cfg.queue_mode_timeout.count() > 0 ? cfg.queue_mode_timeout
                                              : cfg.coap.max_transmit_wait();
}

Duration Engine::Impl::bootstrap_timeout() const {
    return cfg.bootstrap_timeout.count() > 0 ? cfg.bootstrap_timeout : cfg.coap.exchange_lifetime();
}

// --- links -----------------------------------------------------------------------------------

bool Engine::Impl::connect(Account& a, TimePoint now) {
    if (a.link) {
        a.link->close(now);
        while (auto d = a.link->poll_transmit())
            tx.push_back(std::move(*d));
        retired.push_back(std::move(a.link));
    }
    a.link_broken = false;
    a.addr_ok = false;
    if (!a.security.server_uri) return false;
    auto u = parse_server_uri(*a.security.server_uri);
    if (!u) return false;
    a.uri = *u;
    if (u->host_kind == ServerUri::HostKind::name) {
        auto r = resolver.resolve(u->host, u->port);
        if (!r) {
            log_line(LogLevel::warn, "cannot resolve the host of account /0/" +
                                         std::to_string(a.sec_iid) + ": " + r.error().message());
            return false;
        }
        a.addr = *r;
        a.addr.port = u->port;
    } else {
        auto p = PeerAddr::parse(u->host_kind == ServerUri::HostKind::ipv6
                                     ? "[" + u->host + "]:" + std::to_string(u->port)
                                     : u->host + ":" + std::to_string(u->port));
        if (!p) return false;
        a.addr = *p;
    }
    const auto mode = a.security.security_mode.value_or(SecurityMode::nosec);
    if (mode == SecurityMode::nosec) {
        if (u->secure()) return false;
        a.link = std::make_unique<detail::LinkT<dtls::NoSecChannel>>(
            cfg.coap, random, log, dtls::NoSecChannel{}, a.addr, false);
    } else {
        if (!u->secure()) return false;
        dtls::ClientConfig dc;
        dc.server = a.addr;
        dc.mtu = cfg.dtls_mtu;
        dc.handshake_timeout = cfg.dtls_handshake_timeout;
        dc.logger = &log;
        if (!a.security.ciphersuites.empty()) {
            std::vector<std::uint16_t> cs;
            for (const auto& [riid, v] : a.security.ciphersuites)
                cs.push_back(v);
            auto suites = dtls::cipher_suites_from_iana(cs);
            if (!suites) return false;
            dc.cipher_suites = *suites;
        }
        switch (mode) {
        case SecurityMode::psk:
            dc.credentials =
                dtls::PskCredentials{a.security.public_key_or_identity, a.security.secret_key};
            break;
        case SecurityMode::rpk:
            dc.credentials =
                dtls::RpkCredentials{a.security.public_key_or_identity, a.security.secret_key};
            dc.server_public_key = a.security.server_public_key;
            break;
        case SecurityMode::certificate:
            dc.credentials =
                dtls::X509Credentials{{a.security.public_key_or_identity}, a.security.secret_key};
            dc.server_public_key = a.security.server_public_key;
            dc.certificate_usage =
                static_cast<dtls::CertificateUsage>(a.security.effective_certificate_usage() & 3);
            break;
        default: // Certificate with EST (mode 4) is not implemented
            return false;
        }
        auto s = dtls::ClientSession::create(std::move(dc));
        if (!s) {
            log_line(LogLevel::warn, "DTLS configuration of account /0/" +
                                         std::to_string(a.sec_iid) +
                                         " refused: " + s.error().message());
            return false;
        }
        a.link = std::make_unique<detail::LinkT<dtls::ClientSession>>(cfg.coap, random, log,
                                                                      std::move(*s), a.addr, true);
    }
    a.addr_ok = true;
    return true;
}

bool Engine::Impl::rebuild_accounts(TimePoint now) {
    // Keep an account (and its session) when its Security instance did not change; otherwise a
    // new session. Order: by Security instance id (Registration Priority Order is not used).
    std::vector<std::unique_ptr<Account>> next;
    bool any_dm = false;
    for (const auto& [iid, sec] : store.committed().security) {
        std::unique_ptr<Account> acc;
        for (auto& old : accounts)
            if (old && old->sec_iid == iid && old->security == sec) acc = std::move(old);
        if (!acc) {
            acc = std::make_unique<Account>();
            acc->sec_iid = iid;
            acc->security = sec;
            acc->bootstrap = sec.is_bootstrap();
            acc->ssid = acc->bootstrap ? 0 : sec.short_server_id.value_or(0);
            connect(*acc, now);
        }
        if (!acc->bootstrap) any_dm = true;
        next.push_back(std::move(acc));
    }
    // Accounts that disappeared: their observations go too.
    for (auto& old : accounts)
        if (old) {
            if (!old->bootstrap) drop_observations(old->ssid);
            if (old->link) {
                old->link->close(now);
                pump_link(old.get(), *old->link, now);
            }
        }
    accounts = std::move(next);
    return any_dm;
}

void Engine::Impl::pump(TimePoint now) {
    for (auto& a : accounts)
        if (a->link) pump_link(a.get(), *a->link, now);
    if (download && download->own_link) pump_link(nullptr, *download->own_link, now);
}

void Engine::Impl::pump_link(Account* a, Link& link, TimePoint now) {
    for (int round = 0; round < 64; ++round) {
        link.flush(now);
        bool progress = false;
        while (auto ev = link.poll_event()) {
            progress = true;
            on_link_event(a, link, *ev, now);
        }
        while (auto d = link.poll_transmit()) {
            tx.push_back(std::move(*d));
            if (a) touch(*a, now);
        }
        if (!progress) return;
    }
}

void Engine::Impl::touch(Account& a, TimePoint now) {
    a.last_activity = now;
    if (a.asleep) {
        a.asleep = false;
        emit(EngineEvent::Kind::awake, a.ssid);
    }
}

void Engine::Impl::on_link_event(Account* a, Link& link, LinkEvent& ev, TimePoint now) {
    if (auto* de = std::get_if<dtls::Event>(&ev)) {
        if (std::holds_alternative<dtls::HandshakeDone>(*de)) {
            ++stats.dtls_handshakes;
        } else if (const auto* f = std::get_if<dtls::HandshakeFailed>(de)) {
            log_line(LogLevel::warn, "DTLS handshake with " + f->peer.to_string() +
                                         " failed: " + f->error.message());
            if (a) a->link_broken = true;
        } else if (const auto* c = std::get_if<dtls::Closed>(de)) {
            log_line(LogLevel::info, "DTLS session with " + c->peer.to_string() +
                                         " closed: " + c->reason.message());
            if (a) a->link_broken = true;
        }
        return;
    }
    auto& ce = std::get<coap::Event>(ev);
    if (auto* in = std::get_if<coap::IncomingRequest>(&ce)) {
        if (a == nullptr) {
            // The package host does not send requests: 4.05 keeps it from waiting.
            coap::Message r;
            r.code = coap::code::method_not_allowed;
            (void)link.coap().send_response(now, in->id, std::move(r));
            return;
        }
        touch(*a, now);
        handle_request(*a, *in, now);
        return;
    }
    if (auto* r = std::get_if<coap::Response>(&ce)) {
        if (download && download->req && *download->req == r->id &&
            ((a == nullptr && download->own_link) || (a != nullptr && download->via == a))) {
            on_download_result(&r->response, {});
            return;
        }
        if (a) on_response(*a, r->id, &r->response, {}, now);
        return;
    }
    if (auto* f = std::get_if<coap::RequestFailed>(&ce)) {
        if (download && download->req && *download->req == f->id &&
            ((a == nullptr && download->own_link) || (a != nullptr && download->via == a))) {
            on_download_result(nullptr, f->error);
            return;
        }
        if (a) on_response(*a, f->id, nullptr, f->error, now);
        return;
    }
    if (auto* e = std::get_if<coap::ObservationEnded>(&ce)) {
        if (a) forget_observation(e->id, a->ssid);
        return;
    }
    // coap::Notification: the client observes nothing.
}

// --- registration ----------------------------------------------------------------------------

std::string Engine::Impl::object_links() const {
    // TS 1.1 §6.2.1.1: every object and instance except Object 0 (Security) and Object 21
    // (OSCORE), which never leave the client; `ver=` when the object version is not the one the
    // enabler version implies (TS 1.2 §6.2.1.1: core objects default to the version published
    // with the enabler, every other object to 1.0).
    std::vector<format::RegisterObject> objs;
    for (const auto& [oid, h] : objects) {
        if (oid == 0 || oid == 21) continue;
        format::RegisterObject o;
        o.oid = oid;
        const std::string_view v = h->version();
        std::string_view def = "1.0";
        if (const auto d = dm::builtin_object_version(cfg.version, oid);
            d && cfg.version != dm::Lwm2mVersion::v1_0)
            def = *d;
        // Object 1 is the AccountStore's ServerObject: it carries the enabler's own version.
        if (v != def && oid != 1) o.version = std::string(v);
        for (const Iid i : h->instances())
            o.instances.push_back(i.v);
        objs.push_back(std::move(o));
    }
    format::RegisterLinkOptions opt;
    if (cfg.version != dm::Lwm2mVersion::v1_0) {
        // TS 1.1 §6.2.1: optional formats on the root link (ct=).
        if (!cfg.advertised_formats.empty()) {
            opt.content_formats = cfg.advertised_formats;
        } else {
            const auto pf = preferred_format();
            if (pf != format::ContentFormat::text_plain &&
                pf != format::ContentFormat::octet_stream)
                opt.content_formats.push_back(static_cast<std::uint16_t>(pf));
        }
    }
    return format::encode_register_links(objs, opt);
}

namespace {

std::string binding_of(const ServerInstance* s, const EngineConfig& cfg) {
    std::string b = s != nullptr ? s->binding().value_or("U") : "U";
    std::erase(b, 'Q');
    // TS 1.0 §5.3.1.1: queue mode is the binding "UQ"; TS 1.1 §6.2.1.1: a separate "Q" parameter.
    if (cfg.queue_mode && cfg.version == dm::Lwm2mVersion::v1_0) b += 'Q';
    return b;
}

} // namespace

Result<void> Engine::Impl::send_register(Account& a, TimePoint now) {
    if (!a.link || a.link_broken) {
        if (!connect(a, now)) return fail(lwm2m::Errc::io_error);
    }
    const ServerInstance* s = server_instance(a.ssid);
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::post;
    m.set_path("/rd");
    // TS 1.1 §6.2.1.1 Register parameters.
    m.add_option(coap::option::uri_query, "ep=" + cfg.endpoint_name);
    const std::int64_t lt = s != nullptr ? s->lifetime().value_or(86400) : 86400;
    m.add_option(coap::option::uri_query, "lt=" + std::to_string(lt));
    m.add_option(coap::option::uri_query, "lwm2m=" + std::string(version_text(cfg.version)));
    const std::string b = binding_of(s, cfg);
    m.add_option(coap::option::uri_query, "b=" + b);
    if (cfg.queue_mode && cfg.version != dm::Lwm2mVersion::v1_0)
        m.add_option(coap::option::uri_query, std::string_view("Q"));
    if (cfg.sms_number) m.add_option(coap::option::uri_query, "sms=" + *cfg.sms_number);
    m.add_uint_option(coap::option::content_format, coap::content_format::link_format);
    const std::string links = object_links();
    m.payload = to_bytes(links);
    auto id = a.link->coap().send_request(now, a.addr, std::move(m));
    if (!id) return fail(id.error());
    a.req = *id;
    a.req_kind = ReqKind::reg;
    a.state = RegState::registering;
    a.reg_lifetime = lt;
    a.reg_binding = b;
    a.reg_links = links;
    a.reg_queue = cfg.queue_mode;
    pump_link(&a, *a.link, now);
    return ok();
}

Result<void> Engine::Impl::send_update(Account& a, TimePoint now) {
    if (!a.link || a.link_broken) {
        if (!connect(a, now)) return fail(lwm2m::Errc::io_error);
    }
    const ServerInstance* s = server_instance(a.ssid);
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::post;
    for (const Bytes& seg : a.location) // echoed exactly as received (never re-split)
        m.add_option(coap::option::uri_path, seg);
    // TS 1.1 §6.2.2: only the parameters that changed.
    const std::int64_t lt = s != nullptr ? s->lifetime().value_or(86400) : 86400;
    const std::string b = binding_of(s, cfg);
    const std::string links = object_links();
    if (lt != a.reg_lifetime || a.full_update)
        m.add_option(coap::option::uri_query, "lt=" + std::to_string(lt));
    if (b != a.reg_binding || a.full_update) m.add_option(coap::option::uri_query, "b=" + b);
    if (cfg.queue_mode && cfg.version != dm::Lwm2mVersion::v1_0 && (a.full_update || !a.reg_queue))
        m.add_option(coap::option::uri_query, std::string_view("Q"));
    if (links != a.reg_links || a.full_update) {
        m.add_uint_option(coap::option::content_format, coap::content_format::link_format);
        m.payload = to_bytes(links);
    }
    auto id = a.link->coap().send_request(now, a.addr, std::move(m));
    if (!id) return fail(id.error());
    a.req = *id;
    a.req_kind = ReqKind::update;
    a.state = RegState::updating;
    a.update_requested = false;
    a.reg_lifetime = lt;
    a.reg_binding = b;
    a.reg_links = links;
    a.reg_queue = cfg.queue_mode;
    a.full_update = false;
    pump_link(&a, *a.link, now);
    return ok();
}

void Engine::Impl::send_deregister(Account& a, TimePoint now) {
    if (!a.link || !a.reg_valid || a.location.empty()) {
        a.state = RegState::idle;
        a.reg_valid = false;
        return;
    }
    if (a.req) (void)a.link->coap().cancel_request(now, *a.req);
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::delete_;
    for (const Bytes& seg : a.location)
        m.add_option(coap::option::uri_path, seg);
    auto id = a.link->coap().send_request(now, a.addr, std::move(m));
    a.reg_valid = false;
    if (!id) {
        a.state = RegState::idle;
        emit(EngineEvent::Kind::deregistered, a.ssid);
        return;
    }
    a.req = *id;
    a.req_kind = ReqKind::dereg;
    a.state = RegState::deregistering;
    pump_link(&a, *a.link, now);
}

void Engine::Impl::schedule_registered(Account& a, TimePoint now) {
    // The Update goes early enough for all its retransmissions (MAX_TRANSMIT_WAIT) to fit
    // before the lifetime ends (TS 1.1 §6.2.2), at most half the lifetime early.
    const Duration life = seconds(a.reg_lifetime);
    Duration margin = std::max(cfg.update_margin, cfg.coap.max_transmit_wait());
    margin = std::min(margin, life / 2);
    a.state = RegState::registered;
    a.reg_valid = true;
    a.reg_at = now;
    a.expires_at = now + life;
    a.update_at = now + life - margin;
    a.attempt = 0;
    a.sequence = 0;
    a.last_activity = now;
}

void Engine::Impl::registration_failed(Account& a, TimePoint now, Error err) {
    // TS 1.1 §6.2.1.1 / Object 1 Resources 17-20: Communication Retry Count attempts (default
    // 5) spaced Communication Retry Timer * 2^(n-1) (default 60 s), then Communication Sequence
    // Delay Timer (default 24 h) before the next sequence, Communication Sequence Retry Count
    // sequences (default 1). LwM2M 1.0 has no such resources: the same defaults apply.
    const ServerInstance* s = server_instance(a.ssid);
    const ServerInstance defaults;
    const ServerInstance& si = s != nullptr ? *s : defaults;
    a.link_broken = a.link_broken || a.link == nullptr || (a.link && a.link->secure());
    ++a.attempt;
    if (a.attempt < si.communication_retry_count()) {
        a.state = RegState::waiting_retry;
        a.timer = now + seconds(static_cast<std::int64_t>(si.communication_retry_timer()) *
                                pow2(a.attempt - 1));
        return;
    }
    ++a.sequence;
    if (a.sequence < si.communication_sequence_retry_count()) {
        a.attempt = 0;
        a.retry_is_update = false;
        a.state = RegState::waiting_retry;
        a.timer = now + seconds(static_cast<std::int64_t>(si.communication_sequence_delay()));
        return;
    }
    a.state = RegState::failed;
    a.reg_valid = false;
    emit(EngineEvent::Kind::registration_failed, a.ssid, err);
    log_line(LogLevel::warn, "registration with server " + std::to_string(a.ssid) +
                                 " failed after every retry: " + err.message());
    // TS 1.1 E.2 Resource 16 "Bootstrap on Registration Failure" (default true).
    bool bootstrap_on_failure = true;
    if (s != nullptr) {
        const auto it = s->resources.find(server_rid::bootstrap_on_registration_failure);
        if (it != s->resources.end())
            if (const auto* b = std::get_if<bool>(&it->second.value.storage()))
                bootstrap_on_failure = *b;
    }
    if (bootstrap_on_failure && bootstrap_account() != nullptr && bs == BsState::idle)
        start_bootstrap(now, false);
}

void Engine::Impl::on_response(Account& a, coap::RequestId id, const coap::Message* resp, Error err,
                               TimePoint now) {
    if (auto it = a.sends.find(id.value); it != a.sends.end()) {
        const std::uint64_t sid = it->second;
        a.sends.erase(it);
        if (resp != nullptr && resp->code.is_success())
            emit(EngineEvent::Kind::send_done, a.ssid, {}, std::nullopt, sid);
        else
            emit(EngineEvent::Kind::send_failed, a.ssid,
                 resp != nullptr ? Error(static_cast<Status>(resp->code.value)) : err, std::nullopt,
                 sid);
        return;
    }
    if (!a.req || *a.req != id) return;
    const ReqKind kind = a.req_kind;
    a.req.reset();
    a.req_kind = ReqKind::none;
    const Error failure =
        resp != nullptr ? Error(make_error_code(static_cast<Status>(resp->code.value))) : err;
    switch (kind) {
    case ReqKind::reg:
        if (resp != nullptr && resp->code == coap::code::created) {
            a.location.clear();
            for (const auto& o : resp->options())
                if (o.number == coap::option::location_path)
                    a.location.emplace_back(o.value.begin(), o.value.end());
            schedule_registered(a, now);
            ++stats.registrations;
            emit(EngineEvent::Kind::registered, a.ssid);
            state_changed();
            flush_stored(a, now);
            if (a.update_requested) a.update_at = now;
        } else {
            registration_failed(a, now, failure);
        }
        break;
    case ReqKind::update:
        if (resp != nullptr && resp->code == coap::code::changed) {
            schedule_registered(a, now);
            ++stats.updates;
            emit(EngineEvent::Kind::updated, a.ssid);
            state_changed();
            flush_stored(a, now);
            if (a.update_requested) a.update_at = now;
        } else if (resp != nullptr) {
            // TS 1.1 §6.2.2: a 4.04 (registration unknown, e.g. the server restarted) or any
            // other error answer: register again.
            a.reg_valid = false;
            a.attempt = 0;
            a.sequence = 0;
            if (!send_register(a, now)) registration_failed(a, now, failure);
        } else if (now < a.expires_at) {
            // No answer: retry the Update while the registration is still valid, over a new
            // DTLS session (the server may have dropped ours: nothing tells the client).
            a.link_broken = a.link_broken || (a.link && a.link->secure());
            a.state = RegState::waiting_retry;
            a.retry_is_update = true;
            const ServerInstance* s = server_instance(a.ssid);
            const std::uint64_t t = s != nullptr ? s->communication_retry_timer() : 60;
            a.timer = std::min(now + seconds(static_cast<std::int64_t>(t)), a.expires_at);
        } else {
            a.reg_valid = false;
            a.retry_is_update = false;
            registration_failed(a, now, failure);
        }
        break;
    case ReqKind::dereg:
        a.state = a.disable_after_dereg ? RegState::disabled : RegState::idle;
        a.disable_after_dereg = false;
        a.reg_valid = false;
        a.location.clear();
        emit(EngineEvent::Kind::deregistered, a.ssid);
        state_changed();
        break;
    case ReqKind::bs_request:
        if (resp != nullptr && resp->code == coap::code::changed) {
            // TS 1.1 §5.2.7.1: the Bootstrap Server now writes; Finish ends it.
            if (bs == BsState::requesting) {
                bs = BsState::active;
                bs_timer = now + bootstrap_timeout();
            }
        } else if (bs == BsState::requesting) {
            bootstrap_failed(now, failure);
        }
        break;
    case ReqKind::none:
        break;
    }
}

bool Engine::Impl::can_talk(const Account& a) const {
    return a.state == RegState::registered || a.state == RegState::updating;
}

void Engine::Impl::wake(Account& a, TimePoint now) {
    if (a.asleep) touch(a, now);
}

void Engine::Impl::disable(Account& a, TimePoint now) {
    // TS 1.1 E.2 Resource 4: de-register and stay offline for the Disable Timeout (Resource 5).
    const ServerInstance* s = server_instance(a.ssid);
    const std::int64_t t = s != nullptr ? s->disable_timeout() : 86400;
    a.timer = now + seconds(t);
    a.disable_after_dereg = true;
    send_deregister(a, now);
    if (a.state != RegState::deregistering) {
        a.state = RegState::disabled;
        a.disable_after_dereg = false;
    }
    a.retry_is_update = false;
    emit(EngineEvent::Kind::disabled, a.ssid, {}, a.timer);
}

void Engine::Impl::run_server_actions(TimePoint now) {
    while (auto act = store.server().poll_action()) {
        Account* a = find_account(act->ssid);
        switch (act->kind) {
        case ServerAction::Kind::registration_update:
            if (a != nullptr) {
                a->update_requested = true;
                if (a->state == RegState::registered) a->update_at = now;
            }
            break;
        case ServerAction::Kind::disable:
            if (a != nullptr) disable(*a, now);
            break;
        case ServerAction::Kind::bootstrap_request:
            // TS 1.1 E.2 Resource 9: client-initiated bootstrap now (no hold-off: asked for).
            if (bootstrap_account() != nullptr) start_bootstrap(now, true);
            break;
        }
    }
}

// --- bootstrap (client side) ------------------------------------------------------------------

void Engine::Impl::apply_factory() {
    if (factory == nullptr) return;
    auto content = factory->factory_content();
    if (!content) {
        log_line(LogLevel::warn, "factory configuration unavailable: " + content.error().message());
        return;
    }
    const Actor actor = Actor::factory();
    bool ok_all = true;
    for (const auto& c : *content) {
        if (c.path.is_root()) {
            ok_all = false;
            continue;
        }
        ObjectHandler* h = handler(c.path.oid().v);
        if (h == nullptr || !h->write(actor, c.path, c, WriteMode::replace)) ok_all = false;
    }
    const FinishResult r = store.finish(actor, current);
    if (!r.ok || !ok_all) {
        log_line(LogLevel::warn, "factory configuration rejected (" +
                                     std::to_string(r.reasons.size()) + " reasons)");
        return;
    }
    state_changed();
}

void Engine::Impl::start_bootstrap(TimePoint now_, bool immediate) {
    Account* b = bootstrap_account();
    if (b == nullptr) return;
    if (bs == BsState::active || bs == BsState::requesting) return;
    // TS 1.1 §5.2.5 / E.1 Resource 11: wait the Client Hold Off Time; a random extra wait so that
    // a fleet losing its server does not storm the Bootstrap Server; exponential back-off on
    // repeated failures.
    const std::int64_t hold = b->security.client_hold_off.value_or(0);
    Duration wait = immediate && bs_attempt == 0 ? Duration{0} : seconds(hold);
    if (bs_attempt > 0) {
        const Duration base = std::max<Duration>(seconds(hold), std::chrono::seconds(1));
        const std::int64_t f = pow2(std::min(bs_attempt, 20u));
        wait = base.count() > cfg.bootstrap_backoff_max.count() / f ? cfg.bootstrap_backoff_max
                                                                    : base * f;
        wait = std::min(wait, cfg.bootstrap_backoff_max);
    }
    if (!immediate || bs_attempt > 0) {
        const auto j_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg.bootstrap_jitter).count();
        if (j_ms > 0)
            wait += std::chrono::milliseconds(random.uniform(
                static_cast<std::uint32_t>(std::min<std::int64_t>(j_ms, 0xffffffffLL)) + 1));
    }
    bs = BsState::hold_off;
    bs_timer = now_ + wait;
    state_changed(); // the hold-off deadline is persisted
}

void Engine::Impl::send_bootstrap_request(TimePoint now_) {
    Account* b = bootstrap_account();
    if (b == nullptr) {
        bs = BsState::idle;
        return;
    }
    if (!b->link || b->link_broken || bs_attempt > 0) {
        if (!connect(*b, now_)) {
            bootstrap_failed(now_, make_error_code(lwm2m::Errc::io_error));
            return;
        }
    }
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::post;
    m.set_path("/bs");
    m.add_option(coap::option::uri_query, "ep=" + cfg.endpoint_name);
    if (cfg.version != dm::Lwm2mVersion::v1_0) {
        // TS 1.1 §5.2.7.1: preferred content format for the Bootstrap-Write/-Read payloads.
        const auto pct = cfg.bootstrap_pct.value_or(preferred_format());
        m.add_option(coap::option::uri_query,
                     "pct=" + std::to_string(static_cast<std::uint16_t>(pct)));
    }
    auto id = b->link->coap().send_request(now_, b->addr, std::move(m));
    if (!id) {
        bootstrap_failed(now_, id.error());
        return;
    }
    b->req = *id;
    b->req_kind = ReqKind::bs_request;
    bs = BsState::requesting;
    emit(EngineEvent::Kind::bootstrap_started);
    pump_link(b, *b->link, now_);
}

void Engine::Impl::bootstrap_failed(TimePoint now_, Error err) {
    // Keep the last consistent configuration (TS 1.1 §5.2.7.6) and retry with back-off.
    store.rollback();
    emit(EngineEvent::Kind::bootstrap_failed, 0, err);
    log_line(LogLevel::warn, "bootstrap failed: " + err.message());
    bs = BsState::idle;
    ++bs_attempt;
    start_bootstrap(now_, false);
}

void Engine::Impl::finish_bootstrap(TimePoint now_) {
    bs_finish_pending = false;
    bs = BsState::idle;
    bs_attempt = 0;
    ++stats.bootstraps;
    emit(EngineEvent::Kind::bootstrap_finished);
    state_changed();
    // Register with the new configuration: every DM account starts over (TS 1.1 §5.2.7.6).
    for (auto& a : accounts)
        if (!a->bootstrap) {
            a->reg_valid = false;
            a->state = RegState::idle;
        }
    const bool any_dm = rebuild_accounts(now_);
    for (auto& a : accounts) {
        if (a->bootstrap) continue;
        a->state = RegState::idle;
        a->attempt = a->sequence = 0;
        a->timer = now_;
    }
    if (!any_dm) start_bootstrap(now_, false);
}

// --- the step --------------------------------------------------------------------------------

void Engine::Impl::step(TimePoint t) {
    current = t;
    if (!started) return;
    if (bs_finish_pending) finish_bootstrap(t);
    if (auto d = store.next_deadline(); d && *d <= t) {
        if (store.on_timeout(t)) {
            emit(EngineEvent::Kind::account_purged);
            state_changed();
            if (bs != BsState::idle && bs != BsState::hold_off) {
                store.rollback();
                bs = BsState::idle;
            }
            rebuild_accounts(t);
        }
    }
    // Bootstrap timers.
    if (bs == BsState::hold_off && t >= bs_timer) send_bootstrap_request(t);
    if (bs == BsState::active && t >= bs_timer)
        bootstrap_failed(t, make_error_code(coap::Errc::timeout));
    const bool bootstrapping = bs == BsState::requesting || bs == BsState::active;
    for (auto& ap : accounts) {
        Account& a = *ap;
        if (a.bootstrap) continue;
        if (stopping || bootstrapping) continue;
        switch (a.state) {
        case RegState::idle:
            if (t >= a.timer) {
                if (a.reg_valid) {
                    a.full_update = true;
                    if (!send_update(a, t))
                        registration_failed(a, t, make_error_code(lwm2m::Errc::io_error));
                } else if (!send_register(a, t)) {
                    registration_failed(a, t, make_error_code(lwm2m::Errc::io_error));
                }
            }
            break;
        case RegState::waiting_retry:
        case RegState::disabled:
            if (t >= a.timer) {
                Result<void> r = (a.state == RegState::waiting_retry && a.retry_is_update &&
                                  a.reg_valid && t < a.expires_at)
                                     ? send_update(a, t)
                                     : send_register(a, t);
                if (!r) registration_failed(a, t, r.error());
            }
            break;
        case RegState::registered:
            if (t >= a.update_at || a.update_requested) {
                if (auto r = send_update(a, t); !r) registration_failed(a, t, r.error());
            } else if (cfg.queue_mode && !a.asleep && a.sends.empty() &&
                       t >= a.last_activity + queue_timeout()) {
                // TS 1.1 §6.5: stop listening after the queue-mode timer since the last exchange.
                a.asleep = true;
                emit(EngineEvent::Kind::sleeping, a.ssid, {}, a.update_at);
            }
            break;
        default:
            break;
        }
    }
    evaluate_observations(t);
    update_stopped();
}

void Engine::Impl::update_stopped() {
    if (!stopping) return;
    for (auto& a : accounts)
        if (a->state == RegState::deregistering) return;
    is_stopped = true;
}

std::optional<TimePoint> Engine::Impl::deadline() const {
    std::optional<TimePoint> best;
    auto take = [&](std::optional<TimePoint> t) {
        if (t && (!best || *t < *best)) best = t;
    };
    for (const auto& a : accounts)
        if (a->link) take(a->link->next_deadline());
    if (download && download->own_link) take(download->own_link->next_deadline());
    if (!started) return best;
    if (dirty || bs_finish_pending) take(current);
    take(store.next_deadline());
    if (bs == BsState::hold_off || bs == BsState::active) take(bs_timer);
    const bool bootstrapping = bs == BsState::requesting || bs == BsState::active;
    for (const auto& a : accounts) {
        if (a->bootstrap || stopping || bootstrapping) continue;
        switch (a->state) {
        case RegState::idle:
        case RegState::waiting_retry:
        case RegState::disabled:
            take(a->timer);
            break;
        case RegState::registered:
            take(a->update_requested ? current : a->update_at);
            if (cfg.queue_mode && !a->asleep && a->sends.empty())
                take(a->last_activity + queue_timeout());
            break;
        default:
            break;
        }
    }
    for (const auto& o : observations)
        take(observation_deadline(o));
    return best;
}

EngineState Engine::Impl::build_state() const {
    EngineState s;
    for (const auto& a : accounts) {
        if (a->bootstrap || !a->reg_valid) continue;
        PersistedRegistration r;
        r.ssid = a->ssid;
        r.location = a->location;
        r.lifetime = a->reg_lifetime;
        r.binding = a->reg_binding;
        r.object_links = a->reg_links;
        const auto since = std::chrono::duration_cast<std::chrono::seconds>(current - a->reg_at);
        r.registered_at = wall.unix_seconds() - since.count();
        r.queue_mode = a->reg_queue;
        s.registrations.push_back(std::move(r));
    }
    for (const auto& [key, attrs] : attributes)
        s.attributes.push_back(PersistedAttributes{key.first, key.second, attrs});
    for (const auto& o : observations) {
        PersistedObservation p;
        p.ssid = o.ssid;
        p.token = Bytes(o.token.view().begin(), o.token.view().end());
        p.format = static_cast<std::uint16_t>(o.fmt);
        p.composite = o.composite;
        p.paths = o.paths;
        for (const auto& a : accounts)
            if (!a->bootstrap && a->ssid == o.ssid && a->link)
                p.seq = a->link->coap().observation_seq(o.id).value_or(0);
        s.observations.push_back(std::move(p));
    }
    if (bs == BsState::hold_off) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(bs_timer - current);
        s.bootstrap_at = wall.unix_seconds() + std::max<std::int64_t>(left.count(), 0);
    }
    return s;
}

// --- Engine ----------------------------------------------------------------------------------

Engine::Engine(EngineConfig config, AccountStore& accounts, const dm::ObjectRegistry& registry,
               Random& random, const WallClock& wall, Resolver& resolver, Logger& logger)
    : impl_(std::make_unique<Impl>(std::move(config), accounts, registry, random, wall, resolver,
                                   logger)) {}

Engine::~Engine() = default;

Result<void> Engine::add_object(ObjectHandler& object) {
    if (impl_->started) return fail(lwm2m::Errc::invalid_state);
    const std::uint16_t oid = object.oid().v;
    if (oid <= 1 || impl_->objects.count(oid) != 0) return fail(lwm2m::Errc::invalid_argument);
    impl_->objects[oid] = &object;
    return ok();
}

void Engine::set_access_controller(AccessController* acl) noexcept {
    impl_->acl = acl;
}
void Engine::set_factory_source(FactorySource* source) noexcept {
    impl_->factory = source;
}

Result<void> Engine::restore_state(BytesView state, TimePoint now) {
    if (impl_->started) return fail(lwm2m::Errc::invalid_state);
    LWM2M_TRY(s, decode_engine_state(state));
    impl_->current = now;
    impl_->restored = std::move(s);
    return ok();
}

void Engine::start(TimePoint now) {
    Impl& m = *impl_;
    if (m.started) return;
    m.current = now;
    if (m.store.committed().needs_bootstrap()) m.apply_factory();
    m.started = true;
    const bool any_dm = m.rebuild_accounts(now);
    const std::int64_t unix_now = m.wall.unix_seconds();
    for (auto& ap : m.accounts) {
        Account& a = *ap;
        if (a.bootstrap) continue;
        a.state = RegState::idle;
        // TS 1.1 E.2 Resource 14: Initial Registration Delay Timer.
        std::int64_t delay = 0;
        if (const ServerInstance* s = m.server_instance(a.ssid)) {
            const auto it = s->resources.find(server_rid::initial_registration_delay);
            if (it != s->resources.end())
                if (const auto* u = std::get_if<std::uint64_t>(&it->second.value.storage()))
                    delay = static_cast<std::int64_t>(std::min<std::uint64_t>(*u, 0xffffffffu));
        }
        a.timer = now + seconds(delay);
        if (!m.restored) continue;
        for (const auto& r : m.restored->registrations) {
            if (r.ssid != a.ssid) continue;
            // A registration restored as still valid continues with an Update (with every
            // parameter: the server may have lost nothing, but our address may have changed).
            const std::int64_t left = r.registered_at + r.lifetime - unix_now;
            if (left > 0 && left <= r.lifetime) {
                a.location = r.location;
                a.reg_lifetime = r.lifetime;
                a.reg_binding = r.binding;
                a.reg_links = r.object_links;
                a.reg_queue = r.queue_mode;
                a.reg_valid = true;
                a.reg_at = now - std::chrono::seconds(r.lifetime - left);
                a.expires_at = now + std::chrono::seconds(left);
                a.timer = now;
            }
        }
    }
    if (m.restored) {
        for (const auto& pa : m.restored->attributes)
            if (m.find_account(pa.ssid) != nullptr &&
                m.attributes.size() <
                    m.cfg.max_attribute_entries * std::max<std::size_t>(m.accounts.size(), 1))
                m.attributes[{pa.ssid, pa.path}] = pa.attrs;
        // Observations of registrations that continue (the server keeps them after an Update):
        // re-created in the CoAP endpoint with their token and sequence number.
        for (const auto& po : m.restored->observations) {
            Account* a = m.find_account(po.ssid);
            if (a == nullptr || !a->reg_valid || !a->link || po.paths.empty() || po.token.empty() ||
                po.token.size() > 8)
                continue;
            const auto fmt = format::content_format_from(po.format);
            if (!fmt) continue;
            auto id =
                a->link->coap().restore_observation(now, a->addr, coap::Token(po.token), po.seq);
            if (!id) continue;
            detail::Observation o;
            o.ssid = po.ssid;
            o.id = *id;
            o.token = coap::Token(po.token);
            o.paths = po.paths;
            o.composite = po.composite;
            o.fmt = *fmt;
            o.last_notify = o.last_eval = now;
            o.changed = true; // the value may have changed while we were down
            m.observations.push_back(std::move(o));
        }
        m.dirty = !m.observations.empty();
        if (m.restored->bootstrap_at && m.bootstrap_account() != nullptr && !any_dm) {
            m.bs = BsState::hold_off;
            m.bs_timer = now + seconds(std::min<std::int64_t>(*m.restored->bootstrap_at - unix_now,
                                                              0xffffffffLL));
        }
        m.restored.reset();
    }
    if (!any_dm && m.bs == BsState::idle) m.start_bootstrap(now, false);
    m.step(now);
    m.pump(now);
    m.retired.clear();
}

void Engine::stop(TimePoint now) {
    Impl& m = *impl_;
    m.current = now;
    m.stopping = true;
    for (auto& a : m.accounts)
        if (!a->bootstrap && a->reg_valid) m.send_deregister(*a, now);
    m.step(now);
    m.pump(now);
}

bool Engine::stopped() const noexcept {
    return impl_->is_stopped;
}

Result<void> Engine::trigger_update(TimePoint now, std::optional<ShortServerId> ssid) {
    Impl& m = *impl_;
    m.current = now;
    bool found = false;
    for (auto& a : m.accounts) {
        if (a->bootstrap || (ssid && a->ssid != ssid->v)) continue;
        found = true;
        a->update_requested = true;
        m.wake(*a, now);
    }
    if (!found) return fail(lwm2m::Errc::not_found);
    m.step(now);
    m.pump(now);
    m.retired.clear();
    return ok();
}

Result<void> Engine::request_bootstrap(TimePoint now) {
    Impl& m = *impl_;
    m.current = now;
    if (m.bootstrap_account() == nullptr) return fail(lwm2m::Errc::not_found);
    m.start_bootstrap(now, true);
    m.step(now);
    m.pump(now);
    m.retired.clear();
    return ok();
}

Result<std::uint64_t> Engine::send(TimePoint now, ShortServerId ssid,
                                   const std::vector<dm::Path>& paths) {
    Impl& m = *impl_;
    m.current = now;
    auto r = m.do_send(now, ssid.v, paths);
    m.pump(now);
    m.retired.clear();
    return r;
}

void Engine::on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes) {
    Impl& m = *impl_;
    m.current = now;
    Account* target = nullptr;
    for (auto& a : m.accounts)
        if (a->link && a->addr_ok && a->addr == from) target = a.get();
    if (target != nullptr) {
        target->link->on_datagram(now, from, bytes);
        m.pump_link(target, *target->link, now);
    } else if (m.download && m.download->own_link && m.download->addr == from) {
        m.download->own_link->on_datagram(now, from, bytes);
        m.pump_link(nullptr, *m.download->own_link, now);
    } else {
        // Not from a configured server (a spoofed source, or a server answering from another
        // address than its URI names): dropped. Logged at the 1st, 2nd, 4th, 8th... so that a
        // flood cannot fill the log but a misconfiguration shows at once.
        const std::uint64_t n = ++m.stats.unknown_source_dropped;
        if ((n & (n - 1)) == 0)
            m.log_line(LogLevel::info, "dropped a datagram from " + from.to_string() +
                                           ", which is no configured server (" + std::to_string(n) +
                                           " so far)");
        return;
    }
    m.run_server_actions(now);
    if (m.dirty) m.evaluate_observations(now);
    m.pump(now);
    m.update_stopped();
    m.retired.clear();
}

void Engine::on_timeout(TimePoint now) {
    Impl& m = *impl_;
    m.current = now;
    for (auto& a : m.accounts)
        if (a->link)
            if (auto d = a->link->next_deadline(); d && *d <= now) a->link->on_timeout(now);
    if (m.download && m.download->own_link)
        if (auto d = m.download->own_link->next_deadline(); d && *d <= now)
            m.download->own_link->on_timeout(now);
    m.pump(now);
    m.run_server_actions(now);
    m.step(now);
    m.pump(now);
    m.retired.clear();
}

std::optional<Datagram> Engine::poll_transmit() {
    if (impl_->tx.empty()) return std::nullopt;
    Datagram d = std::move(impl_->tx.front());
    impl_->tx.pop_front();
    return d;
}

std::optional<EngineEvent> Engine::poll_event() {
    if (impl_->events.empty()) return std::nullopt;
    EngineEvent e = impl_->events.front();
    impl_->events.pop_front();
    return e;
}

std::optional<TimePoint> Engine::next_deadline() const {
    return impl_->deadline();
}

void Engine::on_changed(const dm::Path& path) {
    impl_->mark_changed(path);
}

void Engine::start_download(std::string_view uri, DownloadSink& sink) {
    impl_->start_download(uri, sink);
}

void Engine::cancel_download() {
    impl_->cancel_download();
}

EngineSnapshot Engine::snapshot() const {
    return EngineSnapshot{encode_config(impl_->store.committed()),
                          encode_engine_state(impl_->build_state())};
}

RegState Engine::reg_state(ShortServerId ssid) const {
    for (const auto& a : impl_->accounts)
        if (!a->bootstrap && a->ssid == ssid.v) return a->state;
    return RegState::idle;
}

bool Engine::bootstrapping() const noexcept {
    return impl_->bs == BsState::requesting || impl_->bs == BsState::active;
}

bool Engine::listening() const noexcept {
    bool any = false;
    for (const auto& a : impl_->accounts) {
        if (a->bootstrap) continue;
        any = true;
        if (!a->asleep) return true;
    }
    return !any || impl_->bs != BsState::idle;
}

EngineStats Engine::stats() const noexcept {
    return impl_->stats;
}

const EngineConfig& Engine::config() const noexcept {
    return impl_->cfg;
}

} // namespace lwm2m::client
