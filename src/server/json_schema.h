// JSON-schema-constrained answers (OpenAI response_format {"type": "json_schema"}): a schema is
// compiled into a small tree, and a byte-level pushdown recognizer tells whether a text is a prefix
// of some JSON document that conforms to it. The logits constraint checks candidate tokens in
// logit order against that recognizer and masks the ones that would leave the language.
//
// Supported subset (the one structured-output APIs document): type (one name or a list), object
// with properties / required (keys outside `properties` are not generated), array with items /
// minItems / maxItems, string, number, integer, boolean, null, enum and const of any JSON values,
// an empty schema {} (any JSON value). Anything else is an error naming the schema path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "engine/sequence.h"
#include "tokenizer/tokenizer.h"

namespace radseek::server {

struct SchemaNode {
  enum Type : uint8_t { kObject = 1, kArray = 2, kString = 4, kNumber = 8, kInteger = 16, kBoolean = 32, kNull = 64 };
  static constexpr uint8_t kAnyType = 127;
  uint8_t types = kAnyType;                  // bit set of Type
  std::vector<std::string> literals;         // enum/const values as compact JSON text (empty: no enum)
  std::vector<std::string> property_names;   // object: allowed keys, in schema order
  std::vector<std::string> key_literals;     // the same, as JSON strings ("\"name\"")
  std::vector<int> property_nodes;           // node index per property
  uint64_t required = 0;                     // bit per property
  bool closed = false;                       // object: only property_names may appear
  int items = -1;                            // array: node index of the items (-1: any)
  int64_t min_items = 0, max_items = INT64_MAX;
};

struct CompiledSchema {
  std::vector<SchemaNode> nodes;  // nodes[0] is the root; nodes[1] is the "any value" node
};

// Errors name the offending path, e.g. "schema.properties.size.type: 'float' is not a JSON type".
Expected<std::shared_ptr<const CompiledSchema>> compile_schema(const nlohmann::json& schema,
                                                               const std::string& path = "schema");

// Recognizer state; cheap to copy (a small stack), so a candidate token is tried on a copy.
class JsonMatcher {
 public:
  explicit JsonMatcher(std::shared_ptr<const CompiledSchema> schema);
  // False (and the state is unspecified) when the byte cannot continue a conforming document.
  bool feed(char c);
  bool feed(std::string_view bytes);
  // The text so far is a complete conforming document (the answer may end here).
  bool accepts_end() const;
  bool done() const { return stack_.empty() && started_; }

  struct Frame {
    uint8_t kind = 0;   // FrameKind in the .cpp
    uint8_t state = 0;
    int node = 0;
    int prop = -1;          // object: property being parsed
    uint64_t used = 0;      // object: properties present; literal: live candidates
    int64_t count = 0;      // array items / literal position / number length / string escape state
  };

 private:
  enum class Step { kConsumed, kReject, kRetry };
  Step feed_top(char c);
  Step value_start(Frame& f, char c);
  Step object_char(Frame& f, char c);
  Step array_char(Frame& f, char c);
  Step string_char(Frame& f, char c);
  Step number_char(Frame& f, char c);
  Step literal_char(Frame& f, char c);
  void push_value(int node);
  void push_literal(int node, bool keys);
  void complete_top();
  const std::vector<std::string>& literal_set(const Frame& f) const;

  std::shared_ptr<const CompiledSchema> schema_;
  std::vector<Frame> stack_;
  bool started_ = false;
  int ws_run_ = 0;  // consecutive whitespace, bounded so a model cannot pad forever
};

// Raw bytes of every token id, computed once per tokenizer; special tokens have none.
struct TokenBytes {
  std::vector<std::string> bytes;  // [vocab]
  std::vector<uint8_t> usable;     // [vocab] 1: a plain-text token that may appear in an answer
  static std::shared_ptr<const TokenBytes> build(const tokenizer::Tokenizer& tok, int64_t vocab);
};

struct JsonConstraintArgs {
  std::shared_ptr<const CompiledSchema> schema;
  std::shared_ptr<const TokenBytes> tokens;
  std::vector<int32_t> eos_ids;
  // Valid candidates to find before masking the rest (1 for greedy decoding: the best valid one).
  int want_valid = 1;
};

// The answer constraint: tokens are checked in logit order; all but the first `want_valid` valid
// ones are masked. EOS is allowed only once the document is complete, and then nothing else is.
class JsonSchemaConstraint : public engine::AnswerConstraint {
 public:
  explicit JsonSchemaConstraint(JsonConstraintArgs args);
  void mask(float* logits, int64_t vocab) override;
  void advance(int32_t id) override;
  const JsonMatcher& matcher() const { return matcher_; }

 private:
  bool is_eos(int32_t id) const;
  JsonConstraintArgs a_;
  JsonMatcher matcher_;
  std::vector<int32_t> order_;
  std::vector<uint8_t> keep_;
};

}  // namespace radseek::server
