// server::Engine: construction, the listeners (CoAP or CoAP over DTLS per socket), datagram and
// timer dispatch, output polling and the query API. The Registration Interface is in
// engine_registration.cpp, downlink requests in engine_requests.cpp.
#include <algorithm>

#include <lwm2m/base/errc.hpp>

#include "server/engine_impl.hpp"

namespace lwm2m::server {

using detail::Listener;

Engine::Impl::Impl(EngineConfig config, EngineDeps deps)
    : cfg(std::move(config))
    , security(deps.security)
    , random(deps.random)
    , wall(deps.wall_clock)
    , log(deps.logger)
    , credentials(deps.security, cfg.x509_cn_is_endpoint)
    , models(cfg.objects, !cfg.strict, cfg.max_model_profiles) {}

Result<Engine> Engine::create(EngineConfig config, EngineDeps deps) {
    if (config.listeners.empty() || config.listeners.size() > 0xFFFF)
        return fail(lwm2m::Errc::invalid_argument);
    if (config.rd_path.empty() || config.rd_path.find('/') != std::string::npos)
        return fail(lwm2m::Errc::invalid_argument);
    if (config.max_inflight_requests == 0) return fail(lwm2m::Errc::invalid_argument);
    if (config.location_prefix.size() > 16 ||
        !std::all_of(config.location_prefix.begin(), config.location_prefix.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        }))
        return fail(lwm2m::Errc::invalid_argument);
    if (config.min_lifetime == 0 || config.min_lifetime > config.max_lifetime)
        return fail(lwm2m::Errc::invalid_argument);
    auto impl = std::make_unique<Impl>(std::move(config), deps);
    for (auto& lc : impl->cfg.listeners) {
        auto l = std::make_unique<Listener>();
        l->security = lc.security;
        coap::Config cc = lc.coap;
        // Over DTLS the cookie exchange (RFC 6347 §4.2.1) already proved that the peer receives
        // what we send to its address: no RFC 9175 Echo round trip, no amplification limit.
        if (lc.security == ListenerSecurity::dtls) cc.peers_verified_by_transport = true;
        l->coap = std::make_unique<coap::Endpoint>(cc, impl->random, impl->log);
        l->awake_time =
            impl->cfg.awake_time.count() > 0 ? impl->cfg.awake_time : lc.coap.max_transmit_wait();
        if (lc.security == ListenerSecurity::dtls) {
            dtls::ServerConfig dc = lc.dtls;
            if (dc.logger == nullptr) dc.logger = &impl->log;
            auto table = dtls::ServerTable::create(std::move(dc), impl->credentials);
            if (!table) return fail(table.error());
            l->table = std::make_unique<dtls::ServerTable>(std::move(*table));
            l->secure =
                std::make_unique<dtls::SecureEndpoint<dtls::ServerTable>>(*l->coap, *l->table);
        }
        impl->listeners.push_back(std::move(l));
    }
    return Engine(std::move(impl));
}

