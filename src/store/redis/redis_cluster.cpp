// Redis Cluster client over hiredis (include/lwm2m/store/redis_cluster.hpp).
#include <lwm2m/store/redis_cluster.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <map>
#include <thread>

#include <poll.h>

#include <hiredis/hiredis.h>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::store::redis {

std::string HostPort::to_string() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

namespace {

std::optional<std::uint16_t> parse_port(std::string_view s) {
    unsigned v = 0;
    if (s.empty() || s.size() > 5) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

/// "host:port", "[v6]:port", "host" (port `def`), ":port" (host `def_host`).
std::optional<HostPort> parse_host_port(std::string_view s, std::uint16_t def_port,
                                        std::string_view def_host) {
    HostPort hp;
    hp.port = def_port;
    if (!s.empty() && s.front() == '[') {
        const auto close = s.find(']');
        if (close == std::string_view::npos || close == 1) return std::nullopt;
        hp.host = std::string(s.substr(1, close - 1));
        s.remove_prefix(close + 1);
        if (s.empty()) return hp;
        if (s.front() != ':') return std::nullopt;
        auto port = parse_port(s.substr(1));
        if (!port) return std::nullopt;
        hp.port = *port;
        return hp;
    }
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) {
        hp.host = std::string(s);
    } else {
        // A bare IPv6 address has more than one ':' and needs brackets.
        if (s.substr(0, colon).find(':') != std::string_view::npos) return std::nullopt;
        hp.host = std::string(s.substr(0, colon));
        auto port = parse_port(s.substr(colon + 1));
        if (!port) return std::nullopt;
        hp.port = *port;
    }
    if (hp.host.empty()) hp.host = std::string(def_host);
    if (hp.host.empty()) return std::nullopt;
    return hp;
}

bool starts_with(std::string_view s, std::string_view p) {
    return s.substr(0, p.size()) == p;
}

/// RFC 3986 §2.1 percent-decoding; nullopt on a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        const int h = hex(s[i + 1]), l = hex(s[i + 2]);
        if (h < 0 || l < 0) return std::nullopt;
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
    }
    return out;
}

/// AUTH on a fresh connection: "" when done or when there is no password, else why not
/// (Redis's reason; the password never appears in it).
std::string authenticate(redisContext* c, const Auth& a) {
    if (a.password.empty()) return {};
    const auto pw = as_string_view(a.password.view());
    std::vector<const char*> argv{"AUTH"};
    std::vector<std::size_t> len{4};
    if (!a.user.empty()) {
        argv.push_back(a.user.data());
        len.push_back(a.user.size());
    }
    argv.push_back(pw.data());
    len.push_back(pw.size());
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), len.data()));
    if (r == nullptr) return std::string("authentication: ") + c->errstr;
    std::string why;
    if (r->type == REDIS_REPLY_ERROR)
        why = "authentication refused: " + std::string(r->str, r->len);
    freeReplyObject(r);
    return why;
}

} // namespace

Result<std::vector<HostPort>> parse_url(std::string_view url, std::string* why, Auth* auth) {
    auto bad = [&](const char* reason) -> Result<std::vector<HostPort>> {
        if (why) *why = reason;
        return fail(lwm2m::Errc::invalid_argument);
    };
    constexpr std::string_view scheme = "redis://";
    if (!starts_with(url, scheme)) return bad("a Redis URL starts with redis://");
    url.remove_prefix(scheme.size());
    Auth parsed;
    if (const auto at = url.rfind('@'); at != std::string_view::npos) {
        const auto info = url.substr(0, at);
        const auto colon = info.find(':');
        if (colon == std::string_view::npos)
            return bad("the user info is 'user:password@' or ':password@'");
        auto user = percent_decode(info.substr(0, colon));
        auto password = percent_decode(info.substr(colon + 1));
        if (!user || !password) return bad("a bad %-escape in the user info");
        if (password->empty()) return bad("an empty password in the user info");
        parsed.user = std::move(*user);
        parsed.password = SecretBytes(as_bytes(*password));
        secure_wipe(password->data(), password->size());
        url.remove_prefix(at + 1);
    }
    if (url.empty()) return bad("no host:port after redis://");
    if (url.find('/') != std::string_view::npos || url.find('?') != std::string_view::npos)
        return bad("a path or query (database number) is not supported: Redis Cluster has one "
                   "database");
    std::vector<HostPort> out;
    while (true) {
        const auto comma = url.find(',');
        const auto item = url.substr(0, comma);
        if (item.empty()) return bad("an empty host:port in the list");
        auto hp = parse_host_port(item, 6379, {});
        if (!hp) return bad("a host:port of the list is not valid (port 1..65535; IPv6 in [])");
        if (std::find(out.begin(), out.end(), *hp) == out.end()) out.push_back(std::move(*hp));
        if (comma == std::string_view::npos) break;
        url.remove_prefix(comma + 1);
    }
    if (auth) *auth = std::move(parsed);
    return out;
}

