// The bridge between the HTTP thread and a single-threaded engine (docs/rest-api.md "Threads").
//
// REST handlers never touch an engine: they post a closure to the engine's thread (for a
// transport::Loop, LoopBase::post) and the closure answers through a thread-safe completion
// handle when the engine has the result, possibly much later (a CoAP round trip to a device).
// The HTTP thread never blocks on the engine.
//
//   EngineExecutor ex = EngineExecutor::for_loop(loop);
//   ex.run(reply, [&engine](TimePoint now, Reply r) { engine.read(now, ..., r); });
//
// Completion<T> is the typed form the Backend interface (api.hpp) uses: the engine hands over a
// plain value or an ApiError; the conversion to JSON runs on the HTTP thread.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include <tl/expected.hpp>

#include <lwm2m/base/time.hpp>
#include <lwm2m/http/message.hpp>

namespace lwm2m::transport {
class LoopBase;
}

namespace lwm2m::http {

/// Type-erased "run this on the engine's thread". Copyable; thread-safe as far as the post
/// function is (LoopBase::post is).
class EngineExecutor {
public:
    using Task = std::function<void(TimePoint now)>;
    using PostFn = std::function<void(Task)>;

    explicit EngineExecutor(PostFn post)
        : post_(std::make_shared<PostFn>(std::move(post))) {}
    /// Posts to a transport::Loop (its tasks run in the loop's next iteration, in order). The
    /// loop must outlive the executor's uses.
    static EngineExecutor for_loop(transport::LoopBase& loop);

    /// Queues `task` on the engine thread.
    void post(Task task) const { (*post_)(std::move(task)); }

    /// Runs `fn(now, reply)` on the engine thread. If the engine drops the task (a stopped loop
    /// destroyed with queued tasks) the request is answered 503 (Reply's drop rule); if it never
    /// runs it, the server answers 504 after Request::answer_within.
    template <class F>
    void run(Reply reply, F&& fn) const {
        post([reply = std::move(reply), fn = std::forward<F>(fn)](TimePoint now) mutable {
            fn(now, std::move(reply));
        });
    }

private:
    std::shared_ptr<PostFn> post_;
};

/// A typed, single-shot, thread-safe completion: call it once with a T (or an ApiError) from any
/// thread; `to_response` turns the value into the HTTP response on the HTTP thread. Copies refer
/// to the same request; dropping all of them unanswered answers 503 (Reply's rule).
template <class T>
class Completion {
public:
    using Outcome = tl::expected<T, ApiError>;
    using Converter = std::function<Response(T&)>;

    Completion(Reply reply, Converter to_response)
        : reply_(std::move(reply))
        , convert_(std::make_shared<Converter>(std::move(to_response))) {}

    /// Answers with the value. Returns false when already answered.
    bool operator()(T value) const {
        auto v = std::make_shared<T>(std::move(value));
        return reply_.send_with([v, c = convert_] { return (*c)(*v); });
    }
    // NOLINTBEGIN(modernize-use-nodiscard): they answer the request, as Reply::send
    /// Answers with the error.
    bool fail(const ApiError& e) const { return reply_.fail(e); }
    /// Either.
    bool complete(Outcome o) const { return o ? (*this)(std::move(*o)) : fail(o.error()); }
    // NOLINTEND(modernize-use-nodiscard)
    [[nodiscard]] bool done() const noexcept { return reply_.done(); }

private:
    Reply reply_;
    std::shared_ptr<Converter> convert_;
};

} // namespace lwm2m::http
