// Read-through (EngineConfig::read_through, docs/cluster-nodes.md): two engines
// ("nodes") share one registration store; a client registered at node A talks to node B.
#include "server_harness.hpp"

#include <lwm2m/format/codec.hpp>

namespace lwm2m::server::test {
namespace {

EngineConfig node_config(std::string prefix) {
    EngineConfig c = open_config();
    c.location_prefix = std::move(prefix);
    c.read_through.enabled = true;
    return c;
}

/// Two nodes over one shared store; their wall clocks move together.
struct TwoNodes {
    store::MemoryRegistrationStore shared;
    ServerHarness a{node_config("a-"), 1};
    ServerHarness b{node_config("b-"), 2};
    TwoNodes() {
        a.shared = &shared;
        b.shared = &shared;
    }
    void pass(std::chrono::seconds d) {
        a.wall.t += d.count();
        b.wall.t += d.count();
        a.advance(d);
        b.advance(d);
    }
};

coap::Message update_msg(const std::string& loc, coap::MessageId mid, std::string_view query = {}) {
    auto m = con(coap::code::post).mid(mid).token("u").path("/rd/" + loc);
    if (!query.empty()) m.query(query);
    return m.build();
}

TEST(ReadThrough, LocationsCarryTheNodePrefix) {
    TwoNodes n;
    const auto la = n.a.register_client(kPeerA, "ep=one");
    const auto lb = n.b.register_client(kPeerB, "ep=two");
    EXPECT_EQ(la.rfind("a-", 0), 0U) << la;
    EXPECT_EQ(lb.rfind("b-", 0), 0U) << lb;
    // Our own location without the prefix is no location of ours.
    n.a.receive(kPeerA, update_msg(la.substr(2), 0x200));
    EXPECT_EQ(n.a.engine->stats().lookups, 1U); // unknown here: looked up
    n.a.serve_lookups(n.shared);
    EXPECT_EQ(n.a.expect_tx(&kPeerA).code, coap::code::not_found);
    // A prefix that is not [a-z0-9-]{0,16}: refused.
    for (std::string bad : {"A-", "a/b", "01234567890123456"}) {
        store::MemorySecurityStore sec;
        SeededRandom rng(1);
        TestWall wall;
        EXPECT_FALSE(Engine::create(node_config(bad), EngineDeps{sec, rng, wall}));
    }
}

TEST(ReadThrough, UpdateAtAnotherNodeIsAcceptedWithItsLocation) {
    TwoNodes n;
    const auto loc = n.a.register_client(kPeerA, "ep=dev&lt=300&lwm2m=1.1", "</1/0>,</3/0>,</5/0>");
    n.pass(100s);
    // The kernel moved the client's flow to node B (new source port: NAT).
    n.b.receive(kPeerB, update_msg(loc, 0x300, "lt=400"));
    n.b.expect_no_tx(); // parked
    EXPECT_EQ(n.b.engine->stats().parked, 1U);
    auto served = n.b.serve_lookups(n.shared);
    ASSERT_EQ(served.size(), 1U);
    EXPECT_EQ(served[0].location, loc);
    EXPECT_TRUE(served[0].endpoint.empty()); // NoSec: only the location is known
    EXPECT_EQ(served[0].reason, LookupReason::uplink);
    n.b.expect_no_tx(); // 2.04 held until the Update is durable
    n.b.persist();
    EXPECT_EQ(n.b.expect_tx(&kPeerB).code, coap::code::changed);
    auto reg = n.b.expect_event<Registered>();
    EXPECT_TRUE(reg.adopted);
    EXPECT_TRUE(reg.restored);
    EXPECT_EQ(reg.location, loc);
    auto up = n.b.expect_event<Updated>();
    EXPECT_EQ(up.location, loc);
    EXPECT_TRUE(up.address_changed);
    EXPECT_TRUE(up.parameters_changed);
    auto info = n.b.engine->registration("dev");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->location, loc);
    EXPECT_EQ(info->lifetime_s, 400U);
    EXPECT_EQ(info->objects.links.size(), 3U);
    EXPECT_EQ(info->version, dm::Lwm2mVersion::v1_1);
    auto rec = *n.shared.find("dev");
    EXPECT_EQ(rec->location, loc);
    EXPECT_EQ(rec->peer, kPeerB);
    EXPECT_EQ(rec->lifetime_s, 400U);
    EXPECT_EQ(rec->updated_at, n.b.wall.t);
    // The next Update goes straight through (no second lookup).
    n.b.receive(kPeerB, update_msg(loc, 0x301));
    n.b.persist();
    EXPECT_EQ(n.b.expect_tx(&kPeerB).code, coap::code::changed);
    const auto st = n.b.engine->stats();
    EXPECT_EQ(st.lookups, 1U);
    EXPECT_EQ(st.lookups_found, 1U);
    EXPECT_EQ(st.adopted, 1U);
    EXPECT_EQ(st.parked, 0U);
}

TEST(ReadThrough, UnknownLocationIsNotFoundAfterTheLookup) {
    TwoNodes n;
    n.b.receive(kPeerB, update_msg("a-1deadbeef", 0x300));
    n.b.expect_no_tx();
    n.b.serve_lookups(n.shared);
    auto r = n.b.expect_tx(&kPeerB);
    EXPECT_EQ(r.code, coap::code::not_found); // TS 1.1 §6.2.2: the client registers again
    EXPECT_EQ(text_of(r), "no registration at this location");
    EXPECT_EQ(n.b.engine->stats().lookups_not_found, 1U);
    EXPECT_EQ(n.b.engine->registration_count(), 0U);
}

TEST(ReadThrough, DeregisterAtAnotherNodeRemovesTheStoredRegistration) {
    TwoNodes n;
    const auto loc = n.a.register_client(kPeerA, "ep=gone");
    n.b.receive(kPeerA, con(coap::code::delete_).mid(0x400).token("d").path("/rd/" + loc));
    n.b.serve_lookups(n.shared);
    n.b.persist();
    EXPECT_EQ(n.b.expect_tx(&kPeerA).code, coap::code::deleted);
    EXPECT_FALSE(*n.shared.find("gone"));
    // Node A's copy: at its expiry the store holds none: dropped without touching the store.
    n.a.events();
    n.pass(86400s + 31s);
    auto served = n.a.serve_lookups(n.shared);
    ASSERT_EQ(served.size(), 1U);
    EXPECT_EQ(served[0].reason, LookupReason::expiry);
    EXPECT_EQ(served[0].endpoint, "gone");
    auto ev = n.a.expect_event<Deregistered>();
    EXPECT_EQ(ev.reason, DeregisterReason::moved);
    EXPECT_EQ(n.a.engine->registration_count(), 0U);
    EXPECT_EQ(n.a.persist(), 0U); // nothing journaled
}

TEST(ReadThrough, ExpiryOfAClientServedElsewhereLeavesTheStoreAlone) {
    TwoNodes n;
    const auto loc = n.a.register_client(kPeerA, "ep=mover&lt=60");
    n.pass(50s);
    n.b.receive(kPeerB, update_msg(loc, 0x500));
    n.b.serve_lookups(n.shared);
    n.b.persist();
    EXPECT_EQ(n.b.expect_tx(&kPeerB).code, coap::code::changed);
    // A's copy expires at 91 s (its lookup is answered at once, as the driver does); B's at
    // 141 s. An unanswered check expires after ReadThroughConfig::timeout (tested below).
    n.pass(40s);
    auto served = n.a.serve_lookups(n.shared);
    ASSERT_EQ(served.size(), 1U);
    EXPECT_EQ(n.a.expect_event<Deregistered>().reason, DeregisterReason::moved);
    EXPECT_EQ(n.a.persist(), 0U);
    EXPECT_TRUE(*n.shared.find("mover"));
    EXPECT_EQ(n.a.engine->stats().moved, 1U);
    EXPECT_EQ(n.a.engine->stats().expirations, 0U);
    // B's copy really expires: the store agrees, the removal is journaled.
    n.b.events();
    n.pass(50s);
    n.b.serve_lookups(n.shared);
    EXPECT_EQ(n.b.expect_event<Deregistered>().reason, DeregisterReason::expired);
    EXPECT_EQ(n.b.engine->stats().expirations, 1U);
    EXPECT_EQ(n.b.persist(), 1U);
    EXPECT_FALSE(*n.shared.find("mover"));
}

TEST(ReadThrough, TheClientComingBackDuringTheExpiryCheckKeepsItsRegistration) {
    TwoNodes n;
    const auto loc = n.a.register_client(kPeerA, "ep=late&lt=60");
    n.pass(91s);
    ASSERT_EQ(n.a.engine->stats().lookups, 1U); // the expiry check is out
    n.a.receive(kPeerA, update_msg(loc, 0x600));
    n.a.persist();
    EXPECT_EQ(n.a.expect_tx(&kPeerA).code, coap::code::changed);
    n.a.serve_lookups(n.shared); // the check's answer comes too late: ignored
    EXPECT_EQ(n.a.engine->registration_count(), 1U);
    EXPECT_TRUE(n.a.events_of<Deregistered>().empty());
    // And the timer is armed again.
    n.pass(91s);
    n.a.serve_lookups(n.shared);
    EXPECT_EQ(n.a.events_of<Deregistered>().size(), 1U);
    EXPECT_EQ(n.a.engine->registration_count(), 0U);
}

TEST(ReadThrough, ParkingIsBoundedPerPeerAndInAllAndTimesOut) {
    auto cfg = node_config("b-");
    cfg.read_through.max_parked_per_peer = 2;
    cfg.read_through.max_parked = 3;
    ServerHarness b(cfg);
    b.receive(kPeerA, update_msg("a-1deadbeef", 0x700));
    b.receive(kPeerA, update_msg("a-2deadbeef", 0x701));
    b.receive(kPeerA, update_msg("a-3deadbeef", 0x702)); // third of this peer
    auto r = b.expect_tx(&kPeerA);
    EXPECT_EQ(r.code, coap::code::service_unavailable);
    b.receive(kPeerB, update_msg("a-4deadbeef", 0x703));
    b.receive(kPeerB, update_msg("a-5deadbeef", 0x704)); // fourth in all
    EXPECT_EQ(b.expect_tx(&kPeerB).code, coap::code::service_unavailable);
    auto st = b.engine->stats();
    EXPECT_EQ(st.lookups, 3U);
    EXPECT_EQ(st.lookups_refused, 2U);
    EXPECT_EQ(st.parked, 3U);
    // Nobody answers: after the timeout each parked request gets 5.03 (empty ACKs first).
    b.advance(5s);
    std::size_t unavailable = 0;
    for (auto& [d, m] : b.drain())
        if (m.code == coap::code::service_unavailable) ++unavailable;
    EXPECT_EQ(unavailable, 3U);
    st = b.engine->stats();
    EXPECT_EQ(st.lookups_timed_out, 3U);
    EXPECT_EQ(st.parked, 0U);
    // Late answers are ignored; room again.
    while (auto l = b.engine->poll_lookup())
        b.engine->registration_not_found(b.now, l->id);
    b.expect_no_tx();
    b.receive(kPeerA, update_msg("a-6deadbeef", 0x705));
    b.expect_no_tx();
    EXPECT_EQ(b.engine->stats().parked, 1U);
}

TEST(ReadThrough, AnUnansweredExpiryCheckExpires) {
    TwoNodes n;
    n.a.register_client(kPeerA, "ep=quiet&lt=60");
    n.pass(91s);
    EXPECT_EQ(n.a.engine->stats().lookups, 1U);
    EXPECT_TRUE(n.a.events_of<Deregistered>().empty());
    n.pass(5s); // the store never answers
    auto ev = n.a.events_of<Deregistered>();
    ASSERT_EQ(ev.size(), 1U);
    EXPECT_EQ(ev[0].reason, DeregisterReason::expired);
    EXPECT_EQ(n.a.engine->stats().lookups_timed_out, 1U);
    EXPECT_EQ(n.a.persist(), 1U);
    EXPECT_FALSE(*n.shared.find("quiet"));
}

TEST(ReadThrough, ARecordThatDoesNotMatchOrHasExpiredIsNotTakenOver) {
    TwoNodes n;
    const auto loc = n.a.register_client(kPeerA, "ep=x&lt=60");
    // The driver answers with another endpoint's record: refused (4.04).
    n.b.receive(kPeerB, update_msg(loc, 0x800));
    auto l = n.b.engine->poll_lookup();
    ASSERT_TRUE(l);
    auto rec = **n.shared.find("x");
    rec.location = "a-other0001";
    n.b.engine->provide_registration(n.b.now, l->id, rec);
    EXPECT_EQ(n.b.expect_tx(&kPeerB).code, coap::code::not_found);
    // Expired by the wall clock (node A died before its expiry): 4.04.
    n.b.wall.t += 60 + 30 + 1;
    n.b.receive(kPeerB, update_msg(loc, 0x801));
    n.b.serve_lookups(n.shared);
    EXPECT_EQ(n.b.expect_tx(&kPeerB).code, coap::code::not_found);
    EXPECT_EQ(n.b.engine->registration_count(), 0U);
    EXPECT_EQ(n.b.engine->stats().lookups_not_found, 2U);
}

TEST(ReadThrough, RegisterAtAnotherNodeReplacesAndTheOldCopyMoves) {
    TwoNodes n;
    n.a.register_client(kPeerA, "ep=re&lt=60");
    const auto lb = n.b.register_client(kPeerB, "ep=re&lt=600");
    EXPECT_EQ((*n.shared.find("re"))->location, lb);
    n.pass(91s);
    n.a.serve_lookups(n.shared);
    EXPECT_EQ(n.a.expect_event<Deregistered>().reason, DeregisterReason::moved);
    EXPECT_EQ((*n.shared.find("re"))->location, lb);
}

TEST(ReadThrough, RestoreKeepsTheLocationsOfOtherNodes) {
    TwoNodes n;
    const auto loc = n.a.register_client(kPeerA, "ep=r1");
    ServerHarness c(node_config("c-"), 3);
    auto restored = c.engine->restore(c.now, n.shared);
    ASSERT_TRUE(restored);
    EXPECT_EQ(*restored, 1U);
    EXPECT_EQ(c.engine->registration("r1")->location, loc);
    EXPECT_EQ(c.persist(), 0U); // nothing rewritten
    c.shared = &n.shared;
    c.receive(kPeerA, update_msg(loc, 0x900));
    c.persist();
    EXPECT_EQ(c.expect_tx(&kPeerA).code, coap::code::changed);
    EXPECT_EQ(c.engine->stats().lookups, 0U);
}

/// Observes /3/0/9 of `ep` (at `peer`) through `h`: the token and the observation id.
std::pair<coap::Token, ObservationId> observe_battery_at(ServerHarness& h, const PeerAddr& peer,
                                                         std::string_view ep) {
    EXPECT_TRUE(h.engine->send(h.now, ep, Request::observe(dm::Path(Oid{3}, Iid{0}, Rid{9}))));
    auto req = h.expect_tx(&peer);
    const dm::Content v{dm::Path(Oid{3}, Iid{0}, Rid{9}),
                        dm::Resource::single(9, dm::Value::integer(80))};
    h.reply(peer, req, coap::code::content, *format::encode(format::ContentFormat::lwm2m_tlv, v),
            11542, 1);
    auto evs = h.events_of<ResponseEvent>();
    EXPECT_EQ(evs.size(), 1U);
    return {req.token, evs.empty() ? ObservationId{} : evs[0].observation};
}

std::vector<store::ObservationRecord> stored_observations(const store::RegistrationStore& s,
                                                          const std::string& ep) {
    std::vector<store::ObservationRecord> out;
    EXPECT_TRUE(s.load([](store::RegistrationRecord&&) {},
                       [&](store::ObservationRecord&& o) {
                           if (o.endpoint == ep) out.push_back(std::move(o));
                       }));
    return out;
}

TEST(ReadThrough, ATakenOverRegistrationBringsItsObservations) {
    TwoNodes n;
    const PeerAddr peer_c = PeerAddr::v4(10, 0, 0, 3, 5683);
    const auto loc = n.a.register_client(kPeerA, "ep=ob&lt=300");
    auto [token, id_a] = observe_battery_at(n.a, kPeerA, "ob");
    n.a.persist();
    ASSERT_EQ(stored_observations(n.shared, "ob").size(), 1U);
    // Node B already has an observation with the same id (ids are per node).
    n.b.register_client(kPeerB, "ep=other&lt=300");
    auto [token_b, id_b] = observe_battery_at(n.b, kPeerB, "other");
    n.b.persist();
    ASSERT_EQ(id_a.value, id_b.value);
    // Node A dies; the client's flow reaches node B; its Update is taken over with the stored
    // observation.
    n.b.receive(peer_c, update_msg(loc, 0x400));
    while (auto l = n.b.engine->poll_lookup()) {
        auto rec = n.shared.find_by_location(l->location);
        ASSERT_TRUE(rec && *rec);
        n.b.engine->provide_registration(n.b.now, l->id, std::move(**rec),
                                         stored_observations(n.shared, "ob"));
    }
    n.b.persist();
    EXPECT_EQ(n.b.expect_tx(&peer_c).code, coap::code::changed);
    // The observation is re-sent with its token (RFC 7641 §4.1: a re-registration).
    auto again = n.b.expect_tx(&peer_c);
    EXPECT_EQ(again.code, coap::code::get);
    EXPECT_EQ(again.token, token);
    const dm::Content v{dm::Path(Oid{3}, Iid{0}, Rid{9}),
                        dm::Resource::single(9, dm::Value::integer(81))};
    n.b.reply(peer_c, again, coap::code::content,
              *format::encode(format::ContentFormat::lwm2m_tlv, v), 11542, 5);
    n.b.events();
    // Notifications are events at node B, under a new id there.
    n.b.receive(peer_c, battery_notification(token, 6, 77, 0x7401));
    auto ack = n.b.expect_tx(&peer_c);
    EXPECT_EQ(ack.type, coap::Type::ack);
    auto notes = n.b.events_of<NotificationEvent>();
    ASSERT_EQ(notes.size(), 1U);
    EXPECT_EQ(notes[0].endpoint, "ob");
    EXPECT_NE(notes[0].id.value, id_b.value);
    ASSERT_EQ(n.b.engine->observations("ob").size(), 1U);
    // The store follows the renumbering: the old id's entry went, the new one is there.
    n.b.persist();
    auto stored = stored_observations(n.shared, "ob");
    ASSERT_EQ(stored.size(), 1U);
    EXPECT_EQ(stored[0].id, notes[0].id.value);
    EXPECT_EQ(coap::Token(stored[0].token), token);
    // Node B's own observation is untouched.
    EXPECT_EQ(n.b.engine->observations("other").size(), 1U);
}

TEST(ReadThrough, OffMeansNotFoundAtOnce) {
    ServerHarness h;
    h.receive(kPeerA, update_msg("a-1deadbeef", 0x300));
    EXPECT_EQ(h.expect_tx(&kPeerA).code, coap::code::not_found);
    EXPECT_FALSE(h.engine->poll_lookup());
}

} // namespace
} // namespace lwm2m::server::test
