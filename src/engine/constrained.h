// Constrained answers: a logits hook that keeps generated text inside a fixed format, so the answer
// after the reasoning always parses (what vLLM's structured output does for reasoning models: the
// reasoning stays free, only the answer is constrained).
//
// A format is a TextConstraint over bytes. ConstrainedDecoder is the logits hook: each step it checks
// the best candidate tokens in descending logit order (the candidate's bytes appended to the answer
// so far) and masks every other token; when none of the top-N fits (a random-weight model, a model
// that wanders) it forces the first token of the cheapest completion, and it keeps enough budget to
// finish, so the text is always complete when the caller's token budget runs out.
//
// Where the format offers alternatives (a label's value, an option letter) the decoder decides with
// the softmax restricted to each alternative's first token and records the probabilities: that is
// the model's confidence over the allowed options.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace radseek::engine {

class TextConstraint {
 public:
  virtual ~TextConstraint() = default;
  // `text` can still be extended into a complete answer (it is a prefix of one).
  virtual bool accepts_prefix(std::string_view text) const = 0;
  virtual bool is_complete(std::string_view text) const = 0;
  // A shortest s with text + s complete ("" when complete); text must be an accepted prefix.
  virtual std::string cheapest_completion(std::string_view text) const = 0;
  // Where the format offers alternatives at this point: the rest of every alternative still open
  // (at least two); empty where the text is forced or free.
  virtual std::vector<std::string> choices(std::string_view text) const = 0;
};

// A small grammar for answer formats: literals, optional whitespace, alternatives, and quotes whose
// content must be a substring of one source text (evidence quoted from the report).
struct FormatNode {
  enum class Kind { kLiteral, kWhitespace, kQuote, kAlternatives, kSequence };
  Kind kind = Kind::kLiteral;
  std::string text = {};             // kLiteral
  int max = 0;                       // kWhitespace: at most this many bytes; kQuote: content bytes
  std::vector<FormatNode> children = {};  // kAlternatives (one per branch), kSequence
};

namespace fmt {
FormatNode lit(std::string text);
FormatNode ws(int max_bytes);
// Content between the caller's own quote literals: any substring of the source (no '"' or '\n').
FormatNode quote(int max_bytes);
FormatNode alt(std::vector<FormatNode> branches);
FormatNode seq(std::vector<FormatNode> parts);
}  // namespace fmt

// The format compiled into a byte program (a Pike VM: all alternatives advance together).
class FormatConstraint final : public TextConstraint {
 public:
  // quote_source: the text kQuote content must be a substring of (unused when there is no quote).
  FormatConstraint(const FormatNode& root, std::string quote_source);
  ~FormatConstraint() override;
  FormatConstraint(FormatConstraint&&) noexcept;

