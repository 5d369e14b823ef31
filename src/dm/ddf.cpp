// DDF XML loader (LwM2M TS Core 1.1 Appendix D; OMA LWM2M.xsd / LWM2M-v1_1.xsd) over expat.
#include <lwm2m/dm/ddf.hpp>
#include <lwm2m/dm/errc.hpp>

#include <expat.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <optional>

#include "dm/text_util.hpp"

namespace lwm2m::dm {
namespace {

using detail::is_space;
using detail::trim;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Quotes untrusted text for an error message: at most 40 bytes, control bytes as '?'.
std::string quote(std::string_view s) {
    std::string out = "'";
    for (std::size_t i = 0; i < s.size() && i < 40; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
    }
    if (s.size() > 40) out += "...";
    out += "'";
    return out;
}

std::optional<std::uint16_t> parse_id(std::string_view s) {
    s = trim(s);
    if (s.empty() || s.size() > 5) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (v >= 0xffff) return std::nullopt; // 65535 is reserved
    return static_cast<std::uint16_t>(v);
}

bool is_version(std::string_view s) { // "1.0", "1.1", "2.0", "1.0.1"?  digits(.digits)+
    if (s.empty() || s.size() > 16) return false;
    bool digit_seen = false;
    int dots = 0;
    for (char c : s) {
        if (c >= '0' && c <= '9') {
            digit_seen = true;
        } else if (c == '.' && digit_seen) {
            digit_seen = false;
            ++dots;
        } else {
            return false;
        }
    }
    return digit_seen && dots >= 1;
}

enum class Field : std::uint8_t {
    none,
    // object level
    obj_name,
    obj_id,
    obj_urn,
    obj_lwm2m_version,
    obj_version,
    obj_multiple,
    obj_mandatory,
    // resource level
    res_name,
    res_operations,
    res_multiple,
    res_mandatory,
    res_type,
    res_range,
    res_units,
    res_description,
};

struct ItemState {
    ResourceDef def;
    unsigned long line = 0;
    std::uint32_t seen = 0; // bit per Field
};

class Loader {
public:
    Loader(std::string_view source, const DdfLimits& limits)
        : source_(source)
        , limits_(limits) {}

    Result<ObjectDef> run(std::string_view xml, DdfError* out_error) {
        auto r = parse(xml);
        if (!r && out_error != nullptr) *out_error = error_;
        return r;
    }

private:
    Result<ObjectDef> parse(std::string_view xml) {
        if (xml.size() > limits_.max_bytes || xml.size() > static_cast<std::size_t>(INT_MAX))
            return set_error(Errc::ddf_too_large, 0,
                             "document of " + std::to_string(xml.size()) +
                                 " bytes is over the limit of " +
                                 std::to_string(limits_.max_bytes));
        XML_Parser p = XML_ParserCreate(nullptr);
        if (p == nullptr)
            return set_error(Errc::ddf_too_large, 0, "out of memory creating the XML parser");
        parser_ = p;
        XML_SetUserData(p, this);
        XML_SetElementHandler(p, &Loader::on_start, &Loader::on_end);
        XML_SetCharacterDataHandler(p, &Loader::on_text);
        // No entity expansion at all: any <!ENTITY> declaration stops the parse ("billion
        // laughs", external entities); parameter entities and external DTDs are never read.
        XML_SetEntityDeclHandler(p, &Loader::on_entity_decl);
        XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
        const auto status = XML_Parse(p, xml.data(), static_cast<int>(xml.size()), XML_TRUE);
        if (status != XML_STATUS_OK && !failed_) {
            set_error(Errc::ddf_xml, XML_GetCurrentLineNumber(p),
                      std::string("XML error: ") + XML_ErrorString(XML_GetErrorCode(p)));
        }
        XML_ParserFree(p);
        parser_ = nullptr;
        if (failed_) return fail(error_.code);
        if (!object_seen_)
            return set_error(Errc::ddf_no_object, 0,
                             "no <Object> element (not an object definition)");
        return std::move(def_);
    }

