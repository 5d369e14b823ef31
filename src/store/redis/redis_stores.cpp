// Redis implementations of the server-side stores (include/lwm2m/store/redis_stores.hpp,
// docs/store.md "Redis").
#include <lwm2m/store/redis_stores.hpp>

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include <gnutls/crypto.h>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/store/binary_codec.hpp>

namespace lwm2m::store {

namespace {

using codec::Reader;
using codec::Writer;

void put_peer(Writer& w, const PeerAddr& p) {
    w.u8(static_cast<std::uint8_t>(p.family));
    const std::size_t n = p.family == PeerAddr::Family::ipv4   ? 4
                          : p.family == PeerAddr::Family::ipv6 ? 16
                                                               : 0;
    for (std::size_t i = 0; i < n; ++i)
        w.u8(p.addr[i]);
    w.varint(p.port);
    w.varint(p.scope_id);
}

bool get_peer(Reader& r, PeerAddr& p) {
    std::uint8_t fam = 0;
    if (!r.u8(fam)) return false;
    std::size_t n = 0;
    if (fam == static_cast<std::uint8_t>(PeerAddr::Family::ipv4))
        n = 4;
    else if (fam == static_cast<std::uint8_t>(PeerAddr::Family::ipv6))
        n = 16;
    else if (fam != 0)
        return false;
    p.family = static_cast<PeerAddr::Family>(fam);
    for (std::size_t i = 0; i < n; ++i)
        if (!r.u8(p.addr[i])) return false;
    return r.uint(p.port) && r.uint(p.scope_id);
}

bool mode_ok(std::uint8_t m) {
    return m <= static_cast<std::uint8_t>(SecurityMode::nosec);
}

std::string psk_context(std::string_view endpoint) {
    std::string c = "security/";
    c.append(endpoint);
    c.append("/psk_key");
    return c;
}

std::string to_decimal(std::uint64_t v) {
    return std::to_string(v);
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc{} && p == s.data() + s.size();
}

std::string hex_of(std::string_view bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
    return out;
}

std::string sha1_hex(std::string_view s) {
    unsigned char digest[20];
    gnutls_hash_fast(GNUTLS_DIG_SHA1, s.data(), s.size(), digest);
    return hex_of(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string sha256_hex(std::string_view s) {
    unsigned char digest[32];
    gnutls_hash_fast(GNUTLS_DIG_SHA256, s.data(), s.size(), digest);
    return hex_of(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

// One endpoint's changes, in order, atomically on its slot (KEYS[1] = reg, KEYS[2] = obs,
// KEYS[3] = node: the server node that last committed a Register/Update, docs/cluster.md).
// Ops: P <record> <replaces 0|1>, R, O <id> <record>, X <id>, N <node id>. Idempotent when
// re-applied.
constexpr std::string_view commit_script = R"lua(
local i = 1
local n = #ARGV
while i <= n do
  local op = ARGV[i]
  if op == 'P' then
    if ARGV[i + 2] == '1' then redis.call('DEL', KEYS[2]) end
    redis.call('SET', KEYS[1], ARGV[i + 1])
    i = i + 3
  elseif op == 'R' then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
    i = i + 1
  elseif op == 'N' then
    if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('SET', KEYS[3], ARGV[i + 1]) end
    i = i + 2
  elseif op == 'O' then
    if redis.call('EXISTS', KEYS[1]) == 1 then
      redis.call('HSET', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    end
    i = i + 3
  elseif op == 'X' then
    redis.call('HDEL', KEYS[2], ARGV[i + 1])
    i = i + 2
  else
    return redis.error_reply('ERR lwm2m: unknown op')
  end
end
return 1
)lua";

// The event log: KEYS[1] = stream, KEYS[2] = counter; ARGV = max, time, ep, kind, detail.
constexpr std::string_view event_script = R"lua(
local s = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '0-' .. s, 't', ARGV[2], 'e', ARGV[3],
           'k', ARGV[4], 'd', ARGV[5])
return s
)lua";

// Cross-node uniqueness of a credential (docs/cluster.md "Credentials"). KEYS[1] = the
// credential's key. claim: ARGV = endpoint, pending TTL ms. Free -> claimed pending (1); ours
// -> 2 (unchanged); another endpoint's -> {owner, PTTL} (PTTL -1: confirmed).
constexpr std::string_view claim_script = R"lua(
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then return 2 end
return {v, redis.call('PTTL', KEYS[1])}
)lua";

// Takes over a confirmed binding whose owner's record no longer carries the credential.
// ARGV = the stale owner, endpoint, pending TTL ms. 1 done (also when the key already names
// the endpoint: a resent script whose first run took it), 0 the key changed meanwhile.
constexpr std::string_view steal_script = R"lua(
local v = redis.call('GET', KEYS[1])
if v == ARGV[2] then return 1 end
if v == ARGV[1] and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
)lua";

// ARGV = endpoint, op: 'C' confirm, 'D' release (DEL while ours). Confirm: PERSIST while ours;
// a key that is gone (its pending TTL ended, or a failover lost it before a replica had it) is
// taken confirmed, since the endpoint's record, written before, carries the credential. 1 done,
// 0 another endpoint holds the key.
constexpr std::string_view settle_script = R"lua(
local v = redis.call('GET', KEYS[1])
if ARGV[2] == 'C' and not v then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
if v ~= ARGV[1] then return 0 end
if ARGV[2] == 'C' then redis.call('PERSIST', KEYS[1]) else redis.call('DEL', KEYS[1]) end
return 1
)lua";

// Removes a stale registration while it is unchanged: KEYS = reg, obs, node; ARGV[1] = the
// record as read. 1 removed, 0 changed meanwhile (left alone).
constexpr std::string_view sweep_script = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
)lua";

const std::string& sweep_sha() {
    static const std::string sha = sha1_hex(sweep_script);
    return sha;
}

const std::string& claim_sha() {
    static const std::string sha = sha1_hex(claim_script);
    return sha;
}
const std::string& steal_sha() {
    static const std::string sha = sha1_hex(steal_script);
    return sha;
}
const std::string& settle_sha() {
    static const std::string sha = sha1_hex(settle_script);
    return sha;
}

const std::string& commit_sha() {
    static const std::string sha = sha1_hex(commit_script);
    return sha;
}
const std::string& event_sha() {
    static const std::string sha = sha1_hex(event_script);
    return sha;
}

