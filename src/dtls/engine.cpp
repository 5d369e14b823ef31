#include "dtls/engine.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace lwm2m::dtls::detail {

// ---- GnuTLS's own log output ----------------------------------------------------------------
//
// GnuTLS reads GNUTLS_DEBUG_LEVEL when the library loads and then prints every message of that
// level or below to stderr. Its levels (lib/errors.h): 1 audit, 2 debug, 3 assertions and
// certificate/DN lines, 4 handshake, 5 record, 6 DTLS, 9 "hard" (premaster and master secrets,
// key blocks, MPIs: for PSK the premaster secret holds the key in hex), 10/11 record contents
// read/written (application data: LwM2M bootstrap writes carry keys), 12/13 I/O and buffers.
// We install our own log function at initialisation, set the level ourselves and forward only
// levels <= kMaxGnutlsLogLevel to the Logger of the object whose GnuTLS call is running; nothing
// of GnuTLS's output ever goes to stderr. SSLKEYLOGFILE is neutralised per session (keylog_noop).
// They arrive at LogLevel::trace: an assertion line per internal check (dozens per handshake)
// would drown our own debug diagnostics (a failed handshake's reason is logged at info).
namespace {

constexpr int kMaxGnutlsLogLevel = 3;

/// The Logger of the ClientSession/ServerTable whose GnuTLS call runs on this thread (GnuTLS
/// logs synchronously from inside the call).
thread_local Logger* t_gnutls_logger = nullptr;
/// Whether some owner's Logger wants trace output (then GnuTLS formats levels 1..3).
std::atomic<bool> g_gnutls_debug_wanted{false};

void forward_gnutls_log(int level, const char* text) {
    if (level > kMaxGnutlsLogLevel || text == nullptr) return; // never: may carry key material
    Logger* l = t_gnutls_logger;
    if (l == nullptr || !l->enabled(LogLevel::trace)) return;
    std::string_view s(text);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    l->write(LogLevel::trace, "gnutls", s);
}

void forward_gnutls_audit(gnutls_session_t, const char* text) {
    forward_gnutls_log(1, text);
}

/// SSLKEYLOGFILE: GnuTLS's default keylog function appends every session's secrets to that
/// file. Ours drops them.
int keylog_noop(gnutls_session_t, const char*, const gnutls_datum_t*) {
    return 0;
}

void apply_gnutls_log_level() {
    gnutls_global_set_log_level(
        g_gnutls_debug_wanted.load(std::memory_order_relaxed) ? kMaxGnutlsLogLevel : 0);
}

} // namespace

GnutlsLogScope::GnutlsLogScope(Logger* logger) noexcept
    : previous_(t_gnutls_logger) {
    t_gnutls_logger = logger;
}
GnutlsLogScope::~GnutlsLogScope() {
    t_gnutls_logger = previous_;
}

void want_gnutls_debug_log() {
    g_gnutls_debug_wanted.store(true, std::memory_order_relaxed);
    apply_gnutls_log_level();
}

GlobalInit::GlobalInit() {
    ok_ = gnutls_global_init() >= 0;
    if (!ok_) return;
    // Replaces the stderr printer GnuTLS installed for GNUTLS_DEBUG_LEVEL, and its level.
    gnutls_global_set_log_function(&forward_gnutls_log);
    gnutls_global_set_audit_log_function(&forward_gnutls_audit);
    apply_gnutls_log_level();
}
GlobalInit::~GlobalInit() {
    if (ok_) gnutls_global_deinit();
}

Shared::~Shared() {
    if (cert) gnutls_certificate_free_credentials(cert);
    if (psk_client) gnutls_psk_free_client_credentials(psk_client);
    if (psk_server) gnutls_psk_free_server_credentials(psk_server);
}

PeerBytes peer_bytes(const PeerAddr& p) noexcept {
    PeerBytes out;
    out.b[0] = static_cast<std::uint8_t>(p.family);
    std::memcpy(&out.b[1], p.addr.data(), 16);
    out.b[17] = static_cast<std::uint8_t>(p.port >> 8);
    out.b[18] = static_cast<std::uint8_t>(p.port & 0xFF);
    out.b[19] = static_cast<std::uint8_t>(p.scope_id >> 24);
    out.b[20] = static_cast<std::uint8_t>(p.scope_id >> 16);
    out.b[21] = static_cast<std::uint8_t>(p.scope_id >> 8);
    out.b[22] = static_cast<std::uint8_t>(p.scope_id);
    out.n = 23;
    return out;
}

// ---- GnuTLS callbacks -------------------------------------------------------------------------

