#include <lwm2m/store/errc.hpp>

#include <string>

namespace lwm2m::store {
namespace {
class StoreCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "lwm2m.store"; }
    std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::open_failed:
            return "the database could not be opened";
        case Errc::sql_error:
            return "the database rejected a statement";
        case Errc::busy:
            return "the database is locked by another process";
        case Errc::constraint:
            return "a database constraint failed";
        case Errc::corrupt:
            return "the stored data is damaged";
        case Errc::io_error:
            return "disk I/O error on the database";
        case Errc::newer_schema:
            return "the database was written by a newer version of this program";
        case Errc::decrypt_failed:
            return "a stored secret does not decrypt with this key";
        case Errc::conflict:
            return "credential already bound to another endpoint";
        case Errc::unavailable:
            return "store unavailable";
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
