#include <lwm2m/store/sqlite_stores.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>
#include <unordered_map>
#include <utility>

#include <sys/stat.h>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::store {

// ---------------------------------------------------------------- schema

namespace {

// Version 1. Column comments are the documentation of docs/store.md "Schema".
constexpr std::string_view schema_v1 = R"sql(
CREATE TABLE registrations (
    endpoint      TEXT PRIMARY KEY NOT NULL,
    location      TEXT NOT NULL,
    lwm2m_version TEXT NOT NULL,
    lifetime_s    INTEGER NOT NULL,
    binding       TEXT NOT NULL,
    queue_mode    INTEGER NOT NULL,
    sms_number    TEXT NOT NULL,
    object_links  TEXT NOT NULL,
    peer_family   INTEGER NOT NULL,
    peer_addr     BLOB NOT NULL,
    peer_port     INTEGER NOT NULL,
    peer_scope    INTEGER NOT NULL,
    socket        INTEGER NOT NULL,
    security      INTEGER NOT NULL,
    registered_at INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE TABLE observations (
    endpoint   TEXT NOT NULL REFERENCES registrations(endpoint) ON DELETE CASCADE,
    id         INTEGER NOT NULL,
    token      BLOB NOT NULL,
    composite  INTEGER NOT NULL,
    paths      TEXT NOT NULL,
    accept     INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (endpoint, id)
) WITHOUT ROWID;
CREATE TABLE security (
    endpoint     TEXT PRIMARY KEY NOT NULL,
    mode         INTEGER NOT NULL,
    psk_identity BLOB,
    psk_key      BLOB,
    rpk          BLOB,
    x509_cn      TEXT
);
CREATE UNIQUE INDEX security_psk_identity ON security(psk_identity) WHERE mode = 0;
CREATE UNIQUE INDEX security_rpk ON security(rpk) WHERE mode = 1;
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    time     INTEGER NOT NULL,
    endpoint TEXT NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX events_endpoint ON events(endpoint, seq);
CREATE TABLE bootstrap_outcomes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    time     INTEGER NOT NULL,
    success  INTEGER NOT NULL,
    session  INTEGER NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX bootstrap_outcomes_endpoint ON bootstrap_outcomes(endpoint, id);
CREATE TABLE bootstrap_configs (
    endpoint     TEXT PRIMARY KEY NOT NULL,
    mode         INTEGER NOT NULL,
    psk_identity BLOB,
    rpk          BLOB,
    x509_cn      TEXT,
    config       BLOB NOT NULL
);
)sql";

constexpr std::array<Migration, 1> migrations{{{1, schema_v1}}};

std::string psk_context(std::string_view endpoint) {
    std::string c = "security/";
    c.append(endpoint);
    c.append("/psk_key");
    return c;
}

} // namespace

std::span<const Migration> sqlite_store_migrations() noexcept {
    return migrations;
}

// ---------------------------------------------------------------- registrations

namespace {

constexpr char path_separator = ' '; // LwM2M paths are digits and '/'

std::string join_paths(const std::vector<std::string>& paths) {
    std::string out;
    for (const auto& p : paths) {
        if (!out.empty()) out.push_back(path_separator);
        out += p;
    }
    return out;
}

std::vector<std::string> split_paths(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        auto n = s.find(path_separator);
        out.emplace_back(s.substr(0, n));
        if (n == std::string_view::npos) break;
        s.remove_prefix(n + 1);
    }
    return out;
}

constexpr std::string_view registration_columns =
    "endpoint, location, lwm2m_version, lifetime_s, binding, queue_mode, sms_number, "
    "object_links, peer_family, peer_addr, peer_port, peer_scope, socket, security, "
    "registered_at, updated_at";

