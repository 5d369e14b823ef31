// Object 0 rules of docs/security-object.md, one test per rule (resource table, PSK sizes, secrecy,
// Bootstrap-Delete, Bootstrap-Discover).
#include <gtest/gtest.h>

#include <lwm2m/client/security_object.hpp>
#include <lwm2m/client/server_uri.hpp>

#include "unit/client/test_configs.hpp"

namespace lwm2m::client {
namespace {

using test::bootstrap_account;
using test::bytes_of;
using test::psk_account;
using test::res;

const dm::Path kObj{Oid{0}};
dm::Path inst(std::uint16_t i) {
    return dm::Path{Oid{0}, Iid{i}};
}
dm::Path rpath(std::uint16_t i, std::uint16_t r) {
    return dm::Path{Oid{0}, Iid{i}, Rid{r}};
}

class SecurityObjectTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(obj.write(Actor::bootstrap_server(), inst(0),
                              test::content(inst(0), bootstrap_account(0)), WriteMode::replace));
        ASSERT_TRUE(
            obj.write(Actor::bootstrap_server(), inst(1),
                      test::content(inst(1), psk_account(1, 101, to_bytes("id"), bytes_of(16, 3))),
                      WriteMode::replace));
    }
    /// Writes one resource of /0/1 as the bootstrap server.
    Result<void> put(std::uint16_t rid, dm::Value v) {
        return obj.write(Actor::bootstrap_server(), rpath(1, rid),
                         test::content(rpath(1, rid), res(rid, std::move(v))), WriteMode::replace);
    }
    static void expect_400(const Result<void>& r) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), make_error_code(Status::bad_request));
    }
    SecurityObject obj;
};

TEST_F(SecurityObjectTest, Resource0_ServerUriMustParseAndBeAtMost255Bytes) {
    EXPECT_TRUE(put(0, dm::Value::string("coaps://[2001:db8::2]:5700")));
    EXPECT_EQ(obj.find(Iid{1})->server_uri, "coaps://[2001:db8::2]:5700");
    // The 255-byte cap itself: short labels keep every DNS rule (63-byte labels, 253-byte names)
    // satisfied, so only the size decides. "coaps://" (8) + host + ":5684" (5).
    auto uri_of_size = [](std::size_t n) {
        std::string host = "ab"; // then ".a" pairs: any length >= 2
        const std::size_t host_size = n - 13;
        if (host_size % 2 == 1) host = "a";
        while (host.size() < host_size)
            host += ".a";
        EXPECT_TRUE(is_valid_hostname(host)) << host.size();
        return "coaps://" + host + ":5684";
    };
    const std::string at_cap = uri_of_size(max_server_uri_size);
    const std::string over_cap = uri_of_size(max_server_uri_size + 1);
    ASSERT_EQ(at_cap.size(), 255u);
    ASSERT_EQ(over_cap.size(), 256u);
    EXPECT_TRUE(put(0, dm::Value::string(at_cap)));
    EXPECT_EQ(obj.find(Iid{1})->server_uri, at_cap);
    expect_400(put(0, dm::Value::string(over_cap)));
    EXPECT_EQ(obj.find(Iid{1})->server_uri, at_cap); // unchanged by the failure
    EXPECT_TRUE(put(0, dm::Value::string("coaps://[2001:db8::2]:5700")));
    expect_400(put(0, dm::Value::string("coap+tcp://server.example")));
    expect_400(put(0, dm::Value::string("not a uri")));
    expect_400(put(0, dm::Value::integer(5684)));
    EXPECT_EQ(obj.find(Iid{1})->server_uri, "coaps://[2001:db8::2]:5700"); // unchanged by failures
}

TEST_F(SecurityObjectTest, Resource1_BootstrapServerIsABoolean) {
    EXPECT_TRUE(put(1, dm::Value::boolean(true)));
    EXPECT_TRUE(obj.find(Iid{1})->is_bootstrap());
    expect_400(put(1, dm::Value::integer(1)));
    expect_400(put(1, dm::Value::string("true")));
}

