#include "server/json_schema.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>

namespace radseek::server {

namespace {

using nlohmann::json;

enum FrameKind : uint8_t { kValue, kObject, kArray, kString, kNumber, kLiteral };
enum ObjectState : uint8_t { kObjOpen, kObjInKey, kObjColon, kObjInValue, kObjAfter, kObjNeedKey };
enum ArrayState : uint8_t { kArrOpen, kArrInValue, kArrAfter };
enum LiteralSet : int { kNodeLiterals = 0, kKeyLiterals = 1, kBoolLiterals = 2, kNullLiterals = 3 };

constexpr int kMaxChoices = 64;       // enum values / properties per object (a bit each in a uint64)
constexpr int kMaxWhitespace = 16;    // consecutive whitespace bytes outside strings
constexpr int64_t kMaxNumberLen = 24; // digits and signs of one number

const std::vector<std::string>& bool_literals() {
  static const std::vector<std::string> v{"true", "false"};
  return v;
}
const std::vector<std::string>& null_literals() {
  static const std::vector<std::string> v{"null"};
  return v;
}

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
uint64_t all_bits(size_t n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

// Keywords that only describe (or that strict mode requires and we already honour) are accepted.
bool ignorable_keyword(const std::string& k) {
  static const char* kOk[] = {"title", "description", "$schema", "$id", "additionalProperties", "default",
                              "examples", "format", "strict", "$comment", "minimum", "maximum",
                              "minLength", "maxLength"};
  return std::any_of(std::begin(kOk), std::end(kOk), [&](const char* s) { return k == s; });
}

class Compiler {
 public:
  CompiledSchema out;
  Expected<int> compile(const json& s, const std::string& path);

 private:
  Status types(const json& t, const std::string& path, SchemaNode& n);
  Status object_part(const json& s, const std::string& path, int idx);
};

Status Compiler::types(const json& t, const std::string& path, SchemaNode& n) {
  static const std::pair<const char*, uint8_t> kNames[] = {
      {"object", SchemaNode::kObject}, {"array", SchemaNode::kArray},     {"string", SchemaNode::kString},
      {"number", SchemaNode::kNumber}, {"integer", SchemaNode::kInteger}, {"boolean", SchemaNode::kBoolean},
      {"null", SchemaNode::kNull}};
  std::vector<json> list = t.is_array() ? std::vector<json>(t.begin(), t.end()) : std::vector<json>{t};
  n.types = 0;
  for (const json& one : list) {
    if (!one.is_string()) return make_error(ErrorCode::kInvalidArgument, path + ".type: expected a string or an array of strings");
    const auto it = std::find_if(std::begin(kNames), std::end(kNames), [&](auto& p) { return one == p.first; });
    if (it == std::end(kNames))
      return make_error(ErrorCode::kInvalidArgument, path + ".type: '" + one.get<std::string>() + "' is not a JSON type");
    n.types |= it->second;
  }
  if (n.types == 0) return make_error(ErrorCode::kInvalidArgument, path + ".type: empty list");
  return {};
}

Status Compiler::object_part(const json& s, const std::string& path, int idx) {
  if (s.contains("properties")) {
    const json& props = s["properties"];
    if (!props.is_object()) return make_error(ErrorCode::kInvalidArgument, path + ".properties: expected an object");
    if (props.size() > kMaxChoices)
      return make_error(ErrorCode::kInvalidArgument, path + ".properties: at most 64 properties are supported");
    out.nodes[idx].closed = true;
    for (const auto& [name, sub] : props.items()) {
      auto child = compile(sub, path + ".properties." + name);
      if (!child) return child.error();
      SchemaNode& n = out.nodes[idx];
      n.property_names.push_back(name);
      n.key_literals.push_back(json(name).dump());
      n.property_nodes.push_back(*child);
    }
  }
  if (s.contains("required")) {
    const json& req = s["required"];
    if (!req.is_array()) return make_error(ErrorCode::kInvalidArgument, path + ".required: expected an array of strings");
    SchemaNode& n = out.nodes[idx];
    for (const json& r : req) {
      const auto it = r.is_string() ? std::find(n.property_names.begin(), n.property_names.end(), r.get<std::string>())
                                    : n.property_names.end();
      if (it == n.property_names.end())
        return make_error(ErrorCode::kInvalidArgument, path + ".required: " + r.dump() + " is not a listed property");
      n.required |= uint64_t{1} << (it - n.property_names.begin());
    }
  }
  return {};
}

Expected<int> Compiler::compile(const json& s, const std::string& path) {
  const int idx = static_cast<int>(out.nodes.size());
  out.nodes.emplace_back();
  if (s.is_boolean() && s.get<bool>()) return idx;
  if (!s.is_object()) return make_error(ErrorCode::kInvalidArgument, path + ": expected a schema object");
  for (const auto& [key, value] : s.items()) {
    static const char* kKnown[] = {"type", "enum", "const", "properties", "required", "items", "minItems", "maxItems"};
    if (std::any_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return key == k; })) continue;
    if (!ignorable_keyword(key))
      return make_error(ErrorCode::kInvalidArgument, path + "." + key + ": this keyword is not supported in constrained answers");
  }
  if (s.contains("type")) RADSEEK_TRY(types(s["type"], path, out.nodes[idx]));
  if (s.contains("enum")) {
    if (!s["enum"].is_array() || s["enum"].empty() || s["enum"].size() > kMaxChoices)
      return make_error(ErrorCode::kInvalidArgument, path + ".enum: expected an array of 1 to 64 values");
    for (const json& v : s["enum"]) out.nodes[idx].literals.push_back(v.dump());
  }
  if (s.contains("const")) out.nodes[idx].literals = {s["const"].dump()};
  RADSEEK_TRY(object_part(s, path, idx));
  if (s.contains("items")) {
    auto child = compile(s["items"], path + ".items");
    if (!child) return child.error();
    out.nodes[idx].items = *child;
  }
  for (const char* k : {"minItems", "maxItems"}) {
    if (!s.contains(k)) continue;
    if (!s[k].is_number_integer() || s[k].get<int64_t>() < 0) return make_error(ErrorCode::kInvalidArgument, path + "." + k + ": expected a non-negative integer");
    (std::string(k) == "minItems" ? out.nodes[idx].min_items : out.nodes[idx].max_items) = s[k].get<int64_t>();
  }
  return idx;
}

}  // namespace

