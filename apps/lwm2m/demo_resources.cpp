#include "demo_resources.hpp"

#include <algorithm>
#include <string>
#include <variant>

#include <fmt/format.h>

#include <lwm2m/base/errc.hpp>

namespace lwm2m::app {
namespace {

namespace code = coap::code;
namespace option = coap::option;

coap::Message reply(coap::Code c) {
    coap::Message m;
    m.code = c;
    return m;
}

coap::Message text_reply(coap::Code c, std::string_view text, std::uint16_t format) {
    coap::Message m = reply(c);
    m.add_uint_option(option::content_format, format);
    m.payload = to_bytes(text);
    return m;
}

} // namespace

std::string large_body() {
    std::string s;
    s.reserve(4096 + 68);
    for (int i = 0; s.size() < 4096; ++i) {
        s += fmt::format("{:04d} abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\n",
                         i);
    }
    s.resize(4096);
    return s;
}

coap::Message DemoResources::counter_message() const {
    return text_reply(code::content, std::to_string(counter_), coap::content_format::text_plain);
}

coap::Message DemoResources::handle(const coap::IncomingRequest& r) {
    const coap::Code method = r.request.code;
    const std::string path = r.request.path();
    if (path == "/hello") {
        if (method != code::get) return reply(code::method_not_allowed);
        return text_reply(code::content, "Hello, world!", coap::content_format::text_plain);
    }
    if (path == "/echo") {
        if (method == code::put || method == code::post) {
            echo_body_ = r.request.payload;
            echo_format_ = r.request.uint_option(option::content_format);
            echo_set_ = true;
            return reply(code::changed);
        }
        if (method == code::get) {
            if (!echo_set_) return reply(code::not_found);
            coap::Message m = reply(code::content);
            if (echo_format_) m.add_uint_option(option::content_format, *echo_format_);
            m.payload = echo_body_;
            return m;
        }
        if (method == code::delete_) {
            echo_body_.clear();
            echo_format_.reset();
            echo_set_ = false;
            return reply(code::deleted);
        }
        return reply(code::method_not_allowed);
    }
    if (path == "/large") {
        if (method != code::get) return reply(code::method_not_allowed);
        return text_reply(code::content, large_body(), coap::content_format::text_plain);
    }
    if (path == "/counter") {
        if (method != code::get) return reply(code::method_not_allowed);
        coap::Message m = counter_message();
        // RFC 7641 §4.1: a 2.xx with Observe makes the registration active.
        if (r.observe_register && observers_.size() < max_observers) {
            m.add_uint_option(option::observe, counter_ & 0xFFFFFFU);
            observers_.push_back(r.observation);
        }
        return m;
    }
    if (path == "/.well-known/core") {
        if (method != code::get) return reply(code::method_not_allowed);
        // RFC 6690 §5 link format.
        return text_reply(code::content,
                          "</hello>;rt=\"demo.hello\";ct=0,"
                          "</echo>;rt=\"demo.echo\","
                          "</large>;rt=\"demo.large\";ct=0;sz=4096,"
                          "</counter>;rt=\"demo.counter\";ct=0;obs",
                          coap::content_format::link_format);
    }
    return reply(code::not_found);
}

void DemoResources::on_events(TimePoint now) {
    while (auto ev = ep_.poll_event())
        on_event(now, *ev);
}

void DemoResources::on_event(TimePoint now, const coap::Event& ev) {
    if (const auto* r = std::get_if<coap::IncomingRequest>(&ev)) {
        coap::Message resp = handle(*r);
        if (log_.enabled(LogLevel::info)) {
            log_.write(LogLevel::info, "demo",
                       fmt::format("{} {} {} -> {}", r->peer.to_string(),
                                   r->request.code.to_string(), r->request.path(),
                                   resp.code.to_string()));
        }
        if (auto s = ep_.send_response(now, r->id, std::move(resp)); !s) {
            log_.write(LogLevel::warn, "demo", "response not sent: " + s.error().message());
            if (r->observe_register && !observers_.empty() && observers_.back() == r->observation) {
                observers_.pop_back();
            }
        }
    } else if (const auto* e = std::get_if<coap::ObservationEnded>(&ev)) {
        std::erase(observers_, e->id);
        log_.write(LogLevel::info, "demo", "observation ended by " + e->peer.to_string());
    }
    // Client-role events do not occur: this server sends no requests.
}

void DemoResources::tick(TimePoint now) {
    ++counter_;
    const bool con = counter_ % con_every == 0;
    for (std::size_t i = 0; i < observers_.size();) {
        auto s = ep_.send_notification(now, observers_[i], counter_message(), con);
        if (!s && s.error() == lwm2m::make_error_code(lwm2m::Errc::not_found)) {
            observers_.erase(observers_.begin() + static_cast<std::ptrdiff_t>(i));
            continue;
        }
        ++i;
    }
}

} // namespace lwm2m::app
