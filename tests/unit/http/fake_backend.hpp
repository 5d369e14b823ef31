// An in-memory Backend for the REST tests (unit and integration). With an EngineExecutor every
// call hops to that "engine" thread first, as the real server wiring does. Device operations on
// endpoint "dev1" answer from a fixed Device object; "ghost" is unknown (404); "sleepy" never
// answers (the server's 504). Removing a client appends "deregistered" to its event history.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <lwm2m/http/api.hpp>
#include <lwm2m/store/memory_stores.hpp>

namespace lwm2m::http::fake {

class FakeBackend final : public Backend {
public:
    explicit FakeBackend(std::optional<EngineExecutor> engine = std::nullopt,
                         std::shared_ptr<EventHub> events = nullptr)
        : engine_(std::move(engine))
        , events_(std::move(events))
        , models_(std::make_shared<dm::ObjectRegistry>(
              dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_1))) {
        for (const char* ep : {"dev1", "dev2", "sensor-a"}) {
            ClientInfo c;
            c.endpoint = ep;
            c.registration_id = std::string("r-") + ep;
            c.address = "127.0.0.1:5683";
            c.binding = std::string(ep) == "dev2" ? "UQ" : "U";
            c.security_mode = std::string(ep) == "sensor-a" ? store::SecurityMode::psk
                                                            : store::SecurityMode::nosec;
            c.objects = {{dm::Path(Oid{1}, Iid{0}), {}},
                         {dm::Path(Oid{3}, Iid{0}), {{"ver", "1.1"}}},
                         {dm::Path(Oid{3303}), {}}};
            clients_[ep] = c;
        }
    }

    /// The last device request (for assertions).
    /// Set: GET /api/clients answers partial, these nodes missing (several nodes).
    std::optional<std::vector<std::string>> list_missing;
    std::optional<DeviceRequest> last_device() {
        std::lock_guard lock(mutex_);
        return last_;
    }

    void list_clients(const ClientQuery& q, Completion<ClientPage> done) override {
        run([this, q, done] {
            ClientPage page;
            std::size_t i = 0;
            for (const auto& [ep, c] : clients_) {
                if (!q.endpoint_contains.empty() &&
                    ep.find(q.endpoint_contains) == std::string::npos)
                    continue;
                if (!q.endpoint_prefix.empty() && ep.rfind(q.endpoint_prefix, 0) != 0) continue;
                if (q.binding && c.binding != *q.binding) continue;
                if (q.security_mode && c.security_mode != *q.security_mode) continue;
                ++page.total;
                if (i++ >= q.page.offset && page.items.size() < q.page.limit)
                    page.items.push_back(c);
            }
            if (list_missing) {
                page.partial = true;
                page.missing_nodes = *list_missing;
            }
            done(std::move(page));
        });
    }
    void get_client(const std::string& ep, Completion<ClientInfo> done) override {
        run([this, ep, done] {
            auto it = clients_.find(ep);
            if (it == clients_.end())
                return (void)done.fail({404, "unknown_client", "no such client"});
            done(it->second);
        });
    }
    void delete_client(const std::string& ep, Completion<Done> done) override {
        run([this, ep, done] {
            if (!clients_.erase(ep))
                return (void)done.fail({404, "unknown_client", "no such client"});
            if (events_) events_->publish({EventType::deregistration, ep, {{"reason", "api"}}});
            log_event(ep, "deregistered", "removed");
            done(Done{});
        });
    }
    void device(DeviceRequest req, Completion<DeviceResponse> done) override {
        {
            std::lock_guard lock(mutex_);
            last_ = req;
        }
        run([this, req = std::move(req), done]() mutable {
            if (req.endpoint == "sleepy") {
                parked_.push_back(done); // never answered while the backend lives
                return;
            }
            if (!clients_.count(req.endpoint))
                return (void)done.fail({404, "unknown_client", "no such client"});
            DeviceResponse r;
            r.rtt = std::chrono::microseconds(1500);
            switch (req.op) {
            case Operation::read:
            case Operation::observe:
                r.format = req.format.value_or(format::ContentFormat::lwm2m_tlv);
                if (req.paths[0] == dm::Path(Oid{3}, Iid{0}, Rid{0})) {
                    r.content = dm::Content{req.paths[0],
                                            dm::Resource::single(0, dm::Value::string("Acme"))};
                } else if (req.paths[0] == dm::Path(Oid{3}, Iid{0})) {
                    dm::Instance in;
                    in.id = 0;
                    in.resources[0] = dm::Resource::single(0, dm::Value::string("Acme"));
                    in.resources[9] = dm::Resource::single(9, dm::Value::integer(87));
                    dm::FlatMap<std::uint16_t, dm::Value> srcs;
                    srcs[0] = dm::Value::integer(1);
                    srcs[1] = dm::Value::integer(5);
                    in.resources[6] = dm::Resource::multi(6, std::move(srcs));
                    r.content = dm::Content{req.paths[0], std::move(in)};
                } else {
                    r.code = 0x84; // 4.04
                    r.format.reset();
                }
                if (events_ && req.op == Operation::observe)
                    events_->publish({EventType::notification,
                                      req.endpoint,
                                      {{"path", req.paths[0].to_string()}}});
                break;
            case Operation::discover:
                r.links = "</3/0>,</3/0/0>,</3/0/9>;pmin=10";
                break;
            case Operation::create:
                r.code = 0x41; // 2.01
                r.location = req.content->path.to_string();
                break;
            case Operation::delete_:
                r.code = 0x42;
                break;
            case Operation::execute:
            case Operation::write_replace:
            case Operation::write_partial:
            case Operation::write_composite:
            case Operation::write_attributes:
                r.code = 0x44;
                break; // 2.04
            case Operation::read_composite:
            case Operation::observe_composite:
                for (const auto& p : req.paths)
                    r.records.push_back({p, dm::Value::string("v" + p.to_string()), std::nullopt});
                r.format = format::ContentFormat::senml_cbor;
                break;
            case Operation::cancel_observe:
            case Operation::cancel_observe_composite:
                r.code = 0x45;
                break;
            }
            done(std::move(r));
        });
    }