Expected<std::shared_ptr<const CompiledSchema>> compile_schema(const json& schema, const std::string& path) {
  Compiler c;
  c.out.nodes.emplace_back();  // root placeholder, filled below
  c.out.nodes.emplace_back();  // [1]: any JSON value
  auto root = c.compile(schema, path);
  if (!root) return root.error();
  c.out.nodes[0] = c.out.nodes[*root];
  return std::shared_ptr<const CompiledSchema>(std::make_shared<CompiledSchema>(std::move(c.out)));
}

// ---------------------------------------------------------------------------------------------
// Recognizer

JsonMatcher::JsonMatcher(std::shared_ptr<const CompiledSchema> schema) : schema_(std::move(schema)) {
  stack_.push_back(Frame{.kind = kValue, .node = 0});
}

const std::vector<std::string>& JsonMatcher::literal_set(const Frame& f) const {
  switch (f.prop) {
    case kNodeLiterals: return schema_->nodes[f.node].literals;
    case kKeyLiterals: return schema_->nodes[f.node].key_literals;
    case kBoolLiterals: return bool_literals();
    default: return null_literals();
  }
}

void JsonMatcher::push_value(int node) { stack_.push_back(Frame{.kind = kValue, .node = node < 0 ? 1 : node}); }

void JsonMatcher::push_literal(int node, bool keys) {
  const SchemaNode& n = schema_->nodes[node];
  Frame f{.kind = kLiteral, .node = node, .prop = keys ? kKeyLiterals : kNodeLiterals};
  f.used = keys ? all_bits(n.key_literals.size()) & ~stack_.back().used : all_bits(n.literals.size());
  stack_.push_back(f);
}

