// bootstrap::Engine (include/lwm2m/bootstrap/engine.hpp; design: docs/bootstrap.md).
#include <lwm2m/bootstrap/engine.hpp>

#include <algorithm>
#include <deque>
#include <list>
#include <set>
#include <unordered_map>

#include <lwm2m/bootstrap/request.hpp>
#include <lwm2m/client/security_object.hpp>
#include <lwm2m/client/server_object.hpp>
#include <lwm2m/dtls/nosec.hpp>
#include <lwm2m/dtls/secure_endpoint.hpp>
#include <lwm2m/format/codec.hpp>

#include "bootstrap/credentials.hpp"
#include "bootstrap/text.hpp"

namespace lwm2m::bootstrap {

namespace {

using F = format::ContentFormat;
using Snapshot = store::BootstrapConfigStore::Snapshot;

constexpr std::size_t kMaxListeners = 16;
/// The same answer for "unknown endpoint" and "not this endpoint's credentials": a refused
/// Bootstrap-Request must not tell which endpoint names exist.
constexpr std::string_view kUnknownOrMismatch = "unknown endpoint or credentials mismatch";

/// The formats a Bootstrap-Write of whole instances can use (TS 1.1 §7.4; 1.2 adds LwM2M CBOR).
std::optional<F> instance_format(std::uint16_t number) {
    const auto f = format::content_format_from(number);
    if (!f) return std::nullopt;
    switch (*f) {
    case F::lwm2m_tlv:
    case F::senml_json:
    case F::senml_cbor:
    case F::lwm2m_json:
    case F::lwm2m_cbor:
        return f;
    default:
        return std::nullopt;
    }
}

/// TLV for 1.0/1.1 (every such client has it) and unknown versions; SenML CBOR for 1.2 (TLV is
/// no longer required there).
F default_format(const std::optional<dm::Lwm2mVersion>& v) {
    return v && *v == dm::Lwm2mVersion::v1_2 ? F::senml_cbor : F::lwm2m_tlv;
}

F other_format(F f) {
    return f == F::lwm2m_tlv ? F::senml_cbor : F::lwm2m_tlv;
}

/// Overwrites every opaque value of a content (key material on its way to the encoder).
void wipe_content(dm::Content& c) {
    auto wipe_value = [](dm::Value& v) {
        if (v.type() != dm::DataType::opaque) return;
        auto& b = const_cast<Bytes&>(v.as_opaque());
        secure_wipe(b.data(), b.size());
    };
    auto wipe_instance = [&](dm::Instance& in) {
        for (auto& [rid, r] : in.resources) {
            wipe_value(r.value);
            for (auto& [riid, v] : r.instances)
                wipe_value(v);
        }
    };
    if (auto* o = std::get_if<dm::Object>(&c.node))
        for (auto& [iid, in] : o->instances)
            wipe_instance(in);
    if (auto* in = std::get_if<dm::Instance>(&c.node)) wipe_instance(*in);
}

bool success(coap::Code c) {
    return c.is_success();
}

struct PeerAddrKeyHash {
    std::size_t operator()(const PeerAddr& p) const noexcept { return p.hash(); }
};

} // namespace

// ---- state ---------------------------------------------------------------------------------

struct Op {
    Step step = Step::finish;
    dm::Path path; ///< configured target (for writes of Object 0: the configured instance id)
};

struct Session {
    std::uint64_t id = 0;
    std::string endpoint;
    Snapshot cfg;
    std::uint16_t listener = 0;
    PeerAddr peer;
    Initiator initiator = Initiator::client;
    TimePoint started{};
    TimePoint deadline{};
    F format = F::lwm2m_tlv;
    bool format_forced = false;
    bool fallback_used = false;
    client::ClientConfig accounts; ///< the configuration's, with generated credentials
    std::vector<store::DmCredential> credentials;
    std::map<std::uint16_t, std::uint16_t> ids; ///< configured -> written Security ids
    std::vector<Op> plan;
    std::size_t next = 0;
    std::optional<coap::RequestId> in_flight;
    bool awaiting_persist = false;
    std::string client_version;
    std::optional<std::vector<format::Link>> discovered;
    std::vector<dm::Content> reads;
    std::list<std::uint64_t>::iterator deadline_pos;

    [[nodiscard]] dm::Path written_path(const Op& op) const {
        if (op.step == Step::write && op.path.depth() == 2 && op.path.oid().v == 0) {
            const auto it = ids.find(op.path.iid().v);
            if (it != ids.end()) return dm::Path{Oid{0}, Iid{it->second}};
        }
        return op.path;
    }
};

struct ListenerState {
    Listener::Security security = Listener::Security::nosec;
    std::unique_ptr<coap::Endpoint> coap;
    std::unique_ptr<dtls::NoSecChannel> nosec;
    std::unique_ptr<dtls::ServerTable> table;
    std::unique_ptr<dtls::SecureEndpoint<dtls::NoSecChannel>> se_nosec;
    std::unique_ptr<dtls::SecureEndpoint<dtls::ServerTable>> se_dtls;
    std::unordered_map<PeerAddr, dtls::PeerIdentity, PeerAddrKeyHash> identities;
    std::unordered_map<coap::RequestId, std::uint64_t> requests;           ///< in flight -> session
    std::unordered_map<PeerAddr, std::uint64_t, PeerAddrKeyHash> sessions; ///< peer -> session

