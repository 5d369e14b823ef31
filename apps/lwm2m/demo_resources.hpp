// The resources of `lwm2m coap serve --resources demo` (a small CoAP server for interop tests and
// demos; the LwM2M server is a separate app).
//
//   /hello             GET: "Hello, world!" (text/plain)
//   /echo              PUT/POST: store the body (any size up to 1 MiB, Block1 handled by the
//                      Endpoint) -> 2.04; GET: the stored body (Block2 when large) -> 2.05, or
//                      4.04 before anything was stored; DELETE: forget it -> 2.02
//   /large             GET: 4096 bytes of deterministic text (large_body()) -> Block2
//   /counter           GET (+Observe): the counter value; observers get a notification every
//                      second with the incremented value, NON except every 5th which is CON
//                      (RFC 7641 §4.5: a CON at least periodically)
//   /.well-known/core  GET: RFC 6690 link format of the above
// Unknown paths: 4.04; a known path with a method it does not implement: 4.05 (RFC 7252 §5.9.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/base/log.hpp>
#include <lwm2m/base/time.hpp>
#include <lwm2m/coap/endpoint.hpp>

namespace lwm2m::app {

/// The /large body: line i (from 0) is "%04d " + [a-z0-9A-Z] + "\n" (68 bytes), concatenated and
/// cut at 4096 bytes.
std::string large_body();

class DemoResources {
public:
    DemoResources(coap::Endpoint& endpoint, Logger& log)
        : ep_(endpoint)
        , log_(log) {}

    /// Drains the endpoint's events and answers requests.
    void on_events(TimePoint now);
    /// Answers one event taken from the endpoint by the caller (e.g. out of a
    /// dtls::SecureEndpoint's queue). Over DTLS, flush the SecureEndpoint afterwards.
    void on_event(TimePoint now, const coap::Event& ev);
    /// Advances /counter and notifies its observers.
    void tick(TimePoint now);
    [[nodiscard]] std::size_t observers() const noexcept { return observers_.size(); }

    static constexpr std::size_t max_observers = 1024;
    static constexpr unsigned con_every = 5;

private:
    coap::Message handle(const coap::IncomingRequest& r);
    coap::Message counter_message() const;

    coap::Endpoint& ep_;
    Logger& log_;
    std::uint64_t counter_ = 0;
    Bytes echo_body_;
    std::optional<std::uint64_t> echo_format_;
    bool echo_set_ = false;
    std::vector<coap::ObservationId> observers_;
};

} // namespace lwm2m::app
