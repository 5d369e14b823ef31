// Fuzz target: coap::decode on arbitrary bytes (RFC 7252 §3). Checks, beyond "no crash":
//  - decode() and decode_into() agree;
//  - every accepted datagram re-encodes byte for byte from the view (one encoding per message),
//    and again from the owning Message::from_view copy, with encoded_size() exact;
//  - option numbers never decrease and every view lies inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <lwm2m/coap/codec.hpp>

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

bool inside(lwm2m::BytesView part, lwm2m::BytesView whole) {
    if (part.empty()) return true;
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lwm2m;
    using namespace lwm2m::coap;
    const BytesView in(reinterpret_cast<const std::byte*>(data), size);

    static MessageView view; // large; keep it off the fuzzer's stack
    const auto r = decode_into(in, view);
    const auto r2 = decode(in);
    check(r.has_value() == r2.has_value());
    if (!r) {
        check(r.error() == r2.error());
        check(&r.error().category() == &coap_category());
        return 0;
    }

    check(view.option_count <= MessageView::max_options);
    check(view.token.size() <= 8);
    check(inside(view.payload, in));
    std::uint16_t prev = 0;
    for (const auto& o : view.options()) {
        check(o.number >= prev);
        check(inside(o.value, in));
        prev = o.number;
    }

    std::vector<std::byte> out(size);
    const auto w = encode(view, out);
    check(w.has_value() && *w == size);
    check(size == 0 || std::memcmp(out.data(), data, size) == 0);

    const Message m = Message::from_view(view);
    check(encoded_size(m) == size);
    const Bytes again = encode(m);
    check(again.size() == size && (size == 0 || std::memcmp(again.data(), data, size) == 0));
    return 0;
}
