// Downlink requests of server::Engine against scripted clients (LwM2M TS 1.1 §6.3, §6.4): every
// operation with each content format, default format choice, observations (active and passive
// cancellation, notifications, re-registration), queue mode, limits and timeouts, Send, lenient
// decoding of what real clients serve, multi-socket routing and restored observations.
#include <gtest/gtest.h>

#include <algorithm>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/format/codec.hpp>

#include "lockstep/server/server_harness.hpp"

namespace lwm2m::server::test {
namespace {

using format::ContentFormat;
using lwm2m::test::ack;
using lwm2m::test::obs_value;

const dm::Path dev0{Oid{3}, Iid{0}};

dm::Content device_content() {
    dm::Instance i;
    i.id = 0;
    i.resources[0] = dm::Resource::single(0, dm::Value::string("ACME"));
    i.resources[9] = dm::Resource::single(9, dm::Value::integer(87));
    i.resources[6] =
        dm::Resource::multi(6, {{0, dm::Value::integer(1)}, {1, dm::Value::integer(5)}});
    return dm::Content{dev0, std::move(i)};
}

dm::ObjectDef temperature_def() {
    dm::ObjectDef o;
    o.id = 3303;
    o.name = "Temperature";
    o.object_version = "1.0";
    o.multiple = true;
    dm::ResourceDef v;
    v.id = 5700;
    v.name = "Sensor Value";
    v.type = dm::DataType::float_;
    v.operations = dm::Operations::r;
    dm::ResourceDef u;
    u.id = 5701;
    u.name = "Sensor Units";
    u.type = dm::DataType::string;
    u.operations = dm::Operations::r;
    o.resources = {v, u};
    return o;
}

EngineConfig test_config() {
    auto c = open_config();
    c.objects = {temperature_def()};
    return c;
}

Bytes encoded(ContentFormat f, const dm::Content& c) {
    auto b = format::encode(f, c);
    EXPECT_TRUE(b) << b.error().message();
    return b ? *b : Bytes{};
}

template <class E>
E only_event(ServerHarness& h) {
    auto ev = h.events_of<E>();
    if (ev.size() != 1) {
        ADD_FAILURE() << "expected one event, got " << ev.size();
        return E{};
    }
    return ev[0];
}

std::vector<std::string> queries(const coap::Message& m) {
    std::vector<std::string> q;
    for (const auto& o : m.options())
        if (o.number == coap::option::uri_query) q.emplace_back(as_string_view(o.value));
    return q;
}

// ------------------------------------------------------------------ Read in every format

class ReadFormats : public ::testing::TestWithParam<ContentFormat> {};

TEST_P(ReadFormats, AnswersAreDecodedByTheClientsModel) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=r&lwm2m=1.2");
    const ContentFormat f = GetParam();
    auto id = h.engine->send(h.now, "r", Request::read(dev0, f));
    ASSERT_TRUE(id) << id.error().message();
    auto req = h.expect_tx(&kPeerA);
    EXPECT_EQ(req.code, coap::code::get);
    EXPECT_EQ(req.path(), "/3/0");
    EXPECT_EQ(req.uint_option(coap::option::accept), static_cast<std::uint16_t>(f));
    h.now += 40ms;
    const Bytes payload = encoded(f, device_content());
    h.reply(kPeerA, req, coap::code::content, payload, static_cast<std::uint16_t>(f));
    auto ev = only_event<ResponseEvent>(h);
    EXPECT_EQ(ev.id, *id);
    EXPECT_EQ(ev.endpoint, "r");
    EXPECT_EQ(ev.op, Operation::read);
    EXPECT_EQ(ev.code, coap::code::content);
    EXPECT_EQ(ev.format, f);
    EXPECT_EQ(ev.payload_size, payload.size());
    EXPECT_EQ(ev.rtt, 40ms);
    EXPECT_FALSE(ev.decode_error) << ev.decode_error.message();
    ASSERT_TRUE(ev.content);
    EXPECT_EQ(*ev.content, device_content());
}

INSTANTIATE_TEST_SUITE_P(Formats, ReadFormats,
                         ::testing::Values(ContentFormat::lwm2m_tlv, ContentFormat::senml_json,
                                           ContentFormat::senml_cbor, ContentFormat::lwm2m_json,
                                           ContentFormat::lwm2m_cbor),
                         [](const auto& param_info) {
                             return std::to_string(static_cast<int>(param_info.param));
                         });

TEST(Read, TextAndOpaqueSingleValues) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=t&lwm2m=1.1", "</1/0>,</3/0>,</5/0>");
    ASSERT_TRUE(h.engine->send(
        h.now, "t", Request::read(dm::Path(Oid{3}, Iid{0}, Rid{0}), ContentFormat::text_plain)));
    auto req = h.expect_tx();
    h.reply(kPeerA, req, coap::code::content, to_bytes("ACME"), 0);
    auto ev = only_event<ResponseEvent>(h);
    ASSERT_TRUE(ev.content);
    EXPECT_EQ(std::get<dm::Resource>(ev.content->node).value, dm::Value::string("ACME"));
    ASSERT_TRUE(h.engine->send(h.now, "t", Request::read(dm::Path(Oid{5}, Iid{0}, Rid{0}))));
    req = h.expect_tx();
    EXPECT_FALSE(req.find(coap::option::accept)); // no ct=: the client chooses
    h.reply(kPeerA, req, coap::code::content, Bytes{std::byte{1}, std::byte{2}}, 42);
    ev = only_event<ResponseEvent>(h);
    ASSERT_TRUE(ev.content);
    EXPECT_EQ(std::get<dm::Resource>(ev.content->node).value,
              dm::Value::opaque(Bytes{std::byte{1}, std::byte{2}}));
}

