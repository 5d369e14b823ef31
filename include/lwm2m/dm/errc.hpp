// Errors of the data-model layer (docs/architecture.md §5).
#pragma once

#include <system_error>

namespace lwm2m::dm {

enum class Errc {
    // paths, values, content (bad input from the network: answer 4.00 Bad Request / 4.04)
    bad_path = 1,     ///< not a valid LwM2M path (syntax, id > 65535, instance 65535, depth > 4)
    bad_value,        ///< text that is not a valid value of the requested data type
    type_mismatch,    ///< the value's data type is not the resource's (4.00 / 4.06)
    out_of_range,     ///< the value is outside the resource's range or length (4.00)
    unknown_object,   ///< no definition for the object id (4.04)
    unknown_resource, ///< no definition for the resource id (4.04)
    bad_structure, ///< records that do not form valid content (duplicates, single/multiple clash,
                   ///< outside the base path)
    // DDF XML loading (configuration input: report the DdfError, skip the file)
    ddf_io,            ///< the file cannot be read
    ddf_too_large,     ///< file, text, nesting or resource count over the loader's limits
    ddf_xml,           ///< not well-formed XML, or DTD entity declarations (refused)
    ddf_missing_field, ///< a mandatory element or attribute is missing
    ddf_bad_field,     ///< an element has a value outside its schema (type, id, operations...)
    ddf_duplicate,     ///< a resource id or a singleton element appears twice
    ddf_no_object,     ///< the document has no <Object> (e.g. not an object definition file)
};

const std::error_category& dm_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

} // namespace lwm2m::dm

template <>
struct std::is_error_code_enum<lwm2m::dm::Errc> : std::true_type {};