    template <class Fn>
    decltype(auto) with(Fn&& fn) {
        if (se_nosec) return fn(*se_nosec);
        return fn(*se_dtls);
    }
    template <class Fn>
    decltype(auto) with(Fn&& fn) const {
        if (se_nosec) return fn(std::as_const(*se_nosec));
        return fn(std::as_const(*se_dtls));
    }
};

struct KnownPeer {
    std::uint16_t listener = 0;
    PeerAddr peer;
    std::uint64_t seq = 0;
};

struct Engine::Impl {
    EngineConfig config;
    store::BootstrapConfigStore* store = nullptr;
    Random* random = nullptr;
    const WallClock* wall = nullptr;
    Logger* log = nullptr;
    std::unique_ptr<detail::BootstrapCredentials> credentials;
    std::vector<std::unique_ptr<ListenerState>> listeners;

    std::unordered_map<std::uint64_t, Session> sessions;
    std::unordered_map<std::string, std::uint64_t> by_endpoint;
    /// Sessions by deadline. Every deadline is its start + session_timeout and `now` never goes
    /// back, so the order of creation is the order of deadlines: a list, O(1) at both ends and
    /// for removal (each session keeps its position).
    std::list<std::uint64_t> by_deadline;
    std::uint64_t next_session = 1;

    std::unordered_map<std::string, KnownPeer> known;
    std::deque<std::pair<std::string, std::uint64_t>> known_order;
    std::uint64_t known_seq = 0;

    std::deque<Event> events;
    Stats stats;

    // -- plumbing --------------------------------------------------------------------------

    void logf(LogLevel level, const std::string& m) const {
        if (log->enabled(level)) log->write(level, "bootstrap", m);
    }

    void pump(TimePoint now) {
        for (int round = 0; round < 1024; ++round) {
            bool progress = false;
            for (std::size_t i = 0; i < listeners.size(); ++i) {
                ListenerState& ls = *listeners[i];
                ls.with([&](auto& se) { se.flush(now); });
                while (true) {
                    auto e = ls.with([&](auto& se) { return se.poll_event(); });
                    if (!e) break;
                    progress = true;
                    handle(now, static_cast<std::uint16_t>(i), std::move(*e));
                }
            }
            if (!progress) return;
        }
    }

    template <class E>
    void handle(TimePoint now, std::uint16_t li, E&& e) {
        std::visit(
            [&](auto& inner) { std::visit([&](auto& ev) { on_event(now, li, ev); }, inner); }, e);
    }

    // DTLS events: the identity of each peer, sessions ending.
    void on_event(TimePoint, std::uint16_t li, dtls::HandshakeDone& h) {
        listeners[li]->identities[h.peer] = std::move(h.identity);
    }
    /// Any end of the peer's DTLS session ends its bootstrap session, a replacement (RFC 6347
    /// §4.2.8, Errc::replaced) included: the new session may carry another identity, which must
    /// never receive this endpoint's credentials (its HandshakeDone follows and is recorded).
    void on_event(TimePoint now, std::uint16_t li, dtls::Closed& c) { peer_gone(now, li, c.peer); }
    void on_event(TimePoint now, std::uint16_t li, dtls::HandshakeFailed& f) {
        // A failed new handshake beside an established session leaves that session working.
        ListenerState& ls = *listeners[li];
        if (ls.table && !ls.table->established(f.peer)) peer_gone(now, li, f.peer);
    }
    void on_event(TimePoint, std::uint16_t, dtls::Plaintext&) {}

    void peer_gone(TimePoint now, std::uint16_t li, const PeerAddr& peer) {
        ListenerState& ls = *listeners[li];
        ls.identities.erase(peer);
        const auto it = ls.sessions.find(peer);
        if (it == ls.sessions.end()) return;
        if (Session* s = find_session(it->second))
            fail(now, *s, current_step(*s), current_path(*s), std::nullopt,
                 "the DTLS session with the client ended", Errc::dtls_closed);
    }

    // CoAP events.
    void on_event(TimePoint now, std::uint16_t li, coap::IncomingRequest& r) {
        if (is_bootstrap_path(r.request)) {
            on_bootstrap_request(now, li, r);
            return;
        }
        const std::string path = r.request.path();
        if (path == "/bspack")
            respond(now, li, r.id, coap::code::not_implemented,
                    "Bootstrap-Pack is not implemented: use Bootstrap-Request");
        else
            respond(now, li, r.id, coap::code::not_found, "not found");
    }
    void on_event(TimePoint now, std::uint16_t li, coap::Response& r) { on_response(now, li, r); }
    void on_event(TimePoint now, std::uint16_t li, coap::RequestFailed& f) {
        ListenerState& ls = *listeners[li];
        const auto it = ls.requests.find(f.id);
        if (it == ls.requests.end()) return;
        const std::uint64_t sid = it->second;
        ls.requests.erase(it);
        Session* s = find_session(sid);
        if (s == nullptr || s->in_flight != f.id) return;
        s->in_flight.reset();
        fail(now, *s, current_step(*s), current_path(*s), std::nullopt,
             "no answer: " + f.error.message(), f.error);
    }
    void on_event(TimePoint, std::uint16_t, coap::Notification&) {}
    void on_event(TimePoint, std::uint16_t, coap::ObservationEnded&) {}