Engine::Engine(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

// ------------------------------------------------------------------ logging

void Engine::Impl::info(const std::string& msg) {
    if (log.enabled(LogLevel::info)) log.write(LogLevel::info, "server", msg);
}
void Engine::Impl::warn(const std::string& msg) {
    if (log.enabled(LogLevel::warn)) log.write(LogLevel::warn, "server", msg);
}

// ------------------------------------------------------------------ listeners

void Engine::Impl::flush(std::uint16_t l, TimePoint now) {
    if (listeners[l]->secure) listeners[l]->secure->flush(now);
}

void Engine::Impl::drain(std::uint16_t l, TimePoint now) {
    Listener& lst = *listeners[l];
    if (lst.secure) {
        while (auto ev = lst.secure->poll_event()) {
            if (auto* c = std::get_if<coap::Event>(&*ev))
                on_coap_event(l, now, *c);
            else
                on_dtls_event(l, now, std::get<dtls::Event>(*ev));
        }
    } else {
        while (auto ev = lst.coap->poll_event())
            on_coap_event(l, now, *ev);
    }
}

void Engine::Impl::on_coap_event(std::uint16_t l, TimePoint now, coap::Event& ev) {
    if (auto* in = std::get_if<coap::IncomingRequest>(&ev)) {
        on_request(l, now, *in);
    } else if (auto* r = std::get_if<coap::Response>(&ev)) {
        on_response(l, now, *r);
    } else if (auto* n = std::get_if<coap::Notification>(&ev)) {
        on_notification(l, now, *n);
    } else if (auto* f = std::get_if<coap::RequestFailed>(&ev)) {
        on_request_failed(l, now, *f);
    }
    // coap::ObservationEnded concerns peers observing the server: none (nothing is observable).
}

void Engine::Impl::on_dtls_event(std::uint16_t l, TimePoint, dtls::Event& ev) {
    if (cfg.session_continuity) {
        constexpr std::size_t max_notes = 65536;
        if (auto* d = std::get_if<dtls::HandshakeDone>(&ev))
            session_notes.push_back({SessionNote::Kind::established, {l, d->peer}, {}});
        else if (auto* c = std::get_if<dtls::Closed>(&ev))
            session_notes.push_back({SessionNote::Kind::closed, {l, c->peer}, c->reason});
        if (session_notes.size() > max_notes) session_notes.pop_front();
    }
    if (auto* done = std::get_if<dtls::HandshakeDone>(&ev)) {
        auto bound = credentials.resolve(done->identity);
        const detail::PeerKey key{l, done->peer};
        if (bound) {
            debug([&] {
                return "DTLS session from " + done->peer.to_string() + " bound to endpoint '" +
                       bound->endpoint + "'";
            });
            identities[key] = std::move(*bound);
        } else {
            identities.erase(key);
        }
    } else if (auto* closed = std::get_if<dtls::Closed>(&ev)) {
        identities.erase(detail::PeerKey{l, closed->peer});
    } else if (auto* failed = std::get_if<dtls::HandshakeFailed>(&ev)) {
        debug([&] {
            return "DTLS handshake from " + failed->peer.to_string() +
                   " failed: " + failed->error.message();
        });
    }
}

void Engine::Impl::send_response(std::uint16_t l, TimePoint now, coap::IncomingId id,
                                 coap::Message m) {
    // not_found: the request expired in the CoAP layer meanwhile (nothing left to answer).
    (void)coap_of(l).send_response(now, id, std::move(m));
    flush(l, now);
}

void Engine::Impl::respond(std::uint16_t l, TimePoint now, coap::IncomingId id, coap::Code code,
                           std::string_view diagnostic) {
    coap::Message m;
    m.code = code;
    if (!diagnostic.empty()) {
        // RFC 7252 §5.5.2: a diagnostic payload is UTF-8 text (no Content-Format needed; 0 is
        // given so that LwM2M clients that decode it see text/plain).
        m.add_uint_option(coap::option::content_format, coap::content_format::text_plain);
        m.payload.assign(reinterpret_cast<const std::byte*>(diagnostic.data()),
                         reinterpret_cast<const std::byte*>(diagnostic.data()) + diagnostic.size());
    }
    send_response(l, now, id, std::move(m));
}

std::optional<std::uint32_t> Engine::Impl::find_slot(std::string_view endpoint) const {
    return by_endpoint.find(endpoint_tag(endpoint),
                            [&](std::uint32_t s) { return reg(s).endpoint == endpoint; });
}

std::optional<std::uint32_t> Engine::Impl::find_peer(std::uint16_t l, const PeerAddr& addr) const {
    return by_peer.find(peer_tag(l, addr), [&](std::uint32_t s) {
        const auto& r = reg(s);
        return r.listener == l && r.peer == addr;
    });
}

void Engine::Impl::prefetch_register(std::uint16_t l, std::string_view endpoint,
                                     const PeerAddr& peer) const {
    // The look-ups a Register of a new endpoint makes (the endpoint and peer indexes, the slot
    // it will take) are each a cache miss at 10^5 registrations: start them together.
    by_endpoint.prefetch(endpoint_tag(endpoint));
    by_peer.prefetch(peer_tag(l, peer));
    if (!free_slots.empty()) {
        const auto* r = reinterpret_cast<const char*>(&reg(free_slots.back()));
        for (std::size_t off = 0; off < sizeof(detail::Reg); off += 64)
            prefetch_line(r + off);
    }
}

void Engine::Impl::index_peer(std::uint32_t slot) {
    const auto& r = reg(slot);
    const std::uint16_t l = r.listener;
    const PeerAddr addr = r.peer;
    by_peer.assign(peer_tag(l, addr), slot, [&](std::uint32_t s) {
        const auto& o = reg(s);
        return o.listener == l && o.peer == addr;
    });
}

void Engine::Impl::unindex_peer(std::uint32_t slot) {
    const auto& r = reg(slot);
    by_peer.erase(peer_tag(r.listener, r.peer), slot);
}

void Engine::Impl::push_timeout(TimePoint at, std::uint64_t request) {
    // Lazy deletion: finished requests leave entries behind until their time; rebuild when they
    // outnumber the live ones.
    if (timeouts.size() > 2 * pending.size() + 4096) {
        std::erase_if(timeouts, [&](const detail::TimeoutEntry& e) {
            auto it = pending.find(e.request);
            return it == pending.end() || it->second.deadline != e.at;
        });
        std::make_heap(timeouts.begin(), timeouts.end(), std::greater<>{});
    }
    timeouts.push_back(detail::TimeoutEntry{at, request});
    std::push_heap(timeouts.begin(), timeouts.end(), std::greater<>{});
}

// ------------------------------------------------------------------ sans-I/O contract

void Engine::on_datagram(TimePoint now, std::uint16_t socket, const PeerAddr& from,
                         BytesView bytes) {
    auto& im = *impl_;
    if (socket >= im.listeners.size()) return;
    im.traffic = true;
    Listener& l = *im.listeners[socket];
    if (l.secure)
        l.secure->on_datagram(now, from, bytes);
    else
        l.coap->on_datagram(now, from, bytes);
    // Only addresses with a session: datagrams from spoofed addresses must not crowd the real
    // sessions out of the set (bounded anyway, between two take_active_sessions() calls).
    if (l.secure && im.cfg.session_continuity && im.active_sessions.size() < 65536 &&
        l.table->established(from))
        im.active_sessions.insert({socket, from});
    im.drain(socket, now);
}

void Engine::on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes) {
    on_datagram(now, 0, from, bytes);
}

