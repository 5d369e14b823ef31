// Several lwm2m-server nodes over one Redis store (cluster.hpp, docs/cluster.md).
#include "cluster.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <lwm2m/base/errc.hpp>

#include "cluster_codec.hpp"

namespace lwm2m::app {
namespace {

using Clock = std::chrono::steady_clock;

/// Requests remembered to ignore a second copy (a PUBLISH retried after a lost reply).
constexpr std::size_t seen_capacity = 4096;

std::int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

http::ApiError unavailable() {
    return {503, "store_unavailable", "the shared store (Redis) cannot be reached"};
}

} // namespace

bool ClusterNode::valid_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

ClusterNode::ClusterNode(ClusterNodeOptions options, Executor execute, Counter registrations,
                         std::shared_ptr<http::EventHub> hub, Logger& log)
    : options_(std::move(options))
    , execute_(std::move(execute))
    , registrations_(std::move(registrations))
    , hub_(std::move(hub))
    , log_(log) {}

Result<std::unique_ptr<ClusterNode>> ClusterNode::start(ClusterNodeOptions options,
                                                        Executor execute, Counter registrations,
                                                        std::shared_ptr<http::EventHub> hub,
                                                        Logger& log, std::string* why) {
    if (!valid_id(options.node_id)) {
        if (why) *why = "the node id must be 1 to 64 characters of A-Z a-z 0-9 . _ -";
        return fail(Errc::invalid_argument);
    }
    std::unique_ptr<ClusterNode> n(new ClusterNode(std::move(options), std::move(execute),
                                                   std::move(registrations), std::move(hub), log));
    // A short retry deadline: a heartbeat or a look-up must not wait out a whole failover (the
    // forwarded request has its own deadline), and no WAIT: nothing here must be durable.
    store::redis::ClusterOptions co;
    co.retry_deadline = std::chrono::milliseconds(2000);
    co.wait_replicas = 0;
    co.auth = n->options_.auth;
    LWM2M_TRY(client, store::redis::ClusterClient::connect(n->options_.seeds, co, why));
    n->client_ = std::move(client);
    n->registry_ =
        std::make_unique<store::RedisNodeRegistry>(*n->client_, n->options_.keys, n->options_.ttl);
    n->lookup_ = std::make_unique<store::RedisRegistrationStore>(*n->client_, n->options_.keys);
    if (n->options_.sweep_pause.count() > 0)
        n->sweeper_ = std::make_unique<store::RedisRegistrationSweeper>(
            *n->client_, n->options_.keys, n->options_.sweep_grace);
    n->next_sweep_ = Clock::now() + n->options_.sweep_step;
    // Any node serves pub/sub: the seeds first, then the primaries known now.
    auto nodes = n->options_.seeds;
    for (auto& p : n->client_->primaries())
        if (std::find(nodes.begin(), nodes.end(), p) == nodes.end()) nodes.push_back(p);
    LWM2M_TRY(sub,
              store::redis::Subscriber::connect(std::move(nodes),
                                                {n->options_.keys.node_channel(n->options_.node_id),
                                                 n->options_.keys.event_channel()},
                                                co, why));
    n->subscriber_ = std::move(sub);
    n->beat();
    n->worker_ = std::thread([p = n.get()] { p->worker_main(); });
    n->subscriber_thread_ = std::thread([p = n.get()] { p->subscriber_main(); });
    return n;
}

ClusterNode::~ClusterNode() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (subscriber_thread_.joinable()) subscriber_thread_.join();
    if (worker_.joinable()) worker_.join();
    std::unordered_map<std::uint64_t, Pending> left;
    {
        std::lock_guard lock(mutex_);
        left.swap(pending_);
    }
    for (auto& [id, p] : left)
        p.done(tl::unexpected(http::ApiError{503, "engine_unavailable", "the server is stopping"}));
    std::unordered_map<std::uint64_t, Gather> lists;
    {
        std::lock_guard lock(mutex_);
        lists.swap(gathers_);
    }
    for (auto& [id, g] : lists)
        g.done(tl::unexpected(http::ApiError{503, "engine_unavailable", "the server is stopping"}));
    if (registry_) (void)registry_->leave(options_.node_id);
}

void ClusterNode::set_on_remote_event(
    std::function<void(const http::Event&, const std::string& from)> f) {
    std::lock_guard lock(mutex_);
    on_remote_event_ = std::move(f);
}