struct Callbacks {
    static ssize_t vec_push(gnutls_transport_ptr_t ptr, const giovec_t* iov, int iovcnt) {
        auto* c = static_cast<Conn*>(ptr);
        std::size_t total = 0;
        for (int i = 0; i < iovcnt; ++i)
            total += iov[i].iov_len;
        Bytes b(total);
        std::size_t off = 0;
        for (int i = 0; i < iovcnt; ++i) {
            if (iov[i].iov_len != 0) std::memcpy(b.data() + off, iov[i].iov_base, iov[i].iov_len);
            off += iov[i].iov_len;
        }
        // Client: each (re)transmission of the flight that ends with our Finished (the only
        // epoch >= 1 handshake record we send).
        if (!c->server_ && c->state_ == Conn::State::handshaking && has_encrypted_handshake(b)) {
            ++c->finished_sent_;
        }
        c->out_->tx.push_back(Datagram{c->peer_, std::move(b)});
        return static_cast<ssize_t>(total);
    }
    static ssize_t pull(gnutls_transport_ptr_t ptr, void* buf, size_t len) {
        auto* c = static_cast<Conn*>(ptr);
        if (!c->has_in_) {
            gnutls_transport_set_errno(c->s_, EAGAIN);
            return -1;
        }
        const std::size_t n = std::min(len, c->in_.size());
        if (n != 0) std::memcpy(buf, c->in_.data(), n);
        c->has_in_ = false;
        return static_cast<ssize_t>(n);
    }
    static int pull_timeout(gnutls_transport_ptr_t ptr, unsigned int /*ms*/) {
        auto* c = static_cast<Conn*>(ptr);
        return c->has_in_ ? 1 : 0;
    }
    // RFC 4279 §5.1 / §2: the server looks the key up by identity (binary-safe datum).
    static int psk_server(gnutls_session_t s, const gnutls_datum_t* username, gnutls_datum_t* key) {
        auto* c = static_cast<Conn*>(gnutls_session_get_ptr(s));
        if (c == nullptr || c->shared_->policy == nullptr) return -1;
        c->identity.kind = PeerIdentity::Kind::psk;
        c->identity.psk_identity.assign(view_of(*username).begin(), view_of(*username).end());
        auto k = c->shared_->policy->psk_key(view_of(*username));
        if (!k || k->empty()) {
            c->fail_reason = Errc::unknown_identity;
            return -1;
        }
        key->data = static_cast<unsigned char*>(gnutls_malloc(k->size()));
        if (key->data == nullptr) return -1;
        std::memcpy(key->data, k->view().data(), k->size());
        key->size = static_cast<unsigned>(k->size());
        return 0; // GnuTLS wipes and frees key->data; `k` wipes itself.
    }
    static int verify(gnutls_session_t s) {
        auto* c = static_cast<Conn*>(gnutls_session_get_ptr(s));
        if (c == nullptr || c->shared_->policy == nullptr) return -1;
        const Errc e = c->shared_->policy->verify_peer(*c);
        if (e != Errc{}) {
            c->fail_reason = e;
            return -1;
        }
        return 0;
    }
};

int verify_callback(gnutls_session_t s) {
    return Callbacks::verify(s);
}
int psk_server_callback(gnutls_session_t s, const gnutls_datum_t* username, gnutls_datum_t* key) {
    return Callbacks::psk_server(s, username, key);
}

// ---- Conn -------------------------------------------------------------------------------------

Conn::~Conn() {
    if (s_ != nullptr) gnutls_deinit(s_);
}

