// The BootstrapConfig blob codec: round trips of every field, refusal of damaged input.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include <lwm2m/store/bootstrap_config_codec.hpp>
#include <lwm2m/store/bootstrap_config_store.hpp>

#include "support/bootstrap_samples.hpp"
#include "support/dtls_creds.hpp"

namespace lwm2m::store {
namespace {

using lwm2m::test::typical_bootstrap_config;

BootstrapConfig rich_config() {
    auto c = lwm2m::test::generated_psk_config("rich-ep", 64, 32);
    c.deletes = {dm::Path{Oid{0}}, *dm::Path::parse("/1/3"), dm::Path{}};
    c.content_format = format::ContentFormat::senml_cbor;
    c.lwm2m_version = dm::Lwm2mVersion::v1_2;
    c.discover = dm::Path{};
    c.reads = {dm::Path{Oid{1}}, *dm::Path::parse("/2/4")};
    c.avoid_bootstrap_instance_id = false;
    auto& s = c.accounts.security.at(1);
    s.ciphersuites = {{0, client::cs_psk_aes128_ccm8}};
    s.sni = "dm.example.com";
    s.client_hold_off = 5;
    dm::Instance acl;
    acl.id = 4;
    acl.resources[0] = dm::Resource::single(0, dm::Value::integer(3));
    acl.resources[1] = dm::Resource::single(1, dm::Value::integer(0));
    dm::Resource rights = dm::Resource::multi(2);
    rights.instances.emplace(std::uint16_t{101}, dm::Value::integer(7));
    acl.resources[2] = rights;
    acl.resources[3] = dm::Resource::single(3, dm::Value::integer(101));
    c.access_control[4] = acl;
    // A second account with given RPK credentials.
    const auto& pki = lwm2m::test::test_pki();
    client::SecurityInstance r = c.accounts.security.at(1);
    r.security_mode = client::SecurityMode::rpk;
    r.public_key_or_identity = pki.client_rpk.spki_der;
    r.secret_key = pki.client_rpk.private_key_der;
    r.server_public_key = pki.server_rpk.spki_der;
    r.short_server_id = 102;
    r.ciphersuites.clear();
    c.accounts.security[2] = r;
    c.accounts.servers[1] = lwm2m::client::test::srv(lwm2m::client::test::server_instance(1, 102));
    return c;
}

TEST(BootstrapConfigCodec, RoundTrips) {
    for (const auto& c : {typical_bootstrap_config("a"), rich_config(),
                          typical_bootstrap_config("n", lwm2m::test::bs_nosec("n"))}) {
        ASSERT_TRUE(check_bootstrap_config(c).empty()) << c.endpoint;
        auto blob = encode_bootstrap_config(c);
        ASSERT_TRUE(blob);
        auto back = decode_bootstrap_config(blob->view());
        ASSERT_TRUE(back) << back.error().message();
        EXPECT_EQ(*back, c) << c.endpoint;
        auto again = encode_bootstrap_config(*back);
        ASSERT_TRUE(again);
        EXPECT_TRUE(again->equals(blob->view()));
    }
}

TEST(BootstrapConfigCodec, DamagedInputIsRefused) {
    auto blob = encode_bootstrap_config(rich_config());
    ASSERT_TRUE(blob);
    const Bytes good(blob->view().begin(), blob->view().end());
    const auto bad = make_error_code(ConfigErrc::invalid);
    // Every single-bit flip is caught (the CRC covers header and payload; the CRC itself too).
    for (std::size_t i = 0; i < good.size(); i += 7) {
        Bytes b = good;
        b[i] ^= std::byte{0x10};
        EXPECT_EQ(decode_bootstrap_config(b).error(), bad) << i;
    }
    for (std::size_t n : {std::size_t{0}, std::size_t{11}, good.size() - 1})
        EXPECT_EQ(decode_bootstrap_config(BytesView(good.data(), n)).error(), bad) << n;
    Bytes longer = good;
    longer.push_back(std::byte{0});
    EXPECT_EQ(decode_bootstrap_config(longer).error(), bad);
}

TEST(BootstrapConfigCodec, OverLongFieldsDoNotEncode) {
    auto c = typical_bootstrap_config("a");
    c.deletes.assign(256, dm::Path{});
    EXPECT_EQ(encode_bootstrap_config(c).error(), make_error_code(ConfigErrc::invalid));
}

} // namespace
} // namespace lwm2m::store

namespace lwm2m::store {
namespace {

// Writes the seed corpus of the bootstrap_config fuzz target (run by hand:
// LWM2M_CORPUS_OUT=tests/fuzz/corpus/bootstrap_config store_bootstrap_config_test
//   --gtest_also_run_disabled_tests --gtest_filter=*WriteFuzzSeeds).
TEST(BootstrapConfigCodec, DISABLED_WriteFuzzSeeds) {
    const char* dir = std::getenv("LWM2M_CORPUS_OUT");
    ASSERT_NE(dir, nullptr);
    auto write = [&](const std::string& name, BytesView b) {
        const std::string path = std::string(dir) + "/" + name;
        FILE* f = std::fopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr) << path;
        std::fwrite(b.data(), 1, b.size(), f);
        std::fclose(f);
    };
    auto typical = typical_bootstrap_config("seed-typical");
    typical.accounts.security.at(1).secret_key = SecretBytes(to_bytes("not-a-real-key-0"));
    typical.bootstrap_credentials.psk_key = SecretBytes(to_bytes("not-a-real-key-1"));
    auto gen = lwm2m::test::generated_psk_config("seed-generated", 40, 16);
    gen.bootstrap_credentials.psk_key = SecretBytes(to_bytes("not-a-real-key-2"));
    auto rich = rich_config();
    rich.bootstrap_credentials.psk_key = SecretBytes(to_bytes("not-a-real-key-3"));
    auto invalid = typical;
    invalid.accounts.servers.clear(); // decodes, fails validation
    for (const auto& [name, c] :
         {std::pair{"typical.bin", typical}, std::pair{"generated.bin", gen},
          std::pair{"rich.bin", rich}, std::pair{"invalid.bin", invalid}}) {
        auto blob = encode_bootstrap_config(c);
        ASSERT_TRUE(blob);
        write(name, blob->view());
        // The payload alone (the target wraps it in a valid header and CRC).
        write(std::string("payload_") + name, blob->view().subspan(12, blob->size() - 16));
    }
    write("empty.bin", {});
}

} // namespace
} // namespace lwm2m::store