    void respond(TimePoint now, std::uint16_t li, coap::IncomingId id, coap::Code code,
                 std::string_view diagnostic) {
        coap::Message m;
        m.code = code;
        // RFC 7252 §5.5.2: an error response without Content-Format carries a human-readable
        // diagnostic message (UTF-8).
        if (!diagnostic.empty()) m.payload = to_bytes(diagnostic);
        if (auto r = listeners[li]->coap->send_response(now, id, std::move(m)); !r)
            logf(LogLevel::debug, "response not sent: " + r.error().message());
    }

    // -- sessions ----------------------------------------------------------------------------

    Session* find_session(std::uint64_t id) {
        const auto it = sessions.find(id);
        return it == sessions.end() ? nullptr : &it->second;
    }

    static Step current_step(const Session& s) {
        return s.next < s.plan.size() ? s.plan[s.next].step : Step::finish;
    }
    static std::optional<dm::Path> current_path(const Session& s) {
        if (s.next >= s.plan.size()) return std::nullopt;
        const Op& op = s.plan[s.next];
        if (op.step == Step::persist || op.step == Step::finish) return std::nullopt;
        return s.written_path(op);
    }

    void erase_session(TimePoint now, Session& s) {
        ListenerState& ls = *listeners[s.listener];
        if (s.in_flight) {
            ls.requests.erase(*s.in_flight);
            // No more retransmissions; the RequestFailed{cancelled} that follows matches nothing.
            (void)ls.coap->cancel_request(now, *s.in_flight);
        }
        if (const auto it = ls.sessions.find(s.peer); it != ls.sessions.end() && it->second == s.id)
            ls.sessions.erase(it);
        if (const auto it = by_endpoint.find(s.endpoint);
            it != by_endpoint.end() && it->second == s.id)
            by_endpoint.erase(it);
        by_deadline.erase(s.deadline_pos);
        sessions.erase(s.id);
        stats.active = sessions.size();
    }

    void fail(TimePoint now, Session& s, Step step, std::optional<dm::Path> path,
              std::optional<coap::Code> code, std::string reason, Error error) {
        BootstrapFailed f;
        f.session = s.id;
        f.endpoint = s.endpoint;
        f.listener = s.listener;
        f.peer = s.peer;
        f.step = step;
        f.path = path;
        f.code = code;
        f.reason = std::move(reason);
        f.error = error;
        ++stats.failed;
        if (log->enabled(LogLevel::info)) logf(LogLevel::info, describe(Event{f}));
        events.emplace_back(std::move(f));
        erase_session(now, s);
    }

    void refuse(TimePoint now, std::uint16_t li, const coap::IncomingRequest& in, coap::Code code,
                std::string_view diagnostic, std::string endpoint, std::string reason,
                Error error) {
        ++stats.refused;
        respond(now, li, in.id, code, diagnostic);
        BootstrapFailed f;
        f.endpoint = std::move(endpoint);
        f.listener = li;
        f.peer = in.peer;
        f.step = Step::request;
        f.code = code;
        f.reason = std::move(reason);
        f.error = error;
        if (log->enabled(LogLevel::info)) logf(LogLevel::info, describe(Event{f}));
        events.emplace_back(std::move(f));
    }

    /// Whether the peer on listener `li` is authenticated as `cfg`'s endpoint (TS 1.1 Transport
    /// "Endpoint Client Name": the endpoint name must match the DTLS identity).
    bool authenticated(std::uint16_t li, const PeerAddr& peer, const store::BootstrapConfig& cfg,
                       std::string& why) const {
        const ListenerState& ls = *listeners[li];
        const store::SecurityInfo& want = cfg.bootstrap_credentials;
        if (ls.security == Listener::Security::nosec) {
            if (!config.allow_nosec) {
                why = "NoSec bootstrap is not allowed on this server";
                return false;
            }
            if (want.mode != store::SecurityMode::nosec) {
                why = "the endpoint must bootstrap over DTLS";
                return false;
            }
            return true;
        }
        const auto it = ls.identities.find(peer);
        if (it == ls.identities.end()) {
            why = "no DTLS session with the peer";
            return false;
        }
        const dtls::PeerIdentity& id = it->second;
        switch (want.mode) {
        case store::SecurityMode::psk:
            if (id.kind == dtls::PeerIdentity::Kind::psk && id.psk_identity == want.psk_identity)
                return true;
            break;
        case store::SecurityMode::rpk:
            if (id.kind == dtls::PeerIdentity::Kind::raw_public_key &&
                id.public_key_spki == want.rpk_public_key)
                return true;
            break;
        case store::SecurityMode::x509:
            if (id.kind == dtls::PeerIdentity::Kind::x509) {
                const auto info = dtls::inspect_certificate(id.certificate_der);
                const std::string& cn =
                    want.x509_common_name.empty() ? cfg.endpoint : want.x509_common_name;
                if (info && !info->common_name.empty() && info->common_name == cn) return true;
            }
            break;
        case store::SecurityMode::nosec:
            why = "the endpoint's bootstrap credentials are NoSec";
            return false;
        }
        why = "the DTLS identity is not the endpoint's bootstrap identity";
        return false;
    }

