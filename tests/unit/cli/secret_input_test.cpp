// Issue #7: the CLI leaves no copy of a PSK key or private key in freed heap memory, and none in
// argv or the environment once it has taken the key. Freed blocks are scanned for windows of the
// key bytes, their hex text and the PEM base64 text (tests/support/freed_scan).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <lwm2m/dm/value_text.hpp>

#include "content_formats.hpp"
#include "credentials.hpp"
#include "pem.hpp"
#include "secret_input.hpp"
#include "support/freed_scan/freed_scan.hpp"

namespace lwm2m::app {
namespace {

Bytes noise(std::size_t n, std::uint64_t seed) {
    Bytes b(n);
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (auto& v : b) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = static_cast<std::byte>(x >> 56);
    }
    return b;
}

std::string hex(const Bytes& b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (auto v : b) {
        s += d[std::to_integer<int>(v) >> 4];
        s += d[std::to_integer<int>(v) & 15];
    }
    return s;
}

std::string temp_path(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string("lwm2m-cli-test-") + std::to_string(::getpid()) + "-" + name))
        .string();
}

/// A command line as main() gets it: writable, NUL-terminated strings.
struct Argv {
    explicit Argv(const std::vector<std::string>& args) {
        for (const auto& a : args) {
            store.emplace_back(a.begin(), a.end());
            store.back().push_back('\0');
        }
        for (auto& s : store)
            ptrs.push_back(s.data());
    }
    int argc() const { return static_cast<int>(ptrs.size()); }
    std::vector<std::vector<char>> store;
    std::vector<char*> ptrs;
};

/// take_psk_key_args + CLI11 parse + decode_credentials, as main() and run_coap_request do.
Result<std::optional<Psk>> parse_like_main(Argv& argv) {
    CredentialOptions o;
    o.arg_key = take_psk_key_args(argv.argc(), argv.ptrs.data());
    o.env_key = take_psk_key_env();
    CLI::App app{"t"};
    add_credential_options(app, o, "client");
    app.parse(argv.argc(), argv.ptrs.data());
    return decode_credentials(o);
}

TEST(CliSecretInput, HexKeyOnTheCommandLineLeavesNoCopy) {
    const Bytes key = noise(64, 1);
    const std::string key_hex = hex(key);
    Argv argv({"lwm2m", "--psk-identity", "dev", "--psk-key-hex", key_hex});
    test::freed_scan_add(key.data(), key.size());
    test::freed_scan_add(key_hex.data(), key_hex.size());
    test::freed_scan_arm();
    {
        auto psk = parse_like_main(argv);
        ASSERT_TRUE(psk && *psk);
        EXPECT_TRUE((*psk)->key.equals(key));
    }
    EXPECT_EQ(test::freed_scan_disarm(), 0U) << "a freed heap block held the key or its hex";
    // argv (what /proc/PID/cmdline shows) holds only '*' in place of the key.
    EXPECT_EQ(std::string(argv.ptrs[4]), std::string(key_hex.size(), '*'));
}

TEST(CliSecretInput, TextKeyWithEqualsFormIsTakenAndStarred) {
    const std::string key = "a text key that is long enough to be found in memory";
    Argv argv({"lwm2m", "--psk-identity", "dev", "--psk-key=" + key});
    test::freed_scan_add(key.data(), key.size());
    test::freed_scan_arm();
    {
        auto psk = parse_like_main(argv);
        ASSERT_TRUE(psk && *psk);
        EXPECT_TRUE((*psk)->key.equals(as_bytes(key)));
    }
    EXPECT_EQ(test::freed_scan_disarm(), 0U);
    EXPECT_EQ(std::string(argv.ptrs[3]), "--psk-key=" + std::string(key.size(), '*'));
}

TEST(CliSecretInput, BadHexIsAUsageErrorWithoutTheValue) {
    Argv argv({"lwm2m", "--psk-identity", "dev", "--psk-key-hex", "0011zz"});
    testing::internal::CaptureStderr();
    auto psk = parse_like_main(argv);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_FALSE(psk);
    EXPECT_NE(err.find("--psk-key-hex"), std::string::npos);
    EXPECT_EQ(err.find("0011zz"), std::string::npos);
}

TEST(CliSecretInput, EnvironmentKeyIsWipedAndUnset) {
    const Bytes key = noise(64, 2);
    const std::string key_hex = hex(key);
    ASSERT_EQ(::setenv(psk_key_env, key_hex.c_str(), 1), 0);
    char* env_copy = std::getenv(psk_key_env);
    ASSERT_NE(env_copy, nullptr);
    Argv argv({"lwm2m", "--psk-identity", "dev"});
    test::freed_scan_add(key.data(), key.size());
    test::freed_scan_add(key_hex.data(), key_hex.size());
    test::freed_scan_arm();
    {
        auto psk = parse_like_main(argv);
        ASSERT_TRUE(psk && *psk);
        EXPECT_TRUE((*psk)->key.equals(key));
    }
    EXPECT_EQ(test::freed_scan_disarm(), 0U);
    EXPECT_EQ(std::getenv(psk_key_env), nullptr);
}

