// Fuzz target: format::parse_links (RFC 6690). Accepted input must serialize and parse back to
// the same links.
#include <cstdlib>
#include <string_view>

#include <lwm2m/format/link_format.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lwm2m::format;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (bool strict : {true, false}) {
        LinkLimits limits;
        limits.validate_lwm2m = strict;
        auto links = parse_links(text, limits);
        if (!links) continue;
        const std::string again = serialize_links(*links);
        auto back = parse_links(again, limits);
        if (!back || *back != *links) std::abort();
        for (const auto& l : *links) {
            auto p = l.path(); // must not crash; LwM2M paths parse, others fail cleanly
            if (p && p->depth() == 0 && l.target != "/") std::abort();
        }
    }
    return 0;
}
