// Client engine: Information Reporting (TS 1.1 §5.5, §6.4; 1.2 §6.4): notification attributes
// (TS 1.1 §5.1.2), the notification decision, storing while offline (Object 1 Resource 6) and
// the 1.1 Send operation (TS 1.1 §6.4.7, POST /dp).
#include <algorithm>
#include <cmath>

#include <lwm2m/client/access.hpp>

#include "client/engine/engine_impl.hpp"

namespace lwm2m::client {

using detail::Account;
using detail::Observation;

namespace {

Duration secs(std::int64_t s) {
    return std::chrono::seconds(std::max<std::int64_t>(s, 0));
}

struct Effective {
    Duration pmin{0};
    std::optional<Duration> pmax;
    std::optional<Duration> epmin;
    std::optional<Duration> epmax;
    NotificationAttributes attrs;
};

} // namespace

NotificationAttributes Engine::Impl::effective_attributes(std::uint16_t ssid,
                                                          const dm::Path& p) const {
    // TS 1.1 §5.1.2: the attributes of the observed level, inherited from the levels above it,
    // then the Server Object defaults (Resource 2 Default Minimum Period, 3 Default Maximum).
    NotificationAttributes out;
    for (dm::Path q = p; !q.is_root(); q = q.parent()) {
        if (const auto it = attributes.find({ssid, q}); it != attributes.end())
            out.inherit(it->second);
    }
    if (const ServerInstance* s = server_instance(ssid)) {
        NotificationAttributes d;
        if (s->default_pmin() > 0) d.pmin = s->default_pmin();
        d.pmax = s->default_pmax();
        out.inherit(d);
    }
    return out;
}

void Engine::Impl::mark_changed(const dm::Path& p) {
    for (auto& o : observations)
        for (const auto& q : o.paths)
            if (q.is_prefix_of(p) || p.is_prefix_of(q)) {
                o.changed = true;
                dirty = true;
            }
}

namespace {

Effective effective_of(const NotificationAttributes& a) {
    Effective e;
    e.attrs = a;
    e.pmin = secs(a.pmin.value_or(0));
    // Across levels a pmax below pmin (or 0) cannot be honoured: it is ignored (TS 1.1 §5.1.2).
    if (a.pmax && *a.pmax > 0 && secs(*a.pmax) >= e.pmin) e.pmax = secs(*a.pmax);
    if (a.epmin && *a.epmin > 0) e.epmin = secs(*a.epmin);
    if (a.epmax && *a.epmax > 0 && (!e.epmin || secs(*a.epmax) >= *e.epmin))
        e.epmax = secs(*a.epmax);
    return e;
}

} // namespace

std::optional<TimePoint> Engine::Impl::observation_deadline(const Observation& o) const {
    const Effective e =
        effective_of(effective_attributes(o.ssid, o.composite ? dm::Path{} : o.paths.front()));
    std::optional<TimePoint> best;
    auto take = [&](TimePoint t) {
        if (!best || t < *best) best = t;
    };
    if (o.changed) take(e.epmin ? o.last_eval + *e.epmin : current);
    if (o.pending) take(o.last_notify + e.pmin);
    if (e.pmax) take(o.last_notify + *e.pmax);
    if (e.epmax) take(o.last_eval + *e.epmax);
    if (best && *best < current) best = current;
    return best;
}

bool Engine::Impl::confirmable_for(std::uint16_t ssid, const NotificationAttributes& a) const {
    if (a.con) return *a.con; // TS 1.2 §5.1.1 "con"
    // TS 1.1 E.2 Resource 26 Default Notification Mode: 0 NON (default), 1 CON.
    if (const ServerInstance* s = server_instance(ssid)) {
        const auto it = s->resources.find(server_rid::default_notification_mode);
        if (it != s->resources.end())
            if (const auto* i = std::get_if<std::int64_t>(&it->second.value.storage()))
                return *i == 1;
    }
    return false;
}

Result<coap::Message> Engine::Impl::build_notification(Observation& o, Bytes* payload_out,
                                                       std::optional<double>* num_out) const {
    coap::Message m;
    m.code = coap::code::content;
    if (o.composite) {
        std::vector<dm::Record> recs;
        for (const auto& p : o.paths) {
            LWM2M_TRY(c, read_for(o.ssid, p));
            for (auto& r : format::to_records(c))
                recs.push_back(std::move(r));
        }
        LWM2M_TRY(b, format::encode_records(o.fmt, recs));
        m.payload = std::move(b);
    } else {
        LWM2M_TRY(c, read_for(o.ssid, o.paths.front()));
        if (num_out != nullptr) {
            num_out->reset();
            if (const auto* v = std::get_if<dm::Value>(&c.node))
                *num_out = detail::numeric_value(*v);
            if (const auto* r = std::get_if<dm::Resource>(&c.node); r && !r->multiple)
                *num_out = detail::numeric_value(r->value);
        }
        LWM2M_TRY(b, format::encode(o.fmt, c));
        m.payload = std::move(b);
    }
    m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(o.fmt));
    if (payload_out != nullptr) *payload_out = m.payload;
    return m;
}

