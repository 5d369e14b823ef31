// Guards the "no heap allocation" contract of decode/decode_into and of encode into a caller
// buffer (codec.hpp). A separate executable: it links lwm2m_alloc_counter, which counts operator
// new.
#include <gtest/gtest.h>

#include <vector>

#include <lwm2m/coap/codec.hpp>

#include "alloc_counter.hpp"
#include "support/coap_samples.hpp"

namespace lwm2m::coap {
namespace {

TEST(CoapCodecAlloc, DecodeAndEncodeIntoBufferDoNotAllocate) {
    const Message m = lwm2m::test::make_register();
    const Bytes wire = encode(m);
    const Bytes bad = [] {
        Bytes b = to_bytes("@\x01\x00\x01");
        b.push_back(std::byte{0xff}); // payload marker without payload
        return b;
    }();
    std::vector<std::byte> out(512);
    MessageView view;

    const std::size_t before = lwm2m::test::allocation_count();
    bool ok = true;
    for (int i = 0; i < 100; ++i) {
        ok = ok && decode_into(wire, view).has_value();
        auto by_value = decode(wire);
        ok = ok && by_value.has_value();
        ok = ok && !decode_into(bad, view).has_value(); // error path: error_code, no allocation
        ok = ok && decode_into(wire, view).has_value();
        ok = ok && encode(view, out).has_value();
        ok = ok && encode(m, out).has_value();
        ok = ok && encoded_size(m) == wire.size();
    }
    const std::size_t allocations = lwm2m::test::allocation_count() - before;
    EXPECT_TRUE(ok);
    EXPECT_EQ(allocations, 0U);

    // The counter works: an owning copy does allocate.
    const std::size_t before_copy = lwm2m::test::allocation_count();
    Message copy = Message::from_view(view);
    EXPECT_GT(lwm2m::test::allocation_count(), before_copy);
    EXPECT_EQ(copy, m);
}

} // namespace
} // namespace lwm2m::coap