std::string redact_url(std::string_view url) {
    const auto at = url.rfind('@');
    const auto colon = url.find(':', std::string_view("redis://").size());
    if (!starts_with(url, "redis://") || at == std::string_view::npos || colon > at)
        return std::string(url);
    return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

std::uint16_t crc16(std::string_view data) noexcept {
    std::uint16_t crc = 0;
    for (unsigned char c : data) {
        crc = static_cast<std::uint16_t>(crc ^ (static_cast<std::uint16_t>(c) << 8));
        for (int i = 0; i < 8; ++i)
            crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                 : static_cast<std::uint16_t>(crc << 1);
    }
    return crc;
}

std::string_view hash_tag(std::string_view key) noexcept {
    const auto open = key.find('{');
    if (open == std::string_view::npos) return key;
    const auto close = key.find('}', open + 1);
    if (close == std::string_view::npos || close == open + 1) return key;
    return key.substr(open + 1, close - open - 1);
}

std::uint16_t key_slot(std::string_view key) noexcept {
    return static_cast<std::uint16_t>(crc16(hash_tag(key)) % slot_count);
}

ErrorKind classify_error(std::string_view e) noexcept {
    if (starts_with(e, "MOVED ")) return ErrorKind::moved;
    if (starts_with(e, "ASK ")) return ErrorKind::ask;
    for (std::string_view t : {"TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN", "READONLY"})
        if (starts_with(e, t) && (e.size() == t.size() || e[t.size()] == ' '))
            return ErrorKind::transient;
    return ErrorKind::other;
}

std::optional<Redirect> parse_redirect(std::string_view e, std::string_view default_host) {
    Redirect r;
    if (starts_with(e, "MOVED ")) {
        e.remove_prefix(6);
    } else if (starts_with(e, "ASK ")) {
        r.ask = true;
        e.remove_prefix(4);
    } else {
        return std::nullopt;
    }
    const auto sp = e.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    unsigned slot = 0;
    auto [p, ec] = std::from_chars(e.data(), e.data() + sp, slot);
    if (ec != std::errc{} || p != e.data() + sp || slot >= slot_count) return std::nullopt;
    r.slot = static_cast<std::uint16_t>(slot);
    auto hp = parse_host_port(e.substr(sp + 1), 0, default_host);
    if (!hp || hp->port == 0) return std::nullopt;
    r.to = std::move(*hp);
    return r;
}

Result<std::vector<SlotRange>> parse_cluster_slots(const Reply& reply,
                                                   std::string_view asked_host) {
    if (reply.type != Reply::Type::array) return fail(Errc::corrupt);
    auto node = [&](const Reply& n) -> std::optional<HostPort> {
        if (n.type != Reply::Type::array || n.elements.size() < 2) return std::nullopt;
        const auto& h = n.elements[0];
        const auto& p = n.elements[1];
        if (h.type != Reply::Type::string || p.type != Reply::Type::integer) return std::nullopt;
        if (p.integer <= 0 || p.integer > 65535) return std::nullopt;
        HostPort hp;
        hp.host = h.str.empty() || h.str == "?" ? std::string(asked_host) : h.str;
        hp.port = static_cast<std::uint16_t>(p.integer);
        return hp;
    };
    std::vector<SlotRange> out;
    for (const auto& r : reply.elements) {
        if (r.type != Reply::Type::array || r.elements.size() < 3) return fail(Errc::corrupt);
        const auto& a = r.elements[0];
        const auto& b = r.elements[1];
        if (a.type != Reply::Type::integer || b.type != Reply::Type::integer || a.integer < 0 ||
            b.integer < a.integer || b.integer >= slot_count)
            return fail(Errc::corrupt);
        SlotRange s;
        s.first = static_cast<std::uint16_t>(a.integer);
        s.last = static_cast<std::uint16_t>(b.integer);
        auto p = node(r.elements[2]);
        if (!p) return fail(Errc::corrupt);
        s.primary = std::move(*p);
        for (std::size_t i = 3; i < r.elements.size(); ++i) {
            auto rep = node(r.elements[i]);
            if (!rep) return fail(Errc::corrupt);
            s.replicas.push_back(std::move(*rep));
        }
        out.push_back(std::move(s));
    }
    return out;
}

Command command(std::vector<std::string> args, std::string_view key, bool write) {
    Command c;
    c.args = std::move(args);
    c.slot = key_slot(key);
    c.write = write;
    return c;
}

namespace {

Reply convert(const redisReply* r) {
    Reply out;
    switch (r->type) {
    case REDIS_REPLY_STRING:
        out.type = Reply::Type::string;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_STATUS:
        out.type = Reply::Type::status;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        out.type = Reply::Type::error;
        out.str.assign(r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        out.type = Reply::Type::integer;
        out.integer = r->integer;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = Reply::Type::array;
        out.elements.reserve(r->elements);
        for (std::size_t i = 0; i < r->elements; ++i)
            out.elements.push_back(convert(r->element[i]));
        break;
    default:
        out.type = Reply::Type::nil;
    }
    return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

struct ContextDeleter {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

} // namespace

struct ClusterClient::Impl {
    struct Node {
        HostPort addr;
        Context ctx;
        int online_replicas = -1; ///< from INFO replication; -1: not asked yet
        std::chrono::steady_clock::time_point replicas_checked{};
    };

    std::vector<HostPort> seeds;
    ClusterOptions options;
    mutable std::mutex mutex;
    std::vector<Node> nodes;                      ///< every node seen (primaries first used)
    std::array<std::int32_t, slot_count> slots{}; ///< node index per slot, -1 unknown
    std::vector<std::size_t> primary_order;       ///< node indexes of primaries, slot order
    bool standalone = false;
    bool need_refresh = false;
    bool auth_refused = false; ///< the last connection attempt's AUTH was refused
    std::string last_error;
    ClusterStats stats;

    std::size_t node_index(const HostPort& hp) {
        for (std::size_t i = 0; i < nodes.size(); ++i)
            if (nodes[i].addr == hp) return i;
        nodes.push_back(Node{hp, nullptr});
        return nodes.size() - 1;
    }

    /// The connection of node `i`, opened when needed; nullptr (and last_error) on failure.
    redisContext* conn(std::size_t i) {
        auto& n = nodes[i];
        if (n.ctx) return n.ctx.get();
        ++stats.reconnects;
        Context c(redisConnectWithTimeout(n.addr.host.c_str(), n.addr.port,
                                          to_timeval(options.connect_timeout)));
        if (!c || c->err) {
            last_error = n.addr.to_string() + ": " + (c ? c->errstr : "cannot allocate");
            return nullptr;
        }
        if (redisSetTimeout(c.get(), to_timeval(options.command_timeout)) != REDIS_OK) {
            last_error = n.addr.to_string() + ": cannot set the command timeout";
            return nullptr;
        }
        if (auto e = authenticate(c.get(), options.auth); !e.empty()) {
            last_error = n.addr.to_string() + ": " + e;
            auth_refused = true;
            return nullptr;
        }
        auth_refused = false;
        n.ctx = std::move(c);
        return n.ctx.get();
    }

    void drop(std::size_t i, const char* what) {
        auto& n = nodes[i];
        last_error = n.addr.to_string() + ": " +
                     (n.ctx && n.ctx->err ? std::string(n.ctx->errstr) : std::string(what));
        n.ctx.reset();
    }

    /// One command on node `i`, synchronously. nullopt on a connection error.
    std::optional<Reply> call(std::size_t i, const std::vector<std::string>& args) {
        auto* c = conn(i);
        if (!c) return std::nullopt;
        append(c, args);
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK || !raw) {
            drop(i, "connection lost");
            return std::nullopt;
        }
        Reply r = convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        return r;
    }

    static void append(redisContext* c, const std::vector<std::string>& args) {
        std::vector<const char*> argv;
        std::vector<std::size_t> len;
        argv.reserve(args.size());
        len.reserve(args.size());
        for (const auto& a : args) {
            argv.push_back(a.data());
            len.push_back(a.size());
        }
        redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), len.data());
    }

    /// Reads the map from node `i`. False when it cannot (and last_error says why).
    bool load_map_from(std::size_t i) {
        auto r = call(i, {"CLUSTER", "SLOTS"});
        if (!r) return false;
        if (r->is_error()) {
            if (r->str.find("cluster support disabled") != std::string::npos) {
                // A single Redis: it owns every slot.
                slots.fill(static_cast<std::int32_t>(i));
                primary_order = {i};
                standalone = true;
                return true;
            }
            last_error = nodes[i].addr.to_string() + ": CLUSTER SLOTS: " + r->str;
            return false;
        }
        auto ranges = parse_cluster_slots(*r, nodes[i].addr.host);
        if (!ranges) {
            last_error = nodes[i].addr.to_string() + ": CLUSTER SLOTS reply not understood";
            return false;
        }
        std::array<std::int32_t, slot_count> map{};
        map.fill(-1);
        std::sort(ranges->begin(), ranges->end(),
                  [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
        std::vector<std::size_t> order;
        for (const auto& range : *ranges) {
            const auto p = node_index(range.primary);
            for (std::uint32_t s = range.first; s <= range.last; ++s)
                map[s] = static_cast<std::int32_t>(p);
            if (std::find(order.begin(), order.end(), p) == order.end()) order.push_back(p);
        }
        if (std::any_of(map.begin(), map.end(), [](std::int32_t v) { return v < 0; })) {
            last_error = nodes[i].addr.to_string() + ": the cluster does not cover every slot";
            return false;
        }
        slots = map;
        primary_order = std::move(order);
        standalone = false;
        return true;
    }

    /// Refreshes the map from any reachable node: the known primaries, the other known nodes,
    /// then the seeds.
    bool refresh_once() {
        ++stats.refreshes;
        std::vector<std::size_t> tries = primary_order;
        for (std::size_t i = 0; i < nodes.size(); ++i)
            if (std::find(tries.begin(), tries.end(), i) == tries.end()) tries.push_back(i);
        for (const auto& s : seeds) {
            const auto i = node_index(s);
            if (std::find(tries.begin(), tries.end(), i) == tries.end()) tries.push_back(i);
        }
        for (auto i : tries)
            if (load_map_from(i)) {
                need_refresh = false;
                return true;
            }
        return false;
    }

    /// Replicas of node `i` that are online (INFO replication: "slaveN:...,state=online"), asked
    /// when unknown, and again after `recheck` when none was online. CLUSTER SLOTS is no guide:
    /// it lists a replica only once its replication offset is non-zero.
    int online_replicas(std::size_t i, bool force) {
        auto& n = nodes[i];
        const auto now = std::chrono::steady_clock::now();
        const bool stale = n.online_replicas == 0 && now - n.replicas_checked > recheck;
        if (!force && n.online_replicas >= 0 && !stale) return n.online_replicas;
        auto info = call(i, {"INFO", "replication"});
        if (!info || info->type != Reply::Type::string) return n.online_replicas;
        int online = 0;
        for (std::size_t pos = 0; (pos = info->str.find("state=online", pos)) != std::string::npos;
             ++pos)
            ++online;
        n.online_replicas = online;
        n.replicas_checked = now;
        return online;
    }
    static constexpr std::chrono::milliseconds recheck{1000};

    /// `fail_on_auth`: give up at once when the last node tried refused the AUTH (at start, a
    /// wrong password is a configuration error that waiting does not fix).
    Result<void> refresh_until_deadline(bool fail_on_auth = false) {
        const auto deadline = std::chrono::steady_clock::now() + options.retry_deadline;
        auto backoff = std::chrono::milliseconds(50);
        while (!refresh_once()) {
            if ((fail_on_auth && auth_refused) ||
                std::chrono::steady_clock::now() + backoff > deadline)
                return fail(Errc::unavailable);
            std::this_thread::sleep_for(backoff);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
        }
        return ok();
    }

    Result<std::vector<Reply>> run(std::span<const Command> cmds) {
        ++stats.calls;
        stats.commands += cmds.size();
        std::vector<Reply> replies(cmds.size());
        std::vector<std::size_t> pending(cmds.size());
        for (std::size_t i = 0; i < cmds.size(); ++i)
            pending[i] = i;
        std::vector<std::int32_t> ask_to(cmds.size(), -1);
        const auto deadline = std::chrono::steady_clock::now() + options.retry_deadline;
        auto backoff = std::chrono::milliseconds(25);
        int redirect_rounds = 0;
        while (!pending.empty()) {
            if (need_refresh) (void)refresh_once();
            // Group by node, keeping the command order within a node.
            std::map<std::size_t, std::vector<std::size_t>> by_node;
            for (auto i : pending) {
                const auto n = ask_to[i] >= 0 ? static_cast<std::size_t>(ask_to[i])
                                              : static_cast<std::size_t>(slots[cmds[i].slot]);
                by_node[n].push_back(i);
            }
            std::vector<std::size_t> retry;
            bool transient = false;
            bool redirected = false;
            // Append and flush on every node first, so that the nodes work in parallel.
            struct Sent {
                std::size_t node;
                std::vector<std::size_t>* cmds;
                bool waits;
                bool ok;
            };
            std::vector<Sent> sent;
            for (auto& [n, list] : by_node) {
                const bool writes = std::any_of(list.begin(), list.end(),
                                                [&](std::size_t i) { return cmds[i].write; });
                // Asked before anything is appended (INFO is a synchronous call on the same
                // connection).
                const int online =
                    writes && options.wait_replicas > 0 && conn(n) ? online_replicas(n, false) : -1;
                const bool waits = online > 0;
                if (online == 0 && options.require_replica) {
                    // Strict mode: a primary without a replica online takes no writes (retried
                    // until a replica is back or the deadline passes).
                    last_error = nodes[n].addr.to_string() + ": no replica online";
                    sent.push_back(Sent{n, &list, false, false});
                    continue;
                }
                auto* c = conn(n);
                if (c) {
                    for (auto i : list) {
                        if (ask_to[i] >= 0) append(c, {"ASKING"});
                        append(c, cmds[i].args);
                    }
                    if (waits) {
                        ++stats.waits;
                        append(c, {"WAIT", std::to_string(options.wait_replicas),
                                   std::to_string(options.wait_timeout.count())});
                    }
                    int done = 0;
                    while (!done)
                        if (redisBufferWrite(c, &done) != REDIS_OK) {
                            drop(n, "write failed");
                            c = nullptr;
                            break;
                        }
                }
                sent.push_back(Sent{n, &list, waits, c != nullptr});
            }
            for (auto& s : sent) {
                auto& list = *s.cmds;
                if (!s.ok) {
                    retry.insert(retry.end(), list.begin(), list.end());
                    transient = true;
                    continue;
                }
                auto* c = nodes[s.node].ctx.get();
                std::vector<Reply> got;
                bool lost = false;
                const std::size_t expected = list.size() + (s.waits ? 1 : 0);
                for (auto i : list) {
                    if (ask_to[i] >= 0) {
                        void* raw = nullptr;
                        if (redisGetReply(c, &raw) != REDIS_OK || !raw) {
                            lost = true;
                            break;
                        }
                        freeReplyObject(raw); // +OK of ASKING
                    }
                    void* raw = nullptr;
                    if (redisGetReply(c, &raw) != REDIS_OK || !raw) {
                        lost = true;
                        break;
                    }
                    got.push_back(convert(static_cast<redisReply*>(raw)));
                    freeReplyObject(raw);
                }
                if (!lost && s.waits) {
                    void* raw = nullptr;
                    if (redisGetReply(c, &raw) != REDIS_OK || !raw) {
                        lost = true;
                    } else {
                        got.push_back(convert(static_cast<redisReply*>(raw)));
                        freeReplyObject(raw);
                    }
                }
                if (lost || got.size() != expected) {
                    drop(s.node, "connection lost");
                    retry.insert(retry.end(), list.begin(), list.end());
                    transient = true;
                    continue;
                }
                bool node_retry = false;
                if (s.waits) {
                    const auto& w = got.back();
                    if ((w.type != Reply::Type::integer || w.integer < options.wait_replicas) &&
                        online_replicas(s.node, true) != 0) {
                        // Not acknowledged although a replica is online (or the node cannot
                        // say): everything this node got is sent again (idempotent) and waited
                        // for again, until the deadline. When no replica is online any more
                        // (it failed), the primary alone holds the writes: accepted, and
                        // counted (ClusterStats::unreplicated).
                        last_error = nodes[s.node].addr.to_string() +
                                     ": writes not acknowledged by a replica (WAIT)";
                        need_refresh = true;
                        node_retry = true;
                    } else if (w.type != Reply::Type::integer ||
                               w.integer < options.wait_replicas) {
                        ++stats.unreplicated;
                    }
                }
                for (std::size_t k = 0; k < list.size(); ++k) {
                    const auto i = list[k];
                    auto& r = got[k];
                    ask_to[i] = -1;
                    if (node_retry) {
                        retry.push_back(i);
                        transient = true;
                        continue;
                    }
                    if (!r.is_error()) {
                        replies[i] = std::move(r);
                        continue;
                    }
                    switch (classify_error(r.str)) {
                    case ErrorKind::moved:
                        if (auto red = parse_redirect(r.str, nodes[s.node].addr.host)) {
                            ++stats.moved;
                            slots[red->slot] = static_cast<std::int32_t>(node_index(red->to));
                            need_refresh = true;
                            redirected = true;
                            retry.push_back(i);
                        } else {
                            replies[i] = std::move(r);
                        }
                        break;
                    case ErrorKind::ask:
                        if (auto red = parse_redirect(r.str, nodes[s.node].addr.host)) {
                            ++stats.asked;
                            ask_to[i] = static_cast<std::int32_t>(node_index(red->to));
                            redirected = true;
                            retry.push_back(i);
                        } else {
                            replies[i] = std::move(r);
                        }
                        break;
                    case ErrorKind::transient:
                        last_error = nodes[s.node].addr.to_string() + ": " + r.str;
                        transient = true;
                        need_refresh = true;
                        retry.push_back(i);
                        break;
                    case ErrorKind::other:
                        replies[i] = std::move(r);
                        break;
                    }
                }
            }
            std::sort(retry.begin(), retry.end()); // keep the callers' order
            pending = std::move(retry);
            if (pending.empty()) break;
            if (transient || ++redirect_rounds > 16) {
                ++stats.retries;
                if (std::chrono::steady_clock::now() + backoff > deadline)
                    return fail(Errc::unavailable);
                std::this_thread::sleep_for(backoff);
                backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
                need_refresh = true;
                redirect_rounds = 0;
            } else {
                (void)redirected;
            }
        }
        return replies;
    }
};

ClusterClient::ClusterClient(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
ClusterClient::~ClusterClient() = default;

Result<std::unique_ptr<ClusterClient>>
ClusterClient::connect(std::vector<HostPort> seeds, ClusterOptions options, std::string* why) {
    if (seeds.empty()) return fail(lwm2m::Errc::invalid_argument);
    auto impl = std::make_unique<Impl>();
    impl->seeds = std::move(seeds);
    impl->options = options;
    impl->slots.fill(-1);
    for (const auto& s : impl->seeds)
        impl->node_index(s);
    std::unique_ptr<ClusterClient> c(new ClusterClient(std::move(impl)));
    if (auto r = c->impl_->refresh_until_deadline(true); !r) {
        if (why) *why = c->impl_->last_error;
        return fail(r.error());
    }
    return c;
}

Result<std::vector<Reply>> ClusterClient::run(std::span<const Command> commands) {
    std::lock_guard lock(impl_->mutex);
    return impl_->run(commands);
}

Result<Reply> ClusterClient::run(const Command& c) {
    std::lock_guard lock(impl_->mutex);
    LWM2M_TRY(r, impl_->run(std::span<const Command>(&c, 1)));
    return std::move(r.front());
}

Result<std::vector<Reply>> ClusterClient::run_on_primaries(const std::vector<std::string>& args) {
    std::lock_guard lock(impl_->mutex);
    // One command per primary, routed by a slot that primary owns.
    std::vector<Command> cmds;
    for (auto p : impl_->primary_order) {
        const auto it =
            std::find(impl_->slots.begin(), impl_->slots.end(), static_cast<std::int32_t>(p));
        Command c;
        c.args = args;
        c.slot = static_cast<std::uint16_t>(it - impl_->slots.begin());
        cmds.push_back(std::move(c));
    }
    return impl_->run(cmds);
}

Result<void>
ClusterClient::scan(std::string_view pattern, std::size_t batch,
                    const std::function<Result<void>(std::vector<std::string>&)>& on_keys) {
    ScanState state;
    while (!state.done()) {
        LWM2M_TRY(keys, scan_step(state, pattern, batch));
        if (!keys.empty()) LWM2M_TRY_VOID(on_keys(keys));
    }
    return ok();
}

Result<std::vector<std::string>>
ClusterClient::scan_step(ScanState& state, std::string_view pattern, std::size_t batch) {
    // Every primary is scanned at once (one SCAN per primary per round, in one pipelined call),
    // each through a slot it owns, so a failover during the scan reaches the promoted replica.
    // A SCAN cursor belongs to the node that issued it: when a slot's owner changes between
    // rounds, that scan starts again from 0 on the new owner (keys reported twice are the
    // caller's to deduplicate).
    if (!state.started) {
        std::lock_guard lock(impl_->mutex);
        state.nodes.clear();
        for (auto p : impl_->primary_order) {
            const auto it =
                std::find(impl_->slots.begin(), impl_->slots.end(), static_cast<std::int32_t>(p));
            state.nodes.push_back(ScanState::Node{
                static_cast<std::uint16_t>(it - impl_->slots.begin()), impl_->nodes[p].addr});
        }
        state.started = true;
    }
    std::vector<Command> cmds;
    std::vector<ScanState::Node*> active;
    for (auto& sc : state.nodes) {
        if (sc.done) continue;
        Command c;
        c.args = {"SCAN", sc.cursor, "MATCH", std::string(pattern), "COUNT", std::to_string(batch)};
        c.slot = sc.slot;
        cmds.push_back(std::move(c));
        active.push_back(&sc);
    }
    std::vector<std::string> keys;
    if (cmds.empty()) return keys;
    LWM2M_TRY(replies, run(cmds));
    for (std::size_t i = 0; i < replies.size(); ++i) {
        auto& r = replies[i];
        auto& sc = *active[i];
        if (r.type != Reply::Type::array || r.elements.size() != 2 ||
            r.elements[1].type != Reply::Type::array)
            return fail(Errc::corrupt);
        for (auto& k : r.elements[1].elements)
            keys.push_back(std::move(k.str));
        const auto now_owner = owner(sc.slot);
        if (now_owner != sc.node) {
            sc.node = now_owner;
            sc.cursor = "0";
            continue;
        }
        sc.cursor = r.elements[0].str;
        sc.done = sc.cursor == "0";
    }
    return keys;
}

HostPort ClusterClient::owner(std::uint16_t slot) const {
    std::lock_guard lock(impl_->mutex);
    const auto n = impl_->slots[slot % slot_count];
    return n < 0 ? HostPort{} : impl_->nodes[static_cast<std::size_t>(n)].addr;
}

std::vector<HostPort> ClusterClient::primaries() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<HostPort> out;
    for (auto p : impl_->primary_order)
        out.push_back(impl_->nodes[p].addr);
    return out;
}

bool ClusterClient::standalone() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->standalone;
}

Result<void> ClusterClient::refresh() {
    std::lock_guard lock(impl_->mutex);
    return impl_->refresh_until_deadline();
}

std::string ClusterClient::last_error() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->last_error;
}

ClusterStats ClusterClient::stats() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->stats;
}