/// Runs EVALSHA commands; the ones answered NOSCRIPT (a promoted replica, a restarted node
/// without the script cache) are sent again as EVAL with the script's text.
Result<std::vector<redis::Reply>>
run_scripts(redis::ClusterClient& c, std::vector<redis::Command>& cmds, std::string_view script) {
    LWM2M_TRY(replies, c.run(cmds));
    std::vector<redis::Command> again;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < replies.size(); ++i)
        if (replies[i].is_error() && replies[i].str.rfind("NOSCRIPT", 0) == 0) {
            auto cmd = cmds[i];
            cmd.args[0] = "EVAL";
            cmd.args[1] = std::string(script);
            again.push_back(std::move(cmd));
            where.push_back(i);
        }
    if (!again.empty()) {
        LWM2M_TRY(more, c.run(again));
        for (std::size_t k = 0; k < where.size(); ++k)
            replies[where[k]] = std::move(more[k]);
    }
    return replies;
}

std::string escape_glob(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

} // namespace

// ------------------------------------------------------------------ codec

namespace redis_codec {

std::string encode(const RegistrationRecord& r) {
    Writer w;
    w.u8(version);
    w.str(r.endpoint);
    w.str(r.location);
    w.str(r.lwm2m_version);
    w.varint(r.lifetime_s);
    w.str(r.binding);
    w.u8(r.queue_mode ? 1 : 0);
    w.str(r.sms_number);
    w.str(r.object_links);
    put_peer(w, r.peer);
    w.varint(r.socket);
    w.u8(static_cast<std::uint8_t>(r.security));
    w.svarint(r.registered_at);
    w.svarint(r.updated_at);
    return w.take();
}

Result<RegistrationRecord> decode_registration(std::string_view data) {
    Reader rd(data);
    RegistrationRecord r;
    std::uint8_t v = 0, q = 0, sec = 0;
    if (!rd.u8(v) || v != version || !rd.str(r.endpoint) || !rd.str(r.location) ||
        !rd.str(r.lwm2m_version) || !rd.uint(r.lifetime_s) || !rd.str(r.binding) || !rd.u8(q) ||
        q > 1 || !rd.str(r.sms_number) || !rd.str(r.object_links) || !get_peer(rd, r.peer) ||
        !rd.uint(r.socket) || !rd.u8(sec) || !mode_ok(sec) || !rd.svarint(r.registered_at) ||
        !rd.svarint(r.updated_at) || !rd.done())
        return fail(Errc::corrupt);
    r.queue_mode = q == 1;
    r.security = static_cast<SecurityMode>(sec);
    return r;
}

std::string encode(const ObservationRecord& o) {
    Writer w;
    w.u8(version);
    w.str(o.endpoint);
    w.varint(o.id);
    w.bytes(o.token);
    w.u8(o.composite ? 1 : 0);
    w.varint(o.paths.size());
    for (const auto& p : o.paths)
        w.str(p);
    w.u8(o.accept ? 1 : 0);
    if (o.accept) w.varint(*o.accept);
    w.svarint(o.created_at);
    return w.take();
}

Result<ObservationRecord> decode_observation(std::string_view data) {
    Reader rd(data);
    ObservationRecord o;
    std::uint8_t v = 0, comp = 0, has_accept = 0;
    std::uint64_t n = 0;
    if (!rd.u8(v) || v != version || !rd.str(o.endpoint) || !rd.varint(o.id) ||
        !rd.bytes(o.token) || !rd.u8(comp) || comp > 1 || !rd.varint(n) || n > data.size())
        return fail(Errc::corrupt);
    o.composite = comp == 1;
    o.paths.resize(n);
    for (auto& p : o.paths)
        if (!rd.str(p)) return fail(Errc::corrupt);
    if (!rd.u8(has_accept) || has_accept > 1) return fail(Errc::corrupt);
    if (has_accept) {
        std::uint16_t a = 0;
        if (!rd.uint(a)) return fail(Errc::corrupt);
        o.accept = a;
    }
    if (!rd.svarint(o.created_at) || !rd.done()) return fail(Errc::corrupt);
    return o;
}

} // namespace redis_codec

// ------------------------------------------------------------------ keys

namespace {
std::string tagged(const std::string& prefix, std::string_view ep, std::string_view kind) {
    std::string k;
    k.reserve(prefix.size() + ep.size() + kind.size() + 4);
    k.append(prefix).append(":{").append(ep).append("}:").append(kind);
    return k;
}
} // namespace

std::string RedisKeys::reg(std::string_view ep) const {
    return tagged(prefix, ep, "reg");
}
std::string RedisKeys::obs(std::string_view ep) const {
    return tagged(prefix, ep, "obs");
}
std::string RedisKeys::sec(std::string_view ep) const {
    return tagged(prefix, ep, "sec");
}
std::string RedisKeys::bscfg(std::string_view ep) const {
    return tagged(prefix, ep, "bscfg");
}
std::string RedisKeys::node(std::string_view ep) const {
    return tagged(prefix, ep, "node");
}
std::string RedisKeys::node_alive(std::string_view id) const {
    return prefix + ":node:" + std::string(id);
}
std::string RedisKeys::nodes() const {
    return prefix + ":nodes";
}
std::string RedisKeys::node_channel(std::string_view id) const {
    return prefix + ":bus:node:" + std::string(id);
}
std::string RedisKeys::event_channel() const {
    return prefix + ":bus:events";
}
std::string RedisKeys::change_channel() const {
    return prefix + ":bus:changes";
}
std::optional<std::string> RedisKeys::credential(const SecurityInfo& info) const {
    switch (info.mode) {
    case SecurityMode::psk:
        return prefix + ":cred:psk:" + hex_of(as_string_view(info.psk_identity));
    case SecurityMode::rpk:
        return prefix + ":cred:rpk:" + sha256_hex(as_string_view(info.rpk_public_key));
    case SecurityMode::x509:
        return prefix + ":cred:x509:" + hex_of(x509_cn_of(info));
    case SecurityMode::nosec:
        break;
    }
    return std::nullopt;
}
std::string RedisKeys::loc(std::string_view location) const {
    std::string k;
    k.reserve(prefix.size() + location.size() + 7);
    k.append(prefix).append(":loc:{").append(location).append("}");
    return k;
}
std::string RedisKeys::events() const {
    return "{" + prefix + ":events}:log";
}
std::string RedisKeys::event_seq() const {
    return "{" + prefix + ":events}:seq";
}
std::string RedisKeys::dtls_session(std::string_view peer) const {
    return prefix + ":{dtls:" + std::string(peer) + "}:s";
}
std::string RedisKeys::dtls_high_water(std::string_view peer) const {
    return prefix + ":{dtls:" + std::string(peer) + "}:hw";
}
std::string RedisKeys::dtls_seq(std::string_view peer) const {
    return prefix + ":{dtls:" + std::string(peer) + "}:seq";
}
std::string RedisKeys::pattern(std::string_view kind) const {
    return escape_glob(prefix) + ":{*}:" + std::string(kind);
}
std::optional<std::string> RedisKeys::endpoint_of(std::string_view key) const {
    const std::string head = prefix + ":{";
    if (key.substr(0, head.size()) != head) return std::nullopt;
    key.remove_prefix(head.size());
    const auto close = key.rfind("}:");
    if (close == std::string_view::npos) return std::nullopt;
    return std::string(key.substr(0, close));
}

