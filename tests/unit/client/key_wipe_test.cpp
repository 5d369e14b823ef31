// Rule "Secret Key (5) ... never leave the client" (docs/security-object.md), in memory: the state
// codec leaves no copy of a key in a heap block it frees. This executable replaces the global
// operator new/delete: every block is zeroed when allocated (so a hit cannot come from stale data
// of an earlier owner) and, while a test arms the hook, scanned when freed for windows of the
// secret keys of the configuration. A hit is a key copy dropped without secure_wipe().
#include <gtest/gtest.h>

#include <malloc.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include <lwm2m/client/config_codec.hpp>

#include "unit/client/test_configs.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete" // malloc/free pairing is correct
#endif

namespace {

constexpr std::size_t kWindow = 24;
constexpr std::size_t kMaxNeedles = 32;

struct Hook {
    bool armed = false;
    std::array<const std::byte*, kMaxNeedles> needles{};
    std::size_t needle_count = 0;
    std::size_t hits = 0;
    std::array<std::size_t, 4096> alloc_sizes{}; // allocations while armed (bounded)
    std::size_t allocs = 0;
};
Hook g_hook; // plain data: usable before main and from operator new

void on_free(void* p) {
    if (!g_hook.armed || p == nullptr) return;
    const std::size_t n = malloc_usable_size(p);
    const auto* b = static_cast<const std::byte*>(p);
    for (std::size_t k = 0; k < g_hook.needle_count; ++k)
        if (n >= kWindow && memmem(b, n, g_hook.needles[k], kWindow) != nullptr) {
            ++g_hook.hits;
            return;
        }
}

} // namespace

void* operator new(std::size_t n) {
    void* p = std::malloc(n == 0 ? 1 : n);
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, 0, malloc_usable_size(p));
    if (g_hook.armed && g_hook.allocs < g_hook.alloc_sizes.size())
        g_hook.alloc_sizes[g_hook.allocs++] = n;
    return p;
}
void operator delete(void* p) noexcept {
    on_free(p);
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    on_free(p);
    std::free(p);
}

