// The Registration Interface of the engine (LwM2M TS 1.1 §6.2, TS 1.2 §6.2, TS 1.0 §5.3):
// Register, Update, De-register, expiry, authorisation, and the durability journal (take_changes /
// on_persisted) with restore() after a restart. docs/server.md explains the design.
#include <algorithm>
#include <charconv>

#include <lwm2m/base/errc.hpp>

#include "server/engine_impl.hpp"

namespace lwm2m::server {

using detail::Held;
using detail::HeldKind;
using detail::JournalEntry;
using detail::JournalKind;
using detail::kNone;
using detail::PeerKey;
using detail::Reg;

namespace {

coap::Code code_of(Errc e) {
    switch (e) {
    case Errc::forbidden:
        return coap::code::forbidden;
    case Errc::unsupported_version:
        return coap::code::precondition_failed; // Transport TS 1.1 Table 6.7-2
    default:
        return coap::code::bad_request;
    }
}

std::string_view view(const coap::Option& o) {
    return as_string_view(o.value);
}

constexpr std::size_t max_query_items = 32;

char hex_digit(unsigned v) {
    return static_cast<char>(v < 10 ? '0' + v : 'a' + (v - 10));
}

} // namespace

// ------------------------------------------------------------------ dispatch

void Engine::Impl::on_request(std::uint16_t l, TimePoint now, coap::IncomingRequest& in) {
    std::string_view seg[3];
    std::size_t n = 0;
    for (const auto& o : in.request.options()) {
        if (o.number != coap::option::uri_path) continue;
        if (n < 3) seg[n] = view(o);
        ++n;
    }
    const coap::Code method = in.request.code;
    if (n >= 1 && n <= 2 && seg[0] == cfg.rd_path) {
        if (n == 1) {
            if (method == coap::code::post) return do_register(l, now, in);
        } else if (method == coap::code::post) {
            return do_update(l, now, in, seg[1]);
        } else if (method == coap::code::delete_) {
            return do_deregister(l, now, in, seg[1]);
        }
        ++stats.refused;
        return respond(l, now, in.id, coap::code::method_not_allowed);
    }
    if (n == 1 && seg[0] == "dp") {
        if (method == coap::code::post) return do_send(l, now, in);
        return respond(l, now, in.id, coap::code::method_not_allowed);
    }
    respond(l, now, in.id, coap::code::not_found);
}

// ------------------------------------------------------------------ slots and locations

std::string Engine::Impl::location_of(std::uint32_t slot) const {
    if (reg(slot).aliased) return alias_of.at(slot);
    // prefix, hex(slot), then the 8 hex digits of the nonce: no map is needed to find the slot,
    // and a stale or guessed location fails the nonce.
    char buf[16];
    std::size_t n = 0;
    unsigned shift = 28;
    while (shift > 0 && ((slot >> shift) & 0xF) == 0)
        shift -= 4;
    for (;; shift -= 4) {
        buf[n++] = hex_digit((slot >> shift) & 0xF);
        if (shift == 0) break;
    }
    const std::uint32_t nonce = reg(slot).nonce;
    for (int s = 28; s >= 0; s -= 4)
        buf[n++] = hex_digit((nonce >> s) & 0xF);
    std::string out;
    out.reserve(cfg.location_prefix.size() + n);
    out.append(cfg.location_prefix).append(buf, n);
    return out;
}

bool Engine::Impl::parse_location(std::string_view loc, std::uint32_t& slot,
                                  std::uint32_t& nonce) const {
    if (loc.substr(0, cfg.location_prefix.size()) != cfg.location_prefix) return false;
    loc.remove_prefix(cfg.location_prefix.size());
    if (loc.size() < 9 || loc.size() > 16) return false;
    const auto a = loc.substr(0, loc.size() - 8);
    const auto b = loc.substr(loc.size() - 8);
    auto r1 = std::from_chars(a.data(), a.data() + a.size(), slot, 16);
    auto r2 = std::from_chars(b.data(), b.data() + b.size(), nonce, 16);
    if (r1.ec != std::errc() || r1.ptr != a.data() + a.size() || r2.ec != std::errc() ||
        r2.ptr != b.data() + b.size())
        return false;
    for (char c : loc)
        if (c >= 'A' && c <= 'F') return false; // we only hand out lower case
    return nonce != 0;
}

std::optional<std::uint32_t> Engine::Impl::slot_of_location(std::string_view loc) const {
    std::uint32_t slot = 0;
    std::uint32_t nonce = 0;
    if (parse_location(loc, slot, nonce) && slot < slot_high && reg(slot).nonce == nonce &&
        !reg(slot).aliased)
        return slot;
    if (by_alias.empty()) return std::nullopt;
    if (auto it = by_alias.find(std::string(loc)); it != by_alias.end()) return it->second;
    return std::nullopt;
}

void Engine::Impl::set_alias(std::uint32_t slot, std::string location) {
    reg(slot).aliased = true;
    by_alias[location] = slot;
    alias_of[slot] = std::move(location);
}

void Engine::Impl::drop_alias(std::uint32_t slot) {
    Reg& r = reg(slot);
    if (!r.aliased) return;
    if (auto it = alias_of.find(slot); it != alias_of.end()) {
        by_alias.erase(it->second);
        alias_of.erase(it);
    }
    r.aliased = false;
}

void Engine::Impl::arm_expiry(std::uint32_t slot) {
    Reg& r = reg(slot);
    // One heap entry per registration, moved lazily: a later expiry keeps the old entry (it
    // re-pushes when it fires); an earlier one, or an expiry check in flight (its entry is
    // gone), needs a new entry.
    if (r.checking || r.expires < r.timer_at) {
        r.checking = false;
        push_expiry(slot);
    }
}

std::uint32_t Engine::Impl::alloc_slot() {
    if (!free_slots.empty()) {
        const auto s = free_slots.back();
        free_slots.pop_back();
        return s;
    }
    if (slot_high % chunk_size == 0) chunks.push_back(std::make_unique<Reg[]>(chunk_size));
    return slot_high++;
}

// ------------------------------------------------------------------ object sets and models

std::optional<std::uint32_t> Engine::Impl::intern_set(std::string_view raw, Refusal* why,
                                                      bool strict) {
    if (auto it = set_by_raw.find(raw); it != set_by_raw.end()) {
        ++sets[it->second].refs;
        return it->second;
    }
    LinksOptions o;
    o.strict = strict;
    auto links = parse_object_links(raw, o, why);
    if (!links) return std::nullopt;
    std::uint32_t id;
    if (!free_sets.empty()) {
        id = free_sets.back();
        free_sets.pop_back();
    } else {
        id = static_cast<std::uint32_t>(sets.size());
        sets.emplace_back();
    }
    auto& s = sets[id];
    s.raw.assign(raw);
    s.links = std::move(*links);
    s.refs = 1;
    s.profile = {kNone, kNone, kNone};
    set_by_raw.emplace(std::string_view(s.raw), id);
    return id;
}

void Engine::Impl::release_set(std::uint32_t id) {
    if (id == kNone) return;
    auto& s = sets[id];
    if (--s.refs != 0) return;
    set_by_raw.erase(std::string_view(s.raw));
    s.raw = std::string();
    s.links = ObjectLinks{};
    free_sets.push_back(id);
}

std::uint32_t Engine::Impl::profile_of(std::uint32_t set, dm::Lwm2mVersion v) {
    auto& s = sets[set];
    auto& p = s.profile[static_cast<std::size_t>(v)];
    if (p == kNone) {
        p = models.profile_for(v, s.links, log);
        for (const auto& text : models.profile(p).substitutions)
            warn(text);
    }
    return p;
}

// ------------------------------------------------------------------ journal and holding

void Engine::Impl::journal_put(std::uint32_t slot, bool replaces) {
    if (!cfg.journal) return;
    Reg& r = reg(slot);
    const std::uint64_t seq = next_seq++;
    if (r.journal_pos != 0) {
        // Coalesce: the pending put will carry the registration's state at take time (a
        // replacement in the same slot takes the pending put over).
        auto& e = journal[r.journal_pos - 1];
        e.seq = seq;
        e.nonce = r.nonce;
        e.replaces = e.replaces || replaces;
        return;
    }
    journal.push_back(JournalEntry{seq, JournalKind::reg_put, replaces, slot, r.nonce, 0, {}});
    r.journal_pos = static_cast<std::uint32_t>(journal.size());
}

void Engine::Impl::journal_remove(std::string endpoint) {
    if (!cfg.journal) return;
    journal.push_back(
        JournalEntry{next_seq++, JournalKind::reg_remove, false, 0, 0, 0, std::move(endpoint)});
}

void Engine::Impl::journal_observation(JournalKind kind, const detail::Observation& o) {
    if (!cfg.journal) return;
    journal.push_back(
        JournalEntry{next_seq++, kind, false, o.slot, o.nonce, o.id,
                     kind == JournalKind::obs_remove ? reg(o.slot).endpoint : std::string()});
}

void Engine::Impl::hold(Held h, TimePoint now) {
    h.received = now;
    if (cfg.journal && cfg.hold_until_persisted) {
        h.seq = next_seq - 1; // the change just journaled
        held.push_back(std::move(h));
        return;
    }
    release(h, now);
}

void Engine::Impl::release(Held& h, TimePoint now) {
    switch (h.kind) {
    case HeldKind::registration:
        latency.registers.record(now - h.received);
        break;
    case HeldKind::update:
        latency.updates.record(now - h.received);
        break;
    case HeldKind::deregistration:
        latency.deregisters.record(now - h.received);
        break;
    }
    send_response(h.listener, now, h.incoming, std::move(h.response));
    if (h.event) emit(std::move(*h.event));
    if (h.kind == HeldKind::deregistration) return;
    if (Reg* r = live(h.slot, h.nonce)) {
        r->unconfirmed = false;
        pump(now, h.slot);
    }
}

std::uint64_t Engine::Impl::take_changes(std::vector<store::Change>& out) {
    std::size_t n = 0;
    // The next element of `out`, holding alternative T (reused when it already does: its
    // strings keep their storage).
    auto next = [&]<class T>(std::uint64_t seq) -> T& {
        if (n == out.size()) out.emplace_back();
        store::Change& c = out[n++];
        c.seq = seq;
        if (!std::holds_alternative<T>(c.op)) c.op.template emplace<T>();
        return std::get<T>(c.op);
    };
    std::uint64_t last = 0;
    for (auto& e : journal) {
        last = std::max(last, e.seq);
        switch (e.kind) {
        case JournalKind::reg_put: {
            Reg* r = live(e.slot, e.nonce);
            if (r == nullptr) break; // removed later in this batch: its removal follows
            r->journal_pos = 0;
            auto& put = next.template operator()<store::RegistrationPut>(e.seq);
            fill_record(put.record, e.slot);
            put.replaces = e.replaces;
            break;
        }
        case JournalKind::reg_remove:
            next.template operator()<store::RegistrationRemove>(e.seq).endpoint =
                std::move(e.endpoint);
            break;
        case JournalKind::obs_put: {
            auto it = observations.find(e.observation);
            if (it == observations.end() || live(e.slot, e.nonce) == nullptr) break;
            const auto& o = it->second;
            auto& rec = next.template operator()<store::ObservationPut>(e.seq).record;
            rec.endpoint.assign(reg(o.slot).endpoint.view());
            rec.id = o.id;
            rec.token.assign(o.token.view().begin(), o.token.view().end());
            rec.composite = o.composite;
            rec.paths.clear();
            for (const auto& p : o.paths)
                rec.paths.push_back(p.to_string());
            rec.accept.reset();
            if (o.accept) rec.accept = static_cast<std::uint16_t>(*o.accept);
            rec.created_at = o.created_at;
            break;
        }
        case JournalKind::obs_remove: {
            auto& rm = next.template operator()<store::ObservationRemove>(e.seq);
            rm.endpoint = std::move(e.endpoint);
            rm.id = e.observation;
            break;
        }
        }
    }
    out.resize(n);
    journal.clear();
    return last;
}

void Engine::Impl::on_persisted(TimePoint now, std::uint64_t seq) {
    std::vector<std::uint16_t> touched;
    while (!held.empty() && held.front().seq <= seq) {
        Held h = std::move(held.front());
        held.pop_front();
        touched.push_back(h.listener);
        release(h, now);
    }
    for (auto l : touched)
        drain(l, now);
}

void Engine::Impl::on_persist_failed(TimePoint now, std::uint64_t seq) {
    while (!held.empty() && held.front().seq <= seq) {
        Held h = std::move(held.front());
        held.pop_front();
        respond(h.listener, now, h.incoming, coap::code::service_unavailable,
                "the registration could not be stored; retry later");
        ++stats.refused;
        if (h.kind != HeldKind::deregistration && live(h.slot, h.nonce) != nullptr) {
            warn("registration of '" + reg(h.slot).endpoint.str() + "' not durable: removed");
            end_registration(now, h.slot, DeregisterReason::not_durable, true);
        }
        drain(h.listener, now);
    }
}

// ------------------------------------------------------------------ expiry

void Engine::Impl::push_expiry(std::uint32_t slot) {
    // Entries of freed slots (De-register) stay behind until their time; rebuild the heap when
    // they outnumber the registrations, so a client registering and de-registering in a loop
    // cannot grow it.
    if (expiry.size() > 2 * reg_count + 4096) {
        std::erase_if(expiry, [&](const detail::ExpiryEntry& e) {
            const Reg& o = reg(e.slot);
            return o.nonce == 0 || o.timer_at != e.at;
        });
        std::make_heap(expiry.begin(), expiry.end(), std::greater<>{});
    }
    Reg& r = reg(slot);
    r.timer_at = r.expires;
    expiry.push_back(detail::ExpiryEntry{r.expires, slot});
    std::push_heap(expiry.begin(), expiry.end(), std::greater<>{});
}

void Engine::Impl::expire(TimePoint now) {
    while (!expiry.empty() && expiry.front().at <= now) {
        std::pop_heap(expiry.begin(), expiry.end(), std::greater<>{});
        const auto e = expiry.back();
        expiry.pop_back();
        Reg* r = &reg(e.slot);
        if (r->nonce == 0 || r->timer_at != e.at) continue; // stale entry
        if (r->expires > now) {
            push_expiry(e.slot); // updated since: one entry per registration, moved lazily
            continue;
        }
        if (cfg.read_through.enabled) {
            // Another node may serve the client now and keep the store's record alive: ask the
            // store before journaling a removal (provide() decides).
            r->checking = true;
            const std::uint64_t id = next_lookup++;
            detail::Parked p;
            p.reason = LookupReason::expiry;
            p.endpoint = r->endpoint.str();
            p.slot = e.slot;
            p.nonce = r->nonce;
            p.deadline = now + cfg.read_through.timeout;
            parked_order.emplace_back(p.deadline, id);
            lookups.push_back(RegistrationLookup{id, p.endpoint, {}, LookupReason::expiry});
            parked.emplace(id, std::move(p));
            ++stats.lookups;
            continue;
        }
        ++stats.expirations;
        info("registration of '" + r->endpoint.str() + "' expired (lifetime " +
             std::to_string(r->lifetime) + " s)");
        end_registration(now, e.slot, DeregisterReason::expired, true);
    }
}

// ------------------------------------------------------------------ ending a registration

void Engine::Impl::end_registration(TimePoint now, std::uint32_t slot, DeregisterReason reason,
                                    bool emit_event, bool journal_removal) {
    teardown(now, slot);
    Reg& r = reg(slot);
    by_endpoint.erase(endpoint_tag(r.endpoint), slot);
    unindex_peer(slot);
    std::string endpoint = r.endpoint.str();
    const std::string location = location_of(slot);
    if (r.journal_pos != 0) journal[r.journal_pos - 1].nonce = 0; // its pending put is void
    if (journal_removal) journal_remove(endpoint);
    if (emit_event) emit(Deregistered{endpoint, location, reason});
    drop_alias(slot);
    r = Reg{}; // nonce 0: free; releases the strings and vectors
    free_slots.push_back(slot);
    --reg_count;
}

void Engine::Impl::teardown(TimePoint now, std::uint32_t slot) {
    Reg& r = reg(slot);
    const auto ep_error = make_error_code(Errc::deregistered);
    // Requests: queued ones fail here, in-flight ones are cancelled in the CoAP layer (their
    // cancellation events find no request any more and are ignored).
    std::vector<std::uint64_t> ids;
    if (r.queued != 0 || r.inflight != 0) {
        for (const auto& [id, p] : pending)
            if (p.slot == slot && p.nonce == r.nonce && !p.reobserve) ids.push_back(id);
        std::sort(ids.begin(), ids.end());
    }
    for (auto id : ids)
        fail_request(id, ep_error, true, now, false);
    for (auto oid : std::vector<std::uint64_t>(r.observations))
        end_observation(oid, ObservationEndReason::registration, true, false, now);
    r.observations.clear();
    release_set(r.objects);
    r.objects = kNone;
}

// ------------------------------------------------------------------ Register

void Engine::Impl::do_register(std::uint16_t l, TimePoint now, coap::IncomingRequest& in) {
    const coap::Message& m = in.request;
    auto refuse = [&](coap::Code code, std::string text) {
        ++stats.refused;
        debug([&] {
            return "Register from " + in.peer.to_string() + " refused " + code.to_string() + ": " +
                   text;
        });
        respond(l, now, in.id, code, text);
    };
    std::array<std::string_view, max_query_items> items;
    std::size_t count = 0;
    for (const auto& o : m.options()) {
        if (o.number != coap::option::uri_query) continue;
        if (count == items.size()) return refuse(coap::code::bad_request, "too many parameters");
        items[count++] = view(o);
    }
    QueryOptions qo;
    qo.kind = RequestKind::register_;
    qo.strict = cfg.strict;
    qo.min_lifetime = cfg.min_lifetime;
    qo.max_lifetime = cfg.max_lifetime;
    Refusal why;
    auto q = parse_register_query(std::span<const std::string_view>(items.data(), count), qo, &why);
    if (!q) return refuse(code_of(why.code), why.text);
    std::uint32_t notes = q->notes;
    const auto cf = m.uint_option(coap::option::content_format);
    if (cf && *cf != coap::content_format::link_format)
        return refuse(coap::code::bad_request,
                      "payload: Content-Format must be application/link-format (40)");
    if (m.payload.empty())
        return refuse(coap::code::bad_request,
                      "payload: the objects and object instances are required");
    if (!cf) {
        if (cfg.strict)
            return refuse(coap::code::bad_request,
                          "payload: Content-Format application/link-format (40) is required");
        notes |= note::no_content_format;
    }

    // Authorisation (TS 1.1 §7.1, docs/server.md).
    const std::string_view ep = q->endpoint;
    prefetch_register(l, ep, in.peer);
    store::SecurityMode mode = store::SecurityMode::nosec;
    if (listeners[l]->security == ListenerSecurity::dtls) {
        auto it = identities.find(PeerKey{l, in.peer});
        if (it == identities.end())
            return refuse(coap::code::forbidden, "no authenticated DTLS identity");
        if (it->second.endpoint != ep)
            return refuse(coap::code::forbidden,
                          "the DTLS identity is bound to another endpoint name");
        mode = it->second.mode;
        const auto* info = security.find(ep);
        const bool cn_only = mode == store::SecurityMode::x509 && info == nullptr;
        if (!cn_only && (info == nullptr || info->mode != mode))
            return refuse(coap::code::forbidden, "the credentials of this endpoint were revoked");
    } else {
        const auto* info = security.find(ep);
        switch (cfg.nosec) {
        case NoSecPolicy::refuse:
            return refuse(coap::code::forbidden, "registration without security is not allowed");
        case NoSecPolicy::listed:
            if (info == nullptr || info->mode != store::SecurityMode::nosec)
                return refuse(coap::code::forbidden,
                              "this endpoint may not register without security");
            break;
        case NoSecPolicy::any:
            if (info != nullptr && info->mode != store::SecurityMode::nosec)
                return refuse(coap::code::forbidden, "this endpoint must register over DTLS");
            break;
        }
    }

    const auto existing = find_slot(ep);
    if (!existing && reg_count >= cfg.max_registrations)
        return refuse(coap::code::service_unavailable, "registration limit reached");
    auto set = intern_set(as_string_view(m.payload), &why, cfg.strict);
    if (!set) return refuse(code_of(why.code), why.text);

    const bool replaced = existing.has_value();
    std::uint32_t slot;
    if (replaced) {
        // TS 1.1 §6.2.1: the new registration replaces the old one: its requests fail, its
        // observations end; it keeps the slot (and its endpoint index) under a new nonce, so
        // the old location stops working.
        slot = *existing;
        debug([&] { return "Register of '" + std::string(ep) + "' replaces its registration"; });
        teardown(now, slot);
        Reg& old = reg(slot);
        if (old.peer != in.peer || old.listener != l) unindex_peer(slot);
        old.queued = old.inflight = 0;
        old.queue_head = old.queue_tail = 0;
        old.logged = 0;
        drop_alias(slot); // the new registration gets a location of ours
    } else {
        slot = alloc_slot();
        reg(slot).endpoint.assign(ep);
        by_endpoint.assign(endpoint_tag(ep), slot, [](std::uint32_t) { return false; });
        ++reg_count;
        reg_peak = std::max(reg_peak, reg_count);
    }
    Reg& r = reg(slot);
    const bool peer_indexed = replaced && r.peer == in.peer && r.listener == l;
    const std::uint32_t old_nonce = r.nonce;
    do {
        r.nonce = random.next_u32();
    } while (r.nonce == 0 || r.nonce == old_nonce);
    r.sms = q->sms ? std::string(*q->sms) : std::string();
    r.peer = in.peer;
    r.listener = l;
    r.version = q->version.value_or(dm::Lwm2mVersion::v1_0); // TS 1.0 §5.3.1: default 1.0
    r.binding = q->binding.value_or(binding::udp);           // TS 1.1 §6.2.1: default U
    r.queue_mode = q->queue;
    r.security = mode;
    r.lifetime = q->lifetime.value_or(86400); // TS 1.1 §6.2.1: default 86400 s
    r.objects = *set;
    r.profile = profile_of(*set, r.version);
    r.notes = notes | sets[*set].links.notes;
    r.registered_at = r.updated_at = wall.unix_seconds();
    r.expires = now + std::chrono::seconds(r.lifetime) + cfg.lifetime_grace;
    r.awake_until = now + listeners[l]->awake_time;
    r.unconfirmed = cfg.journal && cfg.hold_until_persisted;
    if (!replaced || !peer_indexed) index_peer(slot);
    ++stats.registers;
    if (replaced)
        arm_expiry(slot);
    else
        push_expiry(slot);
    // Read-through: another node may have held the endpoint (its observations must go too).
    journal_put(slot, replaced || cfg.read_through.enabled);
    if (r.notes != 0)
        info("registration of '" + r.endpoint.str() +
             "' accepted leniently: " + describe_notes(r.notes));

    const std::string location = location_of(slot);
    coap::Message resp;
    resp.code = coap::code::created;
    resp.add_option(coap::option::location_path, std::string_view(cfg.rd_path));
    resp.add_option(coap::option::location_path, std::string_view(location));
    Held h;
    h.kind = HeldKind::registration;
    h.listener = l;
    h.incoming = in.id;
    h.response = std::move(resp);
    h.event = Registered{r.endpoint, location, r.version, r.lifetime, r.queue_mode,
                         r.peer,     l,        replaced,  false};
    h.slot = slot;
    h.nonce = r.nonce;
    hold(std::move(h), now);
}

// ------------------------------------------------------------------ Update / De-register

namespace {
/// Update and De-register must come from the registered client (TS 1.1 §7.1: 4.00 when the
/// identity does not match the registration).
bool same_client(const Engine::Impl& im, std::uint16_t l, const PeerAddr& peer, const Reg& r) {
    if (im.listeners[l]->security != im.listeners[r.listener]->security) return false;
    if (im.listeners[l]->security == ListenerSecurity::nosec) return true;
    auto it = im.identities.find(PeerKey{l, peer});
    return it != im.identities.end() && it->second.endpoint == r.endpoint;
}
} // namespace

void Engine::Impl::do_update(std::uint16_t l, TimePoint now, coap::IncomingRequest& in,
                             std::string_view location) {
    const coap::Message& m = in.request;
    auto refuse = [&](coap::Code code, std::string text) {
        ++stats.refused;
        debug([&] {
            return "Update from " + in.peer.to_string() + " refused " + code.to_string() + ": " +
                   text;
        });
        respond(l, now, in.id, code, text);
    };
    const auto slot = slot_of_location(location);
    if (!slot) {
        // Read-through: another node may hold it (docs/cluster-nodes.md).
        if (park(l, now, in, identity_endpoint(l, in.peer), std::string(location))) return;
        return refuse(coap::code::not_found, "no registration at this location");
    }
    Reg& r = reg(*slot);
    if (!same_client(*this, l, in.peer, r))
        return refuse(coap::code::bad_request,
                      "the request does not come from the registered client");
    std::array<std::string_view, max_query_items> items;
    std::size_t count = 0;
    for (const auto& o : m.options()) {
        if (o.number != coap::option::uri_query) continue;
        if (count == items.size()) return refuse(coap::code::bad_request, "too many parameters");
        items[count++] = view(o);
    }
    QueryOptions qo;
    qo.kind = RequestKind::update;
    qo.strict = cfg.strict;
    qo.registered_version = r.version;
    qo.min_lifetime = cfg.min_lifetime;
    qo.max_lifetime = cfg.max_lifetime;
    Refusal why;
    auto q = parse_register_query(std::span<const std::string_view>(items.data(), count), qo, &why);
    if (!q) return refuse(code_of(why.code), why.text);
    std::uint32_t notes = q->notes;
    std::optional<std::uint32_t> set;
    if (!m.payload.empty()) {
        const auto cf = m.uint_option(coap::option::content_format);
        if (cf && *cf != coap::content_format::link_format)
            return refuse(coap::code::bad_request,
                          "payload: Content-Format must be application/link-format (40)");
        if (!cf) {
            if (cfg.strict)
                return refuse(coap::code::bad_request,
                              "payload: Content-Format application/link-format (40) is required");
            notes |= note::no_content_format;
        }
        set = intern_set(as_string_view(m.payload), &why, cfg.strict);
        if (!set) return refuse(code_of(why.code), why.text);
    }

    Updated ev;
    ev.endpoint = r.endpoint;
    ev.location = std::string(location);
    if (q->lifetime && *q->lifetime != r.lifetime) {
        r.lifetime = *q->lifetime;
        ev.parameters_changed = true;
    }
    if (q->binding) {
        const bool queue = q->queue;
        if (*q->binding != r.binding || queue != r.queue_mode) ev.parameters_changed = true;
        r.binding = *q->binding;
        // TS 1.0: the binding carries Q; 1.1+: Q is a separate parameter (kept when absent).
        r.queue_mode = r.version == dm::Lwm2mVersion::v1_0 ? queue : (r.queue_mode || queue);
    } else if (q->queue && !r.queue_mode) {
        r.queue_mode = true;
        ev.parameters_changed = true;
    }
    if (q->sms && *q->sms != r.sms) {
        r.sms.assign(*q->sms);
        ev.parameters_changed = true;
    }
    if (set) {
        if (*set != r.objects) {
            release_set(r.objects);
            r.objects = *set;
            r.profile = profile_of(*set, r.version);
            ev.objects_changed = true;
        } else {
            release_set(*set); // same payload: drop the extra reference
        }
    }
    if (in.peer != r.peer || l != r.listener) {
        // NAT rebinding or a new DTLS session from a new address (TS 1.1 §6.2.2).
        unindex_peer(*slot);
        r.peer = in.peer;
        r.listener = l;
        index_peer(*slot);
        ev.address_changed = true;
    }
    ev.peer = r.peer;
    if ((notes & ~r.notes) != 0)
        info("update of '" + r.endpoint.str() + "' accepted leniently: " + describe_notes(notes));
    r.notes |= notes | (set ? sets[*set].links.notes : 0);
    r.updated_at = wall.unix_seconds();
    r.expires = now + std::chrono::seconds(r.lifetime) + cfg.lifetime_grace;
    arm_expiry(*slot);
    ++stats.updates;
    journal_put(*slot);
    touch(now, *slot);

    coap::Message resp;
    resp.code = coap::code::changed;
    Held h;
    h.kind = HeldKind::update;
    h.listener = l;
    h.incoming = in.id;
    h.response = std::move(resp);
    h.event = std::move(ev);
    h.slot = *slot;
    h.nonce = r.nonce;
    hold(std::move(h), now);
}

void Engine::Impl::do_deregister(std::uint16_t l, TimePoint now, coap::IncomingRequest& in,
                                 std::string_view location) {
    const auto slot = slot_of_location(location);
    if (!slot) {
        if (park(l, now, in, identity_endpoint(l, in.peer), std::string(location))) return;
        ++stats.refused;
        return respond(l, now, in.id, coap::code::not_found, "no registration at this location");
    }
    Reg& r = reg(*slot);
    if (!same_client(*this, l, in.peer, r)) {
        ++stats.refused;
        return respond(l, now, in.id, coap::code::bad_request,
                       "the request does not come from the registered client");
    }
    ++stats.deregisters;
    Held h;
    h.kind = HeldKind::deregistration;
    h.listener = l;
    h.incoming = in.id;
    h.response.code = coap::code::deleted;
    h.event = Deregistered{r.endpoint, std::string(location), DeregisterReason::deregistered};
    end_registration(now, *slot, DeregisterReason::deregistered, false);
    hold(std::move(h), now);
}

// ------------------------------------------------------------------ views

store::RegistrationRecord Engine::Impl::record_of(std::uint32_t slot) const {
    store::RegistrationRecord rec;
    fill_record(rec, slot);
    return rec;
}

void Engine::Impl::fill_record(store::RegistrationRecord& rec, std::uint32_t slot) const {
    const Reg& r = reg(slot);
    rec.endpoint.assign(r.endpoint.view());
    rec.location = location_of(slot);
    rec.lwm2m_version.assign(dm::to_string(r.version));
    rec.lifetime_s = r.lifetime;
    rec.binding = binding_to_string(r.binding);
    if (r.queue_mode && r.version == dm::Lwm2mVersion::v1_0) {
        // TS 1.0 spelling: the Q follows the first transport letter (UQ, SQ, UQS).
        rec.binding.insert(1, 1, 'Q');
    }
    rec.queue_mode = r.queue_mode;
    rec.sms_number.assign(r.sms);
    rec.object_links.assign(sets[r.objects].raw);
    rec.peer = r.peer;
    rec.socket = r.listener;
    rec.security = r.security;
    rec.registered_at = r.registered_at;
    rec.updated_at = r.updated_at;
}

RegistrationInfo Engine::Impl::info_of(std::uint32_t slot) const {
    const Reg& r = reg(slot);
    RegistrationInfo i;
    i.endpoint = r.endpoint;
    i.location = location_of(slot);
    i.version = r.version;
    i.lifetime_s = r.lifetime;
    i.binding = r.binding;
    i.queue_mode = r.queue_mode;
    i.sms_number = r.sms;
    i.objects = sets[r.objects].links;
    i.peer = r.peer;
    i.socket = r.listener;
    i.security = r.security;
    i.registered_at = r.registered_at;
    i.updated_at = r.updated_at;
    i.expires_at = r.expires;
    i.notes = r.notes;
    return i;
}

// ------------------------------------------------------------------ restore

std::uint8_t Engine::Impl::stored_binding(std::string_view text) {
    std::uint8_t bits = 0;
    for (char c : text) {
        switch (c) {
        case 'U':
            bits |= binding::udp;
            break;
        case 'T':
            bits |= binding::tcp;
            break;
        case 'S':
            bits |= binding::sms;
            break;
        case 'N':
            bits |= binding::non_ip;
            break;
        case 'M':
            bits |= binding::mqtt;
            break;
        case 'H':
            bits |= binding::http;
            break;
        default:
            break;
        }
    }
    return bits != 0 ? bits : binding::udp;
}

Result<std::size_t> Engine::Impl::restore(TimePoint now, const store::RegistrationStore& s) {
    if (traffic || reg_count != 0) return fail(lwm2m::Errc::invalid_state);
    std::vector<store::RegistrationRecord> regs;
    std::vector<store::ObservationRecord> obs;
    LWM2M_TRY_VOID(s.load([&](store::RegistrationRecord&& r) { regs.push_back(std::move(r)); },
                          [&](store::ObservationRecord&& o) { obs.push_back(std::move(o)); }));
    const std::int64_t wall_now = wall.unix_seconds();
    std::size_t restored = 0;
    // Slots named by the stored locations first, so that those locations stay valid.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> wanted(regs.size(), {kNone, 0});
    std::uint32_t high = 0;
    for (std::size_t i = 0; i < regs.size(); ++i) {
        std::uint32_t slot = 0;
        std::uint32_t nonce = 0;
        if (!parse_location(regs[i].location, slot, nonce) || slot >= cfg.max_registrations)
            continue;
        wanted[i] = {slot, nonce};
        high = std::max(high, slot + 1);
    }
    while (slot_high < high)
        (void)alloc_slot();
    std::vector<bool> used(slot_high, false);
    for (std::size_t i = 0; i < regs.size(); ++i) {
        auto& rec = regs[i];
        const std::int64_t left = seconds_left(rec, wall_now);
        if (left <= 0 || find_slot(rec.endpoint)) {
            journal_remove(rec.endpoint);
            continue;
        }
        const dm::Lwm2mVersion v = stored_version(rec.lwm2m_version);
        Refusal why;
        // Restored records are parsed leniently whatever the configuration: they were accepted.
        // (An interned strict parse of the same text is shared: it is the same text.)
        std::optional<std::uint32_t> set = intern_set(rec.object_links, &why, false);
        if (!set || rec.socket >= listeners.size()) {
            warn("stored registration of '" + rec.endpoint + "' is unusable: dropped");
            journal_remove(rec.endpoint);
            continue;
        }
        std::uint32_t slot;
        bool same_location = false;
        if (wanted[i].first != kNone && !used[wanted[i].first]) {
            slot = wanted[i].first;
            same_location = true;
        } else {
            slot = alloc_slot();
            if (slot >= used.size()) used.resize(slot + 1, false);
        }
        used[slot] = true;
        Reg& r = reg(slot);
        r.nonce = same_location ? wanted[i].second : 0;
        while (r.nonce == 0)
            r.nonce = random.next_u32();
        load_record(r, rec, v, *set, now, left);
        by_endpoint.assign(endpoint_tag(r.endpoint), slot, [](std::uint32_t) { return false; });
        index_peer(slot);
        ++reg_count;
        reg_peak = std::max(reg_peak, reg_count);
        ++restored;
        push_expiry(slot);
        if (!same_location && cfg.read_through.enabled && !rec.location.empty() &&
            !by_alias.contains(rec.location)) {
            // Another node's location (or ours under an earlier prefix): kept as it is.
            set_alias(slot, rec.location);
        } else if (!same_location) {
            warn("stored registration of '" + r.endpoint.str() +
                 "' got a new location; the client will re-register");
            journal_put(slot);
        }
        emit(Registered{r.endpoint, location_of(slot), r.version, r.lifetime, r.queue_mode, r.peer,
                        r.listener, false, true});
    }
    // Every slot below the high-water mark that holds nothing is free; the lowest are reused
    // first (alloc_slot pops from the back).
    free_slots.clear();
    for (std::uint32_t sl = slot_high; sl-- > 0;)
        if (reg(sl).nonce == 0) free_slots.push_back(sl);
    for (auto& o : obs) {
        auto slot = find_slot(o.endpoint);
        if (!slot) continue;
        auto ob = observation_from(*slot, o);
        if (!ob) continue;
        next_observation = std::max(next_observation, o.id + 1);
        reg(*slot).observations.push_back(ob->id);
        observations.emplace(ob->id, std::move(*ob));
    }
    info("restored " + std::to_string(restored) + " registrations and " +
         std::to_string(observations.size()) + " observations");
    return restored;
}

std::optional<detail::Observation>
Engine::Impl::observation_from(std::uint32_t slot, const store::ObservationRecord& o) const {
    if (o.paths.empty() || o.token.size() > 8) return std::nullopt;
    detail::Observation ob;
    ob.id = o.id;
    ob.slot = slot;
    ob.nonce = reg(slot).nonce;
    ob.composite = o.composite;
    ob.established = false; // dormant: re-sent with its token at the client's next message
    for (const auto& p : o.paths) {
        auto path = dm::Path::parse(p);
        if (!path) return std::nullopt;
        ob.paths.push_back(*path);
    }
    if (o.accept) ob.accept = format::content_format_from(*o.accept);
    if (ob.composite) ob.request_format = ob.accept;
    ob.token = coap::Token(o.token);
    ob.listener = reg(slot).listener;
    ob.created_at = o.created_at;
    return ob;
}

std::int64_t Engine::Impl::seconds_left(const store::RegistrationRecord& rec,
                                        std::int64_t wall_now) const {
    return rec.updated_at + std::int64_t{rec.lifetime_s} +
           std::chrono::duration_cast<std::chrono::seconds>(cfg.lifetime_grace).count() - wall_now;
}

dm::Lwm2mVersion Engine::Impl::stored_version(const std::string& text) {
    auto version = parse_version(text);
    if (version && version->first == 1 && version->second <= 2)
        return static_cast<dm::Lwm2mVersion>(version->second);
    return dm::Lwm2mVersion::v1_0;
}

void Engine::Impl::load_record(detail::Reg& r, store::RegistrationRecord& rec, dm::Lwm2mVersion v,
                               std::uint32_t set, TimePoint now, std::int64_t left) {
    r.endpoint.assign(rec.endpoint);
    r.sms = std::move(rec.sms_number);
    r.peer = rec.peer;
    r.listener = rec.socket;
    r.version = v;
    r.binding = stored_binding(rec.binding);
    r.queue_mode = rec.queue_mode;
    r.security = rec.security;
    r.lifetime = rec.lifetime_s;
    r.objects = set;
    r.profile = profile_of(set, v);
    r.notes = sets[set].links.notes;
    r.registered_at = rec.registered_at;
    r.updated_at = rec.updated_at;
    r.expires = now + std::chrono::seconds(left);
    r.awake_until = now; // asleep until it shows up
}

} // namespace lwm2m::server