    void remember_peer(const std::string& endpoint, std::uint16_t li, const PeerAddr& peer) {
        if (config.max_known_peers == 0) return;
        const std::uint64_t seq = ++known_seq;
        known[endpoint] = KnownPeer{li, peer, seq};
        known_order.emplace_back(endpoint, seq);
        while (known.size() > config.max_known_peers && !known_order.empty()) {
            auto [ep, q] = std::move(known_order.front());
            known_order.pop_front();
            const auto it = known.find(ep);
            if (it != known.end() && it->second.seq == q) known.erase(it);
        }
        // Drop stale order entries (endpoints seen again) so the queue stays O(known).
        if (known_order.size() > 2 * known.size() + 64) {
            std::deque<std::pair<std::string, std::uint64_t>> fresh;
            for (auto& e : known_order) {
                const auto it = known.find(e.first);
                if (it != known.end() && it->second.seq == e.second) fresh.push_back(std::move(e));
            }
            known_order.swap(fresh);
        }
    }

    /// Generates the credentials of `cfg.generate` into `accounts`. Errors:
    /// Errc::credential_generation.
    Result<void> generate(const store::BootstrapConfig& cfg, client::ClientConfig& accounts) {
        for (const auto& [iid, g] : cfg.generate) {
            const auto it = accounts.security.find(iid);
            if (it == accounts.security.end()) return fail_gen();
            client::SecurityInstance& s = it->second;
            switch (g.kind) {
            case store::GeneratedCredentials::Kind::psk: {
                auto id = dtls::generate_psk_identity(*random, g.psk_identity_size,
                                                      g.psk_identity_prefix);
                auto key = dtls::generate_psk_key(*random, g.psk_key_size);
                if (!id || !key) return fail_gen();
                s.public_key_or_identity = to_bytes(*id);
                s.secret_key = std::move(*key);
                break;
            }
            case store::GeneratedCredentials::Kind::rpk: {
                auto pair = dtls::generate_p256_key_pair();
                if (!pair) return fail_gen();
                s.public_key_or_identity = std::move(pair->public_key_spki_der);
                s.secret_key = std::move(pair->private_key_der);
                break;
            }
            case store::GeneratedCredentials::Kind::x509: {
                if (!config.certificate_issuer) return fail_gen();
                auto pair = dtls::generate_p256_key_pair();
                if (!pair) return fail_gen();
                const std::int64_t t = wall->unix_seconds();
                // An hour of slack before "now" for devices whose clock is a little behind.
                dtls::CertificateRequest req{cfg.endpoint, pair->public_key_spki_der, t - 3600,
                                             t + g.certificate_validity_days * 86400};
                auto cert = dtls::issue_certificate(*config.certificate_issuer, req, *random);
                if (!cert) return fail_gen();
                s.public_key_or_identity = std::move(*cert);
                s.secret_key = std::move(pair->private_key_der);
                break;
            }
            }
        }
        return ok();
    }
    static Result<void> fail_gen() { return lwm2m::fail(Errc::credential_generation); }

    /// Creates a session (superseding the endpoint's and the peer's running ones), with its
    /// credentials and plan; nothing is sent yet. Errors: Errc::session_limit,
    /// Errc::credential_generation.
    Result<std::uint64_t> prepare(TimePoint now, std::uint16_t li, const PeerAddr& peer,
                                  const Snapshot& cfg, Initiator initiator, F format, bool forced) {
        ListenerState& ls = *listeners[li];
        if (const auto it = by_endpoint.find(cfg->endpoint); it != by_endpoint.end())
            if (Session* old = find_session(it->second))
                fail(now, *old, current_step(*old), current_path(*old), std::nullopt,
                     "superseded by a new bootstrap of the endpoint", Errc::superseded);
        if (const auto it = ls.sessions.find(peer); it != ls.sessions.end())
            if (Session* old = find_session(it->second))
                fail(now, *old, current_step(*old), current_path(*old), std::nullopt,
                     "superseded by a bootstrap of another endpoint from the same peer",
                     Errc::superseded);
        if (sessions.size() >= config.max_sessions) return lwm2m::fail(Errc::session_limit);

        Session s;
        s.id = next_session++;
        s.endpoint = cfg->endpoint;
        s.cfg = cfg;
        s.listener = li;
        s.peer = peer;
        s.initiator = initiator;
        s.started = now;
        s.deadline = now + config.session_timeout;
        s.format = format;
        s.format_forced = forced;
        s.accounts = cfg->accounts;
        LWM2M_TRY_VOID(generate(*cfg, s.accounts));
        auto creds = store::dm_credentials_for(cfg->endpoint, s.accounts);
        if (!creds) return lwm2m::fail(Errc::credential_generation);
        s.credentials = std::move(*creds);
        for (const auto& [iid, sec] : s.accounts.security)
            s.ids[iid] = iid;

        for (const auto& p : cfg->deletes)
            s.plan.push_back({Step::delete_, p});
        if (cfg->avoid_bootstrap_instance_id && !s.accounts.security.empty())
            s.plan.push_back({Step::discover_ids, dm::Path{Oid{0}}});
        for (const auto& [iid, sec] : s.accounts.security)
            s.plan.push_back({Step::write, dm::Path{Oid{0}, Iid{iid}}});
        for (const auto& [iid, srv] : s.accounts.servers)
            s.plan.push_back({Step::write, dm::Path{Oid{1}, Iid{iid}}});
        for (const auto& [iid, acl] : cfg->access_control)
            s.plan.push_back({Step::write, dm::Path{Oid{2}, Iid{iid}}});
        if (cfg->discover) s.plan.push_back({Step::discover, *cfg->discover});
        for (const auto& p : cfg->reads)
            s.plan.push_back({Step::read, p});
        if (config.hold_finish_until_persisted) s.plan.push_back({Step::persist, {}});
        s.plan.push_back({Step::finish, {}});

        const std::uint64_t id = s.id;
        s.deadline_pos = by_deadline.insert(by_deadline.end(), id);
        by_endpoint[s.endpoint] = id;
        ls.sessions[peer] = id;
        sessions.emplace(id, std::move(s));
        ++stats.started;
        stats.active = sessions.size();
        return id;
    }