void JsonMatcher::complete_top() {
  const Frame child = stack_.back();
  stack_.pop_back();
  if (stack_.empty()) return;
  Frame& p = stack_.back();
  if (p.kind == kObject && p.state == kObjInKey) {
    p.prop = (child.kind == kLiteral && child.prop == kKeyLiterals) ? std::countr_zero(child.used) : -1;
    p.state = kObjColon;
  } else if (p.kind == kObject) {
    if (p.prop >= 0) p.used |= uint64_t{1} << p.prop;
    p.state = kObjAfter;
  } else if (p.kind == kArray) {
    ++p.count;
    p.state = kArrAfter;
  }
}

JsonMatcher::Step JsonMatcher::value_start(Frame& f, char c) {
  const SchemaNode& n = schema_->nodes[f.node];
  if (!n.literals.empty()) {
    f = Frame{.kind = kLiteral, .node = f.node, .prop = kNodeLiterals, .used = all_bits(n.literals.size())};
    return literal_char(f, c);
  }
  if (c == '{' && (n.types & SchemaNode::kObject)) {
    f = Frame{.kind = kObject, .state = kObjOpen, .node = f.node};
  } else if (c == '[' && (n.types & SchemaNode::kArray)) {
    f = Frame{.kind = kArray, .state = kArrOpen, .node = f.node};
  } else if (c == '"' && (n.types & SchemaNode::kString)) {
    f = Frame{.kind = kString, .node = f.node};
  } else if ((c == '-' || (c >= '0' && c <= '9')) && (n.types & (SchemaNode::kNumber | SchemaNode::kInteger))) {
    f = Frame{.kind = kNumber, .node = f.node};
    return number_char(f, c);
  } else if ((c == 't' || c == 'f') && (n.types & SchemaNode::kBoolean)) {
    f = Frame{.kind = kLiteral, .node = f.node, .prop = kBoolLiterals, .used = 3};
    return literal_char(f, c);
  } else if (c == 'n' && (n.types & SchemaNode::kNull)) {
    f = Frame{.kind = kLiteral, .node = f.node, .prop = kNullLiterals, .used = 1};
    return literal_char(f, c);
  } else {
    return Step::kReject;
  }
  return Step::kConsumed;
}

JsonMatcher::Step JsonMatcher::object_char(Frame& f, char c) {
  const SchemaNode& n = schema_->nodes[f.node];
  const bool can_add = !n.closed || (all_bits(n.property_names.size()) & ~f.used) != 0;
  const bool can_close = (n.required & ~f.used) == 0;
  const auto open_key = [&]() {
    f.state = kObjInKey;
    if (n.closed) {
      push_literal(f.node, true);
      return Step::kRetry;
    }
    stack_.push_back(Frame{.kind = kString, .node = 1});
    return Step::kConsumed;
  };
  switch (f.state) {
    case kObjOpen:
    case kObjAfter:
      if (c == '}' && can_close) {
        complete_top();
        return Step::kConsumed;
      }
      if (f.state == kObjOpen && c == '"' && can_add) return open_key();
      if (f.state == kObjAfter && c == ',' && can_add) {
        f.state = kObjNeedKey;
        return Step::kConsumed;
      }
      return Step::kReject;
    case kObjNeedKey: return c == '"' ? open_key() : Step::kReject;
    case kObjColon:
      if (c != ':') return Step::kReject;
      f.state = kObjInValue;
      push_value(f.prop >= 0 ? n.property_nodes[f.prop] : 1);
      return Step::kConsumed;
    default: return Step::kReject;  // a child frame is on top in the other states
  }
}

JsonMatcher::Step JsonMatcher::array_char(Frame& f, char c) {
  const SchemaNode& n = schema_->nodes[f.node];
  if (c == ']' && f.count >= n.min_items) {
    complete_top();
    return Step::kConsumed;
  }
  if (f.count >= n.max_items) return Step::kReject;
  if (f.state == kArrOpen) {
    f.state = kArrInValue;
    push_value(n.items);
    return Step::kRetry;
  }
  if (f.state == kArrAfter && c == ',') {
    f.state = kArrInValue;
    push_value(n.items);
    return Step::kConsumed;
  }
  return Step::kReject;
}

