#include "backend.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include <lwm2m/coap/errc.hpp>
#include <lwm2m/http/json_content.hpp>
#include <lwm2m/server/errc.hpp>

#include "bootstrap_dto.hpp"

namespace lwm2m::app {
namespace {

using http::ApiError;

ApiError unknown_client(const std::string& ep) {
    return {404, "unknown_client", "no registration for endpoint '" + ep + "'"};
}

/// A failed Engine::send() or downlink as an HTTP error.
ApiError from_error(const Error& e, const std::string& endpoint) {
    if (e.category() == server::server_category()) {
        switch (static_cast<server::Errc>(e.value())) {
        case server::Errc::not_registered:
        case server::Errc::deregistered:
            return unknown_client(endpoint);
        case server::Errc::invalid_request:
            return ApiError::bad_request(e.message());
        case server::Errc::queue_full:
            return {503, "client_sleeping", "the client's request queue is full"};
        case server::Errc::timeout:
            return {504, "device_timeout", "the device did not answer"};
        case server::Errc::unknown_observation:
            return ApiError::not_found("no such observation");
        default:
            break;
        }
    }
    if (e.category() == coap::coap_category()) {
        if (static_cast<coap::Errc>(e.value()) == coap::Errc::timeout)
            return {504, "device_timeout", "the device did not answer (CoAP retransmissions)"};
        return {502, "device_error", e.message()};
    }
    // format:: errors: the content cannot be encoded in the chosen format.
    return ApiError::bad_request(e.message());
}

std::string code_text(coap::Code c) {
    return fmt::format("{}.{:02d}", c.cls(), c.detail());
}

std::string binding_text(const server::RegistrationInfo& r) {
    std::string b = server::binding_to_string(r.binding);
    if (r.queue_mode) b += 'Q';
    return b;
}

/// The root path and object links of a registration, as the REST API shows them.
void add_links(http::ClientInfo& c, const server::ObjectLinks& links) {
    c.root_path = links.root;
    for (const auto& l : links.links) {
        http::ObjectLink o;
        o.path = l.iid == server::ObjectLink::no_instance ? dm::Path(Oid{l.oid})
                                                          : dm::Path(Oid{l.oid}, Iid{l.iid});
        if (l.has_version)
            o.attributes.emplace_back("ver", fmt::format("{}.{}", l.ver_major, l.ver_minor));
        c.objects.push_back(std::move(o));
    }
}

/// The fields an engine's registration and a stored record name alike.
template <class Registration>
http::ClientInfo client_fields(const Registration& r) {
    http::ClientInfo c;
    c.endpoint = r.endpoint;
    c.registration_id = r.location;
    c.lifetime = r.lifetime_s;
    if (!r.sms_number.empty()) c.sms_number = r.sms_number;
    c.address = r.peer.to_string();
    c.security_mode = r.security;
    c.queue_mode = r.queue_mode;
    c.registered_at = r.registered_at;
    c.last_update = r.updated_at;
    return c;
}

http::ClientInfo to_client(const server::RegistrationInfo& r) {
    http::ClientInfo c = client_fields(r);
    c.lwm2m_version = std::string(dm::to_string(r.version));
    c.binding = binding_text(r);
    add_links(c, r.objects);
    return c;
}

/// A registration another node holds, from the store's record (GET /api/clients/{ep} on a
/// node that does not hold it, docs/cluster.md): the links parsed leniently, as the engines
/// restore them.
http::ClientInfo to_client(const store::RegistrationRecord& r, std::string node) {
    http::ClientInfo c = client_fields(r);
    c.lwm2m_version = r.lwm2m_version;
    c.binding = r.binding;
    if (auto links = server::parse_object_links(r.object_links, server::LinksOptions{}))
        add_links(c, *links);
    c.node = std::move(node);
    return c;
}

std::string number(double v) {
    return fmt::format("{}", v);
}

std::vector<format::LinkAttr> to_attrs(const http::NotificationAttributes& a) {
    std::vector<format::LinkAttr> out;
    auto u = [&](const char* n, const std::optional<std::uint32_t>& v) {
        if (v) out.push_back({n, std::to_string(*v), false});
    };
    auto d = [&](const char* n, const std::optional<double>& v) {
        if (v) out.push_back({n, number(*v), false});
    };
    auto b = [&](const char* n, const std::optional<bool>& v) {
        if (v) out.push_back({n, std::string(*v ? "1" : "0"), false});
    };
    u("pmin", a.pmin);
    u("pmax", a.pmax);
    d("gt", a.gt);
    d("lt", a.lt);
    d("st", a.st);
    u("epmin", a.epmin);
    u("epmax", a.epmax);
    b("edge", a.edge);
    b("con", a.con);
    u("hqmax", a.hqmax);
    for (const auto& c : a.clear)
        out.push_back({c, std::nullopt, false});
    return out;
}

std::string paths_text(const std::vector<dm::Path>& ps) {
    std::string s;
    for (const auto& p : ps) {
        if (!s.empty()) s += ',';
        s += p.to_string();
    }
    return s;
}

template <class T>
std::vector<T> page_of(std::vector<T> all, const http::PageQuery& q, std::size_t* total) {
    *total = all.size();
    std::vector<T> out;
    for (std::size_t i = q.offset; i < all.size() && out.size() < q.limit; ++i)
        out.push_back(std::move(all[i]));
    return out;
}

} // namespace

ServerBackend::ServerBackend(http::EngineExecutor executor, server::Engine* dm,
                             bootstrap::Engine* bootstrap_engine, store::SecurityStore& security,
                             store::BootstrapConfigStore& configs,
                             std::shared_ptr<http::EventHub> hub, WallClock& wall, Logger& log,
                             BackendOptions options, dm::ObjectRegistry models)
    : ex_(std::move(executor))
    , dm_(dm)
    , bs_(bootstrap_engine)
    , security_(security)
    , configs_(configs)
    , hub_(std::move(hub))
    , wall_(wall)
    , log_(log)
    , options_(std::move(options))
    , models_(std::make_shared<const dm::ObjectRegistry>(std::move(models))) {}

// ---- clients
// -------------------------------------------------------------------------------------

void ServerBackend::list_clients(const http::ClientQuery& q,
                                 http::Completion<http::ClientPage> done) {
    if (cluster_ != nullptr) {
        // Every live node's page, merged (docs/cluster.md "Listing the clients").
        cluster_->list_clients(q, [done](auto r) { done.complete(std::move(r)); });
        return;
    }
    list_local(q, [done](http::ClientPage p) { done(std::move(p)); });
}

void ServerBackend::list_local(const http::ClientQuery& q,
                               std::function<void(http::ClientPage)> done) {
    if (dm_ == nullptr) {
        done(http::ClientPage{});
        return;
    }
    // At 100k registrations building every client's JSON form and sorting them took 0.3-1 s
    // per page. Now: a scan of the endpoint names (filtered by the name queries), the page's
    // names selected in O(n) (nth_element + partial_sort, not a full sort), and the full form
    // built only for the page's rows (docs/performance.md "Web UI with 100,000 clients").
    ex_.post([this, q, done](TimePoint) {
        std::vector<std::string_view> eps;
        eps.reserve(dm_->registration_count());
        dm_->for_each_endpoint([&](std::string_view ep) {
            if (!q.endpoint_contains.empty() && ep.find(q.endpoint_contains) == ep.npos) return;
            if (!q.endpoint_prefix.empty() &&
                ep.substr(0, q.endpoint_prefix.size()) != std::string_view(q.endpoint_prefix))
                return;
            eps.push_back(ep);
        });
        if (q.security_mode || q.binding) {
            std::erase_if(eps, [&](std::string_view ep) {
                auto r = dm_->registration(ep);
                return !r || (q.security_mode && r->security != *q.security_mode) ||
                       (q.binding && binding_text(*r) != *q.binding);
            });
        }
        http::ClientPage page;
        page.total = eps.size();
        const std::size_t first = std::min(q.page.offset, eps.size());
        const std::size_t last = first + std::min(q.page.limit, eps.size() - first);
        const auto b = eps.begin();
        if (first < eps.size()) {
            std::nth_element(b, b + static_cast<std::ptrdiff_t>(first), eps.end());
            std::partial_sort(b + static_cast<std::ptrdiff_t>(first),
                              b + static_cast<std::ptrdiff_t>(last), eps.end());
        }
        for (std::size_t i = first; i < last; ++i)
            if (auto r = dm_->registration(eps[i])) page.items.push_back(to_client(*r));
        done(std::move(page));
    });
}

void ServerBackend::get_client(const std::string& endpoint,
                               http::Completion<http::ClientInfo> done) {
    if (dm_ == nullptr) {
        done.fail(unknown_client(endpoint));
        return;
    }
    ex_.post([this, endpoint, done](TimePoint) {
        auto r = dm_->registration(endpoint);
        if (!r && cluster_ != nullptr) {
            // Held by another node: the store's record, read on the cluster worker thread.
            cluster_->find_registration(endpoint, [endpoint, done](auto found) {
                if (!found)
                    done.fail(std::move(found.error()));
                else if (!*found)
                    done.fail(unknown_client(endpoint));
                else
                    done(to_client((*found)->record, std::move((*found)->owner)));
            });
            return;
        }
        if (!r) {
            done.fail(unknown_client(endpoint));
            return;
        }
        done(to_client(*r));
    });
}

void ServerBackend::delete_client(const std::string& endpoint, http::Completion<http::Done> done) {
    if (dm_ == nullptr) {
        done.fail(unknown_client(endpoint));
        return;
    }
    ex_.post([this, endpoint, done](TimePoint now) {
        if (cluster_ != nullptr && !holds(endpoint)) {
            // Another node holds the device: it removes the registration (docs/cluster.md
            // "Routing").
            const bool here = dm_->registration(endpoint).has_value();
            cluster_->remove(
                endpoint,
                [done](DeviceOutcome o) {
                    if (!o)
                        done.fail(std::move(o.error()));
                    else
                        done(http::Done{});
                },
                here);
            return;
        }
        if (auto r = dm_->deregister(now, endpoint); !r) {
            done.fail(unknown_client(endpoint));
            return;
        }
        done(http::Done{});
    });
}

void ServerBackend::remove_forwarded(std::string endpoint, DeviceDone done) {
    if (dm_ == nullptr) {
        done(tl::unexpected(unknown_client(endpoint)));
        return;
    }
    ex_.post([this, endpoint = std::move(endpoint), done = std::move(done)](TimePoint now) {
        if (auto r = dm_->deregister(now, endpoint); !r) {
            done(tl::unexpected(unknown_client(endpoint)));
            return;
        }
        http::DeviceResponse d;
        d.code = 0x42; // 2.02 Deleted
        done(std::move(d));
    });
}

void ServerBackend::device(http::DeviceRequest req, http::Completion<http::DeviceResponse> done) {
    if (dm_ == nullptr && cluster_ == nullptr) {
        done.fail(unknown_client(req.endpoint));
        return;
    }
    DeviceDone answer = [done](DeviceOutcome o) { done.complete(std::move(o)); };
    if (dm_ == nullptr) {
        cluster_->forward(std::move(req), std::move(answer));
        return;
    }
    ex_.post([this, req = std::move(req), answer = std::move(answer)](TimePoint now) mutable {
        if (cluster_ != nullptr && !holds(req.endpoint)) {
            // Another node holds the device (docs/cluster.md "Routing").
            const bool here = dm_->registration(req.endpoint).has_value();
            cluster_->forward(std::move(req), std::move(answer), here);
            return;
        }
        start_device(now, std::move(req), std::move(answer));
    });
}

bool ServerBackend::holds(const std::string& endpoint) const {
    return owned_.count(endpoint) != 0 && dm_->registration(endpoint).has_value();
}

void ServerBackend::execute_forwarded(http::DeviceRequest req, DeviceDone done) {
    if (dm_ == nullptr) {
        done(tl::unexpected(unknown_client(req.endpoint)));
        return;
    }
    ex_.post([this, req = std::move(req), done = std::move(done)](TimePoint now) mutable {
        if (!dm_->registration(req.endpoint)) {
            done(tl::unexpected(unknown_client(req.endpoint)));
            return;
        }
        start_device(now, std::move(req), std::move(done));
    });
}

void ServerBackend::on_remote_event(const http::Event& e) {
    if (e.type != http::EventType::registration && e.type != http::EventType::update) return;
    ex_.post([this, ep = e.endpoint](TimePoint) { owned_.erase(ep); });
}

void ServerBackend::list_nodes(http::Completion<std::vector<http::NodeInfo>> done) {
    if (cluster_ == nullptr) {
        http::NodeInfo self;
        self.id = options_.node_id;
        self.self = true;
        self.last_seen = wall_.unix_seconds() * 1000;
        self.registrations = registration_count();
        done(std::vector<http::NodeInfo>{self});
        return;
    }
    cluster_->list_nodes([done](auto r) { done.complete(std::move(r)); });
}

void ServerBackend::start_device(TimePoint now, http::DeviceRequest req, DeviceDone done) {
    auto fail = [&done](http::ApiError e) { done(tl::unexpected(std::move(e))); };
    using Op = http::Operation;
    const dm::Path path = req.paths.empty() ? dm::Path{} : req.paths.front();
    std::string shown = req.paths.size() == 1 ? path.to_string() : paths_text(req.paths);
    const bool needs_content =
        req.op == Op::write_replace || req.op == Op::write_partial || req.op == Op::create;
    if (needs_content && !req.content) {
        fail(ApiError::bad_request("the operation needs content"));
        return;
    }
    if (req.op == Op::cancel_observe || req.op == Op::cancel_observe_composite) {
        const bool composite = req.op == Op::cancel_observe_composite;
        if (!dm_->registration(req.endpoint)) {
            fail(unknown_client(req.endpoint));
            return;
        }
        std::optional<server::ObservationId> found;
        for (const auto& o : dm_->observations(req.endpoint))
            if (o.composite == composite && o.paths == req.paths) found = o.id;
        if (!found) {
            fail(ApiError::not_found("no observation of " + shown));
            return;
        }
        observation_paths_.erase(*found);
        if (!req.active_cancel) {
            if (auto r = dm_->forget_observation(now, *found); !r) {
                fail(from_error(r.error(), req.endpoint));
                return;
            }
            http::DeviceResponse resp;
            resp.code = 0x45;
            done(std::move(resp));
            return;
        }
        auto id = dm_->cancel_observation(now, *found);
        if (!id) {
            fail(from_error(id.error(), req.endpoint));
            return;
        }
        pending_.emplace(*id, Pending{std::move(done), shown});
        return;
    }
    server::Request r;
    switch (req.op) {
    case Op::read:
        r = server::Request::read(path, req.format);
        break;
    case Op::discover:
        r = server::Request::discover(path);
        break;
    case Op::write_replace:
        r = server::Request::write(*req.content, true, req.format);
        break;
    case Op::write_partial:
        r = server::Request::write(*req.content, false, req.format);
        break;
    case Op::execute:
        r = server::Request::execute(path, req.execute_arguments);
        break;
    case Op::create:
        r = server::Request::create(*req.content, req.format);
        break;
    case Op::delete_:
        r = server::Request::delete_(path);
        break;
    case Op::write_attributes:
        r = server::Request::write_attributes(path, to_attrs(req.attributes));
        break;
    case Op::observe:
        r = server::Request::observe(path, req.format);
        break;
    case Op::read_composite:
        r = server::Request::read_composite(req.paths, req.format);
        break;
    case Op::write_composite:
        r = server::Request::write_composite(req.records, req.format);
        break;
    case Op::observe_composite:
        r = server::Request::observe_composite(req.paths, req.format);
        break;
    case Op::cancel_observe:
    case Op::cancel_observe_composite:
        return; // handled above
    }
    r.timeout = std::chrono::duration_cast<Duration>(req.timeout);
    auto id = dm_->send(now, req.endpoint, std::move(r));
    if (!id) {
        fail(from_error(id.error(), req.endpoint));
        return;
    }
    pending_.emplace(*id, Pending{std::move(done), std::move(shown)});
}

void ServerBackend::fail_pending() {
    for (auto& [id, p] : pending_)
        p.done(tl::unexpected(ApiError{503, "engine_unavailable", "the server is stopping"}));
    pending_.clear();
}

// ---- engine events ------------------------------------------------------------------------------

void ServerBackend::publish(http::EventType type, const std::string& endpoint,
                            nlohmann::json data) {
    http::Event e{type, endpoint, std::move(data)};
    if (cluster_ != nullptr) {
        e.data["node"] = cluster_->id(); // which node saw it (docs/cluster.md "Events")
        cluster_->publish_event(e);
    }
    if (hub_) hub_->publish(std::move(e));
}

void ServerBackend::on_dm_event(TimePoint, server::Event&& ev) {
    const auto* reg = std::get_if<server::Registered>(&ev);
    if (reg != nullptr || std::holds_alternative<server::Deregistered>(ev))
        registrations_.store(dm_->registration_count(), std::memory_order_relaxed);
    if (cluster_ != nullptr) {
        // Traffic of a device that registers or updates here comes here (docs/cluster.md).
        if (reg != nullptr && !reg->restored)
            owned_.insert(reg->endpoint);
        else if (const auto* up = std::get_if<server::Updated>(&ev))
            owned_.insert(up->endpoint);
        else if (const auto* de = std::get_if<server::Deregistered>(&ev))
            owned_.erase(de->endpoint);
    }
    if (options_.log_event &&
        ((reg != nullptr && !reg->restored) || std::holds_alternative<server::Deregistered>(ev)))
        options_.log_event(server::to_event_record(ev, wall_.unix_seconds() * 1000));
    std::visit(
        [this](auto&& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, server::Registered>) {
                log_.write(LogLevel::info, "server",
                           fmt::format("registered ep={} location=/rd/{} lwm2m={} lt={} peer={}{}",
                                       e.endpoint, e.location, dm::to_string(e.version),
                                       e.lifetime_s, e.peer.to_string(),
                                       e.replaced ? " (replaced)" : ""));
                publish(http::EventType::registration, e.endpoint,
                        {{"location", "/rd/" + e.location},
                         {"lwm2m_version", std::string(dm::to_string(e.version))},
                         {"lifetime", e.lifetime_s},
                         {"queue_mode", e.queue_mode},
                         {"address", e.peer.to_string()},
                         {"replaced", e.replaced},
                         {"restored", e.restored}});
            } else if constexpr (std::is_same_v<T, server::Updated>) {
                log_.write(LogLevel::debug, "server",
                           fmt::format("updated ep={} peer={}", e.endpoint, e.peer.to_string()));
                publish(http::EventType::update, e.endpoint,
                        {{"location", "/rd/" + e.location},
                         {"address", e.peer.to_string()},
                         {"address_changed", e.address_changed},
                         {"objects_changed", e.objects_changed},
                         {"parameters_changed", e.parameters_changed}});
            } else if constexpr (std::is_same_v<T, server::Deregistered>) {
                log_.write(LogLevel::info, "server",
                           fmt::format("deregistered ep={} reason={}", e.endpoint,
                                       server::to_string(e.reason)));
                publish(http::EventType::deregistration, e.endpoint,
                        {{"location", "/rd/" + e.location},
                         {"reason", std::string(server::to_string(e.reason))}});
            } else if constexpr (std::is_same_v<T, server::ResponseEvent>) {
                auto it = pending_.find(e.id);
                if (it == pending_.end()) return;
                auto p = std::move(it->second);
                pending_.erase(it);
                http::DeviceResponse r;
                r.code = e.code.value;
                r.content = std::move(e.content);
                r.records = std::move(e.records);
                if (!e.links.empty()) r.links = format::serialize_links(e.links);
                r.format = e.format;
                r.rtt = std::chrono::duration_cast<std::chrono::microseconds>(e.rtt);
                r.location = std::move(e.location);
                r.diagnostic = std::move(e.diagnostic);
                if (e.decode_error && e.code.cls() == 2 && r.diagnostic.empty())
                    r.diagnostic = "payload not decoded: " + e.decode_error.message();
                if (e.observation.value != 0) observation_paths_[e.observation] = p.path;
                p.done(std::move(r));
            } else if constexpr (std::is_same_v<T, server::RequestFailed>) {
                auto it = pending_.find(e.id);
                if (it == pending_.end()) return;
                auto p = std::move(it->second);
                pending_.erase(it);
                p.done(tl::unexpected(from_error(e.error, e.endpoint)));
            } else if constexpr (std::is_same_v<T, server::NotificationEvent>) {
                nlohmann::json d = {
                    {"observation", e.id.value}, {"seq", e.seq}, {"code", code_text(e.code)}};
                if (auto it = observation_paths_.find(e.id); it != observation_paths_.end())
                    d["path"] = it->second;
                if (e.format) d["format"] = std::string(http::format_name(*e.format));
                if (e.content) d["content"] = http::content_to_json(*e.content);
                if (!e.records.empty()) d["records"] = http::records_to_json(e.records);
                if (e.decode_error) d["decode_error"] = e.decode_error.message();
                publish(http::EventType::notification, e.endpoint, std::move(d));
            } else if constexpr (std::is_same_v<T, server::ObservationEnded>) {
                observation_paths_.erase(e.id);
                publish(http::EventType::notification, e.endpoint,
                        {{"observation", e.id.value},
                         {"ended", std::string(server::to_string(e.reason))}});
            } else if constexpr (std::is_same_v<T, server::SendEvent>) {
                publish(http::EventType::notification, e.endpoint,
                        {{"send", true},
                         {"format", std::string(http::format_name(e.format))},
                         {"records", http::records_to_json(e.records)}});
            }
        },
        std::move(ev));
}

