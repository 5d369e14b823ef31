// Downlink requests of the engine (LwM2M TS 1.1 §6.3 Device Management & Service Enablement,
// §6.4 Information Reporting; TS 1.2 the same sections): building the CoAP request in the chosen
// content format, per-client queues (queue mode, in-flight limit), timeouts, decoding responses
// and notifications by the client's model, observations, and the uplink Send (§6.4.6).
#include <algorithm>

#include <lwm2m/base/errc.hpp>
#include <lwm2m/dm/value_text.hpp>
#include <lwm2m/format/codec.hpp>

#include "server/engine_impl.hpp"

namespace lwm2m::server {

using detail::Observation;
using detail::Pending;
using detail::Reg;
using format::ContentFormat;

namespace {

bool record_format(ContentFormat f) {
    return f == ContentFormat::senml_json || f == ContentFormat::senml_cbor ||
           f == ContentFormat::lwm2m_json || f == ContentFormat::lwm2m_cbor;
}
bool composite_format(ContentFormat f) {
    return f == ContentFormat::senml_json || f == ContentFormat::senml_cbor ||
           f == ContentFormat::lwm2m_cbor;
}

void add_path(coap::Message& m, std::string_view root, const dm::Path& p) {
    // The alternate path of the client (TS 1.1 §6.2.1.1) prefixes every request.
    while (!root.empty()) {
        if (root[0] == '/') {
            root.remove_prefix(1);
            continue;
        }
        const auto slash = root.find('/');
        m.add_option(coap::option::uri_path, root.substr(0, slash));
        root = slash == std::string_view::npos ? std::string_view() : root.substr(slash + 1);
    }
    const std::uint16_t ids[4] = {p.depth() >= 1 ? p.oid().v : std::uint16_t{0},
                                  p.depth() >= 2 ? p.iid().v : std::uint16_t{0},
                                  p.depth() >= 3 ? p.rid().v : std::uint16_t{0},
                                  p.depth() >= 4 ? p.riid().v : std::uint16_t{0}};
    for (int k = 0; k < p.depth(); ++k)
        m.add_option(coap::option::uri_path, std::to_string(ids[k]));
}

/// A diagnostic payload as printable text (at most 256 bytes).
std::string diagnostic_of(BytesView payload) {
    std::string out;
    for (std::size_t i = 0; i < payload.size() && out.size() < 256; ++i) {
        const auto c = static_cast<char>(payload[i]);
        out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return out;
}

bool is_single_value(const dm::Content& c) {
    if (c.path.depth() == 4) return true;
    const auto* r = std::get_if<dm::Resource>(&c.node);
    return c.path.depth() == 3 && r != nullptr && !r->multiple;
}

const dm::Value* single_value(const dm::Content& c) {
    if (c.path.depth() == 4) return std::get_if<dm::Value>(&c.node);
    if (const auto* r = std::get_if<dm::Resource>(&c.node); r != nullptr && !r->multiple)
        return &r->value;
    return nullptr;
}

constexpr std::string_view attribute_names[] = {"pmin",  "pmax",  "gt",  "lt",    "st",
                                                "epmin", "epmax", "con", "hqmax", "edge"};

} // namespace

format::DecodeOptions Engine::Impl::decode_options() const {
    format::DecodeOptions o;
    o.allow_unknown = !cfg.strict;
    o.lenient_base64 = !cfg.strict;
    o.now = static_cast<double>(wall.unix_seconds());
    return o;
}

// ------------------------------------------------------------------ building requests

Result<coap::Message> Engine::Impl::build(const Reg& r, const Request& req) {
    const auto& set = sets[r.objects];
    const std::string_view root = set.links.root;
    const bool v10 = r.version == dm::Lwm2mVersion::v1_0;
    auto declared = [&](ContentFormat f) {
        if (v10 && f == ContentFormat::lwm2m_tlv) return true; // TS 1.0 §6.4: mandatory
        return std::find(set.links.content_formats.begin(), set.links.content_formats.end(),
                         static_cast<std::uint16_t>(f)) != set.links.content_formats.end();
    };
    // The best declared format for multi-value (or composite) payloads, else the release's.
    auto multi = [&](bool composite) -> std::optional<ContentFormat> {
        for (auto f : cfg.format_preference)
            if ((!composite || composite_format(f)) && declared(f)) return f;
        if (v10)
            return composite ? std::nullopt
                             : std::optional<ContentFormat>(ContentFormat::lwm2m_tlv);
        for (auto f : cfg.format_preference)
            if (f == ContentFormat::senml_cbor || f == ContentFormat::senml_json) return f;
        return ContentFormat::senml_cbor;
    };
    // Accept for reads: what was asked, else the best declared format, else none (the client
    // answers in a format of its choice; every format is decoded).
    auto accept_for = [&](bool composite) -> std::optional<ContentFormat> {
        if (req.accept) return req.accept;
        if (set.links.content_formats.empty()) return std::nullopt;
        for (auto f : cfg.format_preference)
            if ((!composite || composite_format(f)) &&
                std::find(set.links.content_formats.begin(), set.links.content_formats.end(),
                          static_cast<std::uint16_t>(f)) != set.links.content_formats.end())
                return f;
        return std::nullopt;
    };
    auto invalid = [] { return fail(Errc::invalid_request); };

    coap::Message m;
    m.type = coap::Type::con;
    switch (req.op) {
    case Operation::read:
    case Operation::observe: {
        if (req.path.depth() < 1) return invalid();
        m.code = coap::code::get;
        add_path(m, root, req.path);
        if (req.op == Operation::observe) m.add_uint_option(coap::option::observe, 0);
        if (auto a = accept_for(false))
            m.add_uint_option(coap::option::accept, static_cast<std::uint16_t>(*a));
        return m;
    }
    case Operation::discover:
        if (req.path.depth() < 1) return invalid();
        m.code = coap::code::get;
        add_path(m, root, req.path);
        m.add_uint_option(coap::option::accept, coap::content_format::link_format);
        return m;
    case Operation::write_replace:
    case Operation::write_update:
    case Operation::create: {
        if (!req.content) return invalid();
        dm::Content c = *req.content;
        dm::Path target = c.path;
        if (req.op == Operation::create) {
            // TS 1.1 §6.3.6: POST to the object; the payload names the new instance(s).
            if (c.path.depth() == 2) {
                auto* inst = std::get_if<dm::Instance>(&c.node);
                if (inst == nullptr) return invalid();
                dm::Object o{c.path.oid().v, {}};
                inst->id = c.path.iid().v;
                o.instances.emplace(inst->id, std::move(*inst));
                c = dm::Content{dm::Path(c.path.oid()), std::move(o)};
            }
            if (c.path.depth() != 1 || !std::holds_alternative<dm::Object>(c.node))
                return invalid();
            target = c.path;
        } else if (c.path.depth() < 2) {
            return invalid(); // TS 1.1 §6.3.3: an instance, resource or resource instance
        }
        std::optional<ContentFormat> f = req.format;
        if (!f) {
            if (!v10 && is_single_value(c)) {
                // TS 1.1 §7.4: plain text and opaque are mandatory for 1.1+ clients.
                const auto* v = single_value(c);
                f = v != nullptr && std::holds_alternative<Bytes>(v->storage())
                        ? ContentFormat::octet_stream
                        : ContentFormat::text_plain;
            } else {
                f = multi(false);
            }
        }
        LWM2M_TRY(payload, format::encode(*f, c));
        m.code = req.op == Operation::write_replace ? coap::code::put : coap::code::post;
        add_path(m, root, target);
        m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(*f));
        m.payload = std::move(payload);
        return m;
    }
    case Operation::write_attributes: {
        if (req.path.depth() < 1 || req.attributes.empty()) return invalid();
        m.code = coap::code::put;
        add_path(m, root, req.path);
        for (const auto& a : req.attributes) {
            if (std::find(std::begin(attribute_names), std::end(attribute_names), a.name) ==
                std::end(attribute_names))
                return invalid();
            // No value: the attribute is removed (TS 1.1 §5.1.2).
            if (a.value && !format::validate_lwm2m_attr(a.name, a.value)) return invalid();
            std::string q = a.name;
            if (a.value) q += "=" + *a.value;
            m.add_option(coap::option::uri_query, std::string_view(q));
        }
        return m;
    }
    case Operation::execute:
        if (req.path.depth() != 3) return invalid();
        LWM2M_TRY_VOID(validate_execute_arguments(req.arguments));
        m.code = coap::code::post;
        add_path(m, root, req.path);
        if (!req.arguments.empty()) {
            m.add_uint_option(coap::option::content_format, coap::content_format::text_plain);
            m.payload = to_bytes(req.arguments);
        }
        return m;
    case Operation::delete_:
        if (req.path.depth() < 2) return invalid();
        m.code = coap::code::delete_;
        add_path(m, root, req.path);
        return m;
    case Operation::read_composite:
    case Operation::observe_composite:
    case Operation::write_composite: {
        if (v10) return invalid(); // composite operations are LwM2M 1.1+ (TS 1.1 §6.3.8)
        const std::optional<ContentFormat> f = req.format ? req.format : multi(true);
        if (!f || !composite_format(*f)) return invalid();
        std::vector<dm::Record> records;
        if (req.op == Operation::write_composite) {
            if (req.records.empty()) return invalid();
            records = req.records;
            m.code = coap::code::ipatch;
        } else {
            if (req.paths.empty()) return invalid();
            for (const auto& p : req.paths)
                records.push_back(dm::Record{p, dm::Value{}, std::nullopt});
            m.code = coap::code::fetch;
        }
        LWM2M_TRY(payload, format::encode_records(*f, records));
        add_path(m, root, dm::Path{});
        if (req.op == Operation::observe_composite) m.add_uint_option(coap::option::observe, 0);
        m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(*f));
        if (req.op != Operation::write_composite) {
            const auto a = req.accept ? *req.accept : *f;
            m.add_uint_option(coap::option::accept, static_cast<std::uint16_t>(a));
        }
        m.payload = std::move(payload);
        return m;
    }
    case Operation::cancel_observation:
    case Operation::cancel_observe_composite:
        break; // built by cancel_observation()
    }
    return invalid();
}