ClusterNodeStats ClusterNode::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void ClusterNode::post(Task t) {
    {
        std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(t));
    }
    wake_.notify_one();
}

// ---- asking side -------------------------------------------------------------------------------

void ClusterNode::forward(http::DeviceRequest req, DeviceDone done, bool registered_here) {
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
    }
    post([this, id, req = std::move(req), done = std::move(done), registered_here]() mutable {
        route(id, std::move(req), std::move(done), registered_here);
    });
}

void ClusterNode::set_local(Lister lister, Remover remover) {
    std::lock_guard lock(mutex_);
    lister_ = std::move(lister);
    remover_ = std::move(remover);
}

void ClusterNode::remove(std::string endpoint, DeviceDone done, bool registered_here) {
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
    }
    http::DeviceRequest req;
    req.endpoint = std::move(endpoint);
    req.timeout = options_.list_deadline;
    post([this, id, req = std::move(req), done = std::move(done), registered_here]() mutable {
        route(id, std::move(req), std::move(done), registered_here, true);
    });
}

void ClusterNode::route(std::uint64_t id, http::DeviceRequest req, DeviceDone done,
                        bool registered_here, bool remove) {
    const std::string ep = req.endpoint;
    auto run_here = [&] {
        if (!remove) {
            execute_(std::move(req), std::move(done));
            return;
        }
        Remover r;
        {
            std::lock_guard lock(mutex_);
            r = remover_;
        }
        if (r)
            r(ep, std::move(done));
        else
            done(tl::unexpected(http::ApiError{404, "unknown_client",
                                               "no registration for endpoint '" + ep + "'"}));
    };
    auto owner = lookup_->owner(ep);
    if (!owner) {
        done(tl::unexpected(unavailable()));
        return;
    }
    if (!*owner && registered_here) {
        // Restored from a store written before owners were recorded: ours until it updates.
        run_here();
        return;
    }
    if (!*owner) {
        done(tl::unexpected(
            http::ApiError{404, "unknown_client", "no registration for endpoint '" + ep + "'"}));
        return;
    }
    if (**owner == options_.node_id) {
        // Ours according to the store (e.g. restored after our restart): run it here.
        run_here();
        return;
    }
    auto alive = registry_->alive(**owner);
    if (!alive) {
        done(tl::unexpected(unavailable()));
        return;
    }
    if (!*alive) {
        done(tl::unexpected(http::ApiError{
            502, "owner_unavailable",
            fmt::format("endpoint '{}' is held by server node '{}', which is not alive (no "
                        "heartbeat for {} ms)",
                        ep, **owner, options_.ttl.count())}));
        return;
    }
    const auto deadline = Clock::now() + req.timeout + options_.reply_margin;
    const auto payload =
        remove ? cluster::encode(cluster::RemoveRequest{id, options_.node_id, ep})
               : cluster::encode(cluster::ForwardedRequest{id, options_.node_id, std::move(req)});
    const auto channel = options_.keys.node_channel(**owner);
    {
        std::lock_guard lock(mutex_);
        pending_.emplace(id, Pending{std::move(done), deadline, **owner});
        ++stats_.forwarded;
    }
    auto r = client_->run(store::redis::command({"PUBLISH", channel, payload}, channel));
    if (!r || r->is_error()) complete(id, tl::unexpected(unavailable()));
}

bool ClusterNode::complete(std::uint64_t id, DeviceOutcome outcome) {
    DeviceDone done;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return false;
        done = std::move(it->second.done);
        pending_.erase(it);
    }
    done(std::move(outcome));
    return true;
}

