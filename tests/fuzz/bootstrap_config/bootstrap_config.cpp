// Fuzz target: the bootstrap configuration codec and validation. Whatever the input, decoding
// must not crash; a decoded configuration re-encodes and decodes to the same configuration;
// validation never crashes, its reasons do not depend on key values (so never hold them), and the
// memory store accepts exactly the configurations validation accepts; a valid configuration without
// generated credentials always yields its DM credential records; the public view holds no secret.
// Each input is tried twice: as a whole blob, and as a payload wrapped in a valid header and
// CRC-32, so that mutations reach the payload parser instead of stopping at the CRC check.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <lwm2m/client/config_codec.hpp>
#include <lwm2m/client/security_object.hpp>
#include <lwm2m/store/bootstrap_config_codec.hpp>
#include <lwm2m/store/memory_bootstrap_config_store.hpp>

namespace {

void check(lwm2m::BytesView in) {
    using namespace lwm2m;
    auto c = store::decode_bootstrap_config(in);
    if (!c) {
        if (c.error() != make_error_code(store::ConfigErrc::invalid)) std::abort();
        return;
    }
    const auto blob = store::encode_bootstrap_config(*c);
    if (!blob) std::abort();
    const auto again = store::decode_bootstrap_config(blob->view());
    if (!again || !(*again == *c)) std::abort();
    const auto reasons = store::check_bootstrap_config(*c);
    // Reasons never depend on key values, only on their sizes: the same configuration with every
    // PSK key inverted (the bootstrap key and the PSK-mode accounts' keys; RPK/X.509 private keys
    // are checked against their public halves) gives the same reasons, so none can carry a key.
    store::BootstrapConfig other = *c;
    auto invert = [](SecretBytes& k) {
        Bytes b(k.view().begin(), k.view().end());
        for (auto& x : b)
            x = ~x;
        k = SecretBytes(b);
        secure_wipe(b.data(), b.size());
    };
    invert(other.bootstrap_credentials.psk_key);
    for (auto& [iid, s] : other.accounts.security)
        if (s.security_mode == client::SecurityMode::psk) invert(s.secret_key);
    if (store::check_bootstrap_config(other) != reasons) std::abort();
    store::MemoryBootstrapConfigStore st;
    const bool stored = static_cast<bool>(st.put(*c));
    if (stored != reasons.empty()) std::abort();
    if (stored && c->generate.empty() && !store::dm_credentials_for(c->endpoint, c->accounts))
        std::abort();
    const auto view = store::public_view(*c);
    for (const auto& [iid, in2] : view.security)
        if (in2.resources.count(5) != 0 || in2.resources.count(8) != 0) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lwm2m;
    const BytesView in(reinterpret_cast<const std::byte*>(data), size);
    check(in);
    if (size > store::max_bootstrap_config_size - 16) return 0;
    Bytes wrapped = {std::byte{'L'}, std::byte{'w'},
                     std::byte{'B'}, std::byte{'C'},
                     std::byte{0},   std::byte{store::bootstrap_config_format_version},
                     std::byte{0},   std::byte{0}};
    for (int k = 0; k < 4; ++k)
        wrapped.push_back(static_cast<std::byte>(size >> (24 - 8 * k)));
    wrapped.insert(wrapped.end(), in.begin(), in.end());
    const std::uint32_t crc = client::crc32(wrapped);
    for (int k = 0; k < 4; ++k)
        wrapped.push_back(static_cast<std::byte>(crc >> (24 - 8 * k)));
    check(wrapped);
    return 0;
}
