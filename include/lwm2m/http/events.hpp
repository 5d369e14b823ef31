// Server-sent events (HTML Living Standard §9.2 "Server-sent events"): the hub between the
// engines, which publish events, and the GET /api/events streams.
//
// Publishing is thread-safe and cheap: publish() takes the event object, numbers it, keeps it in
// a bounded ring (for Last-Event-ID resume) and queues a pointer to it on each matching
// subscription; the JSON text is produced later on the HTTP thread (format_sse). Each subscription
// has a bounded queue: a consumer that falls more than `queue_limit` events behind is cut off; it
// receives a final "dropped" event and its stream closes (memory never grows with a slow reader).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lwm2m::http {

/// The event types of GET /api/events (docs/rest-api.md lists their data).
enum class EventType : std::uint8_t {
    registration,   ///< a client registered (LwM2M TS 1.1 §6.2.1)
    update,         ///< a registration update (§6.2.2)
    deregistration, ///< a client deregistered or its registration expired (§6.2.3)
    notification,   ///< an observation produced a value (§6.4.2)
    bootstrap,      ///< a bootstrap session started, finished or failed (§6.1)
    sleeping,       ///< a queue-mode client went to sleep (§6.5)
    awake,          ///< a queue-mode client is reachable again
    coap,           ///< a CoAP exchange log entry (diagnostics)
    lost,           ///< stream-only: events were missed (resume point outside the ring)
    dropped,        ///< stream-only: the consumer was too slow; the stream ends
};

/// "registration", "update", ...
[[nodiscard]] std::string_view to_string(EventType t) noexcept;
[[nodiscard]] std::optional<EventType> event_type_from_string(std::string_view s) noexcept;

/// What an engine publishes.
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json's destructor may allocate (it
// flattens nested values on a vector); out of memory there ends the process either way.
struct Event {
    EventType type = EventType::registration;
    std::string endpoint; ///< the client endpoint name (may be empty)
    nlohmann::json data;  ///< the event's payload object
};

/// A published event with its sequence number (the SSE `id:`) and publication time.
// NOLINTNEXTLINE(bugprone-exception-escape): as Event.
struct StoredEvent {
    std::uint64_t id = 0;
    std::int64_t time_ms = 0; ///< Unix time in milliseconds
    Event event;
};

/// One SSE frame: "id: N\nevent: type\ndata: {...}\n\n". The data is the JSON object
/// {"id", "type", "ep", "time", "data"}. `with_id` false omits the id line (stream-only events).
[[nodiscard]] std::string format_sse(const StoredEvent& e, bool with_id = true);

/// Which events a stream wants. Empty vectors match everything.
struct EventFilter {
    std::vector<std::string> endpoints; ///< exact endpoint names (?ep=a&ep=b or ?ep=a,b)
    std::vector<EventType> types;       ///< (?type=registration,update)
    [[nodiscard]] bool matches(const Event& e) const;
};

struct EventHubOptions {
    std::size_t ring_size = 1024;  ///< events kept for Last-Event-ID resume
    std::size_t queue_limit = 512; ///< per-subscription backlog before it is dropped
    std::size_t max_subscriptions = 64;
};

struct EventHubStats {
    std::uint64_t published = 0;
    std::uint64_t dropped_subscriptions = 0;
    std::size_t subscriptions = 0;
};

class EventHub;

/// One stream's queue (HTTP side). Thread-safe.
class Subscription {
public:
    /// Called (from the publishing thread) when the queue goes from empty to non-empty or the
    /// subscription is dropped; the stream then calls take(). Must be cheap and non-blocking.
    void set_notify(std::function<void()> notify);
    /// Takes the queued frames, already formatted (this runs on the HTTP thread). After an
    /// overflow the last frame is the "dropped" event and `*finished` is set: write, then close.
    [[nodiscard]] std::string take(bool* finished);
    /// Leaves the hub (idempotent; also on destruction).
    void close();
    ~Subscription();

    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

private:
    friend class EventHub;
    Subscription(std::weak_ptr<EventHub> hub, EventFilter filter, std::size_t limit);
    /// Hub side, under the hub's lock. Returns whether notify must be called.
    bool push(std::shared_ptr<const StoredEvent> e);

    std::weak_ptr<EventHub> hub_;
    EventFilter filter_;
    std::size_t limit_;
    std::mutex mutex_;
    std::deque<std::shared_ptr<const StoredEvent>> queue_;
    std::vector<std::string> preamble_; ///< formatted stream-only frames to send first
    bool overflowed_ = false;
    bool closed_ = false;
    std::function<void()> notify_;
};

class EventHub : public std::enable_shared_from_this<EventHub> {
public:
    /// Always held by shared_ptr (subscriptions refer back to it).
    static std::shared_ptr<EventHub> create(EventHubOptions options = {});

    /// Numbers, stores and fans out `e`. Thread-safe (any thread, typically the engine's);
    /// never blocks on a consumer. Returns the event's id.
    std::uint64_t publish(Event e);

    /// A new stream. With `last_event_id` (the Last-Event-ID header), the ring's matching events
    /// after it are queued first; when the ring no longer holds the event after it (or the id is
    /// from the future, e.g. before a restart), a "lost" event is queued first instead, telling
    /// the consumer to re-read state. Returns nullptr when max_subscriptions streams are open.
    [[nodiscard]] std::shared_ptr<Subscription>
    subscribe(EventFilter filter, std::optional<std::uint64_t> last_event_id);

    /// Wakes every subscription so that its stream notices a stop (graceful shutdown).
    void close_all();

    [[nodiscard]] EventHubStats stats() const;
    /// The id the next event will get minus one (0 before the first).
    [[nodiscard]] std::uint64_t last_id() const;

private:
    friend class Subscription;
    explicit EventHub(EventHubOptions options);
    void remove(Subscription* s);

    EventHubOptions options_;
    mutable std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    std::deque<std::shared_ptr<const StoredEvent>> ring_;
    std::vector<Subscription*> subs_;
    EventHubStats stats_;
};

} // namespace lwm2m::http