    void started(Session& s) {
        BootstrapStarted e{s.id, s.endpoint, s.listener, s.peer, s.initiator};
        if (log->enabled(LogLevel::info)) logf(LogLevel::info, describe(Event{e}));
        events.emplace_back(std::move(e));
    }

    /// Sends the next step (one request at a time), or waits for the persistence ack.
    void advance(TimePoint now, std::uint64_t sid) {
        Session* s = find_session(sid);
        if (s == nullptr || s->in_flight || s->next >= s->plan.size()) return;
        const Op& op = s->plan[s->next];
        if (op.step == Step::persist) {
            if (!s->awaiting_persist) {
                s->awaiting_persist = true;
                events.emplace_back(CredentialsPending{s->id, s->endpoint, s->credentials});
            }
            return;
        }
        coap::Message m;
        m.type = coap::Type::con;
        const dm::Path target = s->written_path(op);
        auto set_path = [&](const dm::Path& p) {
            if (!p.is_root()) m.set_path(p.to_string());
        };
        switch (op.step) {
        case Step::delete_:
            m.code = coap::code::delete_;
            set_path(target);
            break;
        case Step::discover_ids:
        case Step::discover:
            m.code = coap::code::get;
            set_path(target);
            m.add_uint_option(coap::option::accept, coap::content_format::link_format);
            break;
        case Step::read:
            m.code = coap::code::get;
            set_path(target);
            m.add_uint_option(coap::option::accept, static_cast<std::uint16_t>(s->format));
            break;
        case Step::write: {
            m.code = coap::code::put;
            set_path(target);
            auto content = write_content(*s, op, target);
            auto payload = format::encode(s->format, content);
            wipe_content(content);
            if (!payload) {
                fail(now, *s, Step::write, target, std::nullopt,
                     "the instance cannot be encoded in " +
                         std::string(format::to_string(s->format)),
                     payload.error());
                return;
            }
            m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(s->format));
            m.payload = std::move(*payload);
            break;
        }
        case Step::finish:
            m.code = coap::code::post;
            m.set_path("/bs");
            break;
        case Step::request:
        case Step::persist:
            return;
        }
        ListenerState& ls = *listeners[s->listener];
        auto rid = ls.coap->send_request(now, s->peer, std::move(m));
        if (!rid) {
            fail(now, *s, op.step, current_path(*s), std::nullopt,
                 "the request could not be sent: " + rid.error().message(), rid.error());
            return;
        }
        s->in_flight = *rid;
        ls.requests[*rid] = s->id;
        if (log->enabled(LogLevel::debug))
            logf(LogLevel::debug, "session " + std::to_string(s->id) + " " +
                                      std::string(to_string(op.step)) + " " + target.to_string());
    }

    dm::Content write_content(const Session& s, const Op& op, const dm::Path& target) const {
        const std::uint16_t oid = op.path.oid().v;
        const std::uint16_t iid = op.path.iid().v;
        if (oid == 0) {
            dm::Instance in = client::to_dm_instance(target.iid().v, s.accounts.security.at(iid),
                                                     client::Audience::local);
            // Empty resources 3 and 4 are "not filled" (E.1): not written.
            for (std::uint16_t rid : {client::security_rid::public_key_or_identity,
                                      client::security_rid::server_public_key}) {
                const auto it = in.resources.find(rid);
                if (it != in.resources.end() && it->second.value.type() == dm::DataType::opaque &&
                    it->second.value.as_opaque().empty())
                    in.resources.erase(it);
            }
            return dm::Content{target, std::move(in)};
        }
        if (oid == 1)
            return dm::Content{target, client::to_dm_instance(iid, s.accounts.servers.at(iid))};
        return dm::Content{target, s.cfg->access_control.at(iid)};
    }

