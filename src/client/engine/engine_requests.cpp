// Client engine: requests from servers. Device Management and Service Enablement interface (TS
// 1.1 §5.4, §6.3; 1.2), Information Reporting registration (Observe, §5.5 / §6.4) and the
// Bootstrap interface (TS 1.1 §5.2.7).
#include <algorithm>
#include <string>

#include <lwm2m/client/access.hpp>
#include <lwm2m/dm/value_text.hpp>
#include <lwm2m/format/link_format.hpp>

#include "client/engine/engine_impl.hpp"

namespace lwm2m::client {

using detail::Account;
using detail::BsState;

namespace {

coap::Message reply(coap::Code c) {
    coap::Message m;
    m.code = c;
    return m;
}
coap::Message reply(Status s) {
    return reply(coap::Code(coap_code(s)));
}
coap::Message reply_error(const Error& e) {
    if (e.category() == status_category()) return reply(static_cast<Status>(e.value()));
    if (e.category() == format::format_category())
        return reply(coap::Code(format::coap_code_for(e)));
    return reply(coap::code::internal_server_error);
}

std::optional<dm::Path> request_path(const coap::Message& m) {
    auto p = dm::Path::parse(m.path());
    if (!p) return std::nullopt;
    return *p;
}

std::vector<std::string> queries_of(const coap::Message& m) {
    std::vector<std::string> q;
    for (const auto& o : m.options())
        if (o.number == coap::option::uri_query) q.emplace_back(as_string_view(o.value));
    return q;
}

/// TS 1.1 §5.4.5 Execute arguments: arg *("," arg); arg = DIGIT ["=" "'" *CHAR "'"] where CHAR is
/// any printable ASCII except "'" (0x21, 0x23-0x26, 0x28-0x5B, 0x5D-0x7E plus space are used in
/// the TS grammar; we accept 0x20-0x7E without the quote).
bool valid_execute_args(std::string_view s) {
    if (s.empty()) return true;
    std::size_t i = 0;
    while (true) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
        ++i;
        if (i < s.size() && s[i] == '=') {
            ++i;
            if (i >= s.size() || s[i] != '\'') return false;
            ++i;
            while (i < s.size() && s[i] != '\'') {
                if (s[i] < 0x20 || s[i] > 0x7e) return false;
                ++i;
            }
            if (i >= s.size()) return false;
            ++i;
        }
        if (i == s.size()) return true;
        if (s[i] != ',') return false;
        ++i;
    }
}

bool is_record_format(format::ContentFormat f) {
    return f == format::ContentFormat::senml_json || f == format::ContentFormat::senml_cbor ||
           f == format::ContentFormat::lwm2m_cbor || f == format::ContentFormat::lwm2m_json;
}

format::Link to_link(const LinkInfo& li, const NotificationAttributes* attrs) {
    format::Link l;
    l.target = path_text(li.path);
    if (li.ver) l.attrs.push_back({"ver", *li.ver, false});
    if (li.ssid) l.attrs.push_back({"ssid", std::to_string(*li.ssid), false});
    if (li.uri) l.attrs.push_back({"uri", *li.uri, true});
    if (li.dim) l.attrs.push_back({"dim", std::to_string(*li.dim), false});
    if (attrs != nullptr) {
        std::string s;
        append_link_attributes(s, *attrs);
        // ";pmin=10;gt=2.5" -> attrs
        std::size_t i = 0;
        while (i < s.size()) {
            const std::size_t next = s.find(';', i + 1);
            const std::string item =
                s.substr(i + 1, next == std::string::npos ? s.npos : next - i - 1);
            const auto eq = item.find('=');
            l.attrs.push_back({item.substr(0, eq), item.substr(eq + 1), false});
            i = next == std::string::npos ? s.size() : next;
        }
    }
    return l;
}

} // namespace

ObjectHandler* Engine::Impl::handler(std::uint16_t oid) const {
    const auto it = objects.find(oid);
    return it == objects.end() ? nullptr : it->second;
}

std::size_t Engine::Impl::dm_account_count() const {
    std::size_t n = 0;
    for (const auto& a : accounts)
        if (!a->bootstrap) ++n;
    return n;
}

