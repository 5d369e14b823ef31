// LwM2M resource values (LwM2M TS Core 1.1 Appendix C, "Data Types").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/ids.hpp>

namespace lwm2m::dm {

/// The data types of a resource definition.
enum class DataType : std::uint8_t {
    none = 0, ///< executable resources carry no value
    string,
    integer,
    unsigned_integer, ///< LwM2M 1.1
    float_,
    boolean,
    opaque,
    time, ///< seconds since the Unix epoch, signed
    objlnk,
    corelnk, ///< LwM2M 1.1: a CoRE Link Format string (RFC 6690)
};

[[nodiscard]] std::string_view to_string(DataType t);

/// Object link "oid:iid" (TS Appendix C); 65535:65535 is the null link.
struct Objlnk {
    std::uint16_t oid = 0xffff;
    std::uint16_t iid = 0xffff;
    friend bool operator==(const Objlnk&, const Objlnk&) = default;
};

/// Distinct wrappers so that Time and Corelnk do not collapse into Integer and String.
struct Time {
    std::int64_t seconds = 0;
    friend bool operator==(const Time&, const Time&) = default;
};
struct Corelnk {
    std::string text;
    friend bool operator==(const Corelnk&, const Corelnk&) = default;
};

/// A value of one of the LwM2M data types. monostate = None (no value, e.g. Execute).
class Value {
public:
    using Storage = std::variant<std::monostate, std::string, std::int64_t, std::uint64_t, double,
                                 bool, Bytes, Time, Objlnk, Corelnk>;

    Value() = default;
    static Value string(std::string s) { return Value(Storage(std::move(s))); }
    static Value integer(std::int64_t v) { return Value(Storage(v)); }
    static Value unsigned_integer(std::uint64_t v) { return Value(Storage(v)); }
    static Value float_(double v) { return Value(Storage(v)); }
    static Value boolean(bool v) { return Value(Storage(v)); }
    static Value opaque(Bytes b) { return Value(Storage(std::move(b))); }
    static Value time(std::int64_t seconds) { return Value(Storage(Time{seconds})); }
    static Value objlnk(std::uint16_t oid, std::uint16_t iid) {
        return Value(Storage(Objlnk{oid, iid}));
    }
    static Value corelnk(std::string s) { return Value(Storage(Corelnk{std::move(s)})); }

    [[nodiscard]] DataType type() const;
    [[nodiscard]] bool is_none() const { return std::holds_alternative<std::monostate>(v_); }
    [[nodiscard]] const Storage& storage() const { return v_; }

    // Typed accessors: precondition type() matches (checked with LWM2M_ASSERT-like abort in debug).
    [[nodiscard]] const std::string& as_string() const { return std::get<std::string>(v_); }
    [[nodiscard]] std::int64_t as_integer() const { return std::get<std::int64_t>(v_); }
    [[nodiscard]] std::uint64_t as_unsigned() const { return std::get<std::uint64_t>(v_); }
    [[nodiscard]] double as_float() const { return std::get<double>(v_); }
    [[nodiscard]] bool as_boolean() const { return std::get<bool>(v_); }
    [[nodiscard]] const Bytes& as_opaque() const { return std::get<Bytes>(v_); }
    [[nodiscard]] std::int64_t as_time() const { return std::get<Time>(v_).seconds; }
    [[nodiscard]] Objlnk as_objlnk() const { return std::get<Objlnk>(v_); }
    [[nodiscard]] const std::string& as_corelnk() const { return std::get<Corelnk>(v_).text; }

    friend bool operator==(const Value&, const Value&) = default;

private:
    explicit Value(Storage v)
        : v_(std::move(v)) {}
    Storage v_;
};

} // namespace lwm2m::dm
