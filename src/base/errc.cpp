#include <lwm2m/base/errc.hpp>

namespace lwm2m {
namespace {
class BaseCategory final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "lwm2m.base"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::invalid_argument:
            return "invalid argument";
        case Errc::invalid_state:
            return "operation not allowed in the current state";
        case Errc::limit_exceeded:
            return "configured limit exceeded";
        case Errc::not_found:
            return "not found";
        case Errc::buffer_too_small:
            return "output buffer too small";
        case Errc::io_error:
            return "I/O error";
        case Errc::parse_error:
            return "parse error";
        }
        return "unknown base error";
    }
};
} // namespace

const std::error_category& base_category() noexcept {
    static const BaseCategory c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), base_category()};
}

} // namespace lwm2m