bool Engine::Impl::offers(format::ContentFormat f) const {
    if (!format::built_in(f)) return false;
    if (f == format::ContentFormat::text_plain || f == format::ContentFormat::octet_stream ||
        f == format::ContentFormat::link_format || cfg.formats.empty())
        return true;
    return std::find(cfg.formats.begin(), cfg.formats.end(), f) != cfg.formats.end();
}

format::ContentFormat Engine::Impl::preferred_format() const {
    if (cfg.preferred_format && offers(*cfg.preferred_format)) return *cfg.preferred_format;
    // TS 1.0 §6.4: TLV is the format every 1.0 peer supports. TS 1.1 §7.4: a 1.1 client "SHOULD
    // support at least one of SenML CBOR or SenML JSON" and "SHOULD NOT use the legacy TLV".
    const auto first = cfg.version == dm::Lwm2mVersion::v1_0 ? format::ContentFormat::lwm2m_tlv
                                                             : format::ContentFormat::senml_cbor;
    if (offers(first)) return first;
    for (const auto f : {format::ContentFormat::senml_cbor, format::ContentFormat::senml_json,
                         format::ContentFormat::lwm2m_cbor, format::ContentFormat::lwm2m_json,
                         format::ContentFormat::lwm2m_tlv})
        if (offers(f)) return f;
    return format::ContentFormat::text_plain; // single values only: the rest is 4.06
}

Result<void> Engine::Impl::check_dm_access(std::uint16_t ssid, Operation op,
                                           const dm::Path& path) const {
    LWM2M_TRY_VOID(check_access(Actor::dm_server(ShortServerId{ssid}), op, path));
    // TS 1.1 §7.3.2: Access Control applies when more than one LwM2M Server account exists. The
    // Server Object keeps its own rule (each server reaches only its own instance).
    if (acl != nullptr && dm_account_count() > 1 && !path.is_root() && path.oid().v != 1) {
        const Decision d = acl->check(ShortServerId{ssid}, op, path);
        if (!d.allowed) return fail(d.status);
    }
    return ok();
}

Result<dm::Content> Engine::Impl::read_for(std::uint16_t ssid, const dm::Path& p) const {
    ObjectHandler* h = handler(p.oid().v);
    if (h == nullptr) return fail(Status::not_found);
    LWM2M_TRY(c, h->read(Actor::dm_server(ShortServerId{ssid}), p));
    redact_secrets(c); // never a byte of /0/x/5 or /0/x/8 to a server, whatever a handler did
    return c;
}

Result<std::pair<Bytes, format::ContentFormat>>
Engine::Impl::encode_for(const dm::Content& c, std::optional<std::uint64_t> accept) const {
    format::ContentFormat f = preferred_format();
    if (accept) {
        const auto af = format::content_format_from(
            static_cast<std::uint16_t>(std::min<std::uint64_t>(*accept, 0xffff)));
        // RFC 7252 §5.10.4 / TS 1.1 §6.3.1: a format we cannot give is 4.06 Not Acceptable.
        if (!af || *af == format::ContentFormat::link_format || *accept > 0xffff || !offers(*af))
            return fail(Status::not_acceptable);
        f = *af;
    } else {
        // TS 1.1 §7.4.1/§7.4.2: a single value goes as text (Opaque as octet-stream) when the
        // server expresses no preference.
        const dm::Value* v = std::get_if<dm::Value>(&c.node);
        if (const auto* r = std::get_if<dm::Resource>(&c.node); r != nullptr && !r->multiple)
            v = &r->value;
        if (v != nullptr)
            f = v->type() == dm::DataType::opaque ? format::ContentFormat::octet_stream
                                                  : format::ContentFormat::text_plain;
    }
    auto b = format::encode(f, c);
    if (!b) {
        if (b.error() == make_error_code(format::Errc::unsupported_level) ||
            b.error() == make_error_code(format::Errc::unsupported_format))
            return fail(Status::not_acceptable);
        return fail(b.error());
    }
    return std::pair<Bytes, format::ContentFormat>{std::move(*b), f};
}