Result<void> Conn::init(bool server, const gnutls_dtls_prestate_st* prestate) {
    server_ = server;
    unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK;
    if (shared_->rawpk) flags |= GNUTLS_ENABLE_RAWPK;
    if (gnutls_init(&s_, flags) < 0) {
        s_ = nullptr;
        return fail(Errc::internal_error);
    }
    if (gnutls_priority_set(s_, shared_->priority) < 0) return fail(Errc::internal_error);
    if (shared_->cert != nullptr &&
        gnutls_credentials_set(s_, GNUTLS_CRD_CERTIFICATE, shared_->cert) < 0)
        return fail(Errc::internal_error);
    if (shared_->psk_client != nullptr &&
        gnutls_credentials_set(s_, GNUTLS_CRD_PSK, shared_->psk_client) < 0)
        return fail(Errc::internal_error);
    if (shared_->psk_server != nullptr &&
        gnutls_credentials_set(s_, GNUTLS_CRD_PSK, shared_->psk_server) < 0)
        return fail(Errc::internal_error);
    if (server && shared_->cert != nullptr)
        gnutls_certificate_server_set_request(s_, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_ptr(s_, this);
    gnutls_session_set_keylog_function(s_, &keylog_noop);
    gnutls_transport_set_ptr(s_, this);
    gnutls_transport_set_vec_push_function(s_, &Callbacks::vec_push);
    gnutls_transport_set_pull_function(s_, &Callbacks::pull);
    gnutls_transport_set_pull_timeout_function(s_, &Callbacks::pull_timeout);
    gnutls_dtls_set_mtu(s_, static_cast<unsigned>(shared_->mtu));
    gnutls_dtls_set_timeouts(s_, shared_->retransmit_ms, shared_->total_ms);
    if (prestate != nullptr)
        gnutls_dtls_prestate_set(s_, const_cast<gnutls_dtls_prestate_st*>(prestate));
    state_ = State::handshaking;
    return ok();
}

void Conn::start(TimePoint now) {
    const GnutlsLogScope scope(shared_->logger);
    started = now;
    last_activity = now;
    drive(now);
}

void Conn::on_datagram(TimePoint now, BytesView ciphertext) {
    if (state_ != State::handshaking && state_ != State::established) return;
    const GnutlsLogScope scope(shared_->logger);
    const bool encrypted_finished =
        state_ == State::handshaking && has_encrypted_handshake(ciphertext);
    if (finished_sent_ > 0 && state_ == State::handshaking) {
        // Anything the server protects with the new keys (its Finished) answers our Finished;
        // an alert in the clear after it is a refusal (scan_records()).
        const RecordScan r = scan_records(ciphertext);
        finished_answered_ = finished_answered_ || r.epoch1;
        alert_after_finished_ = alert_after_finished_ || r.alert;
    }
    // The client retransmits its final flight (epoch-0 handshake record first) when our
    // CCS + Finished was lost.
    const bool peer_retransmits = state_ == State::established && !final_flight_.empty() &&
                                  ciphertext.size() > 13 &&
                                  std::to_integer<std::uint8_t>(ciphertext[0]) == 22 &&
                                  ciphertext[3] == std::byte{0} && ciphertext[4] == std::byte{0};
    in_ = ciphertext;
    has_in_ = true;
    last_activity = now;
    drive(now);
    has_in_ = false;
    in_ = {};
    if (peer_retransmits && state_ == State::established && out_->tx.size() == tx_mark_) {
        // GnuTLS rate-limits and time-limits its own resend; ours is bounded by the client's
        // retransmission schedule.
        for (const auto& d : final_flight_)
            out_->tx.push_back(Datagram{peer_, d});
    }
    // DTLS silently discards records that fail authentication (RFC 6347 §4.1.2.7), so a PSK
    // key mismatch shows up as a Finished that never decrypts. After the second such flight
    // (the peer's retransmission) we fail with a clear error and a decrypt_error alert
    // (RFC 4279 §2) instead of waiting for the handshake timeout.
    if (encrypted_finished && state_ == State::handshaking && ++undecryptable_finished_ >= 2) {
        fail_reason = Errc::bad_credentials;
        gnutls_alert_send(s_, GNUTLS_AL_FATAL, GNUTLS_A_DECRYPT_ERROR);
        fail_handshake(now, GNUTLS_E_DECRYPTION_FAILED, false);
    }
}

RecordScan scan_records(BytesView d) noexcept {
    RecordScan r;
    std::size_t off = 0;
    while (off + 13 <= d.size()) { // RFC 6347 §4.1 record header
        const auto type = std::to_integer<std::uint8_t>(d[off]);
        const auto epoch = static_cast<unsigned>((std::to_integer<unsigned>(d[off + 3]) << 8) |
                                                 std::to_integer<unsigned>(d[off + 4]));
        const auto len = static_cast<std::size_t>((std::to_integer<unsigned>(d[off + 11]) << 8) |
                                                  std::to_integer<unsigned>(d[off + 12]));
        if (epoch >= 1) r.epoch1 = true;
        if (type == 22 && epoch >= 1) r.encrypted_handshake = true;
        if (type == 21) r.alert = true;
        off += 13 + len;
    }
    return r;
}

bool has_encrypted_handshake(BytesView d) noexcept {
    return scan_records(d).encrypted_handshake;
}

void Conn::on_timeout(TimePoint now) {
    if (state_ != State::handshaking) return;
    const GnutlsLogScope scope(shared_->logger);
    if (now >= started + std::chrono::milliseconds(shared_->total_ms)) {
        fail_reason = Errc::handshake_timeout; // refined by diagnose() in fail_handshake
        fail_handshake(now, GNUTLS_E_TIMEDOUT, false);
        return;
    }
    if (retransmit_at_ && now >= *retransmit_at_) {
        // RFC 6347 §4.1.2.7: a server that cannot decrypt our Finished (wrong PSK key, or a key
        // for another identity) may drop it silently (OpenSSL does), so the handshake would only
        // time out. Our final flight went out kFinishedTransmissions times and a full
        // retransmission timeout passed after the last without a reply: say so now.
        if (psk_client() && finished_sent_ >= kFinishedTransmissions && !finished_answered_) {
            fail_reason = Errc::no_finished_reply;
            fail_handshake(now, GNUTLS_E_TIMEDOUT, false);
            return;
        }
        drive(now);
    }
}

bool Conn::psk_client() const noexcept {
    return !server_ && identity.kind == PeerIdentity::Kind::psk;
}

Errc Conn::diagnose(Errc e) const noexcept {
    if (!psk_client() || finished_sent_ == 0 || finished_answered_) return e;
    // Specific answers of the server keep their meaning.
    if (e == Errc::unknown_identity || e == Errc::bad_credentials) return e;
    if (alert_after_finished_)
        return Errc::finished_refused; // e.g. close_notify, handshake_failure
    if (e == Errc::handshake_timeout && finished_sent_ >= 2) return Errc::no_finished_reply;
    return e;
}

std::optional<TimePoint> Conn::deadline() const noexcept {
    if (state_ != State::handshaking) return std::nullopt;
    const TimePoint limit = started + std::chrono::milliseconds(shared_->total_ms);
    if (!retransmit_at_) return limit;
    return std::min(*retransmit_at_, limit);
}

void Conn::update_deadline(TimePoint now) {
    if (state_ != State::handshaking) {
        retransmit_at_.reset();
        return;
    }
    const unsigned ms = gnutls_dtls_get_timeout(s_);
    retransmit_at_ = now + std::chrono::milliseconds(std::max(ms, 1U));
}

namespace {
unsigned alert_for(Errc e) {
    switch (e) {
    case Errc::unknown_identity:
        return GNUTLS_A_UNKNOWN_PSK_IDENTITY;
    case Errc::certificate_expired:
        return GNUTLS_A_CERTIFICATE_EXPIRED;
    case Errc::certificate_untrusted:
        return GNUTLS_A_UNKNOWN_CA;
    case Errc::peer_verification_failed:
        return GNUTLS_A_BAD_CERTIFICATE;
    case Errc::no_common_cipher_suite:
    default:
        return GNUTLS_A_HANDSHAKE_FAILURE;
    }
}
} // namespace

void Conn::drive(TimePoint now) {
    tx_mark_ = out_->tx.size();
    if (state_ == State::handshaking) {
        for (int i = 0; i < 16 && state_ == State::handshaking; ++i) {
            const int r = gnutls_handshake(s_);
            if (r == 0) {
                handshake_done(now);
                break;
            }
            if (fail_reason != Errc{}) {
                fail_handshake(now, r, r != GNUTLS_E_FATAL_ALERT_RECEIVED);
                return;
            }
            if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
                // GnuTLS may return after processing a record it had buffered from an earlier
                // datagram (e.g. a retransmitted flight) without reading the current one: call
                // again until the datagram is consumed.
                if (has_in_) continue;
                update_deadline(now);
                return;
            }
            if (gnutls_error_is_fatal(r) != 0) {
                fail_handshake(now, r, r != GNUTLS_E_FATAL_ALERT_RECEIVED);
                return;
            }
            // Non-fatal (warning alert, ignored record): keep going.
        }
        if (state_ == State::handshaking) {
            update_deadline(now);
            return;
        }
    }
    if (state_ == State::established) drain_records(now);
}