void ClusterNode::expire(Clock::time_point now) {
    std::vector<std::pair<DeviceDone, std::string>> late;
    {
        std::lock_guard lock(mutex_);
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->second.deadline <= now) {
                late.emplace_back(std::move(it->second.done), std::move(it->second.owner));
                it = pending_.erase(it);
                ++stats_.timeouts;
            } else {
                ++it;
            }
        }
    }
    for (auto& [done, owner] : late)
        done(tl::unexpected(http::ApiError{
            504, "owner_timeout",
            fmt::format("server node '{}' holding the endpoint did not answer in time", owner)}));
    std::vector<Gather> overdue;
    {
        std::lock_guard lock(mutex_);
        for (auto it = gathers_.begin(); it != gathers_.end();) {
            if (it->second.deadline <= now) {
                overdue.push_back(std::move(it->second));
                it = gathers_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& g : overdue)
        finish(std::move(g));
}

// ---- GET /api/clients across the nodes ---------------------------------------------------------

void ClusterNode::list_clients(http::ClientQuery q, ListDone done) {
    post([this, q = std::move(q), done = std::move(done)]() mutable {
        start_list(std::move(q), std::move(done));
    });
}

void ClusterNode::start_list(http::ClientQuery q, ListDone done) {
    Lister lister;
    {
        std::lock_guard lock(mutex_);
        lister = lister_;
    }
    if (!lister) {
        done(http::ClientPage{});
        return;
    }
    auto nodes = registry_->list(unix_ms());
    std::vector<std::string> others;
    if (nodes)
        for (const auto& n : *nodes)
            if (n.alive && n.id != options_.node_id) others.push_back(n.id);
    if (!nodes) {
        // The node list cannot be read: this node's page, said to be partial.
        lister(q, [done = std::move(done)](http::ClientPage p) {
            p.partial = true;
            done(std::move(p));
        });
        return;
    }
    if (others.empty()) {
        lister(q, [done = std::move(done)](http::ClientPage p) { done(std::move(p)); });
        return;
    }
    const std::size_t window = q.page.offset + q.page.limit;
    if (q.page.offset > options_.max_list_window || window > options_.max_list_window) {
        done(tl::unexpected(http::ApiError::bad_request(
            fmt::format("offset + limit must be at most {} when several server nodes answer "
                        "GET /api/clients (narrow the list with ep, ep_prefix, binding or "
                        "security)",
                        options_.max_list_window))));
        return;
    }
    std::uint64_t id = 0;
    http::ClientQuery each = q;
    each.page.offset = 0;
    each.page.limit = window;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        Gather g;
        g.done = std::move(done);
        g.deadline = Clock::now() + options_.list_deadline;
        g.offset = q.page.offset;
        g.limit = q.page.limit;
        g.waiting = others;
        g.waiting.push_back(options_.node_id);
        gathers_.emplace(id, std::move(g));
    }
    const auto payload = cluster::encode(cluster::ListRequest{id, options_.node_id, each});
    std::vector<store::redis::Command> cmds;
    for (const auto& n : others) {
        const auto channel = options_.keys.node_channel(n);
        cmds.push_back(store::redis::command({"PUBLISH", channel, payload}, channel));
    }
    // A failed PUBLISH leaves that node waiting: the deadline names it.
    (void)client_->run(cmds);
    lister(each, [this, id](http::ClientPage p) { gather(id, options_.node_id, std::move(p)); });
}

void ClusterNode::gather(std::uint64_t id, std::string from, http::ClientPage page) {
    Gather done;
    {
        std::lock_guard lock(mutex_);
        auto it = gathers_.find(id);
        if (it == gathers_.end()) return;
        auto& g = it->second;
        auto w = std::find(g.waiting.begin(), g.waiting.end(), from);
        if (w == g.waiting.end()) return;
        g.waiting.erase(w);
        g.total += page.total;
        if (from != options_.node_id)
            for (auto& c : page.items)
                c.node = from;
        g.lists.push_back(std::move(page.items));
        if (!g.waiting.empty()) return;
        done = std::move(g);
        gathers_.erase(it);
    }
    finish(std::move(done));
}

void ClusterNode::finish(Gather g) {
    std::size_t dups = 0;
    http::ClientPage page;
    page.items = cluster::merge_client_pages(std::move(g.lists), g.offset, g.limit, &dups);
    page.total = g.total >= dups ? g.total - dups : 0;
    page.partial = !g.waiting.empty();
    page.missing_nodes = std::move(g.waiting);
    std::sort(page.missing_nodes.begin(), page.missing_nodes.end());
    {
        std::lock_guard lock(mutex_);
        ++stats_.lists;
        if (page.partial) ++stats_.partial_lists;
    }
    g.done(std::move(page));
}

// ---- owner side --------------------------------------------------------------------------------

void ClusterNode::reply(const std::string& to, std::uint64_t id, DeviceOutcome outcome) {
    send_to(to, cluster::encode(cluster::ForwardedReply{id, options_.node_id, std::move(outcome)}),
            "a reply");
}

