// store::BootstrapConfig validation (the client's per-write and Bootstrap-Finish rules applied
// before a configuration is accepted, plus the server-side rules), the DM credential records and
// the public view (no secret).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/dtls/keygen.hpp>
#include <lwm2m/store/bootstrap_config.hpp>

#include "support/bootstrap_samples.hpp"
#include "support/dtls_creds.hpp"

namespace lwm2m::store {
namespace {

using namespace lwm2m::client::test;
using lwm2m::test::typical_bootstrap_config;

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& r : v)
        s += r + "\n";
    return s;
}

bool mentions(const std::vector<std::string>& reasons, std::string_view what) {
    return std::any_of(reasons.begin(), reasons.end(),
                       [&](const std::string& r) { return r.find(what) != std::string::npos; });
}

TEST(BootstrapConfig, TypicalIsValid) {
    const auto c = typical_bootstrap_config("dev-1");
    EXPECT_EQ(joined(check_bootstrap_config(c)), "");
    EXPECT_TRUE(validate(c));
}

TEST(BootstrapConfig, GeneratedPskIsValidWithPlaceholders) {
    auto c = lwm2m::test::generated_psk_config("dev-2", 128, 64);
    EXPECT_EQ(joined(check_bootstrap_config(c)), "");
    // Given credentials together with a generation spec: refused.
    c.accounts.security.at(1).secret_key = SecretBytes(to_bytes("0123456789abcdef"));
    EXPECT_TRUE(mentions(check_bootstrap_config(c), "must be empty when their credentials"));
}

struct Case {
    const char* name;
    std::function<void(BootstrapConfig&)> mutate;
    const char* expect; ///< a fragment of one reason
};

TEST(BootstrapConfig, RefusesWhatTheClientWouldRefuse) {
    const Case cases[] = {
        {"psk with coap:// uri",
         [](BootstrapConfig& c) { c.accounts.security.at(1).server_uri = "coap://dm.example.com"; },
         "requires a coaps:// URI"},
        {"no server instance for the ssid", [](BootstrapConfig& c) { c.accounts.servers.clear(); },
         "no Server Object instance with Short Server ID 101"},
        {"server without security",
         [](BootstrapConfig& c) { c.accounts.servers[5] = srv(server_instance(5, 202)); },
         "no Security instance with Short Server ID 202"},
        {"duplicate ssid",
         [](BootstrapConfig& c) {
             c.accounts.security[2] = sec(psk_account(2, 101, to_bytes("x"), bytes_of(16, 1)));
         },
         "already used by /0/1"},
        {"missing psk key", [](BootstrapConfig& c) { c.accounts.security.at(1).secret_key.wipe(); },
         "PSK mode requires resource 5"},
        {"psk key over 64 bytes",
         [](BootstrapConfig& c) {
             c.accounts.security.at(1).secret_key = SecretBytes(bytes_of(65, 3));
         },
         "the PSK identity or key size violates"},
        {"cipher suite that does not fit the mode",
         [](BootstrapConfig& c) {
             c.accounts.security.at(1).ciphersuites = {{0, client::cs_ecdhe_ecdsa_aes128_ccm8}};
         },
         "no cipher suite in resource 16 fits"},
        {"binding without U",
         [](BootstrapConfig& c) {
             c.accounts.servers.at(0).resources[7] =
                 dm::Resource::single(7, dm::Value::string("T"));
         },
         "Binding has no 'U'"},
        {"lifetime 0 (per-resource rule)",
         [](BootstrapConfig& c) {
             c.accounts.servers.at(0).resources[1] = dm::Resource::single(1, dm::Value::integer(0));
         },
         "resource 1 violates the Server Object rules"},
        {"executable server resource carrying a value",
         [](BootstrapConfig& c) {
             c.accounts.servers.at(0).resources[8] = dm::Resource::single(8, dm::Value::integer(1));
         },
         "resource 8 violates the Server Object rules"},
        {"missing notification storing",
         [](BootstrapConfig& c) { c.accounts.servers.at(0).resources.erase(6); },
         "resource 6 (Notification Storing) is missing"},
        {"unparsable uri",
         [](BootstrapConfig& c) { c.accounts.security.at(1).server_uri = "coaps://exa mple"; },
         "resource 0 violates"},
    };
    for (const auto& k : cases) {
        auto c = typical_bootstrap_config("dev");
        k.mutate(c);
        const auto r = check_bootstrap_config(c);
        EXPECT_TRUE(mentions(r, k.expect)) << k.name << ":\n" << joined(r);
        EXPECT_FALSE(validate(c)) << k.name;
    }
}

