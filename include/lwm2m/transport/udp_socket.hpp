// A non-blocking UDP socket with batched receive (recvmmsg) and send (sendmmsg).
//
// Errors: OS failures are std::system_category() codes (errno); Errc::unsupported_family for a
// PeerAddr of family none or one the socket cannot reach.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/peer.hpp>
#include <lwm2m/base/result.hpp>

namespace lwm2m::transport {

struct UdpSocketOptions {
    /// SO_RCVBUF / SO_SNDBUF in bytes; 0 keeps the kernel default.
    int receive_buffer_bytes = 0;
    int send_buffer_bytes = 0;
    /// For an IPv6 socket: false makes it dual-stack (IPv4 peers as ::ffff:a.b.c.d, reported as
    /// IPv4 PeerAddr). Binding "::" with v6_only=false serves both families on one socket.
    bool v6_only = true;
    /// SO_REUSEADDR (lets a restarted server rebind a port in TIME_WAIT-like states).
    bool reuse_address = false;
    /// SO_REUSEPORT: several sockets (of several processes of the same user) bind the same
    /// address and port and the kernel spreads the peers over them by a hash of the 4-tuple
    /// (Linux >= 3.9). Every socket of the group must set it. When a socket leaves the group the
    /// hash is taken modulo the new group size: peers of the remaining sockets move too.
    bool reuse_port = false;
};

/// Preallocated receive slots for recvmmsg: `count` datagrams of up to `max_datagram` bytes each.
/// A datagram longer than max_datagram is reported as truncated: bytes() holds its first
/// max_datagram bytes and datagram_size() its real size; it must not be processed as a message.
class RecvBatch {
public:
    explicit RecvBatch(std::size_t count = 32, std::size_t max_datagram = 4096);
    RecvBatch(RecvBatch&&) noexcept;
    RecvBatch& operator=(RecvBatch&&) noexcept;
    RecvBatch(const RecvBatch&) = delete;
    RecvBatch& operator=(const RecvBatch&) = delete;
    ~RecvBatch();

    [[nodiscard]] std::size_t capacity() const noexcept;
    [[nodiscard]] std::size_t max_datagram() const noexcept;
    /// Number of datagrams filled by the last UdpSocket::receive_batch().
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// Source of datagram i; nullopt when the kernel reported an unusable address.
    [[nodiscard]] const std::optional<PeerAddr>& peer(std::size_t i) const noexcept;
    [[nodiscard]] BytesView bytes(std::size_t i) const noexcept;
    [[nodiscard]] bool truncated(std::size_t i) const noexcept;
    /// The real size of datagram i (larger than bytes(i).size() when truncated).
    [[nodiscard]] std::size_t datagram_size(std::size_t i) const noexcept;

private:
    friend class UdpSocket;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::size_t size_ = 0;
};

/// What send_batch() did with the datagrams it was given.
struct SendOutcome {
    std::size_t consumed = 0; ///< datagrams taken from the front (sent or dropped)
    std::size_t sent = 0;     ///< handed to the kernel
    std::size_t dropped = 0;  ///< refused for good (EMSGSIZE, unreachable, wrong family, ...)
    bool would_block = false; ///< stopped because the send buffer is full: retry on POLLOUT
};

class UdpSocket {
public:
    /// Opens and binds a non-blocking UDP socket. `local` may have port 0 (ephemeral port, see
    /// local_addr()) and the unspecified address (0.0.0.0 or ::).
    [[nodiscard]] static Result<UdpSocket> bind(const PeerAddr& local,
                                                const UdpSocketOptions& options = {});

    UdpSocket() = default;
    UdpSocket(UdpSocket&& other) noexcept;
    UdpSocket& operator=(UdpSocket&& other) noexcept;
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
    ~UdpSocket();

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
    /// The bound address, with the port the kernel chose when bound to port 0.
    [[nodiscard]] const PeerAddr& local_addr() const noexcept { return local_; }
    /// The socket's own family (an IPv6 socket stays ipv6 even when dual-stack).
    [[nodiscard]] PeerAddr::Family family() const noexcept {
        return v6_ ? PeerAddr::Family::ipv6 : PeerAddr::Family::ipv4;
    }
    /// True when a datagram to `peer` can go out of this socket (same family, or IPv4 on a
    /// dual-stack IPv6 socket).
    [[nodiscard]] bool can_reach(const PeerAddr& peer) const noexcept;

    /// One sendto(). Errors: Errc::unsupported_family, errno codes (EAGAIN when the send buffer
    /// is full: the caller drops or retries later).
    [[nodiscard]] Result<void> send_to(const PeerAddr& to, BytesView bytes) noexcept;

    /// Sends the datagrams with as few sendmmsg() calls as possible (at most `max_batch` per
    /// call). Never fails as a whole: per-datagram failures are dropped and counted; a full send
    /// buffer stops early with would_block. Asynchronous ICMP errors reported on this call
    /// (ECONNREFUSED, ...) belong to an earlier datagram and are retried past.
    SendOutcome send_batch(std::span<const Datagram> datagrams,
                           std::size_t max_batch = 32) noexcept;

    /// Receives up to batch.capacity() datagrams with one recvmmsg(). Returns the count (0 when
    /// nothing is waiting). Asynchronous ICMP errors (ECONNREFUSED, EHOSTUNREACH, ...) are
    /// swallowed and reported as 0; other errno codes are returned.
    [[nodiscard]] Result<std::size_t> receive_batch(RecvBatch& batch) noexcept;

    void close() noexcept;

private:
    int fd_ = -1;
    PeerAddr local_;
    bool v6_ = false;
    bool dual_stack_ = false;
};

} // namespace lwm2m::transport