// ------------------------------------------------------------------ queueing

Result<RequestId> Engine::Impl::submit(TimePoint now, std::string_view endpoint, Request req) {
    auto slot = find_slot(endpoint);
    if (!slot) return fail(Errc::not_registered);
    Reg& r = reg(*slot);
    if (req.op == Operation::cancel_observation || req.op == Operation::cancel_observe_composite)
        return fail(Errc::invalid_request); // use cancel_observation()
    LWM2M_TRY(msg, build(r, req));
    if (r.queued >= cfg.max_queued_requests) return fail(Errc::queue_full);
    const bool observe = req.op == Operation::observe || req.op == Operation::observe_composite;
    if (observe && r.observations.size() >= cfg.max_observations)
        return fail(lwm2m::Errc::limit_exceeded);
    Pending p;
    p.id = next_request++;
    p.slot = *slot;
    p.nonce = r.nonce;
    p.op = req.op;
    if (observe) {
        // Our own token, so that the observation can be cancelled actively later (RFC 7641 §3.6)
        // and re-established after a restart.
        std::byte tok[8];
        random.fill(tok);
        msg.token = coap::Token(BytesView(tok, 8));
        p.observation = next_observation++;
    }
    p.msg = std::move(msg);
    p.path = req.path;
    p.paths = std::move(req.paths);
    if (req.op == Operation::write_replace || req.op == Operation::write_update ||
        req.op == Operation::create)
        p.path = req.content->path;
    p.accept = req.accept;
    if (req.op == Operation::read_composite || req.op == Operation::observe_composite) {
        if (auto a = p.msg.uint_option(coap::option::accept))
            p.accept = format::content_format_from(static_cast<std::uint16_t>(*a));
    }
    p.deadline = now + req.timeout.value_or(cfg.request_timeout);
    const std::uint64_t id = p.id;
    push_timeout(p.deadline, id);
    auto& stored = pending.emplace(id, std::move(p)).first->second;
    enqueue(r, stored);
    pump(now, *slot);
    drain(r.listener, now);
    return RequestId{id};
}

