// Fuzz target: format::decode for text/plain and octet-stream (byte 0 bit 7 selects).
#include "fuzz/format_common/format_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using lwm2m::format::ContentFormat;
    if (size > 0 && (data[0] & 0x80) != 0)
        return lwm2m::format::fuzz::run(ContentFormat::octet_stream, data, size, false);
    return lwm2m::format::fuzz::run(ContentFormat::text_plain, data, size, false);
}
