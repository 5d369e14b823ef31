// Rule "Storage" (docs/security-object.md), the codec half: a versioned binary format with magic,
// lengths and CRC-32; every corruption is a clear error and start-up falls back safely.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

#include <lwm2m/base/random.hpp>
#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/store/atomic_file.hpp>

#include "unit/client/test_configs.hpp"

namespace lwm2m::client {
namespace {

Bytes encoded(const ClientConfig& c) {
    const SecretBytes s = encode_config(c);
    return Bytes(s.view().begin(), s.view().end());
}

void fix_crc(Bytes& b) {
    const std::uint32_t crc = crc32(BytesView(b).first(b.size() - 4));
    for (int k = 0; k < 4; ++k)
        b[b.size() - 4 + static_cast<std::size_t>(k)] = static_cast<std::byte>(crc >> (24 - 8 * k));
}

TEST(ConfigCodec, Crc32MatchesTheStandardCheckValue) {
    EXPECT_EQ(crc32(as_bytes("123456789")), 0xCBF43926u);
    EXPECT_EQ(crc32({}), 0u);
}

TEST(ConfigCodec, RoundTripIsExact) {
    for (const ClientConfig& c : {ClientConfig{}, test::make_config(1), test::make_config(5, 3, 64),
                                  test::corpus_config()}) {
        const Bytes b = encoded(c);
        const auto d = decode_config(b);
        ASSERT_TRUE(d) << d.error().message();
        EXPECT_TRUE(*d == c);
        EXPECT_EQ(encoded(*d), b); // canonical
    }
}

TEST(ConfigCodec, Version2CarriesTheResource12PurgeDeadline) {
    ClientConfig c = test::make_config(1);
    c.security.at(0).bs_account_timeout = 3600;
    for (std::int64_t at : {std::int64_t{1'800'003'600}, std::int64_t{-1},
                            std::numeric_limits<std::int64_t>::max()}) {
        c.bs_purge_at = at;
        const Bytes b = encoded(c);
        EXPECT_EQ(b[4], std::byte{0});
        EXPECT_EQ(b[5], std::byte{2});
        const auto d = decode_config(b);
        ASSERT_TRUE(d) << d.error().message();
        EXPECT_EQ(d->bs_purge_at, at);
        EXPECT_TRUE(*d == c);
    }
    c.bs_purge_at.reset();
    const auto d = decode_config(encoded(c));
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->bs_purge_at);
}

TEST(ConfigCodec, StateFlagsOtherThanTheDeadlineAreRejected) {
    Bytes b = encoded(test::make_config(1));
    // The state byte is the last payload byte (no deadline): flags 0.
    ASSERT_EQ(b[b.size() - 5], std::byte{0});
    b[b.size() - 5] = std::byte{2};
    fix_crc(b);
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_bad_value));
    b[b.size() - 5] = std::byte{1}; // says a deadline follows, but the payload ends
    fix_crc(b);
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_bad_length));
}

TEST(ConfigCodec, Version1FilesStillDecodeWithoutADeadline) {
    // A version 1 file is a version 2 file without the state byte.
    const ClientConfig c = test::make_config(2);
    Bytes b = encoded(c);
    ASSERT_EQ(b[b.size() - 5], std::byte{0});
    b.erase(b.end() - 5);
    b[5] = std::byte{1};
    std::uint32_t len = 0;
    for (int k = 0; k < 4; ++k)
        len = (len << 8) | static_cast<std::uint8_t>(b[8 + static_cast<std::size_t>(k)]);
    --len;
    for (int k = 0; k < 4; ++k)
        b[8 + static_cast<std::size_t>(k)] = static_cast<std::byte>(len >> (24 - 8 * k));
    fix_crc(b);
    const auto d = decode_config(b);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_TRUE(*d == c);
    EXPECT_FALSE(d->bs_purge_at);
    // Canonical per version: a version 1 header over a version 2 payload is rejected.
    Bytes v2_in_v1 = encoded(c);
    v2_in_v1[5] = std::byte{1};
    fix_crc(v2_in_v1);
    EXPECT_FALSE(decode_config(v2_in_v1));
}

