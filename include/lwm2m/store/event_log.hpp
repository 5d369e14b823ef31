// EventLog: a bounded history of what happened to devices (registrations, updates, expiries,
// Send data, failed requests), for the REST API and operators. The driver appends the engine's
// events (server::to_event_record); the engine itself never writes here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/store/errc.hpp>

namespace lwm2m::store {

struct EventRecord {
    std::uint64_t seq = 0; ///< assigned by append(): strictly increasing
    std::int64_t time = 0; ///< Unix milliseconds
    std::string endpoint;  ///< empty for server-wide events
    std::string kind;      ///< "registered", "updated", "deregistered", "send", ...
    std::string detail;    ///< short human-readable text; never key material
    friend bool operator==(const EventRecord&, const EventRecord&) = default;
};

struct EventQuery {
    std::uint64_t after_seq = 0;         ///< only events with seq > after_seq
    std::optional<std::string> endpoint; ///< only this endpoint's events
    std::size_t limit = 100;             ///< at most this many, oldest first
};

class EventLog {
public:
    virtual ~EventLog() = default;
    /// Appends one event and returns its sequence number. A bounded log drops its oldest
    /// events. Errors: implementation-specific (I/O).
    [[nodiscard]] virtual Result<std::uint64_t> append(EventRecord event) = 0;
    /// Events matching the query, oldest first. Errors: as append().
    [[nodiscard]] virtual Result<std::vector<EventRecord>> read(const EventQuery& query) const = 0;
};

} // namespace lwm2m::store
