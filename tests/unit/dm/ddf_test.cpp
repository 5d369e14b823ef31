#include <lwm2m/dm/ddf.hpp>
#include <lwm2m/dm/errc.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace lwm2m::dm;

namespace {

// A small hand-written definition in the LWM2M-v1_1.xsd shape.
const char* const kGood = R"(<?xml version="1.0" encoding="UTF-8"?>
<LWM2M xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Object ObjectType="MODefinition">
    <Name> Test Sensor </Name>
    <Description1>A sensor for tests.</Description1>
    <ObjectID>32769</ObjectID>
    <ObjectURN>urn:oma:lwm2m:x:32769:1.1</ObjectURN>
    <LWM2MVersion>1.1</LWM2MVersion>
    <ObjectVersion>1.1</ObjectVersion>
    <MultipleInstances>Multiple</MultipleInstances>
    <Mandatory>Optional</Mandatory>
    <Resources>
      <Item ID="5700">
        <Name>Sensor Value</Name><Operations>R</Operations>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Mandatory</Mandatory>
        <Type>Float</Type><RangeEnumeration>-40..85</RangeEnumeration><Units>Cel</Units>
        <Description><![CDATA[Last value & more]]></Description>
      </Item>
      <Item ID="1">
        <Name>Counts</Name><Operations>RW</Operations>
        <MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
        <Type>Unsigned Integer</Type><RangeEnumeration></RangeEnumeration><Units/>
        <Description>a &amp; b</Description>
        <FutureElement>ignored</FutureElement>
      </Item>
      <Item ID="2">
        <Name>Reset</Name><Operations>E</Operations>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
        <Type></Type><RangeEnumeration/><Units/><Description/>
      </Item>
      <Item ID="3">
        <Name>Link</Name><Operations>W</Operations>
        <MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>
        <Type>Corelnk</Type>
      </Item>
    </Resources>
    <Description2></Description2>
  </Object>
</LWM2M>
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
    const auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) s.replace(pos, from.size(), to);
    return s;
}

DdfError expect_error(const std::string& xml, Errc code) {
    DdfError err;
    auto r = load_ddf(xml, "test.xml", &err);
    EXPECT_FALSE(r.has_value());
    if (!r) {
        EXPECT_EQ(r.error(), make_error_code(code)) << err.to_string();
    }
    EXPECT_EQ(err.code, make_error_code(code));
    EXPECT_EQ(err.file, "test.xml");
    EXPECT_FALSE(err.message.empty());
    return err;
}

} // namespace

TEST(Ddf, LoadsAHandWrittenDefinition) {
    DdfError err;
    auto r = load_ddf(kGood, "good.xml", &err);
    ASSERT_TRUE(r.has_value()) << err.to_string();
    const ObjectDef& d = *r;
    EXPECT_EQ(d.id, 32769);
    EXPECT_EQ(d.name, "Test Sensor");
    EXPECT_EQ(d.urn, "urn:oma:lwm2m:x:32769:1.1");
    EXPECT_EQ(d.object_version, "1.1");
    EXPECT_EQ(d.lwm2m_version, "1.1");
    EXPECT_TRUE(d.multiple);
    EXPECT_FALSE(d.mandatory);
    ASSERT_EQ(d.resources.size(), 4u);
    EXPECT_EQ(d.resources[0].id, 1); // sorted by id
    EXPECT_EQ(d.resources[3].id, 5700);
    const ResourceDef* v = d.resource(5700);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->name, "Sensor Value");
    EXPECT_EQ(v->operations, Operations::r);
    EXPECT_FALSE(v->multiple);
    EXPECT_TRUE(v->mandatory);
    EXPECT_EQ(v->type, DataType::float_);
    EXPECT_EQ(v->range_enumeration, "-40..85");
    EXPECT_EQ(v->units, "Cel");
    EXPECT_EQ(v->description, "Last value & more");
    EXPECT_EQ(d.resource(1)->type, DataType::unsigned_integer);
    EXPECT_TRUE(d.resource(1)->multiple);
    EXPECT_EQ(d.resource(1)->description, "a & b");
    EXPECT_EQ(d.resource(2)->type, DataType::none);
    EXPECT_TRUE(d.resource(2)->executable());
    EXPECT_EQ(d.resource(3)->type, DataType::corelnk);
    EXPECT_EQ(d.resource(3)->operations, Operations::w);
}

