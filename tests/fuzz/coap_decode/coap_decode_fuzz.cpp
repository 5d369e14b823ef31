// Fuzz target: coap::decode on arbitrary bytes (RFC 7252 §3). Checks, beyond "no crash":
//  - decode() and decode_into() agree;
//  - every accepted datagram re-encodes byte for byte from the view (one encoding per message),
//    and again from the owning Message::from_view copy when its options satisfy the option
//    registry (else encode(Message) refuses it), with encoded_size() exact;
//  - check_options() leaves (unless it rejects the message) only options that encode() accepts;
//  - option numbers never decrease and every view lies inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <lwm2m/base/errc.hpp>
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
    if (m.options_valid()) {
        check(again.size() == size && (size == 0 || std::memcmp(again.data(), data, size) == 0));
    } else {
        // encode(Message) never emits what a peer must treat as unrecognized (a registered
        // option with a length out of range or repeated when it must not be, RFC 7252 §5.4.3,
        // §5.4.5): the empty buffer, and invalid_argument from the Result overload.
        check(again.empty());
        const auto refused = encode(m, out);
        check(!refused && refused.error() == lwm2m::Errc::invalid_argument);
    }

    // check_options() (what the Endpoint runs on every message): it only removes elective
    // occurrences; unless the message is rejected, what is left satisfies the registry and
    // encodes from an owning Message.
    static MessageView checked;
    checked = view;
    const auto oc = checked.check_options();
    check(checked.option_count + oc.ignored == view.option_count);
    check(!oc.reject || option::is_critical(oc.rejected_option));
    if (!oc.reject) {
        const Message cm = Message::from_view(checked);
        check(cm.options_valid());
        const Bytes enc = encode(cm);
        check(enc.size() == encoded_size(cm));
    }
    return 0;
}