void Engine::Impl::enqueue(Reg& r, Pending& p) {
    if (r.queue_tail == 0) {
        r.queue_head = r.queue_tail = p.id;
    } else {
        pending.at(r.queue_tail).next = p.id;
        r.queue_tail = p.id;
    }
    ++r.queued;
}

void Engine::Impl::unlink(Reg& r, std::uint64_t id) {
    std::uint64_t prev = 0;
    for (std::uint64_t cur = r.queue_head; cur != 0;) {
        auto& p = pending.at(cur);
        if (cur == id) {
            if (prev == 0)
                r.queue_head = p.next;
            else
                pending.at(prev).next = p.next;
            if (r.queue_tail == id) r.queue_tail = prev;
            p.next = 0;
            --r.queued;
            return;
        }
        prev = cur;
        cur = p.next;
    }
}

void Engine::Impl::touch(TimePoint now, std::uint32_t slot) {
    Reg& r = reg(slot);
    r.awake_until = now + listeners[r.listener]->awake_time;
}

void Engine::Impl::pump(TimePoint now, std::uint32_t slot) {
    Reg& r = reg(slot);
    if (r.nonce == 0 || r.unconfirmed) return;
    // Queue mode (TS 1.1 Transport §6.5): only while the client is known to listen.
    if (r.queue_mode && now >= r.awake_until) return;
    reobserve(now, r, slot);
    while (r.queue_head != 0 && r.inflight < cfg.max_inflight_requests) {
        const std::uint64_t id = r.queue_head;
        auto& p = pending.at(id);
        r.queue_head = p.next;
        if (r.queue_head == 0) r.queue_tail = 0;
        p.next = 0;
        --r.queued;
        transmit(now, p);
    }
}