    void list_security(const PageQuery& q, Completion<SecurityPage> done) override {
        run([this, q, done] {
            SecurityPage p;
            p.total = security_.size();
            std::size_t i = 0;
            for (const auto& [ep, s] : security_)
                if (i++ >= q.offset && p.items.size() < q.limit) p.items.push_back(s);
            done(std::move(p));
        });
    }
    void get_security(const std::string& ep, Completion<store::SecurityInfo> done) override {
        run([this, ep, done] {
            auto it = security_.find(ep);
            if (it == security_.end())
                return (void)done.fail(ApiError::not_found("no credentials"));
            done(it->second);
        });
    }
    void put_security(store::SecurityInfo info, PutMode mode, Completion<Done> done) override {
        run([this, info = std::move(info), mode, done]() mutable {
            bool exists = security_.count(info.endpoint) != 0;
            if (mode == PutMode::create && exists)
                return (void)done.fail(ApiError::conflict("credentials exist"));
            if (mode == PutMode::replace && !exists)
                return (void)done.fail(ApiError::not_found("no credentials"));
            std::string ep = info.endpoint;
            security_[ep] = std::move(info);
            if (events_) events_->publish({EventType::registration, ep, {{"source", "security"}}});
            done(Done{});
        });
    }
    void put_security_batch(std::vector<store::SecurityInfo> infos, bool upsert,
                            Completion<std::size_t> done) override {
        run([this, infos = std::move(infos), upsert, done]() mutable {
            if (!upsert)
                for (const auto& i : infos)
                    if (security_.count(i.endpoint) != 0)
                        return (void)done.fail(ApiError::conflict("credentials exist"));
            for (auto& i : infos) {
                std::string ep = i.endpoint;
                security_[ep] = std::move(i);
            }
            done(infos.size());
        });
    }
    void delete_security(const std::string& ep, Completion<Done> done) override {
        run([this, ep, done] {
            if (!security_.erase(ep)) return (void)done.fail(ApiError::not_found("no credentials"));
            done(Done{});
        });
    }