    tl::unexpected<Error> set_error(Errc e, unsigned long line, std::string message) {
        if (!failed_) {
            failed_ = true;
            error_ = DdfError{std::string(source_), line, std::move(message), make_error_code(e)};
        }
        return tl::unexpected<Error>(make_error_code(e));
    }

    void stop(Errc e, std::string message) {
        set_error(e, parser_ != nullptr ? XML_GetCurrentLineNumber(parser_) : 0,
                  std::move(message));
        if (parser_ != nullptr) XML_StopParser(parser_, XML_FALSE);
    }
    void stop_at(Errc e, unsigned long line, std::string message) {
        set_error(e, line, std::move(message));
        if (parser_ != nullptr) XML_StopParser(parser_, XML_FALSE);
    }

    static void XMLCALL on_entity_decl(void* ud, const XML_Char*, int, const XML_Char*, int,
                                       const XML_Char*, const XML_Char*, const XML_Char*,
                                       const XML_Char*) {
        static_cast<Loader*>(ud)->stop(Errc::ddf_xml,
                                       "entity declarations are not allowed in a DDF file");
    }

    static void XMLCALL on_start(void* ud, const XML_Char* name, const XML_Char** attrs) {
        static_cast<Loader*>(ud)->start(name, attrs);
    }
    static void XMLCALL on_end(void* ud, const XML_Char* name) {
        static_cast<Loader*>(ud)->end(name);
    }
    static void XMLCALL on_text(void* ud, const XML_Char* s, int len) {
        auto* self = static_cast<Loader*>(ud);
        if (self->failed_ || self->field_ == Field::none || len <= 0) return;
        if (self->text_.size() + static_cast<std::size_t>(len) > self->limits_.max_text) {
            self->stop(Errc::ddf_too_large,
                       "element text over " + std::to_string(self->limits_.max_text) + " bytes");
            return;
        }
        self->text_.append(s, static_cast<std::size_t>(len));
    }

    void start(std::string_view name, const XML_Char** attrs) {
        if (failed_) return;
        ++depth_;
        if (depth_ > limits_.max_depth) {
            stop(Errc::ddf_too_large,
                 "elements nested deeper than " + std::to_string(limits_.max_depth));
            return;
        }
        const unsigned long line = XML_GetCurrentLineNumber(parser_);
        // depth 1: <LWM2M>; 2: <Object>; 3: object fields and <Resources>; 4: <Item>; 5: item
        // fields
        if (depth_ == 2 && name == "Object") {
            if (object_seen_) {
                stop(Errc::ddf_duplicate, "more than one <Object> in one file");
                return;
            }
            object_seen_ = true;
            in_object_ = true;
            object_line_ = line;
            return;
        }
        if (!in_object_) return;
        if (depth_ == 3) {
            if (name == "Resources") {
                if (resources_seen_) {
                    stop(Errc::ddf_duplicate, "more than one <Resources> in the Object");
                    return;
                }
                resources_seen_ = true;
                in_resources_ = true;
                return;
            }
            begin_field(object_field(name), line, obj_seen_);
            return;
        }
        if (depth_ == 4 && in_resources_ && name == "Item") {
            if (def_.resources.size() >= limits_.max_resources) {
                stop(Errc::ddf_too_large,
                     "more than " + std::to_string(limits_.max_resources) + " resources");
                return;
            }
            item_ = ItemState{};
            item_->line = line;
            const XML_Char* id = nullptr;
            for (std::size_t k = 0; attrs[k] != nullptr; k += 2)
                if (std::string_view(attrs[k]) == "ID") id = attrs[k + 1];
            if (id == nullptr) {
                stop(Errc::ddf_missing_field, "<Item> without an ID attribute");
                return;
            }
            auto rid = parse_id(id);
            if (!rid) {
                stop(Errc::ddf_bad_field,
                     "<Item> ID " + quote(id) + " is not a resource id 0..65534");
                return;
            }
            item_->def.id = *rid;
            return;
        }
        if (depth_ == 5 && item_) begin_field(item_field(name), line, item_->seen);
    }