TEST(Read, ASingleValueWithoutContentFormatIsTextInLenientModeOnly) {
    // lwm2m-node-lib's 1.0 client answers reads of single resources without Content-Format.
    for (bool strict : {false, true}) {
        auto cfg = test_config();
        cfg.strict = strict;
        ServerHarness h(cfg);
        h.register_client(kPeerA, "ep=n&lwm2m=1.0", "</3/0>");
        ASSERT_TRUE(h.engine->send(h.now, "n", Request::read(dm::Path(Oid{3}, Iid{0}, Rid{9}))));
        auto req = h.expect_tx();
        h.reply(kPeerA, req, coap::code::content, to_bytes("87"));
        auto ev = only_event<ResponseEvent>(h);
        EXPECT_EQ(ev.code, coap::code::content);
        if (strict) {
            EXPECT_FALSE(ev.content);
            EXPECT_EQ(ev.decode_error, make_error_code(format::Errc::unsupported_format));
            continue;
        }
        ASSERT_TRUE(ev.content) << ev.decode_error.message();
        EXPECT_EQ(ev.format, ContentFormat::text_plain);
        EXPECT_EQ(std::get<dm::Resource>(ev.content->node).value, dm::Value::integer(87));
        // An instance without Content-Format stays undecodable (no guess for several values).
        ASSERT_TRUE(h.engine->send(h.now, "n", Request::read(dm::Path(Oid{3}, Iid{0}))));
        req = h.expect_tx();
        h.reply(kPeerA, req, coap::code::content, to_bytes("87"));
        ev = only_event<ResponseEvent>(h);
        EXPECT_FALSE(ev.content);
        EXPECT_EQ(ev.decode_error, make_error_code(format::Errc::unsupported_format));
    }
}

TEST(Read, ErrorResponsesAreDataWithTheirDiagnostic) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=e");
    ASSERT_TRUE(h.engine->send(h.now, "e", Request::read(dm::Path(Oid{3303}))));
    auto req = h.expect_tx();
    h.reply(kPeerA, req, coap::code::not_found, to_bytes("no such object\x01"), 0);
    auto ev = only_event<ResponseEvent>(h);
    EXPECT_EQ(ev.code, coap::code::not_found);
    EXPECT_EQ(ev.diagnostic, "no such object?");
    EXPECT_FALSE(ev.content);
}

TEST(Read, AnUndecodablePayloadIsReportedNotDropped) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=u");
    ASSERT_TRUE(h.engine->send(h.now, "u", Request::read(dev0)));
    auto req = h.expect_tx();
    h.reply(kPeerA, req, coap::code::content, to_bytes("{not senml"),
            static_cast<std::uint16_t>(ContentFormat::senml_json));
    auto ev = only_event<ResponseEvent>(h);
    EXPECT_EQ(ev.code, coap::code::content);
    EXPECT_EQ(ev.decode_error, make_error_code(format::Errc::malformed));
    EXPECT_EQ(ev.payload_size, 10U);
}

// ------------------------------------------------------------------ default content formats

TEST(Formats, DefaultsFollowTheVersionAndTheDeclaredFormats) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=v10&lwm2m=1.0");
    h.register_client(kPeerB, "ep=v11&lwm2m=1.1", "</1/0>,</3/0>", 0x101);
    const auto peer_c = PeerAddr::v4(10, 0, 0, 3, 5683);
    h.register_client(peer_c, "ep=json&lwm2m=1.1", "</>;ct=110,</1/0>,</3/0>", 0x102);
    struct C {
        const char* ep;
        dm::Content content;
        std::uint16_t cf;
    };
    const dm::Content single{dm::Path(Oid{3}, Iid{0}, Rid{14}),
                             dm::Resource::single(14, dm::Value::string("+01"))};
    for (const auto& c :
         {C{"v10", device_content(), 11542}, C{"v10", single, 11542},
          C{"v11", device_content(), 112}, C{"v11", single, 0}, C{"json", device_content(), 110}}) {
        auto id = h.engine->send(h.now, c.ep, Request::write(c.content, false));
        ASSERT_TRUE(id) << c.ep << ": " << id.error().message();
        auto req = h.expect_tx();
        EXPECT_EQ(req.uint_option(coap::option::content_format), c.cf) << c.ep;
        EXPECT_EQ(req.code, coap::code::post) << c.ep; // partial update
        const std::string ep = c.ep;
        h.reply(ep == "v10" ? kPeerA : ep == "v11" ? kPeerB : peer_c, req, coap::code::changed);
        h.events();
    }
    // Reads: Accept only from declared formats.
    ASSERT_TRUE(h.engine->send(h.now, "json", Request::read(dev0)));
    EXPECT_EQ(h.expect_tx().uint_option(coap::option::accept), 110U);
    ASSERT_TRUE(h.engine->send(h.now, "v11", Request::read(dev0)));
    EXPECT_FALSE(h.expect_tx().find(coap::option::accept));
}

// ------------------------------------------------------------------ Write, Execute, Create...

TEST(Write, ReplaceEncodesTheContentInTheAskedFormat) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=w&lwm2m=1.1");
    for (auto f : {ContentFormat::lwm2m_tlv, ContentFormat::senml_json, ContentFormat::senml_cbor,
                   ContentFormat::lwm2m_json, ContentFormat::lwm2m_cbor}) {
        ASSERT_TRUE(h.engine->send(h.now, "w", Request::write(device_content(), true, f)));
        auto req = h.expect_tx();
        EXPECT_EQ(req.code, coap::code::put);
        EXPECT_EQ(req.path(), "/3/0");
        EXPECT_EQ(req.uint_option(coap::option::content_format), static_cast<std::uint16_t>(f));
        auto back = format::decode(f, req.payload, dev0, dm::ObjectRegistry::builtin());
        ASSERT_TRUE(back) << back.error().message();
        EXPECT_EQ(*back, device_content());
        h.reply(kPeerA, req, coap::code::changed);
        EXPECT_EQ(only_event<ResponseEvent>(h).code, coap::code::changed);
    }
    // A level the format cannot carry is refused before anything is sent.
    auto bad = h.engine->send(h.now, "w",
                              Request::write(device_content(), true, ContentFormat::text_plain));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), make_error_code(format::Errc::unsupported_level));
    h.expect_no_tx();
}

