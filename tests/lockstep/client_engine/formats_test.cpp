// Content formats a client does not offer (EngineConfig::formats, and formats left out of the
// build with LWM2M_FORMATS): a request body in such a format is 4.15 Unsupported Content-Format,
// an Accept asking for one is 4.06 Not Acceptable (RFC 7252 §5.9.2.8, §5.10.4; TS 1.1 §7.4), and
// the default format for multi-value answers falls back to one the client offers.
#include <gtest/gtest.h>

#include <lwm2m/format/codec.hpp>

#include "support/engine_harness.hpp"

namespace lwm2m::client::test {
namespace {

namespace cf = coap::content_format;
using format::ContentFormat;

EngineConfig offering(std::vector<ContentFormat> formats) {
    EngineConfig e = EngineLockstep::default_engine_config();
    e.formats = std::move(formats);
    return e;
}

class EngineFormats : public ::testing::Test {
protected:
    void start(EngineLockstep& lt) {
        lt.dm_server_ok();
        lt.start();
        ASSERT_EQ(lt.engine->reg_state(ShortServerId{101}), RegState::registered);
    }
    static coap::Response call(EngineLockstep& lt, coap::Message m) {
        auto r = lt.request(kDmAddr, std::move(m));
        EXPECT_TRUE(r.has_value());
        return r.value_or(coap::Response{});
    }
    static coap::Message with_accept(coap::Message m, std::uint16_t f) {
        m.add_uint_option(coap::option::accept, f);
        return m;
    }
    static coap::Message with_body(coap::Message m, std::uint16_t f, Bytes body) {
        m.add_uint_option(coap::option::content_format, f);
        m.payload = std::move(body);
        return m;
    }
};

TEST_F(EngineFormats, OnlySenmlCborOffered) {
    EngineLockstep lt(nosec_config(300), offering({ContentFormat::senml_cbor}));
    start(lt);
    // Multi-value read without Accept: SenML CBOR; single values: text/plain (always offered).
    auto r = call(lt, req(coap::code::get, "/3/0"));
    EXPECT_EQ(r.response.code, coap::code::content);
    EXPECT_EQ(r.response.uint_option(coap::option::content_format), cf::senml_cbor);
    r = call(lt, with_accept(req(coap::code::get, "/3/0/9"), cf::text_plain));
    EXPECT_EQ(r.response.code, coap::code::content);
    EXPECT_EQ(as_string_view(r.response.payload), "80");
    // Accept for a format not offered: 4.06, for Read and for Observe.
    for (const std::uint16_t f : {cf::lwm2m_tlv, cf::senml_json, cf::lwm2m_json, cf::lwm2m_cbor}) {
        SCOPED_TRACE(f);
        EXPECT_EQ(call(lt, with_accept(req(coap::code::get, "/3/0"), f)).response.code,
                  coap::code::not_acceptable);
        auto obs = with_accept(req(coap::code::get, "/3/0/9"), f);
        obs.add_uint_option(coap::option::observe, 0);
        EXPECT_EQ(call(lt, std::move(obs)).response.code, coap::code::not_acceptable);
    }
    // A body in a format not offered: 4.15 for Write (replace and partial) and Create, and the
    // value is not written; the same value as text/plain is.
    const dm::Content utc{*dm::Path::parse("/3/0/14"),
                          dm::Resource::single(14, dm::Value::string("+05:00"))};
    for (const auto f : {ContentFormat::lwm2m_tlv, ContentFormat::senml_json}) {
        SCOPED_TRACE(static_cast<int>(f));
        auto body = format::encode(f, utc);
        ASSERT_TRUE(body) << body.error().message();
        EXPECT_EQ(call(lt, with_body(req(coap::code::put, "/3/0/14"), static_cast<std::uint16_t>(f),
                                     *body))
                      .response.code,
                  coap::code::unsupported_content_format);
        EXPECT_EQ(
            call(lt, with_body(req(coap::code::post, "/3/0"), static_cast<std::uint16_t>(f), *body))
                .response.code,
            coap::code::unsupported_content_format);
        EXPECT_EQ(
            call(lt, with_body(req(coap::code::post, "/3"), static_cast<std::uint16_t>(f), *body))
                .response.code,
            coap::code::unsupported_content_format);
    }
    const auto& inst = lt.device.data[0];
    EXPECT_TRUE(inst.find(14) == inst.end() || inst.at(14).value != dm::Value::string("+05:00"));
    EXPECT_EQ(
        call(lt, with_body(req(coap::code::put, "/3/0/14"), cf::text_plain, to_bytes("+05:00")))
            .response.code,
        coap::code::changed);
    EXPECT_EQ(lt.device.data[0][14].value.as_string(), "+05:00");
    // Composite: a SenML JSON body is 4.15; a SenML CBOR body with Accept SenML JSON is 4.06;
    // SenML CBOR both ways works.
    std::vector<dm::Record> paths{dm::Record{*dm::Path::parse("/3/0/9"), {}, {}}};
    auto json = format::encode_records(ContentFormat::senml_json, paths);
    auto cbor = format::encode_records(ContentFormat::senml_cbor, paths);
    ASSERT_TRUE(json && cbor);
    EXPECT_EQ(call(lt, with_body(req(coap::code::fetch, "/"), cf::senml_json, *json)).response.code,
              coap::code::unsupported_content_format);
    EXPECT_EQ(call(lt, with_accept(with_body(req(coap::code::fetch, "/"), cf::senml_cbor, *cbor),
                                   cf::senml_json))
                  .response.code,
              coap::code::not_acceptable);
    r = call(lt, with_body(req(coap::code::fetch, "/"), cf::senml_cbor, *cbor));
    EXPECT_EQ(r.response.code, coap::code::content);
    EXPECT_EQ(r.response.uint_option(coap::option::content_format), cf::senml_cbor);
}

TEST_F(EngineFormats, PreferredFormatFallsBackToAnOfferedOne) {
    // LwM2M 1.0 prefers TLV; a client offering only SenML JSON answers in SenML JSON.
    EngineLockstep lt(nosec_config(300), offering({ContentFormat::senml_json}),
                      dm::Lwm2mVersion::v1_0);
    start(lt);
    auto r = call(lt, req(coap::code::get, "/3/0"));
    EXPECT_EQ(r.response.code, coap::code::content);
    EXPECT_EQ(r.response.uint_option(coap::option::content_format), cf::senml_json);
    // A configured preferred format that is not offered is not used either.
    EngineConfig e = offering({ContentFormat::lwm2m_cbor});
    e.preferred_format = ContentFormat::lwm2m_tlv;
    EngineLockstep lt2(nosec_config(300), e);
    start(lt2);
    r = call(lt2, req(coap::code::get, "/3/0"));
    EXPECT_EQ(r.response.code, coap::code::content);
    EXPECT_EQ(r.response.uint_option(coap::option::content_format), cf::lwm2m_cbor);
}

TEST_F(EngineFormats, EveryBuiltInFormatIsOfferedByDefault) {
    EngineLockstep lt(nosec_config(300));
    start(lt);
    for (const auto f :
         {ContentFormat::lwm2m_tlv, ContentFormat::senml_json, ContentFormat::senml_cbor,
          ContentFormat::lwm2m_json, ContentFormat::lwm2m_cbor}) {
        SCOPED_TRACE(static_cast<int>(f));
        const auto code =
            call(lt, with_accept(req(coap::code::get, "/3/0"), static_cast<std::uint16_t>(f)))
                .response.code;
        // A build without the format (CMake LWM2M_FORMATS) answers 4.06 instead.
        EXPECT_EQ(code, format::built_in(f) ? coap::code::content : coap::code::not_acceptable);
    }
}

} // namespace
} // namespace lwm2m::client::test
