// The strings of object and resource definitions (names, URNs, versions, ranges, units,
// descriptions): a read-only text that refers to a string literal or other static storage without
// copying it, or owns a heap copy of run-time text (a DDF file, a test's std::string).
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

namespace lwm2m::dm {

class DefText {
public:
    constexpr DefText() noexcept = default;

    /// A string literal (or another constant array of static storage): referenced, never copied.
    /// The constructor is consteval, so it accepts only arrays whose address is a constant: an
    /// array on the stack does not compile.
    template <std::size_t N>
    consteval DefText(const char (&s)[N]) noexcept // NOLINT(google-explicit-constructor)
        : p_(s)
        , n_(static_cast<std::uint32_t>(std::char_traits<char>::length(s))) {}

    /// A run-time C string (e.g. a `const char*` parameter): an owned copy, as std::string's
    /// constructor makes. (A template so that a string literal still picks the constructor above.)
    template <typename P>
    requires(std::is_same_v<P, const char*> || std::is_same_v<P, char*>)
        DefText(P s) // NOLINT(google-explicit-constructor)
        : DefText(std::string_view(s)) {}

    /// Run-time text: an owned copy (no heap when empty).
    DefText(std::string_view s) { assign(s); } // NOLINT(google-explicit-constructor)
    DefText(const std::string& s)              // NOLINT(google-explicit-constructor)
        : DefText(std::string_view(s)) {}

    /// Text in static storage the caller vouches for (e.g. the generated built-in tables):
    /// referenced, never copied.
    static constexpr DefText from_static(std::string_view s) noexcept {
        DefText t;
        t.p_ = s.data();
        t.n_ = static_cast<std::uint32_t>(s.size());
        return t;
    }

    DefText(const DefText& o) {
        if (o.owned_)
            assign(o.view());
        else
            p_ = o.p_, n_ = o.n_;
    }
    constexpr DefText(DefText&& o) noexcept
        : p_(o.p_)
        , n_(o.n_)
        , owned_(o.owned_) {
        o.p_ = "";
        o.n_ = 0;
        o.owned_ = false;
    }
    DefText& operator=(const DefText& o) {
        if (this != &o) *this = DefText(o);
        return *this;
    }
    DefText& operator=(DefText&& o) noexcept {
        if (this != &o) {
            release();
            p_ = o.p_, n_ = o.n_, owned_ = o.owned_;
            o.p_ = "";
            o.n_ = 0;
            o.owned_ = false;
        }
        return *this;
    }
    constexpr ~DefText() { release(); }

    [[nodiscard]] constexpr std::string_view view() const noexcept { return {p_, n_}; }
    constexpr operator std::string_view() const noexcept { return view(); } // NOLINT
    /// As the std::string these fields were: a copy where a std::string is needed.
    operator std::string() const { return str(); } // NOLINT(google-explicit-constructor)
    [[nodiscard]] std::string str() const { return std::string(view()); }
    [[nodiscard]] constexpr const char* data() const noexcept { return p_; }
    [[nodiscard]] constexpr std::size_t size() const noexcept { return n_; }
    [[nodiscard]] constexpr bool empty() const noexcept { return n_ == 0; }
    /// True when the text is a heap copy (false: a literal or static storage, or empty).
    [[nodiscard]] constexpr bool owned() const noexcept { return owned_; }

    friend bool operator==(const DefText& a, const DefText& b) noexcept {
        return a.view() == b.view();
    }
    friend bool operator==(const DefText& a, std::string_view b) noexcept { return a.view() == b; }
    friend bool operator==(const DefText& a, const std::string& b) noexcept {
        return a.view() == std::string_view(b);
    }
    friend bool operator==(const DefText& a, const char* b) noexcept {
        return a.view() == std::string_view(b);
    }

    friend std::string operator+(std::string a, const DefText& b) { return a.append(b.view()); }
    friend std::string operator+(const DefText& a, std::string_view b) { return a.str().append(b); }
    friend std::ostream& operator<<(std::ostream& os, const DefText& t) { return os << t.view(); }

private:
    void assign(std::string_view s) {
        if (s.empty()) return;
        char* copy = new char[s.size()];
        std::memcpy(copy, s.data(), s.size());
        p_ = copy;
        n_ = static_cast<std::uint32_t>(s.size());
        owned_ = true;
    }
    constexpr void release() noexcept {
        if (owned_) delete[] p_;
    }

    const char* p_ = "";
    std::uint32_t n_ = 0;
    bool owned_ = false;
};

} // namespace lwm2m::dm