void Conn::handshake_done(TimePoint now) {
    const auto suite = negotiated_suite(s_);
    const bool allowed = suite && std::find(shared_->suites.begin(), shared_->suites.end(),
                                            *suite) != shared_->suites.end();
    if (!allowed) {
        // The priority string is a product of kx x cipher x MAC; refuse a combination the
        // configuration did not list (LwM2M Security Object resource 16).
        fail_reason = Errc::no_common_cipher_suite;
        gnutls_alert_send(s_, GNUTLS_AL_FATAL, GNUTLS_A_HANDSHAKE_FAILURE);
        state_ = State::closed;
        retransmit_at_.reset();
        log(*shared_, LogLevel::info, [&] {
            return "handshake with " + peer_.to_string() +
                   " refused: negotiated suite not configured";
        });
        if (!quiet) emit(HandshakeFailed{peer_, make_error_code(fail_reason)});
        return;
    }
    if (identity.kind == PeerIdentity::Kind::none && server_ &&
        gnutls_kx_get(s_) == GNUTLS_KX_PSK) {
        gnutls_datum_t u{};
        if (gnutls_psk_server_get_username2(s_, &u) == 0) {
            identity.kind = PeerIdentity::Kind::psk;
            identity.psk_identity.assign(view_of(u).begin(), view_of(u).end());
        }
    }
    if (server_) {
        for (std::size_t i = tx_mark_; i < out_->tx.size(); ++i)
            final_flight_.push_back(out_->tx[i].bytes);
    }
    state_ = State::established;
    suite_ = *suite;
    retransmit_at_.reset();
    established_once = true;
    last_activity = now;
    log(*shared_, LogLevel::debug, [&] { return "handshake with " + peer_.to_string() + " done"; });
    if (shared_->policy != nullptr) shared_->policy->on_established(*this);
    emit(HandshakeDone{peer_, identity, *suite});
}

void Conn::fail_handshake(TimePoint /*now*/, int gnutls_error, bool send_alert) {
    const Errc e = diagnose(fail_reason != Errc{} ? fail_reason : map_error(s_, gnutls_error));
    fail_reason = e;
    if (send_alert && s_ != nullptr) {
        if (e == Errc::unknown_identity || e == Errc::certificate_expired ||
            e == Errc::certificate_untrusted || e == Errc::peer_verification_failed) {
            const unsigned a =
                (e == Errc::unknown_identity && identity.kind != PeerIdentity::Kind::psk)
                    ? static_cast<unsigned>(GNUTLS_A_ACCESS_DENIED)
                    : alert_for(e);
            gnutls_alert_send(s_, GNUTLS_AL_FATAL, static_cast<gnutls_alert_description_t>(a));
        } else if (e != Errc::handshake_timeout) {
            gnutls_alert_send_appropriate(s_, gnutls_error);
        }
    }
    state_ = State::closed;
    retransmit_at_.reset();
    log(*shared_, LogLevel::info, [&] {
        std::string detail = gnutls_strerror(gnutls_error);
        if (gnutls_error == GNUTLS_E_FATAL_ALERT_RECEIVED ||
            gnutls_error == GNUTLS_E_WARNING_ALERT_RECEIVED || alert_after_finished_) {
            const char* name = gnutls_alert_get_name(gnutls_alert_get(s_));
            if (name != nullptr) detail += std::string("; last alert received: ") + name;
        }
        if (finished_sent_ > 0)
            detail += "; our Finished sent " + std::to_string(finished_sent_) + " time(s)" +
                      (finished_answered_ ? ", answered" : ", no encrypted reply");
        return "handshake with " + peer_.to_string() + " failed: " + make_error_code(e).message() +
               " (" + detail + ")";
    });
    if (!quiet) emit(HandshakeFailed{peer_, make_error_code(e)});
}

