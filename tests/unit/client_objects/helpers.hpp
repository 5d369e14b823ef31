// Shared helpers of the client object tests: a recording ChangeListener, content builders and
// status assertions.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <lwm2m/client/object.hpp>
#include <lwm2m/client/status.hpp>
#include <lwm2m/dm/node.hpp>

#include "unit/client/test_configs.hpp"

namespace lwm2m::client::test {

class RecordingListener final : public ChangeListener {
public:
    void on_changed(const dm::Path& path) override { paths.push_back(path); }
    [[nodiscard]] bool saw(const dm::Path& p) const {
        for (const auto& x : paths)
            if (x == p) return true;
        return false;
    }
    std::vector<dm::Path> paths;
};

inline dm::Path P(std::uint16_t o) {
    return dm::Path{Oid{o}};
}
inline dm::Path P(std::uint16_t o, std::uint16_t i) {
    return dm::Path{Oid{o}, Iid{i}};
}
inline dm::Path P(std::uint16_t o, std::uint16_t i, std::uint16_t r) {
    return dm::Path{Oid{o}, Iid{i}, Rid{r}};
}
inline dm::Path P(std::uint16_t o, std::uint16_t i, std::uint16_t r, std::uint16_t ri) {
    return dm::Path{Oid{o}, Iid{i}, Rid{r}, Riid{ri}};
}

inline dm::Content value_content(const dm::Path& p, dm::Value v) {
    return dm::Content{p, std::move(v)};
}
inline dm::Content object_content(const dm::Path& p, dm::Object o) {
    return dm::Content{p, std::move(o)};
}

/// The Status of a failed Result, or nullopt-like 0 when it succeeded.
template <class R>
std::string status_text(const R& r) {
    if (r) return "ok";
    return std::string(code_text(status_of(r.error())));
}

} // namespace lwm2m::client::test

#define EXPECT_STATUS(expr, st)                                                                    \
    do {                                                                                           \
        const auto r_ = (expr);                                                                    \
        ASSERT_FALSE(r_) << #expr " succeeded, expected " << ::lwm2m::client::code_text(st);       \
        EXPECT_EQ(r_.error(), ::lwm2m::client::make_error_code(st))                                \
            << #expr ": " << r_.error().message();                                                 \
    } while (0)

#define EXPECT_OK(expr)                                                                            \
    do {                                                                                           \
        const auto r_ = (expr);                                                                    \
        EXPECT_TRUE(r_) << #expr ": " << r_.error().message();                                     \
    } while (0)
