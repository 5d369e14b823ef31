// A scripted LwM2M client for the bootstrap tests: the real client objects (AccountStore with
// SecurityObject / ServerObject, the Bootstrap-Delete and Bootstrap-Finish rules) behind a
// coap::Endpoint, over NoSec or DTLS (dtls::ClientSession). It sends Bootstrap-Request and
// answers Bootstrap-Delete / Write / Discover / Read / Finish the way a client engine does
// (TS 1.1 §5.2.7), with knobs to misbehave (unsupported formats, no Discover, silence, forced
// answers). Same sans-I/O contract as the cores, so it runs in lockstep loops and in SimNetwork.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <lwm2m/base/datagram.hpp>
#include <lwm2m/base/random.hpp>
#include <lwm2m/client/client_config.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dm/registry.hpp>
#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/format/content_format.hpp>

namespace lwm2m::test {

class BootstrapTestClient {
public:
    struct Options {
        std::string endpoint = "dev";
        PeerAddr server = PeerAddr::v4(10, 0, 0, 1, 5683);
        /// DTLS to the server with these settings (server address taken from `server`).
        std::optional<dtls::ClientConfig> dtls;
        /// The initial (committed) configuration: by default one Bootstrap-Server account /0/0.
        std::optional<client::ClientConfig> initial;
        /// `pct` in the Bootstrap-Request.
        std::optional<std::uint16_t> pct;
        /// Formats the client decodes; others are answered 4.15.
        std::set<format::ContentFormat> formats = {
            format::ContentFormat::lwm2m_tlv, format::ContentFormat::senml_json,
            format::ContentFormat::senml_cbor, format::ContentFormat::lwm2m_cbor};
        /// Answer Bootstrap-Discover (else 4.05, as a 1.0 client without it might).
        bool discover = true;
        /// The version in Bootstrap-Discover answers.
        std::string version = "1.1";
        coap::Config coap = {};
        std::uint64_t seed = 7;
    };

    explicit BootstrapTestClient(Options options);
    ~BootstrapTestClient();

    // sans-I/O contract
    void on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes);
    void on_timeout(TimePoint now);
    [[nodiscard]] std::optional<Datagram> poll_transmit();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;

    /// Sends POST /bs?ep=..[&pct=..].
    void request_bootstrap(TimePoint now);

    /// Before the default handling: return a code to answer the request with that code (no
    /// other effect), or nullopt to handle it normally.
    std::function<std::optional<coap::Code>(const coap::Message&)> intercept;
    /// When true, requests from the server are not answered at all (the engine times out).
    bool silent = false;

    // What happened.
    std::optional<coap::Code> bs_answer; ///< the answer to the Bootstrap-Request
    std::optional<Error> bs_error;       ///< or why there was none
    int finish_count = 0;
    std::optional<client::FinishResult> last_finish;
    std::vector<coap::Message> received; ///< every request from the server, in order
    std::map<std::uint16_t, dm::Instance> access_control; ///< Object 2 as written

    [[nodiscard]] client::AccountStore& accounts() { return *accounts_; }
    [[nodiscard]] const Options& options() const { return options_; }
    [[nodiscard]] bool bootstrapped() const { return last_finish.has_value() && last_finish->ok; }
    /// The client's DTLS session (nullptr for NoSec).
    [[nodiscard]] dtls::ClientSession* dtls_session() { return session_.get(); }

private:
    class Wall;
    void pump(TimePoint now);
    void handle(TimePoint now, coap::Event& e);
    coap::Message answer(TimePoint now, const coap::Message& req);

    Options options_;
    SeededRandom rnd_;
    std::unique_ptr<Wall> wall_;
    dm::ObjectRegistry registry_;
    std::unique_ptr<client::AccountStore> accounts_;
    coap::Endpoint coap_;
    std::unique_ptr<dtls::ClientSession> session_;
    std::unique_ptr<dtls::NoSecChannel> nosec_;
    std::unique_ptr<dtls::SecureEndpoint<dtls::ClientSession>> se_dtls_;
    std::unique_ptr<dtls::SecureEndpoint<dtls::NoSecChannel>> se_nosec_;
    std::optional<coap::RequestId> bs_request_;
};

} // namespace lwm2m::test
