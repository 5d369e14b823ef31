// Fuzz target: the persisted client state decoder (client::decode_config). Whatever the input,
// decoding must not crash; a decoded configuration must be consistent and re-encode to exactly the
// input (the format is canonical; a version 1 file re-encodes as version 2), and decoding that
// again must give the same configuration.
// Each input is tried twice: as a whole file, and as a payload wrapped in a valid header and
// CRC-32, so that mutations reach the payload parser and the Object 0/1 value rules instead of
// stopping at the CRC check.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <lwm2m/client/config_codec.hpp>

namespace {

struct FixedWallClock final : lwm2m::WallClock {
    [[nodiscard]] std::int64_t unix_seconds() const override { return 1'700'000'000; }
};

void check(lwm2m::BytesView in) {
    using namespace lwm2m;
    const auto c = client::decode_config(in);
    if (!c) {
        // Clear error from the client category, never anything else.
        if (c.error().category() != client::client_category()) std::abort();
        return;
    }
    if (!client::check_consistency(*c).empty()) std::abort();
    const SecretBytes again = client::encode_config(*c);
    // Canonical: a current-version file re-encodes to itself; an older one (version 1, no purge
    // deadline) re-encodes to the current version of the same configuration.
    const auto version = static_cast<std::uint16_t>((static_cast<unsigned>(in[4]) << 8) |
                                                    static_cast<unsigned>(in[5]));
    if (version == client::config_format_version) {
        if (!equal(again.view(), in)) std::abort();
    } else if (c->bs_purge_at || version < client::config_oldest_readable_version) {
        std::abort();
    }
    const auto c2 = client::decode_config(again.view());
    if (!c2 || !(*c2 == *c)) std::abort();
    // The AccountStore accepts it as the committed configuration, with the Resource 12 deadline
    // (when persisted) restored within [now, now + Resource 12].
    const FixedWallClock wall;
    const TimePoint now = TimePoint{} + std::chrono::hours(1);
    const client::AccountStore store(*c, wall, now);
    if (!(store.committed() == *c)) std::abort();
    if (c->bs_purge_at.has_value() != store.next_deadline().has_value()) std::abort();
    if (store.next_deadline() &&
        (*store.next_deadline() < now ||
         *store.next_deadline() > now + std::chrono::seconds(client::max_seconds_value)))
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lwm2m;
    const BytesView in(reinterpret_cast<const std::byte*>(data), size);
    check(in);
    if (size > client::max_config_file_size - 16) return 0;
    Bytes wrapped = {std::byte{'L'}, std::byte{'w'}, std::byte{'C'},
                     std::byte{'S'}, std::byte{0},   std::byte{client::config_format_version},
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
