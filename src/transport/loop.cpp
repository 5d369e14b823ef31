#include <lwm2m/transport/loop.hpp>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <system_error>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace lwm2m::transport {

LoopBase::LoopBase(std::vector<UdpSocket*> sockets, const LoopOptions& options)
    : options_(options)
    , batch_(options.batch_size, options.max_datagram)
    , sockets_(std::move(sockets))
    , outboxes_(sockets_.size())
    , readable_(sockets_.size(), false) {
    if (options_.batch_size == 0) options_.batch_size = 1;
    if (options_.max_batches_per_wakeup == 0) options_.max_batches_per_wakeup = 1;
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw std::system_error(errno, std::system_category(), "eventfd");
}

LoopBase::~LoopBase() {
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void LoopBase::stop() noexcept {
    stop_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void LoopBase::post(std::function<void(TimePoint)> task) {
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        posted_.push_back(std::move(task));
    }
    has_posted_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void LoopBase::run_posted(TimePoint now) {
    if (!has_posted_.load(std::memory_order_acquire)) return;
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        running_.swap(posted_);
        has_posted_.store(false, std::memory_order_relaxed);
    }
    for (auto& task : running_)
        task(now);
    running_.clear();
}

bool LoopBase::take_stop() noexcept {
    if (!stop_.exchange(false, std::memory_order_acq_rel)) return false;
    std::uint64_t v;
    [[maybe_unused]] auto n = ::read(wake_fd_, &v, sizeof v); // drain the wake-up
    return true;
}

Result<void> LoopBase::wait(TimePoint wake_at) {
    // Small fixed-size poll set: sockets + the wake-up eventfd. ppoll() takes nanoseconds, so
    // deadlines are met without the millisecond rounding of poll()/epoll_wait().
    auto& fds = pollfds_;
    fds.resize(sockets_.size() + 1);
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        short ev = POLLIN;
        if (outboxes_[i].want_write) ev = static_cast<short>(ev | POLLOUT);
        fds[i] = {sockets_[i]->fd(), ev, 0};
    }
    fds[sockets_.size()] = {wake_fd_, POLLIN, 0};
    const TimePoint t = now();
    Duration left = wake_at > t ? wake_at - t : Duration::zero();
    timespec ts{};
    ts.tv_sec = static_cast<std::time_t>(left.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
    int r = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
    for (std::size_t i = 0; i < sockets_.size(); ++i)
        readable_[i] = false;
    if (r < 0) {
        if (errno == EINTR) return ok();
        return tl::unexpected<Error>(Error(errno, std::system_category()));
    }
    if (fds[sockets_.size()].revents & POLLIN) {
        std::uint64_t v;
        [[maybe_unused]] auto n = ::read(wake_fd_, &v, sizeof v);
    }
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        // POLLERR on a UDP socket is a queued ICMP error: reading clears it (receive_batch
        // swallows it), so treat it as readable.
        readable_[i] = (fds[i].revents & (POLLIN | POLLERR)) != 0;
        if (fds[i].revents & POLLOUT) outboxes_[i].want_write = false;
    }
    return ok();
}

std::size_t LoopBase::receive(std::size_t socket_index) {
    auto r = sockets_[socket_index]->receive_batch(batch_);
    if (!r) {
        ++stats_.receive_errors;
        return 0;
    }
    return *r;
}

void LoopBase::enqueue(Datagram&& d) {
    std::size_t first = d.socket;
    if (first >= sockets_.size() || !sockets_[first]->can_reach(d.peer)) first = 0;
    for (std::size_t i = first; i < sockets_.size(); ++i) {
        if (!sockets_[i]->can_reach(d.peer)) continue;
        Outbox& o = outboxes_[i];
        if (o.queue.size() - o.head >= options_.max_outbox) {
            ++stats_.outbox_dropped;
            return;
        }
        o.queue.push_back(std::move(d));
        return;
    }
    ++stats_.unroutable_dropped;
}

void LoopBase::flush() {
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        Outbox& o = outboxes_[i];
        if (o.head == o.queue.size()) continue;
        std::span<const Datagram> pending(o.queue.data() + o.head, o.queue.size() - o.head);
        SendOutcome r = sockets_[i]->send_batch(pending, options_.batch_size);
        o.head += r.consumed;
        stats_.datagrams_sent += r.sent;
        stats_.send_dropped += r.dropped;
        o.want_write = r.would_block;
        if (o.head == o.queue.size()) {
            o.queue.clear();
            o.head = 0;
        } else if (o.head > 1024 && o.head * 2 > o.queue.size()) {
            o.queue.erase(o.queue.begin(), o.queue.begin() + static_cast<std::ptrdiff_t>(o.head));
            o.head = 0;
        }
    }
}

} // namespace lwm2m::transport