TEST(Ddf, Lwm2m10ShapeDefaultsVersions) {
    std::string x = replace(kGood, "<LWM2MVersion>1.1</LWM2MVersion>", "");
    x = replace(x, "<ObjectVersion>1.1</ObjectVersion>", "");
    auto r = load_ddf(x, "old.xml");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->object_version, "1.0");
    EXPECT_EQ(r->lwm2m_version, "1.0");
}

TEST(Ddf, ErrorsNameFileLineAndProblem) {
    // duplicate resource id: reported at the second <Item>
    auto e =
        expect_error(replace(kGood, R"(<Item ID="2">)", R"(<Item ID="1">)"), Errc::ddf_duplicate);
    EXPECT_EQ(e.line, 26u);
    EXPECT_NE(e.message.find("duplicate resource id 1"), std::string::npos) << e.message;
    EXPECT_EQ(e.to_string().rfind("test.xml:26: ", 0), 0u) << e.to_string();

    e = expect_error(replace(kGood, "<Type>Float</Type>", "<Type>Double</Type>"),
                     Errc::ddf_bad_field);
    EXPECT_EQ(e.line, 16u);
    EXPECT_NE(e.message.find("resource 5700"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("'Double'"), std::string::npos) << e.message;

    e = expect_error(replace(kGood, "<ObjectID>32769</ObjectID>", ""), Errc::ddf_missing_field);
    EXPECT_EQ(e.line, 3u);
    EXPECT_NE(e.message.find("ObjectID"), std::string::npos);

    e = expect_error(replace(kGood, R"(<Item ID="5700">)", "<Item>"), Errc::ddf_missing_field);
    EXPECT_EQ(e.line, 13u);
    e = expect_error(replace(kGood, R"(<Item ID="5700">)", R"(<Item ID="65535">)"),
                     Errc::ddf_bad_field);
    e = expect_error(replace(kGood, R"(<Item ID="5700">)", R"(<Item ID="-1">)"),
                     Errc::ddf_bad_field);
    e = expect_error(replace(kGood, "<ObjectID>32769</ObjectID>", "<ObjectID>70000</ObjectID>"),
                     Errc::ddf_bad_field);
    e = expect_error(replace(kGood, "<ObjectID>32769</ObjectID>",
                             "<ObjectID>1</ObjectID><ObjectID>2</ObjectID>"),
                     Errc::ddf_duplicate);
    e = expect_error(replace(kGood, "<Operations>RW</Operations>", "<Operations>RWE</Operations>"),
                     Errc::ddf_bad_field);
    e = expect_error(replace(kGood, "<Mandatory>Optional</Mandatory>\n    <Resources>",
                             "<Mandatory>Maybe</Mandatory><Resources>"),
                     Errc::ddf_bad_field);
    e = expect_error(replace(kGood,
                             "<MultipleInstances>Multiple</MultipleInstances>\n    <Mandatory>",
                             "<MultipleInstances>Many</MultipleInstances><Mandatory>"),
                     Errc::ddf_bad_field);
    e = expect_error(
        replace(kGood, "<ObjectVersion>1.1</ObjectVersion>", "<ObjectVersion>one</ObjectVersion>"),
        Errc::ddf_bad_field);
    // missing <Type> on a readable resource
    e = expect_error(replace(kGood, "<Type>Corelnk</Type>", ""), Errc::ddf_missing_field);
    e = expect_error(replace(kGood, "<Name>Counts</Name>", ""), Errc::ddf_missing_field);
}

TEST(Ddf, MalformedXmlIsReportedWithItsLine) {
    auto e = expect_error(replace(kGood, "</Units>\n        <Description><![CDATA",
                                  "</Unit>\n        <Description><![CDATA"),
                          Errc::ddf_xml);
    EXPECT_EQ(e.line, 16u);
    EXPECT_NE(e.message.find("XML error"), std::string::npos);
    expect_error("", Errc::ddf_xml);
    expect_error("<LWM2M>", Errc::ddf_xml);
    expect_error("\xff\xfe\x00garbage", Errc::ddf_xml);
    expect_error("<LWM2M></LWM2M>", Errc::ddf_no_object);
    expect_error(replace(kGood, "</Object>", "</Object><Object></Object>"), Errc::ddf_duplicate);
    expect_error("<LWM2M><Object><Name>x</Name></Object></LWM2M>", Errc::ddf_missing_field);
    expect_error("<a>&undefined;</a>", Errc::ddf_xml);
}

TEST(Ddf, EntityDeclarationsAreRefused) {
    const std::string laughs = R"(<?xml version="1.0"?>
<!DOCTYPE LWM2M [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<LWM2M><Object><Name>&lol9;</Name></Object></LWM2M>)";
    auto e = expect_error(laughs, Errc::ddf_xml);
    EXPECT_EQ(e.line, 3u);
    EXPECT_NE(e.message.find("entity"), std::string::npos);
    const std::string external = R"(<?xml version="1.0"?>
<!DOCTYPE LWM2M [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<LWM2M><Object><Name>&xxe;</Name></Object></LWM2M>)";
    expect_error(external, Errc::ddf_xml);
}

TEST(Ddf, LimitsBoundWork) {
    DdfLimits small;
    small.max_bytes = 100;
    DdfError err;
    auto r = load_ddf(kGood, "big.xml", &err, small);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(Errc::ddf_too_large));

    DdfLimits few;
    few.max_resources = 2;
    EXPECT_EQ(load_ddf(kGood, "x", nullptr, few).error(), make_error_code(Errc::ddf_too_large));

    DdfLimits short_text;
    short_text.max_text = 8;
    EXPECT_EQ(load_ddf(kGood, "x", nullptr, short_text).error(),
              make_error_code(Errc::ddf_too_large));

    std::string deep;
    for (int i = 0; i < 100; ++i)
        deep += "<a>";
    for (int i = 0; i < 100; ++i)
        deep += "</a>";
    EXPECT_EQ(load_ddf(deep, "x").error(), make_error_code(Errc::ddf_too_large));

    // one huge description within limits loads
    const std::string longdesc = replace(kGood, "Last value & more", std::string(60000, 'd'));
    EXPECT_TRUE(load_ddf(longdesc, "x"));
}

