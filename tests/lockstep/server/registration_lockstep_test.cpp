// The Registration Interface of server::Engine against scripted clients (LwM2M TS 1.1 §6.2,
// TS 1.0 §5.3, Transport TS 1.1 Table 6.7-2): every parameter, refusals with their exact code and
// diagnostic, Update/De-register, replacement, expiry, durability, restart and NoSec policies.
#include <gtest/gtest.h>

#include "lockstep/server/server_harness.hpp"

namespace lwm2m::server::test {
namespace {

TEST(Register, EveryParameterIsTakenAndTheLocationEchoed) {
    ServerHarness h;
    h.receive(kPeerA, register_msg("ep=urn:imei:1&lt=300&lwm2m=1.1&b=UT&Q&sms=+3312345",
                                   "</>;ct=\"60 110\",</1/0>,</3>;ver=1.1,</3/0>,</3303/0>"));
    h.expect_no_tx(); // held until durable
    EXPECT_TRUE(h.events().empty());
    EXPECT_EQ(h.persist(), 1U);
    auto resp = h.expect_tx(&kPeerA);
    EXPECT_EQ(resp.type, coap::Type::ack);
    EXPECT_EQ(resp.message_id, 0x100);
    EXPECT_EQ(resp.code, coap::code::created);
    const std::string loc = resp.path(coap::option::location_path);
    ASSERT_EQ(loc.rfind("/rd/", 0), 0U) << loc;
    auto ev = h.expect_event<Registered>();
    EXPECT_EQ(ev.endpoint, "urn:imei:1");
    EXPECT_EQ("/rd/" + ev.location, loc);
    EXPECT_EQ(ev.version, dm::Lwm2mVersion::v1_1);
    EXPECT_EQ(ev.lifetime_s, 300U);
    EXPECT_TRUE(ev.queue_mode);
    EXPECT_FALSE(ev.replaced);

    auto info = h.engine->registration("urn:imei:1");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->binding, binding::udp | binding::tcp);
    EXPECT_EQ(info->sms_number, "+3312345");
    EXPECT_EQ(info->objects.content_formats, (std::vector<std::uint16_t>{60, 110}));
    ASSERT_EQ(info->objects.links.size(), 4U);
    EXPECT_EQ(info->peer, kPeerA);
    EXPECT_EQ(info->registered_at, h.wall.t);
    EXPECT_EQ(info->expires_at, h.now + 300s + 30s);

    auto rec = h.store.find("urn:imei:1");
    ASSERT_TRUE(rec && *rec);
    EXPECT_EQ((*rec)->location, ev.location);
    EXPECT_EQ((*rec)->lwm2m_version, "1.1");
    EXPECT_EQ((*rec)->binding, "UT");
    EXPECT_TRUE((*rec)->queue_mode);
    EXPECT_EQ((*rec)->object_links, "</>;ct=\"60 110\",</1/0>,</3>;ver=1.1,</3/0>,</3303/0>");

    // The Location is what Update uses.
    h.receive(kPeerA, con(coap::code::post).mid(0x101).token("u1").path(loc));
    h.persist();
    EXPECT_EQ(h.expect_tx(&kPeerA).code, coap::code::changed);
}

TEST(Register, DefaultsOfTheTs) {
    ServerHarness h;
    ASSERT_FALSE(h.register_client(kPeerA, "ep=plain").empty());
    auto info = h.engine->registration("plain");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->lifetime_s, 86400U);              // TS 1.1 §6.2.1
    EXPECT_EQ(info->version, dm::Lwm2mVersion::v1_0); // TS 1.0 §5.3.1
    EXPECT_EQ(info->binding, binding::udp);           // "U"
    EXPECT_FALSE(info->queue_mode);
    EXPECT_EQ(info->objects.root, "/");
}

struct Refused {
    std::string query;
    std::string links;
    coap::Code code;
    std::string diagnostic;
};

class RegisterRefusal : public ::testing::TestWithParam<Refused> {};