void Engine::on_timeout(TimePoint now) {
    auto& im = *impl_;
    // At most 0xFFFF listeners (checked at construction): the index fits the socket number.
    for (std::size_t i = 0; i < im.listeners.size(); ++i) {
        Listener& l = *im.listeners[i];
        const auto dl = l.secure ? l.secure->next_deadline() : l.coap->next_deadline();
        if (!dl || *dl > now) continue;
        if (l.secure)
            l.secure->on_timeout(now);
        else
            l.coap->on_timeout(now);
        im.drain(static_cast<std::uint16_t>(i), now);
    }
    im.expire(now);
    im.park_timeouts(now);
    im.request_timeouts(now);
}

std::optional<Datagram> Engine::poll_transmit() {
    auto& im = *impl_;
    for (std::size_t i = 0; i < im.listeners.size(); ++i) {
        Listener& l = *im.listeners[i];
        auto d = l.secure ? l.secure->poll_transmit() : l.coap->poll_transmit();
        if (d) {
            d->socket = static_cast<std::uint16_t>(i);
            return d;
        }
    }
    return std::nullopt;
}

std::optional<Event> Engine::poll_event() {
    auto& ev = impl_->events;
    if (ev.empty()) return std::nullopt;
    Event e = std::move(ev.front());
    ev.pop_front();
    return e;
}

std::optional<TimePoint> Engine::next_deadline() const {
    const auto& im = *impl_;
    std::optional<TimePoint> best;
    auto consider = [&](std::optional<TimePoint> t) {
        if (t && (!best || *t < *best)) best = t;
    };
    for (const auto& l : im.listeners)
        consider(l->secure ? l->secure->next_deadline() : l->coap->next_deadline());
    if (!im.expiry.empty()) consider(im.expiry.front().at);
    if (!im.timeouts.empty()) consider(im.timeouts.front().at);
    if (!im.parked_order.empty()) consider(im.parked_order.front().first);
    return best;
}