void bind_registration(Statement& st, const RegistrationRecord& r) {
    st.bind(1, r.endpoint)
        .bind(2, r.location)
        .bind(3, r.lwm2m_version)
        .bind(4, static_cast<std::int64_t>(r.lifetime_s))
        .bind(5, r.binding)
        .bind(6, r.queue_mode ? 1 : 0)
        .bind(7, r.sms_number)
        .bind(8, r.object_links)
        .bind(9, static_cast<int>(r.peer.family))
        .bind(10,
              BytesView(reinterpret_cast<const std::byte*>(r.peer.addr.data()), r.peer.addr.size()))
        .bind(11, static_cast<int>(r.peer.port))
        .bind(12, static_cast<std::int64_t>(r.peer.scope_id))
        .bind(13, static_cast<int>(r.socket))
        .bind(14, static_cast<int>(r.security))
        .bind(15, r.registered_at)
        .bind(16, r.updated_at);
}

Result<RegistrationRecord> read_registration(const Statement& st) {
    RegistrationRecord r;
    r.endpoint = std::string(st.text(0));
    r.location = std::string(st.text(1));
    r.lwm2m_version = std::string(st.text(2));
    const auto lifetime = st.int64(3);
    if (lifetime < 0 || lifetime > 0xffffffffLL) return fail(Errc::corrupt);
    r.lifetime_s = static_cast<std::uint32_t>(lifetime);
    r.binding = std::string(st.text(4));
    r.queue_mode = st.int64(5) != 0;
    r.sms_number = std::string(st.text(6));
    r.object_links = std::string(st.text(7));
    const auto family = st.int64(8);
    if (family != 0 && family != 4 && family != 6) return fail(Errc::corrupt);
    r.peer.family = static_cast<PeerAddr::Family>(family);
    const BytesView addr = st.blob(9);
    if (addr.size() != r.peer.addr.size()) return fail(Errc::corrupt);
    for (std::size_t i = 0; i < addr.size(); ++i)
        r.peer.addr[i] = std::to_integer<std::uint8_t>(addr[i]);
    const auto port = st.int64(10);
    const auto scope = st.int64(11);
    const auto socket = st.int64(12);
    const auto security = st.int64(13);
    if (port < 0 || port > 0xffff || scope < 0 || scope > 0xffffffffLL || socket < 0 ||
        socket > 0xffff || security < 0 || security > 3)
        return fail(Errc::corrupt);
    r.peer.port = static_cast<std::uint16_t>(port);
    r.peer.scope_id = static_cast<std::uint32_t>(scope);
    r.socket = static_cast<std::uint16_t>(socket);
    r.security = static_cast<SecurityMode>(security);
    r.registered_at = st.int64(14);
    r.updated_at = st.int64(15);
    return r;
}

constexpr std::string_view observation_columns =
    "endpoint, id, token, composite, paths, accept, created_at";

Result<ObservationRecord> read_observation(const Statement& st) {
    ObservationRecord o;
    o.endpoint = std::string(st.text(0));
    o.id = static_cast<std::uint64_t>(st.int64(1));
    const BytesView token = st.blob(2);
    o.token.assign(token.begin(), token.end());
    o.composite = st.int64(3) != 0;
    o.paths = split_paths(st.text(4));
    if (!st.is_null(5)) {
        const auto accept = st.int64(5);
        if (accept < 0 || accept > 0xffff) return fail(Errc::corrupt);
        o.accept = static_cast<std::uint16_t>(accept);
    }
    o.created_at = st.int64(6);
    return o;
}

} // namespace

struct RegistrationWriter::Statements {
    sqlite3* handle = nullptr; ///< the connection they were compiled for
    std::optional<Statement> put_reg, del_reg, del_obs_of, put_obs, del_obs;
};

RegistrationWriter::RegistrationWriter()
    : st_(std::make_unique<Statements>()) {}
RegistrationWriter::~RegistrationWriter() = default;
RegistrationWriter::RegistrationWriter(RegistrationWriter&&) noexcept = default;
RegistrationWriter& RegistrationWriter::operator=(RegistrationWriter&&) noexcept = default;