void Engine::Impl::transmit(TimePoint now, Pending& p) {
    Reg& r = reg(p.slot);
    const std::uint16_t l = r.listener;
    p.listener = l;
    auto id = coap_of(l).send_request(now, r.peer, p.msg);
    if (!id) {
        fail_request(p.id, id.error(), false, now, false);
        return;
    }
    p.coap_id = *id;
    p.in_flight = true;
    p.sent_at = now;
    request_by_coap[coap_key(l, *id)] = p.id;
    ++r.inflight;
    ++stats.requests_sent;
    flush(l, now);
}

void Engine::Impl::fail_request(std::uint64_t id, Error e, bool cancel_coap, TimePoint now,
                                bool repump) {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    Pending p = std::move(it->second);
    pending.erase(it);
    Reg* r = live(p.slot, p.nonce);
    if (p.in_flight) {
        request_by_coap.erase(coap_key(p.listener, p.coap_id));
        if (cancel_coap) {
            (void)coap_of(p.listener).cancel_request(now, p.coap_id);
            flush(p.listener, now);
        }
        if (r != nullptr && r->inflight > 0) --r->inflight;
    } else if (r != nullptr) {
        // Still queued: it is in the registration's list (pending no longer holds it, so walk
        // with the id only).
        std::uint64_t prev = 0;
        for (std::uint64_t cur = r->queue_head; cur != 0;) {
            const std::uint64_t next = cur == id ? p.next : pending.at(cur).next;
            if (cur == id) {
                if (prev == 0)
                    r->queue_head = next;
                else
                    pending.at(prev).next = next;
                if (r->queue_tail == id) r->queue_tail = prev;
                --r->queued;
                break;
            }
            prev = cur;
            cur = next;
        }
    }
    ++stats.request_failures;
    if (p.reobserve) {
        if (auto o = observations.find(p.observation); o != observations.end()) {
            o->second.resending = false;
            end_observation(p.observation, ObservationEndReason::refused, false, true, now);
        }
    } else {
        emit(RequestFailed{RequestId{id}, r != nullptr ? r->endpoint : std::string(), p.op, e});
    }
    if (repump && r != nullptr) pump(now, p.slot);
}

void Engine::Impl::request_timeouts(TimePoint now) {
    while (!timeouts.empty() && timeouts.front().at <= now) {
        std::pop_heap(timeouts.begin(), timeouts.end(), std::greater<>{});
        const auto t = timeouts.back();
        timeouts.pop_back();
        auto it = pending.find(t.request);
        if (it == pending.end() || it->second.deadline != t.at) continue;
        const std::uint16_t l = it->second.listener;
        fail_request(t.request, make_error_code(Errc::timeout), true, now);
        drain(l, now);
    }
}

Result<void> Engine::Impl::cancel(TimePoint now, RequestId id) {
    auto it = pending.find(id.value);
    if (it == pending.end() || it->second.reobserve) return fail(lwm2m::Errc::not_found);
    const std::uint16_t l = reg(it->second.slot).listener;
    fail_request(id.value, make_error_code(Errc::cancelled), true, now);
    drain(l, now);
    return ok();
}

// ------------------------------------------------------------------ decoding

namespace {
struct Decoded {
    std::optional<ContentFormat> format;
    std::optional<dm::Content> content;
    std::vector<dm::Record> records;
    Error error;
};
} // namespace

static Decoded decode_payload(const coap::Message& m, bool composite, const dm::Path& path,
                              std::optional<ContentFormat> expected, bool strict,
                              const dm::ObjectRegistry& registry, const format::DecodeOptions& o) {
    Decoded d;
    if (m.payload.empty()) return d;
    std::optional<ContentFormat> f;
    if (auto cf = m.uint_option(coap::option::content_format)) {
        f = format::content_format_from(static_cast<std::uint16_t>(*cf));
        if (!f) {
            d.error = make_error_code(format::Errc::unsupported_format);
            return d;
        }
    } else if (!strict && expected) {
        f = expected; // a client that forgot the Content-Format of what was asked
    } else if (!strict && !composite && path.depth() >= 3) {
        // A single value without Content-Format (e.g. lwm2m-node-lib's 1.0 client): plain text,
        // the LwM2M 1.0 format of single resource values (TS 1.0 §6.4.1). Lenient only.
        f = ContentFormat::text_plain;
    } else {
        d.error = make_error_code(format::Errc::unsupported_format);
        return d;
    }
    d.format = f;
    if (composite || record_format(*f)) {
        if (!record_format(*f)) {
            d.error = make_error_code(format::Errc::format_not_allowed);
            return d;
        }
        auto recs = format::decode_records(*f, m.payload, registry, o);
        if (!recs) {
            d.error = recs.error();
            return d;
        }
        const bool timed = std::any_of(recs->begin(), recs->end(),
                                       [](const dm::Record& r) { return r.time.has_value(); });
        if (composite || timed) {
            d.records = std::move(*recs);
            return d;
        }
        auto c = format::from_records(std::move(*recs), path, registry, o);
        if (!c)
            d.error = c.error();
        else
            d.content = std::move(*c);
        return d;
    }
    auto c = format::decode(*f, m.payload, path, registry, o);
    if (!c)
        d.error = c.error();
    else
        d.content = std::move(*c);
    return d;
}

