// Private state of client::Engine (docs/client.md "Design"). One Impl; the translation units
// split it by concern: engine.cpp (life cycle, links, registration, bootstrap requests, timers),
// engine_requests.cpp (requests from servers: DM and Bootstrap interfaces), engine_observe.cpp
// (attributes, notifications, Send), engine_fetch.cpp (package download).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/client/attributes.hpp>
#include <lwm2m/client/engine.hpp>
#include <lwm2m/client/engine_state.hpp>
#include <lwm2m/client/security_object.hpp>
#include <lwm2m/client/server_object.hpp>
#include <lwm2m/client/server_uri.hpp>
#include <lwm2m/coap/endpoint.hpp>
#include <lwm2m/dtls/client_session.hpp>
#include <lwm2m/dtls/nosec.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/format/codec.hpp>

namespace lwm2m::client::detail {

using LinkEvent = std::variant<coap::Event, dtls::Event>;

/// One CoAP session to one peer over NoSec or DTLS (dtls::SecureEndpoint composition).
class Link {
public:
    virtual ~Link() = default;
    virtual void on_datagram(TimePoint now, const PeerAddr& from, BytesView b) = 0;
    virtual void on_timeout(TimePoint now) = 0;
    virtual std::optional<Datagram> poll_transmit() = 0;
    virtual std::optional<LinkEvent> poll_event() = 0;
    [[nodiscard]] virtual std::optional<TimePoint> next_deadline() const = 0;
    virtual void flush(TimePoint now) = 0;
    virtual coap::Endpoint& coap() = 0;
    virtual void close(TimePoint now) = 0;
    [[nodiscard]] const PeerAddr& peer() const { return peer_; }
    [[nodiscard]] bool secure() const { return secure_; }

protected:
    PeerAddr peer_;
    bool secure_ = false;
};

/// Over DTLS the handshake proved the server receives what we send to its address, so the
/// endpoint needs no RFC 9175 Echo round trip nor amplification limit for it.
inline coap::Config link_config(coap::Config cfg, bool secure) {
    if (secure) cfg.peers_verified_by_transport = true;
    return cfg;
}

template <class Channel>
class LinkT final : public Link {
public:
    LinkT(const coap::Config& cfg, Random& rnd, Logger& log, Channel ch, const PeerAddr& peer,
          bool secure)
        : ep_(link_config(cfg, secure), rnd, log)
        , ch_(std::move(ch))
        , se_(ep_, ch_) {
        peer_ = peer;
        secure_ = secure;
    }
    void on_datagram(TimePoint now, const PeerAddr& from, BytesView b) override {
        se_.on_datagram(now, from, b);
    }
    void on_timeout(TimePoint now) override { se_.on_timeout(now); }
    std::optional<Datagram> poll_transmit() override { return se_.poll_transmit(); }
    std::optional<LinkEvent> poll_event() override { return se_.poll_event(); }
    [[nodiscard]] std::optional<TimePoint> next_deadline() const override {
        return se_.next_deadline();
    }
    void flush(TimePoint now) override { se_.flush(now); }
    coap::Endpoint& coap() override { return ep_; }
    void close(TimePoint now) override { ch_.close(now, peer_); }

private:
    coap::Endpoint ep_;
    Channel ch_;
    dtls::SecureEndpoint<Channel> se_;
};

enum class ReqKind : std::uint8_t { none, reg, update, dereg, bs_request };

struct StoredNotification {
    coap::ObservationId id;
    coap::Message msg;
    bool con = false;
};

/// One account of Object 0 (a DM server or the Bootstrap-Server).
struct Account {
    std::uint16_t sec_iid = 0;
    bool bootstrap = false;
    std::uint16_t ssid = 0; ///< 0 for the Bootstrap-Server
    SecurityInstance security;
    std::optional<ServerUri> uri;
    PeerAddr addr;
    bool addr_ok = false;
    std::unique_ptr<Link> link;
    bool link_broken = false; ///< DTLS closed/failed: a new session on the next attempt

