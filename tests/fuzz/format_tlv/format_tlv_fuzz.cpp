// Fuzz target: format::decode for lwm2m_tlv (see tests/fuzz/format_common/format_fuzz.hpp).
#include "fuzz/format_common/format_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return lwm2m::format::fuzz::run(lwm2m::format::ContentFormat::lwm2m_tlv, data, size, false);
}