TEST(BootstrapConfig, ServerSideRules) {
    const Case cases[] = {
        {"bootstrap account in the config",
         [](BootstrapConfig& c) { c.accounts.security[0] = sec(bootstrap_account(0)); },
         "Bootstrap-Server account is not part"},
        {"client purge state", [](BootstrapConfig& c) { c.accounts.bs_purge_at = 5; },
         "client state"},
        {"empty endpoint",
         [](BootstrapConfig& c) {
             c.endpoint.clear();
             c.bootstrap_credentials.endpoint.clear();
         },
         "1 to 255 bytes"},
        {"endpoint with a newline",
         [](BootstrapConfig& c) {
             c.endpoint = "a\nb";
             c.bootstrap_credentials.endpoint = c.endpoint;
         },
         "control characters"},
        {"credentials of another endpoint",
         [](BootstrapConfig& c) { c.bootstrap_credentials.endpoint = "other"; },
         "bound to another endpoint"},
        {"bootstrap credentials without key",
         [](BootstrapConfig& c) { c.bootstrap_credentials.psk_key.wipe(); },
         "a PSK key is required"},
        {"delete of a resource",
         [](BootstrapConfig& c) { c.deletes = {*dm::Path::parse("/0/1/5")}; },
         "Bootstrap-Delete targets"},
        {"no DM account after delete /",
         [](BootstrapConfig& c) {
             c.accounts.security.clear();
             c.accounts.servers.clear();
         },
         "would need bootstrapping again"},
        {"EST mode",
         [](BootstrapConfig& c) {
             auto& s = c.accounts.security.at(1);
             s.security_mode = client::SecurityMode::certificate_est;
         },
         "Certificate with EST"},
        {"read of object 0", [](BootstrapConfig& c) { c.reads = {dm::Path{Oid{0}}}; },
         "Bootstrap-Read targets"},
        {"read of a resource", [](BootstrapConfig& c) { c.reads = {*dm::Path::parse("/1/0/1")}; },
         "Bootstrap-Read targets"},
        {"discover of an instance",
         [](BootstrapConfig& c) { c.discover = *dm::Path::parse("/1/0"); },
         "Bootstrap-Discover targets"},
        {"text/plain writes",
         [](BootstrapConfig& c) { c.content_format = format::ContentFormat::text_plain; },
         "content format"},
        {"generation for a missing instance",
         [](BootstrapConfig& c) { c.generate[7] = GeneratedCredentials{}; },
         "not in the configuration"},
        {"generated psk key too short",
         [](BootstrapConfig& c) {
             c.accounts.security.at(1).public_key_or_identity.clear();
             c.accounts.security.at(1).secret_key.wipe();
             GeneratedCredentials g;
             g.psk_key_size = 8;
             c.generate[1] = g;
         },
         "16 to 64 bytes"},
        {"generated identity over 128",
         [](BootstrapConfig& c) {
             c.accounts.security.at(1).public_key_or_identity.clear();
             c.accounts.security.at(1).secret_key.wipe();
             GeneratedCredentials g;
             g.psk_identity_size = 129;
             c.generate[1] = g;
         },
         "at most 128 bytes"},
        {"generation of the wrong kind",
         [](BootstrapConfig& c) {
             c.accounts.security.at(1).public_key_or_identity.clear();
             c.accounts.security.at(1).secret_key.wipe();
             GeneratedCredentials g;
             g.kind = GeneratedCredentials::Kind::rpk;
             c.generate[1] = g;
         },
         "need Security Mode 1"},
        {"acl with an undefined resource",
         [](BootstrapConfig& c) {
             dm::Instance in;
             in.id = 0;
             in.resources[0] = res(0, dm::Value::integer(3));
             in.resources[1] = res(1, dm::Value::integer(0));
             in.resources[3] = res(3, dm::Value::integer(101));
             in.resources[9] = res(9, dm::Value::integer(1));
             c.access_control[0] = in;
         },
         "resource 9 is not defined in Object 2"},
        {"acl without owner",
         [](BootstrapConfig& c) {
             dm::Instance in;
             in.id = 0;
             in.resources[0] = res(0, dm::Value::integer(3));
             in.resources[1] = res(1, dm::Value::integer(0));
             c.access_control[0] = in;
         },
         "mandatory resource 3 is missing"},
        {"acl object id out of range",
         [](BootstrapConfig& c) {
             dm::Instance in;
             in.id = 0;
             in.resources[0] = res(0, dm::Value::integer(70000));
             in.resources[1] = res(1, dm::Value::integer(0));
             in.resources[3] = res(3, dm::Value::integer(101));
             c.access_control[0] = in;
         },
         "resource 0 has a value outside"},
    };
    for (const auto& k : cases) {
        auto c = typical_bootstrap_config("dev");
        k.mutate(c);
        const auto r = check_bootstrap_config(c);
        EXPECT_TRUE(mentions(r, k.expect)) << k.name << ":\n" << joined(r);
    }
}

