// throw_or_abort: `throw E(args...)` where the build has exceptions, std::abort() where it is
// compiled without them (-fno-exceptions, the size-optimised device configuration of the client,
// docs/performance.md). Only for the few errors this library reports by exception (a broken
// precondition of a container, a system call that cannot fail in a working system); everything
// else is an error value (docs/architecture.md "Errors").
#pragma once

#include <cstdlib>
#include <utility>

namespace lwm2m {

template <class E, class... A>
[[noreturn]] void throw_or_abort([[maybe_unused]] A&&... a) {
#if defined(__cpp_exceptions)
    throw E(std::forward<A>(a)...);
#else
    std::abort();
#endif
}

} // namespace lwm2m