TEST_P(RegisterRefusal, ExactCodeAndDiagnostic) {
    ServerHarness h;
    const auto& c = GetParam();
    h.receive(kPeerA, register_msg(c.query, c.links));
    auto resp = h.expect_tx(&kPeerA);
    EXPECT_EQ(resp.code, c.code) << c.query;
    EXPECT_EQ(text_of(resp), c.diagnostic) << c.query;
    EXPECT_EQ(resp.uint_option(coap::option::content_format), 0U);
    EXPECT_EQ(h.engine->registration_count(), 0U);
    EXPECT_EQ(h.engine->stats().refused, 1U);
    EXPECT_EQ(h.persist(), 0U);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RegisterRefusal,
    ::testing::Values(
        Refused{"lt=60", "</1/0>", coap::code::bad_request, "ep: the endpoint name is required"},
        Refused{"ep=", "</1/0>", coap::code::bad_request, "ep: empty endpoint name"},
        Refused{"ep=a&ep=b", "</1/0>", coap::code::bad_request, "ep: given twice"},
        Refused{"ep=a&lt=x", "</1/0>", coap::code::bad_request,
                "lt: 'x' is not a number of seconds"},
        Refused{"ep=a&lt=0", "</1/0>", coap::code::bad_request, "lt: 0 is outside 1..4294967295"},
        Refused{"ep=a&lwm2m=one", "</1/0>", coap::code::bad_request,
                "lwm2m: 'one' is not a version X.Y"},
        Refused{"ep=a&lwm2m=1.3", "</1/0>", coap::code::precondition_failed,
                "lwm2m: version 1.3 is not supported (1.0, 1.1, 1.2)"},
        Refused{"ep=a&b=Z", "</1/0>", coap::code::bad_request,
                "b: 'Z' has a binding letter not defined for LwM2M 1.0"},
        Refused{"ep=a&lwm2m=1.1&Q=1", "</1/0>", coap::code::bad_request, "Q: takes no value"},
        Refused{"ep=a&sms=x", "</1/0>", coap::code::bad_request, "sms: 'x' is not an MSISDN"},
        Refused{"ep=a", "", coap::code::bad_request,
                "payload: the objects and object instances are required"},
        Refused{"ep=a", "<junk", coap::code::bad_request,
                "payload: not a valid CoRE Link Format list of objects"},
        Refused{"ep=a", "</3/65535>", coap::code::bad_request,
                "payload: link </3/65535> is not an object or instance path"}));

TEST(Register, WrongContentFormatAndTooManyParameters) {
    ServerHarness h;
    auto m = register_msg("ep=a");
    m.set_uint_option(coap::option::content_format, coap::content_format::senml_json);
    h.receive(kPeerA, m);
    auto r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::bad_request);
    EXPECT_EQ(text_of(r), "payload: Content-Format must be application/link-format (40)");
    std::string q = "ep=a";
    for (int i = 0; i < 40; ++i)
        q += "&x" + std::to_string(i) + "=1";
    h.receive(kPeerA, register_msg(q, "</1/0>", 0x200));
    r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::bad_request);
    EXPECT_EQ(text_of(r), "too many parameters");
}

TEST(Register, LenientModeAcceptsWhatRealClientsSendAndLogsIt) {
    ServerHarness h;
    auto m = register_msg("ep=old&et=x&Q", "</0/0>,</1/0>,</3/0/1>,</3/0>");
    m.remove_option(coap::option::content_format);
    h.receive(kPeerA, m);
    h.persist();
    EXPECT_EQ(h.expect_tx().code, coap::code::created);
    auto info = h.engine->registration("old");
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->queue_mode); // Q from a 1.0 client
    EXPECT_EQ(info->objects.links.size(), 2U);
    EXPECT_EQ(info->notes, note::unknown_parameter | note::q_from_1_0 | note::no_content_format |
                               note::security_object_listed | note::resource_link);
    const auto log = h.log.all();
    EXPECT_NE(log.find("registration of 'old' accepted leniently"), std::string::npos) << log;
    EXPECT_NE(log.find("Security/OSCORE object links dropped"), std::string::npos) << log;
}

