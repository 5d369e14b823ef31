// DTLS session take-over between two server nodes (issue #13, docs/cluster-nodes.md "DTLS
// session takeover"): a PSK client handshakes and registers at node A; A reports the session
// (EngineConfig::session_continuity), the driver logic exports and seals it (SessionTakeover);
// the client's flow moves to node B, which has no session for it: B reports the unknown
// session, the sealed state is opened with the persisted high-water mark and a reserved
// write-sequence range, imported, and the client's Update is answered by B with no new
// handshake (B reads the registration through from the shared store). Real DTLS (GnuTLS) in
// virtual time.
#include <gtest/gtest.h>

#include <map>

#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/server/session_takeover.hpp>

#include "lockstep/server/server_harness.hpp"
#include "support/gnutls_time.hpp"

namespace lwm2m::server::test::takeover_lockstep {
namespace {

const PeerAddr kNode = PeerAddr::v4(10, 0, 0, 100, 5684); // both nodes share the address
const PeerAddr kDev = PeerAddr::v4(10, 0, 0, 7, 40007);
constexpr std::uint64_t kRange = std::uint64_t{1} << 32;

store::SecurityInfo psk_of_dev() {
    store::SecurityInfo i;
    i.endpoint = "dev-t";
    i.mode = store::SecurityMode::psk;
    i.psk_identity = to_bytes("id-t");
    i.psk_key = SecretBytes(as_bytes("key-of-t-0123456"));
    return i;
}

EngineConfig node_cfg(std::string prefix) {
    EngineConfig c;
    ListenerConfig l;
    l.security = ListenerSecurity::dtls;
    l.coap.ack_random_factor = 1.0;
    c.listeners = {l};
    c.location_prefix = std::move(prefix);
    c.read_through.enabled = true;
    c.session_continuity = true;
    return c;
}

struct DtlsClient {
    DtlsClient()
        : rng(7)
        , coap(lwm2m::test::det_config(), rng)
        , session(std::move(*dtls::ClientSession::create([] {
            dtls::ClientConfig c;
            c.server = kNode;
            c.credentials =
                dtls::PskCredentials{to_bytes("id-t"), SecretBytes(as_bytes("key-of-t-0123456"))};
            return c;
        }())))
        , se(coap, session) {}
    SeededRandom rng;
    coap::Endpoint coap;
    dtls::ClientSession session;
    dtls::SecureEndpoint<dtls::ClientSession> se;
    std::size_t handshakes = 0;
};

std::uint64_t record_seq(BytesView rec) {
    std::uint64_t s = 0;
    for (std::size_t i = 5; i < 11; ++i)
        s = (s << 8) | std::to_integer<std::uint8_t>(rec[i]);
    return s;
}

/// Node A and node B over one registration store and one session store (a map standing for
/// Redis), each with the driver logic of apps/lwm2m-server/dtls_takeover.cpp in lockstep.
struct Cluster {
    Cluster() {
        lwm2m::test::GnutlsVirtualTime::install(a.now);
        a.shared = &shared;
        b.shared = &shared;
        EXPECT_TRUE(a.security.put(psk_of_dev()));
        EXPECT_TRUE(b.security.put(psk_of_dev()));
        const SecretBytes key(Bytes(32, std::byte{0x5A}));
        ta.emplace(std::move(*SessionTakeover::create({}, key)));
        tb.emplace(std::move(*SessionTakeover::create({}, key)));
    }
    store::MemoryRegistrationStore shared;
    ServerHarness a{node_cfg("a-"), 1};
    ServerHarness b{node_cfg("b-"), 2};
    std::optional<SessionTakeover> ta;
    std::optional<SessionTakeover> tb;
    std::map<std::string, Bytes> blobs;               ///< "Redis": sealed states by address
    std::map<std::string, std::uint64_t> high_water;  ///< persisted read high-water marks
    std::map<std::string, std::uint64_t> seq_counter; ///< INCRBY counters
    std::vector<std::uint64_t> seqs_from_b;           ///< record sequence numbers B sent
    SeededRandom seal_rng{11};