JsonMatcher::Step JsonMatcher::string_char(Frame& f, char c) {
  const auto u = static_cast<unsigned char>(c);
  if (f.state == 0) {  // plain characters
    if (c == '"') {
      complete_top();
    } else if (c == '\\') {
      f.state = 1;
    } else if (u < 0x20) {
      return Step::kReject;
    }
    return Step::kConsumed;
  }
  if (f.state == 1) {  // after a backslash
    if (c == 'u') {
      f.state = 2;
      f.count = 4;
      return Step::kConsumed;
    }
    if (std::string_view("\"\\/bfnrt").find(c) == std::string_view::npos) return Step::kReject;
    f.state = 0;
    return Step::kConsumed;
  }
  if (!std::isxdigit(u)) return Step::kReject;  // \uXXXX
  if (--f.count == 0) f.state = 0;
  return Step::kConsumed;
}

// JSON number grammar: 0 start, 1 after '-', 2 leading zero, 3 integer digits, 4 after '.',
// 5 fraction digits, 6 after 'e', 7 after the exponent sign, 8 exponent digits.
JsonMatcher::Step JsonMatcher::number_char(Frame& f, char c) {
  const bool integer_only = !(schema_->nodes[f.node].types & SchemaNode::kNumber);
  const bool digit = c >= '0' && c <= '9';
  int next = -1;
  switch (f.state) {
    case 0: next = c == '-' ? 1 : c == '0' ? 2 : digit ? 3 : -1; break;
    case 1: next = c == '0' ? 2 : digit ? 3 : -1; break;
    case 2:
    case 3:
      next = (f.state == 3 && digit) ? 3 : (c == '.' && !integer_only) ? 4 : ((c == 'e' || c == 'E') && !integer_only) ? 6 : -1;
      break;
    case 4: next = digit ? 5 : -1; break;
    case 5: next = digit ? 5 : (c == 'e' || c == 'E') ? 6 : -1; break;
    case 6: next = (c == '+' || c == '-') ? 7 : digit ? 8 : -1; break;
    case 7:
    case 8: next = digit ? 8 : -1; break;
  }
  if (next >= 0 && f.count < kMaxNumberLen) {
    f.state = static_cast<uint8_t>(next);
    ++f.count;
    return Step::kConsumed;
  }
  const bool final_state = f.state == 2 || f.state == 3 || f.state == 5 || f.state == 8;
  if (!final_state) return Step::kReject;
  complete_top();
  return Step::kRetry;
}

JsonMatcher::Step JsonMatcher::literal_char(Frame& f, char c) {
  const std::vector<std::string>& lits = literal_set(f);
  const auto pos = static_cast<size_t>(f.count);
  uint64_t next = 0, exact = 0;
  for (uint64_t m = f.used; m; m &= m - 1) {
    const int i = std::countr_zero(m);
    if (lits[i].size() > pos && lits[i][pos] == c) next |= uint64_t{1} << i;
    if (lits[i].size() == pos) exact |= uint64_t{1} << i;
  }
  if (next) {
    f.used = next;
    ++f.count;
    bool longer = false;
    for (uint64_t m = next; m; m &= m - 1) longer |= lits[std::countr_zero(m)].size() > pos + 1;
    if (!longer) complete_top();  // every live candidate is matched in full
    return Step::kConsumed;
  }
  if (!exact) return Step::kReject;
  f.used = exact;  // a shorter candidate ended here (enum [1, 10] followed by ',')
  complete_top();
  return Step::kRetry;
}

JsonMatcher::Step JsonMatcher::feed_top(char c) {
  Frame& f = stack_.back();
  const bool between_tokens = f.kind == kValue ||
                              (f.kind == kObject && f.state != kObjInKey && f.state != kObjInValue) ||
                              (f.kind == kArray && f.state != kArrInValue);
  if (between_tokens && is_ws(c)) {
    if (ws_run_ >= kMaxWhitespace) return Step::kReject;
    ++ws_run_;
    return Step::kConsumed;
  }
  ws_run_ = 0;
  switch (f.kind) {
    case kValue: return value_start(f, c);
    case kObject: return object_char(f, c);
    case kArray: return array_char(f, c);
    case kString: return string_char(f, c);
    case kNumber: return number_char(f, c);
    default: return literal_char(f, c);
  }
}