TEST(Register, StrictModeRefusesThem) {
    auto cfg = open_config();
    cfg.strict = true;
    ServerHarness h(cfg);
    h.receive(kPeerA, register_msg("ep=old&et=x"));
    auto r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::bad_request);
    EXPECT_EQ(text_of(r), "unknown parameter 'et'");
    h.receive(kPeerA, register_msg("ep=old", "</0/0>,</1/0>", 0x101));
    r = h.expect_tx();
    EXPECT_EQ(text_of(r), "payload: Object 0 must not be listed");
    auto m = register_msg("ep=old", "</1/0>", 0x102);
    m.remove_option(coap::option::content_format);
    h.receive(kPeerA, m);
    r = h.expect_tx();
    EXPECT_EQ(text_of(r), "payload: Content-Format application/link-format (40) is required");
}

TEST(Register, ANewRegisterReplacesTheOldOne) {
    ServerHarness h;
    const auto loc1 = h.register_client(kPeerA, "ep=dev");
    h.receive(kPeerB, register_msg("ep=dev&lt=100", "</1/0>", 0x300));
    h.persist();
    auto resp = h.expect_tx(&kPeerB);
    ASSERT_EQ(resp.code, coap::code::created);
    const auto loc2 = resp.path(coap::option::location_path).substr(4);
    EXPECT_NE(loc1, loc2);
    auto ev = h.expect_event<Registered>();
    EXPECT_TRUE(ev.replaced);
    EXPECT_EQ(h.engine->registration_count(), 1U);
    EXPECT_EQ(h.engine->registration("dev")->peer, kPeerB);
    // The old location is gone.
    h.receive(kPeerA, con(coap::code::post).mid(0x301).token("u").path("/rd/" + loc1));
    auto r = h.expect_tx(&kPeerA);
    EXPECT_EQ(r.code, coap::code::not_found);
    EXPECT_EQ(text_of(r), "no registration at this location");
    // The store holds the new one only.
    EXPECT_EQ((*h.store.find("dev"))->location, loc2);
    EXPECT_EQ(*h.store.size(), 1U);
}

TEST(Update, ChangesParametersObjectsAndAddress) {
    ServerHarness h;
    const auto loc = h.register_client(kPeerA, "ep=u&lt=100&lwm2m=1.1");
    h.now += 50s;
    auto m = con(coap::code::post)
                 .mid(0x400)
                 .token("u")
                 .path("/rd/" + loc)
                 .query("lt=200&b=UT&sms=123")
                 .uint(coap::option::content_format, coap::content_format::link_format)
                 .payload("</1/0>,</3/0>,</5/0>")
                 .build();
    h.receive(kPeerB, m); // from a new address (NAT rebinding)
    h.expect_no_tx();
    h.persist();
    EXPECT_EQ(h.expect_tx(&kPeerB).code, coap::code::changed);
    auto ev = h.expect_event<Updated>();
    EXPECT_TRUE(ev.address_changed);
    EXPECT_TRUE(ev.objects_changed);
    EXPECT_TRUE(ev.parameters_changed);
    auto info = h.engine->registration("u");
    EXPECT_EQ(info->lifetime_s, 200U);
    EXPECT_EQ(info->binding, binding::udp | binding::tcp);
    EXPECT_EQ(info->sms_number, "123");
    EXPECT_EQ(info->peer, kPeerB);
    EXPECT_EQ(info->objects.links.size(), 3U);
    EXPECT_EQ(info->expires_at, h.now + 200s + 30s);
    auto rec = *h.store.find("u");
    EXPECT_EQ(rec->lifetime_s, 200U);
    EXPECT_EQ(rec->peer, kPeerB);
    EXPECT_EQ(rec->object_links, "</1/0>,</3/0>,</5/0>");
}