void Engine::Impl::note_decoding(Reg& r, const dm::Content* content,
                                 const std::vector<dm::Record>* records) {
    if (cfg.strict || (r.logged & (detail::log_extended | detail::log_unknown)) ==
                          (detail::log_extended | detail::log_unknown))
        return;
    const auto& prof = models.profile(r.profile);
    auto check = [&](std::uint16_t oid, std::uint16_t rid) {
        if (prof.registry->find(oid, rid) == nullptr) {
            if (!(r.logged & detail::log_unknown)) {
                r.logged |= detail::log_unknown;
                info("'" + r.endpoint.str() + "' serves /" + std::to_string(oid) + "/x/" +
                     std::to_string(rid) +
                     ", defined by no known version of the object: values kept untyped");
            }
            return;
        }
        for (const auto& [eoid, rids] : prof.extended) {
            if (eoid != oid || !std::binary_search(rids.begin(), rids.end(), rid)) continue;
            if (!(r.logged & detail::log_extended)) {
                r.logged |= detail::log_extended;
                info("'" + r.endpoint.str() + "' serves /" + std::to_string(oid) + "/x/" +
                     std::to_string(rid) +
                     ", not in the object version it registered: decoded with a newer version");
            }
        }
    };
    if (records != nullptr)
        for (const auto& rec : *records)
            if (rec.path.depth() >= 3) check(rec.path.oid().v, rec.path.rid().v);
    if (content == nullptr) return;
    const std::uint16_t oid = content->path.oid().v;
    if (const auto* o = std::get_if<dm::Object>(&content->node)) {
        for (const auto& [iid, inst] : o->instances)
            for (const auto& [rid, res] : inst.resources)
                check(oid, rid);
    } else if (const auto* i = std::get_if<dm::Instance>(&content->node)) {
        for (const auto& [rid, res] : i->resources)
            check(oid, rid);
    } else if (content->path.depth() >= 3) {
        check(oid, content->path.rid().v);
    }
}

// ------------------------------------------------------------------ responses