TEST(Execute, WithArgumentsAndRefusedArguments) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=x&lwm2m=1.1");
    ASSERT_TRUE(h.engine->send(h.now, "x",
                               Request::execute(dm::Path(Oid{3}, Iid{0}, Rid{4}), "0='fw_v2',1")));
    auto req = h.expect_tx();
    EXPECT_EQ(req.code, coap::code::post);
    EXPECT_EQ(req.path(), "/3/0/4");
    EXPECT_EQ(text_of(req), "0='fw_v2',1");
    EXPECT_EQ(req.uint_option(coap::option::content_format), 0U);
    h.reply(kPeerA, req, coap::code::changed);
    EXPECT_EQ(only_event<ResponseEvent>(h).op, Operation::execute);
    for (const char* bad : {"x", "0=abc", "0='a", "0,", "10='a'", "0='a b'"}) {
        auto r =
            h.engine->send(h.now, "x", Request::execute(dm::Path(Oid{3}, Iid{0}, Rid{4}), bad));
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), make_error_code(Errc::invalid_request)) << bad;
    }
    auto wrong_level = h.engine->send(h.now, "x", Request::execute(dev0));
    EXPECT_FALSE(wrong_level);
}

TEST(Create, PostsTheInstanceToTheObjectAndReportsTheLocation) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=c&lwm2m=1.0", "</1/0>,</3/0>,</3303>");
    dm::Instance inst;
    inst.id = 7;
    inst.resources[5701] = dm::Resource::single(5701, dm::Value::string("Cel"));
    ASSERT_TRUE(h.engine->send(h.now, "c",
                               Request::create(dm::Content{dm::Path(Oid{3303}, Iid{7}), inst})));
    auto req = h.expect_tx();
    EXPECT_EQ(req.code, coap::code::post);
    EXPECT_EQ(req.path(), "/3303");
    EXPECT_EQ(req.uint_option(coap::option::content_format), 11542U);
    auto back = format::decode(ContentFormat::lwm2m_tlv, req.payload, dm::Path(Oid{3303}),
                               *h.engine->model("c"));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(std::get<dm::Object>(back->node).instances.at(7), inst);
    coap::Message a;
    a.type = coap::Type::ack;
    a.code = coap::code::created;
    a.message_id = req.message_id;
    a.token = req.token;
    a.set_path("/3303/7", coap::option::location_path);
    h.receive(kPeerA, a);
    auto ev = only_event<ResponseEvent>(h);
    EXPECT_EQ(ev.code, coap::code::created);
    EXPECT_EQ(ev.location, "/3303/7");
    // Delete.
    ASSERT_TRUE(h.engine->send(h.now, "c", Request::delete_(dm::Path(Oid{3303}, Iid{7}))));
    req = h.expect_tx();
    EXPECT_EQ(req.code, coap::code::delete_);
    EXPECT_EQ(req.path(), "/3303/7");
    h.reply(kPeerA, req, coap::code::deleted);
    EXPECT_EQ(only_event<ResponseEvent>(h).code, coap::code::deleted);
    EXPECT_FALSE(h.engine->send(h.now, "c", Request::delete_(dm::Path(Oid{3303}))));
}

TEST(Discover, ReturnsTheLinks) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=d&lwm2m=1.1");
    ASSERT_TRUE(h.engine->send(h.now, "d", Request::discover(dev0)));
    auto req = h.expect_tx();
    EXPECT_EQ(req.code, coap::code::get);
    EXPECT_EQ(req.uint_option(coap::option::accept), 40U);
    h.reply(kPeerA, req, coap::code::content, to_bytes("</3/0>;pmin=10,</3/0/0>,</3/0/9>"), 40);
    auto ev = only_event<ResponseEvent>(h);
    ASSERT_EQ(ev.links.size(), 3U);
    EXPECT_EQ(ev.links[0].target, "/3/0");
    ASSERT_NE(ev.links[0].find("pmin"), nullptr);
    EXPECT_EQ(ev.format, ContentFormat::link_format);
}

TEST(WriteAttributes, QueryParametersAndValidation) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=a&lwm2m=1.1");
    ASSERT_TRUE(h.engine->send(h.now, "a",
                               Request::write_attributes(dm::Path(Oid{3}, Iid{0}, Rid{9}),
                                                         {{"pmin", "10", false},
                                                          {"pmax", "60", false},
                                                          {"gt", "50.5", false},
                                                          {"st", std::nullopt, false}})));
    auto req = h.expect_tx();
    EXPECT_EQ(req.code, coap::code::put);
    EXPECT_EQ(req.path(), "/3/0/9");
    EXPECT_EQ(queries(req), (std::vector<std::string>{"pmin=10", "pmax=60", "gt=50.5", "st"}));
    EXPECT_TRUE(req.payload.empty());
    h.reply(kPeerA, req, coap::code::changed);
    EXPECT_EQ(only_event<ResponseEvent>(h).op, Operation::write_attributes);
    for (auto attrs : {std::vector<format::LinkAttr>{{"pmin", "x", false}},
                       std::vector<format::LinkAttr>{{"color", "red", false}},
                       std::vector<format::LinkAttr>{}}) {
        auto r = h.engine->send(h.now, "a", Request::write_attributes(dev0, attrs));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), make_error_code(Errc::invalid_request));
    }
}

// ------------------------------------------------------------------ composite operations

