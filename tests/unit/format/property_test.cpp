// Seeded property tests: decode(encode(x)) == x for every value format over random content,
// cross-format equivalence, and decoders never crash on mutated payloads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include <lwm2m/format/codec.hpp>

#include "unit/format/test_defs.hpp"

namespace lwm2m::format {
namespace {

class Gen {
public:
    explicit Gen(std::uint64_t seed)
        : rng_(seed) {}
    std::uint64_t u(std::uint64_t n) {
        return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
    }
    std::uint64_t bits() { return rng_(); }

    std::string text() {
        static const char* pieces[] = {
            "a", "Z",  "0",    " ",        "\"",           "\\",
            "/", "\n", "\x01", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
            "+", ":",  "{",    "]"};
        std::string s;
        const auto n = u(12);
        for (std::uint64_t k = 0; k < n; ++k)
            s += pieces[u(std::size(pieces))];
        return s;
    }
    double real() {
        switch (u(4)) {
        case 0:
            return static_cast<double>(static_cast<std::int64_t>(bits()) % 100000);
        case 1:
            return static_cast<float>(static_cast<double>(static_cast<std::int64_t>(bits())) / 1e6);
        case 2:
            return static_cast<double>(static_cast<std::int64_t>(bits() % 2000000) - 1000000) / 7.0;
        default: {
            double d;
            do {
                const auto b = bits();
                std::memcpy(&d, &b, sizeof d);
            } while (!std::isfinite(d));
            return d;
        }
        }
    }
    std::int64_t integer() {
        switch (u(3)) {
        case 0:
            return static_cast<std::int64_t>(u(256)) - 128;
        case 1:
            return static_cast<std::int64_t>(bits() % 200000) - 100000;
        default:
            return static_cast<std::int64_t>(bits());
        }
    }
    dm::Value value(dm::DataType t) {
        using T = dm::DataType;
        switch (t) {
        case T::string:
            return dm::Value::string(text());
        case T::integer:
            return dm::Value::integer(integer());
        case T::unsigned_integer:
            return dm::Value::unsigned_integer(u(2) ? u(1000) : bits());
        case T::float_:
            return dm::Value::float_(real());
        case T::boolean:
            return dm::Value::boolean(u(2) == 1);
        case T::opaque: {
            Bytes b(u(20));
            for (auto& x : b)
                x = static_cast<std::byte>(u(256));
            return dm::Value::opaque(std::move(b));
        }
        case T::time:
            return dm::Value::time(integer());
        case T::objlnk:
            return dm::Value::objlnk(static_cast<std::uint16_t>(u(65536)),
                                     static_cast<std::uint16_t>(u(65536)));
        case T::corelnk:
            return dm::Value::corelnk("</" + std::to_string(u(100)) + ">;" + text());
        default:
            return {};
        }
    }
    dm::Resource resource(std::uint16_t rid) {
        const auto t = test::all_types[rid % 10];
        if (rid < 10) return dm::Resource::single(rid, value(t));
        dm::Resource r = dm::Resource::multi(rid);
        const auto n = 1 + u(3);
        for (std::uint64_t k = 0; k < n; ++k)
            r.instances[static_cast<std::uint16_t>(u(3) == 0 ? u(65535) : u(5))] = value(t);
        return r;
    }
    dm::Instance instance(std::uint16_t iid) {
        dm::Instance i{iid, {}};
        const auto n = 1 + u(8);
        for (std::uint64_t k = 0; k < n; ++k) {
            auto rid = static_cast<std::uint16_t>(u(2) ? u(9) : 10 + u(9));
            i.resources[rid] = resource(rid);
        }
        return i;
    }
    dm::Content content() {
        const auto iid = static_cast<std::uint16_t>(u(3) == 0 ? u(65535) : u(4));
        switch (u(4)) {
        case 0: {
            dm::Object o{9999, {}};
            const auto n = 1 + u(3);
            for (std::uint64_t k = 0; k < n; ++k) {
                const auto id = static_cast<std::uint16_t>(u(300));
                o.instances[id] = instance(id);
            }
            return {dm::Path(Oid{9999}), o};
        }
        case 1:
            return {dm::Path(Oid{9999}, Iid{iid}), instance(iid)};
        case 2: {
            const auto rid = static_cast<std::uint16_t>(u(2) ? u(9) : 10 + u(9));
            return {dm::Path(Oid{9999}, Iid{iid}, Rid{rid}), resource(rid)};
        }
        default: {
            const auto rid = static_cast<std::uint16_t>(10 + u(9));
            const auto riid = static_cast<std::uint16_t>(u(65535));
            return {dm::Path(Oid{9999}, Iid{iid}, Rid{rid}, Riid{riid}),
                    value(test::all_types[rid - 10])};
        }
        }
    }

private:
    std::mt19937_64 rng_;
};

constexpr ContentFormat tree_formats[] = {ContentFormat::lwm2m_tlv, ContentFormat::senml_json,
                                          ContentFormat::senml_cbor, ContentFormat::lwm2m_json,
                                          ContentFormat::lwm2m_cbor};

TEST(FormatProperty, RoundTripEveryFormat) {
    const auto reg = test::registry();
    Gen g(20261127);
    for (int n = 0; n < 400; ++n) {
        const auto c = g.content();
        for (auto f : tree_formats) {
            auto bytes = encode(f, c);
            ASSERT_TRUE(bytes) << to_string(f) << " " << bytes.error().message();
            auto back = decode(f, *bytes, c.path, reg);
            ASSERT_TRUE(back) << to_string(f) << " case " << n << ": " << back.error().message()
                              << "\n"
                              << as_string_view(*bytes);
            ASSERT_EQ(*back, c) << to_string(f) << " case " << n;
        }
    }
}

TEST(FormatProperty, CrossFormatEquivalence) {
    const auto reg = test::registry();
    Gen g(42);
    for (int n = 0; n < 200; ++n) {
        const auto c = g.content();
        // TLV -> nodes -> SenML CBOR -> nodes -> LwM2M JSON -> nodes -> LwM2M CBOR -> nodes ->
        // SenML JSON
        dm::Content cur = c;
        const ContentFormat chain[] = {ContentFormat::lwm2m_tlv, ContentFormat::senml_cbor,
                                       ContentFormat::lwm2m_json, ContentFormat::lwm2m_cbor,
                                       ContentFormat::senml_json};
        for (auto f : chain) {
            auto bytes = encode(f, cur);
            ASSERT_TRUE(bytes);
            auto back = decode(f, *bytes, c.path, reg);
            ASSERT_TRUE(back) << to_string(f);
            cur = std::move(*back);
        }
        ASSERT_EQ(cur, c) << "case " << n;
        // Flat records agree across formats too.
        EXPECT_EQ(to_records(c).size(), to_records(cur).size());
    }
}

TEST(FormatProperty, TextRoundTripsSingleValues) {
    const auto reg = test::registry();
    Gen g(7);
    for (int n = 0; n < 500; ++n) {
        const auto rid = static_cast<std::uint16_t>(g.u(9));
        dm::Content c{dm::Path(Oid{9999}, Iid{0}, Rid{rid}),
                      dm::Resource::single(rid, g.value(test::all_types[rid]))};
        auto bytes = encode(ContentFormat::text_plain, c);
        ASSERT_TRUE(bytes);
        auto back = decode(ContentFormat::text_plain, *bytes, c.path, reg);
        ASSERT_TRUE(back) << rid << " " << as_string_view(*bytes);
        EXPECT_EQ(*back, c);
    }
}

TEST(FormatProperty, RecordsWithTimesRoundTrip) {
    const auto reg = test::registry();
    Gen g(99);
    for (int n = 0; n < 200; ++n) {
        auto recs = to_records(g.content());
        double t = 1.6e9 + static_cast<double>(g.u(1000000));
        for (auto& r : recs) {
            r.time = t;
            t += static_cast<double>(g.u(100)) / 4.0;
        }
        for (auto f :
             {ContentFormat::senml_json, ContentFormat::senml_cbor, ContentFormat::lwm2m_json}) {
            for (bool bt : {true, false}) {
                EncodeOptions o;
                o.use_base_time = bt;
                auto bytes = encode_records(f, recs, o);
                ASSERT_TRUE(bytes);
                auto back = decode_records(f, *bytes, reg);
                ASSERT_TRUE(back) << to_string(f);
                ASSERT_EQ(*back, recs) << to_string(f) << " bt=" << bt;
            }
        }
    }
}

TEST(FormatProperty, DecodersSurviveMutatedInput) {
    const auto reg = test::registry();
    Gen g(1234);
    int decoded = 0;
    for (int n = 0; n < 300; ++n) {
        const auto c = g.content();
        for (auto f : tree_formats) {
            auto bytes = encode(f, c);
            ASSERT_TRUE(bytes);
            for (int m = 0; m < 10; ++m) {
                Bytes mut = *bytes;
                const auto edits = 1 + g.u(3);
                for (std::uint64_t e = 0; e < edits && !mut.empty(); ++e) {
                    const auto pos = g.u(mut.size());
                    switch (g.u(3)) {
                    case 0:
                        mut[pos] = static_cast<std::byte>(g.u(256));
                        break;
                    case 1:
                        mut.resize(pos);
                        break;
                    default:
                        mut.insert(mut.begin() + static_cast<std::ptrdiff_t>(pos),
                                   static_cast<std::byte>(g.u(256)));
                    }
                }
                auto r = decode(f, mut, c.path, reg);
                if (r)
                    ++decoded;
                else
                    EXPECT_NE(coap_code_for(r.error()), 0xA0); // never "internal error" for input
                auto rr = decode_records(
                    f == ContentFormat::lwm2m_tlv ? ContentFormat::senml_cbor : f, mut, reg);
                (void)rr;
            }
        }
    }
    EXPECT_GT(decoded, 0);
}

} // namespace
} // namespace lwm2m::format
