#include <lwm2m/client/client_config.hpp>

#include <algorithm>
#include <limits>
#include <set>

#include <lwm2m/client/access.hpp>

namespace lwm2m::client {

namespace {

/// Object 0 Resource 12 of the Bootstrap-Server instance, when it asks for a purge (> 0).
std::optional<std::int64_t> bootstrap_account_timeout(const ClientConfig& c) {
    for (const auto& [iid, s] : c.security)
        if (s.is_bootstrap() && s.bs_account_timeout.value_or(0) > 0) return s.bs_account_timeout;
    return std::nullopt;
}

/// Seconds left until the wall-clock `deadline`, within [0, timeout] (overflow-safe).
std::int64_t seconds_left(std::int64_t deadline, std::int64_t unix_now, std::int64_t timeout) {
    if (deadline <= unix_now) return 0;
    if (unix_now < 0 && deadline > std::numeric_limits<std::int64_t>::max() + unix_now)
        return timeout;
    return std::min(deadline - unix_now, timeout);
}

} // namespace

bool ClientConfig::needs_bootstrap() const {
    for (const auto& [iid, s] : security)
        if (!s.is_bootstrap()) return false;
    return true;
}

bool ClientConfig::is_known_sms_sender(std::string_view msisdn) const {
    if (msisdn.empty()) return false;
    for (const auto& [iid, s] : security)
        if (s.sms_number && *s.sms_number == msisdn) return true;
    return false;
}

std::vector<std::string> check_consistency(const ClientConfig& c) {
    std::vector<std::string> reasons;
    if (c.security.size() > max_security_instances)
        reasons.emplace_back("too many Security instances");
    if (c.servers.size() > max_server_instances) reasons.emplace_back("too many Server instances");
    std::map<std::uint16_t, std::uint16_t> server_by_ssid; // ssid -> /1 iid
    for (const auto& [iid, s] : c.servers) {
        check_server_instance(iid, s, reasons);
        if (const auto ssid = s.short_server_id()) {
            const auto [it, inserted] = server_by_ssid.emplace(*ssid, iid);
            if (!inserted)
                reasons.push_back("/1/" + std::to_string(iid) + ": Short Server ID " +
                                  std::to_string(*ssid) + " already used by /1/" +
                                  std::to_string(it->second));
        }
    }
    int bootstrap_count = 0;
    std::map<std::uint16_t, std::uint16_t> security_by_ssid; // ssid -> /0 iid
    for (const auto& [iid, s] : c.security) {
        check_security_instance(iid, s, reasons);
        const std::string at = "/0/" + std::to_string(iid) + ": ";
        if (s.is_bootstrap()) ++bootstrap_count;
        if (s.short_server_id) {
            const auto [it, inserted] = security_by_ssid.emplace(*s.short_server_id, iid);
            if (!inserted)
                reasons.push_back(at + "Short Server ID " + std::to_string(*s.short_server_id) +
                                  " already used by /0/" + std::to_string(it->second));
        }
        if (s.is_bootstrap()) continue;
        if (!s.short_server_id) {
            reasons.push_back(
                at + "resource 10 (Short Server ID) is required for a non-bootstrap account");
        } else if (server_by_ssid.count(*s.short_server_id) == 0) {
            reasons.push_back(at + "no Server Object instance with Short Server ID " +
                              std::to_string(*s.short_server_id));
        }
    }
    if (bootstrap_count > 1)
        reasons.push_back(std::to_string(bootstrap_count) +
                          " Bootstrap-Server instances (at most one allowed)");
    if (c.bs_purge_at && !bootstrap_account_timeout(c))
        reasons.emplace_back(
            "Bootstrap-Server account purge deadline without a Bootstrap-Server instance whose "
            "resource 12 (Account Timeout) is > 0");
    for (const auto& [ssid, iid] : server_by_ssid) {
        bool found = false;
        for (const auto& [siid, s] : c.security)
            if (!s.is_bootstrap() && s.short_server_id == ssid) found = true;
        if (!found)
            reasons.push_back("/1/" + std::to_string(iid) +
                              ": no Security instance with Short Server ID " +
                              std::to_string(ssid));
    }
    return reasons;
}

AccountStore::AccountStore(ClientConfig committed, const WallClock& wall, TimePoint now,
                           Logger& log)
    : wall_(&wall)
    , log_(&log)
    , security_(log)
    , server_(log) {
    if (check_consistency(committed).empty()) committed_ = std::move(committed);
    rollback();
    // Object 0 Resource 12 across a restart: the persisted wall-clock deadline becomes a TimePoint
    // (consistency guarantees a Bootstrap-Server instance with a timeout > 0 when it is set).
    if (committed_.bs_purge_at) {
        if (const auto timeout = bootstrap_account_timeout(committed_))
            purge_at_ = now + std::chrono::seconds(seconds_left(*committed_.bs_purge_at,
                                                                wall.unix_seconds(), *timeout));
    }
}

ClientConfig AccountStore::working() const {
    return ClientConfig{security_.all(), server_.all(), committed_.bs_purge_at};
}

void AccountStore::rollback() {
    security_.replace_all(committed_.security);
    server_.replace_all(committed_.servers);
}

Result<void> AccountStore::bootstrap_delete(const Actor& actor, const dm::Path& path) {
    LWM2M_TRY_VOID(check_access(actor, Operation::delete_, path));
    if (path.is_root()) {
        LWM2M_TRY_VOID(security_.delete_(actor, path));
        LWM2M_TRY_VOID(server_.delete_(actor, path));
        return ok();
    }
    if (path.oid().v == 0) return security_.delete_(actor, path);
    if (path.oid().v == 1) return server_.delete_(actor, path);
    return fail(Status::not_found);
}

FinishResult AccountStore::finish(const Actor& actor, TimePoint now) {
    FinishResult r;
    if (actor.kind != Actor::Kind::bootstrap_server && actor.kind != Actor::Kind::factory) {
        r.status = Status::unauthorized;
        return r;
    }
    ClientConfig next = working();
    next.bs_purge_at
        .reset(); // a successful bootstrap restarts (or ends) the Resource 12 timer below
    r.reasons = check_consistency(next);
    if (!r.reasons.empty()) {
        // TS 1.1 §5.2.7.6: 4.06 Not Acceptable; keep the last consistent configuration.
        r.status = Status::not_acceptable;
        rollback();
        if (log_->enabled(LogLevel::warn)) {
            std::string m = "bootstrap-finish rejected (4.06), configuration rolled back:";
            for (const auto& s : r.reasons)
                m += "\n  " + s;
            log_->write(LogLevel::warn, "client.accounts", m);
        }
        return r;
    }
    committed_ = std::move(next);
    ++generation_;
    r.ok = true;
    // Object 0 Resource 12 (TS 1.1 E.1): purge the Bootstrap-Server account that many seconds
    // after a successful bootstrap; 0 or absent means it lives forever.
    // The deadline is kept twice: as a TimePoint for on_timeout() and as wall-clock seconds in the
    // committed configuration, which is what survives a restart.
    purge_at_.reset();
    if (const auto timeout = bootstrap_account_timeout(committed_)) {
        purge_at_ = now + std::chrono::seconds(*timeout);
        const std::int64_t unix_now = wall_->unix_seconds();
        committed_.bs_purge_at = unix_now > std::numeric_limits<std::int64_t>::max() - *timeout
                                     ? std::numeric_limits<std::int64_t>::max()
                                     : unix_now + *timeout;
    }
    if (log_->enabled(LogLevel::info))
        log_->write(LogLevel::info, "client.accounts",
                    "configuration committed: " + std::to_string(committed_.security.size()) +
                        " security, " + std::to_string(committed_.servers.size()) +
                        " server instances");
    return r;
}

bool AccountStore::commit_dm_changes() {
    ClientConfig next = working();
    if (next == committed_) return false;
    if (!(next.security == committed_.security) || !check_consistency(next).empty()) {
        rollback();
        return false;
    }
    committed_ = std::move(next);
    ++generation_;
    return true;
}

bool AccountStore::on_timeout(TimePoint now) {
    if (!purge_at_ || now < *purge_at_) return false;
    purge_at_.reset();
    committed_.bs_purge_at.reset();
    bool purged = false;
    for (auto it = committed_.security.begin(); it != committed_.security.end();) {
        if (it->second.is_bootstrap()) {
            it = committed_.security.erase(it);
            purged = true;
        } else {
            ++it;
        }
    }
    auto working_security = security_.all();
    for (auto it = working_security.begin(); it != working_security.end();) {
        if (it->second.is_bootstrap())
            it = working_security.erase(it);
        else
            ++it;
    }
    security_.replace_all(std::move(working_security));
    if (purged) {
        ++generation_;
        if (log_->enabled(LogLevel::info))
            log_->write(LogLevel::info, "client.accounts",
                        "Bootstrap-Server account purged (account timeout)");
    }
    return purged;
}

} // namespace lwm2m::client
