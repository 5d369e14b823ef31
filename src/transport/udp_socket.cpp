#include <lwm2m/transport/udp_socket.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lwm2m/transport/errc.hpp>
#include <lwm2m/transport/sockaddr.hpp>

namespace lwm2m::transport {
namespace {

tl::unexpected<Error> os_error(int e) {
    return tl::unexpected<Error>(Error(e, std::system_category()));
}

/// Asynchronous errors the kernel reports on a UDP socket for an earlier datagram (ICMP port or
/// host unreachable, udp(7), ip(7)). They say nothing about the current call.
bool is_async_icmp_error(int e) {
    return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
           e == ENETDOWN || e == ECONNRESET || e == EPROTO || e == ENOPROTOOPT;
}

} // namespace

// ---------------------------------------------------------------------------------- RecvBatch

struct RecvBatch::Impl {
    std::size_t count;
    std::size_t max_datagram;
    std::vector<std::byte> buffer;
    std::vector<sockaddr_storage> addrs;
    std::vector<iovec> iovs;
    std::vector<mmsghdr> msgs;
    std::vector<std::optional<PeerAddr>> peers;
    std::vector<std::size_t> lengths;
    std::vector<std::size_t> sizes; ///< real datagram sizes (MSG_TRUNC)
    std::vector<bool> truncated;

    Impl(std::size_t c, std::size_t m)
        : count(std::max<std::size_t>(c, 1))
        , max_datagram(std::max<std::size_t>(m, 1))
        , buffer(count * max_datagram)
        , addrs(count)
        , iovs(count)
        , msgs(count)
        , peers(count)
        , lengths(count)
        , sizes(count)
        , truncated(count) {}