    void begin_field(Field f, unsigned long line, std::uint32_t& seen) {
        if (f == Field::none) return; // unknown element: ignored
        const auto bit = 1u << static_cast<unsigned>(f);
        if ((seen & bit) != 0) {
            stop_at(Errc::ddf_duplicate, line, "duplicate <" + std::string(field_name(f)) + ">");
            return;
        }
        seen |= bit;
        field_ = f;
        field_line_ = line;
        field_depth_ = depth_;
        text_.clear();
    }

    void end(std::string_view name) {
        if (failed_) return;
        if (field_ != Field::none && depth_ == field_depth_) {
            finish_field();
            field_ = Field::none;
        } else if (depth_ == 4 && item_ && name == "Item") {
            finish_item();
        } else if (depth_ == 3 && in_resources_ && name == "Resources") {
            in_resources_ = false;
        } else if (depth_ == 2 && in_object_ && name == "Object") {
            finish_object();
            in_object_ = false;
        }
        --depth_;
    }

    static Field object_field(std::string_view n) {
        if (n == "Name") return Field::obj_name;
        if (n == "ObjectID") return Field::obj_id;
        if (n == "ObjectURN") return Field::obj_urn;
        if (n == "LWM2MVersion") return Field::obj_lwm2m_version;
        if (n == "ObjectVersion") return Field::obj_version;
        if (n == "MultipleInstances") return Field::obj_multiple;
        if (n == "Mandatory") return Field::obj_mandatory;
        return Field::none;
    }
    static Field item_field(std::string_view n) {
        if (n == "Name") return Field::res_name;
        if (n == "Operations") return Field::res_operations;
        if (n == "MultipleInstances") return Field::res_multiple;
        if (n == "Mandatory") return Field::res_mandatory;
        if (n == "Type") return Field::res_type;
        if (n == "RangeEnumeration") return Field::res_range;
        if (n == "Units") return Field::res_units;
        if (n == "Description") return Field::res_description;
        return Field::none;
    }
    static std::string_view field_name(Field f) {
        switch (f) {
        case Field::obj_name:
        case Field::res_name:
            return "Name";
        case Field::obj_id:
            return "ObjectID";
        case Field::obj_urn:
            return "ObjectURN";
        case Field::obj_lwm2m_version:
            return "LWM2MVersion";
        case Field::obj_version:
            return "ObjectVersion";
        case Field::obj_multiple:
        case Field::res_multiple:
            return "MultipleInstances";
        case Field::obj_mandatory:
        case Field::res_mandatory:
            return "Mandatory";
        case Field::res_operations:
            return "Operations";
        case Field::res_type:
            return "Type";
        case Field::res_range:
            return "RangeEnumeration";
        case Field::res_units:
            return "Units";
        case Field::res_description:
            return "Description";
        case Field::none:
            break;
        }
        return "?";
    }

    [[nodiscard]] std::string where() const {
        return item_ ? "resource " + std::to_string(item_->def.id) + ": " : std::string();
    }

    bool parse_multiple(std::string_view t, bool& out) {
        const std::string l = lower(t);
        if (l == "multiple")
            out = true;
        else if (l == "single")
            out = false;
        else {
            stop_at(Errc::ddf_bad_field, field_line_,
                    where() + "<MultipleInstances> " + quote(t) + " is not Single or Multiple");
            return false;
        }
        return true;
    }
    bool parse_mandatory(std::string_view t, bool& out) {
        const std::string l = lower(t);
        if (l == "mandatory")
            out = true;
        else if (l == "optional")
            out = false;
        else {
            stop_at(Errc::ddf_bad_field, field_line_,
                    where() + "<Mandatory> " + quote(t) + " is not Mandatory or Optional");
            return false;
        }
        return true;
    }