TEST(Update, RefusalsKeepTheRegistration) {
    ServerHarness h;
    const auto loc = h.register_client(kPeerA, "ep=u&lwm2m=1.0");
    // 4.04: unknown location, a location with a wrong nonce, garbage.
    coap::MessageId mid = 0x500;
    for (std::string bad :
         {std::string("ffffff00000001"), loc.substr(0, loc.size() - 1) + "0", std::string("zz")}) {
        h.receive(kPeerA, con(coap::code::post).mid(mid++).token("u").path("/rd/" + bad));
        auto r = h.expect_tx();
        EXPECT_EQ(r.code, coap::code::not_found) << bad;
    }
    // 4.00: a binding letter no LwM2M version defines.
    h.receive(kPeerA, con(coap::code::post).mid(0x511).token("u").path("/rd/" + loc).query("b=Z"));
    auto r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::bad_request);
    EXPECT_EQ(text_of(r), "b: 'Z' has a binding letter not defined for LwM2M 1.0");
    // 4.05 for other methods on the registration resource.
    h.receive(kPeerA, con(coap::code::get).mid(0x512).token("g").path("/rd/" + loc));
    EXPECT_EQ(h.expect_tx().code, coap::code::method_not_allowed);
    EXPECT_EQ(h.engine->registration_count(), 1U);
}

TEST(Deregister, RemovesTheRegistrationWhenDurable) {
    ServerHarness h;
    const auto loc = h.register_client(kPeerA, "ep=d");
    h.receive(kPeerA, con(coap::code::delete_).mid(0x600).token("d").path("/rd/" + loc));
    EXPECT_EQ(h.engine->registration_count(), 0U);
    h.expect_no_tx(); // 2.02 held until the removal is durable
    EXPECT_EQ(*h.store.size(), 1U);
    h.persist();
    EXPECT_EQ(h.expect_tx().code, coap::code::deleted);
    auto ev = h.expect_event<Deregistered>();
    EXPECT_EQ(ev.endpoint, "d");
    EXPECT_EQ(ev.location, loc);
    EXPECT_EQ(ev.reason, DeregisterReason::deregistered);
    EXPECT_EQ(*h.store.size(), 0U);
    // Twice: 4.04.
    h.receive(kPeerA, con(coap::code::delete_).mid(0x601).token("d").path("/rd/" + loc));
    EXPECT_EQ(h.expect_tx().code, coap::code::not_found);
}

TEST(Expiry, AfterLifetimePlusGrace) {
    ServerHarness h;
    h.register_client(kPeerA, "ep=e&lt=60");
    h.advance(89s);
    EXPECT_EQ(h.engine->registration_count(), 1U);
    EXPECT_TRUE(h.events_of<Deregistered>().empty());
    h.advance(1s);
    EXPECT_EQ(h.engine->registration_count(), 0U);
    auto ev = h.events_of<Deregistered>();
    ASSERT_EQ(ev.size(), 1U);
    EXPECT_EQ(ev[0].reason, DeregisterReason::expired);
    h.persist();
    EXPECT_EQ(*h.store.size(), 0U);
}

TEST(Expiry, AMassExpiryGivesOneReleaseHint) {
    // The driver returns freed heap pages to the OS when the engine says much was freed at once
    // (lwm2m-server calls transport::release_free_heap()): once per drop of
    // release_hint_registrations below the peak, never for a few expiries.
    auto cfg = open_config();
    cfg.release_hint_registrations = 8;
    ServerHarness h(cfg);
    for (std::uint8_t i = 0; i < 12; ++i) {
        const PeerAddr peer = PeerAddr::v4(10, 0, 0, static_cast<std::uint8_t>(i + 1), 5683);
        const std::string q = "ep=m" + std::to_string(i) + (i < 10 ? "&lt=60" : "&lt=600");
        h.register_client(peer, q, "</1/0>,</3/0>", static_cast<coap::MessageId>(0x200 + i));
    }
    ASSERT_EQ(h.engine->registration_count(), 12U);
    EXPECT_FALSE(h.engine->take_release_hint());
    h.advance(91s); // ten expire (lifetime 60 + grace 30)
    h.persist();
    ASSERT_EQ(h.engine->registration_count(), 2U);
    EXPECT_TRUE(h.engine->take_release_hint());
    EXPECT_FALSE(h.engine->take_release_hint()); // once, not again for the same drop
    h.advance(600s); // two more: below the threshold from the new reference
    EXPECT_EQ(h.engine->registration_count(), 0U);
    EXPECT_FALSE(h.engine->take_release_hint());
}

