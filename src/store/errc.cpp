#include <lwm2m/store/errc.hpp>

namespace lwm2m::store {
namespace {
class StoreCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "lwm2m.store"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::conflict:
            return "credential already bound to another endpoint";
        case Errc::unavailable:
            return "store unavailable";
        case Errc::corrupt:
            return "stored data is corrupt";
        }
        return "unknown store error";
    }
};
} // namespace

const std::error_category& store_category() noexcept {
    static const StoreCategory c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), store_category()};
}

} // namespace lwm2m::store