void ServerBackend::set_status(const std::string& endpoint, const std::string& state,
                               std::int64_t at, std::string detail) {
    std::lock_guard lock(mutex_);
    auto& s = status_[endpoint];
    s.state = state;
    if (state == "in_progress") {
        s.started_at = at;
        s.finished_at.reset();
    } else {
        s.finished_at = at;
    }
    s.detail = std::move(detail);
}

void ServerBackend::seed_status(const std::string& endpoint, bool success, std::int64_t unix_s,
                                std::string detail) {
    std::lock_guard lock(mutex_);
    if (status_.count(endpoint) != 0) return; // newest first: keep the first seen
    auto& st = status_[endpoint];
    st.state = success ? "finished" : "failed";
    st.finished_at = unix_s;
    if (!success) st.detail = std::move(detail);
}

Result<void> ServerBackend::record(const store::BootstrapOutcome& outcome,
                                   std::span<const store::SecurityInfo> infos, std::string* why) {
    if (options_.record_outcome) return options_.record_outcome(outcome, infos, why);
    for (const auto& info : infos)
        LWM2M_TRY_VOID(security_.put(info, why));
    return ok();
}

bool ServerBackend::record_credentials(std::uint64_t session, const std::string& endpoint,
                                       const std::vector<store::DmCredential>& creds) {
    if (creds.empty()) return true;
    const store::DmCredential* pick = &creds.front();
    for (const auto& c : creds) {
        for (auto port : options_.dm_ports) {
            if (c.server_uri.ends_with(":" + std::to_string(port)) ||
                c.server_uri.find(":" + std::to_string(port) + "/") != std::string::npos)
                pick = &c;
        }
    }
    if (session != 0 && replaced_.count(session) == 0) {
        const auto* old = security_.find(endpoint);
        replaced_.emplace(session, old ? std::optional<store::SecurityInfo>(*old) : std::nullopt);
    }
    store::SecurityInfo info = pick->info;
    info.endpoint = endpoint;
    store::BootstrapOutcome outcome;
    outcome.endpoint = endpoint;
    outcome.time = wall_.unix_seconds() * 1000;
    outcome.success = true;
    outcome.session = session;
    outcome.detail = "DM credentials written for " + pick->server_uri;
    std::string why;
    if (auto r = record(outcome, std::span<const store::SecurityInfo>(&info, 1), &why); !r) {
        log_.write(LogLevel::error, "bootstrap",
                   fmt::format("ep={}: storing the DM credentials failed: {} {}", endpoint,
                               r.error().message(), why));
        replaced_.erase(session);
        return false;
    }
    return true;
}