    /// One node's driver iteration (exports, high-water marks, unknown sessions, look-ups).
    void drive(ServerHarness& n, SessionTakeover& t) {
        while (auto note = n.engine->poll_session_note()) {
            const auto peer = note->session.peer.to_string();
            if (note->kind == SessionNote::Kind::established) {
                auto st = n.engine->export_session(note->session);
                ASSERT_TRUE(st) << st.error().message();
                auto blob = t.seal(*st, seal_rng);
                ASSERT_TRUE(blob);
                blobs[peer] = *blob;
            } else if (note->reason == dtls::Errc::closed) {
                blobs.erase(peer);
            }
        }
        std::vector<SessionRef> active;
        n.engine->take_active_sessions(active);
        for (const auto& s : active)
            if (auto hw = n.engine->session_read_high_water(s))
                high_water[s.peer.to_string()] = *hw;
        while (auto u = n.engine->poll_unknown_session()) {
            auto l = t.on_unknown(n.now, u->listener, u->peer);
            if (!l) continue;
            const auto peer = l->peer.to_string();
            auto it = blobs.find(peer);
            if (it == blobs.end()) {
                t.on_not_found(n.now, l->id);
                continue;
            }
            std::optional<std::uint64_t> hw;
            if (auto h = high_water.find(peer); h != high_water.end()) hw = h->second;
            const std::uint64_t floor = seq_counter[peer] += kRange;
            auto imp = t.on_found(n.now, l->id, it->second, hw, floor);
            ASSERT_TRUE(imp);
            auto r = n.engine->import_session(n.now, imp->listener, std::move(imp->state),
                                              imp->write_seq_floor);
            t.on_imported(n.now, l->listener, l->peer, r);
        }
        while (auto f = t.poll_forget())
            n.engine->forget_unknown_session({f->listener, f->peer});
        while (auto l = n.engine->poll_lookup()) {
            auto rec = shared.find(l->endpoint);
            if (rec && *rec)
                n.engine->provide_registration(n.now, l->id, std::move(**rec));
            else
                n.engine->registration_not_found(n.now, l->id);
        }
        n.persist();
    }

    /// The client sends `req` to whichever node `to` is (its flow), both nodes run, until the
    /// answer comes back.
    std::optional<coap::Message> exchange(DtlsClient& c, ServerHarness& to, SessionTakeover& t,
                                          coap::Message req) {
        auto id = c.se.coap().send_request(to.now, kNode, std::move(req));
        if (!id) return std::nullopt;
        c.se.flush(to.now);
        for (int step = 0; step < 5000; ++step) {
            lwm2m::test::GnutlsVirtualTime::set(to.now);
            bool moved = false;
            while (auto d = c.se.poll_transmit()) {
                to.engine->on_datagram(to.now, 0, kDev, d->bytes);
                moved = true;
            }
            drive(to, t);
            while (auto d = to.engine->poll_transmit()) {
                if (&to == &b && d->bytes.size() > 13 &&
                    std::to_integer<int>(d->bytes[0]) == 23) // application_data
                    seqs_from_b.push_back(record_seq(d->bytes));
                c.se.on_datagram(to.now, kNode, d->bytes);
                moved = true;
            }
            while (auto e = c.se.poll_event()) {
                if (auto* de = std::get_if<dtls::Event>(&*e))
                    if (std::holds_alternative<dtls::HandshakeDone>(*de)) ++c.handshakes;
                if (auto* ce = std::get_if<coap::Event>(&*e))
                    if (auto* r = std::get_if<coap::Response>(ce); r != nullptr && r->id == *id)
                        return r->response;
            }
            if (moved) continue;
            std::optional<TimePoint> next = c.se.next_deadline();
            if (auto e = to.engine->next_deadline(); e && (!next || *e < *next)) next = e;
            if (!next) break;
            to.now = std::max(to.now, *next);
            lwm2m::test::GnutlsVirtualTime::set(to.now);
            c.se.on_timeout(to.now);
            to.engine->on_timeout(to.now);
        }
        return std::nullopt;
    }
};

coap::Message update_of(const std::string& location, coap::MessageId mid) {
    return con(coap::code::post).mid(mid).token("u").path("/rd/" + location).build();
}

std::string location_of(const coap::Message& m) {
    auto loc = m.path(coap::option::location_path); // "/rd/<id>"
    return loc.size() > 4 ? loc.substr(4) : std::string();
}

TEST(DtlsTakeover, TheFlowMovesAndTheSessionFollowsWithoutAHandshake) {
    Cluster k;
    DtlsClient c;
    auto r = k.exchange(c, k.a, *k.ta, register_msg("ep=dev-t&lt=300", "</1/0>,</3/0>", 0x100));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->code, coap::code::created);
    EXPECT_EQ(c.handshakes, 1U);
    EXPECT_EQ(k.blobs.count(kDev.to_string()), 1U) << "A exported the session";
    EXPECT_EQ(k.ta->stats().exported, 1U);
    const std::string loc = location_of(*r);
    ASSERT_FALSE(loc.empty());
    // A persisted the high-water mark of the Register's record.
    ASSERT_EQ(k.high_water.count(kDev.to_string()), 1U);

