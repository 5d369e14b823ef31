// Result<T>: the one error-return type of lwm2m-cpp (docs/architecture.md §5).
//
// A thin [[nodiscard]] wrapper over tl::expected<T, std::error_code> (Debian libexpected-dev).
// Moving to std::expected later is a change in this file only.
#pragma once

#include <system_error>
#include <utility>

#include <tl/expected.hpp>

namespace lwm2m {

using Error = std::error_code;

template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
    using Base = tl::expected<T, Error>;

public:
    using Base::Base;
    Result(Base b)
        : Base(std::move(b)) {} // NOLINT(google-explicit-constructor)
};

/// Builds the error branch of a Result: `return fail(Errc::malformed);`
template <class E>
[[nodiscard]] inline tl::unexpected<Error> fail(E e) {
    return tl::unexpected<Error>(make_error_code(e));
}
[[nodiscard]] inline tl::unexpected<Error> fail(Error e) {
    return tl::unexpected<Error>(e);
}

/// The success value of a Result<void>.
[[nodiscard]] inline Result<void> ok() {
    return {};
}

} // namespace lwm2m

/// LWM2M_TRY(var, expr): evaluates expr (a Result); on error returns the error from the
/// enclosing function, otherwise declares `var` with the moved value.
#define LWM2M_TRY(var, expr)                                                                       \
    auto LWM2M_TRY_CONCAT(lwm2m_try_, __LINE__) = (expr);                                          \
    if (!LWM2M_TRY_CONCAT(lwm2m_try_, __LINE__))                                                   \
        return ::tl::unexpected<::lwm2m::Error>(LWM2M_TRY_CONCAT(lwm2m_try_, __LINE__).error());   \
    auto var = std::move(*LWM2M_TRY_CONCAT(                                                        \
        lwm2m_try_, __LINE__)) // NOLINT(bugprone-macro-parentheses): var is the name declared

/// LWM2M_TRY_VOID(expr): as LWM2M_TRY for a Result<void>.
#define LWM2M_TRY_VOID(expr)                                                                       \
    do {                                                                                           \
        auto lwm2m_try_v_ = (expr);                                                                \
        if (!lwm2m_try_v_) return ::tl::unexpected<::lwm2m::Error>(lwm2m_try_v_.error());          \
    } while (0)

#define LWM2M_TRY_CONCAT_(a, b) a##b
#define LWM2M_TRY_CONCAT(a, b) LWM2M_TRY_CONCAT_(a, b)