Result<void> apply_registration_changes(Database& db, std::span<const Change> batch) {
    return RegistrationWriter().apply(db, batch);
}

Result<void> RegistrationWriter::apply(Database& db, std::span<const Change> batch) {
    if (batch.empty()) return ok();
    if (!st_) st_ = std::make_unique<Statements>();
    if (st_->handle != db.handle()) {
        // Another connection: the statements are compiled again on first use below. (A closed
        // connection's handle is not reused while statements of it exist: sqlite3_close_v2
        // defers the close.)
        *st_ = Statements{};
        st_->handle = db.handle();
    }
    auto& put_reg = st_->put_reg;
    auto& del_reg = st_->del_reg;
    auto& del_obs_of = st_->del_obs_of;
    auto& put_obs = st_->put_obs;
    auto& del_obs = st_->del_obs;
    for (const Change& c : batch) {
        if (const auto* put = std::get_if<RegistrationPut>(&c.op)) {
            if (!put_reg) {
                LWM2M_TRY(st, db.prepare(std::string("INSERT INTO registrations(") +
                                         std::string(registration_columns) +
                                         ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
                                         "?14,?15,?16) ON CONFLICT(endpoint) DO UPDATE SET "
                                         "location=?2, lwm2m_version=?3, lifetime_s=?4, "
                                         "binding=?5, queue_mode=?6, sms_number=?7, "
                                         "object_links=?8, peer_family=?9, peer_addr=?10, "
                                         "peer_port=?11, peer_scope=?12, socket=?13, "
                                         "security=?14, registered_at=?15, updated_at=?16"));
                put_reg.emplace(std::move(st));
            }
            bind_registration(*put_reg, put->record);
            LWM2M_TRY_VOID(put_reg->run());
            if (put->replaces) {
                // TS 1.1 §6.2.1: a new Register replaces the registration and its observations.
                if (!del_obs_of) {
                    LWM2M_TRY(st, db.prepare("DELETE FROM observations WHERE endpoint=?1"));
                    del_obs_of.emplace(std::move(st));
                }
                del_obs_of->bind(1, put->record.endpoint);
                LWM2M_TRY_VOID(del_obs_of->run());
            }
        } else if (const auto* rm = std::get_if<RegistrationRemove>(&c.op)) {
            if (!del_reg) {
                // The observations go with it (ON DELETE CASCADE).
                LWM2M_TRY(st, db.prepare("DELETE FROM registrations WHERE endpoint=?1"));
                del_reg.emplace(std::move(st));
            }
            del_reg->bind(1, rm->endpoint);
            LWM2M_TRY_VOID(del_reg->run());
        } else if (const auto* oput = std::get_if<ObservationPut>(&c.op)) {
            if (!put_obs) {
                // Ignored when the endpoint has no registration (RegistrationStore contract).
                LWM2M_TRY(st, db.prepare(std::string("INSERT INTO observations(") +
                                         std::string(observation_columns) +
                                         ") SELECT ?1,?2,?3,?4,?5,?6,?7 WHERE EXISTS (SELECT 1 "
                                         "FROM registrations WHERE endpoint=?1) "
                                         "ON CONFLICT(endpoint, id) DO UPDATE SET token=?3, "
                                         "composite=?4, paths=?5, accept=?6, created_at=?7"));
                put_obs.emplace(std::move(st));
            }
            const ObservationRecord& o = oput->record;
            put_obs->bind(1, o.endpoint)
                .bind(2, static_cast<std::int64_t>(o.id))
                .bind(3, BytesView(o.token))
                .bind(4, o.composite ? 1 : 0)
                .bind(5, join_paths(o.paths))
                .bind(7, o.created_at);
            if (o.accept)
                put_obs->bind(6, static_cast<int>(*o.accept));
            else
                put_obs->bind_null(6);
            LWM2M_TRY_VOID(put_obs->run());
        } else if (const auto* orm = std::get_if<ObservationRemove>(&c.op)) {
            if (!del_obs) {
                LWM2M_TRY(st, db.prepare("DELETE FROM observations WHERE endpoint=?1 AND id=?2"));
                del_obs.emplace(std::move(st));
            }
            del_obs->bind(1, orm->endpoint).bind(2, static_cast<std::int64_t>(orm->id));
            LWM2M_TRY_VOID(del_obs->run());
        }
    }
    return ok();
}

