// Object definitions used by the format tests: the Device object (LwM2M TS 1.1 Appendix E.4,
// written here so the tests do not depend on dm's built-in table) and a test object with one
// single and one multiple resource of every data type.
#pragma once

#include <system_error>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/dm/node.hpp>
#include <lwm2m/dm/registry.hpp>

namespace lwm2m::format::test {

inline dm::ResourceDef res(std::uint16_t id, dm::DataType t, bool multiple = false,
                           dm::Operations ops = dm::Operations::r) {
    dm::ResourceDef r;
    r.id = id;
    r.type = t;
    r.multiple = multiple;
    r.operations = ops;
    return r;
}

inline dm::ObjectDef device_def() {
    using T = dm::DataType;
    dm::ObjectDef o;
    o.id = 3;
    o.name = "Device";
    o.resources = {res(0, T::string),
                   res(1, T::string),
                   res(2, T::string),
                   res(3, T::string),
                   res(4, T::none, false, dm::Operations::e),
                   res(5, T::none, false, dm::Operations::e),
                   res(6, T::integer, true),
                   res(7, T::integer, true),
                   res(8, T::integer, true),
                   res(9, T::integer),
                   res(10, T::integer),
                   res(11, T::integer, true),
                   res(12, T::none, false, dm::Operations::e),
                   res(13, T::time, false, dm::Operations::rw),
                   res(14, T::string, false, dm::Operations::rw),
                   res(15, T::string, false, dm::Operations::rw),
                   res(16, T::string),
                   res(17, T::string),
                   res(18, T::string),
                   res(19, T::string),
                   res(20, T::integer),
                   res(21, T::integer),
                   res(22, T::objlnk, true)};
    return o;
}

/// Object 9999: resource k (0..8) single, k+10 multiple, of type types[k].
inline constexpr dm::DataType all_types[] = {
    dm::DataType::string, dm::DataType::integer, dm::DataType::unsigned_integer,
    dm::DataType::float_, dm::DataType::boolean, dm::DataType::opaque,
    dm::DataType::time,   dm::DataType::objlnk,  dm::DataType::corelnk};

inline dm::ObjectDef typed_def() {
    dm::ObjectDef o;
    o.id = 9999;
    o.name = "Typed";
    o.multiple = true;
    for (std::uint16_t k = 0; k < 9; ++k)
        o.resources.push_back(res(k, all_types[k], false, dm::Operations::rw));
    for (std::uint16_t k = 0; k < 9; ++k)
        o.resources.push_back(
            res(static_cast<std::uint16_t>(k + 10), all_types[k], true, dm::Operations::rw));
    return o;
}

inline dm::ObjectRegistry registry() {
    dm::ObjectRegistry r;
    r.add(device_def());
    r.add(typed_def());
    return r;
}

/// The Device instance of the TS 1.1 §7.4.3 TLV example (also used by §7.4.4/§7.4.5).
inline dm::Instance ts_device_instance() {
    dm::Instance i;
    i.id = 0;
    auto put = [&](dm::Resource r) { i.resources[r.id] = std::move(r); };
    put(dm::Resource::single(0, dm::Value::string("Open Mobile Alliance")));
    put(dm::Resource::single(1, dm::Value::string("Lightweight M2M Client")));
    put(dm::Resource::single(2, dm::Value::string("345000123")));
    put(dm::Resource::single(3, dm::Value::string("1.0")));
    put(dm::Resource::multi(6, {{0, dm::Value::integer(1)}, {1, dm::Value::integer(5)}}));
    put(dm::Resource::multi(7, {{0, dm::Value::integer(3800)}, {1, dm::Value::integer(5000)}}));
    put(dm::Resource::multi(8, {{0, dm::Value::integer(125)}, {1, dm::Value::integer(900)}}));
    put(dm::Resource::single(9, dm::Value::integer(100)));
    put(dm::Resource::single(10, dm::Value::integer(15)));
    put(dm::Resource::multi(11, {{0, dm::Value::integer(0)}}));
    put(dm::Resource::single(13, dm::Value::time(0x5182428F)));
    put(dm::Resource::single(14, dm::Value::string("+02:00")));
    put(dm::Resource::single(16, dm::Value::string("U")));
    return i;
}

/// The error of a Result, or an empty error_code when it holds a value (so that a failing
/// expectation prints instead of throwing bad_expected_access).
template <class R>
std::error_code err(const R& r) {
    return r ? std::error_code{} : r.error();
}

inline Bytes hex(std::string_view h) {
    Bytes out;
    std::string clean;
    for (char c : h)
        if (c != ' ' && c != '\n') clean.push_back(c);
    if (!from_hex(clean, out)) out.clear();
    return out;
}

} // namespace lwm2m::format::test
