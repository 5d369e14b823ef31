#include "json.hpp"

#include "common.hpp"

namespace lwm2m::format::detail {

void JsonReader::ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
        ++i_;
}
bool JsonReader::eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
        ++i_;
        return true;
    }
    return false;
}
char JsonReader::peek() {
    ws();
    return i_ < s_.size() ? s_[i_] : '\0';
}

namespace {
int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80)
        out.push_back(static_cast<char>(cp));
    else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}
} // namespace

bool JsonReader::string(std::string& out) {
    ws();
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    out.clear();
    const std::size_t start = i_;
    // Fast path: no escapes.
    std::size_t j = i_;
    while (j < s_.size() && s_[j] != '"' && s_[j] != '\\' &&
           static_cast<unsigned char>(s_[j]) >= 0x20)
        ++j;
    if (j < s_.size() && s_[j] == '"') {
        const std::string_view raw = s_.substr(start, j - start);
        if (!is_valid_utf8(raw)) return false;
        out.assign(raw);
        i_ = j + 1;
        return true;
    }
    std::size_t run = start;
    while (true) {
        if (i_ >= s_.size()) return false;
        const char c = s_[i_];
        if (static_cast<unsigned char>(c) < 0x20) return false;
        if (c == '"') {
            out.append(s_.substr(run, i_ - run));
            ++i_;
            break;
        }
        if (c != '\\') {
            ++i_;
            continue;
        }
        out.append(s_.substr(run, i_ - run));
        if (i_ + 1 >= s_.size()) return false;
        const char e = s_[i_ + 1];
        i_ += 2;
        switch (e) {
        case '"':
            out.push_back('"');
            break;
        case '\\':
            out.push_back('\\');
            break;
        case '/':
            out.push_back('/');
            break;
        case 'b':
            out.push_back('\b');
            break;
        case 'f':
            out.push_back('\f');
            break;
        case 'n':
            out.push_back('\n');
            break;
        case 'r':
            out.push_back('\r');
            break;
        case 't':
            out.push_back('\t');
            break;
        case 'u': {
            auto hex4 = [&](std::uint32_t& v) {
                if (i_ + 4 > s_.size()) return false;
                v = 0;
                for (int k = 0; k < 4; ++k) {
                    const int h = hexval(s_[i_ + static_cast<std::size_t>(k)]);
                    if (h < 0) return false;
                    v = (v << 4) | static_cast<std::uint32_t>(h);
                }
                i_ += 4;
                return true;
            };
            std::uint32_t cp = 0;
            if (!hex4(cp)) return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                std::uint32_t lo = 0;
                if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') return false;
                i_ += 2;
                if (!hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return false;
            }
            put_utf8(out, cp);
            break;
        }
        default:
            return false;
        }
        run = i_;
    }
    return is_valid_utf8(out);
}

std::string_view JsonReader::number_token() {
    ws();
    const std::size_t start = i_;
    while (i_ < s_.size()) {
        const char c = s_[i_];
        if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')
            ++i_;
        else
            break;
    }
    return s_.substr(start, i_ - start);
}

bool JsonReader::number(dm::Value& out) {
    return parse_number(number_token(), out);
}

bool JsonReader::number(double& out) {
    dm::Value v;
    if (!number(v)) return false;
    const auto& st = v.storage();
    if (const auto* i = std::get_if<std::int64_t>(&st))
        out = static_cast<double>(*i);
    else if (const auto* u = std::get_if<std::uint64_t>(&st))
        out = static_cast<double>(*u);
    else
        out = v.as_float();
    return true;
}

bool JsonReader::boolean(bool& out) {
    ws();
    if (s_.substr(i_, 4) == "true") {
        i_ += 4;
        out = true;
        return true;
    }
    if (s_.substr(i_, 5) == "false") {
        i_ += 5;
        out = false;
        return true;
    }
    return false;
}

bool JsonReader::skip(int depth) {
    if (depth <= 0) return false;
    const char c = peek();
    if (c == '"') {
        std::string tmp;
        return string(tmp);
    }
    if (c == 't' || c == 'f') {
        bool b;
        return boolean(b);
    }
    if (c == 'n') {
        if (s_.substr(i_, 4) != "null") return false;
        i_ += 4;
        return true;
    }
    if (c == '[') {
        ++i_;
        if (eat(']')) return true;
        do {
            if (!skip(depth - 1)) return false;
        } while (eat(','));
        return eat(']');
    }
    if (c == '{') {
        ++i_;
        if (eat('}')) return true;
        do {
            std::string k;
            if (!string(k) || !eat(':') || !skip(depth - 1)) return false;
        } while (eat(','));
        return eat('}');
    }
    dm::Value v;
    return number(v);
}

void json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;
    for (std::size_t k = 0; k < s.size(); ++k) {
        const auto c = static_cast<unsigned char>(s[k]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.substr(run, k - run));
        run = k + 1;
        switch (c) {
        case '"':
            out.append("\\\"");
            break;
        case '\\':
            out.append("\\\\");
            break;
        case '\n':
            out.append("\\n");
            break;
        case '\r':
            out.append("\\r");
            break;
        case '\t':
            out.append("\\t");
            break;
        default:
            out.append("\\u00");
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    out.append(s.substr(run));
    out.push_back('"');
}

} // namespace lwm2m::format::detail