    // Registration (TS 1.1 §6.2)
    RegState state = RegState::idle;
    std::optional<coap::RequestId> req;
    ReqKind req_kind = ReqKind::none;
    std::vector<Bytes> location; ///< Location-Path values of the 2.01, as received
    std::int64_t reg_lifetime = 0;
    std::string reg_binding;
    std::string reg_links;
    bool reg_queue = false;
    bool reg_valid = false; ///< the server holds a registration for us
    TimePoint reg_at{};
    TimePoint update_at{};
    TimePoint expires_at{};
    TimePoint timer{}; ///< idle: first Register; waiting_retry: retry; disabled: until
    bool retry_is_update = false;
    unsigned attempt = 0;
    unsigned sequence = 0;
    bool update_requested = false;
    bool full_update = false;         ///< send every parameter in the next Update (after restore)
    bool disable_after_dereg = false; ///< Resource 4: the De-register ends in `disabled`

    // Queue mode (TS 1.1 §6.5)
    TimePoint last_activity{};
    bool asleep = false;
    std::deque<StoredNotification> stored;
    std::map<std::uint64_t, std::uint64_t> sends; ///< coap RequestId -> send id
};

struct Observation {
    std::uint16_t ssid = 0;
    coap::ObservationId id;
    coap::Token token;
    std::vector<dm::Path> paths;
    bool composite = false;
    format::ContentFormat fmt = format::ContentFormat::text_plain;
    TimePoint last_notify{};
    TimePoint last_eval{};
    bool changed = false; ///< a change was reported and not evaluated yet
    bool pending = false; ///< a notification is due once pmin allows
    std::optional<double> last_eval_num;
    std::optional<double> last_notify_num;
    Bytes last_payload;
};

/// The number of an Integer / Unsigned / Float value (gt, lt, st evaluation).
inline std::optional<double> numeric_value(const dm::Value& v) {
    const auto& s = v.storage();
    if (const auto* i = std::get_if<std::int64_t>(&s)) return static_cast<double>(*i);
    if (const auto* u = std::get_if<std::uint64_t>(&s)) return static_cast<double>(*u);
    if (const auto* d = std::get_if<double>(&s)) return *d;
    return std::nullopt;
}

enum class BsState : std::uint8_t { idle, hold_off, requesting, active };

struct Download {
    DownloadSink* sink = nullptr;
    std::unique_ptr<Link> own_link; ///< when the package host is not a server account's
    Account* via = nullptr;         ///< when it is
    PeerAddr addr;
    std::optional<coap::RequestId> req;
};

} // namespace lwm2m::client::detail

namespace lwm2m::client {

struct Engine::Impl {
    Impl(EngineConfig c, AccountStore& a, const dm::ObjectRegistry& r, Random& rnd,
         const WallClock& w, Resolver& res, Logger& l);

    EngineConfig cfg;
    AccountStore& store;
    const dm::ObjectRegistry& registry;
    Random& random;
    const WallClock& wall;
    Resolver& resolver;
    Logger& log;
    AccessController* acl = nullptr;
    FactorySource* factory = nullptr;

    std::map<std::uint16_t, ObjectHandler*> objects;
    std::vector<std::unique_ptr<detail::Account>> accounts;
    std::map<std::pair<std::uint16_t, dm::Path>, NotificationAttributes> attributes;
    std::vector<detail::Observation> observations;
    std::deque<Datagram> tx;
    std::deque<EngineEvent> events;
    EngineStats stats;

    bool started = false;
    bool stopping = false;
    bool is_stopped = false;
    bool dirty = false;
    TimePoint current{};
    std::uint64_t next_send_id = 1;
    std::uint16_t last_writer_ssid = 0;
    bool queue_asleep_reported = false;

    // Bootstrap (TS 1.1 §5.2)
    detail::BsState bs = detail::BsState::idle;
    TimePoint bs_timer{};
    unsigned bs_attempt = 0;
    bool bs_finish_pending = false; ///< Finish accepted: rebuild accounts at the next step
    std::optional<EngineState> restored;

    std::optional<detail::Download> download;
    /// Links replaced while one of their events was being handled: destroyed at the end of the
    /// public call (never under a running pump_link).
    std::vector<std::unique_ptr<detail::Link>> retired;
    std::optional<detail::Observation> pending_observation; ///< set by handle_dm for Observe

