// lwm2m-server: the device-management and bootstrap engines on UDP sockets (one engine thread
// running a transport::Loop), the REST API (one HTTP thread) and the stores, in one program.
// Exceptions stop here (docs/architecture.md: only at the edges).
#include <csignal>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <lwm2m/bootstrap/engine.hpp>
#include <lwm2m/dm/ddf.hpp>
#include <lwm2m/http/api.hpp>
#include <lwm2m/http/auth.hpp>
#include <lwm2m/http/server.hpp>
#include <lwm2m/server/engine.hpp>
#include <lwm2m/store/commit_queue.hpp>
#include <lwm2m/store/memory_bootstrap_config_store.hpp>
#include <lwm2m/store/memory_stores.hpp>
#include <lwm2m/store/redis_bootstrap_config_store.hpp>
#include <lwm2m/store/redis_stores.hpp>
#include <lwm2m/store/registration_committer.hpp>
#include <lwm2m/store/sqlite_bootstrap_config_store.hpp>
#include <lwm2m/store/sqlite_stores.hpp>
#include <lwm2m/transport/heap.hpp>
#include <lwm2m/transport/loop.hpp>
#include <lwm2m/transport/system_random.hpp>
#include <lwm2m/transport/time_source.hpp>
#include <lwm2m/transport/udp_socket.hpp>
#include <lwm2m/version.hpp>

#include "backend.hpp"
#include "cluster.hpp"
#include "coherence.hpp"
#include "credentials.hpp"
#include "dtls_takeover.hpp"
#include "options.hpp"
#include "server_core.hpp"
#include "spdlog_logger.hpp"
#include "static_files.hpp"

namespace {

using namespace lwm2m;

/// Events the durable log keeps (the oldest go first).
constexpr std::size_t event_log_rows = 100000;

/// The memory store's event log: appended on the engine thread, read on the HTTP thread.
struct SharedMemoryEventLog {
    std::mutex mutex;
    store::MemoryEventLog log{event_log_rows};
};

/// The stores the engines use. Memory: everything is lost at exit. SQLite (the default): one
/// data directory; registrations are committed by a CommitQueue writer thread (group commit) on
/// its own connection, the credentials write through on the engine thread, the bootstrap
/// configurations have their own connection (used from the HTTP thread). The event log is
/// appended on the writer's connection (in its transactions) and read back on a read-only
/// connection of its own from the HTTP thread: in WAL mode a reader sees the last commit and
/// never waits for the writer, so GET /api/events/history neither queues behind a group commit
/// nor holds one up. Redis (redis://...):
/// registrations and events committed by a RegistrationCommitter writer thread (group commit),
/// the credentials and configurations written through (docs/store.md "Redis"); the secret key
/// file stays in the data directory.
struct Stores {
    std::unique_ptr<store::MemorySecurityStore> memory_security;
    std::unique_ptr<store::MemoryRegistrationStore> memory_registrations;
    std::unique_ptr<store::SqliteStores> sql;
    std::unique_ptr<store::CommitQueue> queue;
    std::unique_ptr<store::WalCheckpointer> checkpointer; ///< SQLite: WAL checkpoints
    std::shared_ptr<store::RegistrationWriter> writer;
    std::unique_ptr<store::RedisStores> redis;
    std::unique_ptr<store::RegistrationCommitter> committer;
    std::unique_ptr<store::BootstrapConfigStore> configs;
    std::unique_ptr<store::Database> history_db; ///< SQLite: the HTTP thread's reader
    std::unique_ptr<store::SqliteEventLog> history;
    std::shared_ptr<SharedMemoryEventLog> memory_events;
    /// Redis: the HTTP thread's own client for the event history (a client serves one thread).
    std::unique_ptr<store::redis::ClusterClient> history_client;
    std::unique_ptr<store::RedisEventLog> redis_history;

