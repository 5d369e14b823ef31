// LwM2M data types (LwM2M TS Core 1.1 Appendix C).
#include <lwm2m/dm/value.hpp>

namespace lwm2m::dm {

std::string_view to_string(DataType t) {
    // The spellings of the DDF <Type> element (OMA LWM2M-v1_1.xsd).
    switch (t) {
    case DataType::none:
        return "none";
    case DataType::string:
        return "String";
    case DataType::integer:
        return "Integer";
    case DataType::unsigned_integer:
        return "Unsigned Integer";
    case DataType::float_:
        return "Float";
    case DataType::boolean:
        return "Boolean";
    case DataType::opaque:
        return "Opaque";
    case DataType::time:
        return "Time";
    case DataType::objlnk:
        return "Objlnk";
    case DataType::corelnk:
        return "Corelnk";
    }
    return "?";
}

DataType Value::type() const {
    struct V {
        DataType operator()(const std::monostate&) const { return DataType::none; }
        DataType operator()(const std::string&) const { return DataType::string; }
        DataType operator()(std::int64_t) const { return DataType::integer; }
        DataType operator()(std::uint64_t) const { return DataType::unsigned_integer; }
        DataType operator()(double) const { return DataType::float_; }
        DataType operator()(bool) const { return DataType::boolean; }
        DataType operator()(const Bytes&) const { return DataType::opaque; }
        DataType operator()(const Time&) const { return DataType::time; }
        DataType operator()(const Objlnk&) const { return DataType::objlnk; }
        DataType operator()(const Corelnk&) const { return DataType::corelnk; }
    };
    return std::visit(V{}, v_);
}

} // namespace lwm2m::dm
