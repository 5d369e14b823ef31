#include "pem.hpp"

#include <lwm2m/dm/value_text.hpp>

#include "secret_input.hpp"

namespace lwm2m::app {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

/// Decodes a PEM body (base64 with line breaks, RFC 7468 §3) into `out`, which is sized here
/// once. The whitespace-free copy of the text is a pre-sized buffer wiped before it is freed.
bool decode_body(std::string_view body, Bytes& out) {
    std::string compact(body.size(), '\0');
    std::size_t n = 0;
    for (char c : body)
        if (!is_space(c)) compact[n++] = c;
    const std::string_view text(compact.data(), n);
    out.assign(dm::base64_max_decoded_size(text), std::byte{0});
    auto size = dm::base64_decode_into(text, out, dm::Base64Alphabet::standard,
                                       dm::Base64Padding::required);
    secure_wipe(compact.data(), compact.size());
    if (!size || *size == 0) {
        secure_wipe(out.data(), out.size());
        out.clear();
        return false;
    }
    out.resize(*size); // shrinks in place
    return true;
}

} // namespace

std::optional<std::vector<PemBlock>> parse_pem(std::string_view text) {
    std::vector<PemBlock> blocks;
    constexpr std::string_view begin = "-----BEGIN ";
    std::size_t pos = 0;
    while ((pos = text.find(begin, pos)) != std::string_view::npos) {
        const std::size_t label_start = pos + begin.size();
        const std::size_t label_end = text.find("-----", label_start);
        if (label_end == std::string_view::npos) return std::nullopt;
        PemBlock b;
        b.label = std::string(text.substr(label_start, label_end - label_start));
        const std::string end_marker = "-----END " + b.label + "-----";
        const std::size_t body_start = label_end + 5;
        const std::size_t body_end = text.find(end_marker, body_start);
        if (body_end == std::string_view::npos) return std::nullopt;
        const std::string_view body = text.substr(body_start, body_end - body_start);
        pos = body_end + end_marker.size();
        // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED") mark legacy encrypted keys: refused.
        if (body.find(':') != std::string_view::npos) return std::nullopt;
        if (b.label ==
            "ENCRYPTED PRIVATE KEY") { // PKCS#8 EncryptedPrivateKeyInfo: no password here
            blocks.push_back(std::move(b));
            continue;
        }
        Bytes der;
        if (!decode_body(body, der)) return std::nullopt;
        if (ends_with(b.label, "PRIVATE KEY")) {
            b.key = SecretBytes(der);
            secure_wipe(der.data(), der.size());
        } else {
            b.der = std::move(der);
        }
        blocks.push_back(std::move(b));
    }
    return blocks;
}

std::optional<std::vector<PemBlock>> read_pem_file(const std::string& path) {
    auto text = read_secret_file(path, std::size_t{1} << 20, false);
    if (!text) return std::nullopt;
    const BytesView v = text->view();
    return parse_pem(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()));
}

} // namespace lwm2m::app