void ServerBackend::on_bootstrap_event(TimePoint now, bootstrap::Event&& ev) {
    const std::int64_t at = wall_.unix_seconds();
    if (options_.log_event && !std::holds_alternative<bootstrap::CredentialsPending>(ev)) {
        store::EventRecord rec;
        rec.time = at * 1000;
        std::visit([&rec](const auto& e) { rec.endpoint = e.endpoint; }, ev);
        rec.kind = std::holds_alternative<bootstrap::BootstrapStarted>(ev)    ? "bootstrap_started"
                   : std::holds_alternative<bootstrap::BootstrapFinished>(ev) ? "bootstrap_finished"
                                                                              : "bootstrap_failed";
        rec.detail = bootstrap::describe(ev).substr(0, 500); // keys only as "<secret: N bytes>"
        options_.log_event(std::move(rec));
    }
    log_.write(std::holds_alternative<bootstrap::BootstrapFailed>(ev) ? LogLevel::warn
                                                                      : LogLevel::info,
               "bootstrap", bootstrap::describe(ev));
    std::visit(
        [&](auto&& e) {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, bootstrap::BootstrapStarted>) {
                set_status(e.endpoint, "in_progress", at, "");
                publish(http::EventType::bootstrap, e.endpoint,
                        {{"state", "started"},
                         {"session", e.session},
                         {"address", e.peer.to_string()},
                         {"initiator", std::string(bootstrap::to_string(e.initiator))}});
            } else if constexpr (std::is_same_v<T, bootstrap::CredentialsPending>) {
                // Durable before Finish goes out: the device may register the moment it has
                // answered Finish (docs/bootstrap.md "Events and durability").
                if (record_credentials(e.session, e.endpoint, e.credentials)) {
                    if (bs_ != nullptr) (void)bs_->credentials_persisted(now, e.session);
                } else if (bs_ != nullptr) {
                    (void)bs_->cancel(now, e.endpoint); // never Finish without durable credentials
                }
            } else if constexpr (std::is_same_v<T, bootstrap::BootstrapFinished>) {
                if (replaced_.erase(e.session) == 0)
                    record_credentials(0, e.endpoint, e.credentials);
                set_status(e.endpoint, "finished", at, "");
                nlohmann::json ids = nlohmann::json::object();
                for (const auto& [from, to] : e.security_ids)
                    ids[std::to_string(from)] = to;
                publish(
                    http::EventType::bootstrap, e.endpoint,
                    {{"state", "finished"},
                     {"session", e.session},
                     {"address", e.peer.to_string()},
                     {"format", std::string(http::format_name(e.format))},
                     {"client_version", e.client_version},
                     {"dm_accounts", e.credentials.size()},
                     {"security_ids", ids},
                     {"elapsed_ms",
                      std::chrono::duration_cast<std::chrono::milliseconds>(e.elapsed).count()}});
            } else if constexpr (std::is_same_v<T, bootstrap::BootstrapFailed>) {
                std::string detail = std::string(bootstrap::to_string(e.step));
                if (e.path) detail += " " + e.path->to_string();
                if (e.code) detail += " " + code_text(*e.code);
                if (!e.reason.empty()) detail += ": " + e.reason;
                if (auto it = replaced_.find(e.session); it != replaced_.end()) {
                    // The device rolled back to its previous configuration: so do we, with the
                    // failure recorded in the same transaction.
                    store::BootstrapOutcome outcome;
                    outcome.endpoint = e.endpoint;
                    outcome.time = at * 1000;
                    outcome.success = false;
                    outcome.session = e.session;
                    outcome.detail = detail.substr(0, 200);
                    std::string why;
                    Result<void> r = ok();
                    if (it->second) {
                        r = record(outcome, std::span<const store::SecurityInfo>(&*it->second, 1),
                                   &why);
                    } else {
                        r = record(outcome, {}, &why);
                        if (r) {
                            auto rm = security_.remove(e.endpoint);
                            if (!rm) r = tl::unexpected(rm.error());
                        }
                    }
                    if (!r)
                        log_.write(LogLevel::error, "bootstrap",
                                   fmt::format("ep={}: restoring the previous credentials failed: "
                                               "{}",
                                               e.endpoint, r.error().message()));
                    replaced_.erase(it);
                }
                if (!e.endpoint.empty() && e.session != 0)
                    set_status(e.endpoint, "failed", at, detail);
                nlohmann::json d = {{"state", "failed"},
                                    {"session", e.session},
                                    {"address", e.peer.to_string()},
                                    {"step", std::string(bootstrap::to_string(e.step))},
                                    {"reason", e.reason}};
                if (e.code) d["code"] = code_text(*e.code);
                if (e.path) d["path"] = e.path->to_string();
                publish(http::EventType::bootstrap, e.endpoint, std::move(d));
            }
        },
        std::move(ev));
}

