// The output queues every channel of this layer (ClientSession, ServerTable, NoSecChannel) drains
// through poll_transmit() / poll_event() (private).
#pragma once

#include <optional>
#include <utility>

namespace lwm2m::dtls::detail {

/// Removes and returns the oldest element, or nullopt when `q` is empty.
template <class Queue>
[[nodiscard]] auto pop_front(Queue& q) -> std::optional<typename Queue::value_type> {
    if (q.empty()) return std::nullopt;
    std::optional<typename Queue::value_type> v(std::move(q.front()));
    q.pop_front();
    return v;
}

} // namespace lwm2m::dtls::detail