void Engine::Impl::after_object1_change(Account& a, TimePoint now_) {
    // TS 1.1 §6.2.2: a new Lifetime or Binding goes to the server in an Update.
    if (store.commit_dm_changes()) {
        state_changed();
        a.update_requested = true;
        if (a.state == RegState::registered) a.update_at = now_;
    }
}

void Engine::Impl::handle_request(Account& a, coap::IncomingRequest& in, TimePoint now_) {
    pending_observation.reset();
    coap::Message resp = a.bootstrap ? handle_bootstrap(a, in, now_) : handle_dm(a, in, now_);
    ++stats.requests_handled;
    const bool with_observe = resp.find(coap::option::observe) != nullptr;
    auto r = a.link->coap().send_response(now_, in.id, std::move(resp));
    if (!r) {
        // Too large for any block size or buffer: say so instead of staying silent.
        coap::Message e = reply(r.error() == make_error_code(coap::Errc::entity_too_large)
                                    ? coap::code::request_entity_too_large
                                    : coap::code::internal_server_error);
        (void)a.link->coap().send_response(now_, in.id, std::move(e));
    } else if (with_observe && pending_observation) {
        observations.push_back(std::move(*pending_observation));
        state_changed();
    }
    pending_observation.reset();
    pump_link(&a, *a.link, now_);
}