Result<void> load_registrations(Database& db,
                                const std::function<void(RegistrationRecord&&)>& on_registration,
                                const std::function<void(ObservationRecord&&)>& on_observation) {
    {
        LWM2M_TRY(st, db.prepare(std::string("SELECT ") + std::string(registration_columns) +
                                 " FROM registrations ORDER BY endpoint"));
        for (;;) {
            LWM2M_TRY(row, st.step());
            if (!row) break;
            LWM2M_TRY(r, read_registration(st));
            if (on_registration) on_registration(std::move(r));
        }
    }
    LWM2M_TRY(st, db.prepare(std::string("SELECT ") + std::string(observation_columns) +
                             " FROM observations ORDER BY endpoint, id"));
    for (;;) {
        LWM2M_TRY(row, st.step());
        if (!row) break;
        LWM2M_TRY(o, read_observation(st));
        if (on_observation) on_observation(std::move(o));
    }
    return ok();
}

Result<void> SqliteRegistrationStore::commit(std::span<const Change> batch) {
    LWM2M_TRY(tx, Transaction::begin(*db_));
    LWM2M_TRY_VOID(writer_.apply(*db_, batch));
    return tx.commit();
}

Result<void> SqliteRegistrationStore::load(
    const std::function<void(RegistrationRecord&&)>& on_registration,
    const std::function<void(ObservationRecord&&)>& on_observation) const {
    return load_registrations(*db_, on_registration, on_observation);
}

Result<std::optional<RegistrationRecord>>
SqliteRegistrationStore::find(std::string_view endpoint) const {
    LWM2M_TRY(st, db_->prepare(std::string("SELECT ") + std::string(registration_columns) +
                               " FROM registrations WHERE endpoint=?1"));
    st.bind(1, endpoint);
    LWM2M_TRY(row, st.step());
    if (!row) return std::optional<RegistrationRecord>{};
    LWM2M_TRY(r, read_registration(st));
    return std::optional<RegistrationRecord>{std::move(r)};
}

Result<std::size_t> SqliteRegistrationStore::size() const {
    LWM2M_TRY(st, db_->prepare("SELECT count(*) FROM registrations"));
    LWM2M_TRY(row, st.step());
    if (!row) return fail(Errc::corrupt);
    return static_cast<std::size_t>(st.int64(0));
}

Result<std::vector<ObservationRecord>>
SqliteRegistrationStore::observations(std::string_view endpoint) const {
    LWM2M_TRY(st, db_->prepare(std::string("SELECT ") + std::string(observation_columns) +
                               " FROM observations WHERE endpoint=?1 ORDER BY id"));
    st.bind(1, endpoint);
    std::vector<ObservationRecord> out;
    for (;;) {
        LWM2M_TRY(row, st.step());
        if (!row) break;
        LWM2M_TRY(o, read_observation(st));
        out.push_back(std::move(o));
    }
    return out;
}

// ---------------------------------------------------------------- security