namespace lwm2m::client {
namespace {

/// Deterministic bytes that never repeat a 24-byte window across seeds (xorshift).
Bytes noise(std::size_t n, std::uint64_t seed) {
    Bytes b(n);
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (auto& v : b) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v = static_cast<std::byte>(x >> 24);
    }
    return b;
}

/// Three Certificate-mode accounts with the largest resources: 4 KB certificates (3, 4) and
/// 2 KB private keys (5), plus a 48-byte SMS key (8). About 31 KB encoded.
class KeyWipeTest : public ::testing::Test {
protected:
    void SetUp() override {
        config = test::make_config(0);
        for (std::uint16_t k = 0; k < 3; ++k) {
            SecurityInstance s;
            s.server_uri = "coaps://dm" + std::to_string(k) + ".example.com";
            s.bootstrap_server = false;
            s.security_mode = SecurityMode::certificate;
            s.public_key_or_identity = noise(max_public_key_or_identity_size, 100u + k);
            s.server_public_key = noise(max_server_public_key_size, 200u + k);
            keys.push_back(noise(max_secret_key_size, 300u + k));
            s.secret_key = SecretBytes(BytesView(keys.back()));
            sms_keys.push_back(noise(48, 400u + k));
            s.sms_secret_key = SecretBytes(BytesView(sms_keys.back()));
            s.short_server_id = static_cast<std::uint16_t>(100 + k);
            config.security[static_cast<std::uint16_t>(k + 1)] = std::move(s);
            config.servers[k] =
                test::srv(test::server_instance(k, static_cast<std::uint16_t>(100 + k)));
        }
        ASSERT_TRUE(check_consistency(config).empty());
        // Needles: the start, middle and end of every private key, and every SMS key.
        for (const Bytes& key : keys)
            for (std::size_t at : {std::size_t{0}, key.size() / 2, key.size() - kWindow})
                add_needle(key.data() + at);
        for (const Bytes& key : sms_keys)
            add_needle(key.data() + 8);
    }
    void TearDown() override { g_hook = Hook{}; }
    static void add_needle(const std::byte* p) {
        ASSERT_LT(g_hook.needle_count, kMaxNeedles);
        g_hook.needles[g_hook.needle_count++] = p;
    }
    static void arm() {
        g_hook.hits = 0;
        g_hook.allocs = 0;
        g_hook.armed = true;
    }
    static void disarm() { g_hook.armed = false; }
    /// The test's own reference copies of the keys; they live until the end of the test.
    std::vector<Bytes> keys;
    std::vector<Bytes> sms_keys;
    ClientConfig config;
};

TEST_F(KeyWipeTest, TheHookSeesAKeyCopyFreedWithoutWipe) {
    // The detector itself: an unwiped copy is found, a wiped one is not.
    arm();
    { Bytes copy = keys[1]; }
    const std::size_t unwiped = g_hook.hits;
    {
        Bytes copy = keys[1];
        secure_wipe(copy.data(), copy.size());
    }
    disarm();
    EXPECT_EQ(unwiped, 1u);
    EXPECT_EQ(g_hook.hits, 1u);
}

TEST_F(KeyWipeTest, EncodeSizesItsBufferOnceAndFreesNoKey) {
    arm();
    SecretBytes file = encode_config(config);
    disarm();
    EXPECT_EQ(g_hook.hits, 0u) << "encode_config freed a heap block holding a secret key";
    ASSERT_GT(file.size(), 3 * (max_public_key_or_identity_size + max_server_public_key_size +
                                max_secret_key_size));
    // No reallocation: every block bigger than the largest single resource is a full-size buffer
    // (the output buffer and the SecretBytes returned), never an intermediate size.
    int full = 0;
    for (std::size_t k = 0; k < g_hook.allocs; ++k) {
        const std::size_t n = g_hook.alloc_sizes[k];
        if (n <= max_public_key_or_identity_size) continue;
        EXPECT_EQ(n, file.size()) << "intermediate buffer of " << n << " bytes";
        ++full;
    }
    EXPECT_EQ(full, 2);
}

TEST_F(KeyWipeTest, DecodeFreesNoKeyWhenItSucceeds) {
    const SecretBytes file = encode_config(config);
    arm();
    auto d = decode_config(file.view());
    disarm();
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_TRUE(*d == config);
    EXPECT_EQ(g_hook.hits, 0u) << "decode_config freed a heap block holding a secret key";
}

TEST_F(KeyWipeTest, DecodeErrorAfterTheKeyWipesThePartlyDecodedInstance) {
    const SecretBytes file = encode_config(config);
    Bytes b(file.view().begin(), file.view().end());
    // Resource 8 of /0/2 is followed by resource 10 (u16 rid, u8 kind, u8 tag): break its tag so
    // that read_instance fails with resources 5 and 8 of /0/2 already decoded.
    const Bytes& sms = sms_keys[1];
    const auto it = std::search(b.begin(), b.end(), sms.begin(), sms.end());
    ASSERT_NE(it, b.end());
    const auto at = static_cast<std::size_t>(it - b.begin()) + sms.size();
    ASSERT_EQ(b[at], std::byte{0});
    ASSERT_EQ(b[at + 1], std::byte{10});
    b[at + 3] = std::byte{0xEE};
    const std::uint32_t crc = crc32(BytesView(b).first(b.size() - 4));
    for (int k = 0; k < 4; ++k)
        b[b.size() - 4 + static_cast<std::size_t>(k)] = static_cast<std::byte>(crc >> (24 - 8 * k));
    arm();
    const auto d = decode_config(b);
    disarm();
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), make_error_code(Errc::config_bad_value));
    EXPECT_EQ(g_hook.hits, 0u)
        << "decode_config dropped a partly decoded instance without wiping its keys";
    secure_wipe(b.data(), b.size());
}

} // namespace
} // namespace lwm2m::client
