// The driver that runs a sans-I/O core on real UDP sockets (docs/architecture.md §2).
//
//   transport::Loop loop(endpoint, socket);
//   loop.set_hook([&](TimePoint now) { while (auto ev = endpoint.poll_event()) handle(*ev); });
//   loop.run_for(std::chrono::seconds(5));
//
// One iteration: flush queued output; wait until the core's next_deadline(), a readable socket, a
// writable socket with queued output, or stop(); read every readable socket in batches (recvmmsg)
// and feed on_datagram(); call on_timeout() when the deadline has passed; call the tasks post()ed
// by other threads; the application hook; drain poll_transmit() into per-socket outboxes and send
// them with sendmmsg.
//
// Waiting: a few sockets (a server's listeners) are waited for with ppoll(), which rebuilds its
// set on every wake-up (O(sockets), cheapest when they are few); large sets (lwm2m-fleet: one
// socket per simulated device, up to 25,000 per loop) with epoll, whose cost per wake-up grows
// with the READY sockets only (LoopOptions::wait). Both keep nanosecond deadlines (ppoll's
// timespec, epoll_pwait2()). Reading and flushing visit only the ready sockets and the sockets
// with queued output, so an iteration costs O(active sockets) on the epoll path.
//
// Several sockets (a server on 5683 and 5684, IPv4 and IPv6): a core that has the overload
// `on_datagram(now, std::uint16_t socket, from, bytes)` is told the index (in sockets()) of the
// socket each datagram arrived on; a Datagram it emits leaves from sockets()[d.socket] when that
// socket can reach the peer, else from the first socket that can.
//
// The loop and its core belong to one thread. stop() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include <poll.h>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/transport/time_source.hpp>
#include <lwm2m/transport/udp_socket.hpp>

namespace lwm2m::transport {

/// A core that wants to know which local socket a datagram arrived on (multi-socket servers).
template <class C>
concept SocketAwareCore = requires(C& c, TimePoint t, std::uint16_t socket, const PeerAddr& p,
                                   BytesView b) {
    c.on_datagram(t, socket, p, b);
};

/// The sans-I/O contract every protocol core satisfies (docs/architecture.md §2): on_datagram with
/// or without the socket index.
template <class C>
concept SansIoCore = requires(C& c, const C& cc, TimePoint t, const PeerAddr& p, BytesView b) {
    requires SocketAwareCore<C> || requires {
        c.on_datagram(t, p, b);
    };
    c.on_timeout(t);
    { c.poll_transmit() } -> std::convertible_to<std::optional<Datagram>>;
    { cc.next_deadline() } -> std::convertible_to<std::optional<TimePoint>>;
};

/// A core that can answer datagrams larger than the receive buffer (coap::Endpoint): it gets
/// the part that was read and the real size instead of nothing.
template <class C>
concept AnswersOversized = requires(C& c, TimePoint t, const PeerAddr& p, BytesView b,
                                    std::size_t n) {
    c.on_oversized(t, p, b, n);
};

/// How LoopBase::wait() waits for its sockets.
enum class WaitMethod : std::uint8_t {
    automatic, ///< ppoll for up to LoopOptions::epoll_min_sockets sockets, epoll above
    ppoll,     ///< always ppoll (O(sockets) per wake-up)
    epoll,     ///< always epoll (O(ready sockets) per wake-up)
};

struct LoopOptions {
    /// Datagrams per recvmmsg()/sendmmsg() call. 1 gives one syscall per datagram.
    std::size_t batch_size = 32;
    /// Largest datagram accepted; longer ones are not delivered (counted as truncated); a core
    /// with on_oversized(now, from, head, size) gets their first bytes and real size instead.
    std::size_t max_datagram = 4096;
    /// Per-socket cap on queued outgoing datagrams when the kernel buffer is full; beyond it new
    /// datagrams are dropped (UDP semantics; the core's retransmission recovers).
    std::size_t max_outbox = 4096;
    /// Receive batches per socket per iteration, so one busy socket cannot starve timers.
    std::size_t max_batches_per_wakeup = 8;
    /// ppoll or epoll (see the top of this file).
    WaitMethod wait = WaitMethod::automatic;
    /// WaitMethod::automatic: socket sets at least this large use epoll.
    std::size_t epoll_min_sockets = 64;
    /// epoll: most ready sockets taken per wake-up (the rest are taken on the next one).
    std::size_t max_events_per_wakeup = 1024;
};

struct LoopStats {
    std::uint64_t iterations = 0;
    std::uint64_t datagrams_received = 0;
    std::uint64_t datagrams_sent = 0;
    std::uint64_t truncated_dropped = 0;  ///< longer than max_datagram (not delivered whole)
    std::uint64_t send_dropped = 0;       ///< refused by the kernel (EMSGSIZE, unreachable, ...)
    std::uint64_t outbox_dropped = 0;     ///< outbox full
    std::uint64_t unroutable_dropped = 0; ///< no socket of the peer's family
    std::uint64_t receive_errors = 0;     ///< recvmmsg failures other than ICMP reports
    std::uint64_t timeouts = 0;           ///< on_timeout() calls
    std::uint64_t wakeups_ready = 0;      ///< sum over the waits of the sockets found ready
};

/// The non-template half of Loop: sockets, waiting, outboxes, counters.
class LoopBase {
public:
    LoopBase(const LoopBase&) = delete;
    LoopBase& operator=(const LoopBase&) = delete;
    ~LoopBase();