    store::SecurityStore& security() {
        if (redis) return redis->security();
        return sql ? static_cast<store::SecurityStore&>(sql->security()) : *memory_security;
    }
    store::RegistrationStore& registrations() {
        if (redis) return redis->registrations();
        return sql ? static_cast<store::RegistrationStore&>(sql->registrations())
                   : *memory_registrations;
    }
};

/// The node id: --node-id, else the one kept in <data-dir>/node-id, else a new one
/// (<hostname>-<8 hex digits>) written there, so that a restarted node keeps its id and with it
/// the devices the store says it holds (docs/cluster.md "Node identity").
std::optional<std::string> resolve_node_id(const app::ServerOptions& o, Random& random,
                                           std::string* why) {
    if (!o.node_id.empty()) return o.node_id;
    const auto file = std::filesystem::path(o.data_dir) / "node-id";
    if (std::ifstream in(file); in) {
        std::string id;
        std::getline(in, id);
        if (app::ClusterNode::valid_id(id)) return id;
        *why = file.string() + " does not hold a valid node id";
        return std::nullopt;
    }
    std::array<char, 256> host{};
    std::string id = ::gethostname(host.data(), host.size() - 1) == 0 ? host.data() : "node";
    std::erase_if(id, [](char c) { return !app::ClusterNode::valid_id(std::string_view(&c, 1)); });
    if (id.empty()) id = "node";
    if (id.size() > 55) id.resize(55);
    std::array<std::byte, 4> r{};
    random.fill(r);
    id += '-';
    for (auto b : r)
        id += fmt::format("{:02x}", std::to_integer<unsigned>(b));
    std::ofstream out(file, std::ios::trunc);
    out << id << '\n';
    if (!out) {
        *why = "cannot write " + file.string();
        return std::nullopt;
    }
    return id;
}

Result<Stores> open_stores(const app::ServerOptions& o, const std::string& node_id,
                           std::string* why) {
    Stores s;
    if (o.store.rfind("redis://", 0) == 0) {
        store::RedisStoresOptions ro;
        ro.node_id = node_id;
        LWM2M_TRY(redis, store::RedisStores::open(
                             o.store, (std::filesystem::path(o.data_dir) / "secret.key").string(),
                             ro, why));
        s.redis = std::move(redis);
        LWM2M_TRY(configs, store::RedisBootstrapConfigStore::open(
                               s.redis->client(), s.redis->secret_box(), s.redis->keys()));
        s.configs = std::move(configs);
        store::redis::ClusterOptions history_options;
        LWM2M_TRY(seeds, store::redis::parse_url(o.store, why, &history_options.auth));
        LWM2M_TRY(history_client,
                  store::redis::ClusterClient::connect(std::move(seeds), history_options, why));
        s.history_client = std::move(history_client);
        s.redis_history =
            std::make_unique<store::RedisEventLog>(*s.history_client, s.redis->keys());
        return s;
    }
    if (o.store == "memory") {
        s.memory_security = std::make_unique<store::MemorySecurityStore>();
        s.memory_registrations = std::make_unique<store::MemoryRegistrationStore>();
        s.configs = std::make_unique<store::MemoryBootstrapConfigStore>();
        s.memory_events = std::make_shared<SharedMemoryEventLog>();
        return s;
    }
    LWM2M_TRY(sql, store::SqliteStores::open(o.data_dir));
    s.sql = std::move(sql);
    // WAL checkpoints on a thread of their own, not in whichever commit crosses the threshold
    // (store::WalCheckpointer): every writing connection turns automatic checkpoints off.
    LWM2M_TRY_VOID(store::WalCheckpointer::disable_auto_checkpoint(s.sql->database()));
    LWM2M_TRY(writer_db, s.sql->open_connection());
    LWM2M_TRY_VOID(store::WalCheckpointer::disable_auto_checkpoint(writer_db));
    s.queue = store::CommitQueue::start(std::move(writer_db));
    s.writer = std::make_shared<store::RegistrationWriter>();
    LWM2M_TRY(checkpoint_db, s.sql->open_connection());
    s.checkpointer =
        store::WalCheckpointer::start(std::move(checkpoint_db), std::chrono::milliseconds(500));
    LWM2M_TRY(config_db, s.sql->open_connection());
    LWM2M_TRY_VOID(store::WalCheckpointer::disable_auto_checkpoint(config_db));
    LWM2M_TRY(configs,
              store::SqliteBootstrapConfigStore::open(std::move(config_db), s.sql->secret_box()));
    s.configs = std::move(configs);
    LWM2M_TRY(history_db, s.sql->open_connection());
    s.history_db = std::make_unique<store::Database>(std::move(history_db));
    LWM2M_TRY_VOID(s.history_db->exec("PRAGMA query_only = ON"));
    s.history = std::make_unique<store::SqliteEventLog>(*s.history_db, event_log_rows);
    return s;
}

/// The stored observations of each registration found for an uplink lookup (a takeover; empty
/// for the others, and for all when the read fails: the registration is then taken over without
/// them). `lookups` and `answers` are in the same order.
std::vector<std::vector<store::ObservationRecord>> observations_of_found(
    const store::RedisRegistrationStore& regs,
    const std::vector<server::RegistrationLookup>& lookups,
    const std::vector<std::pair<std::uint64_t, std::optional<store::RegistrationRecord>>>& answers,
    spdlog::logger& log) {
    std::vector<std::vector<store::ObservationRecord>> out(answers.size());
    std::vector<std::string> eps;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < answers.size(); ++i)
        if (answers[i].second && lookups[i].reason == server::LookupReason::uplink) {
            eps.push_back(answers[i].second->endpoint);
            where.push_back(i);
        }
    if (eps.empty()) return out;
    auto got = regs.observations_many(eps);
    if (!got) {
        log.warn("reading the observations of taken-over registrations failed: {}",
                 got.error().message());
        return out;
    }
    for (std::size_t j = 0; j < where.size(); ++j)
        out[where[j]] = std::move((*got)[j]);
    return out;
}