    void on_response(TimePoint now, std::uint16_t li, coap::Response& r) {
        ListenerState& ls = *listeners[li];
        const auto it = ls.requests.find(r.id);
        if (it == ls.requests.end()) return;
        const std::uint64_t sid = it->second;
        ls.requests.erase(it);
        Session* s = find_session(sid);
        if (s == nullptr || s->in_flight != r.id) return;
        s->in_flight.reset();
        const Op op = s->plan[s->next];
        const dm::Path target = s->written_path(op);
        const coap::Code code = r.response.code;
        auto client_error = [&] {
            fail(now, *s, op.step,
                 op.step == Step::finish ? std::nullopt : std::optional<dm::Path>(target), code,
                 sanitize(r.response.payload, config.max_diagnostic_bytes), Errc::client_error);
        };
        switch (op.step) {
        case Step::delete_:
            // Nothing to delete at an object or instance that does not exist: done.
            if (!success(code) && !(code == coap::code::not_found && !op.path.is_root())) {
                client_error();
                return;
            }
            break;
        case Step::discover_ids:
            // A client without Bootstrap-Discover keeps the configured ids (logged).
            if (success(code))
                apply_discover_ids(*s, r.response.payload);
            else
                logf(LogLevel::info, "session " + std::to_string(s->id) +
                                         ": Bootstrap-Discover /0 answered " + code.to_string() +
                                         ", keeping the configured Security instance ids");
            break;
        case Step::write:
            if (code == coap::code::unsupported_content_format && !s->format_forced &&
                !s->fallback_used) {
                // TS 1.1 Transport: 4.15 "the specified format is not supported": try the other
                // of TLV / SenML CBOR once, for this and the remaining writes.
                s->fallback_used = true;
                s->format = other_format(s->format);
                ++stats.format_fallbacks;
                advance(now, sid);
                return;
            }
            if (!success(code)) {
                client_error();
                return;
            }
            break;
        case Step::discover: {
            if (!success(code)) {
                client_error();
                return;
            }
            auto links = parse_discover(r.response.payload, s->client_version);
            if (!links) {
                fail(now, *s, op.step, target, code, "the Discover answer is not link-format",
                     Errc::bad_response);
                return;
            }
            s->discovered = std::move(*links);
            break;
        }
        case Step::read: {
            if (!success(code)) {
                client_error();
                return;
            }
            const auto cf = r.response.uint_option(coap::option::content_format);
            const auto f = cf ? format::content_format_from(static_cast<std::uint16_t>(*cf))
                              : std::optional<F>(s->format);
            auto content =
                f ? format::decode(*f, r.response.payload, target, store::bootstrap_registry())
                  : Result<dm::Content>(lwm2m::fail(Errc::bad_response));
            if (!content) {
                fail(now, *s, op.step, target, code, "the Read answer could not be decoded",
                     Errc::bad_response);
                return;
            }
            s->reads.push_back(std::move(*content));
            break;
        }
        case Step::finish:
            if (!success(code)) {
                client_error();
                return;
            }
            finished(now, *s);
            return;
        case Step::request:
        case Step::persist:
            break;
        }
        ++s->next;
        advance(now, sid);
    }

    /// Bootstrap-Discover answers start with `lwm2m="1.1",` (TS 1.1 §5.2.7.3), which is not a
    /// link: it is taken off (and kept) before the links are parsed.
    static Result<std::vector<format::Link>> parse_discover(BytesView payload,
                                                            std::string& version) {
        std::string_view text = as_string_view(payload);
        if (text.substr(0, 6) == "lwm2m=") {
            const auto comma = text.find(',');
            std::string_view v =
                text.substr(6, comma == std::string_view::npos ? text.size() - 6 : comma - 6);
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
            if (v.size() <= 8) version.assign(v);
            text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
            while (!text.empty() && text.front() == ' ')
                text.remove_prefix(1);
        }
        if (text.empty()) return std::vector<format::Link>{};
        format::LinkLimits limits;
        limits.validate_lwm2m = false; // be liberal: only targets and ssid are used
        return format::parse_links(text, limits);
    }

    /// Moves configured Security ids off the device's Bootstrap-Server instance ids (the /0 links
    /// without ssid, TS 1.1 §5.2.7.3).
    void apply_discover_ids(Session& s, BytesView payload) {
        auto links = parse_discover(payload, s.client_version);
        if (!links) {
            logf(LogLevel::info, "session " + std::to_string(s.id) +
                                     ": Bootstrap-Discover /0 answer is not link-format, keeping "
                                     "the configured Security instance ids");
            return;
        }
        std::set<std::uint16_t> bootstrap_ids;
        for (const auto& l : *links) {
            auto p = l.path();
            if (!p || p->depth() != 2 || p->oid().v != 0) continue;
            if (l.find("ssid") == nullptr) bootstrap_ids.insert(p->iid().v);
        }
        if (bootstrap_ids.empty()) return;
        std::set<std::uint16_t> used(bootstrap_ids);
        for (const auto& [conf, written] : s.ids)
            if (bootstrap_ids.count(conf) == 0) used.insert(conf);
        for (auto& [conf, written] : s.ids) {
            if (bootstrap_ids.count(conf) == 0) continue;
            std::uint16_t id = 0;
            while (used.count(id) != 0)
                ++id;
            written = id;
            used.insert(id);
            ++stats.ids_moved;
            logf(LogLevel::info, "session " + std::to_string(s.id) + ": /0/" +
                                     std::to_string(conf) +
                                     " is the device's Bootstrap-Server instance; writing /0/" +
                                     std::to_string(id) + " instead");
        }
    }

