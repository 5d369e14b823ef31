// Fuzz target: the persisted client state decoder (client::decode_config). Whatever the input,
// decoding must not crash; a decoded configuration must be consistent and re-encode to exactly the
// input (the format is canonical), and decoding that again must give the same configuration.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <lwm2m/client/config_codec.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lwm2m;
    const BytesView in(reinterpret_cast<const std::byte*>(data), size);
    const auto c = client::decode_config(in);
    if (!c) {
        // Clear error from the client category, never anything else.
        if (c.error().category() != client::client_category()) std::abort();
        return 0;
    }
    if (!client::check_consistency(*c).empty()) std::abort();
    const SecretBytes again = client::encode_config(*c);
    if (!equal(again.view(), in)) std::abort();
    const auto c2 = client::decode_config(again.view());
    if (!c2 || !(*c2 == *c)) std::abort();
    // The AccountStore accepts it as the committed configuration.
    const client::AccountStore store(*c);
    if (!(store.committed() == *c)) std::abort();
    return 0;
}
