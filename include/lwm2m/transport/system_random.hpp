// Randomness from the operating system, for apps (docs/architecture.md §2: cores receive a
// Random&).
#pragma once

#include <cstdint>
#include <span>

#include <lwm2m/base/random.hpp>

namespace lwm2m::transport {

/// next_u32() is a fast xoshiro128** stream seeded from getrandom(2) (message IDs, jitter);
/// fill() reads getrandom(2) directly so that tokens and other unguessable bytes come from the
/// kernel CSPRNG (RFC 7252 §5.3.1 asks tokens to be hard to guess).
class SystemRandom final : public Random {
public:
    SystemRandom();
    std::uint32_t next_u32() override;
    void fill(std::span<std::byte> out) override;

private:
    SeededRandom prng_;
};

/// Fills `out` from getrandom(2), retrying on EINTR and short reads. Throws std::system_error if
/// the kernel refuses (only possible before the entropy pool is initialised, never on Linux >= 5.6
/// after boot).
void os_random_bytes(std::span<std::byte> out);

} // namespace lwm2m::transport