    // --- engine.cpp ---
    void emit(EngineEvent::Kind k, std::uint16_t ssid = 0, Error e = {},
              std::optional<TimePoint> until = std::nullopt, std::uint64_t send_id = 0);
    void state_changed() { emit(EngineEvent::Kind::state_changed); }
    void log_line(LogLevel lv, const std::string& m) const;
    detail::Account* find_account(std::uint16_t ssid);
    detail::Account* bootstrap_account();
    [[nodiscard]] const ServerInstance* server_instance(std::uint16_t ssid) const;
    bool rebuild_accounts(TimePoint now);
    bool connect(detail::Account& a, TimePoint now);
    void pump(TimePoint now);
    void pump_link(detail::Account* a, detail::Link& link, TimePoint now);
    void on_link_event(detail::Account* a, detail::Link& link, detail::LinkEvent& ev,
                       TimePoint now);
    void on_response(detail::Account& a, coap::RequestId id, const coap::Message* resp, Error err,
                     TimePoint now);
    void step(TimePoint now);
    /// After stop(): stopped once no De-register is outstanding (checked after every input, not
    /// only on timers: the last De-register answer leaves no deadline behind).
    void update_stopped();
    [[nodiscard]] std::optional<TimePoint> deadline() const;
    [[nodiscard]] std::string object_links() const;
    Result<void> send_register(detail::Account& a, TimePoint now);
    Result<void> send_update(detail::Account& a, TimePoint now);
    void send_deregister(detail::Account& a, TimePoint now);
    void registration_failed(detail::Account& a, TimePoint now, Error err);
    void schedule_registered(detail::Account& a, TimePoint now);
    void start_bootstrap(TimePoint now, bool immediate);
    void send_bootstrap_request(TimePoint now);
    void bootstrap_failed(TimePoint now, Error err);
    void finish_bootstrap(TimePoint now);
    void apply_factory();
    void disable(detail::Account& a, TimePoint now);
    void touch(detail::Account& a, TimePoint now);
    [[nodiscard]] bool can_talk(const detail::Account& a) const;
    void wake(detail::Account& a, TimePoint now);
    void run_server_actions(TimePoint now);
    [[nodiscard]] EngineState build_state() const;
    [[nodiscard]] Duration queue_timeout() const;
    [[nodiscard]] Duration bootstrap_timeout() const;

    // --- engine_requests.cpp ---
    void handle_request(detail::Account& a, coap::IncomingRequest& in, TimePoint now);
    coap::Message handle_dm(detail::Account& a, coap::IncomingRequest& in, TimePoint now);
    coap::Message handle_bootstrap(detail::Account& a, coap::IncomingRequest& in, TimePoint now);
    Result<void> check_dm_access(std::uint16_t ssid, Operation op, const dm::Path& path) const;
    [[nodiscard]] ObjectHandler* handler(std::uint16_t oid) const;
    [[nodiscard]] std::size_t dm_account_count() const;
    [[nodiscard]] format::ContentFormat preferred_format() const;
    /// Whether the client reads and writes `f` (built in and in EngineConfig::formats).
    [[nodiscard]] bool offers(format::ContentFormat f) const;
    [[nodiscard]] Result<std::pair<Bytes, format::ContentFormat>>
    encode_for(const dm::Content& c, std::optional<std::uint64_t> accept) const;
    [[nodiscard]] Result<dm::Content> read_for(std::uint16_t ssid, const dm::Path& p) const;
    void after_object1_change(detail::Account& a, TimePoint now);

    // --- engine_observe.cpp ---
    [[nodiscard]] NotificationAttributes effective_attributes(std::uint16_t ssid,
                                                              const dm::Path& p) const;
    void mark_changed(const dm::Path& p);
    void evaluate_observations(TimePoint now);
    [[nodiscard]] std::optional<TimePoint> observation_deadline(const detail::Observation& o) const;
    bool notify(detail::Observation& o, TimePoint now, const coap::Message* prepared);
    Result<coap::Message> build_notification(detail::Observation& o, Bytes* payload_out,
                                             std::optional<double>* num_out) const;
    void deliver_notification(detail::Account& a, coap::ObservationId id, coap::Message msg,
                              bool con, TimePoint now);
    void flush_stored(detail::Account& a, TimePoint now);
    void drop_observations(std::uint16_t ssid);
    void forget_observation(coap::ObservationId id, std::uint16_t ssid);
    [[nodiscard]] bool confirmable_for(std::uint16_t ssid, const NotificationAttributes& a) const;
    Result<std::uint64_t> do_send(TimePoint now, std::uint16_t ssid,
                                  const std::vector<dm::Path>& paths);

    // --- engine_fetch.cpp ---
    void start_download(std::string_view uri, DownloadSink& sink);
    void cancel_download();
    void on_download_result(const coap::Message* resp, Error err);
};

} // namespace lwm2m::client