    /// Makes the current run_*() return after its iteration. Thread-safe (wakes the wait).
    void stop() noexcept;
    /// Queues `task` to run on the loop's thread in its next iteration (before the hook), and
    /// wakes the wait. Thread-safe: how other threads (REST handlers, admin commands) act on a
    /// core that only the loop's thread may touch (docs/architecture.md). Tasks run in order.
    void post(std::function<void(TimePoint now)> task);
    [[nodiscard]] const LoopStats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::span<UdpSocket* const> sockets() const noexcept { return sockets_; }
    [[nodiscard]] static TimePoint now() noexcept { return SteadyTimeSource::now(); }
    /// Whether wait() uses epoll (LoopOptions::wait, the socket count).
    [[nodiscard]] bool uses_epoll() const noexcept { return epoll_fd_ >= 0; }

protected:
    /// Throws std::system_error if the eventfd or the epoll instance cannot be created or a
    /// socket cannot be added to it (out of descriptors or memory).
    LoopBase(std::vector<UdpSocket*> sockets, const LoopOptions& options);

    /// Waits until `wake_at`, a readable socket (see ready_sockets()), a writable socket with
    /// queued output, or stop(). EINTR is a normal return. Errors: errno codes of ppoll() or
    /// epoll_pwait2().
    [[nodiscard]] Result<void> wait(TimePoint wake_at);
    [[nodiscard]] bool readable(std::size_t socket_index) const noexcept {
        return readable_[socket_index] != 0;
    }
    /// Indices of the sockets the last wait() found readable (or with a queued ICMP error).
    [[nodiscard]] std::span<const std::uint32_t> ready_sockets() const noexcept { return ready_; }
    /// Reads one batch from socket i into batch_; returns the number of slots filled.
    std::size_t receive(std::size_t socket_index);
    /// Queues a datagram on sockets()[d.socket] when that socket can reach its peer, else on the
    /// first socket that can.
    void enqueue(Datagram&& d);
    /// Sends queued datagrams until done or the kernel buffer is full.
    void flush();
    /// Runs the tasks posted so far (loop thread only).
    void run_posted(TimePoint now);
    /// Consumes a pending stop() request.
    bool take_stop() noexcept;
    [[nodiscard]] bool stop_requested() const noexcept {
        return stop_.load(std::memory_order_acquire);
    }

    LoopOptions options_;
    LoopStats stats_;
    RecvBatch batch_;

private:
    struct Outbox {
        std::vector<Datagram> queue;
        std::size_t head = 0;
        bool want_write = false; ///< the kernel buffer was full: wait for writability
        bool listed = false;     ///< in pending_
        bool epoll_out = false;  ///< epoll: registered with EPOLLOUT
    };
    Result<void> wait_ppoll(TimePoint wake_at);
    Result<void> wait_epoll(TimePoint wake_at);
    void set_epoll_out(std::size_t i, bool on);