TEST(Composite, ReadWriteAndTheirFormats) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=k&lwm2m=1.1");
    const std::vector<dm::Path> paths{dm::Path(Oid{3}, Iid{0}, Rid{0}),
                                      dm::Path(Oid{1}, Iid{0}, Rid{1})};
    for (auto f :
         {ContentFormat::senml_cbor, ContentFormat::senml_json, ContentFormat::lwm2m_cbor}) {
        ASSERT_TRUE(h.engine->send(h.now, "k", Request::read_composite(paths, f)));
        auto req = h.expect_tx();
        EXPECT_EQ(req.code, coap::code::fetch);
        EXPECT_EQ(req.path(), "/"); // the root: no Uri-Path
        EXPECT_EQ(req.uint_option(coap::option::content_format), static_cast<std::uint16_t>(f));
        EXPECT_EQ(req.uint_option(coap::option::accept), static_cast<std::uint16_t>(f));
        auto names = format::decode_records(f, req.payload, dm::ObjectRegistry::builtin());
        ASSERT_TRUE(names) << names.error().message();
        ASSERT_EQ(names->size(), 2U);
        for (const auto& p : paths)
            EXPECT_TRUE(std::any_of(names->begin(), names->end(), [&](const dm::Record& n) {
                return n.path == p && n.value.is_none();
            }));
        const std::vector<dm::Record> answer{{paths[0], dm::Value::string("ACME"), std::nullopt},
                                             {paths[1], dm::Value::integer(300), std::nullopt}};
        h.reply(kPeerA, req, coap::code::content, *format::encode_records(f, answer),
                static_cast<std::uint16_t>(f));
        auto ev = only_event<ResponseEvent>(h);
        EXPECT_EQ(ev.op, Operation::read_composite);
        EXPECT_FALSE(ev.decode_error) << ev.decode_error.message();
        auto sorted = ev.records;
        std::sort(sorted.begin(), sorted.end(),
                  [](const dm::Record& x, const dm::Record& y) { return x.path > y.path; });
        EXPECT_EQ(sorted, answer);
    }
    const std::vector<dm::Record> writes{
        {dm::Path(Oid{3}, Iid{0}, Rid{14}), dm::Value::string("+02"), std::nullopt},
        {dm::Path(Oid{1}, Iid{0}, Rid{1}), dm::Value::integer(60), std::nullopt}};
    ASSERT_TRUE(h.engine->send(h.now, "k", Request::write_composite(writes)));
    auto req = h.expect_tx();
    EXPECT_EQ(req.code, coap::code::ipatch);
    EXPECT_EQ(req.uint_option(coap::option::content_format), 112U); // SenML CBOR by default
    auto back = format::decode_records(ContentFormat::senml_cbor, req.payload,
                                       dm::ObjectRegistry::builtin());
    ASSERT_TRUE(back);
    std::sort(back->begin(), back->end(),
              [](const dm::Record& x, const dm::Record& y) { return x.path > y.path; });
    EXPECT_EQ(*back, writes);
    // Composite operations need LwM2M 1.1.
    h.register_client(kPeerB, "ep=old&lwm2m=1.0", "</1/0>,</3/0>", 0x101);
    auto r = h.engine->send(h.now, "old", Request::read_composite(paths));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::invalid_request));
}

// ------------------------------------------------------------------ observations

struct Observed {
    ObservationId id;
    coap::Token token;
};

Observed observe_battery(ServerHarness& h, const PeerAddr& peer, std::string_view ep) {
    auto id = h.engine->send(h.now, ep, Request::observe(dm::Path(Oid{3}, Iid{0}, Rid{9})));
    EXPECT_TRUE(id);
    auto req = h.expect_tx(&peer);
    EXPECT_EQ(obs_value(req), 0U);
    EXPECT_EQ(req.token.size(), 8U);
    const dm::Content v{dm::Path(Oid{3}, Iid{0}, Rid{9}),
                        dm::Resource::single(9, dm::Value::integer(80))};
    h.reply(peer, req, coap::code::content, encoded(ContentFormat::lwm2m_tlv, v), 11542, 1);
    auto ev = only_event<ResponseEvent>(h);
    EXPECT_EQ(ev.op, Operation::observe);
    EXPECT_NE(ev.observation.value, 0U);
    EXPECT_TRUE(ev.content);
    return {ev.observation, req.token};
}

TEST(Observe, NotificationsAreDecodedAndActiveCancelUsesTheToken) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=o&lwm2m=1.1");
    auto o = observe_battery(h, kPeerA, "o");
    auto obs = h.engine->observations("o");
    ASSERT_EQ(obs.size(), 1U);
    EXPECT_TRUE(obs[0].established);
    // Persisted with its token.
    h.persist();
    auto stored = h.store.observations("o");
    ASSERT_EQ(stored.size(), 1U);
    EXPECT_EQ(stored[0].id, o.id.value);
    EXPECT_EQ(stored[0].token, Bytes(o.token.view().begin(), o.token.view().end()));
    EXPECT_EQ(stored[0].paths, std::vector<std::string>{"/3/0/9"});

    h.receive(kPeerA, battery_notification(o.token, 2, 75, 0x7001));
    auto ackm = h.expect_tx(&kPeerA);
    EXPECT_EQ(ackm.type, coap::Type::ack);
    auto n = only_event<NotificationEvent>(h);
    EXPECT_EQ(n.id, o.id);
    EXPECT_EQ(n.seq, 2U);
    ASSERT_TRUE(n.content);
    EXPECT_EQ(std::get<dm::Resource>(n.content->node).value, dm::Value::integer(75));

    auto cancel = h.engine->cancel_observation(h.now, o.id);
    ASSERT_TRUE(cancel) << cancel.error().message();
    auto ended = only_event<ObservationEnded>(h);
    EXPECT_EQ(ended.reason, ObservationEndReason::cancelled);
    auto req = h.expect_tx(&kPeerA);
    EXPECT_EQ(req.code, coap::code::get);
    EXPECT_EQ(obs_value(req), 1U);
    EXPECT_EQ(req.token, o.token);
    EXPECT_EQ(req.path(), "/3/0/9");
    h.reply(kPeerA, req, coap::code::content,
            encoded(ContentFormat::lwm2m_tlv,
                    dm::Content{dm::Path(Oid{3}, Iid{0}, Rid{9}),
                                dm::Resource::single(9, dm::Value::integer(74))}),
            11542);
    auto ev = only_event<ResponseEvent>(h);
    EXPECT_EQ(ev.op, Operation::cancel_observation);
    EXPECT_TRUE(h.engine->observations("o").empty());
    h.persist();
    EXPECT_TRUE(h.store.observations("o").empty());
    // A late notification is answered with RST (RFC 7641 §3.6).
    h.receive(kPeerA, battery_notification(o.token, 3, 70, 0x7002));
    EXPECT_EQ(h.expect_tx().type, coap::Type::rst);
    EXPECT_TRUE(h.events_of<NotificationEvent>().empty());
}

