// SimNetwork: a deterministic network simulator in virtual time for sans-I/O cores
// (docs/architecture.md §2, §7 "sim" level). Reusable by every layer (CoAP, DTLS, client, server).
//
// Nodes are any objects with the sans-I/O contract, seen through a SimNode adapter of
// std::function's (make_sim_node() builds one for any type with on_datagram / on_timeout /
// poll_transmit / next_deadline). Time only moves inside SimNetwork: the queue holds datagrams in
// flight ordered by (time, seq); between deliveries, the earliest node deadline fires.
//
// Per directed link (or the default link): delay + uniform jitter, loss, duplication and
// reordering probabilities (a reordered datagram gets an extra random delay up to
// reorder_delay), all drawn from one SeededRandom, so a seed replays exactly. Partitions take a
// link down for an interval; a filter hook sees (and may drop or rewrite) every datagram.
//
// Typical use:
//   SimNetwork net(seed);
//   auto a = net.add_node(addr_a, make_sim_node(endpoint_a, [&](TimePoint now) { app_a(now); }));
//   net.set_default_link({.delay = 10ms, .loss = 0.05});
//   bool done = net.run_until([&] { return finished; }, std::chrono::minutes(10));
//
// The `after` hook of a node runs after each of its inputs (and after kick()): the application
// logic drains events there and issues commands; the network then drains poll_transmit().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <utility>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/base/time.hpp>

namespace lwm2m::test {

/// How many seeds a simulation test runs: $LWM2M_SIM_SEEDS when set to a number in 1..100000
/// (the `sim-long` ctest entries run the same programs with it), else `fallback` (the default
/// `sim` run).
[[nodiscard]] std::uint64_t sim_seeds(std::uint64_t fallback);

struct SimNode {
    std::function<void(TimePoint, const PeerAddr&, BytesView)> on_datagram;
    std::function<void(TimePoint)> on_timeout;
    std::function<std::optional<Datagram>()> poll_transmit;
    std::function<std::optional<TimePoint>()> next_deadline;
    /// Optional application hook, run after every input to this node and on kick().
    std::function<void(TimePoint)> after;
};

/// Adapts any object with the sans-I/O contract (by reference: it must outlive the network).
template <class T>
SimNode make_sim_node(T& obj, std::function<void(TimePoint)> after = {}) {
    SimNode n;
    n.on_datagram = [&obj](TimePoint now, const PeerAddr& from, BytesView b) {
        obj.on_datagram(now, from, b);
    };
    n.on_timeout = [&obj](TimePoint now) { obj.on_timeout(now); };
    n.poll_transmit = [&obj]() -> std::optional<Datagram> { return obj.poll_transmit(); };
    n.next_deadline = [&obj]() -> std::optional<TimePoint> { return obj.next_deadline(); };
    n.after = std::move(after);
    return n;
}

struct LinkConfig {
    Duration delay = std::chrono::milliseconds(10);
    Duration jitter{0};     ///< uniform extra delay in [0, jitter]
    double loss = 0.0;      ///< probability a datagram is dropped
    double duplicate = 0.0; ///< probability a datagram is delivered twice
    double reorder = 0.0;   ///< probability a datagram gets an extra random delay
    Duration reorder_delay = std::chrono::milliseconds(100);
};

class SimNetwork {
public:
    /// Return false to drop the datagram; may rewrite `bytes`.
    using Filter =
        std::function<bool(TimePoint, const PeerAddr& from, const PeerAddr& to, Bytes& bytes)>;

    struct Stats {
        std::uint64_t sent = 0;
        std::uint64_t delivered = 0;
        std::uint64_t lost = 0;
        std::uint64_t duplicated = 0;
        std::uint64_t reordered = 0;
        std::uint64_t partitioned = 0;
        std::uint64_t filtered = 0;
        std::uint64_t unroutable = 0;
        std::uint64_t unroutable_bytes = 0; ///< bytes sent to addresses no node has
        std::uint64_t timer_fires = 0;
        std::uint64_t steps = 0;
        std::uint64_t deadline_violations = 0; ///< a node's deadline stayed <= now after on_timeout
    };

    explicit SimNetwork(std::uint64_t seed,
                        TimePoint start = TimePoint{} + std::chrono::seconds(1));

    /// Adds a node reachable at `addr`; returns its index.
    std::size_t add_node(const PeerAddr& addr, SimNode node);
    void set_default_link(const LinkConfig& c) { default_link_ = c; }
    /// Directed link from -> to.
    void set_link(const PeerAddr& from, const PeerAddr& to, const LinkConfig& c);
    /// Both directions between a and b are down during [from, until).
    void partition(const PeerAddr& a, const PeerAddr& b, TimePoint from, TimePoint until);
    void set_filter(Filter f) { filter_ = std::move(f); }
    /// Caps the number of simulation steps (deliveries + timer rounds) of run_until/run_for.
    void set_max_steps(std::uint64_t n) { max_steps_ = n; }

    [[nodiscard]] TimePoint now() const { return now_; }
    [[nodiscard]] const Stats& stats() const { return stats_; }
    [[nodiscard]] Random& random() { return rng_; }

    /// Delivers `bytes` to the node at `to` as if sent from `from`, which need not be a node:
    /// models a source-address-spoofing attacker. Goes through the (from, to) link's delay,
    /// jitter and loss; the filter and partitions apply. Unroutable `to` is counted.
    void inject(const PeerAddr& from, const PeerAddr& to, Bytes bytes);
    /// Runs every node's `after` hook and drains their transmissions (call after issuing
    /// commands to nodes from outside the network).
    void kick();
    /// Runs until pred() is true (checked after every step), virtual time passes `max_time`
    /// from now, nothing is left to do, or the step cap is hit. Returns pred().
    bool run_until(const std::function<bool()>& pred, Duration max_time);
    /// Runs for `d` of virtual time.
    void run_for(Duration d);

private:
    struct InFlight {
        TimePoint at;
        std::uint64_t seq = 0;
        std::size_t to = 0;
        PeerAddr from;
        Bytes bytes;
    };
    struct Later {
        bool operator()(const InFlight& a, const InFlight& b) const {
            if (a.at != b.at) return a.at > b.at;
            return a.seq > b.seq;
        }
    };
    struct Partition {
        PeerAddr a, b;
        TimePoint from, until;
    };

    void drain(std::size_t node);
    void route(std::size_t from_node, Datagram d);
    void route_from(const PeerAddr& from, Datagram d);
    /// One step: the earliest delivery or deadline up to `limit`. False if nothing to do.
    bool step(TimePoint limit);
    const LinkConfig& link(const PeerAddr& from, const PeerAddr& to) const;

    SeededRandom rng_;
    TimePoint now_;
    std::vector<SimNode> nodes_;
    std::vector<PeerAddr> addrs_;
    std::map<PeerAddr, std::size_t> by_addr_;
    std::map<std::pair<PeerAddr, PeerAddr>, LinkConfig> links_;
    std::vector<Partition> partitions_;
    LinkConfig default_link_;
    Filter filter_;
    std::priority_queue<InFlight, std::vector<InFlight>, Later> queue_;
    std::uint64_t seq_ = 0;
    std::uint64_t max_steps_ = 50'000'000;
    Stats stats_;
};

} // namespace lwm2m::test