// ---- credentials
// ---------------------------------------------------------------------------------

void ServerBackend::list_security(const http::PageQuery& q,
                                  http::Completion<http::SecurityPage> done) {
    ex_.post([this, q, done](TimePoint) {
        std::vector<store::SecurityInfo> all;
        security_.for_each([&](const store::SecurityInfo& s) { all.push_back(s); });
        std::sort(all.begin(), all.end(),
                  [](const auto& a, const auto& b) { return a.endpoint < b.endpoint; });
        http::SecurityPage page;
        page.items = page_of(std::move(all), q, &page.total);
        done(std::move(page));
    });
}

void ServerBackend::get_security(const std::string& endpoint,
                                 http::Completion<store::SecurityInfo> done) {
    ex_.post([this, endpoint, done](TimePoint) {
        const auto* s = security_.find(endpoint);
        if (s == nullptr) {
            done.fail(ApiError::not_found("no credentials for endpoint '" + endpoint + "'"));
            return;
        }
        done(*s);
    });
}

ApiError ServerBackend::store_failed(std::string_view what, std::error_code ec,
                                     std::string_view detail) {
    std::string cause = ec.message();
    if (!detail.empty() && detail != cause) cause += fmt::format(" ({})", detail);
    log_.write(LogLevel::warn, "server", fmt::format("{} failed: {}", what, cause));
    return {500, "internal_error", std::string(what) + " failed"};
}

