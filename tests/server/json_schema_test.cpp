// The JSON-schema recognizer: conforming documents are accepted byte by byte, every invalid
// continuation is rejected at the first byte that leaves the language, and schema errors name
// the path of the offending keyword.
#include <gtest/gtest.h>

#include "server/json_schema.h"

namespace radseek::server {
namespace {

using nlohmann::json;

std::shared_ptr<const CompiledSchema> compile_ok(const json& s) {
  auto c = compile_schema(s);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : nullptr;
}

// Whether the whole text is a complete conforming document.
bool accepts(const json& schema, std::string_view text) {
  JsonMatcher m(compile_ok(schema));
  return m.feed(text) && m.accepts_end();
}

bool prefix_ok(const json& schema, std::string_view text) {
  JsonMatcher m(compile_ok(schema));
  return m.feed(text);
}

const json kFinding = {
    {"type", "object"},
    {"properties",
     {{"label", {{"type", "string"}, {"enum", {"Edema", "Pleural Effusion"}}}},
      {"value", {{"type", "integer"}}},
      {"confidence", {{"type", "number"}}},
      {"present", {{"type", "boolean"}}},
      {"evidence", {{"type", "array"}, {"items", {{"type", "string"}}}, {"maxItems", 2}}},
      {"note", {{"type", {"string", "null"}}}}}},
    {"required", {"label", "value"}}};

TEST(JsonSchema, AcceptsConformingDocuments) {
  EXPECT_TRUE(accepts(kFinding, R"({"label":"Edema","value":1})"));
  EXPECT_TRUE(accepts(kFinding, " {\n \"value\": -12, \"label\": \"Pleural Effusion\", \"confidence\": 0.5e-3,"
                                " \"present\": false, \"evidence\": [\"a \\\"q\\\" \\u00e9\", \"b\"], \"note\": null}"));
  EXPECT_TRUE(accepts(json::object(), R"({"any":[1,{"x":null},"s",true,-0.5]})"));
  EXPECT_TRUE(accepts({{"type", "number"}}, "12.5"));  // a number ends at the end of the answer
  EXPECT_TRUE(accepts({{"enum", {1, 10, "x"}}}, "1"));
  EXPECT_TRUE(accepts({{"enum", {1, 10, "x"}}}, "10"));
  EXPECT_TRUE(accepts({{"type", "array"}, {"items", {{"enum", {1, 10}}}}}, "[1,10,1]"));
}

TEST(JsonSchema, RejectsInvalidContinuations) {
  EXPECT_TRUE(prefix_ok(kFinding, R"({"lab)"));
  EXPECT_FALSE(prefix_ok(kFinding, R"({"x)"));                      // not a listed property
  EXPECT_TRUE(prefix_ok(kFinding, R"({"label":"Ede)"));
  EXPECT_FALSE(prefix_ok(kFinding, R"({"label":"Cardiomegaly")"));  // not in the enum
  EXPECT_FALSE(prefix_ok(kFinding, R"({"value":1.5)"));             // integer
  EXPECT_FALSE(prefix_ok(kFinding, R"({"value":01)"));              // leading zero
  EXPECT_FALSE(prefix_ok(kFinding, R"({"value":1,"value")"));       // duplicate key
  EXPECT_FALSE(prefix_ok(kFinding, R"({"value":1})"));              // "label" is required
  EXPECT_FALSE(prefix_ok(kFinding, R"({"evidence":["a","b","c")"));  // maxItems 2
  EXPECT_FALSE(prefix_ok(kFinding, "{\"note\":\"a\nb\"}"));            // raw control character
  EXPECT_FALSE(prefix_ok(kFinding, R"({"present":tru })"));
  EXPECT_FALSE(prefix_ok(kFinding, "Sure! {"));                      // prose before the JSON
  EXPECT_FALSE(accepts(kFinding, R"({"label":"Edema")"));           // incomplete
  EXPECT_FALSE(accepts({{"type", "number"}}, "1."));
  EXPECT_FALSE(prefix_ok(json::object(), std::string(40, ' ')));     // endless padding is cut off
}

TEST(JsonSchema, ObjectCannotOpenAKeyWhenAllKeysAreUsed) {
  const json s = {{"type", "object"}, {"properties", {{"a", {{"type", "boolean"}}}}}};
  EXPECT_TRUE(prefix_ok(s, R"({"a":true)"));
  EXPECT_FALSE(prefix_ok(s, R"({"a":true,)"));
}

TEST(JsonSchema, CompileErrorsNameThePath) {
  auto bad_type = compile_schema({{"type", "object"}, {"properties", {{"size", {{"type", "float"}}}}}});
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.error().message.find("schema.properties.size.type"), std::string::npos) << bad_type.error().message;
  auto bad_req = compile_schema({{"type", "object"}, {"properties", {{"a", json::object()}}}, {"required", {"b"}}});
  ASSERT_FALSE(bad_req.ok());
  EXPECT_NE(bad_req.error().message.find("schema.required"), std::string::npos);
  auto unsupported = compile_schema({{"anyOf", json::array()}});
  ASSERT_FALSE(unsupported.ok());
  EXPECT_NE(unsupported.error().message.find("schema.anyOf"), std::string::npos);
}

}  // namespace
}  // namespace radseek::server