TEST_F(SecurityObjectTest, Resource2_SecurityModeIs0To4Else400) {
    for (int m = 0; m <= 4; ++m) {
        EXPECT_TRUE(put(2, dm::Value::integer(m))) << m;
        EXPECT_EQ(static_cast<int>(*obj.find(Iid{1})->security_mode), m);
    }
    EXPECT_TRUE(put(2, dm::Value::unsigned_integer(1)));
    expect_400(put(2, dm::Value::integer(5)));
    expect_400(put(2, dm::Value::integer(-1)));
    expect_400(put(2, dm::Value::integer(255)));
}

TEST_F(SecurityObjectTest, Resource3_PskIdentityIsBinarySafeAtSizes1_128_129NeverTruncated) {
    for (std::size_t n :
         {std::size_t{1}, std::size_t{128}, std::size_t{129}, max_psk_identity_size}) {
        Bytes id = bytes_of(n, 0); // starts with a NUL byte and contains more of them
        id[n / 2] = std::byte{0};
        ASSERT_TRUE(put(3, dm::Value::opaque(id))) << n;
        EXPECT_EQ(obj.find(Iid{1})->public_key_or_identity, id) << n;
        const auto back = obj.read(Actor::local_app(), rpath(1, 3));
        ASSERT_TRUE(back);
        EXPECT_EQ(std::get<dm::Resource>(back->node).value.as_opaque(), id) << n;
    }
    // A UTF-8 string-typed identity (RFC 4279 §5.1) is stored as its bytes.
    ASSERT_TRUE(put(3, dm::Value::string("client-\xc3\xa9")));
    EXPECT_EQ(obj.find(Iid{1})->public_key_or_identity, to_bytes("client-\xc3\xa9"));
    // Over the PSK identity cap in PSK mode: rejected, the old value stays (never truncated).
    expect_400(put(3, dm::Value::opaque(bytes_of(max_psk_identity_size + 1, 1))));
    EXPECT_EQ(obj.find(Iid{1})->public_key_or_identity, to_bytes("client-\xc3\xa9"));
}

TEST_F(SecurityObjectTest, Resource5_PskKeyOf1And64BytesStoredExactly65Rejected) {
    for (std::size_t n : {std::size_t{1}, std::size_t{16}, std::size_t{64}}) {
        const Bytes key = bytes_of(n, 9);
        ASSERT_TRUE(put(5, dm::Value::opaque(key))) << n;
        EXPECT_TRUE(obj.find(Iid{1})->secret_key.equals(key)) << n;
        EXPECT_EQ(obj.find(Iid{1})->secret_key.size(), n);
    }
    expect_400(put(5, dm::Value::opaque(bytes_of(65, 9)))); // PSK mode: > 64 bytes
    EXPECT_EQ(obj.find(Iid{1})->secret_key.size(), 64u);
    EXPECT_TRUE(obj.find(Iid{1})->secret_key.equals(bytes_of(64, 9)));
    // In Certificate mode resource 5 is a DER private key: longer values are fine up to the cap.
    ASSERT_TRUE(put(2, dm::Value::integer(2)));
    ASSERT_TRUE(put(5, dm::Value::opaque(bytes_of(max_secret_key_size, 4))));
    EXPECT_EQ(obj.find(Iid{1})->secret_key.size(), max_secret_key_size);
    expect_400(put(5, dm::Value::opaque(bytes_of(max_secret_key_size + 1, 4))));
    expect_400(put(5, dm::Value::string("key"))); // opaque only
}

TEST_F(SecurityObjectTest, Resource6_SmsSecurityModeIs0To255) {
    for (int m : {0, 1, 2, 3, 4, 203, 204, 255})
        EXPECT_TRUE(put(6, dm::Value::integer(m))) << m;
    EXPECT_EQ(obj.find(Iid{1})->sms_security_mode, 255);
    expect_400(put(6, dm::Value::integer(256)));
    expect_400(put(6, dm::Value::integer(-1)));
}

TEST_F(SecurityObjectTest, Resource7_SmsBindingKeyParametersExactly6Bytes) {
    EXPECT_TRUE(put(7, dm::Value::opaque(bytes_of(6, 1))));
    ASSERT_TRUE(obj.find(Iid{1})->sms_key_parameters);
    for (std::size_t n : {0, 1, 5, 7, 16})
        expect_400(put(7, dm::Value::opaque(bytes_of(n, 1))));
}