void ServerBackend::put_security(store::SecurityInfo info, http::PutMode mode,
                                 http::Completion<http::Done> done) {
    auto shared = std::make_shared<store::SecurityInfo>(std::move(info));
    ex_.post([this, shared, mode, done](TimePoint) {
        const bool exists = security_.find(shared->endpoint) != nullptr;
        if (mode == http::PutMode::create && exists) {
            done.fail(
                ApiError::conflict("endpoint '" + shared->endpoint + "' already has credentials"));
            return;
        }
        if (mode == http::PutMode::replace && !exists) {
            done.fail(
                ApiError::not_found("no credentials for endpoint '" + shared->endpoint + "'"));
            return;
        }
        std::string why;
        if (auto r = security_.put(std::move(*shared), &why); !r) {
            if (r.error() == store::Errc::conflict)
                done.fail(ApiError::conflict(why.empty() ? "credential in use" : why));
            else if (r.error() == lwm2m::Errc::invalid_argument)
                done.fail(ApiError::bad_request(why.empty() ? r.error().message() : why));
            else
                done.fail(store_failed("storing the credentials of '" + shared->endpoint + "'",
                                       r.error(), why));
            return;
        }
        done(http::Done{});
    });
}

void ServerBackend::put_security_batch(std::vector<store::SecurityInfo> infos, bool upsert,
                                       http::Completion<std::size_t> done) {
    auto shared = std::make_shared<std::vector<store::SecurityInfo>>(std::move(infos));
    ex_.post([this, shared, upsert, done](TimePoint) {
        auto& list = *shared;
        if (!upsert) {
            for (std::size_t i = 0; i < list.size(); ++i)
                if (security_.find(list[i].endpoint) != nullptr) {
                    done.fail(ApiError::conflict("items[" + std::to_string(i) + "]: endpoint '" +
                                                 list[i].endpoint + "' already has credentials"));
                    return;
                }
        }
        // All checked before anything is stored, whatever the store (SQLite then writes them
        // in one transaction).
        std::string why;
        if (auto r = store::check_security_puts(security_, list, &why); !r) {
            if (r.error() == store::Errc::conflict)
                done.fail(ApiError::conflict(why));
            else
                done.fail(ApiError::bad_request(why.empty() ? r.error().message() : why));
            return;
        }
        const std::size_t n = list.size();
        std::size_t stored = 0;
        if (auto r = security_.put_all(std::move(list), &stored, &why); !r) {
            auto e = store_failed("storing the credentials", r.error(), why);
            e.message +=
                " after " + std::to_string(stored) + " of " + std::to_string(n) + " records";
            done.fail(std::move(e));
            return;
        }
        done(stored);
    });
}

