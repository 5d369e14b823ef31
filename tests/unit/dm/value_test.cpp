#include <lwm2m/dm/value.hpp>

#include <gtest/gtest.h>

using lwm2m::dm::DataType;
using lwm2m::dm::Value;

TEST(Value, TypeOfEveryAlternative) {
    EXPECT_EQ(Value{}.type(), DataType::none);
    EXPECT_TRUE(Value{}.is_none());
    EXPECT_EQ(Value::string("x").type(), DataType::string);
    EXPECT_EQ(Value::integer(-1).type(), DataType::integer);
    EXPECT_EQ(Value::unsigned_integer(1).type(), DataType::unsigned_integer);
    EXPECT_EQ(Value::float_(1.5).type(), DataType::float_);
    EXPECT_EQ(Value::boolean(true).type(), DataType::boolean);
    EXPECT_EQ(Value::opaque(lwm2m::to_bytes("ab")).type(), DataType::opaque);
    EXPECT_EQ(Value::time(5).type(), DataType::time);
    EXPECT_EQ(Value::objlnk(3, 0).type(), DataType::objlnk);
    EXPECT_EQ(Value::corelnk("</3/0>").type(), DataType::corelnk);
}

TEST(Value, TimeAndCorelnkStayDistinct) {
    EXPECT_NE(Value::time(5), Value::integer(5));
    EXPECT_NE(Value::corelnk("a"), Value::string("a"));
    EXPECT_NE(Value::integer(1), Value::unsigned_integer(1));
    EXPECT_EQ(Value::time(5).as_time(), 5);
    EXPECT_EQ(Value::corelnk("</1>").as_corelnk(), "</1>");
    EXPECT_EQ(Value::objlnk(3, 7).as_objlnk(), (lwm2m::dm::Objlnk{3, 7}));
    EXPECT_EQ(lwm2m::dm::Objlnk{}, (lwm2m::dm::Objlnk{0xffff, 0xffff})); // the null link
}

TEST(Value, DataTypeNamesAreTheDdfSpellings) {
    EXPECT_EQ(to_string(DataType::unsigned_integer), "Unsigned Integer");
    EXPECT_EQ(to_string(DataType::float_), "Float");
    EXPECT_EQ(to_string(DataType::objlnk), "Objlnk");
    EXPECT_EQ(to_string(DataType::corelnk), "Corelnk");
    EXPECT_EQ(to_string(DataType::none), "none");
}
