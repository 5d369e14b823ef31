// RingQueue: a FIFO on a power-of-two ring that reuses its storage. Event and output queues
// drained on every loop iteration use it instead of std::deque, which allocates and frees a chunk
// every few elements as a steady-state queue (docs/performance.md).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <utility>
#include <vector>

namespace lwm2m {

/// Never allocates once grown (until drained after a burst beyond kKeep elements).
template <typename T>
class RingQueue {
public:
    using value_type = T;
    [[nodiscard]] bool empty() const noexcept { return head_ == tail_; }
    [[nodiscard]] std::size_t size() const noexcept { return tail_ - head_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return buf_.size(); }
    T& front() noexcept { return buf_[head_ & mask_]; }
    [[nodiscard]] const T& front() const noexcept { return buf_[head_ & mask_]; }
    /// The i-th element from the front (i < size()).
    T& operator[](std::size_t i) noexcept { return buf_[(head_ + i) & mask_]; }
    const T& operator[](std::size_t i) const noexcept { return buf_[(head_ + i) & mask_]; }
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

    /// Removes the elements `pred` holds for, keeping the others in order; returns how many.
    template <typename Pred>
    std::size_t erase_if(Pred pred) {
        std::size_t kept = head_;
        for (std::size_t s = head_; s != tail_; ++s) {
            T& v = buf_[s & mask_];
            if (pred(std::as_const(v))) continue;
            if (s != kept) buf_[kept & mask_] = std::move(v);
            ++kept;
        }
        const std::size_t removed = tail_ - kept;
        for (std::size_t s = kept; s != tail_; ++s)
            buf_[s & mask_] = T{};
        tail_ = kept;
        return removed;
    }

private:
    static constexpr std::size_t kKeep = 256;
    /// The first allocation holds about 512 bytes of elements (8 at most, 1 at least): a queue
    /// that rarely holds more than one or two large events does not reserve kilobytes.
    static constexpr std::size_t kFirst =
        std::bit_floor(std::max<std::size_t>(1, std::min<std::size_t>(8, 512 / sizeof(T))));
    void grow() {
        const std::size_t cap = buf_.empty() ? kFirst : buf_.size() * 2;
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