void ServerBackend::delete_security(const std::string& endpoint,
                                    http::Completion<http::Done> done) {
    ex_.post([this, endpoint, done](TimePoint) {
        auto r = security_.remove(endpoint);
        if (!r) {
            done.fail(store_failed("removing the credentials of '" + endpoint + "'", r.error()));
            return;
        }
        if (!*r) {
            done.fail(ApiError::not_found("no credentials for endpoint '" + endpoint + "'"));
            return;
        }
        done(http::Done{});
    });
}

// ---- bootstrap configurations (thread-safe store: used on the HTTP thread)
// ------------------------

void ServerBackend::list_bootstrap(const http::PageQuery& q,
                                   http::Completion<http::BootstrapPage> done) {
    http::BootstrapPage page;
    page.total = configs_.size();
    std::string after;
    std::size_t skipped = 0;
    // Page by endpoint order: list() pages by "after", so skip `offset` entries first.
    while (skipped < q.offset) {
        auto views = configs_.list(after, std::min<std::size_t>(q.offset - skipped, 1000));
        if (views.empty()) break;
        skipped += views.size();
        after = views.back().endpoint;
    }
    if (skipped >= q.offset) {
        for (const auto& v : configs_.list(after, q.limit)) {
            auto snap = configs_.find(v.endpoint);
            if (snap)
                page.items.push_back(
                    to_rest(*snap, options_.bootstrap_uri, options_.bootstrap_uri_nosec));
        }
    }
    done(std::move(page));
}