void Conn::drain_records(TimePoint now) {
    // One receive buffer per thread for every Conn (a core object is owned by one thread and
    // records are copied out into Plaintext events); max record plaintext 2^14 (RFC 6347 §4.1).
    thread_local std::array<std::byte, 16384 + 256> buf;
    for (int i = 0; i < 64 && state_ == State::established; ++i) {
        std::array<unsigned char, 8> seq{};
        const ssize_t n = gnutls_record_recv_seq(s_, buf.data(), buf.size(), seq.data());
        if (n > 0) {
            // DTLS: epoch(2) || sequence number(6).
            std::uint64_t sn = 0;
            for (std::size_t k = 2; k < 8; ++k)
                sn = (sn << 8) | seq[k];
            if (server_) read_window_.mark(sn);
            last_activity = now;
            if (!final_flight_.empty()) std::vector<Bytes>().swap(final_flight_); // peer is done
            emit(Plaintext{peer_, Bytes(buf.begin(), buf.begin() + n)});
            continue;
        }
        if (n == 0) { // close_notify (RFC 5246 §7.2.1)
            state_ = State::closed;
            log(*shared_, LogLevel::debug,
                [&] { return "close_notify from " + peer_.to_string(); });
            emit(Closed{peer_, make_error_code(Errc::closed)});
            return;
        }
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            if (has_in_) continue; // see drive(): the datagram is not consumed yet
            return;
        }
        if (n == GNUTLS_E_REHANDSHAKE) {
            // We do not renegotiate (RFC 5746 is not needed for LwM2M); refuse politely.
            gnutls_alert_send(s_, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
            continue;
        }
        if (gnutls_error_is_fatal(static_cast<int>(n)) == 0) continue;
        state_ = State::closed;
        const Errc e = Errc::peer_alert;
        log(*shared_, LogLevel::info, [&] {
            return "session with " + peer_.to_string() +
                   " closed: " + gnutls_strerror(static_cast<int>(n));
        });
        emit(Closed{peer_, make_error_code(e)});
        return;
    }
}

Result<SessionState> Conn::export_state() const {
    if (state_ != State::established || !server_ || !exportable_suite(suite_))
        return fail(Errc::not_exportable);
    gnutls_datum_t rd_mac{}, rd_iv{}, rd_key{}, wr_mac{}, wr_iv{}, wr_key{};
    std::array<unsigned char, 8> rd_seq{}, wr_seq{};
    if (gnutls_record_get_state(s_, 1, &rd_mac, &rd_iv, &rd_key, rd_seq.data()) < 0 ||
        gnutls_record_get_state(s_, 0, &wr_mac, &wr_iv, &wr_key, wr_seq.data()) < 0)
        return fail(Errc::internal_error);
    if (gnutls_cipher_get(s_) != GNUTLS_CIPHER_AES_128_CCM_8) return fail(Errc::not_exportable);
    SessionState st;
    st.suite = suite_;
    st.client_write_key = SecretBytes(view_of(rd_key));
    st.client_write_iv = SecretBytes(view_of(rd_iv));
    st.server_write_key = SecretBytes(view_of(wr_key));
    st.server_write_iv = SecretBytes(view_of(wr_iv));
    // GnuTLS keeps the DTLS write sequence number as epoch(2) || seq(6), the next one to use.
    std::uint64_t ws = 0;
    for (unsigned char c : wr_seq)
        ws = (ws << 8) | c;
    st.epoch = static_cast<std::uint16_t>(ws >> 48);
    st.write_seq = ws & kMaxRecordSequence;
    if (st.epoch == 0) st.epoch = 1;
    // The client's Finished was its first epoch-1 record (sequence number 0, or a later one if
    // it retransmitted): records GnuTLS returned are in read_window_; an unseen number below
    // them stays acceptable (RFC 6347 §4.1.2.6), an epoch-1 handshake record is dropped anyway.
    st.read_window = read_window_;
    st.identity = identity;
    st.peer = peer_;
    return st;
}

