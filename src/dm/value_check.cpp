// Value checks against definitions (LwM2M TS Core 1.1 Appendix D.1: RangeEnumeration).
#include <lwm2m/dm/errc.hpp>
#include <lwm2m/dm/value_check.hpp>

#include <charconv>
#include <cmath>
#include <limits>

#include "dm/text_util.hpp"

namespace lwm2m::dm {
namespace {

using detail::is_space;
using detail::trim;

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Reads a number at the front of `s`: -?digits(.digits)?; advances `s`.
bool take_number(std::string_view& s, long double& out) {
    s = trim(s);
    std::size_t i = 0;
    if (i < s.size() && s[i] == '-') ++i;
    const std::size_t int_start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
        ++i;
    if (i == int_start) return false;
    if (i + 1 < s.size() && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') {
        ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9')
            ++i;
    }
    // Parse as double (exact for the integers of the registry up to 2^53); integers that need
    // more bits are read as integers into the long double.
    const std::string_view num = s.substr(0, i);
    if (num.find('.') == std::string_view::npos) {
        if (num[0] == '-') {
            std::int64_t v = 0;
            auto r = std::from_chars(num.data(), num.data() + num.size(), v);
            if (r.ec != std::errc() || r.ptr != num.data() + num.size()) return false;
            out = static_cast<long double>(v);
        } else {
            std::uint64_t v = 0;
            auto r = std::from_chars(num.data(), num.data() + num.size(), v);
            if (r.ec != std::errc() || r.ptr != num.data() + num.size()) return false;
            out = static_cast<long double>(v);
        }
    } else {
        double v = 0;
        auto r = std::from_chars(num.data(), num.data() + num.size(), v);
        if (r.ec != std::errc() || r.ptr != num.data() + num.size()) return false;
        out = v;
    }
    s.remove_prefix(i);
    return true;
}

// One comma-separated item: "A", "A..B", "A-B", or "A-B-C..." (a list of values, at most 16).
// Calls sink(lo, hi) per interval; returns false on anything else.
template <class Sink>
bool parse_item(std::string_view item, Sink& sink) {
    long double lo = 0;
    if (!take_number(item, lo)) return false;
    item = trim(item);
    if (item.empty()) {
        sink(lo, lo);
        return true;
    }
    if (item.substr(0, 2) == "..") {
        item.remove_prefix(2);
        long double hi = 0;
        if (!take_number(item, hi) || !trim(item).empty() || hi < lo) return false;
        sink(lo, hi);
        return true;
    }
    long double values[16];
    std::size_t n = 0;
    values[n++] = lo;
    while (!item.empty()) {
        if (item[0] != '-' || n == 16) return false;
        item.remove_prefix(1);
        if (!take_number(item, values[n++])) return false;
        item = trim(item);
    }
    if (n == 2) {
        if (values[1] < values[0]) return false;
        sink(values[0], values[1]);
    } else {
        for (std::size_t k = 0; k < n; ++k)
            sink(values[k], values[k]); // "16-32-48 bytes"
    }
    return true;
}

// The whole <RangeEnumeration>: optional unit word, comma-separated items. No allocation.
template <class Sink>
bool parse_range_impl(std::string_view text, bool& bytes, Sink& sink) {
    text = trim(text);
    bytes = false;
    for (std::string_view unit : {std::string_view("bytes"), std::string_view("byte")}) {
        if (text.size() > unit.size() && iequals(text.substr(text.size() - unit.size()), unit)) {
            const char before = text[text.size() - unit.size() - 1];
            if (is_space(before) || (before >= '0' && before <= '9')) {
                bytes = true;
                text = trim(text.substr(0, text.size() - unit.size()));
                break;
            }
        }
    }
    if (text.empty() || text.size() > 256) return false;
    while (true) {
        const auto comma = text.find(',');
        if (!parse_item(text.substr(0, comma), sink)) return false;
        if (comma == std::string_view::npos) return true;
        text.remove_prefix(comma + 1);
        if (trim(text).empty()) return false; // trailing comma
    }
}

std::optional<long double> numeric(const Value& v) {
    switch (v.type()) {
    case DataType::integer:
        return static_cast<long double>(v.as_integer());
    case DataType::unsigned_integer:
        return static_cast<long double>(v.as_unsigned());
    case DataType::float_:
        return static_cast<long double>(v.as_float());
    case DataType::time:
        return static_cast<long double>(v.as_time());
    default:
        return std::nullopt;
    }
}

std::optional<std::size_t> length(const Value& v) {
    switch (v.type()) {
    case DataType::string:
        return v.as_string().size();
    case DataType::opaque:
        return v.as_opaque().size();
    case DataType::corelnk:
        return v.as_corelnk().size();
    default:
        return std::nullopt;
    }
}

} // namespace

bool RangeSpec::contains(long double x) const {
    for (const auto& [lo, hi] : intervals)
        if (x >= lo && x <= hi) return true;
    return false;
}

std::optional<RangeSpec> parse_range(std::string_view text) {
    RangeSpec spec;
    auto sink = [&](long double lo, long double hi) { spec.intervals.emplace_back(lo, hi); };
    if (!parse_range_impl(text, spec.bytes, sink) || spec.intervals.empty()) return std::nullopt;
    return spec;
}

Result<void> check_value(const ResourceDef& def, const Value& v) {
    if (v.type() != def.type) return fail(Errc::type_mismatch);
    if (def.range_enumeration.empty()) return ok();
    // What is measured: the length for String/Opaque/Corelnk, the number for numeric types.
    long double x = 0;
    bool is_length = false;
    if (auto len = length(v)) {
        x = static_cast<long double>(*len);
        is_length = true;
    } else if (auto num = numeric(v)) {
        x = *num;
    } else {
        return ok(); // Boolean, Objlnk, none: ranges are not checked
    }
    bool bytes = false, inside = false;
    auto sink = [&](long double lo, long double hi) { inside = inside || (x >= lo && x <= hi); };
    if (!parse_range_impl(def.range_enumeration, bytes, sink))
        return ok();                      // free text: no constraint
    if (bytes && !is_length) return ok(); // "0-255 bytes" on a number: not checkable
    return inside ? ok() : Result<void>(fail(Errc::out_of_range));
}

Result<Value> coerce(const Value& v, DataType target) {
    const DataType from = v.type();
    if (from == target) return v;
    switch (target) {
    case DataType::integer:
        if (from == DataType::unsigned_integer) {
            if (v.as_unsigned() >
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return fail(Errc::type_mismatch);
            return Value::integer(static_cast<std::int64_t>(v.as_unsigned()));
        }
        if (from == DataType::time) return Value::integer(v.as_time());
        break;
    case DataType::unsigned_integer:
        if (from == DataType::integer && v.as_integer() >= 0)
            return Value::unsigned_integer(static_cast<std::uint64_t>(v.as_integer()));
        break;
    case DataType::time:
        if (from == DataType::integer) return Value::time(v.as_integer());
        if (from == DataType::unsigned_integer &&
            v.as_unsigned() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return Value::time(static_cast<std::int64_t>(v.as_unsigned()));
        break;
    case DataType::float_:
        if (from == DataType::integer) {
            const auto d = static_cast<double>(v.as_integer());
            // exact only when the round trip is (|x| <= 2^53 or a representable larger value)
            if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
                static_cast<std::int64_t>(d) == v.as_integer())
                return Value::float_(d);
        }
        if (from == DataType::unsigned_integer) {
            const auto d = static_cast<double>(v.as_unsigned());
            if (d < 18446744073709551616.0 && static_cast<std::uint64_t>(d) == v.as_unsigned())
                return Value::float_(d);
        }
        break;
    case DataType::string:
        if (from == DataType::corelnk) return Value::string(v.as_corelnk());
        break;
    case DataType::corelnk:
        if (from == DataType::string) return Value::corelnk(v.as_string());
        break;
    default:
        break;
    }
    return fail(Errc::type_mismatch);
}

} // namespace lwm2m::dm