Result<std::unique_ptr<SqliteSecurityStore>> SqliteSecurityStore::open(Database& db,
                                                                       const SecretBox& box) {
    std::unique_ptr<SqliteSecurityStore> store(new SqliteSecurityStore(db, box));
    LWM2M_TRY(st, db.prepare("SELECT endpoint, mode, psk_identity, psk_key, rpk, x509_cn FROM "
                             "security ORDER BY endpoint"));
    for (;;) {
        LWM2M_TRY(row, st.step());
        if (!row) break;
        SecurityInfo info;
        info.endpoint = std::string(st.text(0));
        const auto mode = st.int64(1);
        if (mode < 0 || mode > 3) return fail(Errc::corrupt);
        info.mode = static_cast<SecurityMode>(mode);
        const BytesView identity = st.blob(2);
        info.psk_identity.assign(identity.begin(), identity.end());
        if (!st.is_null(3)) {
            LWM2M_TRY(key, box.open(st.blob(3), psk_context(info.endpoint)));
            info.psk_key = std::move(key);
        }
        const BytesView rpk = st.blob(4);
        info.rpk_public_key.assign(rpk.begin(), rpk.end());
        info.x509_common_name = std::string(st.text(5));
        // A row that the store would not have written (hand-edited, damaged) is refused.
        if (!store->cache_.put(std::move(info))) return fail(Errc::corrupt);
    }
    return store;
}

Result<void> SqliteSecurityStore::check(std::span<const SecurityInfo> infos,
                                        std::string* why) const {
    return check_security_puts(*this, infos, why);
}

Result<void> SqliteSecurityStore::write_rows(std::span<const SecurityInfo> infos) {
    LWM2M_TRY(st, db_->prepare("INSERT INTO security(endpoint, mode, psk_identity, psk_key, rpk, "
                               "x509_cn) VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(endpoint) DO "
                               "UPDATE SET mode=?2, psk_identity=?3, psk_key=?4, rpk=?5, "
                               "x509_cn=?6"));
    for (const SecurityInfo& info : infos) {
        st.bind(1, info.endpoint).bind(2, static_cast<int>(info.mode));
        if (info.mode == SecurityMode::psk) {
            LWM2M_TRY(sealed, box_->seal(info.psk_key.view(), psk_context(info.endpoint)));
            st.bind(3, BytesView(info.psk_identity)).bind(4, BytesView(sealed));
        } else {
            st.bind_null(3).bind_null(4);
        }
        if (info.mode == SecurityMode::rpk)
            st.bind(5, BytesView(info.rpk_public_key));
        else
            st.bind_null(5);
        st.bind(6, info.x509_common_name);
        LWM2M_TRY_VOID(st.run());
    }
    return ok();
}

void SqliteSecurityStore::apply_committed(std::span<const SecurityInfo> infos) {
    for (const SecurityInfo& info : infos)
        (void)cache_.put(info); // check()ed: cannot fail
}

Result<void> SqliteSecurityStore::put(SecurityInfo info, std::string* why) {
    const std::span<const SecurityInfo> one(&info, 1);
    LWM2M_TRY_VOID(check(one, why));
    // Write-through: one statement in its own (implicit) transaction, then the index.
    LWM2M_TRY_VOID(write_rows(one));
    apply_committed(one);
    return ok();
}

Result<void> SqliteSecurityStore::put_all(std::vector<SecurityInfo> infos, std::size_t* stored,
                                          std::string* why) {
    *stored = 0;
    LWM2M_TRY_VOID(check(infos, why));
    LWM2M_TRY(tx, Transaction::begin(*db_));
    LWM2M_TRY_VOID(write_rows(infos));
    LWM2M_TRY_VOID(tx.commit());
    apply_committed(infos);
    *stored = infos.size();
    return ok();
}

Result<bool> SqliteSecurityStore::remove(std::string_view endpoint) {
    if (!cache_.find(endpoint)) return false;
    LWM2M_TRY(st, db_->prepare("DELETE FROM security WHERE endpoint=?1"));
    st.bind(1, endpoint);
    LWM2M_TRY_VOID(st.run());
    return cache_.remove(endpoint);
}

// ---------------------------------------------------------------- events