TEST(Observe, PassiveCancelForgetsAndTheNextNotificationGetsRst) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=p&lwm2m=1.1");
    auto o = observe_battery(h, kPeerA, "p");
    ASSERT_TRUE(h.engine->forget_observation(h.now, o.id));
    h.expect_no_tx();
    EXPECT_EQ(only_event<ObservationEnded>(h).reason, ObservationEndReason::cancelled);
    h.receive(kPeerA, battery_notification(o.token, 2, 1, 0x7101));
    EXPECT_EQ(h.expect_tx().type, coap::Type::rst);
    EXPECT_FALSE(h.engine->forget_observation(h.now, o.id));
    EXPECT_EQ(h.engine->cancel_observation(h.now, o.id).error(),
              make_error_code(Errc::unknown_observation));
}

TEST(Observe, ReRegistrationEndsObservations) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=rr&lwm2m=1.1");
    auto o = observe_battery(h, kPeerA, "rr");
    h.receive(kPeerA, register_msg("ep=rr&lwm2m=1.1", "</1/0>,</3/0>", 0x120));
    auto ended = only_event<ObservationEnded>(h);
    EXPECT_EQ(ended.id, o.id);
    EXPECT_EQ(ended.reason, ObservationEndReason::registration);
    h.persist();
    h.drain();
    h.events();
    EXPECT_TRUE(h.store.observations("rr").empty());
    h.receive(kPeerA, battery_notification(o.token, 5, 1, 0x7201));
    EXPECT_EQ(h.expect_tx().type, coap::Type::rst);
}

TEST(Observe, AnErrorNotificationEndsTheObservation) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=en&lwm2m=1.1");
    auto o = observe_battery(h, kPeerA, "en");
    auto n = battery_notification(o.token, 2, 1, 0x7301);
    n.code = coap::code::not_found;
    n.payload.clear();
    n.remove_option(coap::option::content_format);
    h.receive(kPeerA, n);
    EXPECT_EQ(only_event<ObservationEnded>(h).reason, ObservationEndReason::error);
    EXPECT_TRUE(h.engine->observations("en").empty());
}

TEST(Observe, AResponseWithoutObserveEstablishesNothing) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=no&lwm2m=1.1");
    ASSERT_TRUE(h.engine->send(h.now, "no", Request::observe(dm::Path(Oid{3}, Iid{0}, Rid{9}))));
    auto req = h.expect_tx();
    h.reply(kPeerA, req, coap::code::content, to_bytes("5"), 0);
    auto ev = only_event<ResponseEvent>(h);
    EXPECT_EQ(ev.observation.value, 0U);
    EXPECT_TRUE(ev.content);
    EXPECT_TRUE(h.engine->observations("no").empty());
}

TEST(Observe, CompositeObservationAndItsCancellation) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=oc&lwm2m=1.1");
    const std::vector<dm::Path> paths{dm::Path(Oid{3}, Iid{0}, Rid{9}),
                                      dm::Path(Oid{3}, Iid{0}, Rid{13})};
    ASSERT_TRUE(
        h.engine->send(h.now, "oc", Request::observe_composite(paths, ContentFormat::senml_json)));
    auto req = h.expect_tx();
    EXPECT_EQ(req.code, coap::code::fetch);
    EXPECT_EQ(obs_value(req), 0U);
    const std::vector<dm::Record> v1{{paths[0], dm::Value::integer(50), std::nullopt},
                                     {paths[1], dm::Value::time(1000), std::nullopt}};
    h.reply(kPeerA, req, coap::code::content,
            *format::encode_records(ContentFormat::senml_json, v1), 110, 1);
    auto ev = only_event<ResponseEvent>(h);
    ASSERT_NE(ev.observation.value, 0U);
    EXPECT_EQ(ev.records, v1);
    coap::Message n;
    n.type = coap::Type::non;
    n.code = coap::code::content;
    n.message_id = 0x7401;
    n.token = req.token;
    n.add_uint_option(coap::option::observe, 2);
    n.add_uint_option(coap::option::content_format, 110);
    const std::vector<dm::Record> v2{{paths[0], dm::Value::integer(49), std::nullopt}};
    n.payload = *format::encode_records(ContentFormat::senml_json, v2);
    h.receive(kPeerA, n);
    auto note = only_event<NotificationEvent>(h);
    EXPECT_EQ(note.records, v2);
    ASSERT_TRUE(h.engine->cancel_observation(h.now, ev.observation));
    auto c = h.expect_tx();
    EXPECT_EQ(c.code, coap::code::fetch);
    EXPECT_EQ(obs_value(c), 1U);
    EXPECT_EQ(c.token, req.token);
    EXPECT_EQ(c.payload, req.payload);
    h.reply(kPeerA, c, coap::code::content);
    bool response = false;
    for (auto& e : h.events())
        if (auto* r = std::get_if<ResponseEvent>(&e))
            response = r->op == Operation::cancel_observe_composite;
    EXPECT_TRUE(response);
}

TEST(Observe, LimitPerClient) {
    auto cfg = test_config();
    cfg.max_observations = 1;
    ServerHarness h(cfg);
    h.register_client(kPeerA, "ep=lim&lwm2m=1.1");
    observe_battery(h, kPeerA, "lim");
    auto r = h.engine->send(h.now, "lim", Request::observe(dev0));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(lwm2m::Errc::limit_exceeded));
}

// ------------------------------------------------------------------ queue mode and limits

TEST(QueueMode, RequestsWaitForTheClientAndGoOutAfterItsUpdate) {
    ServerHarness h(test_config());
    const auto loc = h.register_client(kPeerA, "ep=q&lwm2m=1.1&Q");
    // Just registered: awake for MAX_TRANSMIT_WAIT (93 s by default).
    ASSERT_TRUE(h.engine->send(h.now, "q", Request::read(dev0)));
    auto req = h.expect_tx();
    h.reply(kPeerA, req, coap::code::content, to_bytes("x"), 0);
    h.events();
    h.advance(94s); // asleep now
    auto id = h.engine->send(h.now, "q", Request::read(dev0));
    ASSERT_TRUE(id);
    h.expect_no_tx();
    EXPECT_EQ(h.engine->stats().queued_requests, 1U);
    // The client wakes up with an Update: the queued request goes out after the 2.04.
    h.advance(10s);
    h.receive(kPeerA, con(coap::code::post).mid(0x150).token("u").path("/rd/" + loc));
    h.expect_no_tx(); // 2.04 held until durable, the request waits for it
    h.persist();
    auto out = h.drain();
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(out[0].second.code, coap::code::changed);
    EXPECT_EQ(out[1].second.code, coap::code::get);
    h.reply(kPeerA, out[1].second, coap::code::content, to_bytes("y"), 0);
    auto ev = h.events_of<ResponseEvent>();
    ASSERT_EQ(ev.size(), 1U);
    EXPECT_EQ(ev[0].id, *id);
}