TEST(Expiry, AnUpdatePostponesItAndAShorterLifetimeBringsItForward) {
    ServerHarness h;
    const auto loc = h.register_client(kPeerA, "ep=e&lt=60");
    h.advance(50s);
    h.receive(kPeerA, con(coap::code::post).mid(0x700).token("u").path("/rd/" + loc));
    h.persist();
    h.drain();
    h.advance(60s); // 110 s: past the first deadline, not the second (50 + 90)
    EXPECT_EQ(h.engine->registration_count(), 1U);
    h.receive(kPeerA,
              con(coap::code::post).mid(0x701).token("u").path("/rd/" + loc).query("lt=10"));
    h.persist();
    h.drain();
    h.advance(39s);
    EXPECT_EQ(h.engine->registration_count(), 1U);
    h.advance(1s); // 10 + 30 s after the last Update
    EXPECT_EQ(h.engine->registration_count(), 0U);
}

TEST(Durability, ResponsesWaitForTheirChangesAndCommitsAreGrouped) {
    ServerHarness h;
    for (int i = 0; i < 10; ++i) {
        const auto peer = PeerAddr::v4(10, 1, 0, static_cast<std::uint8_t>(i), 5683);
        h.receive(peer, register_msg("ep=g" + std::to_string(i)));
    }
    h.expect_no_tx();
    EXPECT_EQ(h.engine->stats().held_responses, 10U);
    EXPECT_EQ(h.engine->registration_count(), 10U);
    std::vector<store::Change> batch;
    const auto seq = h.engine->take_changes(batch);
    EXPECT_EQ(batch.size(), 10U);
    // Commit, but acknowledge only the first half: only those responses leave.
    ASSERT_TRUE(h.store.commit(batch));
    h.engine->on_persisted(h.now, batch[4].seq);
    EXPECT_EQ(h.drain().size(), 5U);
    EXPECT_EQ(h.events_of<Registered>().size(), 5U);
    h.engine->on_persisted(h.now, seq);
    EXPECT_EQ(h.drain().size(), 5U);
    EXPECT_EQ(h.store.commits(), 1U);
}

TEST(Durability, LatencyCountsTheWaitForTheCommitPerKind) {
    ServerHarness h;
    const auto loc = h.register_client(kPeerA, "ep=lat"); // committed at once: 0 us
    h.receive(kPeerA, con(coap::code::post).mid(0x700).token("u").path("/rd/" + loc));
    h.now += std::chrono::microseconds(3500); // the commit takes 3.5 ms
    h.persist();
    EXPECT_EQ(h.expect_tx().code, coap::code::changed);
    h.receive(kPeerA, con(coap::code::delete_).mid(0x701).token("d").path("/rd/" + loc));
    h.now += std::chrono::milliseconds(20);
    h.persist();
    EXPECT_EQ(h.expect_tx().code, coap::code::deleted);
    // A refused request is not counted.
    h.receive(kPeerB, register_msg("lt=60"));
    EXPECT_EQ(h.expect_tx().code, coap::code::bad_request);

    const auto& l = h.engine->latency();
    EXPECT_EQ(l.registers.count(), 1U);
    EXPECT_EQ(l.registers.max_us(), 0U);
    EXPECT_EQ(l.updates.count(), 1U);
    EXPECT_EQ(l.updates.max_us(), 3500U);
    EXPECT_EQ(l.updates.quantile_us(0.99), 3500U);
    EXPECT_EQ(l.deregisters.count(), 1U);
    EXPECT_EQ(l.deregisters.max_us(), 20000U);
}

TEST(Durability, UpdatesOfOneClientCoalesceInOneBatch) {
    ServerHarness h;
    const auto loc = h.register_client(kPeerA, "ep=c");
    for (int i = 0; i < 3; ++i)
        h.receive(kPeerA, con(coap::code::post)
                              .mid(static_cast<coap::MessageId>(0x800 + i))
                              .token("u")
                              .path("/rd/" + loc)
                              .query("lt=" + std::to_string(100 + i)));
    std::vector<store::Change> batch;
    const auto seq = h.engine->take_changes(batch);
    ASSERT_EQ(batch.size(), 1U); // three updates, one put with the last state
    EXPECT_EQ(std::get<store::RegistrationPut>(batch[0].op).record.lifetime_s, 102U);
    ASSERT_TRUE(h.store.commit(batch));
    h.engine->on_persisted(h.now, seq);
    EXPECT_EQ(h.drain().size(), 3U);
}

