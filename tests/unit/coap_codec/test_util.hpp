// Helpers shared by the CoAP codec unit tests.
#pragma once

#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include <lwm2m/base/bytes.hpp>
#include <lwm2m/coap/codec.hpp>

namespace lwm2m::coap::test {

/// Bytes from hex with optional spaces ("40 01 7d 34").
inline Bytes hex(std::string_view h) {
    std::string clean;
    for (char c : h)
        if (c != ' ' && c != '\n') clean.push_back(c);
    Bytes out;
    EXPECT_TRUE(from_hex(clean, out)) << "bad hex in test: " << h;
    return out;
}

/// Concatenation of byte strings.
inline Bytes cat(Bytes a, BytesView b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

/// Error code of a failed decode, or a default error_code on success.
inline std::error_code decode_error(BytesView b) {
    MessageView v;
    auto r = decode_into(b, v);
    return r ? std::error_code{} : r.error();
}

} // namespace lwm2m::coap::test
