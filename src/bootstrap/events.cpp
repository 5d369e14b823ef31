// Event texts (describe) and names of the bootstrap layer. Keys appear only as their size.
#include <lwm2m/bootstrap/engine.hpp>

#include "bootstrap/text.hpp"

namespace lwm2m::bootstrap {

std::string sanitize(BytesView bytes, std::size_t max) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    const std::size_t n = std::min(bytes.size(), max);
    out.reserve(n + 8);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = std::to_integer<unsigned char>(bytes[i]);
        if (c == '\\' || c == '"') {
            out.push_back('\\');
            out.push_back(static_cast<char>(c));
        } else if (c >= 0x20 && c < 0x7f) {
            out.push_back(static_cast<char>(c));
        } else {
            out += "\\x";
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        }
    }
    if (bytes.size() > max) out += "...";
    return out;
}

std::string_view to_string(Step s) noexcept {
    switch (s) {
    case Step::request:
        return "request";
    case Step::discover_ids:
        return "discover-ids";
    case Step::delete_:
        return "delete";
    case Step::write:
        return "write";
    case Step::discover:
        return "discover";
    case Step::read:
        return "read";
    case Step::persist:
        return "persist";
    case Step::finish:
        return "finish";
    }
    return "unknown";
}

std::string_view to_string(Initiator i) noexcept {
    return i == Initiator::client ? "client" : "server";
}

namespace {

std::string quoted(std::string_view s) {
    return "\"" + sanitize(s, 255) + "\"";
}

std::string credential_text(const store::DmCredential& c) {
    std::string s = "ssid=" + std::to_string(c.ssid) + " uri=" + quoted(c.server_uri) +
                    " mode=" + std::string(store::to_string(c.info.mode));
    switch (c.info.mode) {
    case store::SecurityMode::psk:
        // The identity is not secret (it travels in clear in the handshake); the key is.
        s += " identity=" + quoted(as_string_view(c.info.psk_identity)) +
             " key=" + c.info.psk_key.redacted();
        break;
    case store::SecurityMode::rpk:
        s += " public-key=<" + std::to_string(c.info.rpk_public_key.size()) + " bytes>";
        break;
    case store::SecurityMode::x509:
        s += " cn=" + quoted(c.info.x509_common_name);
        break;
    case store::SecurityMode::nosec:
        break;
    }
    return s;
}

std::string credentials_text(const std::vector<store::DmCredential>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0) s += ", ";
        s += credential_text(v[i]);
    }
    return s + "]";
}

std::string head(const char* what, std::uint64_t session, const std::string& endpoint) {
    return std::string("bootstrap ") + what + ": session=" + std::to_string(session) +
           " endpoint=" + quoted(endpoint);
}

std::string where(std::uint16_t listener, const PeerAddr& peer) {
    return " listener=" + std::to_string(listener) + " peer=" + peer.to_string();
}

} // namespace

std::string describe(const Event& event) {
    struct V {
        std::string operator()(const BootstrapStarted& e) const {
            return head("started", e.session, e.endpoint) + where(e.listener, e.peer) +
                   " initiator=" + std::string(to_string(e.initiator));
        }
        std::string operator()(const CredentialsPending& e) const {
            return head("credentials pending", e.session, e.endpoint) +
                   " credentials=" + credentials_text(e.credentials);
        }
        std::string operator()(const BootstrapFinished& e) const {
            return head("finished", e.session, e.endpoint) + where(e.listener, e.peer) +
                   " format=" + std::string(format::to_string(e.format)) +
                   " elapsed=" + std::to_string(to_ms(e.elapsed)) +
                   "ms credentials=" + credentials_text(e.credentials);
        }
        std::string operator()(const BootstrapFailed& e) const {
            std::string s = head("failed", e.session, e.endpoint) + where(e.listener, e.peer) +
                            " step=" + std::string(to_string(e.step));
            if (e.path) s += " path=" + e.path->to_string();
            if (e.code) s += " code=" + e.code->to_string();
            s += " reason=" + quoted(e.reason);
            if (e.error) s += " error=" + quoted(e.error.message());
            return s;
        }
    };
    return std::visit(V{}, event);
}

} // namespace lwm2m::bootstrap
