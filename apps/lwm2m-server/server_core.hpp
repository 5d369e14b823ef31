// The two engines of lwm2m-server as one sans-I/O core for one transport::Loop: sockets
// [0, dm_sockets) belong to the device-management engine, the rest to the bootstrap engine
// (each engine numbers its own listeners from 0).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include <lwm2m/bootstrap/engine.hpp>
#include <lwm2m/server/engine.hpp>

namespace lwm2m::app {

class ServerCore {
public:
    /// Either engine may be null (role turned off; it then has no sockets).
    ServerCore(server::Engine* dm, std::uint16_t dm_sockets, bootstrap::Engine* bs)
        : dm_(dm)
        , bs_(bs)
        , dm_sockets_(dm != nullptr ? dm_sockets : 0) {}

    void on_datagram(TimePoint now, std::uint16_t socket, const PeerAddr& from, BytesView bytes) {
        if (socket < dm_sockets_) {
            dm_->on_datagram(now, socket, from, bytes);
        } else if (bs_ != nullptr) {
            bs_->on_datagram(now, static_cast<std::uint16_t>(socket - dm_sockets_), from, bytes);
        }
    }
    void on_timeout(TimePoint now) {
        if (dm_ != nullptr) {
            if (auto d = dm_->next_deadline(); d && *d <= now) dm_->on_timeout(now);
        }
        if (bs_ != nullptr) {
            if (auto d = bs_->next_deadline(); d && *d <= now) bs_->on_timeout(now);
        }
    }
    [[nodiscard]] std::optional<Datagram> poll_transmit() {
        if (dm_ != nullptr) {
            if (auto d = dm_->poll_transmit()) return d;
        }
        if (bs_ != nullptr) {
            if (auto d = bs_->poll_transmit()) {
                d->socket = static_cast<std::uint16_t>(d->socket + dm_sockets_);
                return d;
            }
        }
        return std::nullopt;
    }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const {
        std::optional<TimePoint> a = dm_ != nullptr ? dm_->next_deadline() : std::nullopt;
        std::optional<TimePoint> b = bs_ != nullptr ? bs_->next_deadline() : std::nullopt;
        if (a && b) return std::min(*a, *b);
        return a ? a : b;
    }

private:
    server::Engine* dm_;
    bootstrap::Engine* bs_;
    std::uint16_t dm_sockets_;
};

} // namespace lwm2m::app
