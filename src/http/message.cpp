#include <lwm2m/http/message.hpp>

namespace lwm2m::http {

std::optional<std::string_view> Request::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return std::string_view(v);
    return std::nullopt;
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
    for (const auto& [k, v] : query)
        if (k == name) return std::string_view(v);
    return std::nullopt;
}

const std::string& Request::param(std::string_view name) const {
    static const std::string empty;
    auto it = params.find(name);
    return it == params.end() ? empty : it->second;
}

Response Response::json(unsigned status, const nlohmann::json& value) {
    Response r;
    r.status = status;
    // Invalid UTF-8 (which the API never produces from validated input) is replaced, not thrown.
    r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
}

Response Response::error(unsigned status, std::string_view code, std::string_view message) {
    return json(
        status,
        {{"error",
          {{"status", status}, {"code", std::string(code)}, {"message", std::string(message)}}}});
}

Response Response::no_content() {
    Response r;
    r.status = 204;
    r.content_type.clear();
    return r;
}

namespace detail {
ReplyState::~ReplyState() {
    if (!done.exchange(true) && deliver) {
        try {
            deliver([] {
                return Response::error(503, "engine_unavailable",
                                       "the request was dropped without an answer");
            });
        } catch (...) {
            // Destructors must not throw; the connection then times out (504).
        }
    }
}
} // namespace detail

bool Reply::send(Response r) const {
    auto shared = std::make_shared<Response>(std::move(r));
    return send_with([shared] { return std::move(*shared); });
}

bool Reply::send_with(std::function<Response()> make) const {
    if (!s_ || s_->done.exchange(true, std::memory_order_acq_rel)) return false;
    s_->deliver(std::move(make));
    return true;
}

Reply Reply::to(std::function<void(Response)> sink) {
    return Reply(std::make_shared<detail::ReplyState>(
        [sink = std::move(sink)](const std::function<Response()>& make) { sink(make()); }));
}

} // namespace lwm2m::http
