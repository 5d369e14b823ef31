// The smallest useful LwM2M client: one DTLS-PSK (or NoSec) account, a Device object with a
// manufacturer and a Reboot, registration and device management, run by transport::Loop.
// bench/client_engine/size.sh builds it with -Os and reports the size of what it links
// (GnuTLS and the C++ runtime are shared libraries: not counted).
//
//   lwm2m_minimal_client <endpoint> <coap[s]://host:port> [<psk-identity> <psk-key-hex>]
#include <cstdio>
#include <string>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/client/engine.hpp>
#include <lwm2m/client/security_object.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/resolve.hpp>
#include <lwm2m/transport/system_random.hpp>
#include <lwm2m/transport/time_source.hpp>
#include <lwm2m/transport/udp_socket.hpp>

using namespace lwm2m;
using namespace lwm2m::client;

namespace {

class Device final : public ObjectHandler {
public:
    [[nodiscard]] Oid oid() const override { return Oid{3}; }
    [[nodiscard]] std::vector<Iid> instances() const override { return {Iid{0}}; }
    Result<dm::Content> read(const Actor& a, const dm::Path& p) const override {
        LWM2M_TRY_VOID(check_access(a, Operation::read, p));
        dm::Instance in;
        in.id = 0;
        in.resources.emplace(std::uint16_t{0},
                             dm::Resource::single(0, dm::Value::string("lwm2m-cpp")));
        if (p.depth() == 1) {
            dm::Object o;
            o.id = 3;
            o.instances.emplace(std::uint16_t{0}, std::move(in));
            return dm::Content{p, std::move(o)};
        }
        if (p.iid().v != 0) return fail(Status::not_found);
        if (p.depth() == 2) return dm::Content{p, std::move(in)};
        if (p.rid().v == 0 && p.depth() == 3) return dm::Content{p, in.resources.at(0)};
        return fail(p.rid().v == 4 ? Status::method_not_allowed : Status::not_found);
    }
    Result<void> write(const Actor&, const dm::Path&, const dm::Content&, WriteMode) override {
        return fail(Status::method_not_allowed);
    }
    Result<Iid> create(const Actor&, std::optional<Iid>, const dm::Instance&) override {
        return fail(Status::method_not_allowed);
    }
    Result<void> delete_(const Actor&, const dm::Path&) override {
        return fail(Status::method_not_allowed);
    }
    Result<std::vector<LinkInfo>> discover(const Actor&, const dm::Path&) const override {
        return std::vector<LinkInfo>{LinkInfo{dm::Path{Oid{3}, Iid{0}}, {}, {}, {}, {}}};
    }
    Result<void> execute(const Actor& a, const dm::Path& p, std::string_view) override {
        LWM2M_TRY_VOID(check_access(a, Operation::execute, p));
        if (p.rid().v != 4) return fail(Status::method_not_allowed);
        reboot = true;
        return ok();
    }
    bool reboot = false;
};

class DnsResolver final : public Resolver {
public:
    Result<PeerAddr> resolve(std::string_view host, std::uint16_t port) override {
        LWM2M_TRY(v, transport::resolve_udp(std::string(host), port));
        if (v.empty()) return fail(lwm2m::Errc::not_found);
        return v.front();
    }
};

dm::Resource single(std::uint16_t id, dm::Value v) {
    return dm::Resource::single(id, std::move(v));
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <endpoint> <server-uri> [<psk-identity> <psk-key-hex>]\n",
                     argv[0]);
        return 2;
    }
    dm::Instance s;
    s.id = 0;
    s.resources.emplace(std::uint16_t{0}, single(0, dm::Value::string(argv[2])));
    s.resources.emplace(std::uint16_t{1}, single(1, dm::Value::boolean(false)));
    s.resources.emplace(std::uint16_t{10}, single(10, dm::Value::integer(1)));
    if (argc >= 5) {
        Bytes key;
        if (!from_hex(argv[4], key)) return 2;
        s.resources.emplace(std::uint16_t{2}, single(2, dm::Value::integer(0)));
        s.resources.emplace(std::uint16_t{3}, single(3, dm::Value::opaque(to_bytes(argv[3]))));
        s.resources.emplace(std::uint16_t{5}, single(5, dm::Value::opaque(key)));
    } else {
        s.resources.emplace(std::uint16_t{2}, single(2, dm::Value::integer(3)));
    }
    dm::Instance srv;
    srv.id = 0;
    srv.resources.emplace(std::uint16_t{0}, single(0, dm::Value::integer(1)));
    srv.resources.emplace(std::uint16_t{1}, single(1, dm::Value::integer(300)));
    srv.resources.emplace(std::uint16_t{6}, single(6, dm::Value::boolean(false)));
    srv.resources.emplace(std::uint16_t{7}, single(7, dm::Value::string("U")));
    ClientConfig cfg;
    auto si = security_from_instance(s);
    auto sv = server_from_instance(srv);
    if (!si || !sv) return 2;
    cfg.security[0] = std::move(*si);
    cfg.servers[0] = std::move(*sv);

    transport::SystemWallClock wall;
    transport::SystemRandom random;
    DnsResolver resolver;
    AccountStore accounts(cfg, wall, transport::SteadyTimeSource::now());
    const auto registry = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_1);
    EngineConfig ecfg;
    ecfg.endpoint_name = argv[1];
    Engine engine(ecfg, accounts, registry, random, wall, resolver);
    Device device;
    (void)engine.add_object(device);
    auto sock = transport::UdpSocket::bind(*PeerAddr::parse("0.0.0.0:0"));
    if (!sock) return 1;
    transport::Loop<Engine> loop(engine, *sock);
    loop.set_hook([&](TimePoint) {
        while (auto e = engine.poll_event())
            std::printf("event %d ssid %u\n", static_cast<int>(e->kind), e->ssid.v);
        if (device.reboot) loop.stop();
    });
    engine.start(transport::SteadyTimeSource::now());
    (void)loop.run_for(std::chrono::hours(24 * 365));
    return 0;
}