TEST(QueueMode, AQueuedRequestTimesOutInTheQueue) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=qt&lwm2m=1.0&b=UQ");
    EXPECT_TRUE(h.engine->registration("qt")->queue_mode);
    h.advance(100s);
    Request r = Request::read(dev0);
    r.timeout = 30s;
    auto id = h.engine->send(h.now, "qt", r);
    ASSERT_TRUE(id);
    h.advance(29s);
    EXPECT_TRUE(h.events_of<RequestFailed>().empty());
    h.advance(1s);
    auto f = h.events_of<RequestFailed>();
    ASSERT_EQ(f.size(), 1U);
    EXPECT_EQ(f[0].id, *id);
    EXPECT_EQ(f[0].error, make_error_code(Errc::timeout));
    h.expect_no_tx();
    EXPECT_EQ(h.engine->stats().queued_requests, 0U);
}

TEST(QueueMode, ANotificationOrSendWakesTheClient) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=qn&lwm2m=1.1&Q");
    auto o = observe_battery(h, kPeerA, "qn");
    h.advance(100s);
    ASSERT_TRUE(h.engine->send(h.now, "qn", Request::read(dev0)));
    h.expect_no_tx();
    h.receive(kPeerA, battery_notification(o.token, 2, 10, 0x7501));
    auto out = h.drain();
    ASSERT_EQ(out.size(), 2U); // the ACK of the notification, then the queued GET
    EXPECT_EQ(out[0].second.type, coap::Type::ack);
    EXPECT_EQ(out[1].second.code, coap::code::get);
}

TEST(Limits, InFlightRequestsPerClientAndQueueFull) {
    auto cfg = test_config();
    cfg.max_inflight_requests = 2;
    cfg.max_queued_requests = 3;
    ServerHarness h(cfg);
    h.register_client(kPeerA, "ep=f&lwm2m=1.1");
    // The CoAP layer sends one request at a time (NSTART 1) but takes the others in its queue;
    // the engine hands over at most max_inflight_requests.
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(h.engine->send(h.now, "f", Request::read(dev0))) << i;
    auto r = h.engine->send(h.now, "f", Request::read(dev0));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::queue_full));
    EXPECT_EQ(h.engine->stats().queued_requests, 3U);
    auto req = h.expect_tx();
    h.expect_no_tx();
    h.reply(kPeerA, req, coap::code::content, to_bytes("1"), 0);
    EXPECT_EQ(h.engine->stats().queued_requests, 2U);
}

TEST(Timeouts, ARequestWithoutAnswerFailsAtItsTimeout) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=t&lwm2m=1.1");
    Request r = Request::read(dev0);
    r.timeout = 20s;
    auto id = h.engine->send(h.now, "t", r);
    ASSERT_TRUE(id);
    h.expect_tx();
    h.advance(10s);
    h.drain(); // retransmissions
    EXPECT_TRUE(h.events_of<RequestFailed>().empty());
    h.advance(10s);
    auto f = h.events_of<RequestFailed>();
    ASSERT_EQ(f.size(), 1U);
    EXPECT_EQ(f[0].error, make_error_code(Errc::timeout));
    // A late answer is ignored (the CoAP exchange was cancelled).
    h.drain();
    h.events();
    EXPECT_EQ(h.engine->stats().requests_sent, 1U);
}

TEST(Timeouts, TheCoapLayerGivingUpFailsTheRequest) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=g&lwm2m=1.1");
    Request r = Request::read(dev0);
    r.timeout = 600s;
    ASSERT_TRUE(h.engine->send(h.now, "g", r));
    h.advance(200s); // MAX_TRANSMIT_WAIT 93 s
    auto f = h.events_of<RequestFailed>();
    ASSERT_EQ(f.size(), 1U);
    EXPECT_EQ(f[0].error, make_error_code(coap::Errc::timeout));
}

TEST(Requests, CancelDeregistrationAndUnknownEndpoints) {
    ServerHarness h(test_config());
    const auto loc = h.register_client(kPeerA, "ep=c&lwm2m=1.1");
    auto r = h.engine->send(h.now, "nobody", Request::read(dev0));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::not_registered));
    auto a = h.engine->send(h.now, "c", Request::read(dev0));
    auto b = h.engine->send(h.now, "c", Request::read(dev0));
    ASSERT_TRUE(a && b);
    h.expect_tx();
    ASSERT_TRUE(h.engine->cancel(h.now, *b)); // still queued
    auto f = h.events_of<RequestFailed>();
    ASSERT_EQ(f.size(), 1U);
    EXPECT_EQ(f[0].id, *b);
    EXPECT_EQ(f[0].error, make_error_code(Errc::cancelled));
    EXPECT_FALSE(h.engine->cancel(h.now, *b));
    // De-register with a request in flight: it fails with deregistered.
    h.receive(kPeerA, con(coap::code::delete_).mid(0x160).token("d").path("/rd/" + loc));
    f = h.events_of<RequestFailed>();
    ASSERT_EQ(f.size(), 1U);
    EXPECT_EQ(f[0].id, *a);
    EXPECT_EQ(f[0].error, make_error_code(Errc::deregistered));
}

TEST(Requests, NothingGoesOutBeforeTheRegisterIsDurable) {
    ServerHarness h(test_config());
    h.receive(kPeerA, register_msg("ep=early&lwm2m=1.1"));
    ASSERT_TRUE(h.engine->send(h.now, "early", Request::read(dev0)));
    h.expect_no_tx();
    h.persist();
    auto out = h.drain();
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(out[0].second.code, coap::code::created);
    EXPECT_EQ(out[1].second.code, coap::code::get);
}