void ServerBackend::get_bootstrap(const std::string& endpoint,
                                  http::Completion<http::BootstrapConfig> done) {
    auto snap = configs_.find(endpoint);
    if (!snap) {
        done.fail(ApiError::not_found("no bootstrap configuration for '" + endpoint + "'"));
        return;
    }
    done(to_rest(*snap, options_.bootstrap_uri, options_.bootstrap_uri_nosec));
}

void ServerBackend::put_bootstrap(http::BootstrapConfig config, http::PutMode mode,
                                  http::Completion<http::Done> done) {
    const bool exists = configs_.find(config.endpoint) != nullptr;
    if (mode == http::PutMode::create && exists) {
        done.fail(ApiError::conflict("endpoint '" + config.endpoint +
                                     "' already has a bootstrap configuration"));
        return;
    }
    if (mode == http::PutMode::replace && !exists) {
        done.fail(ApiError::not_found("no bootstrap configuration for '" + config.endpoint + "'"));
        return;
    }
    auto c = to_store(config);
    if (!c) {
        done.fail(c.error());
        return;
    }
    std::vector<std::string> reasons;
    if (auto r = configs_.put(std::move(*c), &reasons); !r) {
        std::string msg;
        for (const auto& s : reasons)
            msg += (msg.empty() ? "" : "; ") + s;
        if (msg.empty()) msg = r.error().message();
        if (r.error() == store::ConfigErrc::conflict)
            done.fail(ApiError::conflict(msg));
        else if (r.error() == store::ConfigErrc::invalid)
            done.fail(ApiError::bad_request("inconsistent configuration: " + msg));
        else
            done.fail(store_failed("storing the configuration", r.error(), msg));
        return;
    }
    done(http::Done{});
}