Result<void> Conn::send(TimePoint now, BytesView plaintext) {
    if (state_ != State::established) return fail(Errc::not_connected);
    if (plaintext.size() > max_plaintext()) return fail(Errc::message_too_large);
    const GnutlsLogScope scope(shared_->logger);
    const ssize_t r = gnutls_record_send(s_, plaintext.data(), plaintext.size());
    if (r == GNUTLS_E_LARGE_PACKET) return fail(Errc::message_too_large);
    if (r < 0) return fail(Errc::internal_error);
    last_activity = now;
    return ok();
}

void Conn::close_notify() {
    const GnutlsLogScope scope(shared_->logger);
    if (state_ == State::established) gnutls_bye(s_, GNUTLS_SHUT_WR);
    state_ = State::closed;
    retransmit_at_.reset();
}

std::size_t Conn::max_plaintext() const noexcept {
    if (state_ != State::established) return 0;
    return gnutls_dtls_get_data_mtu(s_);
}

// ---- helpers ----------------------------------------------------------------------------------

namespace {
bool is_psk(CipherSuite s) {
    return s == CipherSuite::psk_aes_128_ccm_8 || s == CipherSuite::psk_aes_128_cbc_sha256;
}
bool is_ccm8(CipherSuite s) {
    return s == CipherSuite::psk_aes_128_ccm_8 || s == CipherSuite::ecdhe_ecdsa_aes_128_ccm_8;
}
} // namespace

Result<void> Shared::apply_common(const CommonConfig& cfg) {
    if (cfg.cipher_suites.empty() || cfg.mtu < 256 || cfg.mtu > 65507)
        return fail(Errc::invalid_config);
    suites = cfg.cipher_suites;
    mtu = cfg.mtu;
    retransmit_ms = static_cast<unsigned>(std::max<std::int64_t>(1, to_ms(cfg.retransmit_timeout)));
    total_ms = static_cast<unsigned>(std::max<std::int64_t>(1, to_ms(cfg.handshake_timeout)));
    logger = cfg.logger;
    if (logger != nullptr && logger->enabled(LogLevel::trace)) want_gnutls_debug_log();
    return ok();
}

Result<void> Shared::init_priority(const std::vector<CipherSuite>& suites_, bool want_psk,
                                   bool want_cert, bool x509_ctype, bool rawpk_ctype) {
    const auto key = priority_key(suites_, want_psk, want_cert, x509_ctype, rawpk_ctype);
    if (!key) return fail(Errc::invalid_config);
    // Parsing a priority string costs several microseconds (a fifth of a client's first
    // flight in bench_server's DTLS-PSK loop); a fleet holds thousands of sessions with the
    // same few strings. There are at most 64 of them (the key's six bits): each is parsed once
    // per process and kept to its end, shared by every session (GnuTLS only reads a
    // gnutls_priority_t after gnutls_priority_init, from any thread). A lost race parses
    // twice and frees one.
    static std::array<std::atomic<gnutls_priority_t>, 64> cache{};
    auto& slot = cache[*key];
    priority = slot.load(std::memory_order_acquire);
    if (priority != nullptr) return ok();
    // The cached caches outlive every Shared: GnuTLS stays initialised for them.
    static const bool kept_initialised = gnutls_global_init() >= 0;
    if (!kept_initialised) return fail(Errc::internal_error);
    const std::string prio = priority_string(suites_, want_psk, want_cert, x509_ctype, rawpk_ctype);
    gnutls_priority_t fresh = nullptr;
    if (gnutls_priority_init(&fresh, prio.c_str(), nullptr) < 0) return fail(Errc::invalid_config);
    gnutls_priority_t expected = nullptr;
    if (slot.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) {
        priority = fresh;
    } else {
        gnutls_priority_deinit(fresh);
        priority = expected;
    }
    return ok();
}

namespace {
struct PriorityFlags {
    bool psk = false, ecdhe = false, ccm8 = false, cbc = false;
};
PriorityFlags priority_flags(const std::vector<CipherSuite>& suites, bool want_psk,
                             bool want_cert) {
    PriorityFlags f;
    for (auto s : suites) {
        const bool p = is_psk(s);
        if (p && !want_psk) continue;
        if (!p && !want_cert) continue;
        (p ? f.psk : f.ecdhe) = true;
        (is_ccm8(s) ? f.ccm8 : f.cbc) = true;
    }
    return f;
}
} // namespace

std::optional<unsigned> priority_key(const std::vector<CipherSuite>& suites, bool want_psk,
                                     bool want_cert, bool x509_ctype, bool rawpk_ctype) {
    const auto f = priority_flags(suites, want_psk, want_cert);
    if (!f.psk && !f.ecdhe) return std::nullopt;
    return (f.psk ? 1U : 0U) | (f.ecdhe ? 2U : 0U) | (f.ccm8 ? 4U : 0U) | (f.cbc ? 8U : 0U) |
           (x509_ctype || !rawpk_ctype ? 16U : 0U) | (rawpk_ctype ? 32U : 0U);
}

