#include <lwm2m/http/events.hpp>

#include <algorithm>
#include <array>
#include <chrono>

namespace lwm2m::http {

namespace {
constexpr std::array<std::string_view, 10> type_names = {
    "registration", "update", "deregistration", "notification", "bootstrap",
    "sleeping",     "awake",  "coap",           "lost",         "dropped"};

std::int64_t unix_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
} // namespace

std::string_view to_string(EventType t) noexcept {
    auto i = static_cast<std::size_t>(t);
    return i < type_names.size() ? type_names[i] : "unknown";
}

std::optional<EventType> event_type_from_string(std::string_view s) noexcept {
    for (std::size_t i = 0; i < type_names.size(); ++i)
        if (type_names[i] == s) return static_cast<EventType>(i);
    return std::nullopt;
}

std::string format_sse(const StoredEvent& e, bool with_id) {
    nlohmann::json j = {{"type", std::string(to_string(e.event.type))},
                        {"time", e.time_ms},
                        {"data", e.event.data.is_null() ? nlohmann::json::object() : e.event.data}};
    if (with_id) j["id"] = e.id;
    if (!e.event.endpoint.empty()) j["ep"] = e.event.endpoint;
    std::string out;
    if (with_id) out += "id: " + std::to_string(e.id) + "\n";
    out += "event: ";
    out += to_string(e.event.type);
    out += "\ndata: ";
    // One line: dump() without indentation escapes control characters, so the data never
    // contains a newline that would split the SSE field.
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += "\n\n";
    return out;
}

bool EventFilter::matches(const Event& e) const {
    if (!types.empty() && std::find(types.begin(), types.end(), e.type) == types.end())
        return false;
    if (!endpoints.empty() &&
        std::find(endpoints.begin(), endpoints.end(), e.endpoint) == endpoints.end())
        return false;
    return true;
}

Subscription::Subscription(std::weak_ptr<EventHub> hub, EventFilter filter, std::size_t limit)
    : hub_(std::move(hub))
    , filter_(std::move(filter))
    , limit_(limit) {}

Subscription::~Subscription() {
    close();
}

void Subscription::set_notify(std::function<void()> notify) {
    bool pending;
    {
        std::lock_guard lock(mutex_);
        notify_ = std::move(notify);
        pending = !queue_.empty() || !preamble_.empty() || overflowed_ || closed_;
    }
    if (pending && notify_) notify_();
}

bool Subscription::push(std::shared_ptr<const StoredEvent> e) {
    std::lock_guard lock(mutex_);
    if (overflowed_ || closed_) return false;
    if (queue_.size() >= limit_) {
        overflowed_ = true;
        return true;
    }
    queue_.push_back(std::move(e));
    return queue_.size() == 1;
}

std::string Subscription::take(bool* finished) {
    std::deque<std::shared_ptr<const StoredEvent>> batch;
    std::vector<std::string> pre;
    bool overflowed, closed;
    {
        std::lock_guard lock(mutex_);
        batch.swap(queue_);
        pre.swap(preamble_);
        overflowed = overflowed_;
        closed = closed_;
    }
    std::string out;
    for (auto& p : pre)
        out += p;
    for (const auto& e : batch)
        out += format_sse(*e);
    if (overflowed) {
        StoredEvent d{
            0, unix_ms(),
            Event{EventType::dropped,
                  {},
                  {{"reason", "the consumer fell too far behind"}, {"queue_limit", limit_}}}};
        out += format_sse(d, false);
    }
    *finished = overflowed || closed;
    return out;
}

void Subscription::close() {
    if (auto hub = hub_.lock()) hub->remove(this);
    hub_.reset();
}

std::shared_ptr<EventHub> EventHub::create(EventHubOptions options) {
    return std::shared_ptr<EventHub>(new EventHub(options));
}

EventHub::EventHub(EventHubOptions options)
    : options_(options) {
    if (options_.ring_size == 0) options_.ring_size = 1;
    if (options_.queue_limit == 0) options_.queue_limit = 1;
}

std::uint64_t EventHub::publish(Event e) {
    auto stored = std::make_shared<StoredEvent>();
    stored->time_ms = unix_ms();
    stored->event = std::move(e);
    std::lock_guard lock(mutex_);
    stored->id = next_id_++;
    std::shared_ptr<const StoredEvent> shared = std::move(stored);
    ring_.push_back(shared);
    if (ring_.size() > options_.ring_size) ring_.pop_front();
    ++stats_.published;
    for (auto* s : subs_) {
        if (!s->filter_.matches(shared->event)) continue;
        bool overflow_before = false;
        {
            std::lock_guard sl(s->mutex_);
            overflow_before = s->overflowed_;
        }
        if (s->push(shared)) {
            bool now_overflowed;
            std::function<void()> notify;
            {
                std::lock_guard sl(s->mutex_);
                now_overflowed = s->overflowed_;
                notify = s->notify_;
            }
            if (now_overflowed && !overflow_before) ++stats_.dropped_subscriptions;
            if (notify) notify();
        }
    }
    return shared->id;
}

std::shared_ptr<Subscription> EventHub::subscribe(EventFilter filter,
                                                  std::optional<std::uint64_t> last_event_id) {
    std::lock_guard lock(mutex_);
    if (subs_.size() >= options_.max_subscriptions) return nullptr;
    std::shared_ptr<Subscription> sub(
        new Subscription(weak_from_this(), std::move(filter), options_.queue_limit));
    if (last_event_id) {
        const std::uint64_t last = *last_event_id;
        const std::uint64_t newest = next_id_ - 1;
        const std::uint64_t oldest = ring_.empty() ? next_id_ : ring_.front()->id;
        if (last > newest || last + 1 < oldest) {
            StoredEvent lost{
                0, unix_ms(),
                Event{EventType::lost,
                      {},
                      {{"last_event_id", last}, {"oldest_available", oldest}, {"newest", newest}}}};
            sub->preamble_.push_back(format_sse(lost, false));
        } else {
            for (const auto& e : ring_)
                // The replay is bounded by the ring, not by the queue limit.
                if (e->id > last && sub->filter_.matches(e->event)) sub->queue_.push_back(e);
        }
    }
    subs_.push_back(sub.get());
    stats_.subscriptions = subs_.size();
    return sub;
}

void EventHub::remove(Subscription* s) {
    std::lock_guard lock(mutex_);
    subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
    stats_.subscriptions = subs_.size();
}

void EventHub::close_all() {
    std::lock_guard lock(mutex_);
    for (auto* s : subs_) {
        std::function<void()> notify;
        {
            std::lock_guard sl(s->mutex_);
            s->closed_ = true;
            notify = s->notify_;
        }
        if (notify) notify();
    }
}

EventHubStats EventHub::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

std::uint64_t EventHub::last_id() const {
    std::lock_guard lock(mutex_);
    return next_id_ - 1;
}

} // namespace lwm2m::http
