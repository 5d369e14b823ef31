// Client engine: firmware package download for the Firmware Update Object's pull mode (TS 1.1
// Appendix E.6 Resource 1 "Package URI"): GET over coap:// or coaps:// with Block2 (RFC 7959,
// reassembled by the CoAP endpoint up to EngineConfig::max_download_size).
#include <algorithm>
#include <cctype>

#include "client/engine/engine_impl.hpp"

namespace lwm2m::client {

using detail::Account;

namespace {

struct PackageUri {
    std::string authority_uri; ///< "coaps://host:port" for parse_server_uri
    std::vector<std::string> path;
    std::vector<std::string> query;
};

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// RFC 3986 §2.1 percent-decoding of one segment; false on a bad escape or a control character.
bool pct_decode(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '#') return false;
        if (c != '%') {
            out += c;
            continue;
        }
        if (i + 2 >= in.size()) return false;
        const int h = hex(in[i + 1]), l = hex(in[i + 2]);
        if (h < 0 || l < 0) return false;
        out += static_cast<char>(h * 16 + l);
        i += 2;
    }
    return true;
}

/// Splits an absolute coap/coaps URI (RFC 7252 §6.4): scheme and authority are checked by
/// parse_server_uri (the Server URI rules), the path and query are percent-decoded here.
std::optional<PackageUri> split_uri(std::string_view uri) {
    const auto sep = uri.find("://");
    if (sep == std::string_view::npos) return std::nullopt;
    const auto rest_start = sep + 3;
    auto end_auth = uri.find_first_of("/?", rest_start);
    if (end_auth == std::string_view::npos) end_auth = uri.size();
    PackageUri p;
    p.authority_uri = std::string(uri.substr(0, end_auth));
    std::string_view rest = uri.substr(end_auth);
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        std::string seg;
        if (!pct_decode(rest.substr(0, slash), seg)) return std::nullopt;
        p.path.push_back(std::move(seg));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    while (!query.empty()) {
        const auto amp = query.find('&');
        std::string item;
        if (!pct_decode(query.substr(0, amp), item)) return std::nullopt;
        p.query.push_back(std::move(item));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return p;
}

std::string lower(std::string_view s) {
    std::string o(s);
    for (char& c : o)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
}

} // namespace

void Engine::Impl::start_download(std::string_view uri, DownloadSink& sink) {
    cancel_download();
    auto fail_with = [&](DownloadError e) { sink.on_download_failed(e); };
    const std::string scheme = lower(uri.substr(0, std::min(uri.find(':'), uri.size())));
    if (scheme != "coap" && scheme != "coaps") {
        // TS 1.1 E.6: a scheme the client does not support is Update Result 9 (1.1+).
        return fail_with(scheme.empty() ? DownloadError::invalid_uri
                                        : DownloadError::unsupported_protocol);
    }
    auto parts = split_uri(uri);
    if (!parts) return fail_with(DownloadError::invalid_uri);
    auto su = parse_server_uri(parts->authority_uri);
    if (!su) return fail_with(DownloadError::invalid_uri);

    detail::Download d;
    d.sink = &sink;
    // The package host may be one of our servers: the request then goes over that account's
    // session (a second session from the same address would replace it at the server).
    for (auto& a : accounts)
        if (a->uri && a->uri->host == su->host && a->uri->port == su->port &&
            a->uri->scheme == su->scheme && a->link && a->addr_ok)
            d.via = a.get();
    if (d.via == nullptr) {
        PeerAddr addr;
        if (su->host_kind == ServerUri::HostKind::name) {
            auto r = resolver.resolve(su->host, su->port);
            if (!r) return fail_with(DownloadError::connection_lost);
            addr = *r;
            addr.port = su->port;
        } else {
            auto p = PeerAddr::parse(su->host_kind == ServerUri::HostKind::ipv6
                                         ? "[" + su->host + "]:" + std::to_string(su->port)
                                         : su->host + ":" + std::to_string(su->port));
            if (!p) return fail_with(DownloadError::invalid_uri);
            addr = *p;
        }
        d.addr = addr;
        coap::Config cc = cfg.coap;
        cc.max_body_size = cfg.max_download_size;
        if (su->secure()) {
            // coaps: the credentials of the server that wrote the URI, when the host is its own
            // (a DTLS identity is only valid towards the server it was provisioned for).
            Account* owner = find_account(last_writer_ssid);
            if (owner == nullptr || !owner->uri || owner->uri->host != su->host ||
                !owner->uri->secure())
                return fail_with(DownloadError::unsupported_protocol);
            Account tmp;
            tmp.security = owner->security;
            tmp.security.server_uri = parts->authority_uri;
            tmp.sec_iid = owner->sec_iid;
            coap::Config saved = cfg.coap;
            cfg.coap = cc;
            const bool connected = connect(tmp, current);
            cfg.coap = saved;
            if (!connected || !tmp.link) return fail_with(DownloadError::connection_lost);
            d.own_link = std::move(tmp.link);
            d.addr = tmp.addr;
        } else {
            d.own_link = std::make_unique<detail::LinkT<dtls::NoSecChannel>>(
                cc, random, log, dtls::NoSecChannel{}, addr, false);
        }
    } else {
        d.addr = d.via->addr;
    }
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::get;
    for (const auto& s : parts->path)
        m.add_option(coap::option::uri_path, s);
    for (const auto& q : parts->query)
        m.add_option(coap::option::uri_query, q);
    detail::Link& link = d.via != nullptr ? *d.via->link : *d.own_link;
    auto id = link.coap().send_request(current, d.addr, std::move(m));
    if (!id) return fail_with(DownloadError::out_of_memory);
    d.req = *id;
    download = std::move(d);
    if (download->via != nullptr)
        pump_link(download->via, link, current);
    else
        pump_link(nullptr, link, current);
}

void Engine::Impl::cancel_download() {
    if (!download) return;
    if (download->req) {
        detail::Link* l =
            download->via != nullptr ? download->via->link.get() : download->own_link.get();
        if (l != nullptr) (void)l->coap().cancel_request(current, *download->req);
    }
    download.reset(); // the sink gets no further call (PackageFetcher contract)
}

void Engine::Impl::on_download_result(const coap::Message* resp, Error err) {
    if (!download) return;
    DownloadSink* sink = download->sink;
    const bool own = download->own_link != nullptr;
    if (own) download->own_link->close(current);
    // Keep the link alive until the current pump finishes: move it out and drop it afterwards.
    auto keep = std::move(download->own_link);
    download.reset();
    if (keep) {
        while (auto d = keep->poll_transmit())
            tx.push_back(std::move(*d));
        retired.push_back(std::move(keep));
    }
    if (resp == nullptr) {
        sink->on_download_failed(err == make_error_code(coap::Errc::entity_too_large)
                                     ? DownloadError::not_enough_storage
                                     : DownloadError::connection_lost);
        return;
    }
    if (resp->code == coap::code::content) {
        sink->on_download_chunk(0, resp->payload, resp->payload.size());
        sink->on_download_complete();
        return;
    }
    if (resp->code == coap::code::not_found)
        return sink->on_download_failed(DownloadError::not_found);
    if (resp->code == coap::code::bad_request || resp->code == coap::code::bad_option)
        return sink->on_download_failed(DownloadError::invalid_uri);
    if (resp->code == coap::code::request_entity_too_large)
        return sink->on_download_failed(DownloadError::not_enough_storage);
    sink->on_download_failed(DownloadError::connection_lost);
}

} // namespace lwm2m::client
