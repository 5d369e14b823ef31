// Builders of Object 0 / Object 1 content for the client tests.
#pragma once

#include <cstdint>
#include <string>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/client/client_config.hpp>
#include <lwm2m/dm/node.hpp>

namespace lwm2m::client::test {

/// A wall clock the test sets (Unix seconds).
class ManualWallClock final : public WallClock {
public:
    explicit ManualWallClock(std::int64_t t = 1'800'000'000)
        : t_(t) {}
    [[nodiscard]] std::int64_t unix_seconds() const override { return t_; }
    void set(std::int64_t t) { t_ = t; }
    void advance(std::chrono::seconds d) { t_ += d.count(); }

private:
    std::int64_t t_;
};

inline Bytes bytes_of(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::byte>(seed + i * 7);
    return b;
}

/// A value of data type `t` (an empty value for none): the shape the definition asks for, not
/// necessarily inside its range.
inline dm::Value sample_value(dm::DataType t) {
    switch (t) {
    case dm::DataType::string:
        return dm::Value::string("x");
    case dm::DataType::integer:
        return dm::Value::integer(1);
    case dm::DataType::unsigned_integer:
        return dm::Value::unsigned_integer(1);
    case dm::DataType::float_:
        return dm::Value::float_(1.0);
    case dm::DataType::boolean:
        return dm::Value::boolean(true);
    case dm::DataType::opaque:
        return dm::Value::opaque(Bytes(6));
    case dm::DataType::time:
        return dm::Value::time(1);
    case dm::DataType::objlnk:
        return dm::Value::objlnk(0xffff, 0xffff);
    case dm::DataType::corelnk:
        return dm::Value::corelnk("</3/0>");
    default:
        return dm::Value{};
    }
}

inline dm::Resource res(std::uint16_t id, dm::Value v) {
    return dm::Resource::single(id, std::move(v));
}

/// A complete PSK account instance (resources 0, 1, 2, 3, 5, 10).
inline dm::Instance psk_account(std::uint16_t iid, std::uint16_t ssid, Bytes identity, Bytes key,
                                std::string uri = "coaps://server.example.com:5684") {
    dm::Instance in;
    in.id = iid;
    in.resources[0] = res(0, dm::Value::string(std::move(uri)));
    in.resources[1] = res(1, dm::Value::boolean(false));
    in.resources[2] = res(2, dm::Value::integer(0));
    in.resources[3] = res(3, dm::Value::opaque(std::move(identity)));
    in.resources[5] = res(5, dm::Value::opaque(std::move(key)));
    in.resources[10] = res(10, dm::Value::integer(ssid));
    return in;
}

/// A bootstrap-server account (NoSec, coap://).
inline dm::Instance bootstrap_account(std::uint16_t iid,
                                      std::string uri = "coap://bs.example.com") {
    dm::Instance in;
    in.id = iid;
    in.resources[0] = res(0, dm::Value::string(std::move(uri)));
    in.resources[1] = res(1, dm::Value::boolean(true));
    in.resources[2] = res(2, dm::Value::integer(3));
    return in;
}

/// A Server Object instance with the mandatory resources.
inline dm::Instance server_instance(std::uint16_t iid, std::uint16_t ssid,
                                    std::int64_t lifetime = 300) {
    dm::Instance in;
    in.id = iid;
    in.resources[0] = res(0, dm::Value::integer(ssid));
    in.resources[1] = res(1, dm::Value::integer(lifetime));
    in.resources[6] = res(6, dm::Value::boolean(false));
    in.resources[7] = res(7, dm::Value::string("U"));
    return in;
}

inline SecurityInstance sec(const dm::Instance& in) {
    return *security_from_instance(in);
}
inline ServerInstance srv(const dm::Instance& in) {
    return *server_from_instance(in);
}

/// A consistent configuration: bootstrap account /0/0, PSK accounts /0/1.. with /1/0.. .
inline ClientConfig make_config(int accounts, std::uint8_t key_seed = 1,
                                std::size_t key_size = 16) {
    ClientConfig c;
    c.security[0] = sec(bootstrap_account(0));
    for (int k = 0; k < accounts; ++k) {
        const auto ssid = static_cast<std::uint16_t>(100 + k);
        c.security[static_cast<std::uint16_t>(k + 1)] = sec(psk_account(
            static_cast<std::uint16_t>(k + 1), ssid, to_bytes("device-" + std::to_string(k)),
            bytes_of(key_size, static_cast<std::uint8_t>(key_seed + k))));
        c.servers[static_cast<std::uint16_t>(k)] =
            srv(server_instance(static_cast<std::uint16_t>(k), ssid));
    }
    return c;
}

inline dm::Content content(const dm::Path& p, dm::Instance in) {
    return dm::Content{p, std::move(in)};
}
inline dm::Content content(const dm::Path& p, dm::Resource r) {
    return dm::Content{p, std::move(r)};
}

} // namespace lwm2m::client::test

namespace lwm2m::client::test {

/// The configuration behind the checked-in fuzz seed tests/fuzz/corpus/client_state/valid_v1.bin:
/// every resource kind the codec handles, with dummy non-secret keys.
inline ClientConfig corpus_config() {
    ClientConfig c = make_config(2, 0x11, 16);
    SecurityInstance& s = c.security.at(1);
    s.sms_security_mode = 3;
    s.sms_key_parameters = std::array<std::byte, 6>{std::byte{1}, std::byte{2}, std::byte{3},
                                                    std::byte{4}, std::byte{5}, std::byte{6}};
    s.sms_secret_key = SecretBytes(to_bytes("dummy-sms-key-not-a-secret-01234"));
    s.sms_number = "+15550100";
    s.client_hold_off = 10;
    s.matching_type = 0;
    s.sni = "dm.example.com";
    s.certificate_usage = 3;
    s.ciphersuites = {{0, cs_psk_aes128_ccm8}, {1, cs_psk_aes128_cbc_sha256}};
    s.secret_key = SecretBytes(to_bytes("dummy-psk-key-00"));
    c.security.at(0).bs_account_timeout = 0;
    ServerInstance& v = c.servers.at(0);
    v.resources[10] = dm::Resource::single(10, dm::Value::objlnk(11, 0));
    v.resources[12] = dm::Resource::single(12, dm::Value::time(1700000000));
    v.resources[17] = dm::Resource::single(17, dm::Value::unsigned_integer(3));
    dm::Resource versions = dm::Resource::multi(25);
    versions.instances.emplace(std::uint16_t{0}, dm::Value::string("1.1"));
    versions.instances.emplace(std::uint16_t{1}, dm::Value::string("1.2"));
    v.resources[25] = std::move(versions);
    return c;
}

/// The configuration behind tests/fuzz/corpus/client_state/valid_v2.bin: corpus_config() with a
/// Bootstrap-Server Account Timeout and its persisted purge deadline.
inline ClientConfig corpus_config_v2() {
    ClientConfig c = corpus_config();
    c.security.at(0).bs_account_timeout = 3600;
    c.bs_purge_at = 1'800'003'600;
    return c;
}

} // namespace lwm2m::client::test