// ------------------------------------------------------------------ registrations

Result<void> RedisRegistrationStore::commit(std::span<const Change> batch) {
    if (batch.empty()) return ok();
    // Group by endpoint, keeping each endpoint's changes in order.
    std::vector<redis::Command> cmds;
    std::vector<redis::Command> extra; ///< location index keys, after the scripts
    detail::StringMap<std::size_t> index;
    auto cmd_of = [&](const std::string& ep) -> redis::Command& {
        auto it = index.find(ep);
        if (it != index.end()) return cmds[it->second];
        index.emplace(ep, cmds.size());
        const auto reg = keys_.reg(ep);
        auto c = redis::command({"EVALSHA", commit_sha(), "3", reg, keys_.obs(ep), keys_.node(ep)},
                                reg, true);
        cmds.push_back(std::move(c));
        return cmds.back();
    };
    for (const Change& ch : batch) {
        std::visit(
            [&](const auto& op) {
                using T = std::decay_t<decltype(op)>;
                if constexpr (std::is_same_v<T, RegistrationPut>) {
                    auto& a = cmd_of(op.record.endpoint).args;
                    a.emplace_back("P");
                    a.push_back(redis_codec::encode(op.record));
                    a.emplace_back(op.replaces ? "1" : "0");
                    if (!node_id_.empty()) {
                        a.emplace_back("N");
                        a.push_back(node_id_);
                    }
                    if (!op.record.location.empty()) {
                        // The location index (docs/cluster-nodes.md): expires an hour after the
                        // registration would; rewritten with every Update.
                        const auto lk = keys_.loc(op.record.location);
                        const std::uint64_t ttl =
                            std::min<std::uint64_t>(op.record.lifetime_s, 1'000'000'000) + 3600;
                        extra.push_back(redis::command(
                            {"SET", lk, op.record.endpoint, "EX", to_decimal(ttl)}, lk, true));
                    }
                } else if constexpr (std::is_same_v<T, RegistrationRemove>) {
                    cmd_of(op.endpoint).args.emplace_back("R");
                } else if constexpr (std::is_same_v<T, ObservationPut>) {
                    auto& a = cmd_of(op.record.endpoint).args;
                    a.emplace_back("O");
                    a.push_back(to_decimal(op.record.id));
                    a.push_back(redis_codec::encode(op.record));
                } else {
                    auto& a = cmd_of(op.endpoint).args;
                    a.emplace_back("X");
                    a.push_back(to_decimal(op.id));
                }
            },
            ch.op);
    }
    const std::size_t scripts = cmds.size();
    for (auto& c : extra)
        cmds.push_back(std::move(c));
    LWM2M_TRY(replies, run_scripts(*client_, cmds, commit_script));
    for (std::size_t i = 0; i < replies.size(); ++i)
        if (replies[i].is_error()) {
            if (i >= scripts) continue; // a location index hint: find_by_location checks it
            return fail(Errc::io_error);
        }
    return ok();
}

Result<std::optional<std::string>> RedisRegistrationStore::owner(std::string_view endpoint) const {
    const auto k = keys_.node(endpoint);
    LWM2M_TRY(r, client_->run(redis::command({"GET", k}, k)));
    if (r.is_nil()) return std::optional<std::string>{};
    if (r.type != redis::Reply::Type::string) return fail(Errc::io_error);
    return std::optional<std::string>(std::move(r.str));
}

Result<void>
RedisRegistrationStore::load(const std::function<void(RegistrationRecord&&)>& on_registration,
                             const std::function<void(ObservationRecord&&)>& on_observation) const {
    std::unordered_set<std::string> seen;
    std::vector<ObservationRecord> observations;
    LWM2M_TRY_VOID(client_->scan(
        keys_.pattern("reg"), 512, [&](std::vector<std::string>& found) -> Result<void> {
            std::vector<std::string> eps;
            std::vector<redis::Command> cmds;
            for (auto& k : found) {
                auto ep = keys_.endpoint_of(k);
                if (!ep || !seen.insert(*ep).second) continue;
                cmds.push_back(redis::command({"GET", k}, k));
                const auto ok = keys_.obs(*ep);
                cmds.push_back(redis::command({"HGETALL", ok}, ok));
                eps.push_back(std::move(*ep));
            }
            if (cmds.empty()) return ok();
            LWM2M_TRY(replies, client_->run(cmds));
            for (std::size_t i = 0; i < eps.size(); ++i) {
                const auto& reg = replies[2 * i];
                const auto& obs = replies[2 * i + 1];
                if (reg.is_nil()) continue; // removed since the SCAN
                if (reg.type != redis::Reply::Type::string || obs.type != redis::Reply::Type::array)
                    return fail(Errc::corrupt);
                LWM2M_TRY(rec, redis_codec::decode_registration(reg.str));
                if (rec.endpoint != eps[i]) return fail(Errc::corrupt);
                on_registration(std::move(rec));
                for (std::size_t k = 1; k < obs.elements.size(); k += 2) {
                    LWM2M_TRY(o, redis_codec::decode_observation(obs.elements[k].str));
                    if (o.endpoint != eps[i]) return fail(Errc::corrupt);
                    observations.push_back(std::move(o));
                }
            }
            return ok();
        }));
    for (auto& o : observations)
        on_observation(std::move(o));
    return ok();
}

Result<std::optional<RegistrationRecord>>
RedisRegistrationStore::find(std::string_view endpoint) const {
    const auto k = keys_.reg(endpoint);
    LWM2M_TRY(r, client_->run(redis::command({"GET", k}, k)));
    if (r.is_nil()) return std::optional<RegistrationRecord>();
    if (r.type != redis::Reply::Type::string) return fail(Errc::io_error);
    LWM2M_TRY(rec, redis_codec::decode_registration(r.str));
    return std::optional<RegistrationRecord>(std::move(rec));
}

Result<std::vector<std::optional<RegistrationRecord>>>
RedisRegistrationStore::find_many(std::span<const std::string> endpoints) const {
    std::vector<redis::Command> cmds;
    cmds.reserve(endpoints.size());
    for (const auto& ep : endpoints) {
        const auto k = keys_.reg(ep);
        cmds.push_back(redis::command({"GET", k}, k));
    }
    std::vector<std::optional<RegistrationRecord>> out(endpoints.size());
    if (cmds.empty()) return out;
    LWM2M_TRY(replies, client_->run(cmds));
    for (std::size_t i = 0; i < replies.size(); ++i) {
        if (replies[i].is_nil()) continue;
        if (replies[i].type != redis::Reply::Type::string) return fail(Errc::io_error);
        LWM2M_TRY(rec, redis_codec::decode_registration(replies[i].str));
        if (rec.endpoint != endpoints[i]) return fail(Errc::corrupt);
        out[i] = std::move(rec);
    }
    return out;
}

Result<std::vector<std::optional<RegistrationRecord>>>
RedisRegistrationStore::find_many_by_location(std::span<const std::string> locations) const {
    std::vector<redis::Command> cmds;
    cmds.reserve(locations.size());
    for (const auto& loc : locations) {
        const auto k = keys_.loc(loc);
        cmds.push_back(redis::command({"GET", k}, k));
    }
    std::vector<std::optional<RegistrationRecord>> out(locations.size());
    if (cmds.empty()) return out;
    LWM2M_TRY(names, client_->run(cmds));
    std::vector<std::string> eps;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i].is_nil()) continue;
        if (names[i].type != redis::Reply::Type::string) return fail(Errc::io_error);
        eps.push_back(std::move(names[i].str));
        where.push_back(i);
    }
    LWM2M_TRY(recs, find_many(eps));
    for (std::size_t k = 0; k < where.size(); ++k)
        if (recs[k] && recs[k]->location == locations[where[k]]) // not registered again since
            out[where[k]] = std::move(recs[k]);
    return out;
}

