// lwm2m-fleet: many simulated LwM2M clients in one process (docs/guide-fleet.md). Each simulated
// device is a real client engine (src/client) with a Device object, its own UDP socket and source
// port; one thread drives a whole shard of devices through one transport::Loop (the Fleet is the
// loop's sans-I/O core: datagrams are routed by the socket they arrive on).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/log.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/client/engine.hpp>
#include <lwm2m/dm/registry.hpp>

namespace lwm2m::fleet {

struct FleetConfig {
    std::string endpoint_prefix = "fleet-"; ///< device i is "<prefix><i>"
    std::size_t first_index = 0;            ///< index of this shard's first device
    std::size_t count = 0;                  ///< devices in this shard
    std::string server_uri;                 ///< register directly (factory account), or
    std::string bootstrap_uri;              ///< bootstrap first
    /// PSK for coaps:// URIs: identity = the endpoint name, key = this (shared by the fleet).
    std::optional<SecretBytes> psk_key;
    std::int64_t lifetime = 300;
    dm::Lwm2mVersion version = dm::Lwm2mVersion::v1_1;
    /// Devices started per second (ramp-up); the shard's share of the fleet's rate.
    double rate = 100;
    /// Every `churn_interval`, this fraction of the registered devices leaves: half de-register,
    /// half vanish without a word; they come back `churn_interval` later. 0: no churn.
    double churn_fraction = 0;
    Duration churn_interval = std::chrono::seconds(30);
    /// The changing value servers observe (Battery Level /3/0/9) moves this often.
    Duration value_interval = std::chrono::seconds(5);
    /// Keep every acknowledged Register and Update for take_acks().
    bool record_acks = false;
};

/// Counters and latencies of one shard (merged by the program for the summary).
struct FleetStats {
    std::uint64_t started = 0;
    std::uint64_t registered_now = 0;   ///< devices currently registered
    std::uint64_t registrations = 0;    ///< successful Register operations
    std::uint64_t updates = 0;          ///< successful Update operations
    std::uint64_t bootstraps = 0;       ///< successful Bootstrap-Finish
    std::uint64_t requests_handled = 0; ///< server requests answered by the devices
    std::uint64_t notifications = 0;
    std::uint64_t deregistrations = 0;
    std::uint64_t churned = 0;
    std::uint64_t dtls_handshakes = 0;             ///< DTLS handshakes the devices completed
    std::map<std::string, std::uint64_t> failures; ///< by cause (error message)
    /// Start -> registered (first registration of each device start), milliseconds.
    std::vector<double> register_ms;
    /// Update -> 2.04, milliseconds: from the device's last datagram out (its Update, or the
    /// Update's last retransmission) to the answer.
    std::vector<double> update_ms;
};

class Fleet {
public:
    /// `sockets` (one per device, in order) must outlive the fleet.
    Fleet(FleetConfig config, std::size_t socket_count, Random& random, const WallClock& wall,
          Logger& log);
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    void start(TimePoint now);
    /// De-registers every device; stopped() once all answered or gave up.
    void stop(TimePoint now);
    [[nodiscard]] bool stopped() const;

    // --- sans-I/O core of transport::Loop (socket index = device index) ---
    void on_datagram(TimePoint now, std::uint16_t socket, const PeerAddr& from, BytesView bytes);
    void on_timeout(TimePoint now);
    [[nodiscard]] std::optional<Datagram> poll_transmit();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    [[nodiscard]] const FleetStats& stats() const;
    /// "registered <endpoint>" for each Register answered 2.01 and "updated <endpoint>" for each
    /// Update answered 2.04 since the last call (in order), when FleetConfig::record_acks is
    /// set: what the server acknowledged.
    [[nodiscard]] std::vector<std::string> take_acks();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

/// p-th percentile (0..100) of `values` (sorted in place); 0 when empty.
[[nodiscard]] double percentile(std::vector<double>& values, double p);

} // namespace lwm2m::fleet
