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
#include <lwm2m/dm/object_def.hpp>

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

/// For every resource of `def` in instance `iid` of `obj`, as `actor`: Read of a W-only or E
/// resource, Write of an R or E resource and Execute of a non-E resource answer 4.05; Read of an
/// R resource answers 2.05 or 4.04 (absent value); Write of a W resource is never 4.04/4.05 (it
/// may be 4.00 for a sample value outside the range). Returns the number of checks made.
inline int expect_operations_follow_definition(ObjectHandler& obj, const dm::ObjectDef& def,
                                               const Actor& actor, std::uint16_t iid = 0) {
    int checks = 0;
    for (const dm::ResourceDef& d : def.resources) {
        SCOPED_TRACE("/" + std::to_string(def.id) + "/" + std::to_string(iid) + "/" +
                     std::to_string(d.id));
        const dm::Path p{Oid{def.id}, Iid{iid}, Rid{d.id}};
        const auto r = obj.read(actor, p);
        if (d.readable()) {
            EXPECT_TRUE(r || r.error() == make_error_code(Status::not_found))
                << r.error().message();
        } else {
            EXPECT_FALSE(r);
            if (!r) {
                EXPECT_EQ(r.error(), make_error_code(Status::method_not_allowed));
            }
        }
        const dm::Resource res = d.multiple ? dm::Resource::multi(d.id, {{0, sample_value(d.type)}})
                                            : dm::Resource::single(d.id, sample_value(d.type));
        const auto w = obj.write(actor, p, dm::Content{p, res}, WriteMode::replace);
        if (d.writable()) {
            EXPECT_TRUE(w || (w.error() != make_error_code(Status::method_not_allowed) &&
                              w.error() != make_error_code(Status::not_found)))
                << w.error().message();
        } else {
            EXPECT_FALSE(w);
            if (!w) {
                EXPECT_EQ(w.error(), make_error_code(Status::method_not_allowed));
            }
        }
        if (!d.executable()) {
            const auto e = obj.execute(actor, p, "");
            EXPECT_FALSE(e);
            if (!e) {
                EXPECT_EQ(e.error(), make_error_code(Status::method_not_allowed));
            }
        }
        checks += 3;
    }
    return checks;
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