TEST(BootstrapConfig, AccessControlAccepted) {
    auto c = typical_bootstrap_config("dev");
    dm::Instance in;
    in.id = 0;
    in.resources[0] = res(0, dm::Value::integer(3));
    in.resources[1] = res(1, dm::Value::integer(0));
    dm::Resource acl = dm::Resource::multi(2);
    acl.instances.emplace(std::uint16_t{101}, dm::Value::integer(7));
    in.resources[2] = acl;
    in.resources[3] = res(3, dm::Value::integer(101));
    c.access_control[0] = in;
    EXPECT_EQ(joined(check_bootstrap_config(c)), "");
}

TEST(BootstrapConfig, X509GenerationNeedsAnIssuer) {
    auto c = typical_bootstrap_config("dev");
    auto& s = c.accounts.security.at(1);
    s.security_mode = client::SecurityMode::certificate;
    s.public_key_or_identity.clear();
    s.secret_key.wipe();
    s.server_public_key = lwm2m::test::test_pki().server.der;
    GeneratedCredentials g;
    g.kind = GeneratedCredentials::Kind::x509;
    c.generate[1] = g;
    EXPECT_EQ(joined(check_bootstrap_config(c)), "");
    ValidationOptions no_ca;
    no_ca.certificate_issuer = false;
    EXPECT_TRUE(mentions(check_bootstrap_config(c, no_ca), "needs a certificate issuer"));
    c.endpoint = std::string(65, 'e');
    c.bootstrap_credentials.endpoint = c.endpoint;
    EXPECT_TRUE(mentions(check_bootstrap_config(c), "at most 64"));
}

TEST(BootstrapConfig, GivenKeyPairsMustMatch) {
    const auto& pki = lwm2m::test::test_pki();
    auto c = typical_bootstrap_config("dev");
    auto& s = c.accounts.security.at(1);
    s.security_mode = client::SecurityMode::rpk;
    s.public_key_or_identity = pki.client_rpk.spki_der;
    s.secret_key = pki.client_rpk.private_key_der;
    s.server_public_key = pki.server_rpk.spki_der;
    EXPECT_EQ(joined(check_bootstrap_config(c)), "");
    s.secret_key = pki.other_rpk.private_key_der;
    EXPECT_TRUE(mentions(check_bootstrap_config(c), "is not the private key of the public key"));

    s.security_mode = client::SecurityMode::certificate;
    s.public_key_or_identity = pki.client.der;
    s.secret_key = pki.client.key.private_key_der;
    s.server_public_key = pki.ca.der;
    EXPECT_EQ(joined(check_bootstrap_config(c)), "");
    s.secret_key = pki.server.key.private_key_der;
    EXPECT_TRUE(mentions(check_bootstrap_config(c), "not the private key of the certificate"));
    s.public_key_or_identity = to_bytes("not a certificate");
    EXPECT_TRUE(mentions(check_bootstrap_config(c), "is not an X.509 certificate"));
}

