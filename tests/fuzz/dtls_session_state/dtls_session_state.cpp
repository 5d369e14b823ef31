// Fuzz target: decode_session_state (issue #13) on arbitrary bytes, and open_session_state on the
// same bytes as a sealed blob. Must never crash; whatever decodes must re-encode to the same
// bytes (the codec is canonical) and give a RecordPath or a clean error.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <lwm2m/dtls/session_state.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lwm2m;
    using namespace lwm2m::dtls;
    const BytesView in(reinterpret_cast<const std::byte*>(data), size);
    if (auto s = decode_session_state(in)) {
        auto again = encode_session_state(*s);
        if (!again || again->size() != size || std::memcmp(again->data(), data, size) != 0)
            __builtin_trap(); // not canonical: decode accepted what encode would not produce
        auto path = RecordPath::create(std::move(*s));
        if (path) {
            const Bytes rec =
                path->seal(in.first(std::min<std::size_t>(size, 64))).value_or(Bytes{});
            (void)path->open(rec);
        }
    }
    static const SecretBytes key(Bytes(kClusterKeySize, std::byte{0x42}));
    (void)open_session_state(in, key, PeerAddr::v4(192, 0, 2, 1, 5683));
    return 0;
}