Result<std::optional<RegistrationRecord>>
RedisRegistrationStore::find_by_location(std::string_view location) const {
    const auto k = keys_.loc(location);
    LWM2M_TRY(r, client_->run(redis::command({"GET", k}, k)));
    if (r.is_nil()) return std::optional<RegistrationRecord>();
    if (r.type != redis::Reply::Type::string) return fail(Errc::io_error);
    LWM2M_TRY(rec, find(r.str));
    if (rec && rec->location != location) rec.reset(); // registered again since
    return rec;
}

Result<std::size_t> RedisRegistrationStore::size() const {
    std::unordered_set<std::string> seen;
    LWM2M_TRY_VOID(client_->scan(keys_.pattern("reg"), 1000,
                                 [&](std::vector<std::string>& found) -> Result<void> {
                                     for (auto& k : found)
                                         seen.insert(std::move(k));
                                     return ok();
                                 }));
    return seen.size();
}

Result<std::vector<ObservationRecord>>
RedisRegistrationStore::observations(std::string_view endpoint) const {
    const auto k = keys_.obs(endpoint);
    LWM2M_TRY(r, client_->run(redis::command({"HGETALL", k}, k)));
    if (r.type != redis::Reply::Type::array) return fail(Errc::io_error);
    std::vector<ObservationRecord> out;
    for (std::size_t i = 1; i < r.elements.size(); i += 2) {
        LWM2M_TRY(o, redis_codec::decode_observation(r.elements[i].str));
        out.push_back(std::move(o));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

Result<std::vector<std::vector<ObservationRecord>>>
RedisRegistrationStore::observations_many(std::span<const std::string> endpoints) const {
    std::vector<std::vector<ObservationRecord>> out(endpoints.size());
    if (endpoints.empty()) return out;
    std::vector<redis::Command> cmds;
    cmds.reserve(endpoints.size());
    for (const auto& ep : endpoints) {
        const auto k = keys_.obs(ep);
        cmds.push_back(redis::command({"HGETALL", k}, k));
    }
    LWM2M_TRY(replies, client_->run(cmds));
    for (std::size_t e = 0; e < replies.size(); ++e) {
        const auto& r = replies[e];
        if (r.type != redis::Reply::Type::array) return fail(Errc::io_error);
        for (std::size_t i = 1; i < r.elements.size(); i += 2) {
            LWM2M_TRY(o, redis_codec::decode_observation(r.elements[i].str));
            out[e].push_back(std::move(o));
        }
        std::sort(out[e].begin(), out[e].end(),
                  [](const auto& a, const auto& b) { return a.id < b.id; });
    }
    return out;
}

// ------------------------------------------------------------------ security

namespace {

Result<std::string> encode_security(const SecurityInfo& info, const SecretBox& box) {
    Writer w;
    w.u8(redis_codec::version);
    w.str(info.endpoint);
    w.u8(static_cast<std::uint8_t>(info.mode));
    w.bytes(info.psk_identity);
    if (info.mode == SecurityMode::psk) {
        LWM2M_TRY(sealed, box.seal(info.psk_key.view(), psk_context(info.endpoint)));
        w.bytes(sealed);
    } else {
        w.str("");
    }
    w.bytes(info.rpk_public_key);
    w.str(info.x509_common_name);
    return w.take();
}

Result<SecurityInfo> decode_security(std::string_view data, const SecretBox& box) {
    Reader rd(data);
    SecurityInfo info;
    std::uint8_t v = 0, mode = 0;
    Bytes sealed;
    if (!rd.u8(v) || v != redis_codec::version || !rd.str(info.endpoint) || !rd.u8(mode) ||
        !mode_ok(mode) || !rd.bytes(info.psk_identity) || !rd.bytes(sealed) ||
        !rd.bytes(info.rpk_public_key) || !rd.str(info.x509_common_name) || !rd.done())
        return fail(Errc::corrupt);
    info.mode = static_cast<SecurityMode>(mode);
    if (info.mode == SecurityMode::psk) {
        LWM2M_TRY(key, box.open(sealed, psk_context(info.endpoint)));
        info.psk_key = std::move(key);
    }
    return info;
}

} // namespace

namespace {

/// Every record of the store (SCAN + pipelined GETs), each checked against its key.
Result<void> scan_security(redis::ClusterClient& client, const SecretBox& box,
                           const RedisKeys& keys,
                           const std::function<void(SecurityInfo&&)>& on_record) {
    std::unordered_set<std::string> seen;
    return client.scan(keys.pattern("sec"), 512,
                       [&](std::vector<std::string>& found) -> Result<void> {
                           std::vector<redis::Command> cmds;
                           for (auto& k : found)
                               if (seen.insert(k).second)
                                   cmds.push_back(redis::command({"GET", k}, k));
                           if (cmds.empty()) return ok();
                           LWM2M_TRY(replies, client.run(cmds));
                           for (std::size_t i = 0; i < replies.size(); ++i) {
                               if (replies[i].is_nil()) continue;
                               if (replies[i].type != redis::Reply::Type::string)
                                   return fail(Errc::corrupt);
                               LWM2M_TRY(info, decode_security(replies[i].str, box));
                               if (keys.endpoint_of(cmds[i].args[1]) != info.endpoint)
                                   return fail(Errc::corrupt);
                               on_record(std::move(info));
                           }
                           return ok();
                       });
}

/// One script call (EVALSHA, NOSCRIPT -> EVAL), a write.
Result<redis::Reply> run_script(redis::ClusterClient& c, std::string_view script,
                                const std::string& sha, const std::string& key,
                                std::vector<std::string> argv) {
    std::vector<std::string> args{"EVALSHA", sha, "1", key};
    for (auto& a : argv)
        args.push_back(std::move(a));
    std::vector<redis::Command> cmds{redis::command(std::move(args), key, true)};
    LWM2M_TRY(replies, run_scripts(c, cmds, script));
    return std::move(replies.front());
}

} // namespace

std::string encode_change(ChangeKind kind, std::string_view endpoint) {
    std::string p(1, static_cast<char>(kind));
    p.append(endpoint);
    return p;
}

std::optional<ChangeNotice> decode_change(std::string_view payload) {
    if (payload.empty()) return std::nullopt;
    const char k = payload.front();
    if (k != static_cast<char>(ChangeKind::security) &&
        k != static_cast<char>(ChangeKind::bootstrap_config))
        return std::nullopt;
    return ChangeNotice{static_cast<ChangeKind>(k), std::string(payload.substr(1))};
}

Result<void> publish_change(redis::ClusterClient& client, const RedisKeys& keys, ChangeKind kind,
                            std::string_view endpoint) {
    const auto ch = keys.change_channel();
    LWM2M_TRY(r, client.run(redis::command({"PUBLISH", ch, encode_change(kind, endpoint)}, ch)));
    if (r.type != redis::Reply::Type::integer) return fail(Errc::io_error);
    return ok();
}

Result<std::unique_ptr<RedisSecurityStore>>
RedisSecurityStore::open(redis::ClusterClient& client, const SecretBox& box, RedisKeys keys) {
    std::unique_ptr<RedisSecurityStore> s(new RedisSecurityStore(client, box, std::move(keys)));
    std::vector<redis::Command> index;
    Result<void> bad = ok();
    LWM2M_TRY_VOID(scan_security(client, box, s->keys_, [&](SecurityInfo&& info) {
        if (auto k = s->keys_.credential(info))
            index.push_back(redis::command({"SET", *k, info.endpoint, "NX"}, *k, true));
        if (bad && !s->cache_.put(std::move(info))) bad = fail(Errc::corrupt);
    }));
    LWM2M_TRY_VOID(bad);
    // The uniqueness keys of records stored before they existed (or whose key a crash lost).
    for (std::size_t i = 0; i < index.size(); i += 512) {
        const auto n = std::min<std::size_t>(512, index.size() - i);
        LWM2M_TRY_VOID(client.run(std::span<const redis::Command>(index.data() + i, n)));
    }
    return s;
}

Result<int> RedisSecurityStore::claim(const std::string& key, const std::string& endpoint) {
    const auto ttl = std::to_string(claim_ttl.count());
    LWM2M_TRY(r, run_script(*client_, claim_script, claim_sha(), key, {endpoint, ttl}));
    if (r.type == redis::Reply::Type::integer && (r.integer == 1 || r.integer == 2))
        return static_cast<int>(r.integer);
    if (r.type != redis::Reply::Type::array || r.elements.size() != 2 ||
        r.elements[0].type != redis::Reply::Type::string ||
        r.elements[1].type != redis::Reply::Type::integer)
        return fail(Errc::io_error);
    const std::string owner = r.elements[0].str;
    // Pending at another node (a put in flight there, or a node that died in one): taken.
    if (r.elements[1].integer != -1) return fail(Errc::conflict);
    // Confirmed: still taken unless the owner's record no longer carries this credential (a
    // node died between changing that record and releasing the key).
    LWM2M_TRY(held, fetch(owner));
    if (held && keys_.credential(*held) == key) return fail(Errc::conflict);
    LWM2M_TRY(t, run_script(*client_, steal_script, steal_sha(), key, {owner, endpoint, ttl}));
    if (t.type != redis::Reply::Type::integer) return fail(Errc::io_error);
    if (t.integer != 1) return fail(Errc::conflict);
    return 1;
}

void RedisSecurityStore::announce(std::string_view endpoint) {
    if (!publish_change(*client_, keys_, ChangeKind::security, endpoint)) ++publish_failures_;
}

Result<void> RedisSecurityStore::put(SecurityInfo info, std::string* why) {
    auto r = put_checked(std::move(info), why);
    // The cluster client's error names the node (host:port), never a command's arguments.
    if (!r && why && why->empty() && r.error() == make_error_code(Errc::unavailable))
        *why = client_->last_error();
    return r;
}

Result<void> RedisSecurityStore::put_checked(SecurityInfo info, std::string* why) {
    LWM2M_TRY_VOID(validate(info, why));
    const SecurityInfo* holder = nullptr;
    const char* reason = nullptr;
    switch (info.mode) {
    case SecurityMode::psk:
        holder = cache_.find_by_psk_identity(info.psk_identity);
        reason = "the PSK identity is bound to another endpoint";
        break;
    case SecurityMode::rpk:
        holder = cache_.find_by_rpk(info.rpk_public_key);
        reason = "the raw public key is bound to another endpoint";
        break;
    case SecurityMode::x509:
        holder = cache_.find_by_x509_cn(x509_cn_of(info));
        reason = "the certificate name is bound to another endpoint";
        break;
    case SecurityMode::nosec:
        break;
    }
    // Across nodes: the credential's key is claimed first (pending), so two nodes binding one
    // credential to two endpoints at the same time cannot both win. The key decides, not this
    // node's index: another endpoint holding the credential here may have given it up at
    // another node a moment ago (its notice not applied yet).
    std::string stale_holder;
    if (holder && holder->endpoint != info.endpoint) stale_holder = holder->endpoint;
    const auto key = keys_.credential(info);
    std::optional<std::string> old_key;
    if (const auto* old = cache_.find(info.endpoint)) old_key = keys_.credential(*old);
    int claimed = 0;
    if (key) {
        auto c = claim(*key, info.endpoint);
        if (!c) {
            if (c.error() == make_error_code(Errc::conflict) && why) *why = reason;
            return fail(c.error());
        }
        claimed = *c;
    }
    LWM2M_TRY(blob, encode_security(info, *box_));
    const auto k = keys_.sec(info.endpoint);
    auto r = client_->run(redis::command({"SET", k, std::move(blob)}, k, true));
    if (!r || r->is_error()) {
        // Best effort: a claim of ours that the record never used goes (else its TTL ends it).
        if (claimed == 1)
            (void)run_script(*client_, settle_script, settle_sha(), *key, {info.endpoint, "D"});
        if (!r) return fail(r.error());
        return fail(Errc::io_error);
    }
    // The record is durable: confirm the claim (also one of ours left pending by an earlier
    // attempt whose confirmation failed: claim() answered 2), release the credential the
    // endpoint had before. An unconfirmed claim would expire and let another endpoint take the
    // credential: the put fails instead, and its retry confirms. A failed release leaves a
    // stale key (taken over by the next claim, which finds the record without that credential).
    if (claimed != 0) {
        if (before_confirm_) before_confirm_();
        auto c = run_script(*client_, settle_script, settle_sha(), *key, {info.endpoint, "C"});
        if (!c) return fail(c.error());
        if (c->type != redis::Reply::Type::integer) return fail(Errc::io_error);
        if (c->integer != 1) {
            // The claim was lost and another endpoint took the credential meanwhile: the record
            // written above goes back to what this node knew (Redis held that before, unless
            // this node's index was stale), and the put is refused like any other conflict.
            const auto* previous = cache_.find(info.endpoint);
            Result<redis::Reply> undo = redis::Reply{};
            if (previous) {
                LWM2M_TRY(old_blob, encode_security(*previous, *box_));
                undo = client_->run(redis::command({"SET", k, std::move(old_blob)}, k, true));
            } else {
                undo = client_->run(redis::command({"DEL", k}, k, true));
            }
            if (!undo) return fail(undo.error());
            if (undo->is_error()) return fail(Errc::io_error);
            if (why) *why = reason;
            return fail(Errc::conflict);
        }
    }
    if (old_key && old_key != key)
        (void)run_script(*client_, settle_script, settle_sha(), *old_key, {info.endpoint, "D"});
    const std::string endpoint = info.endpoint;
    if (!stale_holder.empty()) (void)cache_.remove(stale_holder);
    LWM2M_TRY_VOID(cache_.put(std::move(info)));
    announce(endpoint);
    return ok();
}

Result<bool> RedisSecurityStore::remove(std::string_view endpoint) {
    const auto* old = cache_.find(endpoint);
    if (!old) return false;
    const auto old_key = keys_.credential(*old);
    const auto k = keys_.sec(endpoint);
    LWM2M_TRY(r, client_->run(redis::command({"DEL", k}, k, true)));
    if (r.is_error()) return fail(Errc::io_error);
    if (old_key)
        (void)run_script(*client_, settle_script, settle_sha(), *old_key,
                         {std::string(endpoint), "D"});
    LWM2M_TRY(removed, cache_.remove(endpoint));
    announce(endpoint);
    return removed;
}

Result<std::optional<SecurityInfo>> RedisSecurityStore::fetch(std::string_view endpoint) const {
    const auto k = keys_.sec(endpoint);
    LWM2M_TRY(r, client_->run(redis::command({"GET", k}, k)));
    if (r.is_nil()) return std::optional<SecurityInfo>();
    if (r.type != redis::Reply::Type::string) return fail(Errc::io_error);
    LWM2M_TRY(info, decode_security(r.str, *box_));
    if (info.endpoint != endpoint) return fail(Errc::corrupt);
    return std::optional<SecurityInfo>(std::move(info));
}

Result<std::vector<SecurityInfo>> RedisSecurityStore::fetch_all() const {
    std::vector<SecurityInfo> out;
    LWM2M_TRY_VOID(scan_security(*client_, *box_, keys_,
                                 [&](SecurityInfo&& info) { out.push_back(std::move(info)); }));
    return out;
}

bool RedisSecurityStore::apply(std::string_view endpoint, std::optional<SecurityInfo> info) {
    const auto* cur = cache_.find(endpoint);
    if (!info) return cur && cache_.remove(endpoint).value_or(false);
    if (info->endpoint != endpoint) return false;
    if (cur && *cur == *info) return false;
    // Redis is the authority: another endpoint holding this credential here is stale.
    const SecurityInfo* holder = nullptr;
    switch (info->mode) {
    case SecurityMode::psk:
        holder = cache_.find_by_psk_identity(info->psk_identity);
        break;
    case SecurityMode::rpk:
        holder = cache_.find_by_rpk(info->rpk_public_key);
        break;
    case SecurityMode::x509:
        holder = cache_.find_by_x509_cn(x509_cn_of(*info));
        break;
    case SecurityMode::nosec:
        break;
    }
    if (holder && holder->endpoint != endpoint) (void)cache_.remove(std::string(holder->endpoint));
    return cache_.put(std::move(*info)).has_value();
}

std::size_t RedisSecurityStore::apply_all(std::vector<SecurityInfo> infos) {
    std::unordered_set<std::string> present;
    for (const auto& i : infos)
        present.insert(i.endpoint);
    std::vector<std::string> gone;
    cache_.for_each([&](const SecurityInfo& i) {
        if (!present.contains(i.endpoint)) gone.push_back(i.endpoint);
    });
    std::size_t changed = 0;
    for (const auto& ep : gone)
        changed += cache_.remove(ep).value_or(false) ? 1 : 0;
    for (auto& i : infos) {
        const std::string ep = i.endpoint;
        changed += apply(ep, std::move(i)) ? 1 : 0;
    }
    return changed;
}

// ------------------------------------------------------------------ events

Result<std::uint64_t> RedisEventLog::append(EventRecord event) {
    const auto stream = keys_.events();
    std::vector<redis::Command> cmds{
        redis::command({"EVALSHA", event_sha(), "2", stream, keys_.event_seq(),
                        std::to_string(max_rows_), std::to_string(event.time),
                        std::move(event.endpoint), std::move(event.kind), std::move(event.detail)},
                       stream, true)};
    LWM2M_TRY(replies, run_scripts(*client_, cmds, event_script));
    const auto& r = replies.front();
    if (r.type != redis::Reply::Type::integer || r.integer <= 0) return fail(Errc::io_error);
    return static_cast<std::uint64_t>(r.integer);
}

Result<std::vector<EventRecord>> RedisEventLog::read(const EventQuery& query) const {
    std::vector<EventRecord> out;
    if (query.limit == 0) return out;
    const auto stream = keys_.events();
    const auto seq_key = keys_.event_seq();
    LWM2M_TRY(cur_r, client_->run(redis::command({"GET", seq_key}, seq_key)));
    std::uint64_t cur = 0;
    if (!cur_r.is_nil() && !parse_u64(cur_r.str, cur)) return fail(Errc::corrupt);
    std::uint64_t lower = cur > max_rows_ ? cur - max_rows_ : 0;
    lower = std::max<std::uint64_t>(lower, query.after_seq);
    constexpr std::size_t page = 256;
    while (out.size() < query.limit && lower < cur) {
        LWM2M_TRY(r, client_->run(redis::command({"XRANGE", stream, "(0-" + to_decimal(lower), "+",
                                                  "COUNT", std::to_string(page)},
                                                 stream)));
        if (r.type != redis::Reply::Type::array) return fail(Errc::io_error);
        for (const auto& entry : r.elements) {
            if (entry.type != redis::Reply::Type::array || entry.elements.size() != 2)
                return fail(Errc::corrupt);
            const auto& id = entry.elements[0].str;
            std::uint64_t seq = 0;
            if (id.rfind("0-", 0) != 0 || !parse_u64(std::string_view(id).substr(2), seq))
                return fail(Errc::corrupt);
            lower = seq;
            EventRecord e;
            e.seq = seq;
            const auto& f = entry.elements[1].elements;
            for (std::size_t k = 0; k + 1 < f.size(); k += 2) {
                const auto& name = f[k].str;
                if (name == "t") {
                    std::uint64_t t = 0;
                    const bool neg = !f[k + 1].str.empty() && f[k + 1].str[0] == '-';
                    if (!parse_u64(std::string_view(f[k + 1].str).substr(neg ? 1 : 0), t))
                        return fail(Errc::corrupt);
                    e.time = neg ? -static_cast<std::int64_t>(t) : static_cast<std::int64_t>(t);
                } else if (name == "e") {
                    e.endpoint = f[k + 1].str;
                } else if (name == "k") {
                    e.kind = f[k + 1].str;
                } else if (name == "d") {
                    e.detail = f[k + 1].str;
                }
            }
            if (query.endpoint && e.endpoint != *query.endpoint) continue;
            out.push_back(std::move(e));
            if (out.size() == query.limit) break;
        }
        if (r.elements.size() < page) break;
    }
    return out;
}

// ------------------------------------------------------------------ nodes

Result<void> RedisNodeRegistry::heartbeat(std::string_view id, std::uint64_t registrations,
                                          std::int64_t now_ms) {
    const auto k = keys_.node_alive(id);
    const auto h = keys_.nodes();
    std::vector<redis::Command> cmds;
    cmds.push_back(redis::command({"SET", k, to_decimal(registrations), "PX",
                                   to_decimal(static_cast<std::uint64_t>(ttl_.count()))},
                                  k));
    cmds.push_back(redis::command(
        {"HSET", h, std::string(id), to_decimal(static_cast<std::uint64_t>(now_ms))}, h));
    LWM2M_TRY(replies, client_->run(cmds));
    for (const auto& r : replies)
        if (r.is_error()) return fail(Errc::io_error);
    return ok();
}

Result<bool> RedisNodeRegistry::alive(std::string_view id) {
    const auto k = keys_.node_alive(id);
    LWM2M_TRY(r, client_->run(redis::command({"EXISTS", k}, k)));
    if (r.type != redis::Reply::Type::integer) return fail(Errc::io_error);
    return r.integer == 1;
}

Result<void> RedisNodeRegistry::leave(std::string_view id) {
    const auto k = keys_.node_alive(id);
    LWM2M_TRY(r, client_->run(redis::command({"DEL", k}, k)));
    if (r.is_error()) return fail(Errc::io_error);
    return ok();
}

Result<std::vector<NodeStatus>> RedisNodeRegistry::list(std::int64_t now_ms) {
    const auto h = keys_.nodes();
    LWM2M_TRY(all, client_->run(redis::command({"HGETALL", h}, h)));
    if (all.type != redis::Reply::Type::array || all.elements.size() % 2 != 0)
        return fail(Errc::io_error);
    std::vector<NodeStatus> out;
    std::vector<redis::Command> gets;
    for (std::size_t i = 0; i < all.elements.size(); i += 2) {
        NodeStatus n;
        n.id = all.elements[i].str;
        const auto& t = all.elements[i + 1].str;
        if (std::from_chars(t.data(), t.data() + t.size(), n.last_seen).ec != std::errc{})
            n.last_seen = 0;
        const auto k = keys_.node_alive(n.id);
        gets.push_back(redis::command({"GET", k}, k));
        out.push_back(std::move(n));
    }
    if (!gets.empty()) {
        LWM2M_TRY(replies, client_->run(gets));
        for (std::size_t i = 0; i < out.size(); ++i) {
            const auto& r = replies[i];
            if (r.type != redis::Reply::Type::string) continue;
            out[i].alive = true;
            if (std::from_chars(r.str.data(), r.str.data() + r.str.size(), out[i].registrations)
                    .ec != std::errc{})
                out[i].registrations = 0;
        }
    }
    std::vector<std::string> forget{"HDEL", h};
    std::erase_if(out, [&](const NodeStatus& n) {
        const bool old = !n.alive && now_ms - n.last_seen > forget_after_.count();
        if (old) forget.push_back(n.id);
        return old;
    });
    if (forget.size() > 2) (void)client_->run(redis::command(std::move(forget), h));
    std::sort(out.begin(), out.end(),
              [](const NodeStatus& a, const NodeStatus& b) { return a.id < b.id; });
    return out;
}

// ------------------------------------------------------------------ sweeper

Result<RedisRegistrationSweeper::Step> RedisRegistrationSweeper::step(std::int64_t now_unix_s) {
    Step out;
    auto keys = client_->scan_step(scan_, keys_.pattern("reg"), page_);
    if (!keys) {
        scan_ = {};
        return fail(keys.error());
    }
    if (scan_.done()) {
        out.cycle_done = true;
        scan_ = {};
    }
    std::vector<std::string> eps;
    {
        std::unordered_set<std::string> seen;
        for (const auto& k : *keys)
            if (auto ep = keys_.endpoint_of(k); ep && seen.insert(*ep).second)
                eps.push_back(std::move(*ep));
    }
    if (eps.empty()) return out;
    std::vector<redis::Command> cmds;
    cmds.reserve(eps.size() * 2);
    for (const auto& ep : eps) {
        const auto r = keys_.reg(ep);
        cmds.push_back(redis::command({"GET", r}, r));
        const auto n = keys_.node(ep);
        cmds.push_back(redis::command({"GET", n}, n));
    }
    LWM2M_TRY(replies, client_->run(cmds));
    struct Candidate {
        std::size_t ep;
        std::string raw;
        std::string owner;
    };
    std::vector<Candidate> stale;
    for (std::size_t i = 0; i < eps.size(); ++i) {
        auto& rec = replies[2 * i];
        if (rec.type != redis::Reply::Type::string) continue; // gone meanwhile
        ++out.examined;
        auto r = redis_codec::decode_registration(rec.str);
        if (!r) continue; // unreadable: not ours to judge
        if (r->updated_at + static_cast<std::int64_t>(r->lifetime_s) + grace_.count() >= now_unix_s)
            continue;
        const auto& owner = replies[2 * i + 1];
        stale.push_back(
            {i, std::move(rec.str), owner.type == redis::Reply::Type::string ? owner.str : ""});
    }
    if (stale.empty()) return out;
    // Only a dead (or unrecorded) owner's: a live owner expires its registrations itself.
    std::vector<std::string> owners;
    for (const auto& c : stale)
        if (!c.owner.empty() && std::find(owners.begin(), owners.end(), c.owner) == owners.end())
            owners.push_back(c.owner);
    std::vector<redis::Command> alive_cmds;
    for (const auto& o : owners) {
        const auto k = keys_.node_alive(o);
        alive_cmds.push_back(redis::command({"EXISTS", k}, k));
    }
    std::vector<std::string> live;
    if (!alive_cmds.empty()) {
        LWM2M_TRY(alive, client_->run(alive_cmds));
        for (std::size_t i = 0; i < owners.size(); ++i)
            if (alive[i].type != redis::Reply::Type::integer || alive[i].integer != 0)
                live.push_back(owners[i]);
    }
    std::vector<redis::Command> dels;
    for (auto& c : stale) {
        if (std::find(live.begin(), live.end(), c.owner) != live.end()) continue;
        const auto& ep = eps[c.ep];
        const auto r = keys_.reg(ep);
        dels.push_back(redis::command(
            {"EVALSHA", sweep_sha(), "3", r, keys_.obs(ep), keys_.node(ep), std::move(c.raw)}, r,
            true));
    }
    if (dels.empty()) return out;
    LWM2M_TRY(done, run_scripts(*client_, dels, sweep_script));
    for (const auto& d : done) {
        if (d.is_error()) return fail(Errc::io_error);
        if (d.type == redis::Reply::Type::integer && d.integer == 1) ++out.removed;
    }
    return out;
}

// ------------------------------------------------------------------ RedisStores

RedisStores::~RedisStores() = default;

Result<std::unique_ptr<RedisStores>> RedisStores::open(std::string_view url,
                                                       const std::string& key_file,
                                                       const RedisStoresOptions& options,
                                                       std::string* why) {
    auto cluster = options.cluster;
    redis::Auth from_url;
    LWM2M_TRY(seeds, redis::parse_url(url, why, &from_url));
    if (!from_url.password.empty()) cluster.auth = std::move(from_url);
    if (options.prefix.empty() || options.prefix.find_first_of("{}") != std::string::npos) {
        if (why) *why = "the key prefix must be non-empty and without { or }";
        return fail(lwm2m::Errc::invalid_argument);
    }
    LWM2M_TRY(box, SecretBox::load_or_create(key_file));
    RedisKeys keys{options.prefix};
    std::unique_ptr<RedisStores> s(new RedisStores(std::move(box), keys));
    LWM2M_TRY(writer, redis::ClusterClient::connect(seeds, cluster, why));
    LWM2M_TRY(main, redis::ClusterClient::connect(seeds, cluster, why));
    s->writer_ = std::move(writer);
    s->main_ = std::move(main);
    s->registrations_ = std::make_unique<RedisRegistrationStore>(*s->writer_, keys);
    s->registrations_->set_node_id(options.node_id);
    s->events_ = std::make_unique<RedisEventLog>(*s->writer_, keys, options.event_log_max_rows);
    auto sec = RedisSecurityStore::open(*s->main_, s->box_, keys);
    if (!sec) {
        if (why && sec.error() == make_error_code(Errc::unavailable)) *why = s->main_->last_error();
        return fail(sec.error());
    }
    s->security_ = std::move(*sec);
    return s;
}

} // namespace lwm2m::store
