// Sample CoAP messages shared by tests and benchmarks.
#pragma once

#include <string_view>

#include <lwm2m/coap/message.hpp>

namespace lwm2m::test {

/// The 10-link object list of the sample Register request.
inline constexpr std::string_view register_links =
    "</1/0>,</3/0>,</3303/0>,</3303/1>,</3304/0>,</3311/0>,</3311/1>,</5/0>,</4/0>,</6/0>";

/// A typical LwM2M Register request (LwM2M TS Transport 1.1 §6.4.1 / Core §6.2.1): CON POST
/// /rd?ep=...&lt=86400&lwm2m=1.1&b=U, Content-Format 40, a 10-link payload.
inline coap::Message make_register() {
    coap::Message m;
    m.type = coap::Type::con;
    m.code = coap::code::post;
    m.message_id = 0x1234;
    m.token = coap::Token::from_u64(0xa1b2c3d4e5f60718ULL);
    m.set_path("/rd");
    m.add_queries("ep=urn:imei:490154203237518&lt=86400&lwm2m=1.1&b=U");
    m.add_uint_option(coap::option::content_format, coap::content_format::link_format);
    m.payload = to_bytes(register_links);
    return m;
}

} // namespace lwm2m::test
