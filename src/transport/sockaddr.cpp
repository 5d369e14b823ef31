#include <lwm2m/transport/sockaddr.hpp>

#include <cstring>

#include <netinet/in.h>

namespace lwm2m::transport {

socklen_t to_sockaddr(const PeerAddr& peer, sockaddr_storage& out, bool map_v4_to_v6) noexcept {
    std::memset(&out, 0, sizeof out);
    if (peer.family == PeerAddr::Family::ipv4 && !map_v4_to_v6) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(peer.port);
        std::memcpy(&sin.sin_addr, peer.addr.data(), 4);
        std::memcpy(&out, &sin, sizeof sin);
        return sizeof sin;
    }
    if (peer.family == PeerAddr::Family::ipv4 || peer.family == PeerAddr::Family::ipv6) {
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(peer.port);
        if (peer.family == PeerAddr::Family::ipv4) {
            // RFC 4291 §2.5.5.2: ::ffff:a.b.c.d
            sin6.sin6_addr.s6_addr[10] = 0xff;
            sin6.sin6_addr.s6_addr[11] = 0xff;
            std::memcpy(&sin6.sin6_addr.s6_addr[12], peer.addr.data(), 4);
        } else {
            std::memcpy(&sin6.sin6_addr, peer.addr.data(), 16);
            sin6.sin6_scope_id = peer.scope_id;
        }
        std::memcpy(&out, &sin6, sizeof sin6);
        return sizeof sin6;
    }
    return 0;
}

std::optional<PeerAddr> from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
    if (sa == nullptr) return std::nullopt;
    if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        sockaddr_in sin;
        std::memcpy(&sin, sa, sizeof sin);
        PeerAddr p;
        p.family = PeerAddr::Family::ipv4;
        std::memcpy(p.addr.data(), &sin.sin_addr, 4);
        p.port = ntohs(sin.sin_port);
        return p;
    }
    if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        sockaddr_in6 sin6;
        std::memcpy(&sin6, sa, sizeof sin6);
        PeerAddr p;
        p.port = ntohs(sin6.sin6_port);
        const auto* a = sin6.sin6_addr.s6_addr;
        static constexpr unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                                            0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(a, mapped_prefix, 12) == 0) {
            p.family = PeerAddr::Family::ipv4;
            std::memcpy(p.addr.data(), a + 12, 4);
            return p;
        }
        p.family = PeerAddr::Family::ipv6;
        std::memcpy(p.addr.data(), a, 16);
        p.scope_id = sin6.sin6_scope_id;
        return p;
    }
    return std::nullopt;
}

} // namespace lwm2m::transport