coap::Message Engine::Impl::handle_dm(Account& a, coap::IncomingRequest& in, TimePoint now_) {
    const coap::Message& req = in.request;
    const std::uint16_t ssid = a.ssid;
    const Actor actor = Actor::dm_server(ShortServerId{ssid});
    const auto accept = req.uint_option(coap::option::accept);
    const auto cf = req.uint_option(coap::option::content_format);
    const auto path_opt = request_path(req);
    if (!path_opt) return reply(coap::code::not_found); // not an LwM2M path (TS 1.1 §6.3)
    const dm::Path path = *path_opt;
    const bool observe = in.observe_register;

    // --- composite operations (TS 1.1 §5.4.3 Read-Composite / Write-Composite, §5.5.2) ---
    if (req.code == coap::code::fetch || req.code == coap::code::ipatch) {
        if (cfg.version == dm::Lwm2mVersion::v1_0) return reply(coap::code::method_not_allowed);
        if (!path.is_root()) return reply(coap::code::method_not_allowed);
        const auto rf = cf ? format::content_format_from(static_cast<std::uint16_t>(*cf))
                           : std::optional<format::ContentFormat>{};
        if (!rf || !is_record_format(*rf) || !offers(*rf))
            return reply(coap::code::unsupported_content_format);
        format::DecodeOptions dopt;
        dopt.now = static_cast<double>(wall.unix_seconds());
        dopt.max_records = cfg.max_composite_paths;
        auto recs = format::decode_records(*rf, req.payload, registry, dopt);
        if (!recs) return reply_error(recs.error());
        if (recs->empty() || recs->size() > cfg.max_composite_paths)
            return reply(coap::code::bad_request);
        if (req.code == coap::code::ipatch) {
            // Check everything first, then write (each write is all-or-nothing in its object).
            for (const auto& r : *recs) {
                if (r.path.depth() < 3 || r.value.is_none()) return reply(coap::code::bad_request);
                if (auto allowed = check_dm_access(ssid, Operation::write, r.path); !allowed)
                    return reply_error(allowed.error());
                if (handler(r.path.oid().v) == nullptr) return reply(coap::code::not_found);
            }
            last_writer_ssid = ssid;
            for (const auto& r : *recs) {
                dm::Content c{r.path, r.value};
                if (r.path.depth() == 3) c.node = dm::Resource::single(r.path.rid().v, r.value);
                if (auto w = handler(r.path.oid().v)->write(actor, r.path, c, WriteMode::replace);
                    !w)
                    return reply_error(w.error());
                mark_changed(r.path);
                if (r.path.oid().v == 1) after_object1_change(a, now_);
            }
            return reply(coap::code::changed);
        }
        std::vector<dm::Path> paths;
        std::vector<dm::Record> out;
        for (const auto& r : *recs) {
            if (auto allowed =
                    check_dm_access(ssid, observe ? Operation::observe : Operation::read, r.path);
                !allowed)
                return reply_error(allowed.error());
            if (r.path.is_root()) return reply(coap::code::bad_request);
            auto c = read_for(ssid, r.path);
            if (!c) return reply_error(c.error());
            for (auto& rec : format::to_records(*c))
                out.push_back(std::move(rec));
            paths.push_back(r.path);
        }
        format::ContentFormat of = *rf;
        if (accept) {
            const auto af = format::content_format_from(static_cast<std::uint16_t>(*accept));
            if (!af || !is_record_format(*af) || !offers(*af))
                return reply(coap::code::not_acceptable);
            of = *af;
        }
        auto body = format::encode_records(of, out);
        if (!body) return reply(coap::code::not_acceptable);
        coap::Message m = reply(coap::code::content);
        m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(of));
        m.payload = std::move(*body);
        if (observe) {
            std::size_t mine = 0;
            for (const auto& o : observations)
                if (o.ssid == ssid) ++mine;
            if (mine < cfg.max_observations_per_server) {
                detail::Observation o;
                o.ssid = ssid;
                o.id = in.observation;
                o.token = req.token;
                o.paths = std::move(paths);
                o.composite = true;
                o.fmt = of;
                o.last_notify = o.last_eval = now_;
                o.last_payload = m.payload;
                pending_observation = std::move(o);
                m.add_uint_option(coap::option::observe, 0);
            }
        }
        return m;
    }

    if (path.is_root()) {
        // Root: only Discover / Read are defined for servers on "/" in 1.2, and not for us.
        return reply(coap::code::method_not_allowed);
    }
    ObjectHandler* h = handler(path.oid().v);

    if (req.code == coap::code::get) {
        if (accept && *accept == coap::content_format::link_format) {
            // Discover (TS 1.1 §5.4.2 / 1.2 §5.4.2): links with attributes and dim/ver.
            if (auto allowed = check_dm_access(ssid, Operation::discover, path); !allowed)
                return reply_error(allowed.error());
            if (h == nullptr) return reply(coap::code::not_found);
            auto links = h->discover(actor, path);
            if (!links) return reply_error(links.error());
            std::vector<format::Link> out;
            for (const auto& li : *links) {
                const auto it = attributes.find({ssid, li.path});
                out.push_back(to_link(li, it == attributes.end() ? nullptr : &it->second));
            }
            coap::Message m = reply(coap::code::content);
            m.add_uint_option(coap::option::content_format, coap::content_format::link_format);
            m.payload = to_bytes(format::serialize_links(out));
            return m;
        }
        // Read (TS 1.1 §5.4.1), Observe (§5.5.1), Cancel Observation (Observe=1, §5.5.3).
        if (auto allowed =
                check_dm_access(ssid, observe ? Operation::observe : Operation::read, path);
            !allowed)
            return reply_error(allowed.error());
        if (h == nullptr) return reply(coap::code::not_found);
        auto c = read_for(ssid, path);
        if (!c) return reply_error(c.error());
        auto enc = encode_for(*c, accept);
        if (!enc) return reply_error(enc.error());
        coap::Message m = reply(coap::code::content);
        m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(enc->second));
        m.payload = std::move(enc->first);
        if (observe) {
            std::size_t mine = 0;
            for (const auto& o : observations)
                if (o.ssid == ssid) ++mine;
            if (mine < cfg.max_observations_per_server) {
                detail::Observation o;
                o.ssid = ssid;
                o.id = in.observation;
                o.token = req.token;
                o.paths = {path};
                o.fmt = enc->second;
                o.last_notify = o.last_eval = now_;
                o.last_payload = m.payload;
                if (const auto* v = std::get_if<dm::Value>(&c->node))
                    if (auto d = detail::numeric_value(*v)) o.last_eval_num = o.last_notify_num = d;
                if (const auto* r = std::get_if<dm::Resource>(&c->node); r && !r->multiple)
                    if (auto d = detail::numeric_value(r->value))
                        o.last_eval_num = o.last_notify_num = d;
                pending_observation = std::move(o);
                m.add_uint_option(coap::option::observe, 0);
            }
        }
        return m;
    }

    if (req.code == coap::code::put && !cf && req.payload.empty()) {
        // Write-Attributes (TS 1.1 §5.4.4): PUT with Uri-Query and no payload.
        const auto q = queries_of(req);
        if (q.empty()) return reply(coap::code::bad_request);
        if (auto allowed = check_dm_access(ssid, Operation::write_attributes, path); !allowed)
            return reply_error(allowed.error());
        if (h == nullptr) return reply(coap::code::not_found);
        if (path.depth() >= 2) {
            const auto iids = h->instances();
            if (std::find(iids.begin(), iids.end(), path.iid()) == iids.end())
                return reply(coap::code::not_found);
        }
        const dm::ResourceDef* def = nullptr;
        if (path.depth() >= 3) {
            def = registry.find(path.oid().v, path.rid().v);
            if (def == nullptr) return reply(coap::code::not_found);
            if (path.depth() == 4 && !def->multiple) return reply(coap::code::not_found);
        }
        const auto key = std::make_pair(ssid, path);
        NotificationAttributes attrs;
        if (const auto it = attributes.find(key); it != attributes.end()) attrs = it->second;
        if (auto r = apply_write_attributes(attrs, q, path, def, cfg.version); !r)
            return reply_error(r.error());
        if (attrs.empty()) {
            attributes.erase(key);
        } else {
            std::size_t mine = 0;
            for (const auto& [k, v] : attributes)
                if (k.first == ssid) ++mine;
            if (attributes.count(key) == 0 && mine >= cfg.max_attribute_entries)
                return reply(coap::code::service_unavailable);
            attributes[key] = attrs;
        }
        state_changed();
        return reply(coap::code::changed);
    }

    if (req.code == coap::code::put || (req.code == coap::code::post && path.depth() == 2)) {
        // Write: Replace (PUT) or Partial Update (POST on an instance), TS 1.1 §5.4.3.
        const WriteMode mode =
            req.code == coap::code::put ? WriteMode::replace : WriteMode::partial;
        if (auto allowed = check_dm_access(ssid, Operation::write, path); !allowed)
            return reply_error(allowed.error());
        if (h == nullptr) return reply(coap::code::not_found);
        const auto f = cf ? format::content_format_from(static_cast<std::uint16_t>(*cf))
                          : std::optional<format::ContentFormat>{};
        if (!f || *cf > 0xffff || !offers(*f)) return reply(coap::code::unsupported_content_format);
        format::DecodeOptions dopt;
        dopt.now = static_cast<double>(wall.unix_seconds());
        auto c = format::decode(*f, req.payload, path, registry, dopt);
        if (!c) return reply_error(c.error());
        last_writer_ssid = ssid;
        if (auto w = h->write(actor, path, *c, mode); !w) return reply_error(w.error());
        mark_changed(path);
        if (path.oid().v == 1) after_object1_change(a, now_);
        return reply(coap::code::changed);
    }

    if (req.code == coap::code::post && path.depth() == 1) {
        // Create (TS 1.1 §5.4.6).
        if (auto allowed = check_dm_access(ssid, Operation::create, path); !allowed)
            return reply_error(allowed.error());
        if (h == nullptr) return reply(coap::code::not_found);
        const auto f = cf ? format::content_format_from(static_cast<std::uint16_t>(*cf))
                          : std::optional<format::ContentFormat>{};
        if (!f || !offers(*f)) return reply(coap::code::unsupported_content_format);
        std::optional<Iid> iid;
        dm::Instance inst;
        if (auto c = format::decode(*f, req.payload, path, registry); c) {
            const auto* o = std::get_if<dm::Object>(&c->node);
            if (o == nullptr || o->instances.size() != 1) return reply(coap::code::bad_request);
            iid = Iid{o->instances.begin()->first};
            inst = o->instances.begin()->second;
        } else {
            // The payload may carry the resources of the new instance without an instance
            // level (TLV resources, TS 1.0 §5.4.5): decode them as an instance.
            auto ci = format::decode(*f, req.payload, dm::Path{path.oid(), Iid{0xfffe}}, registry);
            if (!ci) return reply_error(c.error());
            const auto* in2 = std::get_if<dm::Instance>(&ci->node);
            if (in2 == nullptr) return reply(coap::code::bad_request);
            inst = *in2;
        }
        auto created = h->create(actor, iid, inst);
        if (!created) return reply_error(created.error());
        if (acl != nullptr) acl->on_instance_created(path.oid(), *created, ShortServerId{ssid});
        mark_changed(path);
        for (auto& acc : accounts)
            acc->update_requested = !acc->bootstrap; // new object links
        coap::Message m = reply(coap::code::created);
        m.add_option(coap::option::location_path, std::to_string(path.oid().v));
        m.add_option(coap::option::location_path, std::to_string(created->v));
        return m;
    }

    if (req.code == coap::code::post && path.depth() == 3) {
        // Execute (TS 1.1 §5.4.5).
        if (auto allowed = check_dm_access(ssid, Operation::execute, path); !allowed)
            return reply_error(allowed.error());
        if (h == nullptr) return reply(coap::code::not_found);
        const std::string_view args = as_string_view(req.payload);
        if (!valid_execute_args(args)) return reply(coap::code::bad_request);
        if (auto e = h->execute(actor, path, args); !e) return reply_error(e.error());
        return reply(coap::code::changed);
    }

    if (req.code == coap::code::delete_) {
        // Delete (TS 1.1 §5.4.7).
        if (auto allowed = check_dm_access(ssid, Operation::delete_, path); !allowed)
            return reply_error(allowed.error());
        if (h == nullptr) return reply(coap::code::not_found);
        if (auto d = h->delete_(actor, path); !d) return reply_error(d.error());
        if (acl != nullptr && path.depth() == 2) acl->on_instance_deleted(path.oid(), path.iid());
        for (auto it = attributes.begin(); it != attributes.end();)
            it = path.is_prefix_of(it->first.second) ? attributes.erase(it) : std::next(it);
        mark_changed(path);
        for (auto& acc : accounts)
            acc->update_requested = !acc->bootstrap;
        state_changed();
        return reply(coap::code::deleted);
    }
    return reply(coap::code::method_not_allowed);
}