// ------------------------------------------------------------------ forwarding

std::uint64_t Engine::take_changes(std::vector<store::Change>& out) {
    return impl_->take_changes(out);
}
void Engine::on_persisted(TimePoint now, std::uint64_t seq) {
    impl_->on_persisted(now, seq);
}
void Engine::on_persist_failed(TimePoint now, std::uint64_t seq) {
    impl_->on_persist_failed(now, seq);
}
Result<std::size_t> Engine::restore(TimePoint now, const store::RegistrationStore& s) {
    return impl_->restore(now, s);
}
Result<RequestId> Engine::send(TimePoint now, std::string_view endpoint, Request request) {
    return impl_->submit(now, endpoint, std::move(request));
}
Result<void> Engine::cancel(TimePoint now, RequestId id) {
    return impl_->cancel(now, id);
}
Result<RequestId> Engine::cancel_observation(TimePoint now, ObservationId id) {
    return impl_->cancel_observation(now, id);
}
Result<void> Engine::forget_observation(TimePoint now, ObservationId id) {
    return impl_->forget_observation(now, id);
}

Result<void> Engine::deregister(TimePoint now, std::string_view endpoint) {
    auto slot = impl_->find_slot(endpoint);
    if (!slot) return fail(Errc::not_registered);
    impl_->end_registration(now, *slot, DeregisterReason::removed, true);
    return ok();
}

std::optional<RegistrationInfo> Engine::registration(std::string_view endpoint) const {
    auto slot = impl_->find_slot(endpoint);
    if (!slot) return std::nullopt;
    return impl_->info_of(*slot);
}

void Engine::for_each_registration(const std::function<void(const RegistrationInfo&)>& fn) const {
    impl_->by_endpoint.for_each([&](std::uint32_t slot) { fn(impl_->info_of(slot)); });
}

void Engine::for_each_endpoint(const std::function<void(std::string_view)>& fn) const {
    impl_->by_endpoint.for_each([&](std::uint32_t slot) { fn(impl_->reg(slot).endpoint); });
}

std::size_t Engine::registration_count() const noexcept {
    return impl_->reg_count;
}

bool Engine::take_release_hint() noexcept {
    Impl& m = *impl_;
    bool hint = false;
    for (auto& l : m.listeners)
        if (l->table && l->table->take_release_hint()) hint = true;
    if (m.reg_peak - m.reg_count >= std::max<std::size_t>(1, m.cfg.release_hint_registrations))
        hint = true;
    if (hint) m.reg_peak = m.reg_count;
    return hint;
}

std::vector<ObservationInfo> Engine::observations(std::string_view endpoint) const {
    std::vector<ObservationInfo> out;
    auto slot = impl_->find_slot(endpoint);
    if (!slot) return out;
    for (auto id : impl_->reg(*slot).observations) {
        auto it = impl_->observations.find(id);
        if (it == impl_->observations.end()) continue;
        const auto& o = it->second;
        out.push_back(ObservationInfo{ObservationId{o.id}, std::string(endpoint), o.composite,
                                      o.paths, o.accept, o.established});
    }
    return out;
}

const dm::ObjectRegistry* Engine::model(std::string_view endpoint) const {
    auto slot = impl_->find_slot(endpoint);
    if (!slot) return nullptr;
    return impl_->models.profile(impl_->reg(*slot).profile).registry.get();
}

const EngineLatency& Engine::latency() const noexcept {
    return impl_->latency;
}

// ------------------------------------------------------------------ session continuity

std::optional<SessionNote> Engine::poll_session_note() {
    auto& q = impl_->session_notes;
    if (q.empty()) return std::nullopt;
    SessionNote n = q.front();
    q.pop_front();
    return n;
}

void Engine::take_active_sessions(std::vector<SessionRef>& out) {
    out.clear();
    out.reserve(impl_->active_sessions.size());
    for (const auto& k : impl_->active_sessions)
        out.push_back({k.listener, k.addr});
    impl_->active_sessions.clear();
}

