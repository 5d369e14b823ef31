#include "icmp_errors.hpp"

#include <cerrno>
#include <cstring>

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <lwm2m/transport/sockaddr.hpp>

namespace lwm2m::app {

bool enable_icmp_errors(int fd, bool ipv6) noexcept {
    const int on = 1;
    bool ok = ::setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on) == 0;
    if (ipv6) ok = ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) == 0 && ok;
    return ok;
}

std::optional<IcmpError> take_icmp_error(int fd, const PeerAddr& peer) {
    std::optional<IcmpError> found;
    for (int i = 0; i < 64; ++i) { // bounded: the queue holds a few entries at most
        sockaddr_storage dest{};
        alignas(cmsghdr) char control[512];
        char data[1];
        iovec iov{data, sizeof data};
        msghdr msg{};
        msg.msg_name = &dest;
        msg.msg_namelen = sizeof dest;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (::recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break; // EAGAIN: queue empty
        // msg_name is the destination of the datagram the error is about (ip(7) IP_RECVERR).
        const auto to =
            transport::from_sockaddr(reinterpret_cast<const sockaddr*>(&dest), msg.msg_namelen);
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
            const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
            if (!v4 && !v6) continue;
            sock_extended_err ee{};
            std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
            if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
            if (found || (to && !(*to == peer))) continue;
            IcmpError e;
            e.error = static_cast<int>(ee.ee_errno);
            e.what = e.error == ECONNREFUSED ? "connection refused" : std::strerror(e.error);
            found = e;
        }
    }
    return found;
}

} // namespace lwm2m::app