bool JsonMatcher::feed(char c) {
  for (;;) {
    if (stack_.empty()) {  // after the document: whitespace only
      if (!is_ws(c) || ws_run_ >= kMaxWhitespace) return false;
      ++ws_run_;
      return true;
    }
    const Step s = feed_top(c);
    if (!is_ws(c)) started_ = true;
    if (s == Step::kConsumed) return true;
    if (s == Step::kReject) return false;
  }
}

bool JsonMatcher::feed(std::string_view bytes) {
  for (char c : bytes)
    if (!feed(c)) return false;
  return true;
}

bool JsonMatcher::accepts_end() const {
  if (done()) return true;
  JsonMatcher m = *this;
  m.ws_run_ = 0;
  return m.feed(' ') && m.stack_.empty() && m.started_;
}

// ---------------------------------------------------------------------------------------------
// Token tables and the logits constraint

std::shared_ptr<const TokenBytes> TokenBytes::build(const tokenizer::Tokenizer& tok, int64_t vocab) {
  auto t = std::make_shared<TokenBytes>();
  t->bytes.resize(static_cast<size_t>(vocab));
  t->usable.assign(static_cast<size_t>(vocab), 0);
  const auto open = tok.token_to_id("<think>"), close = tok.token_to_id("</think>");
  for (int64_t id = 0; id < vocab; ++id) {
    const auto i = static_cast<int32_t>(id);
    auto b = tok.token_bytes(i);
    if (!b || b->empty() || tok.is_special(i) || i == open || i == close) continue;
    t->bytes[id] = std::string(*b);
    t->usable[id] = 1;
  }
  return t;
}

JsonSchemaConstraint::JsonSchemaConstraint(JsonConstraintArgs args) : a_(std::move(args)), matcher_(a_.schema) {}

bool JsonSchemaConstraint::is_eos(int32_t id) const {
  return std::find(a_.eos_ids.begin(), a_.eos_ids.end(), id) != a_.eos_ids.end();
}

void JsonSchemaConstraint::mask(float* logits, int64_t vocab) {
  constexpr float kMasked = -std::numeric_limits<float>::infinity();
  keep_.assign(static_cast<size_t>(vocab), 0);
  int found = 0;
  if (matcher_.done()) {  // the document is complete: end the answer
    for (int32_t e : a_.eos_ids)
      if (e < vocab) keep_[e] = 1, ++found;
  } else {
    order_.resize(static_cast<size_t>(vocab));
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(), [&](int32_t x, int32_t y) { return logits[x] > logits[y]; });
    const bool end_ok = matcher_.accepts_end();
    for (int32_t id : order_) {
      if (found >= a_.want_valid || logits[id] == kMasked) break;
      bool ok = is_eos(id) ? end_ok : false;
      if (!ok && id < static_cast<int32_t>(a_.tokens->usable.size()) && a_.tokens->usable[id]) {
        JsonMatcher m = matcher_;
        ok = m.feed(a_.tokens->bytes[id]);
      }
      if (ok) keep_[id] = 1, ++found;
    }
  }
  // A dead end (no valid token at all) ends the answer rather than emitting invalid JSON.
  if (found == 0 && !a_.eos_ids.empty() && a_.eos_ids[0] < vocab) keep_[a_.eos_ids[0]] = 1;
  for (int64_t i = 0; i < vocab; ++i)
    if (!keep_[i]) logits[i] = kMasked;
}

void JsonSchemaConstraint::advance(int32_t id) {
  if (is_eos(id) || id < 0 || id >= static_cast<int32_t>(a_.tokens->bytes.size())) return;
  JsonMatcher m = matcher_;
  if (m.feed(a_.tokens->bytes[id])) matcher_ = std::move(m);
}

}  // namespace radseek::server