TEST(Durability, AFailedCommitAnswers503AndDropsTheRegistration) {
    ServerHarness h;
    h.store.fail_commits(make_error_code(store::Errc::unavailable));
    h.receive(kPeerA, register_msg("ep=f"));
    h.persist();
    auto r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::service_unavailable);
    EXPECT_EQ(text_of(r), "the registration could not be stored; retry later");
    EXPECT_EQ(h.engine->registration_count(), 0U);
    auto ev = h.events_of<Deregistered>();
    ASSERT_EQ(ev.size(), 1U);
    EXPECT_EQ(ev[0].reason, DeregisterReason::not_durable);
    // The removal is journaled so that the store agrees once it works again.
    h.store.fail_commits(std::nullopt);
    std::vector<store::Change> batch;
    h.engine->take_changes(batch);
    ASSERT_EQ(batch.size(), 1U);
    EXPECT_TRUE(std::holds_alternative<store::RegistrationRemove>(batch[0].op));
}

TEST(Durability, TheOutcomeOverloadDispatches) {
    ServerHarness h;
    h.receive(kPeerA, register_msg("ep=ok"));
    std::vector<store::Change> batch;
    auto seq = h.engine->take_changes(batch);
    h.engine->on_persisted(h.now, seq, Result<void>{});
    EXPECT_EQ(h.expect_tx().code, coap::code::created);
    h.receive(kPeerB, register_msg("ep=ko"));
    seq = h.engine->take_changes(batch);
    h.engine->on_persisted(h.now, seq, Result<void>(fail(store::Errc::io_error)));
    EXPECT_EQ(h.expect_tx().code, coap::code::service_unavailable);
    EXPECT_FALSE(h.engine->registration("ko"));
}

TEST(Durability, WithoutHoldingResponsesGoAtOnce) {
    auto cfg = open_config();
    cfg.hold_until_persisted = false;
    ServerHarness h(cfg);
    h.receive(kPeerA, register_msg("ep=n"));
    EXPECT_EQ(h.expect_tx().code, coap::code::created);
    EXPECT_EQ(h.persist(), 1U); // still journaled
    cfg.journal = false;
    ServerHarness h2(cfg);
    h2.receive(kPeerA, register_msg("ep=n"));
    EXPECT_EQ(h2.expect_tx().code, coap::code::created);
    EXPECT_EQ(h2.persist(), 0U);
}

TEST(Restart, RegistrationsComeBackWithTheirLocationsAndRemainingLifetimes) {
    ServerHarness h;
    const auto loc =
        h.register_client(kPeerA, "ep=r1&lt=1000&lwm2m=1.1&Q", "</1/0>,</3>;ver=1.0,</3/0>");
    h.register_client(kPeerB, "ep=r2&lt=10");
    // A new engine process, 100 s later by the wall clock, on the same store.
    ServerHarness h2;
    h2.wall.t = h.wall.t + 100;
    auto n = h2.engine->restore(h2.now, h.store);
    ASSERT_TRUE(n) << n.error().message();
    EXPECT_EQ(*n, 1U); // r2 expired (10 + 30 < 100)
    auto restored = h2.events_of<Registered>();
    ASSERT_EQ(restored.size(), 1U);
    EXPECT_TRUE(restored[0].restored);
    EXPECT_EQ(restored[0].location, loc);
    auto info = h2.engine->registration("r1");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->expires_at, h2.now + 1000s + 30s - 100s);
    EXPECT_TRUE(info->queue_mode);
    EXPECT_EQ(info->version, dm::Lwm2mVersion::v1_1);
    // The expired one is journaled as a removal: the store forgets it at the next commit.
    std::vector<store::Change> batch;
    ASSERT_NE(h2.engine->take_changes(batch), 0U);
    ASSERT_EQ(batch.size(), 1U);
    EXPECT_EQ(std::get<store::RegistrationRemove>(batch[0].op).endpoint, "r2");
    ASSERT_TRUE(h.store.commit(batch));
    EXPECT_FALSE(*h.store.find("r2"));
    // The device carries on with Update on its old location.
    h2.receive(kPeerA, con(coap::code::post).mid(0x900).token("u").path("/rd/" + loc));
    h2.persist();
    EXPECT_EQ(h2.expect_tx().code, coap::code::changed);
    // restore() is refused once traffic flowed.
    EXPECT_FALSE(h2.engine->restore(h2.now, h.store));
}