    std::vector<UdpSocket*> sockets_;
    std::vector<Outbox> outboxes_;
    std::vector<std::uint8_t> readable_;
    std::vector<std::uint32_t> ready_;    ///< readable sockets of the last wait()
    std::vector<std::uint32_t> pending_;  ///< sockets whose outbox holds datagrams
    std::vector<::pollfd> pollfds_;       ///< reused by wait(): no allocation per iteration
    std::vector<std::byte> epoll_events_; ///< epoll_event array (sys/epoll.h kept out of here)
    int wake_fd_ = -1;
    int epoll_fd_ = -1;
    bool epoll_pwait2_missing_ = false; ///< kernel < 5.11: ppoll on the epoll fd instead
    std::atomic<bool> stop_{false};
    std::mutex posted_mutex_;
    std::vector<std::function<void(TimePoint)>> posted_;
    std::vector<std::function<void(TimePoint)>> running_;
    std::atomic<bool> has_posted_{false};
};

template <SansIoCore Core>
class Loop final : public LoopBase {
public:
    /// Called after each iteration with the iteration's time; the application polls its core's
    /// events here and may issue commands (their datagrams are sent before the next wait).
    using Hook = std::function<void(TimePoint now)>;

    /// `sockets` must outlive the loop; at least one. Throws std::system_error if the wake-up
    /// eventfd or the epoll instance cannot be created (out of descriptors).
    Loop(Core& core, std::span<UdpSocket* const> sockets, const LoopOptions& options = {})
        : LoopBase(std::vector<UdpSocket*>(sockets.begin(), sockets.end()), options)
        , core_(core) {}
    Loop(Core& core, UdpSocket& socket, const LoopOptions& options = {})
        : LoopBase(std::vector<UdpSocket*>{&socket}, options)
        , core_(core) {}

    void set_hook(Hook hook) { hook_ = std::move(hook); }
    [[nodiscard]] Core& core() noexcept { return core_; }

    /// One iteration, waiting at most `max_wait`. Errors: errno codes of ppoll()/epoll_pwait2().
    Result<void> run_once(Duration max_wait) {
        drain_and_flush();
        TimePoint t = now();
        TimePoint wake_at = t + max_wait;
        if (auto dl = core_.next_deadline(); dl && *dl < wake_at) wake_at = *dl;
        if (stop_requested()) wake_at = t;
        LWM2M_TRY_VOID(wait(wake_at));
        t = now();
        for (const std::uint32_t s : ready_sockets()) {
            for (std::size_t k = 0; k < options_.max_batches_per_wakeup; ++k) {
                std::size_t n = receive(s);
                for (std::size_t i = 0; i < n; ++i) {
                    const auto& from = batch_.peer(i);
                    if (batch_.truncated(i)) {
                        ++stats_.truncated_dropped;
                        // The core may answer it (CoAP: 4.13, RFC 7959 §2.9.3).
                        if constexpr (AnswersOversized<Core>) {
                            if (from)
                                core_.on_oversized(t, *from, batch_.bytes(i),
                                                   batch_.datagram_size(i));
                        }
                        continue;
                    }
                    if (!from) continue;
                    ++stats_.datagrams_received;
                    if constexpr (SocketAwareCore<Core>)
                        core_.on_datagram(t, static_cast<std::uint16_t>(s), *from, batch_.bytes(i));
                    else
                        core_.on_datagram(t, *from, batch_.bytes(i));
                }
                drain();
                if (n < batch_.capacity()) break;
            }
        }
        if (auto dl = core_.next_deadline(); dl && *dl <= t) {
            ++stats_.timeouts;
            core_.on_timeout(t);
        }
        run_posted(t);
        if (hook_) hook_(t);
        drain_and_flush();
        ++stats_.iterations;
        return ok();
    }

    /// Runs until `duration` has passed or stop(). Errors: as run_once().
    Result<void> run_for(Duration duration) {
        const TimePoint end = now() + duration;
        for (TimePoint t = now(); t < end; t = now()) {
            LWM2M_TRY_VOID(run_once(end - t));
            if (take_stop()) break;
        }
        return ok();
    }

    /// Runs until `done()` holds (checked before waiting and after every iteration), `timeout`
    /// passes or stop(). Returns whether done() held. Errors: as run_once().
    Result<bool> run_until(const std::function<bool()>& done, Duration timeout) {
        const TimePoint end = now() + timeout;
        if (done()) return true;
        for (TimePoint t = now(); t < end; t = now()) {
            LWM2M_TRY_VOID(run_once(end - t));
            if (done()) {
                drain_and_flush();
                return true;
            }
            if (take_stop()) break;
        }
        return false;
    }

private:
    void drain() {
        while (auto d = core_.poll_transmit())
            enqueue(std::move(*d));
    }
    void drain_and_flush() {
        drain();
        flush();
    }

    Core& core_;
    Hook hook_;
};

} // namespace lwm2m::transport