std::string priority_string(const std::vector<CipherSuite>& suites, bool want_psk, bool want_cert,
                            bool x509_ctype, bool rawpk_ctype) {
    const auto [psk, ecdhe, ccm8, cbc] = priority_flags(suites, want_psk, want_cert);
    if (!psk && !ecdhe) return {};
    // GnuTLS needs a signature algorithm even for plain PSK; P-256/SHA-256 only (RFC 7251 §2).
    std::string r =
        "NONE:+VERS-DTLS1.2:+CURVE-SECP256R1:+SIGN-ECDSA-SHA256:+SIGN-ECDSA-SECP256R1-SHA256";
    if (psk) r += ":+PSK";
    if (ecdhe) r += ":+ECDHE-ECDSA";
    if (ccm8) r += ":+AES-128-CCM-8:+AEAD";
    if (cbc) r += ":+AES-128-CBC:+SHA256";
    if (x509_ctype || !rawpk_ctype) r += ":+CTYPE-CLI-X509:+CTYPE-SRV-X509";
    if (rawpk_ctype) r += ":+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK";
    return r;
}

std::optional<CipherSuite> negotiated_suite(gnutls_session_t s) {
    const auto kx = gnutls_kx_get(s);
    const auto cipher = gnutls_cipher_get(s);
    const auto mac = gnutls_mac_get(s);
    if (kx == GNUTLS_KX_PSK) {
        if (cipher == GNUTLS_CIPHER_AES_128_CCM_8) return CipherSuite::psk_aes_128_ccm_8;
        if (cipher == GNUTLS_CIPHER_AES_128_CBC && mac == GNUTLS_MAC_SHA256)
            return CipherSuite::psk_aes_128_cbc_sha256;
    } else if (kx == GNUTLS_KX_ECDHE_ECDSA) {
        if (cipher == GNUTLS_CIPHER_AES_128_CCM_8) return CipherSuite::ecdhe_ecdsa_aes_128_ccm_8;
        if (cipher == GNUTLS_CIPHER_AES_128_CBC && mac == GNUTLS_MAC_SHA256)
            return CipherSuite::ecdhe_ecdsa_aes_128_cbc_sha256;
    }
    return std::nullopt;
}

Errc map_error(gnutls_session_t s, int e) {
    switch (e) {
    case GNUTLS_E_FATAL_ALERT_RECEIVED:
        switch (gnutls_alert_get(s)) {
        case GNUTLS_A_UNKNOWN_PSK_IDENTITY:
            return Errc::unknown_identity;
        case GNUTLS_A_DECRYPT_ERROR:
        case GNUTLS_A_BAD_RECORD_MAC:
            return Errc::bad_credentials;
        case GNUTLS_A_BAD_CERTIFICATE:
        case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
        case GNUTLS_A_CERTIFICATE_REVOKED:
        case GNUTLS_A_CERTIFICATE_EXPIRED:
        case GNUTLS_A_CERTIFICATE_UNKNOWN:
        case GNUTLS_A_UNKNOWN_CA:
        case GNUTLS_A_ACCESS_DENIED:
            return Errc::peer_rejected;
        case GNUTLS_A_HANDSHAKE_FAILURE:
        case GNUTLS_A_INSUFFICIENT_SECURITY:
            return Errc::no_common_cipher_suite;
        default:
            return Errc::handshake_failed;
        }
    case GNUTLS_E_TIMEDOUT:
        return Errc::handshake_timeout;
    case GNUTLS_E_DECRYPTION_FAILED:
    case GNUTLS_E_ERROR_IN_FINISHED_PACKET:
        return Errc::bad_credentials;
    case GNUTLS_E_NO_CIPHER_SUITES:
    case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
    case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
    case GNUTLS_E_NO_COMMON_KEY_SHARE:
    case GNUTLS_E_UNSUPPORTED_CERTIFICATE_TYPE:
        return Errc::no_common_cipher_suite;
    case GNUTLS_E_NO_CERTIFICATE_FOUND:
    case GNUTLS_E_CERTIFICATE_ERROR:
    case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
        return Errc::peer_verification_failed;
    case GNUTLS_E_MEMORY_ERROR:
        return Errc::internal_error;
    default:
        return Errc::handshake_failed;
    }
}

Result<void> add_rawpk(gnutls_certificate_credentials_t cred, const RpkCredentials& rpk) {
    if (rpk.public_key_spki_der.empty() || rpk.private_key_der.empty())
        return fail(Errc::invalid_config);
    gnutls_datum_t spki = datum(rpk.public_key_spki_der);
    gnutls_datum_t key = datum(rpk.private_key_der.view());
    const int r = gnutls_certificate_set_rawpk_key_mem(cred, &spki, &key, GNUTLS_X509_FMT_DER,
                                                       nullptr, 0, nullptr, 0, 0);
    if (r < 0) return fail(Errc::invalid_config);
    return ok();
}