    void prepare() {
        for (std::size_t i = 0; i < count; ++i) {
            iovs[i].iov_base = buffer.data() + i * max_datagram;
            iovs[i].iov_len = max_datagram;
            std::memset(&msgs[i], 0, sizeof(mmsghdr));
            msgs[i].msg_hdr.msg_name = &addrs[i];
            msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
    }
};

RecvBatch::RecvBatch(std::size_t count, std::size_t max_datagram)
    : impl_(std::make_unique<Impl>(count, max_datagram)) {}
RecvBatch::RecvBatch(RecvBatch&&) noexcept = default;
RecvBatch& RecvBatch::operator=(RecvBatch&&) noexcept = default;
RecvBatch::~RecvBatch() = default;

std::size_t RecvBatch::capacity() const noexcept {
    return impl_->count;
}
std::size_t RecvBatch::max_datagram() const noexcept {
    return impl_->max_datagram;
}
const std::optional<PeerAddr>& RecvBatch::peer(std::size_t i) const noexcept {
    return impl_->peers[i];
}
BytesView RecvBatch::bytes(std::size_t i) const noexcept {
    return {impl_->buffer.data() + i * impl_->max_datagram, impl_->lengths[i]};
}
bool RecvBatch::truncated(std::size_t i) const noexcept {
    return impl_->truncated[i];
}
std::size_t RecvBatch::datagram_size(std::size_t i) const noexcept {
    return impl_->sizes[i];
}

// ---------------------------------------------------------------------------------- UdpSocket

Result<UdpSocket> UdpSocket::bind(const PeerAddr& local, const UdpSocketOptions& options) {
    if (local.family != PeerAddr::Family::ipv4 && local.family != PeerAddr::Family::ipv6) {
        return fail(Errc::unsupported_family);
    }
    const int domain = local.family == PeerAddr::Family::ipv4 ? AF_INET : AF_INET6;
    UdpSocket s;
    s.fd_ = ::socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (s.fd_ < 0) return os_error(errno);
    const int one = 1;
    if (options.reuse_address &&
        ::setsockopt(s.fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        return os_error(errno);
    }
    if (options.reuse_port &&
        ::setsockopt(s.fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        return os_error(errno);
    }
    if (domain == AF_INET6) {
        const int v6only = options.v6_only ? 1 : 0;
        if (::setsockopt(s.fd_, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0) {
            return os_error(errno);
        }
        s.dual_stack_ = !options.v6_only;
    }
    if (options.receive_buffer_bytes > 0 &&
        ::setsockopt(s.fd_, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer_bytes, sizeof(int)) !=
            0) {
        return os_error(errno);
    }
    if (options.send_buffer_bytes > 0 &&
        ::setsockopt(s.fd_, SOL_SOCKET, SO_SNDBUF, &options.send_buffer_bytes, sizeof(int)) != 0) {
        return os_error(errno);
    }
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(local, ss);
    if (::bind(s.fd_, reinterpret_cast<const sockaddr*>(&ss), len) != 0) return os_error(errno);
    sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (::getsockname(s.fd_, reinterpret_cast<sockaddr*>(&bound), &blen) != 0)
        return os_error(errno);
    auto addr = from_sockaddr(reinterpret_cast<const sockaddr*>(&bound), blen);
    if (!addr) return fail(Errc::unsupported_family);
    s.local_ = *addr;
    s.v6_ = domain == AF_INET6;
    return s;
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1))
    , local_(other.local_)
    , v6_(other.v6_)
    , dual_stack_(other.dual_stack_) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        local_ = other.local_;
        v6_ = other.v6_;
        dual_stack_ = other.dual_stack_;
    }
    return *this;
}

UdpSocket::~UdpSocket() {
    close();
}

void UdpSocket::close() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool UdpSocket::can_reach(const PeerAddr& peer) const noexcept {
    if (peer.family == PeerAddr::Family::none) return false;
    if (peer.family == PeerAddr::Family::ipv6) return v6_;
    return !v6_ || dual_stack_;
}

Result<void> UdpSocket::send_to(const PeerAddr& to, BytesView bytes) noexcept {
    if (!can_reach(to)) return fail(Errc::unsupported_family);
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(to, ss, v6_);
    for (int attempt = 0; attempt < 4; ++attempt) {
        ssize_t n = ::sendto(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&ss), len);
        if (n >= 0) return ok();
        if (errno == EINTR || is_async_icmp_error(errno)) continue;
        return os_error(errno);
    }
    return os_error(EIO);
}

SendOutcome UdpSocket::send_batch(std::span<const Datagram> datagrams,
                                  std::size_t max_batch) noexcept {
    SendOutcome out;
    max_batch = std::clamp<std::size_t>(max_batch, 1, 64);
    std::array<mmsghdr, 64> msgs;
    std::array<iovec, 64> iovs;
    std::array<sockaddr_storage, 64> addrs;
    const bool map = v6_;
    int retries = 0;
    while (out.consumed < datagrams.size()) {
        // Skip (drop) datagrams this socket cannot carry, then fill one batch.
        std::size_t n = 0;
        std::size_t first = out.consumed;
        while (first < datagrams.size() && !can_reach(datagrams[first].peer)) {
            ++out.dropped;
            ++first;
        }
        out.consumed = first;
        for (std::size_t i = first; i < datagrams.size() && n < max_batch; ++i) {
            if (!can_reach(datagrams[i].peer)) break; // handled at the start of the next round
            const Datagram& d = datagrams[i];
            socklen_t len = to_sockaddr(d.peer, addrs[n], map);
            iovs[n].iov_base = const_cast<std::byte*>(d.bytes.data());
            iovs[n].iov_len = d.bytes.size();
            std::memset(&msgs[n], 0, sizeof(mmsghdr));
            msgs[n].msg_hdr.msg_name = &addrs[n];
            msgs[n].msg_hdr.msg_namelen = len;
            msgs[n].msg_hdr.msg_iov = &iovs[n];
            msgs[n].msg_hdr.msg_iovlen = 1;
            ++n;
        }
        if (n == 0) break;
        int r = ::sendmmsg(fd_, msgs.data(), static_cast<unsigned>(n), MSG_NOSIGNAL);
        if (r > 0) {
            out.consumed += static_cast<std::size_t>(r);
            out.sent += static_cast<std::size_t>(r);
            retries = 0;
            continue;
        }
        const int e = r < 0 ? errno : EIO;
        if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
            out.would_block = true;
            break;
        }
        if ((e == EINTR || is_async_icmp_error(e)) && retries++ < 4) continue;
        // The first datagram of the batch is refused for good (EMSGSIZE, EACCES, EINVAL, ...).
        ++out.dropped;
        ++out.consumed;
        retries = 0;
    }
    return out;
}

Result<std::size_t> UdpSocket::receive_batch(RecvBatch& batch) noexcept {
    auto& b = *batch.impl_;
    batch.size_ = 0;
    b.prepare();
    int r;
    do {
        // MSG_TRUNC: msg_len is the datagram's real size even when it did not fit (udp(7)).
        r = ::recvmmsg(fd_, b.msgs.data(), static_cast<unsigned>(b.count), MSG_DONTWAIT | MSG_TRUNC,
                       nullptr);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || is_async_icmp_error(errno))
            return std::size_t{0};
        return os_error(errno);
    }
    const auto n = static_cast<std::size_t>(r);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& h = b.msgs[i].msg_hdr;
        b.sizes[i] = b.msgs[i].msg_len;
        b.lengths[i] = std::min<std::size_t>(b.msgs[i].msg_len, b.max_datagram);
        b.truncated[i] = (h.msg_flags & MSG_TRUNC) != 0;
        b.peers[i] = from_sockaddr(reinterpret_cast<const sockaddr*>(&b.addrs[i]), h.msg_namelen);
    }
    batch.size_ = n;
    return n;
}

} // namespace lwm2m::transport
