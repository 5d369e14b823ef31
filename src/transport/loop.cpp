#include <lwm2m/transport/loop.hpp>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <system_error>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <lwm2m/base/throw.hpp>

namespace lwm2m::transport {
namespace {

/// epoll_event.data of the wake-up eventfd (sockets carry their index).
constexpr std::uint64_t wake_token = ~std::uint64_t{0};

timespec to_timespec(Duration left) {
    timespec ts{};
    ts.tv_sec = static_cast<std::time_t>(left.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
    return ts;
}

} // namespace

LoopBase::LoopBase(std::vector<UdpSocket*> sockets, const LoopOptions& options)
    : options_(options)
    , batch_(options.batch_size, options.max_datagram)
    , sockets_(std::move(sockets))
    , outboxes_(sockets_.size())
    , readable_(sockets_.size(), 0) {
    if (options_.batch_size == 0) options_.batch_size = 1;
    if (options_.max_batches_per_wakeup == 0) options_.max_batches_per_wakeup = 1;
    if (options_.max_events_per_wakeup == 0) options_.max_events_per_wakeup = 1;
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw_or_abort<std::system_error>(errno, std::system_category(), "eventfd");
    const bool epoll =
        options_.wait == WaitMethod::epoll ||
        (options_.wait == WaitMethod::automatic && sockets_.size() >= options_.epoll_min_sockets);
    if (!epoll) return;
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    const auto fail_with = [this](const char* what) {
        const int e = errno;
        ::close(wake_fd_);
        if (epoll_fd_ >= 0) ::close(epoll_fd_);
        throw_or_abort<std::system_error>(e, std::system_category(), what);
    };
    if (epoll_fd_ < 0) fail_with("epoll_create1");
    // Level-triggered: a socket left with data (max_batches_per_wakeup) is reported again.
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = wake_token;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) fail_with("epoll_ctl");
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, sockets_[i]->fd(), &ev) != 0)
            fail_with("epoll_ctl");
    }
    epoll_events_.resize(options_.max_events_per_wakeup * sizeof(epoll_event));
}

LoopBase::~LoopBase() {
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
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
    for (const std::uint32_t i : ready_)
        readable_[i] = 0;
    ready_.clear();
    return epoll_fd_ >= 0 ? wait_epoll(wake_at) : wait_ppoll(wake_at);
}

Result<void> LoopBase::wait_ppoll(TimePoint wake_at) {
    // Small poll set: sockets + the wake-up eventfd. ppoll() takes nanoseconds, so deadlines are
    // met without the millisecond rounding of poll()/epoll_wait().
    auto& fds = pollfds_;
    fds.resize(sockets_.size() + 1);
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        short ev = POLLIN;
        if (outboxes_[i].want_write) ev = static_cast<short>(ev | POLLOUT);
        fds[i] = {sockets_[i]->fd(), ev, 0};
    }
    fds[sockets_.size()] = {wake_fd_, POLLIN, 0};
    const TimePoint t = now();
    const timespec ts = to_timespec(wake_at > t ? wake_at - t : Duration::zero());
    int r = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
    if (r < 0) {
        if (errno == EINTR) return ok();
        return tl::unexpected<Error>(Error(errno, std::system_category()));
    }
    if (fds[sockets_.size()].revents & POLLIN) {
        std::uint64_t v;
        [[maybe_unused]] auto n = ::read(wake_fd_, &v, sizeof v);
    }
    for (std::size_t i = 0; i < sockets_.size() && r > 0; ++i) {
        if (fds[i].revents == 0) continue;
        --r;
        // POLLERR on a UDP socket is a queued ICMP error: reading clears it (receive_batch
        // swallows it), so treat it as readable.
        if (fds[i].revents & (POLLIN | POLLERR)) {
            readable_[i] = 1;
            ready_.push_back(static_cast<std::uint32_t>(i));
        }
        if (fds[i].revents & POLLOUT) outboxes_[i].want_write = false;
    }
    stats_.wakeups_ready += ready_.size();
    return ok();
}

