// LwM2M paths (LwM2M TS Core 1.1 §7.2; 1.2 §6.2).
#include <lwm2m/dm/errc.hpp>
#include <lwm2m/dm/path.hpp>

namespace lwm2m::dm {

Result<Path> Path::parse(std::string_view text) {
    Path p;
    if (text.empty() || text == "/") return p;
    std::size_t pos = 0;
    if (text[0] == '/') pos = 1;
    for (;;) {
        if (p.depth_ == 4)
            return fail(Errc::bad_path); // "/3/0/1/2/3": deeper than a resource instance
        // One decimal id: digits only (no sign, no spaces), value <= 65535. An empty segment
        // ("/3//0", trailing "/") is rejected.
        std::uint32_t v = 0;
        std::size_t digits = 0;
        while (pos < text.size() && text[pos] != '/') {
            const char c = text[pos];
            if (c < '0' || c > '9') return fail(Errc::bad_path);
            v = v * 10 + static_cast<std::uint32_t>(c - '0');
            if (v > 0xffff) return fail(Errc::bad_path);
            ++digits;
            ++pos;
        }
        if (digits == 0) return fail(Errc::bad_path);
        // LwM2M TS Core 1.1 §7.2: Object Instance ID 65535 is reserved (MAX_ID).
        if (p.depth_ == 1 && v == 0xffff) return fail(Errc::bad_path);
        p.ids_[p.depth_++] = static_cast<std::uint16_t>(v);
        if (pos == text.size()) return p;
        ++pos;                                               // the '/'
        if (pos == text.size()) return fail(Errc::bad_path); // trailing '/'
    }
}

Path Path::parent() const {
    Path p = *this;
    if (p.depth_ > 0) {
        --p.depth_;
        p.ids_[p.depth_] = 0;
    }
    return p;
}

Path Path::child(std::uint16_t id) const {
    Path p = *this;
    if (p.depth_ < 4) p.ids_[p.depth_++] = id;
    return p;
}

bool Path::is_prefix_of(const Path& other) const {
    if (depth_ > other.depth_) return false;
    for (int k = 0; k < depth_; ++k)
        if (ids_[k] != other.ids_[k]) return false;
    return true;
}

std::string Path::to_string() const {
    std::string out;
    append_to(out);
    return out;
}

void Path::append_to(std::string& out) const {
    if (depth_ == 0) {
        out.push_back('/');
        return;
    }
    char buf[4 * 6]; // at most "/65535" four times
    std::size_t n = 0;
    for (int k = 0; k < depth_; ++k) {
        buf[n++] = '/';
        char digits[5];
        int d = 0;
        std::uint32_t v = ids_[k];
        do {
            digits[d++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (d > 0)
            buf[n++] = digits[--d];
    }
    out.append(buf, n);
}

std::strong_ordering operator<=>(const Path& a, const Path& b) {
    const int n = a.depth_ < b.depth_ ? a.depth_ : b.depth_;
    for (int k = 0; k < n; ++k)
        if (auto c = a.ids_[k] <=> b.ids_[k]; c != 0) return c;
    return a.depth_ <=> b.depth_;
}

} // namespace lwm2m::dm