// ------------------------------------------------------------------ Send

TEST(Send, DeliversTheRecordsAndAnswers204) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=s&lwm2m=1.1", "</1/0>,</3/0>,</3303/0>");
    const std::vector<dm::Record> recs{
        {dm::Path(Oid{3303}, Iid{0}, Rid{5700}), dm::Value::float_(21.5), 1.7e9},
        {dm::Path(Oid{3303}, Iid{0}, Rid{5700}), dm::Value::float_(22.0), 1.7e9 + 60}};
    auto m = con(coap::code::post)
                 .mid(0x170)
                 .token("s")
                 .path("/dp")
                 .uint(coap::option::content_format, 112)
                 .payload(*format::encode_records(ContentFormat::senml_cbor, recs))
                 .build();
    h.receive(kPeerA, m);
    EXPECT_EQ(h.expect_tx().code, coap::code::changed);
    auto ev = only_event<SendEvent>(h);
    EXPECT_EQ(ev.endpoint, "s");
    EXPECT_EQ(ev.format, ContentFormat::senml_cbor);
    EXPECT_EQ(ev.records, recs);
    // From a peer without registration: 4.04; in TLV: 4.00; undecodable: 4.00.
    h.receive(kPeerB, con(coap::code::post)
                          .mid(0x171)
                          .token("s")
                          .path("/dp")
                          .uint(coap::option::content_format, 112)
                          .payload(Bytes{})
                          .build());
    auto r = h.expect_tx(&kPeerB);
    EXPECT_EQ(r.code, coap::code::not_found);
    EXPECT_EQ(text_of(r), "no registration for this client");
    h.receive(kPeerA, con(coap::code::post)
                          .mid(0x172)
                          .token("s")
                          .path("/dp")
                          .uint(coap::option::content_format, 11542)
                          .payload("x")
                          .build());
    r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::bad_request);
    EXPECT_EQ(text_of(r), "Send needs SenML JSON, SenML CBOR or LwM2M CBOR");
    h.receive(kPeerA, con(coap::code::post)
                          .mid(0x173)
                          .token("s")
                          .path("/dp")
                          .uint(coap::option::content_format, 110)
                          .payload("[{")
                          .build());
    r = h.expect_tx();
    EXPECT_EQ(r.code, coap::code::bad_request);
    EXPECT_EQ(text_of(r).rfind("payload: ", 0), 0U);
    EXPECT_TRUE(h.events_of<SendEvent>().empty());
}

// ------------------------------------------------------------------ lenient decoding

Bytes server_instance_tlv() {
    // Server Object instance: 0 SSID=1 (1 byte), 1 lifetime=300 (2 bytes), 23 Mute Send=true
    // (defined in Server 1.1, not 1.0), 999 (defined by no version).
    return Bytes{std::byte{0xC1}, std::byte{0x00}, std::byte{0x01},                   // /1/0/0
                 std::byte{0xC2}, std::byte{0x01}, std::byte{0x01}, std::byte{0x2C},  // /1/0/1
                 std::byte{0xC1}, std::byte{0x17}, std::byte{0x01},                   // /1/0/23
                 std::byte{0xE1}, std::byte{0x03}, std::byte{0xE7}, std::byte{0x09}}; // /1/0/999
}

TEST(Lenient, A10ClientServingServerObject11Resources) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=legacy&lwm2m=1.0");
    EXPECT_EQ(h.engine->model("legacy")->find(1)->object_version, "1.0");
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(h.engine->send(h.now, "legacy", Request::read(dm::Path(Oid{1}, Iid{0}))));
        auto req = h.expect_tx();
        h.reply(kPeerA, req, coap::code::content, server_instance_tlv(), 11542);
        auto ev = only_event<ResponseEvent>(h);
        EXPECT_FALSE(ev.decode_error) << ev.decode_error.message();
        ASSERT_TRUE(ev.content);
        const auto& inst = std::get<dm::Instance>(ev.content->node);
        EXPECT_EQ(inst.resources.at(1).value, dm::Value::integer(300));
        EXPECT_EQ(inst.resources.at(23).value, dm::Value::boolean(true)); // typed by Server 1.1
        EXPECT_EQ(inst.resources.at(999).value, dm::Value::opaque(Bytes{std::byte{9}})); // untyped
    }
    // Said once per client, not per response.
    const auto log = h.log.all();
    const auto first = log.find("not in the object version it registered");
    ASSERT_NE(first, std::string::npos) << log;
    EXPECT_EQ(log.find("not in the object version it registered", first + 1), std::string::npos);
    EXPECT_NE(log.find("defined by no known version of the object"), std::string::npos) << log;
}

TEST(Lenient, StrictModeReportsTheUnknownResource) {
    auto cfg = test_config();
    cfg.strict = true;
    ServerHarness h(cfg);
    h.register_client(kPeerA, "ep=strict&lwm2m=1.0");
    ASSERT_TRUE(h.engine->send(h.now, "strict", Request::read(dm::Path(Oid{1}, Iid{0}))));
    auto req = h.expect_tx();
    h.reply(kPeerA, req, coap::code::content, server_instance_tlv(), 11542);
    auto ev = only_event<ResponseEvent>(h);
    EXPECT_EQ(ev.decode_error, make_error_code(format::Errc::unknown_resource));
    EXPECT_FALSE(ev.content);
}

TEST(Lenient, SenmlVdInStandardBase64) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=b64&lwm2m=1.1", "</1/0>,</3/0>,</5/0>");
    ASSERT_TRUE(h.engine->send(h.now, "b64", Request::read(dm::Path(Oid{5}, Iid{0}, Rid{0}))));
    auto req = h.expect_tx();
    h.reply(kPeerA, req, coap::code::content, to_bytes(R"([{"bn":"/5/0/0","vd":"+/8="}])"), 110);
    auto ev = only_event<ResponseEvent>(h);
    EXPECT_FALSE(ev.decode_error) << ev.decode_error.message();
    ASSERT_TRUE(ev.content);
    EXPECT_EQ(std::get<dm::Resource>(ev.content->node).value,
              dm::Value::opaque(Bytes{std::byte{0xFB}, std::byte{0xFF}}));
}