void ClusterClient::debug_route_all_slots_to(const HostPort& node) {
    std::lock_guard lock(impl_->mutex);
    impl_->slots.fill(static_cast<std::int32_t>(impl_->node_index(node)));
}

// ------------------------------------------------------------------ Subscriber

struct Subscriber::Impl {
    std::vector<HostPort> nodes;
    std::vector<std::string> channels;
    ClusterOptions options;
    Context ctx;
    HostPort current;
    std::size_t next = 0; ///< the node tried first on the next connection
    std::string last_error;
    std::uint64_t connections = 0;

    void drop(const char* what) {
        last_error = current.to_string() + ": " +
                     (ctx && ctx->err ? std::string(ctx->errstr) : std::string(what));
        ctx.reset();
        current = {};
    }

    /// Connects to the first reachable node (from `next` on) and subscribes. False when none.
    bool open() {
        for (std::size_t k = 0; k < nodes.size(); ++k) {
            const auto& n = nodes[(next + k) % nodes.size()];
            Context c(redisConnectWithTimeout(n.host.c_str(), n.port,
                                              to_timeval(options.connect_timeout)));
            if (!c || c->err) {
                last_error = n.to_string() + ": " + (c ? c->errstr : "cannot allocate");
                continue;
            }
            // Writes (SUBSCRIBE) are bounded by the command timeout; reads wait in poll().
            if (redisSetTimeout(c.get(), to_timeval(options.command_timeout)) != REDIS_OK) {
                last_error = n.to_string() + ": cannot set the command timeout";
                continue;
            }
            if (auto e = authenticate(c.get(), options.auth); !e.empty()) {
                last_error = n.to_string() + ": " + e;
                continue;
            }
            std::vector<std::string> args{"SUBSCRIBE"};
            args.insert(args.end(), channels.begin(), channels.end());
            ClusterClient::Impl::append(c.get(), args);
            int done = 0;
            if (redisBufferWrite(c.get(), &done) != REDIS_OK) {
                last_error = n.to_string() + ": " + c->errstr;
                continue;
            }
            while (done == 0) {
                if (redisBufferWrite(c.get(), &done) != REDIS_OK) break;
            }
            if (done == 0) {
                last_error = n.to_string() + ": " + c->errstr;
                continue;
            }
            ctx = std::move(c);
            current = n;
            next = (next + k) % nodes.size();
            ++connections;
            return true;
        }
        // The next attempt starts with another node.
        if (!nodes.empty()) next = (next + 1) % nodes.size();
        return false;
    }