void Engine::Impl::on_response(std::uint16_t l, TimePoint now, coap::Response& resp) {
    auto key = coap_key(l, resp.id);
    auto it = request_by_coap.find(key);
    if (it == request_by_coap.end()) {
        // The final response of an established observation: RFC 7641 §3.2, a notification with
        // an error code or without Observe ends it (the CoAP exchange is already over).
        auto oit = observation_by_coap.find(key);
        if (oit == observation_by_coap.end()) return;
        const std::uint64_t oid = oit->second;
        observation_by_coap.erase(oit);
        auto obs = observations.find(oid);
        if (obs != observations.end() && resp.response.code.is_success()) {
            coap::Notification n{resp.id, resp.peer, std::move(resp.response), 0};
            observation_by_coap[key] = oid; // deliver the last value first
            on_notification(l, now, n);
            observation_by_coap.erase(key);
        }
        end_observation(oid,
                        resp.response.code.is_success() ? ObservationEndReason::refused
                                                        : ObservationEndReason::error,
                        false, true, now);
        return;
    }
    const std::uint64_t id = it->second;
    request_by_coap.erase(it);
    auto pit = pending.find(id);
    if (pit == pending.end()) return;
    Pending p = std::move(pit->second);
    pending.erase(pit);
    Reg* r = live(p.slot, p.nonce);
    if (r == nullptr) return;
    if (r->inflight > 0) --r->inflight;
    ++stats.responses;
    const coap::Message& m = resp.response;
    const bool observe = p.op == Operation::observe || p.op == Operation::observe_composite;
    const bool composite =
        p.op == Operation::read_composite || p.op == Operation::observe_composite;
    const bool has_observe = m.find(coap::option::observe) != nullptr;
    const auto& registry = *models.profile(r->profile).registry;

    if (p.reobserve) {
        auto oit = observations.find(p.observation);
        if (oit == observations.end()) return;
        Observation& o = oit->second;
        o.resending = false;
        if (!m.code.is_success() || !has_observe) {
            if (has_observe) (void)coap_of(l).cancel_request(now, p.coap_id);
            end_observation(o.id,
                            m.code.is_success() ? ObservationEndReason::refused
                                                : ObservationEndReason::error,
                            false, true, now);
        } else {
            o.established = true;
            o.coap_id = p.coap_id;
            o.listener = l;
            observation_by_coap[coap_key(l, p.coap_id)] = o.id;
            NotificationEvent ev;
            ev.id = ObservationId{o.id};
            ev.endpoint = r->endpoint;
            ev.seq = static_cast<std::uint32_t>(m.uint_option(coap::option::observe).value_or(0));
            ev.code = m.code;
            ev.payload_size = m.payload.size();
            auto d = decode_payload(m, o.composite, o.paths.front(), o.accept, cfg.strict, registry,
                                    decode_options());
            ev.format = d.format;
            ev.content = std::move(d.content);
            ev.records = std::move(d.records);
            ev.decode_error = d.error;
            note_decoding(*r, ev.content ? &*ev.content : nullptr, &ev.records);
            ++stats.notifications;
            emit(std::move(ev));
        }
        touch(now, p.slot);
        pump(now, p.slot);
        return;
    }

    ResponseEvent ev;
    ev.id = RequestId{id};
    ev.endpoint = r->endpoint;
    ev.op = p.op;
    ev.code = m.code;
    ev.payload_size = m.payload.size();
    ev.rtt = now - p.sent_at;
    if (!m.code.is_success()) {
        ev.diagnostic = diagnostic_of(m.payload);
        if (auto cf = m.uint_option(coap::option::content_format))
            ev.format = format::content_format_from(static_cast<std::uint16_t>(*cf));
    } else if (p.op == Operation::discover) {
        ev.format = ContentFormat::link_format;
        format::LinkLimits lim;
        lim.validate_lwm2m = cfg.strict;
        auto links = format::parse_links(as_string_view(m.payload), lim);
        if (links)
            ev.links = std::move(*links);
        else
            ev.decode_error = links.error();
    } else if (p.op == Operation::read || p.op == Operation::read_composite || observe) {
        const dm::Path path = composite ? dm::Path{} : p.path;
        auto d =
            decode_payload(m, composite, path, p.accept, cfg.strict, registry, decode_options());
        ev.format = d.format;
        ev.content = std::move(d.content);
        ev.records = std::move(d.records);
        ev.decode_error = d.error;
        note_decoding(*r, ev.content ? &*ev.content : nullptr, &ev.records);
    } else if (p.op == Operation::create) {
        ev.location = m.path(coap::option::location_path);
    }
    if (observe && m.code.is_success() && has_observe) {
        Observation o;
        o.id = p.observation;
        o.slot = p.slot;
        o.nonce = p.nonce;
        o.composite = p.op == Operation::observe_composite;
        o.established = true;
        o.paths = composite ? p.paths : std::vector<dm::Path>{p.path};
        o.accept = p.accept;
        if (o.composite)
            if (auto cf = p.msg.uint_option(coap::option::content_format))
                o.request_format = format::content_format_from(static_cast<std::uint16_t>(*cf));
        o.token = p.msg.token;
        o.listener = l;
        o.coap_id = p.coap_id;
        o.created_at = wall.unix_seconds();
        observation_by_coap[coap_key(l, p.coap_id)] = o.id;
        r->observations.push_back(o.id);
        ev.observation = ObservationId{o.id};
        auto& stored = observations.emplace(o.id, std::move(o)).first->second;
        journal_observation(detail::JournalKind::obs_put, stored);
    }
    emit(std::move(ev));
    touch(now, p.slot);
    pump(now, p.slot);
}

void Engine::Impl::on_notification(std::uint16_t l, TimePoint now, coap::Notification& n) {
    auto it = observation_by_coap.find(coap_key(l, n.id));
    if (it == observation_by_coap.end()) return;
    auto oit = observations.find(it->second);
    if (oit == observations.end()) return;
    Observation& o = oit->second;
    Reg* r = live(o.slot, o.nonce);
    if (r == nullptr) return;
    const coap::Message& m = n.notification;
    NotificationEvent ev;
    ev.id = ObservationId{o.id};
    ev.endpoint = r->endpoint;
    ev.seq = n.seq;
    ev.code = m.code;
    ev.payload_size = m.payload.size();
    auto d = decode_payload(m, o.composite, o.composite ? dm::Path{} : o.paths.front(), o.accept,
                            cfg.strict, *models.profile(r->profile).registry, decode_options());
    ev.format = d.format;
    ev.content = std::move(d.content);
    ev.records = std::move(d.records);
    ev.decode_error = d.error;
    note_decoding(*r, ev.content ? &*ev.content : nullptr, &ev.records);
    ++stats.notifications;
    const std::uint32_t slot = o.slot;
    emit(std::move(ev));
    // A notification shows the client is awake (queue mode, TS 1.1 Transport §6.5).
    touch(now, slot);
    pump(now, slot);
}

