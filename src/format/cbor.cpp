#include "cbor.hpp"

#include <bit>
#include <cmath>
#include <cstring>

#include "common.hpp"

namespace lwm2m::format::detail {

void CborWriter::head_long(std::uint8_t major, std::uint64_t arg) {
    const auto m = static_cast<std::uint8_t>(major << 5);
    if (arg <= 0xFF) {
        out_.push_back(std::byte{static_cast<std::uint8_t>(m | 24)});
        out_.push_back(std::byte{static_cast<std::uint8_t>(arg)});
    } else if (arg <= 0xFFFF) {
        out_.push_back(std::byte{static_cast<std::uint8_t>(m | 25)});
        out_.push_back(std::byte{static_cast<std::uint8_t>(arg >> 8)});
        out_.push_back(std::byte{static_cast<std::uint8_t>(arg)});
    } else if (arg <= 0xFFFFFFFFu) {
        out_.push_back(std::byte{static_cast<std::uint8_t>(m | 26)});
        for (int k = 3; k >= 0; --k)
            out_.push_back(std::byte{static_cast<std::uint8_t>(arg >> (8 * k))});
    } else {
        out_.push_back(std::byte{static_cast<std::uint8_t>(m | 27)});
        for (int k = 7; k >= 0; --k)
            out_.push_back(std::byte{static_cast<std::uint8_t>(arg >> (8 * k))});
    }
}

namespace {
bool half_exact(double d, std::uint16_t& h) {
    if (std::isnan(d)) {
        h = 0x7E00;
        return true;
    }
    const auto f = static_cast<float>(d);
    if (static_cast<double>(f) != d) return false;
    const auto bits = std::bit_cast<std::uint32_t>(f);
    const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
    const int exp = static_cast<int>((bits >> 23) & 0xFF);
    const std::uint32_t mant = bits & 0x7FFFFF;
    if (exp == 0xFF) {
        h = static_cast<std::uint16_t>(sign | 0x7C00);
        return true;
    }
    if (exp == 0) {
        if (mant != 0) return false; // float subnormals are far below half range
        h = sign;
        return true;
    }
    const int e = exp - 127;
    if (e > 15) return false;
    if (e >= -14) {
        if ((mant & 0x1FFF) != 0) return false;
        h = static_cast<std::uint16_t>(sign | ((e + 15) << 10) | (mant >> 13));
        return true;
    }
    if (e < -24) return false;
    const int shift = -e - 1; // half subnormal: m * 2^-24
    const std::uint32_t full = 0x800000 | mant;
    if ((full & ((1u << shift) - 1)) != 0) return false;
    h = static_cast<std::uint16_t>(sign | (full >> shift));
    return true;
}

double half_to_double(std::uint16_t h) {
    const int exp = (h >> 10) & 0x1F;
    const int mant = h & 0x3FF;
    double v;
    if (exp == 0)
        v = std::ldexp(mant, -24);
    else if (exp != 31)
        v = std::ldexp(mant + 1024, exp - 25);
    else
        v = mant == 0 ? INFINITY : NAN;
    return (h & 0x8000) ? -v : v;
}
} // namespace

void CborWriter::float64(double d) {
    std::uint16_t h = 0;
    if (half_exact(d, h)) {
        out_.push_back(std::byte{0xF9});
        out_.push_back(std::byte{static_cast<std::uint8_t>(h >> 8)});
        out_.push_back(std::byte{static_cast<std::uint8_t>(h)});
        return;
    }
    const auto f = static_cast<float>(d);
    if (static_cast<double>(f) == d) {
        const auto bits = std::bit_cast<std::uint32_t>(f);
        out_.push_back(std::byte{0xFA});
        for (int k = 3; k >= 0; --k)
            out_.push_back(std::byte{static_cast<std::uint8_t>(bits >> (8 * k))});
        return;
    }
    const auto bits = std::bit_cast<std::uint64_t>(d);
    out_.push_back(std::byte{0xFB});
    for (int k = 7; k >= 0; --k)
        out_.push_back(std::byte{static_cast<std::uint8_t>(bits >> (8 * k))});
}

void CborWriter::text(std::string_view s) {
    head(cbor::text, s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out_.insert(out_.end(), p, p + s.size());
}
void CborWriter::bytes(BytesView b) {
    head(cbor::bytes, b.size());
    out_.insert(out_.end(), b.begin(), b.end());
}

bool CborReader::int64(std::int64_t& v) {
    if (pos_ >= in_.size()) return false;
    const std::size_t save = pos_;
    CborHead h;
    if (!read_head(h) || (h.major != cbor::uint_ && h.major != cbor::nint) ||
        h.arg > static_cast<std::uint64_t>(INT64_MAX)) {
        pos_ = save;
        return false;
    }
    v = h.major == cbor::uint_ ? static_cast<std::int64_t>(h.arg)
                               : -1 - static_cast<std::int64_t>(h.arg);
    return true;
}

bool CborReader::read_head_arg(CborHead& h) {
    if (h.info <= 27) {
        const std::size_t n = std::size_t{1} << (h.info - 24);
        if (in_.size() - pos_ < n) return false;
        std::uint64_t v = 0;
        for (std::size_t k = 0; k < n; ++k)
            v = (v << 8) | std::to_integer<std::uint64_t>(in_[pos_ + k]);
        pos_ += n;
        h.arg = v;
    } else if (h.info == 31) {
        if (h.major == cbor::uint_ || h.major == cbor::nint || h.major == cbor::tag) return false;
        h.arg = cbor::indefinite; // for major 7 this is the "break" stop code
    } else {
        return false; // 28-30 reserved
    }
    return true;
}

Result<void> CborReader::skip_tags_slow() {
    for (int k = 0; k < 5; ++k) {
        if (pos_ >= in_.size()) return fail(Errc::malformed);
        if ((std::to_integer<std::uint8_t>(in_[pos_]) >> 5) != cbor::tag) return ok();
        if (k == 4) return fail(Errc::malformed);
        CborHead h;
        if (!read_head(h)) return fail(Errc::malformed);
        (void)h;
    }
    return ok();
}

bool CborReader::peek_major(std::uint8_t& major) {
    if (!skip_tags()) return false;
    if (pos_ >= in_.size()) return false;
    major = static_cast<std::uint8_t>(std::to_integer<std::uint8_t>(in_[pos_]) >> 5);
    return true;
}

Result<std::uint64_t> CborReader::container(std::uint8_t major) {
    LWM2M_TRY_VOID(skip_tags());
    CborHead h;
    if (!read_head(h)) return fail(Errc::malformed);
    if (h.major != major) return fail(Errc::malformed);
    if (h.arg != cbor::indefinite && h.arg > in_.size() - pos_) return fail(Errc::malformed);
    return h.arg;
}

Result<void> CborReader::string_body(const CborHead& h, std::string& out) {
    if (h.arg != cbor::indefinite) {
        if (h.arg > in_.size() - pos_) return fail(Errc::malformed);
        out.append(reinterpret_cast<const char*>(in_.data() + pos_),
                   static_cast<std::size_t>(h.arg));
        pos_ += static_cast<std::size_t>(h.arg);
        return ok();
    }
    // RFC 8949 §3.2.3: chunks of the same major type, definite length, then break.
    while (true) {
        if (peek_break()) {
            take_break();
            return ok();
        }
        CborHead c;
        if (!read_head(c)) return fail(Errc::malformed);
        if (c.major != h.major || c.arg == cbor::indefinite) return fail(Errc::malformed);
        LWM2M_TRY_VOID(string_body(c, out));
    }
}

Result<std::string> CborReader::text() {
    CborHead h;
    if (!head_of(cbor::text, h)) return fail(Errc::malformed);
    std::string s;
    LWM2M_TRY_VOID(string_body(h, s));
    if (!is_valid_utf8(s)) return fail(Errc::malformed);
    return s;
}

Result<std::string_view> CborReader::text_view(std::string& scratch) {
    CborHead h;
    if (!head_of(cbor::text, h)) return fail(Errc::malformed);
    std::string_view v;
    if (h.arg != cbor::indefinite) {
        if (h.arg > in_.size() - pos_) return fail(Errc::malformed);
        v = std::string_view(reinterpret_cast<const char*>(in_.data() + pos_),
                             static_cast<std::size_t>(h.arg));
        pos_ += static_cast<std::size_t>(h.arg);
    } else {
        scratch.clear();
        LWM2M_TRY_VOID(string_body(h, scratch));
        v = scratch;
    }
    if (!is_valid_utf8(v)) return fail(Errc::malformed);
    return v;
}

Result<Bytes> CborReader::bytes() {
    CborHead h;
    if (!head_of(cbor::bytes, h)) return fail(Errc::malformed);
    std::string s;
    LWM2M_TRY_VOID(string_body(h, s));
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return Bytes(p, p + s.size());
}

Result<dm::Value> CborReader::scalar() {
    LWM2M_TRY_VOID(skip_tags());
    if (pos_ >= in_.size()) return fail(Errc::malformed);
    const std::size_t save = pos_;
    CborHead h;
    if (!read_head(h)) return fail(Errc::malformed);
    switch (h.major) {
    case cbor::uint_:
        if (h.arg > static_cast<std::uint64_t>(INT64_MAX))
            return dm::Value::unsigned_integer(h.arg);
        return dm::Value::integer(static_cast<std::int64_t>(h.arg));
    case cbor::nint:
        if (h.arg > static_cast<std::uint64_t>(INT64_MAX)) return fail(Errc::out_of_range);
        return dm::Value::integer(-1 - static_cast<std::int64_t>(h.arg));
    case cbor::bytes:
    case cbor::text: {
        std::string s;
        LWM2M_TRY_VOID(string_body(h, s));
        if (h.major == cbor::text) {
            if (!is_valid_utf8(s)) return fail(Errc::malformed);
            return dm::Value::string(std::move(s));
        }
        const auto* p = reinterpret_cast<const std::byte*>(s.data());
        return dm::Value::opaque(Bytes(p, p + s.size()));
    }
    case cbor::simple:
        switch (h.info) {
        case 20:
            return dm::Value::boolean(false);
        case 21:
            return dm::Value::boolean(true);
        case 22:
            return dm::Value{}; // null
        case 25: {
            const double d = half_to_double(static_cast<std::uint16_t>(h.arg));
            return dm::Value::float_(d);
        }
        case 26: {
            const auto f = std::bit_cast<float>(static_cast<std::uint32_t>(h.arg));
            return dm::Value::float_(static_cast<double>(f));
        }
        case 27:
            return dm::Value::float_(std::bit_cast<double>(h.arg));
        default:
            break;
        }
        break;
    default:
        break;
    }
    pos_ = save;
    return fail(Errc::malformed);
}

Result<dm::Value> CborReader::number() {
    LWM2M_TRY(v, scalar());
    const auto idx = v.storage().index();
    if (idx != 2 && idx != 3 && idx != 4) return fail(Errc::malformed);
    return v;
}

Result<double> CborReader::real() {
    LWM2M_TRY(v, number());
    const auto& st = v.storage();
    if (const auto* i = std::get_if<std::int64_t>(&st)) return static_cast<double>(*i);
    if (const auto* u = std::get_if<std::uint64_t>(&st)) return static_cast<double>(*u);
    if (!std::isfinite(v.as_float())) return fail(Errc::malformed);
    return v.as_float();
}

Result<void> CborReader::skip(int depth) {
    if (depth <= 0) return fail(Errc::limit_exceeded);
    LWM2M_TRY_VOID(skip_tags());
    CborHead h;
    if (!read_head(h)) return fail(Errc::malformed);
    switch (h.major) {
    case cbor::uint_:
    case cbor::nint:
        return ok();
    case cbor::bytes:
    case cbor::text: {
        std::string s;
        return string_body(h, s);
    }
    case cbor::array:
    case cbor::map: {
        const std::uint64_t per = h.major == cbor::map ? 2 : 1;
        if (h.arg == cbor::indefinite) {
            while (!peek_break()) {
                if (at_end()) return fail(Errc::malformed);
                for (std::uint64_t k = 0; k < per; ++k)
                    LWM2M_TRY_VOID(skip(depth - 1));
            }
            take_break();
            return ok();
        }
        if (h.arg > in_.size() - pos_) return fail(Errc::malformed);
        for (std::uint64_t i = 0; i < h.arg * per; ++i)
            LWM2M_TRY_VOID(skip(depth - 1));
        return ok();
    }
    case cbor::simple:
        if (h.arg == cbor::indefinite) return fail(Errc::malformed); // stray break
        return ok();
    default:
        return fail(Errc::malformed);
    }
}

} // namespace lwm2m::format::detail