std::optional<SessionRef> Engine::poll_unknown_session() {
    auto& im = *impl_;
    const std::size_t n = im.listeners.size();
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t l = (im.unknown_cursor + i) % n;
        if (!im.listeners[l]->table) continue;
        if (auto peer = im.listeners[l]->table->poll_unknown_session()) {
            im.unknown_cursor = l;
            return SessionRef{static_cast<std::uint16_t>(l), *peer};
        }
    }
    return std::nullopt;
}

void Engine::forget_unknown_session(const SessionRef& s) {
    if (s.listener < impl_->listeners.size() && impl_->listeners[s.listener]->table)
        impl_->listeners[s.listener]->table->forget_unknown_session(s.peer);
}

Result<dtls::SessionState> Engine::export_session(const SessionRef& s) {
    if (s.listener >= impl_->listeners.size() || !impl_->listeners[s.listener]->table)
        return fail(lwm2m::Errc::invalid_argument);
    return impl_->listeners[s.listener]->table->export_session(s.peer);
}

Result<std::uint64_t> Engine::session_read_high_water(const SessionRef& s) const {
    if (s.listener >= impl_->listeners.size() || !impl_->listeners[s.listener]->table)
        return fail(lwm2m::Errc::invalid_argument);
    return impl_->listeners[s.listener]->table->session_read_high_water(s.peer);
}

Result<void> Engine::import_session(TimePoint now, std::uint16_t listener, dtls::SessionState state,
                                    std::uint64_t write_seq_floor) {
    auto& im = *impl_;
    if (listener >= im.listeners.size() || !im.listeners[listener]->table)
        return fail(lwm2m::Errc::invalid_argument);
    Listener& l = *im.listeners[listener];
    im.traffic = true;
    auto r = l.table->import_session(now, std::move(state), write_seq_floor);
    // HandshakeDone binds the identity; the kept datagram's records reach CoAP.
    l.secure->flush(now);
    im.drain(listener, now);
    return r;
}

Engine::DtlsFigures Engine::dtls_figures() const {
    DtlsFigures f;
    for (const auto& l : impl_->listeners) {
        if (!l->table) continue;
        const dtls::ServerStats& s = l->table->stats();
        f.stats.hello_verify_sent += s.hello_verify_sent;
        f.stats.dropped_datagrams += s.dropped_datagrams;
        f.stats.handshakes_completed += s.handshakes_completed;
        f.stats.handshakes_failed += s.handshakes_failed;
        f.stats.evictions += s.evictions;
        f.stats.idle_closes += s.idle_closes;
        f.stats.replacements += s.replacements;
        f.stats.half_open_evictions += s.half_open_evictions;
        f.stats.refused_at_capacity += s.refused_at_capacity;
        f.stats.refused_per_address += s.refused_per_address;
        f.stats.refused_per_prefix += s.refused_per_prefix;
        f.stats.sessions_freed += s.sessions_freed;
        f.stats.release_hints += s.release_hints;
        f.stats.own_path_switches += s.own_path_switches;
        f.stats.own_path_dropped += s.own_path_dropped;
        f.stats.own_path_replays += s.own_path_replays;
        f.stats.unknown_session_datagrams += s.unknown_session_datagrams;
        f.stats.sessions_exported += s.sessions_exported;
        f.stats.sessions_imported += s.sessions_imported;
        f.sessions += l->table->size();
        f.handshakes += l->table->handshakes();
    }
    return f;
}

EngineStats Engine::stats() const {
    EngineStats s = impl_->stats;
    s.registrations = impl_->reg_count;
    s.observations = impl_->observations.size();
    s.held_responses = impl_->held.size();
    s.journal_entries = impl_->journal.size();
    s.object_sets = impl_->set_by_raw.size();
    s.model_profiles = impl_->models.profile_count();
    s.parked = impl_->parked.size();
    std::uint64_t queued = 0;
    for (const auto& [id, p] : impl_->pending)
        queued += p.in_flight ? 0 : 1;
    s.queued_requests = queued;
    return s;
}

} // namespace lwm2m::server
