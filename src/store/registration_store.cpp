// RegistrationStore's default find_by_location(): a scan of load().
#include <lwm2m/store/registration_store.hpp>

namespace lwm2m::store {

Result<std::optional<RegistrationRecord>>
RegistrationStore::find_by_location(std::string_view location) const {
    std::optional<RegistrationRecord> found;
    LWM2M_TRY_VOID(load(
        [&](RegistrationRecord&& r) {
            if (!found && r.location == location) found = std::move(r);
        },
        [](ObservationRecord&&) {}));
    return found;
}

} // namespace lwm2m::store
