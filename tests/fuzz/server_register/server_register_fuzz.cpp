// Fuzz target: the Registration Interface parser (server::parse_register_query and
// server::parse_object_links). The input is "query\npayload": the query part is split at '&'
// into Uri-Query items, the rest is the link payload. Both parsers run in strict and lenient
// mode for Register and Update. Invariants: never crash; strict acceptance implies lenient
// acceptance with the same result and no notes; a refusal carries a 4.00 or 4.12 and a
// diagnostic of printable text.
#include <cstdlib>
#include <string_view>
#include <vector>

#include <lwm2m/server/register_parser.hpp>

namespace {
void check_refusal(const lwm2m::server::Refusal& why) {
    using lwm2m::server::Errc;
    if (why.code != Errc::bad_request && why.code != Errc::unsupported_version) std::abort();
    if (why.text.empty()) std::abort();
    for (char c : why.text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lwm2m::server;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto nl = text.find('\n');
    const std::string_view query = text.substr(0, nl);
    const std::string_view payload =
        nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::vector<std::string_view> items;
    for (std::size_t i = 0; i <= query.size();) {
        const auto amp = query.find('&', i);
        items.push_back(
            query.substr(i, amp == std::string_view::npos ? std::string_view::npos : amp - i));
        if (amp == std::string_view::npos) break;
        i = amp + 1;
    }
    for (auto kind : {RequestKind::register_, RequestKind::update}) {
        QueryOptions strict;
        strict.kind = kind;
        strict.strict = true;
        QueryOptions lenient = strict;
        lenient.strict = false;
        Refusal why;
        auto s = parse_register_query(items, strict, &why);
        if (!s) check_refusal(why);
        auto l = parse_register_query(items, lenient, &why);
        if (!l) check_refusal(why);
        if (s) {
            if (!l || s->notes != 0) std::abort();
            if (s->endpoint != l->endpoint || s->lifetime != l->lifetime ||
                s->version != l->version || s->binding != l->binding || s->queue != l->queue ||
                s->sms != l->sms)
                std::abort();
        }
    }
    LinksOptions so;
    so.strict = true;
    LinksOptions lo;
    Refusal why;
    auto s = parse_object_links(payload, so, &why);
    if (!s) check_refusal(why);
    auto l = parse_object_links(payload, lo, &why);
    if (!l) check_refusal(why);
    if (s) {
        if (!l || s->notes != 0 || s->links != l->links || s->root != l->root) std::abort();
        for (const auto& link : s->links)
            if (link.oid == 0 || link.oid == 21) std::abort();
    }
    return 0;
}