TEST(DmCredential, PskRpkX509NoSec) {
    const auto& pki = lwm2m::test::test_pki();
    const auto c = typical_bootstrap_config("dev-9");
    auto rec = dm_credentials_for("dev-9", c.accounts);
    ASSERT_TRUE(rec);
    ASSERT_EQ(rec->size(), 1u);
    EXPECT_EQ((*rec)[0].ssid, 101);
    EXPECT_EQ((*rec)[0].server_uri, "coaps://dm.example.com:5684");
    EXPECT_EQ((*rec)[0].info.mode, SecurityMode::psk);
    EXPECT_EQ((*rec)[0].info.endpoint, "dev-9");
    EXPECT_EQ((*rec)[0].info.psk_identity, to_bytes("dm-dev-9"));
    EXPECT_TRUE((*rec)[0].info.psk_key.equals(lwm2m::test::key_for("dm-key-dev-9")));

    client::SecurityInstance s = c.accounts.security.at(1);
    s.security_mode = client::SecurityMode::rpk;
    s.public_key_or_identity = pki.client_rpk.spki_der;
    auto r = dm_credential_for("dev-9", s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->info.mode, SecurityMode::rpk);
    EXPECT_EQ(r->info.rpk_public_key, pki.client_rpk.spki_der);
    EXPECT_TRUE(r->info.psk_key.empty());

    s.security_mode = client::SecurityMode::certificate;
    s.public_key_or_identity = pki.client.der;
    r = dm_credential_for("dev-9", s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->info.mode, SecurityMode::x509);
    EXPECT_EQ(r->info.x509_common_name, "client-ep");

    s.security_mode = client::SecurityMode::nosec;
    s.public_key_or_identity.clear();
    s.secret_key.wipe();
    r = dm_credential_for("dev-9", s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->info.mode, SecurityMode::nosec);

    s.security_mode = client::SecurityMode::certificate_est;
    EXPECT_FALSE(dm_credential_for("dev-9", s));
    s.security_mode = client::SecurityMode::nosec;
    s.short_server_id.reset();
    EXPECT_FALSE(dm_credential_for("dev-9", s));
}

TEST(BootstrapConfig, PublicViewHasNoSecret) {
    auto c = typical_bootstrap_config("dev-v");
    const Bytes dm_key = lwm2m::test::key_for("dm-key-dev-v");
    const Bytes bs_key = lwm2m::test::key_for("bs-key-dev-v");
    const auto v = public_view(c);
    EXPECT_EQ(v.bootstrap_psk_key.size, 16u);
    EXPECT_EQ(v.security_secret_key.at(1).size, 16u);
    EXPECT_EQ(v.security.at(1).resources.count(5), 0u);
    EXPECT_EQ(v.bootstrap_psk_identity, to_bytes("bs-dev-v"));
    // No byte string in the view equals a key.
    auto scan = [&](const dm::Instance& in) {
        for (const auto& [rid, r] : in.resources)
            if (!r.multiple && r.value.type() == dm::DataType::opaque) {
                EXPECT_NE(r.value.as_opaque(), dm_key);
                EXPECT_NE(r.value.as_opaque(), bs_key);
            }
    };
    for (const auto& [iid, in] : v.security)
        scan(in);
}

TEST(BootstrapConfig, ReasonsNeverCarryKeyBytes) {
    auto c = typical_bootstrap_config("dev-r");
    const std::string key = "KEYBYTES-0123456789-KEYBYTES-0123456789-KEYBYTES-0123456789-KEYB";
    c.accounts.security.at(1).secret_key = SecretBytes(to_bytes(key + "X")); // 65 bytes
    c.accounts.security.at(1).server_uri = "coap://x";
    const auto r = check_bootstrap_config(c);
    ASSERT_FALSE(r.empty());
    EXPECT_EQ(joined(r).find("KEYBYTES"), std::string::npos);
}

} // namespace
} // namespace lwm2m::store