TEST(Restart, TheRestoredModelKeepsExplicitObjectVersions) {
    ServerHarness h;
    h.register_client(kPeerA, "ep=v&lwm2m=1.1", "</1/0>,</3>;ver=1.0,</3/0>");
    ServerHarness h2;
    ASSERT_TRUE(h2.engine->restore(h2.now, h.store));
    const auto* model = h2.engine->model("v");
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(model->find(3)->object_version, "1.0");
    EXPECT_EQ(model->find(1)->object_version, "1.1"); // the 1.1 release's Server object
}

// ------------------------------------------------------------------ NoSec policies

TEST(NoSec, RefusedByDefault) {
    EngineConfig cfg; // NoSecPolicy::refuse
    ServerHarness h(cfg);
    h.receive(kPeerA, register_msg("ep=x"));
    auto r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::forbidden);
    EXPECT_EQ(text_of(r), "registration without security is not allowed");
}

TEST(NoSec, ListedOnlyForEndpointsWithANoSecRecord) {
    auto cfg = open_config();
    cfg.nosec = NoSecPolicy::listed;
    ServerHarness h(cfg);
    store::SecurityInfo n;
    n.endpoint = "listed";
    n.mode = store::SecurityMode::nosec;
    ASSERT_TRUE(h.security.put(n));
    h.receive(kPeerA, register_msg("ep=other"));
    auto r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::forbidden);
    EXPECT_EQ(text_of(r), "this endpoint may not register without security");
    EXPECT_FALSE(h.register_client(kPeerB, "ep=listed").empty());
}

TEST(NoSec, AnyButNeverAnEndpointThatHasCredentials) {
    ServerHarness h; // NoSecPolicy::any
    store::SecurityInfo p;
    p.endpoint = "secured";
    p.mode = store::SecurityMode::psk;
    p.psk_identity = to_bytes("id");
    p.psk_key = SecretBytes(as_bytes("0123456789abcdef"));
    ASSERT_TRUE(h.security.put(p));
    h.receive(kPeerA, register_msg("ep=secured"));
    auto r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::forbidden);
    EXPECT_EQ(text_of(r), "this endpoint must register over DTLS");
    EXPECT_FALSE(h.register_client(kPeerB, "ep=anyone").empty());
}

TEST(Limits, RegistrationLimitAnswers503ButReplacementsPass) {
    auto cfg = open_config();
    cfg.max_registrations = 1;
    ServerHarness h(cfg);
    h.register_client(kPeerA, "ep=one");
    h.receive(kPeerB, register_msg("ep=two"));
    auto r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::service_unavailable);
    EXPECT_EQ(text_of(r), "registration limit reached");
    EXPECT_FALSE(h.register_client(kPeerB, "ep=one", "</1/0>", 0x101).empty());
}

TEST(Routing, UnknownPathsAndMethods) {
    ServerHarness h;
    h.receive(kPeerA, con(coap::code::get).mid(1).token("a").path("/rd"));
    EXPECT_EQ(h.expect_tx().code, coap::code::method_not_allowed);
    h.receive(kPeerA, con(coap::code::post).mid(2).token("a").path("/bs"));
    EXPECT_EQ(h.expect_tx().code, coap::code::not_found);
    h.receive(kPeerA, con(coap::code::post).mid(3).token("a").path("/rd/a/b"));
    EXPECT_EQ(h.expect_tx().code, coap::code::not_found);
}

} // namespace
} // namespace lwm2m::server::test
