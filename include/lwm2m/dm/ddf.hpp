// Loading object definitions from OMA DDF XML (LwM2M TS Core 1.1 Appendix D; the shapes of the
// OMA schemas LWM2M.xsd and LWM2M-v1_1.xsd). The parser is pure (text in); the file and folder
// helpers read files but do nothing else.
//
// Error reporting: every function returns Result<...> with a dm::Errc (ddf_*) error_code and, when
// the caller passes a DdfError*, fills it with the file name, the 1-based line (0 when the
// problem is not tied to a line, e.g. an unreadable file) and a message naming the problem.
// A malformed, hostile or huge file never aborts the process: it is reported and skipped.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <lwm2m/base/result.hpp>
#include <lwm2m/dm/object_def.hpp>

namespace lwm2m::dm {

struct DdfError {
    std::string file;       ///< the source name / path given by the caller
    unsigned long line = 0; ///< 1-based; 0 when not tied to a line
    std::string message;    ///< what is wrong, e.g. "resource 5: unknown <Type> 'Strnig'"
    std::error_code code;   ///< a dm::Errc ddf_* code
    /// "file:line: message" (or "file: message" when line is 0).
    [[nodiscard]] std::string to_string() const;
};

/// Caps that bound the work and memory one document can cause.
struct DdfLimits {
    std::size_t max_bytes = 4u << 20; ///< whole document
    std::size_t max_text = 64u << 10; ///< one element's text (descriptions)
    std::size_t max_depth = 32;       ///< element nesting
    std::size_t max_resources = 4096; ///< <Item> elements
};

/// Parses one DDF document holding one <Object>. Whitespace around element text is trimmed; a
/// missing <ObjectVersion> / <LWM2MVersion> means "1.0"; <Type> "" or missing on an executable
/// resource means DataType::none; unknown elements are ignored (forward compatible); resources
/// are returned sorted by id. DTD entity declarations are refused (no entity expansion: blocks
/// "billion laughs" and external entities).
/// Errors: ddf_too_large, ddf_xml, ddf_no_object, ddf_missing_field, ddf_bad_field, ddf_duplicate.
[[nodiscard]] Result<ObjectDef> load_ddf(std::string_view xml, std::string_view source_name,
                                         DdfError* error = nullptr, const DdfLimits& limits = {});

/// Reads and parses one file. Errors: ddf_io (cannot read), ddf_too_large, and load_ddf's.
[[nodiscard]] Result<ObjectDef> load_ddf_file(const std::filesystem::path& file,
                                              DdfError* error = nullptr,
                                              const DdfLimits& limits = {});

struct DdfDirResult {
    std::vector<ObjectDef> defs; ///< loaded definitions, in file-name order
    std::vector<DdfError>
        errors; ///< one per file that failed (and one if the folder is unreadable)
};

/// Loads every regular file named *.xml directly in `folder` (not recursive), in file-name
/// order. A bad file is reported in `errors` and skipped; the others load.
[[nodiscard]] DdfDirResult load_ddf_dir(const std::filesystem::path& folder,
                                        const DdfLimits& limits = {});

} // namespace lwm2m::dm
