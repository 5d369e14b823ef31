#include <lwm2m/transport/system_random.hpp>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <sys/random.h>

#include <lwm2m/base/throw.hpp>

namespace lwm2m::transport {

void os_random_bytes(std::span<std::byte> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_or_abort<std::system_error>(errno, std::system_category(), "getrandom");
        }
        done += static_cast<std::size_t>(n);
    }
}

namespace {
std::uint64_t os_seed() {
    std::byte b[8];
    os_random_bytes(b);
    std::uint64_t v = 0;
    std::memcpy(&v, b, sizeof v);
    return v;
}
} // namespace

SystemRandom::SystemRandom()
    : prng_(os_seed()) {}

std::uint32_t SystemRandom::next_u32() {
    return prng_.next_u32();
}

void SystemRandom::fill(std::span<std::byte> out) {
    os_random_bytes(out);
}

} // namespace lwm2m::transport
