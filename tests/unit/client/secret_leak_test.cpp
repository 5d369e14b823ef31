// Rule "Secret Key (5) and SMS Binding Secret Key(s) (8) never appear in logs, error messages"
// (docs/security-object.md): run writes, reads, failing Bootstrap-Finish and corrupt persisted
// state with a known key through a CaptureLogger, then search every log line, error text and finish
// reason for the key in raw, hex (lower and upper) and base64 form.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <lwm2m/client/client_config.hpp>
#include <lwm2m/client/config_codec.hpp>

#include "support/capture_logger.hpp"
#include "unit/client/test_configs.hpp"

namespace lwm2m::client {
namespace {

using test::res;

std::string make_key() {
    std::string k = "K3y!";
    const std::string_view pattern = "-S3cr3t/Key+Material_0123456789abcdefghijklmnopqrstuvwxyz";
    for (std::size_t i = 0; k.size() < 64; ++i)
        k += pattern[i % pattern.size()];
    return k;
}

std::string base64(std::string_view in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                           (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        out += t[(v >> 18) & 63];
        out += t[(v >> 12) & 63];
        out += t[(v >> 6) & 63];
        out += t[v & 63];
    }
    return out; // the whole-triplet part is enough to find an encoded copy
}

std::string upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

std::vector<std::string> needles_for(const std::string& key) {
    std::vector<std::string> n;
    for (const std::string& part : {key, key.substr(0, 8), key.substr(20, 8)}) {
        n.push_back(part);
        n.push_back(to_hex(as_bytes(part)));
        n.push_back(upper(to_hex(as_bytes(part))));
    }
    for (std::size_t shift = 0; shift < 3; ++shift)
        n.push_back(base64(std::string_view(key).substr(shift, 24)));
    return n;
}

TEST(SecretLeak, KeysNeverAppearInLogsErrorTextsOrFinishReasons) {
    const std::string key = make_key();
    ASSERT_EQ(key.size(), 64u);
    const Bytes kb = to_bytes(key);
    const std::string sms_key = key.substr(0, 32);

    lwm2m::test::CaptureLogger log;
    test::ManualWallClock wall;
    AccountStore store({}, wall, TimePoint{}, log);
    const Actor bs = Actor::bootstrap_server();
    std::vector<std::string> texts; // every error text and reason produced
    auto note = [&](const auto& r) {
        if (!r) texts.push_back(r.error().message());
    };
    const dm::Path i1{Oid{0}, Iid{1}};
    auto rp = [](std::uint16_t r) { return dm::Path{Oid{0}, Iid{1}, Rid{r}}; };

    // Accepted writes carrying the keys.
    note(store.security().write(bs, i1,
                                test::content(i1, test::psk_account(1, 101, to_bytes("dev"), kb)),
                                WriteMode::replace));
    ASSERT_TRUE(store.security().find(Iid{1}));
    note(store.security().write(bs, rp(8),
                                test::content(rp(8), res(8, dm::Value::opaque(to_bytes(sms_key)))),
                                WriteMode::replace));
    // Rejected writes whose value is the key.
    for (std::uint16_t r : {std::uint16_t{7}, std::uint16_t{8}}) {
        const auto w = store.security().write(
            bs, rp(r), test::content(rp(r), res(r, dm::Value::opaque(kb))), WriteMode::replace);
        EXPECT_FALSE(w);
        note(w);
    }
    for (std::uint16_t r : {std::uint16_t{0}, std::uint16_t{9}, std::uint16_t{14}}) {
        const auto w = store.security().write(
            bs, rp(r), test::content(rp(r), res(r, dm::Value::string(key))), WriteMode::replace);
        EXPECT_FALSE(w);
        note(w);
    }
    // Rejected reads of the key by servers.
    for (const Actor& a : {bs, Actor::dm_server(ShortServerId{101})})
        for (std::uint16_t r : {std::uint16_t{5}, std::uint16_t{8}}) {
            const auto c = store.security().read(a, rp(r));
            EXPECT_FALSE(c);
            note(c);
        }
    // The server-facing content has no key even when built directly.
    const auto srv = store.security().build_content(dm::Path{Oid{0}}, Audience::server);
    ASSERT_TRUE(srv);
    for (const auto& [iid, in] : std::get<dm::Object>(srv->node).instances)
        for (const auto& [rid, r] : in.resources)
            if (const auto* b = std::get_if<Bytes>(&r.value.storage())) {
                EXPECT_EQ(as_string_view(*b).find("K3y!"), std::string_view::npos)
                    << "/0/" << iid << "/" << rid;
            }
    // A failing Bootstrap-Finish (no Server instance, NoSec account carrying the key).
    dm::Instance nosec = test::psk_account(2, 102, to_bytes("x"), kb, "coap://nosec.example");
    nosec.resources[2] = res(2, dm::Value::integer(3));
    note(store.security().write(bs, dm::Path{Oid{0}, Iid{2}},
                                test::content(dm::Path{Oid{0}, Iid{2}}, nosec),
                                WriteMode::replace));
    const FinishResult fin = store.finish(bs);
    EXPECT_FALSE(fin.ok);
    EXPECT_FALSE(fin.reasons.empty());
    texts.insert(texts.end(), fin.reasons.begin(), fin.reasons.end());
    // Corrupt persisted state holding the key.
    ClientConfig c = test::make_config(1);
    c.security.at(1).secret_key = SecretBytes(kb);
    const SecretBytes file = encode_config(c);
    Bytes bad(file.view().begin(), file.view().end());
    bad[bad.size() / 2] ^= std::byte{0x40};
    const auto d = decode_config(bad);
    EXPECT_FALSE(d);
    note(d);
    const auto trunc = decode_config(BytesView(bad).first(bad.size() - 3));
    note(trunc);
    const LoadOutcome lo = load_config(Result<Bytes>(bad), std::nullopt);
    texts.push_back(lo.error.message());

    ASSERT_FALSE(log.lines.empty()); // the flows above do log
    ASSERT_GE(texts.size(), 8u);
    const std::string all_logs = log.all();
    for (const std::string& n : needles_for(key)) {
        EXPECT_EQ(all_logs.find(n), std::string::npos) << "key leaked into logs as " << n;
        for (const auto& t : texts)
            EXPECT_EQ(t.find(n), std::string::npos) << "key leaked into error text: " << t;
    }
    // The SMS key is the first half of `key`: the prefix needles above cover it.
}

} // namespace
} // namespace lwm2m::client
