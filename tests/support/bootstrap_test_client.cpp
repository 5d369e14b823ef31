#include "support/bootstrap_test_client.hpp"

#include <lwm2m/client/access.hpp>
#include <lwm2m/format/codec.hpp>
#include <lwm2m/format/link_format.hpp>

namespace lwm2m::test {

class BootstrapTestClient::Wall final : public WallClock {
public:
    [[nodiscard]] std::int64_t unix_seconds() const override { return 1'800'000'000; }
};

namespace {

client::ClientConfig default_initial() {
    client::ClientConfig c;
    client::SecurityInstance bs;
    bs.bootstrap_server = true;
    bs.security_mode = client::SecurityMode::nosec;
    bs.server_uri = "coap://bs.example.com:5783";
    c.security[0] = std::move(bs);
    return c;
}

format::Link to_link(const client::LinkInfo& l) {
    format::Link out;
    out.target = l.path.to_string();
    if (l.ssid) out.attrs.push_back({"ssid", std::to_string(*l.ssid), false});
    if (l.uri) out.attrs.push_back({"uri", *l.uri, true});
    if (l.ver) out.attrs.push_back({"ver", *l.ver, false});
    return out;
}

coap::Message reply(coap::Code c) {
    coap::Message m;
    m.code = c;
    return m;
}

coap::Message reply(client::Status s) {
    return reply(coap::Code(client::coap_code(s)));
}

} // namespace

BootstrapTestClient::BootstrapTestClient(Options options)
    : options_(std::move(options))
    , rnd_(options_.seed)
    , wall_(std::make_unique<Wall>())
    , registry_(dm::ObjectRegistry::builtin(dm::Lwm2mVersion::v1_2))
    , coap_(options_.coap, rnd_) {
    accounts_ = std::make_unique<client::AccountStore>(
        options_.initial ? *options_.initial : default_initial(), *wall_);
    if (options_.dtls) {
        dtls::ClientConfig dc = *options_.dtls;
        dc.server = options_.server;
        auto s = dtls::ClientSession::create(std::move(dc));
        if (s) session_ = std::make_unique<dtls::ClientSession>(std::move(*s));
        se_dtls_ = std::make_unique<dtls::SecureEndpoint<dtls::ClientSession>>(coap_, *session_);
    } else {
        nosec_ = std::make_unique<dtls::NoSecChannel>();
        se_nosec_ = std::make_unique<dtls::SecureEndpoint<dtls::NoSecChannel>>(coap_, *nosec_);
    }
}

BootstrapTestClient::~BootstrapTestClient() = default;

void BootstrapTestClient::on_datagram(TimePoint now, const PeerAddr& from, BytesView bytes) {
    if (se_dtls_)
        se_dtls_->on_datagram(now, from, bytes);
    else
        se_nosec_->on_datagram(now, from, bytes);
    pump(now);
}

void BootstrapTestClient::on_timeout(TimePoint now) {
    if (se_dtls_)
        se_dtls_->on_timeout(now);
    else
        se_nosec_->on_timeout(now);
    pump(now);
}

std::optional<Datagram> BootstrapTestClient::poll_transmit() {
    return se_dtls_ ? se_dtls_->poll_transmit() : se_nosec_->poll_transmit();
}

std::optional<TimePoint> BootstrapTestClient::next_deadline() const {
    return se_dtls_ ? se_dtls_->next_deadline() : se_nosec_->next_deadline();
}

void BootstrapTestClient::request_bootstrap(TimePoint now) {
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::post;
    m.set_path("/bs");
    m.add_option(coap::option::uri_query, "ep=" + options_.endpoint);
    if (options_.pct) m.add_option(coap::option::uri_query, "pct=" + std::to_string(*options_.pct));
    bs_answer.reset();
    bs_error.reset();
    auto r = coap_.send_request(now, options_.server, std::move(m));
    if (r) bs_request_ = *r;
    pump(now);
}

void BootstrapTestClient::pump(TimePoint now) {
    for (int round = 0; round < 256; ++round) {
        bool progress = false;
        if (se_dtls_) se_dtls_->flush(now);
        if (se_nosec_) se_nosec_->flush(now);
        while (true) {
            auto e = se_dtls_ ? se_dtls_->poll_event() : se_nosec_->poll_event();
            if (!e) break;
            progress = true;
            if (auto* ce = std::get_if<coap::Event>(&*e)) handle(now, *ce);
        }
        if (!progress) return;
    }
}

void BootstrapTestClient::handle(TimePoint now, coap::Event& e) {
    if (auto* in = std::get_if<coap::IncomingRequest>(&e)) {
        received.push_back(in->request);
        if (silent) return;
        coap::Message resp;
        if (intercept) {
            if (auto c = intercept(in->request))
                resp = reply(*c);
            else
                resp = answer(now, in->request);
        } else {
            resp = answer(now, in->request);
        }
        (void)coap_.send_response(now, in->id, std::move(resp));
    } else if (auto* r = std::get_if<coap::Response>(&e)) {
        if (bs_request_ && r->id == *bs_request_) bs_answer = r->response.code;
    } else if (auto* f = std::get_if<coap::RequestFailed>(&e)) {
        if (bs_request_ && f->id == *bs_request_) bs_error = f->error;
    }
}

coap::Message BootstrapTestClient::answer(TimePoint now, const coap::Message& req) {
    const client::Actor bs = client::Actor::bootstrap_server();
    const std::string text = req.path();
    if (req.code == coap::code::post && text == "/bs") {
        ++finish_count;
        last_finish = accounts_->finish(bs, now);
        if (last_finish->ok) return reply(coap::code::changed);
        coap::Message m = reply(last_finish->status);
        std::string why;
        for (const auto& s : last_finish->reasons)
            why += s + "\n";
        m.payload = to_bytes(why);
        return m;
    }
    auto path = dm::Path::parse(text);
    if (!path) return reply(coap::code::bad_request);
    if (req.code == coap::code::delete_) {
        // Objects 0 and 1 through the AccountStore; Object 2 here.
        if (path->is_root() || path->oid().v == 2) {
            if (path->depth() == 2)
                access_control.erase(path->iid().v);
            else
                access_control.clear();
            if (!path->is_root()) return reply(coap::code::deleted);
        }
        auto r = accounts_->bootstrap_delete(bs, *path);
        if (!r) return reply(client::status_of(r.error()));
        return reply(coap::code::deleted);
    }
    if (req.code == coap::code::put) {
        const auto cf = req.uint_option(coap::option::content_format);
        const auto f =
            cf ? format::content_format_from(static_cast<std::uint16_t>(*cf)) : std::nullopt;
        if (!f || options_.formats.count(*f) == 0)
            return reply(coap::code::unsupported_content_format);
        auto content = format::decode(*f, req.payload, *path, registry_);
        if (!content) return reply(coap::Code(format::coap_code_for(content.error())));
        Result<void> r = ok();
        if (path->oid().v == 0)
            r = accounts_->security().write(bs, *path, *content, client::WriteMode::replace);
        else if (path->oid().v == 1)
            r = accounts_->server().write(bs, *path, *content, client::WriteMode::replace);
        else if (path->oid().v == 2 && path->depth() == 2)
            access_control[path->iid().v] = std::get<dm::Instance>(content->node);
        else
            return reply(coap::code::not_found);
        if (!r) return reply(client::status_of(r.error()));
        return reply(coap::code::changed);
    }
    if (req.code == coap::code::get) {
        const auto accept = req.uint_option(coap::option::accept);
        if (accept && *accept == coap::content_format::link_format) {
            if (!options_.discover) return reply(coap::code::method_not_allowed);
            std::vector<format::Link> links;
            auto add = [&](const Result<std::vector<client::LinkInfo>>& v) {
                if (v)
                    for (const auto& l : *v)
                        links.push_back(to_link(l));
            };
            if (path->is_root() || path->oid().v == 0)
                add(accounts_->security().discover(bs, dm::Path{Oid{0}}));
            if (path->is_root() || path->oid().v == 1)
                add(accounts_->server().discover(bs, dm::Path{Oid{1}}));
            coap::Message m = reply(coap::code::content);
            m.add_uint_option(coap::option::content_format, coap::content_format::link_format);
            m.payload =
                to_bytes("lwm2m=\"" + options_.version + "\"," + format::serialize_links(links));
            return m;
        }
        const auto f = accept
                           ? format::content_format_from(static_cast<std::uint16_t>(*accept))
                           : std::optional<format::ContentFormat>(format::ContentFormat::lwm2m_tlv);
        if (!f) return reply(coap::code::not_acceptable);
        Result<dm::Content> content = fail(client::Status::not_found);
        if (path->depth() >= 1 && path->oid().v == 1) {
            content = accounts_->server().read(bs, *path);
        } else if (path->depth() >= 1 && path->oid().v == 2) {
            dm::Object o;
            o.id = 2;
            for (const auto& [iid, in] : access_control)
                o.instances.emplace(iid, in);
            content = dm::Content{dm::Path{Oid{2}}, std::move(o)};
        } else {
            return reply(client::Status::unauthorized); // Bootstrap-Read: Objects 1 and 2 only
        }
        if (!content) return reply(client::status_of(content.error()));
        auto bytes = format::encode(*f, *content);
        if (!bytes) return reply(coap::code::not_acceptable);
        coap::Message m = reply(coap::code::content);
        m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(*f));
        m.payload = std::move(*bytes);
        return m;
    }
    return reply(coap::code::method_not_allowed);
}

} // namespace lwm2m::test