TEST_F(SecurityObjectTest, Resource8_SmsBindingSecretKeysAre16_32Or48Bytes) {
    for (std::size_t n : {16, 32, 48}) {
        ASSERT_TRUE(put(8, dm::Value::opaque(bytes_of(n, 2)))) << n;
        EXPECT_TRUE(obj.find(Iid{1})->sms_secret_key.equals(bytes_of(n, 2)));
    }
    for (std::size_t n : {0, 1, 15, 17, 31, 33, 47, 49, 64})
        expect_400(put(8, dm::Value::opaque(bytes_of(n, 2))));
}

TEST_F(SecurityObjectTest, Resource9_SmsNumberStoredAsStringIntegerWriteConverted) {
    ASSERT_TRUE(put(9, dm::Value::string("+33612345678")));
    EXPECT_EQ(obj.find(Iid{1})->sms_number, "+33612345678");
    ASSERT_TRUE(put(9, dm::Value::integer(33612345678)));
    EXPECT_EQ(obj.find(Iid{1})->sms_number, "33612345678");
    const auto back = obj.read(Actor::local_app(), rpath(1, 9));
    ASSERT_TRUE(back);
    EXPECT_EQ(std::get<dm::Resource>(back->node).value, dm::Value::string("33612345678"));
    expect_400(put(9, dm::Value::integer(0)));
    expect_400(put(9, dm::Value::integer(-5)));
    expect_400(put(9, dm::Value::string("12ab")));
    expect_400(put(9, dm::Value::string("1234567890123456"))); // > 15 digits (E.164)
}

TEST_F(SecurityObjectTest, Resource10_ShortServerIdIs1To65534) {
    EXPECT_TRUE(put(10, dm::Value::integer(1)));
    EXPECT_TRUE(put(10, dm::Value::integer(65534)));
    EXPECT_EQ(obj.find(Iid{1})->short_server_id, 65534);
    expect_400(put(10, dm::Value::integer(0)));
    expect_400(put(10, dm::Value::integer(65535)));
    expect_400(put(10, dm::Value::integer(-1)));
    EXPECT_EQ(obj.find(Iid{1})->short_server_id, 65534);
}

TEST_F(SecurityObjectTest, Resources11And12_HoldOffAndAccountTimeoutAreNonNegative) {
    for (std::uint16_t r : {std::uint16_t{11}, std::uint16_t{12}}) {
        EXPECT_TRUE(put(r, dm::Value::integer(0)));
        EXPECT_TRUE(put(r, dm::Value::integer(3600)));
        expect_400(put(r, dm::Value::integer(-1)));
    }
    EXPECT_EQ(obj.find(Iid{1})->client_hold_off, 3600);
    EXPECT_EQ(obj.find(Iid{1})->bs_account_timeout, 3600);
}

TEST_F(SecurityObjectTest, Resource13_MatchingTypeIs0To3) {
    for (int v = 0; v <= 3; ++v)
        EXPECT_TRUE(put(13, dm::Value::unsigned_integer(static_cast<std::uint64_t>(v))));
    expect_400(put(13, dm::Value::unsigned_integer(4)));
}

TEST_F(SecurityObjectTest, Resource14_SniIsAHostName) {
    EXPECT_TRUE(put(14, dm::Value::string("dm.example.com")));
    EXPECT_EQ(obj.find(Iid{1})->sni, "dm.example.com");
    expect_400(put(14, dm::Value::string("192.0.2.1"))); // RFC 6066 §3: no IP literals
    expect_400(put(14, dm::Value::string("bad host")));
    expect_400(put(14, dm::Value::string("")));
}

TEST_F(SecurityObjectTest, Resource15_CertificateUsageIs0To3Default3) {
    EXPECT_EQ(obj.find(Iid{1})->effective_certificate_usage(), 3);
    EXPECT_TRUE(put(15, dm::Value::unsigned_integer(1)));
    EXPECT_EQ(obj.find(Iid{1})->effective_certificate_usage(), 1);
    expect_400(put(15, dm::Value::unsigned_integer(4)));
}

