// Bootstrap configurations for the bootstrap tests, benchmark and fuzz seeds (built on the client
// test builders of tests/unit/client/test_configs.hpp).
#pragma once

#include <cstdint>
#include <string>

#include <lwm2m/store/bootstrap_config.hpp>

#include "unit/client/test_configs.hpp"

namespace lwm2m::test {

/// 16 key bytes derived from a name (recognisable in leak searches, different per name).
inline Bytes key_for(const std::string& name, std::size_t n = 16) {
    Bytes b(n);
    std::uint32_t h = 2166136261u;
    for (char c : name)
        h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    for (std::size_t i = 0; i < n; ++i) {
        h = h * 1103515245u + 12345u;
        b[i] = static_cast<std::byte>(h >> 16);
    }
    return b;
}

/// Bootstrap credentials: PSK identity "bs-<ep>" and a key derived from it.
inline store::SecurityInfo bs_psk(const std::string& ep) {
    store::SecurityInfo s;
    s.endpoint = ep;
    s.mode = store::SecurityMode::psk;
    s.psk_identity = to_bytes("bs-" + ep);
    s.psk_key = SecretBytes(key_for("bs-key-" + ep));
    return s;
}

inline store::SecurityInfo bs_nosec(const std::string& ep) {
    store::SecurityInfo s;
    s.endpoint = ep;
    s.mode = store::SecurityMode::nosec;
    return s;
}

/// The typical configuration: delete "/", one DM PSK account (/0/1, SSID 101, identity
/// "dm-<ep>", 16-byte key) and its Server instance /1/0.
inline store::BootstrapConfig typical_bootstrap_config(const std::string& ep,
                                                       store::SecurityInfo bootstrap = {}) {
    using namespace client::test;
    store::BootstrapConfig c;
    c.endpoint = ep;
    c.bootstrap_credentials = bootstrap.endpoint.empty() ? bs_psk(ep) : std::move(bootstrap);
    c.accounts.security[1] = sec(psk_account(1, 101, to_bytes("dm-" + ep), key_for("dm-key-" + ep),
                                             "coaps://dm.example.com:5684"));
    c.accounts.servers[0] = srv(server_instance(0, 101, 300));
    return c;
}

/// A DM account whose PSK credentials are generated (resources 3 and 5 empty).
inline store::BootstrapConfig generated_psk_config(const std::string& ep, std::size_t identity_size,
                                                   std::size_t key_size) {
    store::BootstrapConfig c = typical_bootstrap_config(ep);
    auto& s = c.accounts.security.at(1);
    s.public_key_or_identity.clear();
    s.secret_key.wipe();
    store::GeneratedCredentials g;
    g.kind = store::GeneratedCredentials::Kind::psk;
    g.psk_identity_size = identity_size;
    g.psk_key_size = key_size;
    g.psk_identity_prefix = "dm-";
    c.generate[1] = g;
    return c;
}

} // namespace lwm2m::test
