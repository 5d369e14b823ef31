// Tiny sans-I/O cores for driver tests: an echo server and a client that sends a burst.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/time.hpp>

namespace lwm2m::transport::test {

/// Echoes every datagram back to its sender; remembers who sent.
class EchoCore {
public:
    void on_datagram(TimePoint, const PeerAddr& from, BytesView b) {
        ++received;
        last_peer = from;
        out_.push_back({from, Bytes(b.begin(), b.end())});
    }
    void on_timeout(TimePoint) {}
    std::optional<Datagram> poll_transmit() {
        if (out_.empty()) return std::nullopt;
        Datagram d = std::move(out_.front());
        out_.pop_front();
        return d;
    }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const { return std::nullopt; }

    std::size_t received = 0;
    std::optional<PeerAddr> last_peer;

private:
    std::deque<Datagram> out_;
};

/// Echoes every datagram back from the socket it arrived on (the multi-socket overload of
/// on_datagram), or from `force_socket` when set; records the arrival socket indexes.
class SocketEchoCore {
public:
    void on_datagram(TimePoint, std::uint16_t socket, const PeerAddr& from, BytesView b) {
        sockets.push_back(socket);
        Datagram d{from, Bytes(b.begin(), b.end())};
        d.socket = force_socket ? *force_socket : socket;
        out_.push_back(std::move(d));
    }
    void on_timeout(TimePoint) {}
    std::optional<Datagram> poll_transmit() {
        if (out_.empty()) return std::nullopt;
        Datagram d = std::move(out_.front());
        out_.pop_front();
        return d;
    }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const { return std::nullopt; }

    std::vector<std::uint16_t> sockets;
    std::optional<std::uint16_t> force_socket;

private:
    std::deque<Datagram> out_;
};

/// Queues datagrams on demand and records what comes back; optionally one timer.
class ClientCore {
public:
    void send(const PeerAddr& to, std::string_view text) { out_.push_back({to, to_bytes(text)}); }
    void on_datagram(TimePoint, const PeerAddr& from, BytesView b) {
        replies.emplace_back(as_string_view(b));
        reply_peers.push_back(from);
    }
    void on_timeout(TimePoint now) {
        fired_at = now;
        deadline.reset();
    }
    std::optional<Datagram> poll_transmit() {
        if (out_.empty()) return std::nullopt;
        Datagram d = std::move(out_.front());
        out_.pop_front();
        return d;
    }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const { return deadline; }

    std::vector<std::string> replies;
    std::vector<PeerAddr> reply_peers;
    std::optional<TimePoint> deadline;
    std::optional<TimePoint> fired_at;

private:
    std::deque<Datagram> out_;
};

/// An EchoCore that also takes datagrams larger than the receive buffer (AnswersOversized):
/// records their head and real size, and answers with "too large".
class OversizedCore : public EchoCore {
public:
    void on_oversized(TimePoint, const PeerAddr& from, BytesView head, std::size_t size) {
        heads.emplace_back(head.begin(), head.end());
        sizes.push_back(size);
        out_.push_back({from, to_bytes("too large")});
    }
    std::optional<Datagram> poll_transmit() {
        if (!out_.empty()) {
            Datagram d = std::move(out_.front());
            out_.pop_front();
            return d;
        }
        return EchoCore::poll_transmit();
    }

    std::vector<Bytes> heads;
    std::vector<std::size_t> sizes;

private:
    std::deque<Datagram> out_;
};

} // namespace lwm2m::transport::test