TEST(ConfigCodec, HeaderErrorsAreClear) {
    const Bytes good = encoded(test::make_config(1));
    Bytes b = good;
    b[0] = std::byte{'X'};
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_bad_magic));
    b = good;
    b[5] = std::byte{3}; // version 3: from the future
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_bad_version));
    b[5] = std::byte{0}; // version 0: never existed
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_bad_version));
    b = good;
    b[7] = std::byte{1}; // flags
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_bad_version));
    b = good;
    b[8] = std::byte{0x7f}; // payload length far beyond the cap
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_bad_length));
    b = good;
    b.push_back(std::byte{0});
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_trailing_bytes));
    b = good;
    b[b.size() - 1] ^= std::byte{1};
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_crc_mismatch));
    EXPECT_EQ(decode_config({}).error(), make_error_code(Errc::config_truncated));
    EXPECT_NE(decode_config(b).error().message().find("CRC-32"), std::string::npos);
}

TEST(ConfigCodec, TruncationAtEveryByteOffsetIsAnErrorNeverACrash) {
    const Bytes good = encoded(test::corpus_config());
    for (std::size_t n = 0; n < good.size(); ++n) {
        const auto d = decode_config(BytesView(good).first(n));
        ASSERT_FALSE(d) << n;
        EXPECT_EQ(d.error().category(), client_category()) << n;
        if (n >= 4) {
            EXPECT_EQ(d.error(), make_error_code(Errc::config_truncated)) << n;
        }
    }
}

TEST(ConfigCodec, RandomBitFlipsAreDetected) {
    const Bytes good = encoded(test::corpus_config());
    SeededRandom rng(0x5ec0b1);
    for (int k = 0; k < 3000; ++k) {
        Bytes b = good;
        const int flips = 1 + static_cast<int>(rng.uniform(3));
        for (int f = 0; f < flips; ++f)
            b[rng.uniform(static_cast<std::uint32_t>(b.size()))] ^=
                static_cast<std::byte>(1u << rng.uniform(8));
        if (b == good) continue;
        const auto d = decode_config(b);
        ASSERT_FALSE(d) << k; // CRC-32 detects every 1-3 bit error at this size
    }
}

TEST(ConfigCodec, FlipsBehindAValidCrcAreValidatedByTheParser) {
    // Re-computing the CRC lets corruption reach the parser and the value rules: the result is an
    // error or a configuration that is itself consistent and re-encodes canonically.
    const Bytes good = encoded(test::corpus_config());
    SeededRandom rng(42);
    int rejected = 0;
    for (int k = 0; k < 3000; ++k) {
        Bytes b = good;
        const std::size_t at = 12 + rng.uniform(static_cast<std::uint32_t>(b.size() - 16));
        b[at] ^= static_cast<std::byte>(1u << rng.uniform(8));
        fix_crc(b);
        const auto d = decode_config(b);
        if (!d) {
            ++rejected;
            continue;
        }
        EXPECT_TRUE(check_consistency(*d).empty());
        EXPECT_EQ(encoded(*d), b);
    }
    EXPECT_GT(rejected, 1000);
}

TEST(ConfigCodec, InvalidValuesAndInconsistentConfigurationsAreRejected) {
    // Short Server ID 100 -> 0 in the Security instance (tag integer + 8 bytes big-endian).
    Bytes b = encoded(test::make_config(1));
    const Bytes needle = {std::byte{0}, std::byte{10}, std::byte{0}, std::byte{2},
                          std::byte{0}, std::byte{0},  std::byte{0}, std::byte{0},
                          std::byte{0}, std::byte{0},  std::byte{0}, std::byte{100}};
    const auto it = std::search(b.begin(), b.end(), needle.begin(), needle.end());
    ASSERT_NE(it, b.end());
    *(it + 11) = std::byte{0};
    fix_crc(b);
    EXPECT_EQ(decode_config(b).error(), make_error_code(Errc::config_bad_value));
    // An inconsistent configuration encodes (the encoder does not judge) but never decodes.
    ClientConfig c = test::make_config(2);
    c.servers.erase(1);
    EXPECT_EQ(decode_config(encoded(c)).error(), make_error_code(Errc::config_inconsistent));
}