void ClusterNode::send_to(const std::string& node, std::string payload, const char* what) {
    const auto channel = options_.keys.node_channel(node);
    post([this, channel, payload = std::move(payload), what] {
        auto r = client_->run(store::redis::command({"PUBLISH", channel, payload}, channel));
        if (!r || r->is_error())
            log_.write(LogLevel::warn, "cluster",
                       std::string("publishing ") + what + " failed: " + client_->last_error());
    });
}

bool ClusterNode::first_delivery(const std::string& from, std::uint64_t id) {
    auto key = from + '/' + std::to_string(id);
    if (!seen_.insert(key).second) {
        std::lock_guard lock(mutex_);
        ++stats_.duplicates;
        return false;
    }
    seen_order_.push_back(std::move(key));
    if (seen_order_.size() > seen_capacity) {
        seen_.erase(seen_order_.front());
        seen_order_.pop_front();
    }
    return true;
}

// ---- events ------------------------------------------------------------------------------------

void ClusterNode::publish_event(const http::Event& e) {
    auto payload = cluster::encode(cluster::ForwardedEvent{options_.node_id, e});
    {
        std::lock_guard lock(mutex_);
        if (events_.size() >= options_.max_queued_events) {
            ++stats_.events_dropped;
            return;
        }
        events_.push_back(std::move(payload));
    }
    wake_.notify_one();
}

// ---- nodes -------------------------------------------------------------------------------------

void ClusterNode::list_nodes(
    std::function<void(tl::expected<std::vector<http::NodeInfo>, http::ApiError>)> done) {
    post([this, done = std::move(done)] {
        auto list = registry_->list(unix_ms());
        if (!list) {
            done(tl::unexpected(unavailable()));
            return;
        }
        std::vector<http::NodeInfo> out;
        for (const auto& n : *list) {
            http::NodeInfo i;
            i.id = n.id;
            i.alive = n.alive;
            i.self = n.id == options_.node_id;
            i.last_seen = n.last_seen;
            i.registrations = n.registrations;
            out.push_back(std::move(i));
        }
        done(std::move(out));
    });
}

void ClusterNode::find_registration(std::string endpoint, StoredDone done) {
    post([this, endpoint = std::move(endpoint), done = std::move(done)] {
        auto rec = lookup_->find(endpoint);
        if (!rec) {
            done(tl::unexpected(unavailable()));
            return;
        }
        if (!*rec) {
            done(std::optional<StoredRegistration>());
            return;
        }
        // A record past its lifetime and the engines' default grace (EngineConfig::
        // lifetime_grace, 30 s) is no registration: its node died and the device never came back.
        const auto& r = **rec;
        if (r.updated_at + static_cast<std::int64_t>(r.lifetime_s) + 30 < unix_ms() / 1000) {
            done(std::optional<StoredRegistration>());
            return;
        }
        auto owner = lookup_->owner(endpoint);
        if (!owner) {
            done(tl::unexpected(unavailable()));
            return;
        }
        done(std::optional<StoredRegistration>(
            StoredRegistration{std::move(**rec), owner->value_or(std::string())}));
    });
}

void ClusterNode::beat() {
    next_beat_ = Clock::now() + options_.heartbeat;
    if (auto r = registry_->heartbeat(options_.node_id, registrations_(), unix_ms()); !r) {
        std::lock_guard lock(mutex_);
        ++stats_.heartbeat_failures;
    }
}

// ---- threads -----------------------------------------------------------------------------------

void ClusterNode::worker_main() {
    for (;;) {
        std::deque<Task> tasks;
        std::vector<std::string> events;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_until(lock,
                             std::min(next_beat_, Clock::now() + std::chrono::milliseconds(50)),
                             [&] { return stopping_ || !tasks_.empty() || !events_.empty(); });
            if (stopping_) break;
            tasks.swap(tasks_);
            events.swap(events_);
        }
        if (!events.empty()) {
            // One pipeline, in order: every event of this node goes through one channel, so
            // the other nodes see a device's events in the order they happened here.
            const auto channel = options_.keys.event_channel();
            std::vector<store::redis::Command> cmds;
            cmds.reserve(events.size());
            for (auto& e : events)
                cmds.push_back(store::redis::command({"PUBLISH", channel, std::move(e)}, channel));
            auto r = client_->run(cmds);
            std::lock_guard lock(mutex_);
            if (r)
                stats_.events_out += cmds.size();
            else
                stats_.events_dropped += cmds.size();
        }
        for (auto& t : tasks)
            t();
        const auto now = Clock::now();
        if (now >= next_beat_) beat();
        expire(now);
        if (sweeper_ && now >= next_sweep_) sweep(now);
    }
}