    void finished(TimePoint now, Session& s) {
        BootstrapFinished f;
        f.session = s.id;
        f.endpoint = s.endpoint;
        f.listener = s.listener;
        f.peer = s.peer;
        f.initiator = s.initiator;
        f.credentials = std::move(s.credentials);
        f.security_ids = s.ids;
        f.client_version = s.client_version;
        f.discovered = std::move(s.discovered);
        f.reads = std::move(s.reads);
        f.format = s.format;
        f.elapsed = now - s.started;
        ++stats.finished;
        remember_peer(s.endpoint, s.listener, s.peer);
        if (log->enabled(LogLevel::info)) logf(LogLevel::info, describe(Event{f}));
        events.emplace_back(std::move(f));
        erase_session(now, s);
    }

    void on_bootstrap_request(TimePoint now, std::uint16_t li, coap::IncomingRequest& in) {
        ++stats.requests;
        BootstrapRequest br;
        if (auto refusal = check_bootstrap_request(in.request, br)) {
            refuse(now, li, in, refusal->code, refusal->diagnostic, br.endpoint,
                   std::string(refusal->diagnostic), Errc::refused);
            return;
        }
        Snapshot cfg = store->find(br.endpoint);
        if (!cfg) {
            refuse(now, li, in, coap::code::bad_request, kUnknownOrMismatch, br.endpoint,
                   "unknown endpoint", Errc::unknown_endpoint);
            return;
        }
        if (std::string why; !authenticated(li, in.peer, *cfg, why)) {
            refuse(now, li, in, coap::code::bad_request, kUnknownOrMismatch, br.endpoint, why,
                   Errc::not_authenticated);
            return;
        }
        F format = default_format(cfg->lwm2m_version);
        bool forced = false;
        if (cfg->content_format) {
            format = *cfg->content_format;
            forced = true;
        } else if (br.preferred_format) {
            const auto f = instance_format(*br.preferred_format);
            if (!f) {
                refuse(now, li, in, coap::code::unsupported_content_format,
                       "the preferred content format cannot carry Bootstrap-Writes", br.endpoint,
                       "unsupported pct " + std::to_string(*br.preferred_format), Errc::refused);
                return;
            }
            format = *f;
            forced = true;
        }
        auto sid = prepare(now, li, in.peer, cfg, Initiator::client, format, forced);
        if (!sid) {
            const bool busy = sid.error() == make_error_code(Errc::session_limit);
            refuse(now, li, in,
                   busy ? coap::code::service_unavailable : coap::code::internal_server_error,
                   busy ? "too many bootstrap sessions, retry later" : "bootstrap not possible",
                   br.endpoint, sid.error().message(), sid.error());
            return;
        }
        remember_peer(cfg->endpoint, li, in.peer);
        respond(now, li, in.id, coap::code::changed, {});
        started(sessions.at(*sid));
        advance(now, *sid);
    }

    void expire(TimePoint now) {
        while (!by_deadline.empty()) {
            Session* s = find_session(by_deadline.front());
            if (s == nullptr || s->deadline > now) break;
            fail(now, *s, current_step(*s), current_path(*s), std::nullopt,
                 "no Bootstrap-Finish answer within the session timeout", Errc::session_timeout);
        }
    }

    [[nodiscard]] std::optional<TimePoint> session_deadline() const {
        if (by_deadline.empty()) return std::nullopt;
        return sessions.at(by_deadline.front()).deadline;
    }
};

// ---- Engine ----------------------------------------------------------------------------------

Result<Engine> Engine::create(EngineConfig config, store::BootstrapConfigStore& store,
                              Random& random, const WallClock& wall, Logger& logger) {
    if (config.listeners.empty() || config.listeners.size() > kMaxListeners ||
        config.session_timeout <= Duration::zero())
        return lwm2m::fail(Errc::invalid_config);
    if (config.certificate_issuer && !dtls::check_issuer(*config.certificate_issuer))
        return lwm2m::fail(Errc::invalid_config);
    auto impl = std::make_unique<Impl>();
    impl->store = &store;
    impl->random = &random;
    impl->wall = &wall;
    impl->log = &logger;
    impl->credentials = std::make_unique<detail::BootstrapCredentials>(store);
    for (const auto& l : config.listeners) {
        auto ls = std::make_unique<ListenerState>();
        ls->security = l.security;
        coap::Config cc = config.coap;
        // Over DTLS the cookie exchange (RFC 6347 §4.2.1) proved the client's address: no RFC 9175
        // Echo round trip and no amplification limit for it.
        if (l.security != Listener::Security::nosec) cc.peers_verified_by_transport = true;
        ls->coap = std::make_unique<coap::Endpoint>(cc, random, logger);
        if (l.security == Listener::Security::nosec) {
            ls->nosec = std::make_unique<dtls::NoSecChannel>();
            ls->se_nosec =
                std::make_unique<dtls::SecureEndpoint<dtls::NoSecChannel>>(*ls->coap, *ls->nosec);
        } else {
            dtls::ServerConfig dc = l.dtls;
            dc.psk = true;
            if (dc.logger == nullptr) dc.logger = &logger;
            auto table = dtls::ServerTable::create(std::move(dc), *impl->credentials);
            if (!table) return lwm2m::fail(table.error());
            ls->table = std::make_unique<dtls::ServerTable>(std::move(*table));
            ls->se_dtls =
                std::make_unique<dtls::SecureEndpoint<dtls::ServerTable>>(*ls->coap, *ls->table);
        }
        impl->listeners.push_back(std::move(ls));
    }
    impl->config = std::move(config);
    return Engine(std::move(impl));
}