/// The invalidation channel of the credentials and configurations (coherence.hpp).
template <class LoopT>
Result<std::unique_ptr<store::RedisChangeListener>>
start_credential_sync(Stores& stores, const std::string& url, LoopT& loop, Logger& logger,
                      std::string* why) {
    app::CredentialSyncParts parts;
    LWM2M_TRY(nodes, store::redis::parse_url(url, why, &parts.auth));
    for (auto& p : stores.redis->client().primaries())
        if (std::find(nodes.begin(), nodes.end(), p) == nodes.end()) nodes.push_back(p);
    parts.security = &stores.redis->security();
    parts.configs = dynamic_cast<store::RedisBootstrapConfigStore*>(stores.configs.get());
    parts.post = [&loop](std::function<void(TimePoint)> task) { loop.post(std::move(task)); };
    parts.log = &logger;
    return app::start_credential_sync(std::move(nodes), stores.redis->keys(), std::move(parts),
                                      why);
}

Result<transport::UdpSocket> bind_udp(const std::string& address, int port, bool reuse_port) {
    auto a = PeerAddr::parse(address);
    if (!a) return fail(Errc::invalid_argument);
    a->port = static_cast<std::uint16_t>(port);
    transport::UdpSocketOptions so;
    // No SO_REUSEADDR: UDP has no TIME_WAIT to wait out, and on Linux it lets a second server
    // bind the same port silently (the newest socket then takes the unicast traffic). Sharing a
    // port is explicit: --reuse-port (SO_REUSEPORT, the kernel balances the group).
    so.reuse_port = reuse_port;
    so.v6_only = false;
    so.receive_buffer_bytes = 4 << 20;
    so.send_buffer_bytes = 4 << 20;
    return transport::UdpSocket::bind(*a, so);
}