void Engine::Impl::deliver_notification(Account& a, coap::ObservationId id, coap::Message msg,
                                        bool con, TimePoint now_) {
    if (can_talk(a) && !stopping && a.link) {
        wake(a, now_); // queue mode: a notification to send wakes the client (TS 1.1 §6.5)
        auto r = a.link->coap().send_notification(now_, id, std::move(msg), con);
        if (r) {
            ++stats.notifications_sent;
        } else if (r.error() == make_error_code(lwm2m::Errc::not_found)) {
            forget_observation(id, a.ssid);
        }
        pump_link(&a, *a.link, now_);
        return;
    }
    // Offline (registering, disabled, failed): keep it when Object 1 Resource 6 says so.
    const ServerInstance* s = server_instance(a.ssid);
    const bool storing = s != nullptr && s->notification_storing().value_or(false);
    if (!storing || cfg.max_stored_notifications == 0) {
        ++stats.notifications_dropped;
        return;
    }
    // One pending notification per observation is enough for "latest value" semantics, but the
    // TS asks for the history: keep them in order, bounded, the oldest dropped first.
    if (a.stored.size() >= cfg.max_stored_notifications) {
        a.stored.pop_front();
        ++stats.notifications_dropped;
    }
    a.stored.push_back(detail::StoredNotification{id, std::move(msg), con});
    ++stats.notifications_stored;
}

void Engine::Impl::flush_stored(Account& a, TimePoint now_) {
    while (!a.stored.empty() && can_talk(a) && a.link) {
        detail::StoredNotification n = std::move(a.stored.front());
        a.stored.pop_front();
        if (a.link->coap().send_notification(now_, n.id, std::move(n.msg), n.con))
            ++stats.notifications_sent;
    }
    if (a.link) pump_link(&a, *a.link, now_);
}

bool Engine::Impl::notify(Observation& o, TimePoint now_, const coap::Message* prepared) {
    Account* a = find_account(o.ssid);
    if (a == nullptr) return false;
    const NotificationAttributes attrs =
        effective_attributes(o.ssid, o.composite ? dm::Path{} : o.paths.front());
    coap::Message msg;
    std::optional<double> num = o.last_eval_num;
    if (prepared != nullptr) {
        msg = *prepared;
    } else {
        auto m = build_notification(o, nullptr, &num);
        if (!m) {
            // The target is gone (e.g. deleted): the error ends the observation (RFC 7641 §3.2).
            coap::Message e;
            e.code = coap::Code(coap_code(status_of(m.error())));
            deliver_notification(*a, o.id, std::move(e), true, now_);
            return false;
        }
        msg = std::move(*m);
    }
    o.last_notify = now_;
    o.pending = false;
    o.last_payload = msg.payload;
    o.last_notify_num = num;
    o.last_eval_num = num;
    deliver_notification(*a, o.id, std::move(msg), confirmable_for(o.ssid, attrs), now_);
    return true;
}