void LoopBase::set_epoll_out(std::size_t i, bool on) {
    Outbox& o = outboxes_[i];
    if (o.epoll_out == on) return;
    epoll_event ev{};
    ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    ev.data.u64 = i;
    // Cannot fail for a descriptor in the set but for ENOMEM; then the next flush retries.
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, sockets_[i]->fd(), &ev) == 0) o.epoll_out = on;
}

Result<void> LoopBase::wait_epoll(TimePoint wake_at) {
    for (const std::uint32_t i : pending_)
        if (outboxes_[i].want_write) set_epoll_out(i, true);
    auto* events = reinterpret_cast<epoll_event*>(epoll_events_.data());
    const int max = static_cast<int>(epoll_events_.size() / sizeof(epoll_event));
    const TimePoint t = now();
    const timespec ts = to_timespec(wake_at > t ? wake_at - t : Duration::zero());
    int r = -1;
    if (!epoll_pwait2_missing_) {
        // Nanosecond timeout (Linux 5.11, glibc 2.35): epoll_wait() would round to milliseconds.
        r = ::epoll_pwait2(epoll_fd_, events, max, &ts, nullptr);
        if (r < 0 && errno == ENOSYS) epoll_pwait2_missing_ = true;
    }
    if (epoll_pwait2_missing_) {
        // Older kernels: the epoll fd is readable when one of its descriptors is ready; ppoll
        // keeps the nanosecond timeout, epoll_wait(0) then collects without blocking.
        ::pollfd pfd{epoll_fd_, POLLIN, 0};
        r = ::ppoll(&pfd, 1, &ts, nullptr);
        if (r > 0) r = ::epoll_wait(epoll_fd_, events, max, 0);
    }
    if (r < 0) {
        if (errno == EINTR) return ok();
        return tl::unexpected<Error>(Error(errno, std::system_category()));
    }
    for (int k = 0; k < r; ++k) {
        const std::uint64_t token = events[k].data.u64;
        if (token == wake_token) {
            std::uint64_t v;
            [[maybe_unused]] auto n = ::read(wake_fd_, &v, sizeof v);
            continue;
        }
        const auto i = static_cast<std::size_t>(token);
        if (i >= sockets_.size()) continue;
        // EPOLLERR: a queued ICMP error, cleared by reading (see wait_ppoll).
        if ((events[k].events & (EPOLLIN | EPOLLERR)) && readable_[i] == 0) {
            readable_[i] = 1;
            ready_.push_back(static_cast<std::uint32_t>(i));
        }
        if (events[k].events & EPOLLOUT) {
            outboxes_[i].want_write = false;
            set_epoll_out(i, false);
        }
    }
    stats_.wakeups_ready += ready_.size();
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
        if (!o.listed) {
            o.listed = true;
            pending_.push_back(static_cast<std::uint32_t>(i));
        }
        return;
    }
    ++stats_.unroutable_dropped;
}

void LoopBase::flush() {
    // Only the sockets with queued output (pending_), so a quiet socket costs nothing here.
    std::size_t keep = 0;
    for (std::size_t k = 0; k < pending_.size(); ++k) {
        const std::uint32_t i = pending_[k];
        Outbox& o = outboxes_[i];
        if (o.head < o.queue.size() && !o.want_write) {
            std::span<const Datagram> pending(o.queue.data() + o.head, o.queue.size() - o.head);
            SendOutcome r = sockets_[i]->send_batch(pending, options_.batch_size);
            o.head += r.consumed;
            stats_.datagrams_sent += r.sent;
            stats_.send_dropped += r.dropped;
            o.want_write = r.would_block;
        }
        if (o.head == o.queue.size()) {
            o.queue.clear();
            o.head = 0;
            o.want_write = false;
            o.listed = false;
            if (o.epoll_out) set_epoll_out(i, false);
            continue;
        }
        if (o.head > 1024 && o.head * 2 > o.queue.size()) {
            o.queue.erase(o.queue.begin(), o.queue.begin() + static_cast<std::ptrdiff_t>(o.head));
            o.head = 0;
        }
        pending_[keep++] = i;
    }
    pending_.resize(keep);
}

} // namespace lwm2m::transport