void Engine::Impl::on_request_failed(std::uint16_t l, TimePoint now, coap::RequestFailed& f) {
    const auto key = coap_key(l, f.id);
    if (auto it = request_by_coap.find(key); it != request_by_coap.end()) {
        const std::uint64_t id = it->second;
        fail_request(id, f.error, false, now);
        return;
    }
    if (auto it = observation_by_coap.find(key); it != observation_by_coap.end()) {
        const std::uint64_t id = it->second;
        observation_by_coap.erase(it);
        // The exchange is gone in the CoAP layer (client RST, CON notification never
        // acknowledged): RFC 7641 §3.6 / §4.5.
        end_observation(id, ObservationEndReason::reset, false, true, now);
    }
}

// ------------------------------------------------------------------ observations

void Engine::Impl::end_observation(std::uint64_t id, ObservationEndReason reason, bool cancel_coap,
                                   bool journal_it, TimePoint now) {
    auto it = observations.find(id);
    if (it == observations.end()) return;
    Observation o = std::move(it->second);
    observations.erase(it);
    if (o.coap_id.value != 0) {
        observation_by_coap.erase(coap_key(o.listener, o.coap_id));
        if (cancel_coap && o.established) {
            (void)coap_of(o.listener).cancel_request(now, o.coap_id);
            flush(o.listener, now);
        }
    }
    std::string endpoint;
    if (Reg* r = live(o.slot, o.nonce)) {
        std::erase(r->observations, id);
        endpoint = r->endpoint;
        if (journal_it) {
            if (cfg.journal)
                journal.push_back(detail::JournalEntry{next_seq++, detail::JournalKind::obs_remove,
                                                       false, o.slot, o.nonce, o.id, r->endpoint});
        }
    }
    emit(ObservationEnded{ObservationId{id}, std::move(endpoint), reason});
}

void Engine::Impl::reobserve(TimePoint now, Reg& r, std::uint32_t slot) {
    for (auto oid : r.observations) {
        auto it = observations.find(oid);
        if (it == observations.end()) continue;
        Observation& o = it->second;
        if (o.established || o.resending || r.inflight >= cfg.max_inflight_requests) continue;
        Pending p;
        p.id = next_request++;
        p.slot = slot;
        p.nonce = r.nonce;
        p.op = o.composite ? Operation::observe_composite : Operation::observe;
        p.reobserve = true;
        p.observation = o.id;
        p.accept = o.accept;
        coap::Message m;
        m.type = coap::Type::con;
        if (o.composite) {
            const ContentFormat f = o.request_format.value_or(ContentFormat::senml_cbor);
            std::vector<dm::Record> recs;
            for (const auto& path : o.paths)
                recs.push_back(dm::Record{path, dm::Value{}, std::nullopt});
            auto payload = format::encode_records(f, recs);
            if (!payload) continue;
            m.code = coap::code::fetch;
            add_path(m, sets[r.objects].links.root, dm::Path{});
            m.add_uint_option(coap::option::observe, 0);
            m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(f));
            m.add_uint_option(coap::option::accept,
                              static_cast<std::uint16_t>(o.accept.value_or(f)));
            m.payload = std::move(*payload);
        } else {
            m.code = coap::code::get;
            add_path(m, sets[r.objects].links.root, o.paths.front());
            m.add_uint_option(coap::option::observe, 0);
            if (o.accept)
                m.add_uint_option(coap::option::accept, static_cast<std::uint16_t>(*o.accept));
        }
        m.token = o.token; // the client's observation continues under the same token
        p.msg = std::move(m);
        p.path = o.paths.front();
        p.paths = o.paths;
        p.deadline = now + cfg.request_timeout;
        o.resending = true;
        const std::uint64_t id = p.id;
        push_timeout(p.deadline, id);
        auto& stored = pending.emplace(id, std::move(p)).first->second;
        transmit(now, stored);
    }
}