void Engine::Impl::evaluate_observations(TimePoint now_) {
    dirty = false;
    std::vector<coap::ObservationId> gone;
    for (auto& o : observations) {
        const Effective e =
            effective_of(effective_attributes(o.ssid, o.composite ? dm::Path{} : o.paths.front()));
        const bool evaluate = (o.changed && (!e.epmin || now_ >= o.last_eval + *e.epmin)) ||
                              (e.epmax && now_ >= o.last_eval + *e.epmax);
        std::optional<coap::Message> prepared;
        if (evaluate) {
            Bytes payload;
            std::optional<double> num;
            auto m = build_notification(o, &payload, &num);
            o.last_eval = now_;
            o.changed = false;
            if (!m) {
                Account* a = find_account(o.ssid);
                if (a != nullptr) {
                    coap::Message err;
                    err.code = coap::Code(coap_code(status_of(m.error())));
                    deliver_notification(*a, o.id, std::move(err), true, now_);
                }
                gone.push_back(o.id);
                continue;
            }
            bool worthy = false;
            const auto& at = e.attrs;
            if (!o.composite && num && (at.gt || at.lt || at.st)) {
                // TS 1.1 §5.1.2: gt / lt notify when the value crosses the threshold (either
                // direction); st when it moved at least st since the last notification.
                const auto prev = o.last_eval_num;
                if (prev && at.gt && ((*prev > *at.gt) != (*num > *at.gt))) worthy = true;
                if (prev && at.lt && ((*prev < *at.lt) != (*num < *at.lt))) worthy = true;
                if (at.st && (!o.last_notify_num || std::fabs(*num - *o.last_notify_num) >= *at.st))
                    worthy = true;
                o.last_eval_num = num;
            } else {
                worthy = payload != o.last_payload;
                o.last_eval_num = num;
            }
            if (worthy) {
                o.pending = true;
                prepared = std::move(*m);
            }
        }
        if (o.pending && now_ >= o.last_notify + e.pmin) {
            // pmin bounds a storm of changes: at most one notification per pmin (TS 1.1 §5.1.2).
            if (!notify(o, now_, prepared ? &*prepared : nullptr)) gone.push_back(o.id);
        } else if (e.pmax && now_ >= o.last_notify + *e.pmax) {
            if (!notify(o, now_, nullptr)) gone.push_back(o.id);
        }
    }
    for (const auto& id : gone)
        std::erase_if(observations, [&](const Observation& o) { return o.id == id; });
}

void Engine::Impl::drop_observations(std::uint16_t ssid) {
    std::erase_if(observations, [&](const Observation& o) { return o.ssid == ssid; });
}

void Engine::Impl::forget_observation(coap::ObservationId id, std::uint16_t ssid) {
    const auto before = observations.size();
    std::erase_if(observations, [&](const Observation& o) { return o.id == id && o.ssid == ssid; });
    if (observations.size() != before) state_changed();
}

Result<std::uint64_t> Engine::Impl::do_send(TimePoint now_, std::uint16_t ssid,
                                            const std::vector<dm::Path>& paths) {
    if (cfg.version == dm::Lwm2mVersion::v1_0) return fail(lwm2m::Errc::invalid_state);
    Account* a = find_account(ssid);
    if (a == nullptr) return fail(lwm2m::Errc::not_found);
    if (!can_talk(*a) || !a->link) return fail(lwm2m::Errc::invalid_state);
    if (paths.empty() || paths.size() > cfg.max_composite_paths)
        return fail(lwm2m::Errc::limit_exceeded);
    // TS 1.1 E.2 Resource 23 Mute Send.
    if (const ServerInstance* s = server_instance(ssid)) {
        const auto it = s->resources.find(server_rid::mute_send);
        if (it != s->resources.end())
            if (const auto* b = std::get_if<bool>(&it->second.value.storage()); b && *b)
                return fail(Status::forbidden);
    }
    std::vector<dm::Record> recs;
    const auto t = static_cast<double>(wall.unix_seconds());
    for (const auto& p : paths) {
        if (p.is_root()) return fail(Status::bad_request);
        LWM2M_TRY_VOID(check_dm_access(ssid, Operation::read, p));
        LWM2M_TRY(c, read_for(ssid, p));
        for (auto& r : format::to_records(c)) {
            r.time = t;
            recs.push_back(std::move(r));
        }
    }
    // TS 1.1 §6.4.7: SenML JSON/CBOR (LwM2M CBOR cannot carry timestamps).
    format::ContentFormat f = preferred_format();
    if (f != format::ContentFormat::senml_json || !offers(f))
        f = offers(format::ContentFormat::senml_cbor) ? format::ContentFormat::senml_cbor
                                                      : format::ContentFormat::senml_json;
    LWM2M_TRY(body, format::encode_records(f, recs));
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::post;
    m.set_path("/dp");
    m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(f));
    m.payload = std::move(body);
    wake(*a, now_);
    LWM2M_TRY(id, a->link->coap().send_request(now_, a->addr, std::move(m)));
    const std::uint64_t sid = next_send_id++;
    a->sends[id.value] = sid;
    pump_link(a, *a->link, now_);
    return sid;
}

} // namespace lwm2m::client
