// Round-trip properties over seeded random content (deterministic: fixed seeds).
#include <lwm2m/base/random.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/dm/value_text.hpp>

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>

using namespace lwm2m::dm;

namespace {

std::uint64_t u64(lwm2m::Random& r) {
    return (std::uint64_t{r.next_u32()} << 32) | r.next_u32();
}

Value random_value(lwm2m::Random& r) {
    switch (r.uniform(9)) {
    case 0: {
        std::string s;
        for (std::uint32_t n = r.uniform(12); n > 0; --n)
            s.push_back(static_cast<char>(' ' + r.uniform(95)));
        return Value::string(std::move(s));
    }
    case 1:
        return Value::integer(static_cast<std::int64_t>(u64(r)));
    case 2:
        return Value::unsigned_integer(u64(r));
    case 3: {
        double d = 0;
        do {
            d = std::bit_cast<double>(u64(r));
        } while (!std::isfinite(d));
        return Value::float_(d);
    }
    case 4:
        return Value::boolean(r.uniform(2) == 1);
    case 5: {
        lwm2m::Bytes b(r.uniform(40));
        r.fill(b);
        return Value::opaque(std::move(b));
    }
    case 6:
        return Value::time(static_cast<std::int64_t>(u64(r)));
    case 7:
        return Value::objlnk(static_cast<std::uint16_t>(r.next_u32()),
                             static_cast<std::uint16_t>(r.next_u32()));
    default:
        return Value::corelnk("</" + std::to_string(r.uniform(100)) + ">");
    }
}

Object random_object(lwm2m::Random& r, std::uint16_t oid) {
    Object o{oid, {}};
    for (std::uint32_t ni = 1 + r.uniform(3); ni > 0; --ni) {
        const auto iid = static_cast<std::uint16_t>(r.uniform(65535));
        Instance inst{iid, {}};
        for (std::uint32_t nr = 1 + r.uniform(6); nr > 0; --nr) {
            const auto rid = static_cast<std::uint16_t>(r.next_u32());
            if (r.uniform(3) == 0) {
                Resource res = Resource::multi(rid);
                for (std::uint32_t k = 1 + r.uniform(4); k > 0; --k)
                    res.instances.emplace(static_cast<std::uint16_t>(r.next_u32()),
                                          random_value(r));
                inst.resources.emplace(rid, std::move(res));
            } else {
                inst.resources.emplace(rid, Resource::single(rid, random_value(r)));
            }
        }
        o.instances.emplace(iid, std::move(inst));
    }
    return o;
}

} // namespace

TEST(RoundTripProperty, FlattenUnflattenObjects) {
    lwm2m::SeededRandom rng(20261127);
    for (int round = 0; round < 300; ++round) {
        const auto oid = static_cast<std::uint16_t>(rng.uniform(40000));
        const Content c{Path(lwm2m::Oid{oid}), random_object(rng, oid)};
        const auto recs = flatten(c);
        for (std::size_t k = 1; k < recs.size(); ++k)
            ASSERT_LT(recs[k - 1].path, recs[k].path);
        auto back = unflatten(c.path, recs);
        ASSERT_TRUE(back) << round;
        ASSERT_EQ(*back, c) << round;
        // records in reverse order rebuild the same content
        std::vector<Record> rev(recs.rbegin(), recs.rend());
        ASSERT_EQ(unflatten(c.path, rev).value(), c) << round;
    }
}

TEST(RoundTripProperty, TextFormOfRandomValues) {
    lwm2m::SeededRandom rng(7);
    for (int round = 0; round < 20000; ++round) {
        const Value v = random_value(rng);
        auto s = format_text(v);
        ASSERT_TRUE(s);
        auto back = parse_text(v.type(), *s);
        ASSERT_TRUE(back) << to_string(v.type()) << " '" << *s << "'";
        if (v.type() == DataType::float_) {
            // bit-exact (also keeps the sign of zero)
            const double a = v.as_float(), b = back->as_float();
            ASSERT_EQ(std::memcmp(&a, &b, sizeof a), 0) << *s;
        } else {
            ASSERT_EQ(*back, v) << *s;
        }
    }
}
