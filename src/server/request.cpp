#include <lwm2m/server/errc.hpp>
#include <lwm2m/server/events.hpp>
#include <lwm2m/server/request.hpp>

namespace lwm2m::server {

std::string_view to_string(Operation op) noexcept {
    switch (op) {
    case Operation::read:
        return "read";
    case Operation::discover:
        return "discover";
    case Operation::write_replace:
        return "write-replace";
    case Operation::write_update:
        return "write-update";
    case Operation::write_attributes:
        return "write-attributes";
    case Operation::execute:
        return "execute";
    case Operation::create:
        return "create";
    case Operation::delete_:
        return "delete";
    case Operation::observe:
        return "observe";
    case Operation::cancel_observation:
        return "cancel-observation";
    case Operation::read_composite:
        return "read-composite";
    case Operation::write_composite:
        return "write-composite";
    case Operation::observe_composite:
        return "observe-composite";
    case Operation::cancel_observe_composite:
        return "cancel-observe-composite";
    }
    return "unknown";
}

Request Request::read(dm::Path p, std::optional<format::ContentFormat> accept) {
    Request r;
    r.op = Operation::read;
    r.path = p;
    r.accept = accept;
    return r;
}
Request Request::discover(dm::Path p) {
    Request r;
    r.op = Operation::discover;
    r.path = p;
    return r;
}
Request Request::write(dm::Content c, bool replace, std::optional<format::ContentFormat> f) {
    Request r;
    r.op = replace ? Operation::write_replace : Operation::write_update;
    r.path = c.path;
    r.content = std::move(c);
    r.format = f;
    return r;
}
Request Request::write_attributes(dm::Path p, std::vector<format::LinkAttr> attrs) {
    Request r;
    r.op = Operation::write_attributes;
    r.path = p;
    r.attributes = std::move(attrs);
    return r;
}
Request Request::execute(dm::Path p, std::string arguments) {
    Request r;
    r.op = Operation::execute;
    r.path = p;
    r.arguments = std::move(arguments);
    return r;
}
Request Request::create(dm::Content c, std::optional<format::ContentFormat> f) {
    Request r;
    r.op = Operation::create;
    r.path = c.path;
    r.content = std::move(c);
    r.format = f;
    return r;
}
Request Request::delete_(dm::Path p) {
    Request r;
    r.op = Operation::delete_;
    r.path = p;
    return r;
}
Request Request::observe(dm::Path p, std::optional<format::ContentFormat> accept) {
    Request r;
    r.op = Operation::observe;
    r.path = p;
    r.accept = accept;
    return r;
}
Request Request::read_composite(std::vector<dm::Path> paths,
                                std::optional<format::ContentFormat> f) {
    Request r;
    r.op = Operation::read_composite;
    r.paths = std::move(paths);
    r.format = f;
    return r;
}
Request Request::write_composite(std::vector<dm::Record> records,
                                 std::optional<format::ContentFormat> f) {
    Request r;
    r.op = Operation::write_composite;
    r.records = std::move(records);
    r.format = f;
    return r;
}
Request Request::observe_composite(std::vector<dm::Path> paths,
                                   std::optional<format::ContentFormat> f) {
    Request r;
    r.op = Operation::observe_composite;
    r.paths = std::move(paths);
    r.format = f;
    return r;
}

Result<void> validate_execute_arguments(std::string_view a) {
    // TS 1.1 §5.4.5: arglist = arg *( "," arg ); arg = DIGIT [ "=" "'" *CHAR "'" ];
    // CHAR = %x21 / %x23-26 / %x28-5B / %x5D-7E (printable, no '"', ''' or '\').
    if (a.empty()) return ok();
    std::size_t i = 0;
    while (true) {
        if (i >= a.size() || a[i] < '0' || a[i] > '9') return fail(Errc::invalid_request);
        ++i;
        if (i < a.size() && a[i] == '=') {
            ++i;
            if (i >= a.size() || a[i] != '\'') return fail(Errc::invalid_request);
            ++i;
            while (i < a.size() && a[i] != '\'') {
                const auto c = static_cast<unsigned char>(a[i]);
                if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
                    return fail(Errc::invalid_request);
                ++i;
            }
            if (i >= a.size()) return fail(Errc::invalid_request);
            ++i; // closing quote
        }
        if (i == a.size()) return ok();
        if (a[i] != ',') return fail(Errc::invalid_request);
        ++i;
    }
}

std::string_view to_string(DeregisterReason r) noexcept {
    switch (r) {
    case DeregisterReason::deregistered:
        return "deregistered";
    case DeregisterReason::expired:
        return "expired";
    case DeregisterReason::removed:
        return "removed";
    case DeregisterReason::not_durable:
        return "not-durable";
    case DeregisterReason::moved:
        return "moved";
    }
    return "unknown";
}

std::string_view to_string(ObservationEndReason r) noexcept {
    switch (r) {
    case ObservationEndReason::cancelled:
        return "cancelled";
    case ObservationEndReason::registration:
        return "registration-ended";
    case ObservationEndReason::reset:
        return "reset";
    case ObservationEndReason::error:
        return "error";
    case ObservationEndReason::refused:
        return "refused";
    }
    return "unknown";
}

store::EventRecord to_event_record(const Event& e, std::int64_t unix_ms) {
    store::EventRecord rec;
    rec.time = unix_ms;
    struct V {
        store::EventRecord& r;
        void operator()(const Registered& x) const {
            r.endpoint = x.endpoint;
            r.kind = x.restored ? "restored" : "registered";
            r.detail = "location " + x.location + ", lwm2m " +
                       std::string(dm::to_string(x.version)) + ", lifetime " +
                       std::to_string(x.lifetime_s) + " s" + (x.queue_mode ? ", queue mode" : "") +
                       ", from " + x.peer.to_string() + (x.replaced ? ", replaced" : "");
        }
        void operator()(const Updated& x) const {
            r.endpoint = x.endpoint;
            r.kind = "updated";
            r.detail = "from " + x.peer.to_string();
            if (x.address_changed) r.detail += ", new address";
            if (x.objects_changed) r.detail += ", objects changed";
            if (x.parameters_changed) r.detail += ", parameters changed";
        }
        void operator()(const Deregistered& x) const {
            r.endpoint = x.endpoint;
            r.kind = "deregistered";
            r.detail = std::string(to_string(x.reason));
        }
        void operator()(const ResponseEvent& x) const {
            r.endpoint = x.endpoint;
            r.kind = "response";
            r.detail = std::string(to_string(x.op)) + " " + x.code.to_string() + ", " +
                       std::to_string(x.payload_size) + " bytes";
            if (x.decode_error) r.detail += ", undecodable: " + x.decode_error.message();
            if (!x.diagnostic.empty()) r.detail += ": " + x.diagnostic;
        }
        void operator()(const RequestFailed& x) const {
            r.endpoint = x.endpoint;
            r.kind = "request-failed";
            r.detail = std::string(to_string(x.op)) + ": " + x.error.message();
        }
        void operator()(const NotificationEvent& x) const {
            r.endpoint = x.endpoint;
            r.kind = "notification";
            r.detail = "observation " + std::to_string(x.id.value) + ", " +
                       std::to_string(x.payload_size) + " bytes";
        }
        void operator()(const ObservationEnded& x) const {
            r.endpoint = x.endpoint;
            r.kind = "observation-ended";
            r.detail = "observation " + std::to_string(x.id.value) + ": " +
                       std::string(to_string(x.reason));
        }
        void operator()(const SendEvent& x) const {
            r.endpoint = x.endpoint;
            r.kind = "send";
            r.detail = std::to_string(x.records.size()) + " records, " +
                       std::to_string(x.payload_size) + " bytes";
        }
    };
    std::visit(V{rec}, e);
    return rec;
}

} // namespace lwm2m::server
