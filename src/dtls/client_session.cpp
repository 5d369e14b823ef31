#include <lwm2m/dtls/client_session.hpp>

#include <lwm2m/base/errc.hpp>

#include "dtls/engine.hpp"

namespace lwm2m::dtls {

using detail::Conn;

namespace {
// RFC 7250 §3 + LwM2M Security Object resource 4: the pin is the SubjectPublicKeyInfo DER; we
// also accept the bare uncompressed P-256 point (65 bytes, or 64 without the 0x04 prefix) that
// some bootstrap servers provision.
bool pin_matches_spki(BytesView pin, BytesView spki) {
    if (equal(pin, spki)) return true;
    if ((pin.size() == 65 || pin.size() == 64) && spki.size() > pin.size())
        return equal(pin, spki.subspan(spki.size() - pin.size()));
    return false;
}
} // namespace

struct ClientSession::Impl final : detail::Policy {
    ClientConfig cfg;
    detail::Shared shared;
    detail::Outbox out;
    std::unique_ptr<Conn> conn;

    std::optional<SecretBytes> psk_key(BytesView) override { return std::nullopt; }

    Errc verify_peer(Conn& c) override {
        const auto pc = detail::peer_certs(c.session());
        if (pc.count == 0) return Errc::peer_verification_failed;
        const BytesView ee = detail::view_of(pc.list[0]);
        if (pc.type == GNUTLS_CRT_RAWPK) {
            if (!std::holds_alternative<RpkCredentials>(cfg.credentials))
                return Errc::peer_verification_failed;
            c.identity.kind = PeerIdentity::Kind::raw_public_key;
            c.identity.public_key_spki.assign(ee.begin(), ee.end());
            return pin_matches_spki(cfg.server_public_key, ee) ? Errc{}
                                                               : Errc::peer_verification_failed;
        }
        if (pc.type != GNUTLS_CRT_X509 || !std::holds_alternative<X509Credentials>(cfg.credentials))
            return Errc::peer_verification_failed;
        c.identity.kind = PeerIdentity::Kind::x509;
        c.identity.certificate_der.assign(ee.begin(), ee.end());
        c.identity.public_key_spki = detail::spki_of_cert(pc.list[0]);
        c.identity.subject_dn = detail::subject_dn_of_cert(pc.list[0]);
        const BytesView pin = cfg.server_public_key;
        // RFC 6698 §2.1.1 certificate usages (LwM2M TS Core 1.1 Security Object resource 15).
        switch (cfg.certificate_usage) {
        case CertificateUsage::domain_issued_certificate:
            // DANE-EE: exact end-entity match; validity dates are not checked (RFC 7671 §5.1).
            return equal(ee, pin) ? Errc{} : Errc::peer_verification_failed;
        case CertificateUsage::trust_anchor_assertion:
            return detail::verify_chain(pc, {cfg.server_public_key});
        case CertificateUsage::service_certificate_constraint:
            if (!equal(ee, pin)) return Errc::peer_verification_failed;
            return detail::verify_chain(pc, cfg.trust_anchors_der);
        case CertificateUsage::ca_constraint: {
            if (equal(ee, pin)) return Errc::peer_verification_failed; // pin must be a CA
            if (!cfg.trust_anchors_der.empty()) {
                const Errc e = detail::verify_chain(pc, cfg.trust_anchors_der);
                if (e != Errc{}) return e;
            }
            // The pinned CA must be on the path: the chain validates with it as the anchor.
            const Errc e = detail::verify_chain(pc, {cfg.server_public_key});
            return e == Errc::certificate_untrusted ? Errc::peer_verification_failed : e;
        }
        }
        return Errc::peer_verification_failed;
    }
};

Result<ClientSession> ClientSession::create(ClientConfig config) {
    auto impl = std::make_unique<Impl>();
    impl->cfg = std::move(config);
    auto& cfg = impl->cfg;
    auto& sh = impl->shared;
    if (!sh.global.ok()) return fail(Errc::internal_error);
    LWM2M_TRY_VOID(sh.apply_common(cfg));
    sh.policy = impl.get();

    bool want_psk = false, x509 = false, rawpk = false;
    if (auto* psk = std::get_if<PskCredentials>(&cfg.credentials)) {
        if (psk->identity.empty() || psk->key.empty() || psk->identity.size() > 0xFFFF ||
            psk->key.size() > 0xFFFF)
            return fail(Errc::invalid_config);
        if (gnutls_psk_allocate_client_credentials(&sh.psk_client) < 0) {
            sh.psk_client = nullptr;
            return fail(Errc::internal_error);
        }
        gnutls_datum_t user{const_cast<unsigned char*>(
                                reinterpret_cast<const unsigned char*>(psk->identity.data())),
                            static_cast<unsigned>(psk->identity.size())};
        gnutls_datum_t key{const_cast<unsigned char*>(
                               reinterpret_cast<const unsigned char*>(psk->key.view().data())),
                           static_cast<unsigned>(psk->key.size())};
        // GnuTLS copies both; the copy of the key is wiped when the credentials are freed.
        if (gnutls_psk_set_client_credentials2(sh.psk_client, &user, &key, GNUTLS_PSK_KEY_RAW) < 0)
            return fail(Errc::invalid_config);
        want_psk = true;
    } else {
        if (cfg.server_public_key.empty()) return fail(Errc::invalid_config);
        if (gnutls_certificate_allocate_credentials(&sh.cert) < 0) {
            sh.cert = nullptr;
            return fail(Errc::internal_error);
        }
        if (auto* rpk = std::get_if<RpkCredentials>(&cfg.credentials)) {
            LWM2M_TRY_VOID(detail::add_rawpk(sh.cert, *rpk));
            rawpk = true;
            sh.rawpk = true;
        } else {
            LWM2M_TRY_VOID(detail::add_x509(sh.cert, std::get<X509Credentials>(cfg.credentials)));
            x509 = true;
        }
        gnutls_certificate_set_verify_function(sh.cert, &detail::verify_callback);
    }
    LWM2M_TRY_VOID(sh.init_priority(cfg.cipher_suites, want_psk, !want_psk, x509, rawpk));
    return ClientSession(std::move(impl));
}

ClientSession::ClientSession(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
ClientSession::ClientSession(ClientSession&&) noexcept = default;
ClientSession& ClientSession::operator=(ClientSession&&) noexcept = default;
ClientSession::~ClientSession() = default;

Result<void> ClientSession::connect(TimePoint now) {
    auto& im = *impl_;
    if (im.conn && (im.conn->state() == Conn::State::handshaking ||
                    im.conn->state() == Conn::State::established))
        return fail(lwm2m::Errc::invalid_state);
    im.conn.reset();
    auto c = std::make_unique<Conn>(im.shared, im.out, im.cfg.server);
    LWM2M_TRY_VOID(c->init(false, nullptr));
    if (auto* psk = std::get_if<PskCredentials>(&im.cfg.credentials)) {
        c->identity.kind = PeerIdentity::Kind::psk;
        c->identity.psk_identity = psk->identity;
    }
    im.conn = std::move(c);
    im.conn->start(now);
    return ok();
}

void ClientSession::on_datagram(TimePoint now, const PeerAddr& from, BytesView ciphertext) {
    if (!impl_->conn || from != impl_->cfg.server) return;
    impl_->conn->on_datagram(now, ciphertext);
}

void ClientSession::on_timeout(TimePoint now) {
    if (impl_->conn) impl_->conn->on_timeout(now);
}

std::optional<Datagram> ClientSession::poll_transmit() {
    return impl_->out.pop_tx();
}

std::optional<Event> ClientSession::poll_event() {
    return impl_->out.pop_event();
}

std::optional<TimePoint> ClientSession::next_deadline() const {
    return impl_->conn ? impl_->conn->deadline() : std::nullopt;
}

Result<void> ClientSession::send(TimePoint now, const PeerAddr& peer, BytesView plaintext) {
    if (!impl_->conn || peer != impl_->cfg.server) return fail(Errc::not_connected);
    return impl_->conn->send(now, plaintext);
}

void ClientSession::close(TimePoint /*now*/, const PeerAddr& peer) {
    if (!impl_->conn || peer != impl_->cfg.server) return;
    impl_->conn->close_notify();
}

bool ClientSession::established() const noexcept {
    return impl_->conn && impl_->conn->state() == Conn::State::established;
}
const PeerAddr& ClientSession::server() const noexcept {
    return impl_->cfg.server;
}
std::size_t ClientSession::max_plaintext() const noexcept {
    return impl_->conn ? impl_->conn->max_plaintext() : 0;
}

} // namespace lwm2m::dtls