TEST_F(SecurityObjectTest, Resource16_OnlySupportedCiphersuitesAccepted) {
    auto multi = [](std::initializer_list<std::uint64_t> v) {
        dm::Resource r = dm::Resource::multi(16);
        std::uint16_t i = 0;
        for (auto x : v)
            r.instances.emplace(i++, dm::Value::unsigned_integer(x));
        return r;
    };
    auto write16 = [&](dm::Resource r, WriteMode m = WriteMode::replace) {
        return obj.write(Actor::bootstrap_server(), rpath(1, 16),
                         test::content(rpath(1, 16), std::move(r)), m);
    };
    ASSERT_TRUE(write16(multi({0xC0A8, 0x00AE, 0xC0AE, 0xC023})));
    EXPECT_EQ(obj.find(Iid{1})->ciphersuites.size(), 4u);
    for (std::uint64_t unsupported : {0x002Fu, 0xC02Bu, 0x1301u, 0x10000u})
        expect_400(write16(multi({0xC0A8, unsupported})));
    EXPECT_EQ(obj.find(Iid{1})->ciphersuites.size(), 4u);
    // Resource-instance write: /0/1/16/7.
    const dm::Path ri{Oid{0}, Iid{1}, Rid{16}, Riid{7}};
    ASSERT_TRUE(obj.write(Actor::bootstrap_server(), ri,
                          dm::Content{ri, dm::Value::unsigned_integer(0xC0A8)},
                          WriteMode::replace));
    EXPECT_EQ(obj.find(Iid{1})->ciphersuites.at(7), 0xC0A8);
    expect_400(obj.write(Actor::bootstrap_server(), ri,
                         dm::Content{ri, dm::Value::unsigned_integer(0x0001)}, WriteMode::replace));
    expect_400(
        put(16, dm::Value::unsigned_integer(0xC0A8))); // single value for a multiple resource
}

TEST_F(SecurityObjectTest, Resource17_OscoreIsRejectedExceptTheNullLink) {
    expect_400(put(17, dm::Value::objlnk(21, 0)));
    EXPECT_TRUE(put(17, dm::Value::objlnk(0xffff, 0xffff)));
}

TEST_F(SecurityObjectTest, UnsupportedResources18To30Are400UndefinedAre404) {
    for (std::uint16_t r = 18; r <= 30; ++r)
        expect_400(put(r, dm::Value::unsigned_integer(1)));
    const auto r = put(31, dm::Value::integer(1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Status::not_found));
}

TEST_F(SecurityObjectTest, WriteIsAllOrNothing) {
    const SecurityInstance before = *obj.find(Iid{1});
    dm::Instance in = psk_account(1, 102, to_bytes("other"), bytes_of(16, 7));
    in.resources[7] = res(7, dm::Value::opaque(bytes_of(5, 1))); // invalid
    expect_400(obj.write(Actor::bootstrap_server(), inst(1), test::content(inst(1), in),
                         WriteMode::partial));
    EXPECT_TRUE(*obj.find(Iid{1}) == before);
    // An Object-level write with one bad instance changes no instance.
    dm::Object o;
    o.id = 0;
    o.instances[5] = psk_account(5, 105, to_bytes("x"), bytes_of(16, 1));
    o.instances[6] = in;
    o.instances[6].id = 6;
    expect_400(
        obj.write(Actor::bootstrap_server(), kObj, dm::Content{kObj, o}, WriteMode::replace));
    EXPECT_EQ(obj.find(Iid{5}), nullptr);
    EXPECT_EQ(obj.instances().size(), 2u);
}

TEST_F(SecurityObjectTest, ReplaceDropsOmittedResourcesPartialKeepsThem) {
    dm::Instance only_uri;
    only_uri.id = 1;
    only_uri.resources[0] = res(0, dm::Value::string("coaps://other.example"));
    ASSERT_TRUE(obj.write(Actor::bootstrap_server(), inst(1), test::content(inst(1), only_uri),
                          WriteMode::partial));
    EXPECT_EQ(obj.find(Iid{1})->short_server_id, 101);
    EXPECT_EQ(obj.find(Iid{1})->secret_key.size(), 16u);
    ASSERT_TRUE(obj.write(Actor::bootstrap_server(), inst(1), test::content(inst(1), only_uri),
                          WriteMode::replace));
    EXPECT_FALSE(obj.find(Iid{1})->short_server_id);
    EXPECT_TRUE(obj.find(Iid{1})->secret_key.empty());
}

