#include <lwm2m/bootstrap/errc.hpp>

#include <string>

namespace lwm2m::bootstrap {
namespace {

class Category final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "lwm2m.bootstrap"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::invalid_config:
            return "invalid bootstrap engine configuration";
        case Errc::unknown_endpoint:
            return "unknown endpoint";
        case Errc::no_known_peer:
            return "no address known for the endpoint";
        case Errc::not_authenticated:
            return "the peer is not authenticated as the endpoint";
        case Errc::no_such_listener:
            return "no such listener";
        case Errc::session_limit:
            return "too many bootstrap sessions";
        case Errc::no_session:
            return "no such bootstrap session";
        case Errc::credential_generation:
            return "generating the DM credentials failed";
        case Errc::superseded:
            return "superseded by a new bootstrap of the endpoint or from the peer";
        case Errc::session_timeout:
            return "the bootstrap session timed out";
        case Errc::cancelled:
            return "cancelled";
        case Errc::dtls_closed:
            return "the DTLS session ended";
        case Errc::bad_response:
            return "the client's answer could not be used";
        case Errc::client_error:
            return "the client answered with an error";
        case Errc::refused:
            return "the Bootstrap-Request was refused";
        }
        return "unknown bootstrap error";
    }
};

} // namespace

const std::error_category& bootstrap_category() noexcept {
    static const Category c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), bootstrap_category()};
}

} // namespace lwm2m::bootstrap