TEST(ConfigCodec, CorruptOrMissingStateFallsBackToFactoryOrNeedsBootstrap) {
    const ClientConfig factory = test::make_config(1, 0x77);
    const ClientConfig stored = test::make_config(2);
    const Bytes good = encoded(stored);

    LoadOutcome o = load_config(Result<Bytes>(good), factory);
    EXPECT_EQ(o.source, LoadOutcome::Source::stored);
    EXPECT_TRUE(o.config == stored);
    EXPECT_FALSE(o.error);

    o = load_config(Result<Bytes>(tl::unexpected<Error>(
                        std::make_error_code(std::errc::no_such_file_or_directory))),
                    factory);
    EXPECT_EQ(o.source, LoadOutcome::Source::factory);
    EXPECT_TRUE(o.config == factory);

    for (std::size_t n :
         {std::size_t{0}, std::size_t{3}, std::size_t{11}, good.size() / 2, good.size() - 1}) {
        o = load_config(
            Result<Bytes>(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))),
            factory);
        EXPECT_EQ(o.source, LoadOutcome::Source::factory) << n;
        EXPECT_TRUE(o.error) << n;
        o = load_config(
            Result<Bytes>(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))),
            std::nullopt);
        EXPECT_EQ(o.source, LoadOutcome::Source::needs_bootstrap) << n;
        EXPECT_TRUE(o.config.security.empty());
        EXPECT_TRUE(o.config.needs_bootstrap());
    }
    ClientConfig bad_factory = factory;
    bad_factory.servers.clear();
    o = load_config(Result<Bytes>(Bytes{}), bad_factory);
    EXPECT_EQ(o.source, LoadOutcome::Source::needs_bootstrap);
}

TEST(ConfigCodec, CheckedInFuzzSeedStillDecodes) {
    // Format stability: the seeds written by earlier builds decode to the same configuration
    // (valid_v1.bin was written by the version 1 encoder and is kept as it is).
    for (const auto& [name, expected] : {std::pair{"/valid_v1.bin", test::corpus_config()},
                                         std::pair{"/valid_v2.bin", test::corpus_config_v2()}}) {
        const std::string path = std::string(LWM2M_CLIENT_STATE_CORPUS) + name;
        const auto data = store::read_file(path, max_config_file_size);
        ASSERT_TRUE(data) << path << ": " << data.error().message();
        const auto d = decode_config(*data);
        ASSERT_TRUE(d) << name << ": " << d.error().message();
        EXPECT_TRUE(*d == expected) << name;
    }
}

// Regenerates the fuzz seed corpus (run with --gtest_also_run_disabled_tests
// --gtest_filter=*WriteCorpus*).
TEST(ConfigCodec, DISABLED_WriteCorpus) {
    // valid_v1.bin is the version 1 seed: it cannot be written any more and is not touched.
    const std::filesystem::path dir(LWM2M_CLIENT_STATE_CORPUS);
    const Bytes good = encoded(test::corpus_config_v2());
    auto write = [&](const char* name, BytesView b) {
        std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    };
    write("valid_v2.bin", good);
    write("empty_config.bin", encoded(ClientConfig{}));
    write("truncated_header.bin", BytesView(good).first(10));
    write("truncated_payload.bin", BytesView(good).first(good.size() / 2));
    write("truncated_crc.bin", BytesView(good).first(good.size() - 2));
    Bytes flipped = good;
    flipped[good.size() / 3] ^= std::byte{0x10};
    write("bitflip_bad_crc.bin", flipped);
    fix_crc(flipped);
    write("bitflip_fixed_crc.bin", flipped);
    Bytes big_len = good;
    big_len[8] = std::byte{0xff};
    write("huge_length.bin", big_len);
    ClientConfig inconsistent = test::make_config(2);
    inconsistent.servers.erase(0);
    write("inconsistent.bin", encoded(inconsistent));
}

} // namespace
} // namespace lwm2m::client
