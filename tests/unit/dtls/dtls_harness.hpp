// In-memory DTLS test bench: one ServerTable and any number of ClientSessions exchanging
// datagrams directly, in virtual time (GnuTLS's clock follows via tests/support/gnutls_time).
// A `fate` hook can drop or duplicate datagrams (used by the sim tests).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/server_table.hpp>

#include "support/dtls_creds.hpp"
#include "support/gnutls_time.hpp"

namespace lwm2m::dtls::test {

using namespace std::chrono_literals;

inline Bytes bytes_of(std::initializer_list<int> v) {
    Bytes b;
    for (int x : v)
        b.push_back(static_cast<std::byte>(x));
    return b;
}
inline Bytes pattern(std::size_t n, int seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::byte>((i * 31 + static_cast<std::size_t>(seed)) & 0xFF);
    return b;
}

class MemStore final : public CredentialStore {
public:
    std::map<Bytes, SecretBytes> psk;
    std::vector<Bytes> rpk;
    bool allow_certs = true;
    std::size_t psk_lookups = 0;

    std::optional<SecretBytes> psk_key(BytesView identity) override {
        ++psk_lookups;
        auto it = psk.find(Bytes(identity.begin(), identity.end()));
        if (it == psk.end()) return std::nullopt;
        return it->second;
    }
    bool rpk_allowed(BytesView spki) override {
        for (const auto& k : rpk)
            if (equal(k, spki)) return true;
        return false;
    }
    bool certificate_allowed(const PeerIdentity&) override { return allow_certs; }
};

template <class T>
std::vector<T> only(const std::vector<Event>& ev) {
    std::vector<T> out;
    for (const auto& e : ev)
        if (const T* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
}

/// How many copies of a datagram to deliver (0 = drop, 2 = duplicate).
using Fate = std::function<int(const Datagram&, bool to_server)>;

class Bench {
public:
    explicit Bench(ServerTable& server, PeerAddr server_addr = PeerAddr::v4(10, 0, 0, 1, 5684))
        : server_(&server)
        , server_addr_(server_addr) {
        lwm2m::test::GnutlsVirtualTime::install(now);
    }

    TimePoint now{};
    Fate fate;
    std::vector<Event> server_events;
    std::map<PeerAddr, std::vector<Event>> client_events;
    std::size_t to_server = 0, to_clients = 0;

    const PeerAddr& server_addr() const { return server_addr_; }
    /// Another table serves the server address from now on (a session taken over, issue #13).
    void set_server(ServerTable& server) { server_ = &server; }
    void add(const PeerAddr& addr, ClientSession& c) { clients_[addr] = &c; }
    void remove(const PeerAddr& addr) { clients_.erase(addr); }

    /// Moves every queued datagram and event until nothing moves (bounded).
    void settle() {
        for (int round = 0; round < 100000; ++round) {
            collect();
            if (flight_.empty()) return;
            auto [to_srv, from, d] = std::move(flight_.front());
            flight_.pop_front();
            if (to_srv) {
                ++to_server;
                server_->on_datagram(now, from, d.bytes);
            } else {
                auto it = clients_.find(d.peer);
                ++to_clients;
                if (it != clients_.end()) it->second->on_datagram(now, server_addr_, d.bytes);
            }
        }
    }

    std::optional<TimePoint> next_deadline() const {
        std::optional<TimePoint> d = server_->next_deadline();
        for (auto& [a, c] : clients_) {
            auto cd = c->next_deadline();
            if (cd && (!d || *cd < *d)) d = cd;
        }
        return d;
    }

    /// Advances virtual time to `t` (firing every deadline on the way) and settles.
    void advance_to(TimePoint t) {
        for (int i = 0; i < 100000; ++i) {
            settle();
            auto d = next_deadline();
            if (!d || *d > t) break;
            set_now(std::max(now, *d));
            server_->on_timeout(now);
            for (auto& [a, c] : clients_)
                c->on_timeout(now);
        }
        set_now(std::max(now, t));
        server_->on_timeout(now);
        for (auto& [a, c] : clients_)
            c->on_timeout(now);
        settle();
    }
    void advance(Duration d) { advance_to(now + d); }

    /// Runs deadlines until pred() or `limit` of virtual time passed. Returns pred().
    bool run_until(const std::function<bool()>& pred, Duration limit = 120s) {
        const TimePoint end = now + limit;
        settle();
        for (int i = 0; i < 100000 && !pred(); ++i) {
            auto d = next_deadline();
            if (!d || *d > end) break;
            set_now(std::max(now, *d));
            server_->on_timeout(now);
            for (auto& [a, c] : clients_)
                c->on_timeout(now);
            settle();
        }
        return pred();
    }

    void set_now(TimePoint t) {
        now = t;
        lwm2m::test::GnutlsVirtualTime::set(t);
    }

private:
    void collect() {
        while (auto d = server_->poll_transmit())
            queue(false, server_addr_, std::move(*d));
        for (auto& [a, c] : clients_) {
            while (auto d = c->poll_transmit())
                queue(true, a, std::move(*d));
            while (auto e = c->poll_event())
                client_events[a].push_back(std::move(*e));
        }
        while (auto e = server_->poll_event())
            server_events.push_back(std::move(*e));
    }
    void queue(bool to_srv, const PeerAddr& from, Datagram d) {
        const int copies = fate ? fate(d, to_srv) : 1;
        for (int i = 0; i < copies; ++i)
            flight_.push_back({to_srv, from, d});
    }
    struct InFlight {
        bool to_server;
        PeerAddr from;
        Datagram d;
    };
    ServerTable* server_;
    PeerAddr server_addr_;
    std::map<PeerAddr, ClientSession*> clients_;
    std::deque<InFlight> flight_;
};

} // namespace lwm2m::dtls::test