    void finish_field() {
        const std::string_view t = trim(text_);
        switch (field_) {
        case Field::obj_name:
            def_.name = std::string(t);
            break;
        case Field::obj_id: {
            auto id = parse_id(t);
            if (!id)
                return stop_at(Errc::ddf_bad_field, field_line_,
                               "<ObjectID> " + quote(t) + " is not an object id 0..65534");
            def_.id = *id;
            break;
        }
        case Field::obj_urn:
            def_.urn = std::string(t);
            break;
        case Field::obj_lwm2m_version:
            if (!t.empty() && !is_version(t))
                return stop_at(Errc::ddf_bad_field, field_line_,
                               "<LWM2MVersion> " + quote(t) + " is not a version");
            def_.lwm2m_version = std::string(t);
            break;
        case Field::obj_version:
            if (!t.empty() && !is_version(t))
                return stop_at(Errc::ddf_bad_field, field_line_,
                               "<ObjectVersion> " + quote(t) + " is not a version");
            def_.object_version = std::string(t);
            break;
        case Field::obj_multiple:
            parse_multiple(t, def_.multiple);
            break;
        case Field::obj_mandatory:
            parse_mandatory(t, def_.mandatory);
            break;
        case Field::res_name:
            item_->def.name = std::string(t);
            break;
        case Field::res_operations: {
            const std::string l = lower(t);
            Operations& ops = item_->def.operations;
            if (l.empty())
                ops = Operations::none;
            else if (l == "r")
                ops = Operations::r;
            else if (l == "w")
                ops = Operations::w;
            else if (l == "rw")
                ops = Operations::rw;
            else if (l == "e")
                ops = Operations::e;
            else
                return stop_at(Errc::ddf_bad_field, field_line_,
                               where() + "<Operations> " + quote(t) +
                                   " is not R, W, RW, E or empty");
            break;
        }
        case Field::res_multiple:
            parse_multiple(t, item_->def.multiple);
            break;
        case Field::res_mandatory:
            parse_mandatory(t, item_->def.mandatory);
            break;
        case Field::res_type: {
            const std::string l = lower(t);
            DataType& ty = item_->def.type;
            if (l.empty() || l == "none")
                ty = DataType::none;
            else if (l == "string")
                ty = DataType::string;
            else if (l == "integer")
                ty = DataType::integer;
            else if (l == "unsigned integer")
                ty = DataType::unsigned_integer;
            else if (l == "float")
                ty = DataType::float_;
            else if (l == "boolean")
                ty = DataType::boolean;
            else if (l == "opaque")
                ty = DataType::opaque;
            else if (l == "time")
                ty = DataType::time;
            else if (l == "objlnk")
                ty = DataType::objlnk;
            else if (l == "corelnk")
                ty = DataType::corelnk;
            else
                return stop_at(Errc::ddf_bad_field, field_line_,
                               where() + "unknown <Type> " + quote(t));
            break;
        }
        case Field::res_range:
            item_->def.range_enumeration = std::string(t);
            break;
        case Field::res_units:
            item_->def.units = std::string(t);
            break;
        case Field::res_description:
            item_->def.description = std::string(t);
            break;
        case Field::none:
            break;
        }
    }

    static constexpr std::uint32_t bit(Field f) { return 1u << static_cast<unsigned>(f); }

    void finish_item() {
        ItemState& it = *item_;
        for (Field f :
             {Field::res_name, Field::res_operations, Field::res_multiple, Field::res_mandatory}) {
            if ((it.seen & bit(f)) == 0)
                return stop_at(Errc::ddf_missing_field, it.line,
                               where() + "missing <" + std::string(field_name(f)) + ">");
        }
        if ((it.seen & bit(Field::res_type)) == 0 && it.def.operations != Operations::e)
            return stop_at(Errc::ddf_missing_field, it.line, where() + "missing <Type>");
        for (const ResourceDef& r : def_.resources)
            if (r.id == it.def.id)
                return stop_at(Errc::ddf_duplicate, it.line,
                               "duplicate resource id " + std::to_string(it.def.id));
        def_.resources.push_back(std::move(it.def));
        item_.reset();
    }