void ClusterNode::sweep(Clock::time_point now) {
    auto r = sweeper_->step(unix_ms() / 1000);
    if (r && r->removed != 0)
        log_.write(LogLevel::info, "cluster",
                   std::to_string(r->removed) +
                       " expired registration(s) of dead nodes removed from the store");
    std::lock_guard lock(mutex_);
    if (!r) {
        ++stats_.sweep_failures;
        next_sweep_ = now + options_.sweep_pause;
        return;
    }
    stats_.swept += r->removed;
    if (r->cycle_done) ++stats_.sweep_cycles;
    next_sweep_ = now + (r->cycle_done ? options_.sweep_pause : options_.sweep_step);
}

void ClusterNode::subscriber_main() {
    bool was_down = false;
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        auto m = subscriber_->receive(std::chrono::milliseconds(200));
        if (!m) {
            if (!was_down)
                log_.write(LogLevel::warn, "cluster",
                           "pub/sub connection lost: " + subscriber_->last_error());
            was_down = true;
            // receive() reconnects on its next call; do not spin while Redis is away.
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; });
            continue;
        }
        if (was_down && subscriber_->node().port != 0) {
            was_down = false;
            std::lock_guard lock(mutex_);
            ++stats_.resubscribes;
        }
        if (*m) on_message((*m)->payload);
    }
}

void ClusterNode::on_message(std::string_view payload) {
    auto msg = cluster::decode(payload);
    if (!msg) {
        std::lock_guard lock(mutex_);
        ++stats_.bad_messages;
        return;
    }
    if (auto* q = std::get_if<cluster::ForwardedRequest>(&*msg)) {
        if (!first_delivery(q->from, q->id)) return;
        {
            std::lock_guard lock(mutex_);
            ++stats_.executed;
        }
        execute_(std::move(q->request), [this, to = q->from, id = q->id](DeviceOutcome o) {
            reply(to, id, std::move(o));
        });
    } else if (auto* lq = std::get_if<cluster::ListRequest>(&*msg)) {
        Lister lister;
        {
            std::lock_guard lock(mutex_);
            lister = lister_;
        }
        auto answer = [this, to = lq->from, id = lq->id](http::ClientPage p) {
            send_to(to, cluster::encode(cluster::ListReply{id, options_.node_id, std::move(p)}),
                    "a client list");
        };
        if (lister)
            lister(std::move(lq->query), std::move(answer));
        else
            answer(http::ClientPage{});
    } else if (auto* lr = std::get_if<cluster::ListReply>(&*msg)) {
        gather(lr->id, std::move(lr->from), std::move(lr->page));
    } else if (auto* rm = std::get_if<cluster::RemoveRequest>(&*msg)) {
        if (!first_delivery(rm->from, rm->id)) return;
        Remover remover;
        {
            std::lock_guard lock(mutex_);
            ++stats_.executed;
            remover = remover_;
        }
        DeviceDone answer = [this, to = rm->from, id = rm->id](DeviceOutcome o) {
            reply(to, id, std::move(o));
        };
        if (remover)
            remover(std::move(rm->endpoint), std::move(answer));
        else
            answer(tl::unexpected(http::ApiError{
                404, "unknown_client", "no registration for endpoint '" + rm->endpoint + "'"}));
    } else if (auto* r = std::get_if<cluster::ForwardedReply>(&*msg)) {
        const bool ours = complete(r->id, std::move(r->outcome));
        std::lock_guard lock(mutex_);
        ++(ours ? stats_.replies : stats_.late_replies);
    } else if (auto* e = std::get_if<cluster::ForwardedEvent>(&*msg)) {
        if (e->from == options_.node_id) return; // published locally already
        std::function<void(const http::Event&, const std::string&)> cb;
        {
            std::lock_guard lock(mutex_);
            ++stats_.events_in;
            cb = on_remote_event_;
        }
        if (cb) cb(e->event, e->from);
        if (hub_) hub_->publish(std::move(e->event));
    }
}

} // namespace lwm2m::app