  bool accepts_prefix(std::string_view text) const override;
  bool is_complete(std::string_view text) const override;
  std::string cheapest_completion(std::string_view text) const override;
  std::vector<std::string> choices(std::string_view text) const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "One of these strings", between a prefix and a suffix (e.g. "<answer>" A|B|C "</answer>").
struct OneOfArgs {
  std::vector<std::string> options = {};
  std::string prefix = {};
  std::string suffix = {};
  int leading_whitespace = 0;  // optional whitespace allowed before the prefix
};
FormatConstraint one_of(const OneOfArgs& a);

// A line per label, in order: "<name>: <value>" where values in `quoted_values` are followed by
// ` "quote"` (a substring of quote_source, possibly empty), each line ending in "\n".
struct LabelLinesArgs {
  std::vector<std::string> names = {};
  std::vector<std::string> values = {};    // e.g. present, absent, uncertain, not mentioned
  std::vector<std::string> quoted_values = {};  // subset of values that carry a quote
  std::string quote_source = {};
  int max_quote_bytes = 160;
  std::string prefix = {};  // e.g. "<answer>\n"
  std::string suffix = {};  // e.g. "</answer>"
  int leading_whitespace = 0;
};
FormatConstraint label_lines(const LabelLinesArgs& a);
// The same format as a node, to embed in a larger one (its quotes still refer to a.quote_source,
// which the enclosing FormatConstraint must be given).
FormatNode label_lines_format(const LabelLinesArgs& a);
// The alternatives label_lines offers after each "<name>:", one per value, in order:
// ' <value> "' for quoted values, ' <value>\n' for the others (for option_probabilities).
std::vector<std::string> label_line_alternatives(const LabelLinesArgs& a);

// One decision between alternatives: the probabilities, restricted to the alternatives' first
// tokens, that the model gave them at byte `pos` of the answer. Alternatives whose first tokens are
// equal share one group (and its probability) and are split at a later decision.
struct Decision {
  size_t pos = 0;
  std::vector<std::string> choices = {};     // the rest of each alternative at pos
  std::vector<std::string> token_bytes = {}; // bytes of each alternative's first token
  std::vector<double> group_probability = {};  // restricted softmax of that token
  std::vector<int> group_size = {};          // alternatives sharing the token
};

struct ConstrainedDecoderOptions {
  const TextConstraint* constraint = nullptr;
  const tokenizer::Tokenizer* tokenizer = nullptr;
  int64_t vocab_size = 0;         // length of a logits row (config vocab_size)
  int top_n = 16;                 // candidates checked per step, best first
  bool first_acceptable_only = false;  // greedy decoding needs only the best acceptable token
  int64_t max_tokens = 0;         // tokens the caller allows for the answer (0: no limit)
  std::vector<int32_t> end_ids = {};  // once the text is complete only these are allowed (the model picks)
};

class ConstrainedDecoder {
 public:
  explicit ConstrainedDecoder(ConstrainedDecoderOptions o);

  // The GenerateParams::logits_hook. The first call marks where the answer starts in `ids`.
  void apply(std::span<const int32_t> ids, float* logits);
  std::function<void(std::span<const int32_t>, float*)> hook() {
    return [this](std::span<const int32_t> ids, float* logits) { apply(ids, logits); };
  }
  // Call from on_token: appends the sampled token (so `complete()` is current); returns false once
  // the answer is complete, to stop generation.
  bool observe(int32_t id);

  bool complete() const;
  const std::string& text() const { return text_; }
  const std::vector<Decision>& decisions() const { return decisions_; }
  int64_t forced_steps() const { return forced_steps_; }  // steps where no top-N candidate fit

 private:
  void sync(std::span<const int32_t> ids);
  void decide(const std::vector<std::string>& all_choices, float* logits, int64_t remaining);
  std::vector<std::string> still_open(const std::vector<std::string>& choices) const;
  void pick_candidates(float* logits, int64_t remaining);
  bool decide_across(const std::string& forced, float* logits, int64_t remaining);
  void record(Decision d, const std::vector<int32_t>& tokens, const std::vector<int32_t>& allowed, float* logits);
  int32_t fallback_token() const;
  int32_t first_token(const std::string& s) const;
  bool fits(std::string_view candidate_text, int64_t remaining_after) const;
  void keep_only(float* logits, const std::vector<int32_t>& allowed) const;

  ConstrainedDecoderOptions o_;
  std::string text_;
  int64_t start_ = -1;     // index in the generated ids where the answer began
  int64_t consumed_ = 0;   // answer ids already appended to text_
  int64_t forced_steps_ = 0;
  std::vector<Decision> decisions_;
  mutable std::map<std::string, int32_t> first_token_cache_;
  std::vector<int32_t> order_;  // scratch: candidate ids
};

// Per-option probabilities of a choice made inside [begin, ...) of the answer, from the decisions
// recorded there: options on the chosen path multiply their group probabilities; an option left at
// a decision gets its group's probability divided among the group. `options` are full strings as
// the format offers them at `begin`. Options never offered get 0.
std::vector<double> option_probabilities(std::span<const Decision> decisions, std::string_view answer,
                                         size_t begin, const std::vector<std::string>& options);

}  // namespace radseek::engine