TEST(Ddf, DirectoryLoadSkipsBadFilesAndReportsThem) {
    const auto dir =
        std::filesystem::temp_directory_path() /
        ("lwm2m_ddf_dir_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto write = [&](const char* name, const std::string& text) {
        std::ofstream(dir / name, std::ios::binary) << text;
    };
    write("a.xml", kGood);
    write("b.xml", "<LWM2M><Object>");
    write("c.xml", replace(kGood, "<ObjectID>32769</ObjectID>", "<ObjectID>32770</ObjectID>"));
    write("notes.txt", "not xml, not loaded");
    std::filesystem::create_directories(dir / "sub.xml"); // a folder named *.xml is skipped
    const auto res = load_ddf_dir(dir);
    ASSERT_EQ(res.defs.size(), 2u);
    EXPECT_EQ(res.defs[0].id, 32769);
    EXPECT_EQ(res.defs[1].id, 32770);
    ASSERT_EQ(res.errors.size(), 1u);
    EXPECT_EQ(std::filesystem::path(res.errors[0].file).filename(), "b.xml");
    EXPECT_EQ(res.errors[0].code, make_error_code(Errc::ddf_xml));

    DdfError err;
    EXPECT_EQ(load_ddf_file(dir / "missing.xml", &err).error(), make_error_code(Errc::ddf_io));
    EXPECT_NE(err.file.find("missing.xml"), std::string::npos);
    const auto none = load_ddf_dir(dir / "no-such-folder");
    EXPECT_TRUE(none.defs.empty());
    ASSERT_EQ(none.errors.size(), 1u);
    EXPECT_EQ(none.errors[0].code, make_error_code(Errc::ddf_io));
    std::filesystem::remove_all(dir);
}