    void finish_object() {
        for (Field f :
             {Field::obj_id, Field::obj_name, Field::obj_multiple, Field::obj_mandatory}) {
            if ((obj_seen_ & bit(f)) == 0)
                return stop_at(Errc::ddf_missing_field, object_line_,
                               "<Object> missing <" + std::string(field_name(f)) + ">");
        }
        if (def_.object_version.empty()) def_.object_version = "1.0";
        if (def_.lwm2m_version.empty()) def_.lwm2m_version = "1.0";
        std::sort(def_.resources.begin(), def_.resources.end(),
                  [](const ResourceDef& a, const ResourceDef& b) { return a.id < b.id; });
    }

    std::string_view source_;
    const DdfLimits& limits_;
    XML_Parser parser_ = nullptr;
    bool failed_ = false;
    DdfError error_;
    ObjectDef def_;
    std::size_t depth_ = 0;
    bool object_seen_ = false, in_object_ = false, resources_seen_ = false, in_resources_ = false;
    unsigned long object_line_ = 0;
    std::uint32_t obj_seen_ = 0;
    std::optional<ItemState> item_;
    Field field_ = Field::none;
    std::size_t field_depth_ = 0;
    unsigned long field_line_ = 0;
    std::string text_;
};

} // namespace

std::string DdfError::to_string() const {
    std::string s = file;
    if (line != 0) s += ":" + std::to_string(line);
    s += ": ";
    s += message;
    return s;
}

Result<ObjectDef> load_ddf(std::string_view xml, std::string_view source_name, DdfError* error,
                           const DdfLimits& limits) {
    Loader loader(source_name, limits);
    return loader.run(xml, error);
}

Result<ObjectDef> load_ddf_file(const std::filesystem::path& file, DdfError* error,
                                const DdfLimits& limits) {
    const std::string name = file.string();
    auto io_fail = [&](Errc e, std::string msg) -> Result<ObjectDef> {
        if (error != nullptr) *error = DdfError{name, 0, std::move(msg), make_error_code(e)};
        return fail(e);
    };
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) return io_fail(Errc::ddf_io, "cannot read: " + ec.message());
    if (size > limits.max_bytes)
        return io_fail(Errc::ddf_too_large, "file of " + std::to_string(size) +
                                                " bytes is over the limit of " +
                                                std::to_string(limits.max_bytes));
    std::ifstream in(file, std::ios::binary);
    if (!in) return io_fail(Errc::ddf_io, "cannot open");
    std::string text(static_cast<std::size_t>(size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(size));
    if (in.gcount() != static_cast<std::streamsize>(size))
        return io_fail(Errc::ddf_io, "short read");
    return load_ddf(text, name, error, limits);
}

DdfDirResult load_ddf_dir(const std::filesystem::path& folder, const DdfLimits& limits) {
    DdfDirResult out;
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    std::filesystem::directory_iterator it(folder, ec);
    if (ec) {
        out.errors.push_back(DdfError{folder.string(), 0, "cannot list folder: " + ec.message(),
                                      make_error_code(Errc::ddf_io)});
        return out;
    }
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
        if (ec) break;
        const auto& p = it->path();
        if (p.extension() == ".xml" && it->is_regular_file(ec)) files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        DdfError err;
        auto def = load_ddf_file(f, &err, limits);
        if (def)
            out.defs.push_back(std::move(*def));
        else
            out.errors.push_back(std::move(err));
    }
    return out;
}

} // namespace lwm2m::dm
