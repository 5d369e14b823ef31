// RingQueue: a FIFO on a power-of-two ring that reuses its storage. Event and output queues
// drained on every loop iteration use it instead of std::deque, which allocates and frees a chunk
// every few elements as a steady-state queue (docs/performance.md).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace lwm2m {

/// Never allocates once grown (until drained after a burst beyond kKeep elements).
template <typename T>
class RingQueue {
public:
    [[nodiscard]] bool empty() const noexcept { return head_ == tail_; }
    [[nodiscard]] std::size_t size() const noexcept { return tail_ - head_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return buf_.size(); }
    T& front() noexcept { return buf_[head_ & mask_]; }
    [[nodiscard]] const T& front() const noexcept { return buf_[head_ & mask_]; }
    void push_back(T v) {
        if (size() == buf_.size()) grow();
        buf_[tail_ & mask_] = std::move(v);
        ++tail_;
    }
    template <typename... A>
    T& emplace_back(A&&... a) {
        if (size() == buf_.size()) grow();
        T& slot = buf_[tail_ & mask_];
        slot = T(std::forward<A>(a)...);
        ++tail_;
        return slot;
    }
    void pop_front() {
        buf_[head_ & mask_] = T{}; // release owned memory now
        ++head_;
        if (head_ == tail_ && buf_.size() > kKeep) { // drained after a burst: give memory back
            buf_ = std::vector<T>();
            mask_ = 0;
            head_ = tail_ = 0;
        }
    }

private:
    static constexpr std::size_t kKeep = 256;
    void grow() {
        const std::size_t cap = buf_.empty() ? 8 : buf_.size() * 2;
        std::vector<T> b(cap);
        for (std::size_t s = head_; s != tail_; ++s)
            b[s & (cap - 1)] = std::move(buf_[s & mask_]);
        buf_ = std::move(b);
        mask_ = cap - 1;
    }
    std::vector<T> buf_;
    std::size_t mask_ = 0;
    std::size_t head_ = 0;
    std::size_t tail_ = 0;
};

} // namespace lwm2m
