// The output queues every channel of this layer (ClientSession, ServerTable, NoSecChannel) drains
// through poll_transmit() / poll_event() (private).
#pragma once

#include <deque>
#include <optional>
#include <utility>

namespace lwm2m::dtls::detail {

/// Removes and returns the oldest element, or nullopt when `q` is empty.
template <class T>
[[nodiscard]] std::optional<T> pop_front(std::deque<T>& q) {
    if (q.empty()) return std::nullopt;
    std::optional<T> v(std::move(q.front()));
    q.pop_front();
    return v;
}

} // namespace lwm2m::dtls::detail
