#include <lwm2m/base/log.hpp>

namespace lwm2m {
NullLogger& NullLogger::instance() noexcept {
    static NullLogger l;
    return l;
}
} // namespace lwm2m