Result<void> add_x509(gnutls_certificate_credentials_t cred, const X509Credentials& x509) {
    if (x509.chain_der.empty() || x509.private_key_der.empty()) return fail(Errc::invalid_config);
    std::vector<gnutls_pcert_st> pcerts(x509.chain_der.size());
    std::size_t imported = 0;
    auto cleanup = [&] {
        for (std::size_t i = 0; i < imported; ++i)
            gnutls_pcert_deinit(&pcerts[i]);
    };
    for (const auto& der : x509.chain_der) {
        gnutls_datum_t d = datum(der);
        if (gnutls_pcert_import_x509_raw(&pcerts[imported], &d, GNUTLS_X509_FMT_DER, 0) < 0) {
            cleanup();
            return fail(Errc::invalid_config);
        }
        ++imported;
    }
    gnutls_privkey_t key = nullptr;
    if (gnutls_privkey_init(&key) < 0) {
        cleanup();
        return fail(Errc::internal_error);
    }
    gnutls_datum_t kd = datum(x509.private_key_der.view());
    if (gnutls_privkey_import_x509_raw(key, &kd, GNUTLS_X509_FMT_DER, nullptr, 0) < 0) {
        gnutls_privkey_deinit(key);
        cleanup();
        return fail(Errc::invalid_config);
    }
    // Ownership of the pcerts' contents and the key moves into the credentials.
    if (gnutls_certificate_set_key(cred, nullptr, 0, pcerts.data(), static_cast<int>(pcerts.size()),
                                   key) < 0) {
        gnutls_privkey_deinit(key);
        cleanup();
        return fail(Errc::invalid_config);
    }
    return ok();
}

PeerCerts peer_certs(gnutls_session_t s) {
    PeerCerts p;
    p.list = gnutls_certificate_get_peers(s, &p.count);
    p.type = gnutls_certificate_type_get2(s, GNUTLS_CTYPE_PEERS);
    if (p.list == nullptr) p.count = 0;
    return p;
}

Bytes spki_of_cert(const gnutls_datum_t& der) {
    Bytes out;
    gnutls_x509_crt_t crt = nullptr;
    gnutls_pubkey_t pub = nullptr;
    if (gnutls_x509_crt_init(&crt) < 0) return out;
    if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) >= 0 &&
        gnutls_pubkey_init(&pub) >= 0) {
        gnutls_datum_t spki{};
        if (gnutls_pubkey_import_x509(pub, crt, 0) >= 0 &&
            gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &spki) >= 0) {
            out.assign(view_of(spki).begin(), view_of(spki).end());
            gnutls_free(spki.data);
        }
        gnutls_pubkey_deinit(pub);
    }
    gnutls_x509_crt_deinit(crt);
    return out;
}

std::string subject_dn_of_cert(const gnutls_datum_t& der) {
    std::string out;
    gnutls_x509_crt_t crt = nullptr;
    if (gnutls_x509_crt_init(&crt) < 0) return out;
    if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) >= 0) {
        gnutls_datum_t dn{};
        if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
            out.assign(reinterpret_cast<const char*>(dn.data), dn.size);
            gnutls_free(dn.data);
        }
    }
    gnutls_x509_crt_deinit(crt);
    return out;
}

gnutls_x509_trust_list_t make_trust_list(const std::vector<Bytes>& anchors) {
    gnutls_x509_trust_list_t tl = nullptr;
    if (gnutls_x509_trust_list_init(&tl, 0) < 0) return nullptr;
    for (const auto& a : anchors) {
        gnutls_x509_crt_t ca = nullptr;
        if (gnutls_x509_crt_init(&ca) < 0) continue;
        gnutls_datum_t d = datum(a);
        if (gnutls_x509_crt_import(ca, &d, GNUTLS_X509_FMT_DER) < 0 ||
            gnutls_x509_trust_list_add_cas(tl, &ca, 1, 0) != 1) {
            gnutls_x509_crt_deinit(ca);
        }
    }
    return tl;
}

Errc verify_chain(const PeerCerts& certs, const std::vector<Bytes>& anchors) {
    gnutls_x509_trust_list_t tl = make_trust_list(anchors);
    if (tl == nullptr) return Errc::internal_error;
    const Errc e = verify_chain(certs, tl);
    gnutls_x509_trust_list_deinit(tl, 1);
    return e;
}

Errc verify_chain(const PeerCerts& certs, gnutls_x509_trust_list_t tl) {
    if (certs.count == 0 || certs.type != GNUTLS_CRT_X509) return Errc::peer_verification_failed;
    if (tl == nullptr) return Errc::internal_error;
    std::vector<gnutls_x509_crt_t> crts;
    Errc result = Errc{};
    for (unsigned i = 0; i < certs.count; ++i) {
        gnutls_x509_crt_t c = nullptr;
        if (gnutls_x509_crt_init(&c) < 0) {
            result = Errc::internal_error;
            break;
        }
        crts.push_back(c);
        if (gnutls_x509_crt_import(c, &certs.list[i], GNUTLS_X509_FMT_DER) < 0) {
            result = Errc::peer_verification_failed;
            break;
        }
    }
    if (result == Errc{}) {
        unsigned status = 0;
        const int r = gnutls_x509_trust_list_verify_crt(
            tl, crts.data(), static_cast<unsigned>(crts.size()), 0, &status, nullptr);
        if (r >= 0 && (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED)) != 0)
            result = Errc::certificate_expired;
        else if (r < 0 || status != 0)
            result = Errc::certificate_untrusted;
    }
    for (auto c : crts)
        gnutls_x509_crt_deinit(c);
    return result;
}

} // namespace lwm2m::dtls::detail