    void list_bootstrap(const PageQuery& q, Completion<BootstrapPage> done) override {
        run([this, q, done] {
            BootstrapPage p;
            p.total = bootstrap_.size();
            std::size_t i = 0;
            for (const auto& [ep, c] : bootstrap_)
                if (i++ >= q.offset && p.items.size() < q.limit) p.items.push_back(c);
            done(std::move(p));
        });
    }
    void get_bootstrap(const std::string& ep, Completion<BootstrapConfig> done) override {
        run([this, ep, done] {
            auto it = bootstrap_.find(ep);
            if (it == bootstrap_.end())
                return (void)done.fail(ApiError::not_found("no configuration"));
            done(it->second);
        });
    }
    void put_bootstrap(BootstrapConfig c, PutMode mode, Completion<Done> done) override {
        run([this, c = std::move(c), mode, done]() mutable {
            bool exists = bootstrap_.count(c.endpoint) != 0;
            if (mode == PutMode::create && exists)
                return (void)done.fail(ApiError::conflict("configuration exists"));
            if (mode == PutMode::replace && !exists)
                return (void)done.fail(ApiError::not_found("no configuration"));
            std::string ep = c.endpoint;
            bootstrap_[ep] = std::move(c);
            done(Done{});
        });
    }
    void delete_bootstrap(const std::string& ep, Completion<Done> done) override {
        run([this, ep, done] {
            if (!bootstrap_.erase(ep))
                return (void)done.fail(ApiError::not_found("no configuration"));
            done(Done{});
        });
    }
    void bootstrap_status(const std::string& ep, Completion<BootstrapStatus> done) override {
        run([this, ep, done] {
            if (!bootstrap_.count(ep))
                return (void)done.fail(ApiError::not_found("no configuration"));
            BootstrapStatus s;
            s.state = "finished";
            s.started_at = 1700000000;
            s.finished_at = 1700000002;
            done(s);
        });
    }

    std::shared_ptr<const dm::ObjectRegistry> models() const override {
        std::lock_guard lock(mutex_);
        return models_;
    }
    void add_model(dm::ObjectDef def, bool, Completion<Done> done) override {
        run([this, def = std::move(def), done]() mutable {
            std::lock_guard lock(mutex_);
            auto next = std::make_shared<dm::ObjectRegistry>(*models_);
            next->add(std::move(def));
            models_ = std::move(next);
            done(Done{});
        });
    }

    /// Appends to the event history (store::MemoryEventLog semantics). Returns the seq.
    std::uint64_t log_event(std::string endpoint, std::string kind, std::string detail,
                            std::int64_t time_ms = 1700000000000) {
        std::lock_guard lock(mutex_);
        return *history_.append(
            {0, time_ms, std::move(endpoint), std::move(kind), std::move(detail)});
    }
    /// The last history query (for assertions).
    std::optional<store::EventQuery> last_history_query() {
        std::lock_guard lock(mutex_);
        return last_history_;
    }
    /// Makes event_history fail with this error (nullopt: answer normally).
    void fail_history(std::optional<ApiError> e) {
        std::lock_guard lock(mutex_);
        history_error_ = std::move(e);
    }
    void event_history(store::EventQuery q,
                       Completion<std::vector<store::EventRecord>> done) override {
        run([this, q = std::move(q), done] {
            std::lock_guard lock(mutex_);
            last_history_ = q;
            if (history_error_) return (void)done.fail(*history_error_);
            auto r = history_.read(q);
            if (!r) return (void)done.fail({500, "internal_error", r.error().message()});
            done(std::move(*r));
        });
    }

    void stats(Completion<StatsReport> done) override {
        run([done] {
            StatsReport r;
            r.dm = {{"registrations", 2}, {"updates", 7}};
            r.bootstrap = {{"finished", 1}};
            r.dtls = {{"sessions", 0}};
            LatencyHistogram h;
            for (std::uint64_t us : {100, 200, 300, 4000})
                h.record_us(us);
            r.latency = {{"update", h}};
            done(std::move(r));
        });
    }

    void list_nodes(Completion<std::vector<NodeInfo>> done) override {
        run([done] {
            NodeInfo self;
            self.id = "fake-node";
            self.self = true;
            self.last_seen = 1700000000000;
            self.registrations = 0;
            NodeInfo other;
            other.id = "other-node";
            other.alive = false;
            other.last_seen = 1699999990000;
            done(std::vector<NodeInfo>{self, other});
        });
    }

private:
    template <class F>
    void run(F&& f) {
        if (engine_)
            engine_->post([f = std::forward<F>(f)](TimePoint) mutable { f(); });
        else
            f();
    }

    std::optional<EngineExecutor> engine_;
    std::shared_ptr<EventHub> events_;
    mutable std::mutex mutex_;
    std::shared_ptr<const dm::ObjectRegistry> models_;
    std::optional<DeviceRequest> last_;
    store::MemoryEventLog history_;                 ///< guarded by mutex_
    std::optional<store::EventQuery> last_history_; ///< guarded by mutex_
    std::optional<ApiError> history_error_;         ///< guarded by mutex_
    // Engine-thread state.
    std::map<std::string, ClientInfo> clients_;
    std::map<std::string, store::SecurityInfo> security_;
    std::map<std::string, BootstrapConfig> bootstrap_;
    std::vector<Completion<DeviceResponse>> parked_;
};

} // namespace lwm2m::http::fake
