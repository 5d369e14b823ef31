#include <lwm2m/server/errc.hpp>

namespace lwm2m::server {
namespace {
class ServerCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "lwm2m.server"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::bad_request:
            return "bad request";
        case Errc::forbidden:
            return "forbidden";
        case Errc::unsupported_version:
            return "LwM2M version not supported";
        case Errc::not_registered:
            return "endpoint not registered";
        case Errc::invalid_request:
            return "invalid request";
        case Errc::queue_full:
            return "request queue full";
        case Errc::timeout:
            return "request timed out";
        case Errc::cancelled:
            return "request cancelled";
        case Errc::deregistered:
            return "registration ended";
        case Errc::not_durable:
            return "registration change not durable";
        case Errc::unknown_observation:
            return "unknown observation";
        }
        return "unknown server error";
    }
};
} // namespace

const std::error_category& server_category() noexcept {
    static const ServerCategory c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), server_category()};
}

} // namespace lwm2m::server