TEST(Models, ObjectVersionsFromVerAttributes) {
    ServerHarness h(test_config());
    h.register_client(kPeerA, "ep=m11&lwm2m=1.1", "</1/0>,</3>;ver=1.0,</3/0>");
    h.register_client(kPeerB, "ep=m12&lwm2m=1.2", "</1/0>,</3/0>", 0x101);
    EXPECT_EQ(h.engine->model("m11")->find(3)->object_version, "1.0");
    EXPECT_EQ(h.engine->model("m11")->find(1)->object_version, "1.1");
    EXPECT_EQ(h.engine->model("m12")->find(1)->object_version, "1.2");
    EXPECT_EQ(h.engine->model("m12")->find(3303)->object_version, "1.0"); // DDF objects too
    // Identical choices share one model.
    const auto peer_c = PeerAddr::v4(10, 0, 0, 3, 5683);
    h.register_client(peer_c, "ep=m11b&lwm2m=1.1", "</1/0>,</3>;ver=1.0,</3/0>", 0x102);
    EXPECT_EQ(h.engine->model("m11"), h.engine->model("m11b"));
    EXPECT_EQ(h.engine->stats().object_sets, 2U);
}

// ------------------------------------------------------------------ multiple sockets

TEST(Sockets, RepliesAndRequestsLeaveFromTheClientsListener) {
    auto cfg = test_config();
    cfg.listeners.push_back(cfg.listeners[0]); // a second NoSec port
    ServerHarness h(cfg);
    h.receive(kPeerA, register_msg("ep=s1&lwm2m=1.1"), 1);
    h.persist();
    auto resp = h.expect_tx(&kPeerA);
    EXPECT_EQ(resp.code, coap::code::created);
    EXPECT_EQ(h.last_socket, 1U);
    EXPECT_EQ(h.engine->registration("s1")->socket, 1U);
    ASSERT_TRUE(h.engine->send(h.now, "s1", Request::read(dev0)));
    auto req = h.expect_tx(&kPeerA);
    EXPECT_EQ(h.last_socket, 1U);
    coap::Message a;
    a.type = coap::Type::ack;
    a.code = coap::code::content;
    a.message_id = req.message_id;
    a.token = req.token;
    h.receive(kPeerA, a, 1);
    EXPECT_EQ(h.events_of<ResponseEvent>().size(), 1U);
    // The same address on socket 0 is another client as far as CoAP goes.
    h.receive(kPeerA,
              con(coap::code::post)
                  .mid(0x180)
                  .token("s")
                  .path("/dp")
                  .uint(coap::option::content_format, 110)
                  .payload("[]")
                  .build(),
              0);
    EXPECT_EQ(h.expect_tx().code, coap::code::not_found);
    EXPECT_EQ(h.last_socket, 0U);
}

// ------------------------------------------------------------------ restart with observations

TEST(Restart, ObservationsAreReEstablishedWithTheirTokensAtTheNextContact) {
    ServerHarness h(test_config());
    const auto loc = h.register_client(kPeerA, "ep=ro&lwm2m=1.1");
    auto o = observe_battery(h, kPeerA, "ro");
    h.persist();
    ServerHarness h2(test_config());
    ASSERT_TRUE(h2.engine->restore(h2.now, h.store));
    auto obs = h2.engine->observations("ro");
    ASSERT_EQ(obs.size(), 1U);
    EXPECT_EQ(obs[0].id, o.id);
    EXPECT_FALSE(obs[0].established);
    h2.events();
    // Until the client shows up nothing is sent; at its Update the observe request goes again.
    h2.expect_no_tx();
    h2.receive(kPeerA, con(coap::code::post).mid(0x190).token("u").path("/rd/" + loc));
    h2.persist();
    auto out = h2.drain();
    ASSERT_EQ(out.size(), 2U);
    EXPECT_EQ(out[0].second.code, coap::code::changed);
    const auto& again = out[1].second;
    EXPECT_EQ(again.code, coap::code::get);
    EXPECT_EQ(obs_value(again), 0U);
    EXPECT_EQ(again.token, o.token);
    EXPECT_EQ(again.path(), "/3/0/9");
    const dm::Content v{dm::Path(Oid{3}, Iid{0}, Rid{9}),
                        dm::Resource::single(9, dm::Value::integer(66))};
    h2.reply(kPeerA, again, coap::code::content, encoded(ContentFormat::lwm2m_tlv, v), 11542, 9);
    auto n = only_event<NotificationEvent>(h2);
    EXPECT_EQ(n.id, o.id);
    ASSERT_TRUE(n.content);
    EXPECT_EQ(*n.content, v);
    EXPECT_TRUE(h2.engine->observations("ro")[0].established);
    // Later notifications under the same token are delivered.
    h2.receive(kPeerA, battery_notification(o.token, 10, 65, 0x7601));
    h2.drain();
    EXPECT_EQ(h2.events_of<NotificationEvent>().size(), 1U);
}

TEST(Events, ToEventRecordNamesKindsAndNeverValues) {
    auto rec = to_event_record(
        Registered{"ep", "1aa", dm::Lwm2mVersion::v1_1, 60, true, kPeerA, 0, false, false}, 5);
    EXPECT_EQ(rec.kind, "registered");
    EXPECT_EQ(rec.endpoint, "ep");
    EXPECT_EQ(rec.time, 5);
    EXPECT_NE(rec.detail.find("lifetime 60 s"), std::string::npos);
    SendEvent s{"ep",
                ContentFormat::senml_cbor,
                {{dev0, dm::Value::string("secret-ish"), std::nullopt}},
                40};
    rec = to_event_record(s, 6);
    EXPECT_EQ(rec.kind, "send");
    EXPECT_EQ(rec.detail.find("secret-ish"), std::string::npos);
}

} // namespace
} // namespace lwm2m::server::test
