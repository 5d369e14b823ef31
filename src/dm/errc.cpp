#include <lwm2m/dm/errc.hpp>

namespace lwm2m::dm {
namespace {
class DmCategory final : public std::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "lwm2m.dm"; }
    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<Errc>(ev)) {
        case Errc::bad_path:
            return "invalid LwM2M path";
        case Errc::bad_value:
            return "invalid value for the data type";
        case Errc::type_mismatch:
            return "value type does not match the resource type";
        case Errc::out_of_range:
            return "value out of the resource's range";
        case Errc::unknown_object:
            return "unknown object";
        case Errc::unknown_resource:
            return "unknown resource";
        case Errc::bad_structure:
            return "records do not form valid content";
        case Errc::ddf_io:
            return "DDF file cannot be read";
        case Errc::ddf_too_large:
            return "DDF input over the loader's limits";
        case Errc::ddf_xml:
            return "DDF file is not well-formed XML";
        case Errc::ddf_missing_field:
            return "DDF element or attribute missing";
        case Errc::ddf_bad_field:
            return "DDF element has an invalid value";
        case Errc::ddf_duplicate:
            return "DDF element or resource id duplicated";
        case Errc::ddf_no_object:
            return "DDF file has no Object definition";
        }
        return "unknown dm error";
    }
};
} // namespace

const std::error_category& dm_category() noexcept {
    static const DmCategory c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), dm_category()};
}

} // namespace lwm2m::dm