    // The flow moves to B (A was killed): the next Update reaches B, which knows no session.
    k.b.now = k.a.now + std::chrono::seconds(10);
    r = k.exchange(c, k.b, *k.tb, update_of(loc, 0x101));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, coap::code::changed);
    EXPECT_EQ(c.handshakes, 1U) << "no new handshake";
    EXPECT_EQ(k.tb->stats().imported, 1U);
    EXPECT_EQ(k.tb->stats().lookups, 1U);
    const auto fb = k.b.engine->dtls_figures();
    EXPECT_EQ(fb.stats.handshakes_completed, 0U);
    EXPECT_EQ(fb.stats.sessions_imported, 1U);
    EXPECT_EQ(k.b.engine->stats().adopted, 1U) << "registration read through";
    // B writes in the range reserved for it, above anything A may have used.
    ASSERT_FALSE(k.seqs_from_b.empty());
    for (auto s : k.seqs_from_b)
        EXPECT_GE(s, kRange);
    // A second Update over the imported session, no look-up this time.
    r = k.exchange(c, k.b, *k.tb, update_of(loc, 0x102));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, coap::code::changed);
    EXPECT_EQ(k.tb->stats().lookups, 1U);
    EXPECT_EQ(c.handshakes, 1U);
    // B exported the imported session again (for the next move).
    EXPECT_EQ(k.tb->stats().exported, 1U);
}

TEST(DtlsTakeover, WithoutAStoredSessionTheClientHandshakesAgain) {
    Cluster k;
    DtlsClient c;
    auto r = k.exchange(c, k.a, *k.ta, register_msg("ep=dev-t&lt=300", "</1/0>,</3/0>", 0x100));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->code, coap::code::created);
    k.blobs.clear(); // e.g. the export never reached the store
    k.b.now = k.a.now + std::chrono::seconds(10);
    r = k.exchange(c, k.b, *k.tb, update_of(location_of(*r), 0x101));
    // The client's DTLS layer gives the session up only after its CoAP retransmissions (the
    // Update is not answered here). B looked the address up, missed, and reports its
    // retransmissions again (the kept datagram is dropped) but the negative cache holds them
    // off: one look-up per miss_ttl (5 s), however often the client retransmits.
    EXPECT_FALSE(r);
    const auto& st = k.tb->stats();
    EXPECT_EQ(st.imported, 0U);
    EXPECT_GE(st.not_found, 2U) << "looked up again after the negative cache ran out";
    EXPECT_GE(st.rate_limited, 1U);
    EXPECT_LE(st.lookups, 1 + 93 / 5) << "at most one look-up per 5 s in MAX_TRANSMIT_WAIT";
}

} // namespace
} // namespace lwm2m::server::test::takeover_lockstep
