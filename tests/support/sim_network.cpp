#include "support/sim_network.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace lwm2m::test {

std::uint64_t sim_seeds(std::uint64_t fallback) {
    const char* v = std::getenv("LWM2M_SIM_SEEDS");
    if (v == nullptr || *v == '\0') return fallback;
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    return *end == '\0' && n >= 1 && n <= 100000 ? n : fallback;
}

SimNetwork::SimNetwork(std::uint64_t seed, TimePoint start)
    : rng_(seed)
    , now_(start) {}

std::size_t SimNetwork::add_node(const PeerAddr& addr, SimNode node) {
    nodes_.push_back(std::move(node));
    addrs_.push_back(addr);
    by_addr_[addr] = nodes_.size() - 1;
    return nodes_.size() - 1;
}

void SimNetwork::set_link(const PeerAddr& from, const PeerAddr& to, const LinkConfig& c) {
    links_[{from, to}] = c;
}

void SimNetwork::partition(const PeerAddr& a, const PeerAddr& b, TimePoint from, TimePoint until) {
    partitions_.push_back(Partition{a, b, from, until});
}

const LinkConfig& SimNetwork::link(const PeerAddr& from, const PeerAddr& to) const {
    auto it = links_.find({from, to});
    return it == links_.end() ? default_link_ : it->second;
}

void SimNetwork::kick() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].after) nodes_[i].after(now_);
        drain(i);
    }
}

void SimNetwork::drain(std::size_t node) {
    while (auto d = nodes_[node].poll_transmit())
        route(node, std::move(*d));
}

void SimNetwork::inject(const PeerAddr& from, const PeerAddr& to, Bytes bytes) {
    route_from(from, Datagram{to, std::move(bytes)});
}

void SimNetwork::route(std::size_t from_node, Datagram d) {
    route_from(addrs_[from_node], std::move(d));
}

void SimNetwork::route_from(const PeerAddr& from, Datagram d) {
    ++stats_.sent;
    auto dst = by_addr_.find(d.peer);
    if (dst == by_addr_.end()) {
        ++stats_.unroutable;
        stats_.unroutable_bytes += d.bytes.size();
        return;
    }
    for (const auto& p : partitions_) {
        const bool match = (p.a == from && p.b == d.peer) || (p.b == from && p.a == d.peer);
        if (match && now_ >= p.from && now_ < p.until) {
            ++stats_.partitioned;
            return;
        }
    }
    if (filter_ && !filter_(now_, from, d.peer, d.bytes)) {
        ++stats_.filtered;
        return;
    }
    const LinkConfig& l = link(from, d.peer);
    if (l.loss > 0 && rng_.unit() < l.loss) {
        ++stats_.lost;
        return;
    }
    int copies = 1;
    if (l.duplicate > 0 && rng_.unit() < l.duplicate) {
        ++stats_.duplicated;
        copies = 2;
    }
    for (int c = 0; c < copies; ++c) {
        Duration delay = l.delay;
        if (l.jitter.count() > 0)
            delay += Duration(
                static_cast<Duration::rep>(rng_.unit() * static_cast<double>(l.jitter.count())));
        if (l.reorder > 0 && rng_.unit() < l.reorder) {
            ++stats_.reordered;
            delay += Duration(static_cast<Duration::rep>(
                rng_.unit() * static_cast<double>(l.reorder_delay.count())));
        }
        queue_.push(InFlight{now_ + delay, seq_++, dst->second, from, d.bytes});
    }
}

bool SimNetwork::step(TimePoint limit) {
    std::optional<TimePoint> next_timer;
    for (auto& n : nodes_) {
        if (auto t = n.next_deadline(); t && (!next_timer || *t < *next_timer)) next_timer = t;
    }
    const bool have_packet = !queue_.empty();
    if (!have_packet && !next_timer) return false;
    const bool timer_first = next_timer && (!have_packet || *next_timer <= queue_.top().at);
    const TimePoint t = timer_first ? *next_timer : queue_.top().at;
    if (t > limit) return false;
    ++stats_.steps;
    now_ = std::max(now_, t);
    if (timer_first) {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            auto d = nodes_[i].next_deadline();
            if (!d || *d > now_) continue;
            ++stats_.timer_fires;
            nodes_[i].on_timeout(now_);
            if (auto after = nodes_[i].next_deadline(); after && *after <= now_)
                ++stats_.deadline_violations;
            if (nodes_[i].after) nodes_[i].after(now_);
            drain(i);
        }
        return true;
    }
    InFlight f = queue_.top();
    queue_.pop();
    ++stats_.delivered;
    nodes_[f.to].on_datagram(now_, f.from, f.bytes);
    if (nodes_[f.to].after) nodes_[f.to].after(now_);
    drain(f.to);
    return true;
}

bool SimNetwork::run_until(const std::function<bool()>& pred, Duration max_time) {
    const TimePoint limit = now_ + max_time;
    std::uint64_t steps = 0;
    kick();
    while (!pred()) {
        if (steps++ >= max_steps_) return false;
        if (stats_.deadline_violations > 0) return pred(); // a node would spin forever
        if (!step(limit)) return pred();
    }
    return true;
}

void SimNetwork::run_for(Duration d) {
    const TimePoint limit = now_ + d;
    std::uint64_t steps = 0;
    kick();
    while (steps++ < max_steps_ && stats_.deadline_violations == 0 && step(limit)) {
    }
    now_ = std::max(now_, limit);
}

} // namespace lwm2m::test
