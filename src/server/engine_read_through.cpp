// Read-through of registrations held by other nodes sharing the store (docs/cluster-nodes.md
// "Several nodes"). A request of a client this engine holds no registration for is parked and a
// RegistrationLookup goes to the driver; the driver's answer (provide_registration /
// registration_not_found) lets the engine take the registration over, keeping its location, and
// handle the parked request as if it had always held it; "none" keeps today's 4.04 (the client
// registers again, LwM2M TS 1.1 §6.2.2). An expiry is checked the same way before its removal is
// journaled: when the store holds a newer registration of the endpoint (another node took the
// client over) or none, only the local copy ends (Deregistered{moved}).
#include <algorithm>
#include <charconv>

#include "server/engine_impl.hpp"

namespace lwm2m::server {

using detail::Parked;
using detail::PeerKey;
using detail::Reg;

std::string Engine::Impl::identity_endpoint(std::uint16_t l, const PeerAddr& peer) const {
    if (listeners[l]->security != ListenerSecurity::dtls) return {};
    auto it = identities.find(PeerKey{l, peer});
    return it == identities.end() ? std::string() : it->second.endpoint;
}

bool Engine::Impl::park(std::uint16_t l, TimePoint now, const coap::IncomingRequest& in,
                        std::string endpoint, std::string location) {
    if (!cfg.read_through.enabled || redispatching || (endpoint.empty() && location.empty()))
        return false;
    const PeerKey key{l, in.peer};
    auto per = parked_per_peer.find(key);
    const std::size_t of_peer = per == parked_per_peer.end() ? 0 : per->second;
    if (parked_uplinks >= cfg.read_through.max_parked ||
        of_peer >= cfg.read_through.max_parked_per_peer) {
        ++stats.lookups_refused;
        ++stats.refused;
        respond(l, now, in.id, coap::code::service_unavailable,
                "too many registration lookups; retry later");
        return true;
    }
    ++parked_per_peer[key];
    ++parked_uplinks;
    const std::uint64_t id = next_lookup++;
    Parked p;
    p.reason = LookupReason::uplink;
    p.listener = l;
    p.in = in;
    p.endpoint = endpoint;
    p.location = location;
    p.deadline = now + cfg.read_through.timeout;
    parked_order.emplace_back(p.deadline, id);
    parked.emplace(id, std::move(p));
    debug([&] {
        return "request from " + in.peer.to_string() + " parked: looking up " +
               (location.empty() ? "endpoint '" + endpoint + "'" : "location " + location);
    });
    lookups.push_back(
        RegistrationLookup{id, std::move(endpoint), std::move(location), LookupReason::uplink});
    ++stats.lookups;
    return true;
}

void Engine::Impl::unpark_peer(const Parked& p) {
    if (p.reason != LookupReason::uplink) return;
    --parked_uplinks;
    const PeerKey key{p.listener, p.in.peer};
    if (auto it = parked_per_peer.find(key); it != parked_per_peer.end() && --it->second == 0)
        parked_per_peer.erase(it);
}

void Engine::Impl::park_timeouts(TimePoint now) {
    while (!parked_order.empty() && parked_order.front().first <= now) {
        const std::uint64_t id = parked_order.front().second;
        parked_order.pop_front();
        auto it = parked.find(id);
        if (it == parked.end()) continue; // answered
        Parked p = std::move(it->second);
        parked.erase(it);
        ++stats.lookups_timed_out;
        if (p.reason == LookupReason::uplink) {
            unpark_peer(p);
            ++stats.refused;
            warn("registration lookup for " + p.in.peer.to_string() + " timed out");
            respond(p.listener, now, p.in.id, coap::code::service_unavailable,
                    "the registration could not be looked up; retry later");
            continue;
        }
        Reg* r = live(p.slot, p.nonce);
        if (r == nullptr || !r->checking) continue;
        r->checking = false;
        ++stats.expirations;
        info("registration of '" + r->endpoint.str() + "' expired (lifetime " +
             std::to_string(r->lifetime) + " s; the store did not answer the check)");
        end_registration(now, p.slot, DeregisterReason::expired, true);
    }
}

std::optional<std::uint32_t> Engine::Impl::adopt(TimePoint now, store::RegistrationRecord& rec,
                                                 std::vector<store::ObservationRecord>* obs) {
    const std::int64_t left = seconds_left(rec, wall.unix_seconds());
    if (left <= 0 || rec.socket >= listeners.size() || rec.location.empty() || rec.endpoint.empty())
        return std::nullopt;
    if (auto existing = find_slot(rec.endpoint)) {
        if (location_of(*existing) == rec.location) return existing; // adopted meanwhile
        // Our copy is older than the store's (the client registered again at another node).
        ++stats.moved;
        end_registration(now, *existing, DeregisterReason::moved, true, false);
    }
    if (slot_of_location(rec.location)) return std::nullopt; // held by another endpoint here
    if (reg_count >= cfg.max_registrations) return std::nullopt;
    const dm::Lwm2mVersion v = stored_version(rec.lwm2m_version);
    Refusal why;
    // Stored records were accepted by a node: parsed leniently whatever the configuration.
    auto set = intern_set(rec.object_links, &why, false);
    if (!set) return std::nullopt;
    const std::uint32_t slot = alloc_slot();
    Reg& r = reg(slot);
    do {
        r.nonce = random.next_u32();
    } while (r.nonce == 0);
    load_record(r, rec, v, *set, now, left);
    set_alias(slot, rec.location);
    by_endpoint.assign(endpoint_tag(r.endpoint), slot, [](std::uint32_t) { return false; });
    index_peer(slot);
    ++reg_count;
    reg_peak = std::max(reg_peak, reg_count);
    push_expiry(slot);
    ++stats.adopted;
    // The observations the other node established: dormant until the client's next message
    // (this one: the parked request) re-sends them with their tokens, as after a restart. An
    // id another observation here already has gets a new one (the stored entry moves to it).
    std::size_t taken_obs = 0;
    if (obs) {
        for (auto& o : *obs) {
            if (o.endpoint != rec.endpoint) continue;
            auto ob = observation_from(slot, o);
            if (!ob) continue;
            if (observations.contains(ob->id)) {
                if (cfg.journal)
                    journal.push_back(detail::JournalEntry{next_seq++,
                                                           detail::JournalKind::obs_remove, false,
                                                           slot, r.nonce, ob->id, rec.endpoint});
                ob->id = next_observation++;
                journal_observation(detail::JournalKind::obs_put, *ob);
            } else {
                next_observation = std::max(next_observation, ob->id + 1);
            }
            r.observations.push_back(ob->id);
            observations.emplace(ob->id, std::move(*ob));
            ++taken_obs;
        }
    }
    info("registration of '" + rec.endpoint + "' at /" + cfg.rd_path + "/" + rec.location +
         " taken over from the store" +
         (taken_obs == 0 ? std::string()
                         : " with " + std::to_string(taken_obs) + " observation(s)"));
    emit(Registered{r.endpoint, rec.location, r.version, r.lifetime, r.queue_mode, r.peer,
                    r.listener, false, true, true});
    return slot;
}

void Engine::Impl::provide(TimePoint now, std::uint64_t id, store::RegistrationRecord* rec,
                           std::vector<store::ObservationRecord>* obs) {
    auto it = parked.find(id);
    if (it == parked.end()) return; // timed out, or not ours
    Parked p = std::move(it->second);
    parked.erase(it);
    const bool usable = rec != nullptr && (p.endpoint.empty() || rec->endpoint == p.endpoint) &&
                        (p.location.empty() || rec->location == p.location);
    if (p.reason == LookupReason::expiry) {
        Reg* r = live(p.slot, p.nonce);
        if (r == nullptr || !r->checking) return; // the client came back meanwhile
        r->checking = false;
        if (usable && rec->location == location_of(p.slot) && rec->updated_at <= r->updated_at) {
            ++stats.expirations;
            info("registration of '" + r->endpoint.str() + "' expired (lifetime " +
                 std::to_string(r->lifetime) + " s)");
            end_registration(now, p.slot, DeregisterReason::expired, true);
        } else {
            ++stats.moved;
            info("registration of '" + r->endpoint.str() +
                 "' is served elsewhere now (the store holds " + (usable ? "a newer one" : "none") +
                 "): dropped here");
            end_registration(now, p.slot, DeregisterReason::moved, true, false);
        }
        return;
    }
    unpark_peer(p);
    std::optional<std::uint32_t> slot;
    if (usable) slot = adopt(now, *rec, obs);
    if (slot) {
        ++stats.lookups_found;
        // A Send (no location) from the authenticated client at a new address: the registration
        // follows it (an Update does this itself).
        Reg& r = reg(*slot);
        if (p.location.empty() && !p.endpoint.empty() && r.endpoint == p.endpoint &&
            (r.peer != p.in.peer || r.listener != p.listener) &&
            listeners[p.listener]->security == listeners[r.listener]->security) {
            unindex_peer(*slot);
            r.peer = p.in.peer;
            r.listener = p.listener;
            index_peer(*slot);
            journal_put(*slot);
        }
    } else {
        ++stats.lookups_not_found;
    }
    redispatching = true;
    on_request(p.listener, now, p.in);
    redispatching = false;
}

// ------------------------------------------------------------------ public API

std::optional<RegistrationLookup> Engine::poll_lookup() {
    auto& q = impl_->lookups;
    if (q.empty()) return std::nullopt;
    RegistrationLookup l = std::move(q.front());
    q.pop_front();
    return l;
}

void Engine::provide_registration(TimePoint now, std::uint64_t id,
                                  store::RegistrationRecord record) {
    impl_->provide(now, id, &record);
}

void Engine::provide_registration(TimePoint now, std::uint64_t id, store::RegistrationRecord record,
                                  std::vector<store::ObservationRecord> observations) {
    impl_->provide(now, id, &record, &observations);
}

void Engine::registration_not_found(TimePoint now, std::uint64_t id) {
    impl_->provide(now, id, nullptr);
}

} // namespace lwm2m::server