int run(const app::ServerOptions& o) {
    // Signals: blocked before the first thread starts (the stores' writer threads, HTTP, the
    // loop), so every thread inherits the mask and SIGTERM / SIGINT only ever reach the
    // sigtimedwait() below. A thread started earlier, without the mask, could take a SIGTERM
    // while the main thread was between two waits, and its default action killed the process.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);

    auto raw = app::make_stderr_logger(o.log_level);
    app::SpdlogLogger logger(raw);
    auto& log = raw;

    std::error_code fec;
    std::filesystem::create_directories(o.data_dir, fec);
    if (fec) {
        log->error("data directory {}: {}", o.data_dir, fec.message());
        return 1;
    }
    std::filesystem::permissions(o.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, fec);

    transport::SystemRandom random;
    transport::SystemWallClock wall;

    std::string id_why;
    const auto node_id = resolve_node_id(o, random, &id_why);
    if (!node_id) {
        log->error("node id: {}", id_why);
        return 1;
    }

    std::string store_why;
    auto stores = open_stores(o, *node_id, &store_why);
    if (!stores) {
        log->error("opening the {} store (data directory {}): {}{}{}",
                   store::redis::redact_url(o.store), o.data_dir, stores.error().message(),
                   store_why.empty() ? "" : ": ", store_why);
        return 1;
    }

    // Object models: built-in Objects 0-7 plus the DDF folder.
    std::vector<dm::ObjectDef> extra;
    if (!o.objects_dir.empty()) {
        auto r = dm::load_ddf_dir(o.objects_dir);
        for (const auto& e : r.errors)
            log->warn("DDF {}: {}", e.file, e.message);
        extra = std::move(r.defs);
        log->info("{} object definitions loaded from {}", extra.size(), o.objects_dir);
    }
    dm::ObjectRegistry models = dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_2);
    for (const auto& d : extra)
        models.add(d);

    // Our DTLS credentials beyond PSK (both roles' DTLS listeners).
    app::CredentialOptions co;
    if (!o.dtls_rpk.empty()) {
        co.rpk_file = o.dtls_rpk;
        co.rpk_peer_file = o.dtls_rpk; // peers are checked against the SecurityStore, not a list
    }
    if (!o.dtls_cert.empty()) {
        co.cert_file = o.dtls_cert;
        co.key_file = o.dtls_key;
        co.ca_file = o.dtls_ca;
    }
    auto rpk = app::decode_rpk(co);
    auto x509 = app::decode_x509(co);
    if (!rpk || !x509) return 2; // the reason is printed (file names only)
    auto with_credentials = [&](dtls::ServerConfig& dc) {
        dc.psk = true;
        if (*rpk) dc.rpk = dtls::RpkCredentials{(*rpk)->spki, SecretBytes((*rpk)->key.view())};
        if (*x509) {
            dc.x509 = dtls::X509Credentials{(*x509)->chain, SecretBytes((*x509)->key.view())};
            dc.client_ca_der = (*x509)->cas;
        }
    };

    // Sockets: DM first (NoSec, DTLS), then bootstrap (NoSec, DTLS).
    std::vector<transport::UdpSocket> sockets;
    std::vector<std::string> names;
    server::EngineConfig dcfg;
    dcfg.listeners.clear();
    bootstrap::EngineConfig bcfg;
    bcfg.listeners.clear();
    auto open = [&](int port, const char* what) -> bool {
        auto s = bind_udp(o.coap_address, port, o.reuse_port);
        if (!s) {
            log->error("cannot bind {} {}:{}: {}", what, o.coap_address, port, s.error().message());
            return false;
        }
        names.push_back(fmt::format("{} {}", what, s->local_addr().to_string()));
        sockets.push_back(std::move(*s));
        return true;
    };
    if (o.dm) {
        if (o.coap_port != 0) {
            if (!open(o.coap_port, "dm coap")) return 1;
            dcfg.listeners.push_back({server::ListenerSecurity::nosec, {}, {}});
        }
        if (o.coaps_port != 0) {
            if (!open(o.coaps_port, "dm coaps")) return 1;
            server::ListenerConfig l{server::ListenerSecurity::dtls, {}, {}};
            with_credentials(l.dtls);
            dcfg.listeners.push_back(std::move(l));
        }
    }
    const auto dm_sockets = static_cast<std::uint16_t>(sockets.size());
    if (o.bootstrap) {
        if (o.bs_coap_port != 0) {
            if (!open(o.bs_coap_port, "bootstrap coap")) return 1;
            bcfg.listeners.push_back({bootstrap::Listener::Security::nosec, {}});
        }
        if (o.bs_coaps_port != 0) {
            if (!open(o.bs_coaps_port, "bootstrap coaps")) return 1;
            bootstrap::Listener l{bootstrap::Listener::Security::dtls, {}};
            with_credentials(l.dtls);
            bcfg.listeners.push_back(std::move(l));
        }
    }
    if (sockets.empty()) {
        log->error("no CoAP listener: every port is 0");
        return 2;
    }

    std::optional<server::Engine> dm;
    if (o.dm && !dcfg.listeners.empty()) {
        dcfg.nosec = o.nosec == "any"      ? server::NoSecPolicy::any
                     : o.nosec == "refuse" ? server::NoSecPolicy::refuse
                                           : server::NoSecPolicy::listed;
        dcfg.strict = o.strict;
        dcfg.objects = extra;
        if (stores->redis) {
            // Several nodes may share the store (docs/cluster-nodes.md): locations unique per node
            // (a random prefix per process: 1 in 65536 pairs of nodes share one, and their
            // locations then still differ by slot and 32-bit nonce), and the registrations of
            // clients that reach this node after registering at another read through.
            dcfg.location_prefix = fmt::format("{:04x}-", random.next_u32() & 0xFFFFu);
            dcfg.read_through.enabled = true;
            // DTLS sessions follow their clients between nodes (docs/cluster-nodes.md).
            dcfg.session_continuity = o.dtls_takeover;
        }
        auto e = server::Engine::create(dcfg, {stores->security(), random, wall, logger});
        if (!e) {
            log->error("device-management engine: {}", e.error().message());
            return 1;
        }
        dm.emplace(std::move(*e));
        auto restored = dm->restore(transport::LoopBase::now(), stores->registrations());
        if (!restored) {
            log->error("restoring registrations: {}", restored.error().message());
            return 1;
        }
        if (*restored != 0) log->info("{} registrations restored", *restored);
    }
    std::optional<bootstrap::Engine> bs;
    if (o.bootstrap && !bcfg.listeners.empty()) {
        bcfg.allow_nosec = o.bs_allow_nosec;
        bcfg.hold_finish_until_persisted = true;
        auto e = bootstrap::Engine::create(bcfg, *stores->configs, random, wall, logger);
        if (!e) {
            log->error("bootstrap engine: {}", e.error().message());
            return 1;
        }
        bs.emplace(std::move(*e));
    }

    app::ServerCore core(dm ? &*dm : nullptr, dm_sockets, bs ? &*bs : nullptr);
    std::vector<transport::UdpSocket*> socket_ptrs;
    socket_ptrs.reserve(sockets.size());
    for (auto& s : sockets)
        socket_ptrs.push_back(&s);
    transport::Loop<app::ServerCore> loop(core,
                                          std::span<transport::UdpSocket* const>(socket_ptrs));

    // REST API.
    bool token_created = false;
    auto token = http::load_or_create_token(o.data_dir, random, &token_created);
    if (!token) {
        log->error("API token in {}: {}", o.data_dir, token.error().message());
        return 1;
    }
    auto hub = http::EventHub::create();
    app::BackendOptions bo;
    bo.bootstrap_uri = fmt::format("coaps://{}:{}", o.public_host, o.bs_coaps_port);
    bo.bootstrap_uri_nosec = fmt::format("coap://{}:{}", o.public_host, o.bs_coap_port);
    if (o.coap_port != 0) bo.dm_ports.push_back(static_cast<std::uint16_t>(o.coap_port));
    if (o.coaps_port != 0) bo.dm_ports.push_back(static_cast<std::uint16_t>(o.coaps_port));
    bo.node_id = *node_id;
    std::unique_ptr<app::DtlsTakeover> takeover; // before the backend: its stats read it
    // The writer thread's tasks use `takeover`: on every way out, stop that thread first.
    struct StopWriterFirst {
        Stores& s;
        ~StopWriterFirst() { s.committer.reset(); }
    } stop_writer_first{*stores};
    bo.extra_dtls_stats = [&takeover] {
        return takeover ? takeover->stats() : std::vector<std::pair<std::string, std::uint64_t>>{};
    };
    if (stores->sql) {
        bo.record_outcome = [sql = stores->sql.get()](const store::BootstrapOutcome& outcome,
                                                      std::span<const store::SecurityInfo> infos,
                                                      std::string* why) -> Result<void> {
            LWM2M_TRY_VOID(sql->commit_bootstrap_outcome(outcome, infos, why));
            return ok();
        };
    }
    if (stores->redis) {
        // Appended on the registrations' writer thread, in order with the commits.
        stores->committer =
            std::make_unique<store::RegistrationCommitter>(stores->redis->registrations());
        bo.log_event = [c = stores->committer.get(), events = &stores->redis->events(),
                        &log](store::EventRecord rec) {
            c->post([events, rec = std::move(rec), &log]() mutable {
                if (auto r = events->append(std::move(rec)); !r)
                    log->warn("event log append failed: {}", r.error().message());
            });
        };
        bo.read_events = [history = stores->redis_history.get()](const store::EventQuery& q) {
            return history->read(q);
        };
        if (dm && dcfg.session_continuity) {
            // The cluster key: derived from the deployment's shared secret.key (HKDF-SHA256), so
            // every node has it without another file; never logged.
            auto key = stores->redis->secret_box().derive_key("lwm2m-cpp cluster key: dtls v1");
            auto t = key ? server::SessionTakeover::create({}, std::move(*key))
                         : Result<server::SessionTakeover>(tl::unexpected(key.error()));
            if (!t) {
                log->error("DTLS session takeover: {}", t.error().message());
                return 1;
            }
            takeover = std::make_unique<app::DtlsTakeover>(
                *dm, std::move(*t), *stores->committer, stores->redis->writer_client(),
                stores->redis->keys(), loop, random, logger);
        }
    }
    if (stores->queue) {
        // The event log lives on the writer's connection and is appended in its transactions
        // (group commit, never blocking the engine thread).
        auto event_log = std::make_shared<std::optional<store::SqliteEventLog>>();
        bo.log_event = [q = stores->queue.get(), event_log, &log](store::EventRecord rec) {
            q->submit(
                [event_log, rec = std::move(rec)](store::Database& db) -> Result<void> {
                    if (!*event_log) event_log->emplace(db, event_log_rows);
                    LWM2M_TRY_VOID((*event_log)->append(rec));
                    return ok();
                },
                [&log](Result<void> r) {
                    if (!r) log->warn("event log append failed: {}", r.error().message());
                });
        };
        bo.read_events = [history = stores->history.get()](const store::EventQuery& q) {
            return history->read(q);
        };
    } else if (stores->memory_events) {
        bo.log_event = [m = stores->memory_events](store::EventRecord rec) {
            std::lock_guard lock(m->mutex);
            (void)m->log.append(std::move(rec)); // cannot fail
        };
        bo.read_events = [m = stores->memory_events](const store::EventQuery& q) {
            std::lock_guard lock(m->mutex);
            return m->log.read(q);
        };
    }
    app::ServerBackend backend(http::EngineExecutor::for_loop(loop), dm ? &*dm : nullptr,
                               bs ? &*bs : nullptr, stores->security(), *stores->configs, hub, wall,
                               logger, bo, std::move(models));
    if (stores->sql) {
        // The bootstrap status survives a restart: the newest outcome of each endpoint.
        if (auto outcomes = stores->sql->bootstrap_outcomes("", 100000)) {
            for (const auto& oc : *outcomes)
                backend.seed_status(oc.endpoint, oc.success, oc.time / 1000, oc.detail);
        } else {
            log->warn("reading bootstrap outcomes: {}", outcomes.error().message());
        }
    }
    // Several nodes over one Redis store: liveness, routing, events (docs/cluster.md).
    std::unique_ptr<app::ClusterNode> cluster;
    if (stores->redis) {
        app::ClusterNodeOptions cno;
        cno.node_id = *node_id;
        cno.keys = stores->redis->keys();
        std::string why;
        if (auto seeds = store::redis::parse_url(o.store, &why, &cno.auth))
            cno.seeds = std::move(*seeds);
        auto c = app::ClusterNode::start(
            std::move(cno),
            [&backend](http::DeviceRequest req, app::DeviceDone done) {
                backend.execute_forwarded(std::move(req), std::move(done));
            },
            [&backend] { return backend.registration_count(); }, hub, logger, &why);
        if (!c) {
            log->error("cluster node {}: {}{}{}", *node_id, c.error().message(),
                       why.empty() ? "" : ": ", why);
            return 1;
        }
        cluster = std::move(*c);
        cluster->set_on_remote_event(
            [&backend](const http::Event& e, const std::string&) { backend.on_remote_event(e); });
        cluster->set_local(
            [&backend](http::ClientQuery q, std::function<void(http::ClientPage)> done) {
                backend.list_local(q, std::move(done));
            },
            [&backend](std::string ep, app::DeviceDone done) {
                backend.remove_forwarded(std::move(ep), std::move(done));
            });
        backend.set_cluster(cluster.get());
        log->info("cluster node {} (redis)", *node_id);
    }
    // Credentials and bootstrap configurations changed at other nodes (docs/cluster.md
    // "Credentials and bootstrap configurations").
    std::unique_ptr<store::RedisChangeListener> credential_sync;
    if (stores->redis) {
        std::string why;
        auto c = start_credential_sync(*stores, o.store, loop, logger, &why);
        if (!c) {
            log->error("credential sync: {}{}{}", c.error().message(), why.empty() ? "" : ": ",
                       why);
            return 1;
        }
        credential_sync = std::move(*c);
    }
    http::Router router;
    http::register_api(router, backend, hub, {.info = {"lwm2m-cpp", LWM2M_VERSION_STRING}});
    router.set_authenticator(http::bearer_authenticator(*token));
    if (!o.web_root.empty()) {
        if (std::filesystem::is_directory(o.web_root)) {
            app::add_static_files(router, o.web_root, http::bearer_authenticator(*token));
            log->info("web UI files served from {}", o.web_root);
        } else {
            log->warn("--web-root {} is not a folder: no web UI", o.web_root);
        }
    }
    http::ServerOptions hso;
    hso.address = o.http_address;
    hso.port = static_cast<std::uint16_t>(o.http_port);
    http::HttpServer http_server(router, hso, logger);

    if (auto r = http_server.start(); !r) {
        log->error("REST API on {}:{}: {}", o.http_address, o.http_port, r.error().message());
        return 1;
    }

    std::vector<store::Change> batch;
    loop.set_hook([&](TimePoint now) {
        for (int round = 0; round < 4; ++round) {
            bool more = false;
            if (dm) {
                while (auto ev = dm->poll_event())
                    backend.on_dm_event(now, std::move(*ev));
                // Read-through lookups (docs/cluster-nodes.md) on the Redis writer thread, in
                // order with the commits, all of this iteration in two pipelines; the answers
                // come back as one task. A store error leaves the lookups unanswered: the
                // engine's timeout answers 5.03 / expires.
                std::vector<server::RegistrationLookup> lookups;
                while (auto lookup = dm->poll_lookup())
                    lookups.push_back(std::move(*lookup));
                if (!lookups.empty() && !stores->committer) {
                    for (const auto& l : lookups) // one node: nothing to read through
                        dm->registration_not_found(now, l.id);
                    more = true;
                } else if (!lookups.empty()) {
                    stores->committer->post([&loop, &dm, &log, ls = std::move(lookups),
                                             &regs = stores->redis->registrations()] {
                        std::vector<std::string> eps;
                        std::vector<std::string> locs;
                        for (const auto& l : ls)
                            (l.endpoint.empty() ? locs : eps)
                                .push_back(l.endpoint.empty() ? l.location : l.endpoint);
                        auto by_ep = regs.find_many(eps);
                        auto by_loc = regs.find_many_by_location(locs);
                        if (!by_ep || !by_loc) {
                            log->warn("registration lookups failed: {}",
                                      (!by_ep ? by_ep.error() : by_loc.error()).message());
                            return;
                        }
                        std::vector<
                            std::pair<std::uint64_t, std::optional<store::RegistrationRecord>>>
                            answers;
                        std::size_t e = 0;
                        std::size_t k = 0;
                        for (const auto& l : ls)
                            answers.emplace_back(l.id, l.endpoint.empty()
                                                           ? std::move((*by_loc)[k++])
                                                           : std::move((*by_ep)[e++]));
                        // A registration taken over brings its observations (one pipeline).
                        auto obs = observations_of_found(regs, ls, answers, *log);
                        loop.post([&dm, answers = std::move(answers),
                                   obs = std::move(obs)](TimePoint t) mutable {
                            for (std::size_t i = 0; i < answers.size(); ++i) {
                                auto& [id, rec] = answers[i];
                                if (rec)
                                    dm->provide_registration(t, id, std::move(*rec),
                                                             std::move(obs[i]));
                                else
                                    dm->registration_not_found(t, id);
                            }
                        });
                    });
                }
                if (takeover) takeover->on_iteration(now);
                if (auto seq = dm->take_changes(batch); seq != 0) {
                    if (stores->queue) {
                        // Group commit on the writer thread; the outcome comes back as a task.
                        stores->queue->submit([w = stores->writer, b = std::move(batch)](
                                                  store::Database& db) { return w->apply(db, b); },
                                              [&loop, &dm, &log, seq](Result<void> r) {
                                                  if (!r)
                                                      log->error("registration commit failed: {}",
                                                                 r.error().message());
                                                  loop.post([&dm, seq, r](TimePoint t) {
                                                      dm->on_persisted(t, seq, r);
                                                  });
                                              });
                        batch = {};
                    } else if (stores->committer) {
                        // Group commit on the Redis writer thread.
                        stores->committer->submit(std::move(batch), [&loop, &dm, &log,
                                                                     seq](Result<void> r) {
                            if (!r)
                                log->error("registration commit failed: {}", r.error().message());
                            loop.post([&dm, seq, r](TimePoint t) { dm->on_persisted(t, seq, r); });
                        });
                        batch = {};
                    } else {
                        auto r = stores->registrations().commit(batch);
                        if (!r) log->error("registration commit failed: {}", r.error().message());
                        dm->on_persisted(now, seq, r);
                        more = true;
                    }
                }
            }
            if (bs) {
                while (auto ev = bs->poll_event()) {
                    backend.on_bootstrap_event(now, std::move(*ev));
                    more = true;
                }
            }
            if (!more) break;
        }
        // A mass expiry (registrations, DTLS sessions) freed much at once: give the pages back.
        const bool dm_hint = dm && dm->take_release_hint();
        const bool bs_hint = bs && bs->take_release_hint();
        if (dm_hint || bs_hint) {
            const bool released = transport::release_free_heap();
            log->debug("{} registrations left; free heap {}returned to the OS",
                       dm ? dm->registration_count() : 0, released ? "" : "not ");
        }
    });

    std::atomic<bool> stopping{false};
    std::atomic<bool> engine_failed{false};
    std::thread engine_thread([&] {
        while (!stopping.load()) {
            auto r = loop.run_for(std::chrono::hours(1));
            if (!r) {
                log->error("engine loop: {}", r.error().message());
                engine_failed = true;
                break;
            }
        }
    });

    for (const auto& n : names)
        log->info("listening: {}", n);
    log->info("REST API on http://{}:{} (token in {}/api-token{})", o.http_address,
              http_server.port(), o.data_dir, token_created ? ", created" : "");
    std::printf("READY http=%s:%u\n", o.http_address.c_str(), http_server.port());
    std::fflush(stdout);

    int sig = 0;
    while (sig <= 0 && !engine_failed.load()) {
        timespec ts{0, 200'000'000};
        sig = sigtimedwait(&sigs, nullptr, &ts);
    }
    log->info("stopping{}", sig > 0 ? fmt::format(" (signal {})", sig) : std::string());
    // Stop accepting; requests in flight get their answer from the still-running engine.
    http_server.stop(std::chrono::milliseconds(static_cast<long>(o.shutdown_grace_s * 1000)));
    stopping = true;
    loop.stop();
    engine_thread.join();
    // Forwarded requests still waiting are answered; the others see this node leave.
    backend.set_cluster(nullptr);
    cluster.reset();
    credential_sync.reset();
    backend.fail_pending();
    if (dm) {
        // What the last iteration journaled (e.g. expiries) is written before we exit.
        if (auto seq = dm->take_changes(batch); seq != 0) {
            Result<void> r = ok();
            if (stores->queue)
                r = stores->queue->run_sync(
                    [&](store::Database& db) { return stores->writer->apply(db, batch); });
            else if (stores->committer)
                r = stores->committer->commit_sync(std::move(batch));
            else
                r = stores->registrations().commit(batch);
            if (!r) log->error("final registration commit failed: {}", r.error().message());
        }
    }
    // Flush and stop the writer thread while the loop its callbacks post to still exists.
    stores->queue.reset();
    stores->committer.reset();
    log->info("stopped");
    return engine_failed.load() ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
    lwm2m::app::ServerOptions o;
    if (int rc = lwm2m::app::parse_options(argc, argv, o); rc >= 0) return rc;
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lwm2m-server: %s\n", e.what());
        return 1;
    }
}
