#include <lwm2m/transport/errc.hpp>

#include <string>

namespace lwm2m::transport {
namespace {
class TransportCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "lwm2m.transport"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::unsupported_family:
            return "address family not supported by this socket";
        case Errc::resolve_failed:
            return "host name could not be resolved to an IP address";
        case Errc::no_socket:
            return "no socket given to the driver";
        }
        return "unknown transport error";
    }
};
} // namespace

const std::error_category& transport_category() noexcept {
    static const TransportCategory c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), transport_category()};
}

} // namespace lwm2m::transport