void ServerBackend::delete_bootstrap(const std::string& endpoint,
                                     http::Completion<http::Done> done) {
    if (auto r = configs_.remove(endpoint); !r) {
        if (r.error() == store::ConfigErrc::not_found)
            done.fail(ApiError::not_found("no bootstrap configuration for '" + endpoint + "'"));
        else
            done.fail(store_failed("removing the configuration of '" + endpoint + "'", r.error()));
        return;
    }
    done(http::Done{});
}

void ServerBackend::bootstrap_status(const std::string& endpoint,
                                     http::Completion<http::BootstrapStatus> done) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = status_.find(endpoint); it != status_.end()) {
            done(it->second);
            return;
        }
    }
    if (!configs_.find(endpoint)) {
        done.fail(ApiError::not_found("no bootstrap configuration for '" + endpoint + "'"));
        return;
    }
    done(http::BootstrapStatus{});
}

// ---- event history -----------------------------------------------------------------------------

void ServerBackend::event_history(store::EventQuery q,
                                  http::Completion<std::vector<store::EventRecord>> done) {
    if (!options_.read_events) {
        done.fail({503, "history_unavailable", "this server keeps no event log"});
        return;
    }
    auto events = options_.read_events(q);
    if (!events) {
        log_.write(LogLevel::warn, "server", "reading the event log: " + events.error().message());
        done.fail({500, "internal_error", "the event log could not be read"});
        return;
    }
    done(std::move(*events));
}

// ---- stats -------------------------------------------------------------------------------------

void ServerBackend::stats(http::Completion<http::StatsReport> done) {
    ex_.post([this, done](TimePoint) {
        http::StatsReport r;
        if (dm_ != nullptr) {
            const server::EngineStats s = dm_->stats();
            r.dm = {{"registrations", s.registrations},
                    {"registers", s.registers},
                    {"updates", s.updates},
                    {"deregisters", s.deregisters},
                    {"expirations", s.expirations},
                    {"refused", s.refused},
                    {"requests_sent", s.requests_sent},
                    {"responses", s.responses},
                    {"request_failures", s.request_failures},
                    {"notifications", s.notifications},
                    {"sends", s.sends},
                    {"observations", s.observations},
                    {"queued_requests", s.queued_requests},
                    {"held_responses", s.held_responses},
                    {"journal_entries", s.journal_entries}};
            const auto d = dm_->dtls_figures();
            r.dtls = {{"sessions", d.sessions},
                      {"handshakes_in_progress", d.handshakes},
                      {"hello_verify_sent", d.stats.hello_verify_sent},
                      {"handshakes_completed", d.stats.handshakes_completed},
                      {"handshakes_failed", d.stats.handshakes_failed},
                      {"dropped_datagrams", d.stats.dropped_datagrams},
                      {"evictions", d.stats.evictions},
                      {"half_open_evictions", d.stats.half_open_evictions},
                      {"refused_at_capacity", d.stats.refused_at_capacity},
                      {"refused_per_address", d.stats.refused_per_address},
                      {"refused_per_prefix", d.stats.refused_per_prefix},
                      {"idle_closes", d.stats.idle_closes},
                      {"replacements", d.stats.replacements},
                      {"unknown_session_datagrams", d.stats.unknown_session_datagrams},
                      {"sessions_imported", d.stats.sessions_imported}};
            if (options_.extra_dtls_stats)
                for (auto& kv : options_.extra_dtls_stats())
                    r.dtls.push_back(std::move(kv));
            const server::EngineLatency& l = dm_->latency();
            r.latency = {
                {"register", l.registers}, {"update", l.updates}, {"deregister", l.deregisters}};
        }
        if (bs_ != nullptr) {
            const bootstrap::Stats s = bs_->stats();
            r.bootstrap = {{"requests", s.requests}, {"refused", s.refused}, {"started", s.started},
                           {"finished", s.finished}, {"failed", s.failed},   {"active", s.active}};
        }
        done(std::move(r));
    });
}

// ---- models ------------------------------------------------------------------------------------

std::shared_ptr<const dm::ObjectRegistry> ServerBackend::models() const {
    std::lock_guard lock(mutex_);
    return models_;
}

void ServerBackend::add_model(dm::ObjectDef def, bool replace, http::Completion<http::Done> done) {
    std::lock_guard lock(mutex_);
    if (!replace && models_->find(def.id) != nullptr) {
        done.fail(ApiError::conflict("object " + std::to_string(def.id) +
                                     " has a model (use ?replace=true)"));
        return;
    }
    auto next = std::make_shared<dm::ObjectRegistry>(*models_);
    next->add(std::move(def));
    models_ = std::move(next);
    done(http::Done{});
}

} // namespace lwm2m::app