coap::Message Engine::Impl::handle_bootstrap(Account&, coap::IncomingRequest& in, TimePoint now_) {
    const coap::Message& req = in.request;
    const Actor actor = Actor::bootstrap_server();
    if (bs != BsState::active) {
        // Server-initiated bootstrap (TS 1.1 §5.2.5): the Bootstrap-Server talks first.
        if (bs != BsState::requesting) emit(EngineEvent::Kind::bootstrap_started);
        bs = BsState::active;
    }
    bs_timer = now_ + bootstrap_timeout();
    const auto accept = req.uint_option(coap::option::accept);
    const auto cf = req.uint_option(coap::option::content_format);

    if (req.code == coap::code::post && req.path() == "/bs") {
        // Bootstrap-Finish (TS 1.1 §5.2.7.6): consistency check, 2.04 or 4.06.
        const FinishResult r = store.finish(actor, now_);
        if (!r.ok) {
            // The configuration is rolled back (last consistent one kept); this bootstrap is
            // over: retry after the hold-off with back-off instead of waiting for the
            // bootstrap timeout (EXCHANGE_LIFETIME). A Bootstrap-Server that goes on with more
            // commands meanwhile starts a server-initiated bootstrap, as any would.
            bootstrap_failed(now_, make_error_code(r.status));
            return reply(r.status);
        }
        bs_finish_pending = true; // accounts rebuilt at the next step, after the 2.04 left
        return reply(coap::code::changed);
    }
    const auto path_opt = request_path(req);
    if (!path_opt) return reply(coap::code::bad_request); // TS 1.1 §8.2.x "Bad or unknown URI"
    const dm::Path path = *path_opt;

    if (req.code == coap::code::put) {
        // Bootstrap-Write (TS 1.1 §5.2.7.4).
        if (auto allowed = check_access(actor, Operation::write, path); !allowed)
            return reply_error(allowed.error());
        ObjectHandler* h = handler(path.oid().v);
        if (h == nullptr) return reply(coap::code::not_found);
        const auto f = cf ? format::content_format_from(static_cast<std::uint16_t>(*cf))
                          : std::optional<format::ContentFormat>{};
        if (!f || !offers(*f)) return reply(coap::code::unsupported_content_format);
        auto c = format::decode(*f, req.payload, path, registry);
        if (!c) return reply_error(c.error());
        if (auto w = h->write(actor, path, *c, WriteMode::replace); !w)
            return reply_error(w.error());
        return reply(coap::code::changed);
    }
    if (req.code == coap::code::delete_) {
        // Bootstrap-Delete (TS 1.1 §5.2.7.5).
        if (auto allowed = check_access(actor, Operation::delete_, path); !allowed)
            return reply_error(allowed.error());
        if (path.is_root()) {
            (void)store.bootstrap_delete(actor, path);
            for (const auto& [oid, h] : objects)
                if (oid > 1 && oid != 3) (void)h->delete_(actor, dm::Path{Oid{oid}});
            attributes.clear();
            return reply(coap::code::deleted);
        }
        if (path.oid().v <= 1) {
            if (auto d = store.bootstrap_delete(actor, path); !d) return reply_error(d.error());
            return reply(coap::code::deleted);
        }
        ObjectHandler* h = handler(path.oid().v);
        if (h == nullptr) return reply(coap::code::not_found);
        if (auto d = h->delete_(actor, path); !d) return reply_error(d.error());
        return reply(coap::code::deleted);
    }
    if (req.code == coap::code::get && accept && *accept == coap::content_format::link_format) {
        // Bootstrap-Discover (TS 1.1 §5.2.7.3): "</>;lwm2m=1.1" first on "/".
        if (auto allowed = check_access(actor, Operation::discover, path); !allowed)
            return reply_error(allowed.error());
        std::vector<format::Link> out;
        if (path.is_root()) {
            format::Link root;
            root.target = "/";
            root.attrs.push_back({"lwm2m", std::string(dm::to_string(cfg.version)), false});
            out.push_back(std::move(root));
        }
        for (const auto& [oid, h] : objects) {
            if (!path.is_root() && oid != path.oid().v) continue;
            auto links = h->discover(actor, dm::Path{Oid{oid}});
            if (!links) {
                // Objects without a Bootstrap-Discover of their own: the object and instances.
                format::Link l;
                l.target = "/" + std::to_string(oid);
                const std::string_view v = h->version();
                if (v != "1.0") l.attrs.push_back({"ver", std::string(v), false});
                out.push_back(std::move(l));
                for (const Iid i : h->instances())
                    out.push_back(
                        format::Link{"/" + std::to_string(oid) + "/" + std::to_string(i.v), {}});
                continue;
            }
            for (const auto& li : *links)
                out.push_back(to_link(li, nullptr));
        }
        if (!path.is_root() && out.empty()) return reply(coap::code::not_found);
        coap::Message m = reply(coap::code::content);
        m.add_uint_option(coap::option::content_format, coap::content_format::link_format);
        m.payload = to_bytes(format::serialize_links(out));
        return m;
    }
    if (req.code == coap::code::get) {
        // Bootstrap-Read (TS 1.1 §5.2.7.2): Objects 1 and 2 only (access()); not in 1.0.
        if (cfg.version == dm::Lwm2mVersion::v1_0) return reply(coap::code::method_not_allowed);
        if (auto allowed = check_access(actor, Operation::read, path); !allowed)
            return reply_error(allowed.error());
        ObjectHandler* h = handler(path.oid().v);
        if (h == nullptr) return reply(coap::code::not_found);
        auto c = h->read(actor, path);
        if (!c) return reply_error(c.error());
        redact_secrets(*c);
        auto enc = encode_for(*c, accept);
        if (!enc) return reply_error(enc.error());
        coap::Message m = reply(coap::code::content);
        m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(enc->second));
        m.payload = std::move(enc->first);
        return m;
    }
    return reply(coap::code::method_not_allowed);
}

} // namespace lwm2m::client