TEST_F(SecurityObjectTest, SecretKeyAndSmsKeyNeverReadableByAnyServer) {
    ASSERT_TRUE(put(8, dm::Value::opaque(bytes_of(32, 5))));
    // Policy: every server read of Object 0 is 4.01.
    for (const Actor& a : {Actor::bootstrap_server(), Actor::dm_server(ShortServerId{101})})
        for (const auto& p : {kObj, inst(1), rpath(1, 5), rpath(1, 8), rpath(1, 0)}) {
            const auto r = obj.read(a, p);
            ASSERT_FALSE(r);
            EXPECT_EQ(r.error(), make_error_code(Status::unauthorized));
        }
    // Defence in depth: the server-facing content never holds 5 or 8 even when built directly.
    for (const auto& p : {kObj, inst(1)}) {
        const auto c = obj.build_content(p, Audience::server);
        ASSERT_TRUE(c);
        for (const auto& rec_inst : p.depth() == 1 ? std::get<dm::Object>(c->node).instances
                                                   : std::map<std::uint16_t, dm::Instance>{
                                                         {1, std::get<dm::Instance>(c->node)}}) {
            EXPECT_EQ(rec_inst.second.resources.count(5), 0u);
            EXPECT_EQ(rec_inst.second.resources.count(8), 0u);
            EXPECT_EQ(rec_inst.second.resources.count(0), 1u);
        }
    }
    for (std::uint16_t r : {std::uint16_t{5}, std::uint16_t{8}}) {
        const auto c = obj.build_content(rpath(1, r), Audience::server);
        ASSERT_FALSE(c);
        EXPECT_EQ(c.error(), make_error_code(Status::unauthorized));
    }
    // The local application (DTLS) reads the key.
    const auto local = obj.read(Actor::local_app(), rpath(1, 5));
    ASSERT_TRUE(local);
    EXPECT_EQ(std::get<dm::Resource>(local->node).value.as_opaque(), bytes_of(16, 3));
}

TEST_F(SecurityObjectTest, RedactSecretsStripsResources5And8FromAnyContent) {
    ASSERT_TRUE(put(8, dm::Value::opaque(bytes_of(16, 5))));
    auto c = *obj.build_content(kObj, Audience::local);
    ASSERT_EQ(std::get<dm::Object>(c.node).instances.at(1).resources.count(5), 1u);
    redact_secrets(c);
    EXPECT_EQ(std::get<dm::Object>(c.node).instances.at(1).resources.count(5), 0u);
    EXPECT_EQ(std::get<dm::Object>(c.node).instances.at(1).resources.count(8), 0u);
    auto r = *obj.build_content(rpath(1, 5), Audience::local);
    redact_secrets(r);
    EXPECT_TRUE(std::get<dm::Resource>(r.node).value.is_none());
}

TEST_F(SecurityObjectTest, DmServerCannotTouchObject0ThroughTheHandler) {
    const Actor dm = Actor::dm_server(ShortServerId{101});
    const auto unauthorized = make_error_code(Status::unauthorized);
    EXPECT_EQ(obj.write(dm, rpath(1, 0),
                        test::content(rpath(1, 0), res(0, dm::Value::string("coaps://evil"))),
                        WriteMode::replace)
                  .error(),
              unauthorized);
    EXPECT_EQ(obj.delete_(dm, inst(1)).error(), unauthorized);
    EXPECT_EQ(obj.discover(dm, kObj).error(), unauthorized);
    EXPECT_EQ(
        obj.create(dm, std::nullopt, psk_account(9, 9, to_bytes("a"), bytes_of(16, 1))).error(),
        unauthorized);
    EXPECT_EQ(obj.execute(dm, rpath(1, 0), "").error(), unauthorized);
    EXPECT_EQ(obj.instances().size(), 2u);
}

TEST_F(SecurityObjectTest, LocalAppCannotWriteObject0) {
    const auto r =
        obj.write(Actor::local_app(), rpath(1, 10),
                  test::content(rpath(1, 10), res(10, dm::Value::integer(5))), WriteMode::replace);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Status::unauthorized));
    EXPECT_EQ(obj.find(Iid{1})->short_server_id, 101);
}

TEST_F(SecurityObjectTest, FactorySourceCreatesInstances) {
    const auto id = obj.create(Actor::factory(), std::nullopt,
                               psk_account(0, 120, to_bytes("f"), bytes_of(16, 2)));
    ASSERT_TRUE(id);
    EXPECT_EQ(id->v, 2); // lowest free id
    EXPECT_EQ(obj.find(*id)->short_server_id, 120);
    EXPECT_FALSE(
        obj.create(Actor::factory(), Iid{1}, psk_account(1, 121, to_bytes("f"), bytes_of(16, 2))));
    EXPECT_EQ(obj.create(Actor::bootstrap_server(), std::nullopt,
                         psk_account(0, 122, to_bytes("f"), bytes_of(16, 2)))
                  .error(),
              make_error_code(Status::method_not_allowed));
}

