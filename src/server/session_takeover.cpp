#include <lwm2m/server/session_takeover.hpp>

#include <algorithm>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::server {

SessionTakeover::SessionTakeover(SessionTakeoverConfig config, SecretBytes key)
    : cfg_(config)
    , key_(std::move(key)) {}

Result<SessionTakeover> SessionTakeover::create(SessionTakeoverConfig config,
                                                SecretBytes cluster_key) {
    if (cluster_key.size() != dtls::kClusterKeySize || config.max_in_flight == 0 ||
        config.lookups_per_second == 0 || config.lookup_burst == 0)
        return fail(lwm2m::Errc::invalid_argument);
    return SessionTakeover(config, std::move(cluster_key));
}

std::optional<SessionLookupRequest>
SessionTakeover::on_unknown(TimePoint now, std::uint16_t listener, const PeerAddr& peer) {
    expire(now);
    if (pending_peers_.contains(peer)) {
        ++stats_.rate_limited; // its look-up is under way: the kept datagram waits for it
        return std::nullopt;
    }
    // The budget refills with time (a token bucket, full at the first report).
    const double burst = cfg_.lookup_burst;
    if (!refilled_) {
        tokens_ = burst;
    } else if (now > *refilled_) {
        const double s = std::chrono::duration<double>(now - *refilled_).count();
        tokens_ = std::min(burst, tokens_ + s * cfg_.lookups_per_second);
    }
    refilled_ = std::max(refilled_.value_or(now), now);
    if (misses_.contains(peer) || pending_.size() >= cfg_.max_in_flight || tokens_ < 1) {
        ++stats_.rate_limited;
        forget(listener, peer);
        return std::nullopt;
    }
    tokens_ -= 1;
    const std::uint64_t id = next_id_++;
    pending_.emplace(id, Pending{listener, peer, now + cfg_.lookup_timeout});
    pending_peers_.insert(peer);
    ++stats_.lookups;
    return SessionLookupRequest{id, listener, peer};
}

std::optional<SessionTakeover::Pending> SessionTakeover::take(std::uint64_t id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    Pending p = it->second;
    pending_.erase(it);
    pending_peers_.erase(p.peer);
    return p;
}

std::optional<SessionImport> SessionTakeover::on_found(TimePoint now, std::uint64_t id,
                                                       BytesView sealed,
                                                       std::optional<std::uint64_t> high_water,
                                                       std::uint64_t write_seq_floor) {
    auto p = take(id);
    if (!p) return std::nullopt;
    auto st = dtls::open_session_state(sealed, key_, p->peer);
    if (!st) {
        ++stats_.open_failed;
        miss(now, p->peer);
        forget(p->listener, p->peer);
        return std::nullopt;
    }
    // Records the exporter accepted after its export are above the exported window: the
    // persisted high-water mark (written more often than the blob) closes most of that gap.
    if (high_water && (!st->read_window.any || *high_water > st->read_window.highest))
        st->read_window = dtls::ReplayWindow::above(*high_water);
    // The exported write_seq lies in its exporter's range [n * 2^32, (n + 1) * 2^32): our range
    // must start above that whole range even when the store's counter answered lower (the
    // counter key expired or was lost in a failover while the blob lived on). Without this a
    // lost counter hands out an exporter's range again: the same CCM nonces under the same key.
    const std::uint64_t above_exporter = ((st->write_seq >> 32) + 1) << 32;
    return SessionImport{p->listener, std::move(*st), std::max(write_seq_floor, above_exporter)};
}

void SessionTakeover::on_not_found(TimePoint now, std::uint64_t id) {
    auto p = take(id);
    if (!p) return;
    ++stats_.not_found;
    miss(now, p->peer);
    forget(p->listener, p->peer);
}

void SessionTakeover::on_imported(TimePoint now, std::uint16_t listener, const PeerAddr& peer,
                                  const Result<void>& outcome) {
    if (outcome) {
        ++stats_.imported;
        return;
    }
    ++stats_.import_failed;
    miss(now, peer);
    forget(listener, peer);
}

void SessionTakeover::forget(std::uint16_t listener, const PeerAddr& peer) {
    forget_.push_back({0, listener, peer});
    if (forget_.size() > 4096) forget_.pop_front();
}

std::optional<SessionLookupRequest> SessionTakeover::poll_forget() {
    if (forget_.empty()) return std::nullopt;
    auto f = forget_.front();
    forget_.pop_front();
    return f;
}

void SessionTakeover::miss(TimePoint now, const PeerAddr& peer) {
    const TimePoint until = now + cfg_.miss_ttl;
    misses_[peer] = until;
    miss_order_.emplace_back(peer, until);
    while (misses_.size() > cfg_.max_misses && !miss_order_.empty()) {
        auto [addr, at] = miss_order_.front();
        miss_order_.pop_front();
        // An address missed again later has a newer entry further back: keep it.
        if (auto it = misses_.find(addr); it != misses_.end() && it->second == at)
            misses_.erase(it);
    }
}

void SessionTakeover::expire(TimePoint now) {
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline <= now) {
            ++stats_.timed_out;
            pending_peers_.erase(it->second.peer);
            // The table keeps the address's datagram until told: without this it would never
            // report the address again (a look-up lost in a store failover strands the device).
            forget(it->second.listener, it->second.peer);
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    while (!miss_order_.empty() && miss_order_.front().second <= now) {
        auto [addr, at] = miss_order_.front();
        miss_order_.pop_front();
        if (auto it = misses_.find(addr); it != misses_.end() && it->second == at)
            misses_.erase(it);
    }
    // Entries superseded by a newer miss of their address stay in the queue until their time;
    // bound the queue anyway.
    while (miss_order_.size() > 2 * cfg_.max_misses + 16) {
        auto [addr, at] = miss_order_.front();
        miss_order_.pop_front();
        if (auto it = misses_.find(addr); it != misses_.end() && it->second == at)
            misses_.erase(it);
    }
}

Result<Bytes> SessionTakeover::seal(const dtls::SessionState& state, Random& random) {
    auto blob = dtls::seal_session_state(state, key_, random);
    if (blob)
        ++stats_.exported;
    else
        ++stats_.export_failed;
    return blob;
}

} // namespace lwm2m::server