    /// A reply already buffered, if any. False on a protocol error.
    bool buffered(std::optional<Reply>& out) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(ctx.get(), &raw) != REDIS_OK) return false;
        if (raw != nullptr) {
            out = convert(static_cast<redisReply*>(raw));
            freeReplyObject(raw);
        }
        return true;
    }
};

Subscriber::Subscriber(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
Subscriber::~Subscriber() = default;

Result<std::unique_ptr<Subscriber>> Subscriber::connect(std::vector<HostPort> nodes,
                                                        std::vector<std::string> channels,
                                                        ClusterOptions options, std::string* why) {
    if (nodes.empty() || channels.empty()) {
        if (why) *why = nodes.empty() ? "no Redis node" : "no channel";
        return fail(lwm2m::Errc::invalid_argument);
    }
    auto impl = std::make_unique<Impl>();
    impl->nodes = std::move(nodes);
    impl->channels = std::move(channels);
    impl->options = options;
    if (!impl->open()) {
        if (why) *why = impl->last_error;
        return fail(Errc::unavailable);
    }
    return std::unique_ptr<Subscriber>(new Subscriber(std::move(impl)));
}

Result<std::optional<PubSubMessage>> Subscriber::receive(std::chrono::milliseconds timeout) {
    auto& m = *impl_;
    if (!m.ctx && !m.open()) return fail(Errc::unavailable);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::optional<Reply> r;
        if (!m.buffered(r)) {
            m.drop("protocol error");
            return fail(Errc::unavailable);
        }
        if (!r) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::optional<PubSubMessage>{};
            pollfd p{m.ctx->fd, POLLIN, 0};
            const int n = ::poll(&p, 1, static_cast<int>(left.count()));
            if (n < 0) {
                if (errno == EINTR) continue;
                m.drop("poll failed");
                return fail(Errc::unavailable);
            }
            if (n == 0) return std::optional<PubSubMessage>{};
            if (redisBufferRead(m.ctx.get()) != REDIS_OK) {
                m.drop("connection lost");
                return fail(Errc::unavailable);
            }
            continue;
        }
        // ["message", channel, payload]; ["subscribe", channel, count] confirmations skipped.
        if (r->type == Reply::Type::array && r->elements.size() == 3 &&
            r->elements[0].str == "message") {
            PubSubMessage msg;
            msg.channel = std::move(r->elements[1].str);
            msg.payload = std::move(r->elements[2].str);
            return std::optional<PubSubMessage>(std::move(msg));
        }
        if (r->is_error()) {
            m.drop("error reply");
            return fail(Errc::unavailable);
        }
    }
}

void Subscriber::set_nodes(std::vector<HostPort> nodes) {
    if (nodes.empty()) return;
    impl_->nodes = std::move(nodes);
    impl_->next = 0;
}

HostPort Subscriber::node() const {
    return impl_->current;
}

std::string Subscriber::last_error() const {
    return impl_->last_error;
}

std::uint64_t Subscriber::connections() const {
    return impl_->connections;
}

} // namespace lwm2m::store::redis