TEST_F(SecurityObjectTest, BootstrapDeleteOfRootOrObject0KeepsTheBootstrapAccount) {
    for (const dm::Path& target : {dm::Path{}, kObj}) {
        ASSERT_TRUE(
            obj.write(Actor::bootstrap_server(), inst(4),
                      test::content(inst(4), psk_account(4, 104, to_bytes("d"), bytes_of(16, 1))),
                      WriteMode::replace));
        ASSERT_EQ(obj.instances().size(), 3u);
        ASSERT_TRUE(obj.delete_(Actor::bootstrap_server(), target));
        ASSERT_EQ(obj.instances().size(), 1u);
        EXPECT_TRUE(obj.find(Iid{0})->is_bootstrap());
        ASSERT_TRUE(
            obj.write(Actor::bootstrap_server(), inst(1),
                      test::content(inst(1), psk_account(1, 101, to_bytes("id"), bytes_of(16, 3))),
                      WriteMode::replace));
    }
}

TEST_F(SecurityObjectTest, BootstrapDeleteNamingTheBootstrapAccountIs400) {
    const auto r = obj.delete_(Actor::bootstrap_server(), inst(0));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Status::bad_request));
    EXPECT_NE(obj.find(Iid{0}), nullptr);
    ASSERT_TRUE(obj.delete_(Actor::bootstrap_server(), inst(1)));
    EXPECT_EQ(obj.find(Iid{1}), nullptr);
    EXPECT_EQ(obj.delete_(Actor::bootstrap_server(), inst(1)).error(),
              make_error_code(Status::not_found));
}

TEST_F(SecurityObjectTest, BootstrapDiscoverGivesSsidAndUriButNoValues) {
    const auto links = obj.discover(Actor::bootstrap_server(), kObj);
    ASSERT_TRUE(links);
    ASSERT_EQ(links->size(), 3u);
    EXPECT_EQ(path_text((*links)[0].path), "/0");
    EXPECT_EQ((*links)[0].ver, "1.1");
    EXPECT_EQ(path_text((*links)[1].path), "/0/0");
    EXPECT_FALSE((*links)[1].ssid); // bootstrap account: no ssid
    EXPECT_EQ((*links)[1].uri, "coap://bs.example.com");
    EXPECT_EQ(path_text((*links)[2].path), "/0/1");
    EXPECT_EQ((*links)[2].ssid, 101);
    EXPECT_EQ((*links)[2].uri, "coaps://server.example.com:5684");
    for (const auto& l : *links)
        EXPECT_EQ(l.path.depth() <= 2, true); // no resource links, no values
}

TEST_F(SecurityObjectTest, Object0HasNoExecutableResource) {
    EXPECT_EQ(obj.execute(Actor::local_app(), rpath(1, 0), "").error(),
              make_error_code(Status::method_not_allowed));
}

} // namespace
} // namespace lwm2m::client

namespace lwm2m::client {
namespace {

TEST(SecurityObjectLimits, InstanceCountIsBoundedAndAnOversizedWriteChangesNothing) {
    SecurityObject obj;
    dm::Object o;
    o.id = 0;
    for (std::uint16_t i = 0; i <= max_security_instances; ++i)
        o.instances[i] = test::psk_account(i, static_cast<std::uint16_t>(i + 1), to_bytes("id"),
                                           test::bytes_of(16, 1));
    const dm::Path p{Oid{0}};
    const auto r = obj.write(Actor::bootstrap_server(), p, dm::Content{p, o}, WriteMode::replace);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Status::request_entity_too_large));
    EXPECT_TRUE(obj.instances().empty());
    o.instances.erase(static_cast<std::uint16_t>(max_security_instances));
    EXPECT_TRUE(obj.write(Actor::bootstrap_server(), p, dm::Content{p, o}, WriteMode::replace));
    EXPECT_EQ(obj.instances().size(), max_security_instances);
}

} // namespace
} // namespace lwm2m::client
