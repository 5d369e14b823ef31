#include <lwm2m/transport/resolve.hpp>

#include <algorithm>

#include <netdb.h>
#include <sys/socket.h>

#include <lwm2m/transport/errc.hpp>
#include <lwm2m/transport/sockaddr.hpp>

namespace lwm2m::transport {

Result<std::vector<PeerAddr>> resolve_udp(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    addrinfo* res = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
        return fail(Errc::resolve_failed);
    }
    std::vector<PeerAddr> out;
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        auto p = from_sockaddr(ai->ai_addr, ai->ai_addrlen);
        if (!p) continue;
        p->port = port;
        if (std::find(out.begin(), out.end(), *p) == out.end()) out.push_back(*p);
    }
    ::freeaddrinfo(res);
    if (out.empty()) return fail(Errc::resolve_failed);
    return out;
}

} // namespace lwm2m::transport