Result<RequestId> Engine::Impl::cancel_observation(TimePoint now, ObservationId oid) {
    auto it = observations.find(oid.value);
    if (it == observations.end()) return fail(Errc::unknown_observation);
    Observation& o = it->second;
    Reg* r = live(o.slot, o.nonce);
    if (r == nullptr) return fail(Errc::unknown_observation);
    if (r->queued >= cfg.max_queued_requests) return fail(Errc::queue_full);
    // TS 1.1 §6.4.2 / RFC 7641 §3.6: the same request with Observe=1 and the same token.
    coap::Message m;
    m.type = coap::Type::con;
    if (o.composite) {
        const ContentFormat f = o.request_format.value_or(ContentFormat::senml_cbor);
        std::vector<dm::Record> recs;
        for (const auto& path : o.paths)
            recs.push_back(dm::Record{path, dm::Value{}, std::nullopt});
        LWM2M_TRY(payload, format::encode_records(f, recs));
        m.code = coap::code::fetch;
        add_path(m, sets[r->objects].links.root, dm::Path{});
        m.add_uint_option(coap::option::observe, 1);
        m.add_uint_option(coap::option::content_format, static_cast<std::uint16_t>(f));
        m.add_uint_option(coap::option::accept, static_cast<std::uint16_t>(o.accept.value_or(f)));
        m.payload = std::move(payload);
    } else {
        m.code = coap::code::get;
        add_path(m, sets[r->objects].links.root, o.paths.front());
        m.add_uint_option(coap::option::observe, 1);
        if (o.accept)
            m.add_uint_option(coap::option::accept, static_cast<std::uint16_t>(*o.accept));
    }
    m.token = o.token;
    Pending p;
    p.id = next_request++;
    p.slot = o.slot;
    p.nonce = o.nonce;
    p.op = o.composite ? Operation::cancel_observe_composite : Operation::cancel_observation;
    p.msg = std::move(m);
    p.path = o.paths.front();
    p.paths = o.paths;
    p.accept = o.accept;
    p.deadline = now + cfg.request_timeout;
    const std::uint32_t slot = o.slot;
    const std::uint16_t l = r->listener;
    // Forget it in the CoAP layer first, so the token is free for the cancelling request.
    end_observation(oid.value, ObservationEndReason::cancelled, true, true, now);
    const std::uint64_t id = p.id;
    push_timeout(p.deadline, id);
    auto& stored = pending.emplace(id, std::move(p)).first->second;
    enqueue(reg(slot), stored);
    pump(now, slot);
    drain(l, now);
    return RequestId{id};
}

Result<void> Engine::Impl::forget_observation(TimePoint now, ObservationId oid) {
    auto it = observations.find(oid.value);
    if (it == observations.end()) return fail(Errc::unknown_observation);
    const std::uint16_t l = it->second.listener;
    end_observation(oid.value, ObservationEndReason::cancelled, true, true, now);
    drain(l, now);
    return ok();
}

// ------------------------------------------------------------------ Send (uplink)

void Engine::Impl::do_send(std::uint16_t l, TimePoint now, coap::IncomingRequest& in) {
    const auto found = find_peer(l, in.peer);
    // Transport TS 1.1 Table 6.7-4: Send answers 2.04, 4.00 or 4.04.
    if (!found) {
        // Read-through: an authenticated client registered at another node (docs/cluster-nodes.md).
        if (park(l, now, in, identity_endpoint(l, in.peer), {})) return;
        return respond(l, now, in.id, coap::code::not_found, "no registration for this client");
    }
    const std::uint32_t slot = *found;
    Reg& r = reg(slot);
    if (r.version == dm::Lwm2mVersion::v1_0 && cfg.strict)
        return respond(l, now, in.id, coap::code::bad_request, "Send is a LwM2M 1.1 operation");
    const coap::Message& m = in.request;
    const auto cf = m.uint_option(coap::option::content_format);
    const auto f = cf ? format::content_format_from(static_cast<std::uint16_t>(*cf)) : std::nullopt;
    if (!f || !composite_format(*f))
        return respond(l, now, in.id, coap::code::bad_request,
                       "Send needs SenML JSON, SenML CBOR or LwM2M CBOR");
    auto recs = format::decode_records(*f, m.payload, *models.profile(r.profile).registry,
                                       decode_options());
    if (!recs)
        return respond(l, now, in.id, coap::code::bad_request,
                       "payload: " + recs.error().message());
    if (cfg.strict) {
        const auto& links = sets[r.objects].links.links;
        for (const auto& rec : *recs)
            if (std::none_of(links.begin(), links.end(), [&](const ObjectLink& k) {
                    return rec.path.depth() >= 1 && k.oid == rec.path.oid().v;
                }))
                return respond(l, now, in.id, coap::code::not_found,
                               "reported object " + std::to_string(rec.path.oid().v) +
                                   " is not registered");
    }
    note_decoding(r, nullptr, &*recs);
    ++stats.sends;
    respond(l, now, in.id, coap::code::changed);
    emit(SendEvent{r.endpoint, *f, std::move(*recs), m.payload.size()});
    touch(now, slot);
    pump(now, slot);
}

} // namespace lwm2m::server
