// Builds cookie-verified DTLS ClientHellos without a client session (RFC 6347 §4.2.1), for the
// half-open handshake tests and bench/dtls_halfopen: a first ClientHello goes to the server from
// `from`, the cookie of its HelloVerifyRequest is spliced into a copy of the hello, and that
// copy is what a real client at `from` would send next. Costs no ClientSession per address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <lwm2m/base/bytes.hpp>

namespace lwm2m::test {

/// The cookie of a HelloVerifyRequest datagram (record 13 + handshake header 12 + version 2 +
/// cookie<0..255>), or nullopt when `hvr` is not one.
inline std::optional<Bytes> cookie_of_hello_verify(BytesView hvr) {
    constexpr std::size_t off = 13 + 12 + 2;
    if (hvr.size() < off + 1 || hvr[0] != std::byte{22} || hvr[13] != std::byte{3})
        return std::nullopt;
    const auto n = std::to_integer<std::size_t>(hvr[off]);
    if (hvr.size() < off + 1 + n) return std::nullopt;
    return Bytes(hvr.begin() + off + 1, hvr.begin() + off + 1 + n);
}

/// `hello` (a first ClientHello: one record, one unfragmented message, empty cookie) with
/// `cookie` inserted, message_seq 1 and record sequence number 1, as the second ClientHello
/// (RFC 6347 §4.2.1). Empty when `hello` does not have that shape.
inline Bytes with_cookie(BytesView hello, BytesView cookie) {
    constexpr std::size_t body = 13 + 12;
    if (hello.size() < body + 2 + 32 + 2 || hello[13] != std::byte{1}) return {};
    const std::size_t sid_len = std::to_integer<std::size_t>(hello[body + 34]);
    const std::size_t cookie_at = body + 35 + sid_len;
    if (hello.size() <= cookie_at || hello[cookie_at] != std::byte{0} || cookie.size() > 255)
        return {};
    Bytes out(hello.begin(), hello.begin() + cookie_at);
    out.push_back(static_cast<std::byte>(cookie.size()));
    out.insert(out.end(), cookie.begin(), cookie.end());
    out.insert(out.end(), hello.begin() + cookie_at + 1, hello.end());
    const auto put = [&](std::size_t at, std::size_t bytes, std::uint64_t v) {
        for (std::size_t i = 0; i < bytes; ++i)
            out[at + i] = static_cast<std::byte>((v >> (8 * (bytes - 1 - i))) & 0xFF);
    };
    const std::size_t msg_len = out.size() - body;
    put(5, 6, 1);                // record sequence number
    put(11, 2, out.size() - 13); // record length
    put(14, 3, msg_len);         // handshake length
    put(17, 2, 1);               // message_seq
    put(19, 3, 0);               // fragment_offset
    put(22, 3, msg_len);         // fragment_length
    return out;
}

} // namespace lwm2m::test