SqliteEventLog::SqliteEventLog(Database& db, std::size_t max_rows) noexcept
    : db_(&db)
    , max_rows_(std::max<std::size_t>(max_rows, 1))
    , prune_slack_(max_rows_ / 64 + 1) {}

Result<std::uint64_t> SqliteEventLog::append(EventRecord event) {
    if (!count_) {
        LWM2M_TRY(n, row_count());
        count_ = n;
    }
    LWM2M_TRY(st, db_->prepare("INSERT INTO events(time, endpoint, kind, detail) "
                               "VALUES(?1,?2,?3,?4)"));
    st.bind(1, event.time).bind(2, event.endpoint).bind(3, event.kind).bind(4, event.detail);
    LWM2M_TRY_VOID(st.run());
    const auto seq = static_cast<std::uint64_t>(db_->last_insert_rowid());
    ++*count_;
    // Bounded retention: when the log holds max_rows + slack rows, the oldest beyond max_rows go
    // (one DELETE per `slack` appends instead of one per append).
    if (*count_ >= max_rows_ + prune_slack_) {
        LWM2M_TRY(del, db_->prepare("DELETE FROM events WHERE seq <= ?1"));
        del.bind(1, static_cast<std::int64_t>(seq - max_rows_));
        LWM2M_TRY_VOID(del.run());
        LWM2M_TRY(n, row_count());
        count_ = n;
    }
    return seq;
}

Result<std::vector<EventRecord>> SqliteEventLog::read(const EventQuery& q) const {
    // Rows beyond max_rows_ that wait for the next prune are not visible (the bound is exact).
    LWM2M_TRY(last, db_->prepare("SELECT coalesce(max(seq), 0) FROM events"));
    LWM2M_TRY(has, last.step());
    const std::int64_t newest = has ? last.int64(0) : 0;
    const std::int64_t oldest_visible = newest - static_cast<std::int64_t>(max_rows_);
    const std::int64_t after = std::max<std::int64_t>(
        static_cast<std::int64_t>(std::min<std::uint64_t>(q.after_seq, INT64_MAX)), oldest_visible);
    LWM2M_TRY(st, db_->prepare(q.endpoint ? "SELECT seq, time, endpoint, kind, detail FROM events "
                                            "WHERE seq > ?1 AND endpoint = ?3 ORDER BY seq "
                                            "LIMIT ?2"
                                          : "SELECT seq, time, endpoint, kind, detail FROM events "
                                            "WHERE seq > ?1 ORDER BY seq LIMIT ?2"));
    st.bind(1, after).bind(2, static_cast<std::int64_t>(std::min<std::size_t>(q.limit, INT64_MAX)));
    if (q.endpoint) st.bind(3, *q.endpoint);
    std::vector<EventRecord> out;
    for (;;) {
        LWM2M_TRY(row, st.step());
        if (!row) break;
        EventRecord e;
        e.seq = static_cast<std::uint64_t>(st.int64(0));
        e.time = st.int64(1);
        e.endpoint = std::string(st.text(2));
        e.kind = std::string(st.text(3));
        e.detail = std::string(st.text(4));
        out.push_back(std::move(e));
    }
    return out;
}

Result<std::uint64_t> SqliteEventLog::row_count() const {
    LWM2M_TRY(st, db_->prepare("SELECT count(*) FROM events"));
    LWM2M_TRY(row, st.step());
    if (!row) return fail(Errc::corrupt);
    return static_cast<std::uint64_t>(st.int64(0));
}

Result<std::size_t> SqliteEventLog::size() const {
    // Rows beyond max_rows_ that wait for the next prune are not visible (as in read()).
    LWM2M_TRY(n, row_count());
    return static_cast<std::size_t>(std::min<std::uint64_t>(n, max_rows_));
}

// ---------------------------------------------------------------- the data directory

SqliteStores::SqliteStores(Database db, SecretBox box, std::string db_path,
                           const SqliteStoresOptions& o)
    : db_(std::move(db))
    , box_(std::move(box))
    , db_path_(std::move(db_path))
    , options_(o)
    , registrations_(db_)
    , events_(db_, o.event_log_max_rows) {}

