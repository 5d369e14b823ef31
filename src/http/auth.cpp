#include <lwm2m/http/auth.hpp>

#include <array>
#include <memory>
#include <system_error>

#include <sys/stat.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/atomic_file.hpp>

namespace lwm2m::http {

namespace {

constexpr std::size_t max_token_file = 1024;

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

std::string_view trim(std::string_view s) {
    while (!s.empty() &&
           (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

} // namespace

SecretBytes generate_token(Random& rng) {
    std::array<std::byte, 32> raw{};
    rng.fill(raw);
    std::string hex = to_hex(raw);
    SecretBytes token(as_bytes(hex));
    secure_wipe(hex.data(), hex.size());
    secure_wipe(raw.data(), raw.size());
    return token;
}

Result<SecretBytes> load_or_create_token(const std::filesystem::path& data_dir, Random& rng,
                                         bool* created) {
    const std::string file = (data_dir / token_file_name).string();
    if (created) *created = false;
    struct ::stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        if (errno != ENOENT) return fail(std::error_code(errno, std::system_category()));
        SecretBytes token = generate_token(rng);
        std::string text(as_string_view(token.view()));
        text.push_back('\n');
        auto w = store::write_file_atomic(file, as_bytes(text), 0600);
        secure_wipe(text.data(), text.size());
        if (!w) return fail(w.error());
        if (created) *created = true;
        return token;
    }
    if ((st.st_mode & 077) != 0) return fail(Errc::invalid_state);
    auto bytes = store::read_file(file, max_token_file);
    if (!bytes) return fail(bytes.error());
    std::string_view text = trim(as_string_view(*bytes));
    bool ok = !text.empty();
    for (char c : text)
        if (c <= ' ' || c > '~') ok = false;
    SecretBytes token(as_bytes(text));
    secure_wipe(bytes->data(), bytes->size());
    if (!ok) return fail(Errc::parse_error);
    return token;
}

bool check_bearer(const Request& req, const SecretBytes& token, bool allow_query) {
    if (token.empty()) return false;
    if (auto h = req.header("authorization")) {
        std::string_view v = trim(*h);
        auto sp = v.find(' ');
        if (sp != std::string_view::npos && iequals(v.substr(0, sp), "bearer")) {
            std::string_view presented = trim(v.substr(sp + 1));
            return token.equals(as_bytes(presented));
        }
        return false;
    }
    if (allow_query)
        if (auto q = req.query_param("access_token")) return token.equals(as_bytes(*q));
    return false;
}

Authenticator bearer_authenticator(SecretBytes token) {
    auto shared = std::make_shared<const SecretBytes>(std::move(token));
    return [shared](const Request& req) {
        bool events = req.method == "GET" && req.path == "/api/events";
        return check_bearer(req, *shared, events);
    };
}

} // namespace lwm2m::http
