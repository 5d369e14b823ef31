#include "dtls_takeover.hpp"

#include <charconv>

#include <lwm2m/dtls/errc.hpp>

namespace lwm2m::app {

namespace {

/// Write-sequence numbers reserved per take-over (docs/dtls.md "Sequence numbers across
/// nodes"): the handshaking node uses [0, 2^32), the n-th importer [n * 2^32, (n + 1) * 2^32).
constexpr std::uint64_t kTakeoverSeqRange = std::uint64_t{1} << 32;

std::string takeover_ms(Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

std::string takeover_bytes(BytesView b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::optional<std::uint64_t> takeover_u64(const store::redis::Reply& r) {
    if (r.type == store::redis::Reply::Type::integer && r.integer >= 0)
        return static_cast<std::uint64_t>(r.integer);
    if (r.type != store::redis::Reply::Type::string) return std::nullopt;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(r.str.data(), r.str.data() + r.str.size(), v);
    if (ec != std::errc{} || p != r.str.data() + r.str.size()) return std::nullopt;
    return v;
}

void takeover_warn(Logger& log, const std::string& msg) {
    if (log.enabled(LogLevel::warn)) log.write(LogLevel::warn, "takeover", msg);
}

} // namespace

DtlsTakeover::DtlsTakeover(server::Engine& dm, server::SessionTakeover takeover,
                           store::RegistrationCommitter& writer,
                           store::redis::ClusterClient& client, store::RedisKeys keys,
                           transport::LoopBase& loop, Random& random, Logger& log,
                           DtlsTakeoverOptions options)
    : dm_(dm)
    , takeover_(std::move(takeover))
    , writer_(writer)
    , client_(client)
    , keys_(std::move(keys))
    , loop_(loop)
    , random_(random)
    , log_(log)
    , opt_(options) {}

void DtlsTakeover::on_iteration(TimePoint now) {
    std::vector<Put> puts;
    std::vector<std::pair<std::string, std::uint64_t>> marks;
    std::vector<Lookup> lookups;

    while (auto note = dm_.poll_session_note()) {
        const std::string peer = note->session.peer.to_string();
        if (note->kind == server::SessionNote::Kind::established) {
            auto st = dm_.export_session(note->session);
            if (!st) {
                takeover_.export_failed(); // a CBC-SHA256 suite: stays local
                continue;
            }
            auto blob = takeover_.seal(*st, random_);
            if (!blob) continue;
            puts.push_back(
                {peer, takeover_bytes(*blob), st->read_window.any ? st->read_window.highest : 0});
        } else if (note->reason == dtls::Errc::closed || note->reason == dtls::Errc::peer_alert) {
            // The client ended the session: its keys are useless to any node. Idle timeouts and
            // evictions leave the keys to their TTL: the client may be talking to another node
            // now (its flow moved), which refreshes them. A replacement is followed by the new
            // session's export.
            puts.push_back({peer, {}, 0, true});
        }
    }

    if (now >= next_high_water_) {
        next_high_water_ = now + opt_.high_water_interval;
        dm_.take_active_sessions(active_);
        for (const auto& s : active_) {
            auto hw = dm_.session_read_high_water(s);
            if (hw) marks.emplace_back(s.peer.to_string(), *hw);
        }
    }

    takeover_.expire(now); // timed-out look-ups release their addresses (forgotten below)
    while (auto u = dm_.poll_unknown_session())
        if (auto l = takeover_.on_unknown(now, u->listener, u->peer))
            lookups.push_back({l->id, l->peer.to_string()});
    while (auto f = takeover_.poll_forget())
        dm_.forget_unknown_session({f->listener, f->peer});

    if (puts.empty() && marks.empty() && lookups.empty()) return;

    writer_.post([this, puts = std::move(puts), marks = std::move(marks),
                  lookups = std::move(lookups)] {
        namespace redis = store::redis;
        const std::string ttl = takeover_ms(opt_.session_ttl);
        const std::string seq_ttl = takeover_ms(opt_.seq_ttl);
        std::vector<redis::Command> cmds;
        cmds.reserve(puts.size() * 3 + marks.size() * 3 + lookups.size() * 2);
        for (const auto& p : puts) {
            const auto k = keys_.dtls_session(p.peer);
            if (p.del) {
                cmds.push_back(redis::command({"DEL", k, keys_.dtls_high_water(p.peer)}, k, true));
                continue;
            }
            cmds.push_back(redis::command({"SET", k, p.blob, "PX", ttl}, k, true));
            const auto h = keys_.dtls_high_water(p.peer);
            cmds.push_back(
                redis::command({"SET", h, std::to_string(p.high_water), "PX", ttl}, h, true));
            const auto q = keys_.dtls_seq(p.peer);
            cmds.push_back(redis::command({"PEXPIRE", q, seq_ttl}, q, true));
        }
        for (const auto& [peer, hw] : marks) {
            const auto h = keys_.dtls_high_water(peer);
            cmds.push_back(redis::command({"SET", h, std::to_string(hw), "PX", ttl}, h, true));
            const auto k = keys_.dtls_session(peer);
            cmds.push_back(redis::command({"PEXPIRE", k, ttl}, k, true));
            // The counter lives at least as long as the blob (an expired counter would hand
            // out a range again; SessionTakeover::on_found also starts above the exporter's).
            const auto q = keys_.dtls_seq(peer);
            cmds.push_back(redis::command({"PEXPIRE", q, seq_ttl}, q, true));
        }
        const std::size_t first_lookup = cmds.size();
        for (const auto& l : lookups) {
            const auto k = keys_.dtls_session(l.peer);
            cmds.push_back(redis::command({"GET", k}, k));
            const auto h = keys_.dtls_high_water(l.peer);
            cmds.push_back(redis::command({"GET", h}, h));
        }
        auto replies = client_.run(cmds);
        if (!replies) {
            // Look-ups stay unanswered: SessionTakeover times them out.
            loop_.post([this, e = replies.error()](TimePoint) {
                ++store_errors_;
                takeover_warn(log_, "DTLS session store: " + e.message());
            });
            return;
        }
        std::vector<Answer> answers;
        std::vector<redis::Command> reserve;
        for (std::size_t i = 0; i < lookups.size(); ++i) {
            const auto& blob = (*replies)[first_lookup + 2 * i];
            const auto& hw = (*replies)[first_lookup + 2 * i + 1];
            Answer a;
            a.id = lookups[i].id;
            if (blob.type == redis::Reply::Type::string && !blob.str.empty()) {
                a.found = true;
                a.blob = blob.str;
                a.high_water = takeover_u64(hw);
                // Only found sessions reserve a range: a spoofed address creates no key.
                const auto q = keys_.dtls_seq(lookups[i].peer);
                reserve.push_back(
                    redis::command({"INCRBY", q, std::to_string(kTakeoverSeqRange)}, q, true));
                reserve.push_back(redis::command({"PEXPIRE", q, seq_ttl}, q, true));
            }
            answers.push_back(std::move(a));
        }
        if (!reserve.empty()) {
            auto r = client_.run(reserve);
            std::size_t j = 0;
            for (auto& a : answers) {
                if (!a.found) continue;
                auto floor = r ? takeover_u64((*r)[2 * j]) : std::nullopt;
                ++j;
                if (!floor) {
                    // No range reserved: importing would risk reusing (key, nonce) pairs.
                    a.found = false;
                    a.blob.clear();
                    a.id = 0; // unanswered: the look-up times out
                    continue;
                }
                a.floor = *floor;
            }
        }
        loop_.post(
            [this, answers = std::move(answers)](TimePoint t) mutable { on_answers(t, answers); });
    });
}

void DtlsTakeover::on_answers(TimePoint now, std::vector<Answer>& answers) {
    for (auto& a : answers) {
        if (a.id == 0) continue;
        if (!a.found) {
            takeover_.on_not_found(now, a.id);
            continue;
        }
        const BytesView blob(reinterpret_cast<const std::byte*>(a.blob.data()), a.blob.size());
        auto imp = takeover_.on_found(now, a.id, blob, a.high_water, a.floor);
        if (!imp) continue;
        const PeerAddr peer = imp->state.peer;
        const std::uint16_t listener = imp->listener;
        auto r =
            dm_.import_session(now, imp->listener, std::move(imp->state), imp->write_seq_floor);
        if (!r)
            takeover_warn(log_, "DTLS session of " + peer.to_string() +
                                    " not imported: " + r.error().message());
        takeover_.on_imported(now, listener, peer, r);
    }
    while (auto f = takeover_.poll_forget())
        dm_.forget_unknown_session({f->listener, f->peer});
}

std::vector<std::pair<std::string, std::uint64_t>> DtlsTakeover::stats() const {
    const auto& s = takeover_.stats();
    return {{"takeover_lookups", s.lookups},
            {"takeover_imported", s.imported},
            {"takeover_not_found", s.not_found},
            {"takeover_open_failed", s.open_failed},
            {"takeover_import_failed", s.import_failed},
            {"takeover_rate_limited", s.rate_limited},
            {"takeover_timed_out", s.timed_out},
            {"takeover_store_errors", store_errors_},
            {"sessions_exported", s.exported},
            {"export_failed", s.export_failed}};
}

} // namespace lwm2m::app