SqliteStores::~SqliteStores() = default;

namespace {
DatabaseOptions database_options(const SqliteStoresOptions& o) {
    DatabaseOptions d;
    d.synchronous = o.synchronous;
    d.busy_timeout_ms = o.busy_timeout_ms;
    return d;
}
} // namespace

Result<std::unique_ptr<SqliteStores>> SqliteStores::open(const std::string& dir,
                                                         const SqliteStoresOptions& options) {
    if (dir.empty()) return fail(lwm2m::Errc::invalid_argument);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return fail(Error(errno, std::system_category()));
    std::string base = dir;
    if (base.back() != '/') base.push_back('/');
    LWM2M_TRY(box, SecretBox::load_or_create(base + std::string(key_file)));
    std::string db_path = base + std::string(database_file);
    LWM2M_TRY(db, Database::open(db_path, database_options(options)));
    LWM2M_TRY_VOID(db.migrate(migrations));
    std::unique_ptr<SqliteStores> stores(
        new SqliteStores(std::move(db), std::move(box), std::move(db_path), options));
    LWM2M_TRY(security, SqliteSecurityStore::open(stores->db_, stores->box_));
    stores->security_ = std::move(security);
    return stores;
}

Result<Database> SqliteStores::open_connection() const {
    DatabaseOptions o = database_options(options_);
    o.must_exist = true;
    return Database::open(db_path_, o);
}

Result<std::uint64_t> SqliteStores::commit_bootstrap_outcome(
    const BootstrapOutcome& outcome, std::span<const SecurityInfo> credentials, std::string* why) {
    LWM2M_TRY_VOID(security_->check(credentials, why));
    LWM2M_TRY(tx, Transaction::begin(db_));
    LWM2M_TRY_VOID(security_->write_rows(credentials));
    LWM2M_TRY(st, db_.prepare("INSERT INTO bootstrap_outcomes(endpoint, time, success, session, "
                              "detail) VALUES(?1,?2,?3,?4,?5)"));
    st.bind(1, outcome.endpoint)
        .bind(2, outcome.time)
        .bind(3, outcome.success ? 1 : 0)
        .bind(4, static_cast<std::int64_t>(outcome.session))
        .bind(5, outcome.detail);
    LWM2M_TRY_VOID(st.run());
    const auto id = static_cast<std::uint64_t>(db_.last_insert_rowid());
    LWM2M_TRY_VOID(tx.commit());
    security_->apply_committed(credentials);
    return id;
}

Result<std::vector<BootstrapOutcome>> SqliteStores::bootstrap_outcomes(std::string_view endpoint,
                                                                       std::size_t limit) const {
    auto& db = const_cast<Database&>(db_); // reads only
    LWM2M_TRY(st,
              db.prepare(endpoint.empty()
                             ? "SELECT id, endpoint, time, success, session, detail FROM "
                               "bootstrap_outcomes ORDER BY id DESC LIMIT ?2"
                             : "SELECT id, endpoint, time, success, session, detail FROM "
                               "bootstrap_outcomes WHERE endpoint=?1 ORDER BY id DESC LIMIT ?2"));
    if (!endpoint.empty()) st.bind(1, endpoint);
    st.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    std::vector<BootstrapOutcome> out;
    for (;;) {
        LWM2M_TRY(row, st.step());
        if (!row) break;
        BootstrapOutcome o;
        o.id = static_cast<std::uint64_t>(st.int64(0));
        o.endpoint = std::string(st.text(1));
        o.time = st.int64(2);
        o.success = st.int64(3) != 0;
        o.session = static_cast<std::uint64_t>(st.int64(4));
        o.detail = std::string(st.text(5));
        out.push_back(std::move(o));
    }
    return out;
}

} // namespace lwm2m::store
