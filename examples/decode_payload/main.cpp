// Decodes LwM2M payloads with lwm2m::format against the built-in object definitions and prints
// one line per resource value. Without arguments it decodes two built-in samples of Device
// (Object 3) instance 0: a TLV payload (LwM2M TS Core 1.1 §7.4.3) and the same values in
// SenML JSON (§7.4.4, RFC 8428). With arguments it decodes a file:
//
//   decode_payload                                  # the two samples
//   decode_payload tlv|senml-json|senml-cbor|lwm2m-json|lwm2m-cbor FILE /3/0
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <lwm2m/dm/registry.hpp>
#include <lwm2m/dm/value_text.hpp>
#include <lwm2m/format/codec.hpp>
#include <lwm2m/version.hpp>

namespace {

using lwm2m::format::ContentFormat;

/// Prints every leaf of the decoded content as "/o/i/r = value (type)".
int decode_and_print(ContentFormat f, lwm2m::BytesView payload, std::string_view target_text) {
    const auto registry = lwm2m::dm::ObjectRegistry::builtin(lwm2m::dm::Lwm2mVersion::v1_1);
    auto target = lwm2m::dm::Path::parse(target_text);
    if (!target) {
        std::fprintf(stderr, "bad path '%.*s': %s\n", int(target_text.size()), target_text.data(),
                     target.error().message().c_str());
        return 2;
    }
    auto content = lwm2m::format::decode(f, payload, *target, registry);
    if (!content) {
        // Errors are std::error_code values of the format layer (lwm2m.format category).
        std::fprintf(stderr, "decode failed: %s\n", content.error().message().c_str());
        return 1;
    }
    std::printf("%s payload, %zu bytes, at %s:\n", std::string(to_string(f)).c_str(),
                payload.size(), target->to_string().c_str());
    for (const auto& record : lwm2m::format::to_records(*content)) {
        auto text = lwm2m::dm::format_text(record.value);
        std::printf("  %s = %s (%s)\n", record.path.to_string().c_str(), text ? text->c_str() : "?",
                    std::string(to_string(record.value.type())).c_str());
    }
    return 0;
}

std::optional<ContentFormat> format_named(std::string_view name) {
    if (name == "tlv") return ContentFormat::lwm2m_tlv;
    if (name == "senml-json") return ContentFormat::senml_json;
    if (name == "senml-cbor") return ContentFormat::senml_cbor;
    if (name == "lwm2m-json") return ContentFormat::lwm2m_json;
    if (name == "lwm2m-cbor") return ContentFormat::lwm2m_cbor;
    return std::nullopt;
}

} // namespace

int main(int argc, char** argv) {
    std::printf("lwm2m-cpp %s\n", std::string(lwm2m::version_string).c_str());
    if (argc == 4) {
        auto f = format_named(argv[1]);
        std::ifstream in(argv[2], std::ios::binary);
        if (!f || !in) {
            std::fprintf(stderr, "usage: decode_payload [FORMAT FILE PATH]\n");
            return 2;
        }
        const std::string data{std::istreambuf_iterator<char>(in), {}};
        return decode_and_print(*f, lwm2m::as_bytes(data), argv[3]);
    }
    if (argc != 1) {
        std::fprintf(stderr, "usage: decode_payload [FORMAT FILE PATH]\n");
        return 2;
    }

    // TLV (TS 1.1 §7.4.3.2): type byte 0b11_0_01_000 = resource with value, 8-bit id, 8-bit
    // length; 0b11_0_00_001 = resource, 8-bit id, 1-byte value.
    std::string tlv;
    auto resource = [&](char id, std::string_view value) {
        tlv += '\xC8';
        tlv += id;
        tlv += static_cast<char>(value.size());
        tlv += value;
    };
    resource('\x00', "Open Mobile Alliance");   // 0 Manufacturer
    resource('\x01', "Lightweight M2M Client"); // 1 Model Number
    tlv += std::string("\xC1\x09\x64", 3);      // 9 Battery Level = 100
    int rc = decode_and_print(ContentFormat::lwm2m_tlv, lwm2m::as_bytes(tlv), "/3/0");
    if (rc != 0) return rc;

    const std::string senml = R"([{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},)"
                              R"({"n":"1","vs":"Lightweight M2M Client"},{"n":"9","v":100}])";
    return decode_and_print(ContentFormat::senml_json, lwm2m::as_bytes(senml), "/3/0");
}