Engine::Engine(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

void Engine::on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes) {
    on_datagram(now, 0, from, bytes);
}

void Engine::on_datagram(TimePoint now, std::uint16_t listener, const PeerAddr& from,
                         BytesView bytes) {
    if (listener >= impl_->listeners.size()) return;
    impl_->listeners[listener]->with([&](auto& se) { se.on_datagram(now, from, bytes); });
    impl_->pump(now);
}

void Engine::on_timeout(TimePoint now) {
    for (auto& ls : impl_->listeners)
        ls->with([&](auto& se) {
            if (auto d = se.next_deadline(); d && *d <= now) se.on_timeout(now);
        });
    impl_->pump(now);
    impl_->expire(now);
    impl_->pump(now);
}

std::optional<Datagram> Engine::poll_transmit() {
    for (std::size_t i = 0; i < impl_->listeners.size(); ++i) {
        auto d = impl_->listeners[i]->with([](auto& se) { return se.poll_transmit(); });
        if (d) {
            d->socket = static_cast<std::uint16_t>(i);
            return d;
        }
    }
    return std::nullopt;
}

std::optional<Event> Engine::poll_event() {
    if (impl_->events.empty()) return std::nullopt;
    Event e = std::move(impl_->events.front());
    impl_->events.pop_front();
    return e;
}

std::optional<TimePoint> Engine::next_deadline() const {
    std::optional<TimePoint> best = impl_->session_deadline();
    for (const auto& ls : impl_->listeners) {
        const auto d = ls->with([](const auto& se) { return se.next_deadline(); });
        if (d && (!best || *d < *best)) best = d;
    }
    return best;
}

Result<std::uint64_t> Engine::start_server_initiated(TimePoint now, std::string_view endpoint) {
    if (!impl_->store->find(endpoint)) return lwm2m::fail(Errc::unknown_endpoint);
    const auto it = impl_->known.find(std::string(endpoint));
    if (it == impl_->known.end()) return lwm2m::fail(Errc::no_known_peer);
    const KnownPeer k = it->second;
    return start_server_initiated(now, endpoint, k.listener, k.peer);
}

Result<std::uint64_t> Engine::start_server_initiated(TimePoint now, std::string_view endpoint,
                                                     std::uint16_t listener, const PeerAddr& peer) {
    Impl& im = *impl_;
    Snapshot cfg = im.store->find(endpoint);
    if (!cfg) return lwm2m::fail(Errc::unknown_endpoint);
    if (listener >= im.listeners.size()) return lwm2m::fail(Errc::no_such_listener);
    if (std::string why; !im.authenticated(listener, peer, *cfg, why))
        return lwm2m::fail(Errc::not_authenticated);
    const bool forced = cfg->content_format.has_value();
    const F format = forced ? *cfg->content_format : default_format(cfg->lwm2m_version);
    LWM2M_TRY(sid, im.prepare(now, listener, peer, cfg, Initiator::server, format, forced));
    im.started(im.sessions.at(sid));
    im.advance(now, sid);
    im.pump(now);
    return sid;
}

Result<void> Engine::credentials_persisted(TimePoint now, std::uint64_t session) {
    Session* s = impl_->find_session(session);
    if (s == nullptr || !s->awaiting_persist) return lwm2m::fail(Errc::no_session);
    s->awaiting_persist = false;
    ++s->next;
    impl_->advance(now, session);
    impl_->pump(now);
    return ok();
}

Result<void> Engine::cancel(TimePoint now, std::string_view endpoint) {
    const auto it = impl_->by_endpoint.find(std::string(endpoint));
    if (it == impl_->by_endpoint.end()) return lwm2m::fail(Errc::no_session);
    Session* s = impl_->find_session(it->second);
    if (s == nullptr) return lwm2m::fail(Errc::no_session);
    impl_->fail(now, *s, Impl::current_step(*s), Impl::current_path(*s), std::nullopt,
                "cancelled by the operator", Errc::cancelled);
    impl_->pump(now);
    return ok();
}

Stats Engine::stats() const {
    return impl_->stats;
}

bool Engine::take_release_hint() noexcept {
    bool hint = false;
    for (auto& l : impl_->listeners)
        if (l->table && l->table->take_release_hint()) hint = true;
    return hint;
}

std::optional<coap::Stats> Engine::coap_stats(std::uint16_t listener) const {
    if (listener >= impl_->listeners.size()) return std::nullopt;
    return impl_->listeners[listener]->coap->stats();
}

} // namespace lwm2m::bootstrap