TEST(CliSecretInput, KeyFileIsReadIntoOneWipedBuffer) {
    const Bytes key = noise(64, 3);
    const std::string path = temp_path("key");
    {
        std::ofstream f(path, std::ios::binary);
        f.write(reinterpret_cast<const char*>(key.data()),
                static_cast<std::streamsize>(key.size()));
        f << "\r\n";
    }
    Argv argv({"lwm2m", "--psk-identity", "dev", "--psk-key-file", path});
    test::freed_scan_add(key.data(), key.size());
    test::freed_scan_arm();
    {
        auto psk = parse_like_main(argv);
        ASSERT_TRUE(psk && *psk);
        EXPECT_TRUE((*psk)->key.equals(key)); // CRLF removed
    }
    EXPECT_EQ(test::freed_scan_disarm(), 0U);
    std::remove(path.c_str());
}

// The limit counts the key, not the newline removed after it: a 64-byte key file written
// with a trailing LF or CRLF fits max_size 64 (lwm2m security add-psk, lwm2m-fleet); 65 bytes
// of key do not, with or without the newline.
TEST(CliSecretInput, KeyFileLimitLeavesOutTheTrailingNewline) {
    const std::string path = temp_path("limit");
    const auto write = [&](const Bytes& body, const char* tail) {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(body.data()),
                static_cast<std::streamsize>(body.size()));
        f << tail;
    };
    Bytes key = noise(64, 5);
    key.back() = std::byte{'A'}; // not a newline itself
    Bytes longer = noise(65, 5);
    longer.back() = std::byte{'A'};
    for (const char* tail : {"", "\n", "\r\n"}) {
        write(key, tail);
        bool too_long = true;
        auto got = read_secret_file(path, 64, true, &too_long);
        ASSERT_TRUE(got) << "tail of " << std::strlen(tail);
        EXPECT_TRUE(got->equals(key));
        EXPECT_FALSE(too_long);
    }
    for (const char* tail : {"", "\n", "\r\n", "\n\n"}) {
        write(longer, tail);
        bool too_long = false;
        EXPECT_FALSE(read_secret_file(path, 64, true, &too_long))
            << "tail of " << std::strlen(tail);
        EXPECT_TRUE(too_long);
    }
    write(key, "\n"); // without strip_newline the newline is content
    bool too_long = false;
    EXPECT_FALSE(read_secret_file(path, 64, false, &too_long));
    EXPECT_TRUE(too_long);
    std::remove(path.c_str());
}

TEST(CliSecretInput, PemPrivateKeyLeavesNoCopy) {
    const Bytes der = noise(138, 4); // the size of a P-256 PKCS#8 key
    const Bytes cert = noise(300, 5);
    const std::string key_b64 = dm::base64_encode(der);
    std::string pem = "-----BEGIN CERTIFICATE-----\n" + dm::base64_encode(cert) +
                      "\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n";
    for (std::size_t i = 0; i < key_b64.size(); i += 64)
        pem += key_b64.substr(i, 64) + "\n";
    pem += "-----END PRIVATE KEY-----\n";
    const std::string path = temp_path("pem");
    std::ofstream(path, std::ios::binary) << pem;
    test::freed_scan_add(der.data(), der.size());
    test::freed_scan_add(key_b64.data(), key_b64.size());
    test::freed_scan_arm();
    {
        auto blocks = read_pem_file(path);
        ASSERT_TRUE(blocks);
        ASSERT_EQ(blocks->size(), 2U);
        EXPECT_EQ((*blocks)[0].der, cert);
        EXPECT_FALSE((*blocks)[0].is_private_key());
        EXPECT_TRUE((*blocks)[1].is_private_key());
        EXPECT_TRUE((*blocks)[1].key.equals(der));
        EXPECT_TRUE((*blocks)[1].der.empty());
    }
    EXPECT_EQ(test::freed_scan_disarm(), 0U) << "a freed heap block held the key DER or its base64";
    std::remove(path.c_str());
}

TEST(CliSecretInput, PemRejectsMalformedAndMarksEncryptedKeys) {
    EXPECT_FALSE(parse_pem("-----BEGIN PRIVATE KEY-----\nAAAA")); // no END
    EXPECT_FALSE(
        parse_pem("-----BEGIN PRIVATE KEY-----\nA*AA\n-----END PRIVATE KEY-----")); // bad base64
    EXPECT_FALSE(parse_pem("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n"
                           "-----END EC PRIVATE KEY-----"));
    auto enc = parse_pem(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----");
    ASSERT_TRUE(enc);
    ASSERT_EQ(enc->size(), 1U);
    EXPECT_EQ((*enc)[0].label, "ENCRYPTED PRIVATE KEY");
    EXPECT_FALSE((*enc)[0].is_private_key());
}

TEST(CliContentFormats, NamesAndNumbers) {
    EXPECT_EQ(parse_content_format("tlv"), 11542);
    EXPECT_EQ(parse_content_format("senml-json"), 110);
    EXPECT_EQ(parse_content_format("senml-cbor"), 112);
    EXPECT_EQ(parse_content_format("lwm2m-json"), 11543);
    EXPECT_EQ(parse_content_format("lwm2m-cbor"), 11544);
    EXPECT_EQ(parse_content_format("text"), 0);
    EXPECT_EQ(parse_content_format("opaque"), 42);
    EXPECT_EQ(parse_content_format("link"), 40);
    EXPECT_EQ(parse_content_format("65535"), 65535);
    EXPECT_FALSE(parse_content_format("65536"));
    EXPECT_FALSE(parse_content_format("-1"));
    EXPECT_FALSE(parse_content_format("TLV"));
    EXPECT_FALSE(parse_content_format(""));
}

} // namespace
} // namespace lwm2m::app
