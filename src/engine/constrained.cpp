#include "engine/constrained.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "base/check.h"

namespace radseek::engine {

namespace fmt {
FormatNode lit(std::string text) { return FormatNode{.kind = FormatNode::Kind::kLiteral, .text = std::move(text)}; }
FormatNode ws(int max_bytes) { return FormatNode{.kind = FormatNode::Kind::kWhitespace, .max = max_bytes}; }
FormatNode quote(int max_bytes) { return FormatNode{.kind = FormatNode::Kind::kQuote, .max = max_bytes}; }
FormatNode alt(std::vector<FormatNode> branches) {
  return FormatNode{.kind = FormatNode::Kind::kAlternatives, .children = std::move(branches)};
}
FormatNode seq(std::vector<FormatNode> parts) {
  return FormatNode{.kind = FormatNode::Kind::kSequence, .children = std::move(parts)};
}
}  // namespace fmt

namespace {

// Suffix automaton of the quote source: a walk that does not fall off accepts exactly the
// substrings, with one integer of state, so quote checks cost O(1) per byte.
class SubstringIndex {
 public:
  explicit SubstringIndex(std::string_view s) {
    nodes_.push_back(Node{});
    int last = 0;
    for (char ch : s) last = extend(last, static_cast<unsigned char>(ch));
  }
  int next(int state, unsigned char c) const {
    auto it = edges_.find(key(state, c));
    return it == edges_.end() ? -1 : it->second;
  }

 private:
  struct Node {
    int len = 0;
    int link = -1;
  };
  static uint64_t key(int state, unsigned char c) { return (static_cast<uint64_t>(state) << 8) | c; }
  int extend(int last, unsigned char c) {
    const int cur = static_cast<int>(nodes_.size());
    nodes_.push_back(Node{.len = nodes_[last].len + 1, .link = -1});
    int p = last;
    while (p != -1 && next(p, c) < 0) {
      edges_[key(p, c)] = cur;
      p = nodes_[p].link;
    }
    if (p == -1) {
      nodes_[cur].link = 0;
      return cur;
    }
    const int q = next(p, c);
    if (nodes_[p].len + 1 == nodes_[q].len) {
      nodes_[cur].link = q;
      return cur;
    }
    const int clone = static_cast<int>(nodes_.size());
    nodes_.push_back(Node{.len = nodes_[p].len + 1, .link = nodes_[q].link});
    for (int b = 0; b < 256; ++b) {
      const int t = next(q, static_cast<unsigned char>(b));
      if (t >= 0) edges_[key(clone, static_cast<unsigned char>(b))] = t;
    }
    while (p != -1 && next(p, c) == q) {
      edges_[key(p, c)] = clone;
      p = nodes_[p].link;
    }
    nodes_[q].link = clone;
    nodes_[cur].link = clone;
    return cur;
  }
  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, int> edges_;
};

enum class Op : uint8_t { kByte, kSpace, kQuote, kSplit, kJump, kMatch };

struct Instr {
  Op op = Op::kMatch;
  char byte = 0;             // kByte
  int max = 0;               // kQuote: content bytes
  std::vector<int> targets = {};  // kSplit, kJump
  // kByte inside the leading literal of an alternative: which one, which branch, which byte.
  int alt = -1, branch = -1, offset = 0;
};

struct Thread {
  int pc = 0;
  int quote_state = 0;  // suffix-automaton state of the quote content so far
  int quote_len = 0;
  bool operator==(const Thread&) const = default;
};

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

}  // namespace

struct FormatConstraint::Impl {
  std::vector<Instr> prog;
  std::vector<std::vector<std::string>> alt_branches;  // leading literal of each branch
  std::vector<int> dist;  // fewest bytes from pc to a match
  SubstringIndex quotes;

  explicit Impl(std::string_view source) : quotes(source) {}

  int emit(Instr in) {
    prog.push_back(std::move(in));
    return static_cast<int>(prog.size()) - 1;
  }

  void compile(const FormatNode& n) {
    switch (n.kind) {
      case FormatNode::Kind::kLiteral:
        for (char c : n.text) emit(Instr{.op = Op::kByte, .byte = c});
        return;
      case FormatNode::Kind::kWhitespace: {
        // Each optional byte: split(take it, skip to the end).
        std::vector<int> splits;
        for (int i = 0; i < n.max; ++i) {
          splits.push_back(emit(Instr{.op = Op::kSplit}));
          emit(Instr{.op = Op::kSpace});
        }
        const int end = static_cast<int>(prog.size());
        for (int s : splits) prog[s].targets = {s + 1, end};
        return;
      }
      case FormatNode::Kind::kQuote:
        emit(Instr{.op = Op::kQuote, .max = n.max});
        return;
      case FormatNode::Kind::kSequence:
        for (const FormatNode& c : n.children) compile(c);
        return;
      case FormatNode::Kind::kAlternatives:
        compile_alternatives(n);
        return;
    }
  }

  static std::string leading_literal(const FormatNode& n) {
    if (n.kind == FormatNode::Kind::kLiteral) return n.text;
    std::string s;
    if (n.kind != FormatNode::Kind::kSequence) return s;
    for (const FormatNode& c : n.children) {
      if (c.kind != FormatNode::Kind::kLiteral) break;
      s += c.text;
    }
    return s;
  }

  void compile_alternatives(const FormatNode& n) {
    const int alt_id = static_cast<int>(alt_branches.size());
    alt_branches.emplace_back();
    const int split = emit(Instr{.op = Op::kSplit});
    std::vector<int> jumps;
    for (size_t b = 0; b < n.children.size(); ++b) {
      const std::string lead = leading_literal(n.children[b]);
      alt_branches[alt_id].push_back(lead);
      prog[split].targets.push_back(static_cast<int>(prog.size()));
      const int first = static_cast<int>(prog.size());
      compile(n.children[b]);
      for (int k = 0; k < static_cast<int>(lead.size()); ++k) {
        prog[first + k].alt = alt_id;
        prog[first + k].branch = static_cast<int>(b);
        prog[first + k].offset = k;
      }
      jumps.push_back(emit(Instr{.op = Op::kJump}));
    }
    const int end = static_cast<int>(prog.size());
    for (int j : jumps) prog[j].targets = {end};
  }

  void compute_distances() {
    constexpr int kInf = std::numeric_limits<int>::max() / 4;
    dist.assign(prog.size(), kInf);
    for (bool changed = true; changed;) {
      changed = false;
      for (int pc = static_cast<int>(prog.size()) - 1; pc >= 0; --pc) {
        const Instr& in = prog[pc];
        int d = kInf;
        switch (in.op) {
          case Op::kMatch: d = 0; break;
          case Op::kByte:
          case Op::kSpace: d = 1 + dist[pc + 1]; break;
          case Op::kQuote: d = dist[pc + 1]; break;
          case Op::kSplit:
          case Op::kJump:
            for (int t : in.targets) d = std::min(d, dist[t]);
            break;
        }
        if (d < dist[pc]) {
          dist[pc] = d;
          changed = true;
        }
      }
    }
  }

  // Adds t and everything reachable from it without consuming a byte.
  void add(std::vector<Thread>& out, Thread t) const {
    if (std::find(out.begin(), out.end(), t) != out.end()) return;
    const Instr& in = prog[t.pc];
    if (in.op == Op::kSplit || in.op == Op::kJump) {
      for (int target : in.targets) add(out, Thread{target, t.quote_state, t.quote_len});
      return;
    }
    out.push_back(t);
    if (in.op == Op::kQuote) add(out, Thread{t.pc + 1, 0, 0});
  }

  std::vector<Thread> step(const std::vector<Thread>& ts, char c) const {
    std::vector<Thread> next;
    for (const Thread& t : ts) {
      const Instr& in = prog[t.pc];
      if (in.op == Op::kByte && in.byte == c) add(next, Thread{t.pc + 1, 0, 0});
      if (in.op == Op::kSpace && is_space(c)) add(next, Thread{t.pc + 1, 0, 0});
      if (in.op == Op::kQuote && c != '"' && c != '\n' && t.quote_len < in.max) {
        const int q = quotes.next(t.quote_state, static_cast<unsigned char>(c));
        if (q >= 0) add(next, Thread{t.pc, q, t.quote_len + 1});
      }
    }
    return next;
  }

  std::vector<Thread> run(std::string_view text) const {
    std::vector<Thread> ts;
    add(ts, Thread{});
    for (char c : text) {
      if (ts.empty()) break;
      ts = step(ts, c);
    }
    return ts;
  }

  std::string completion_from(int pc) const {
    std::string s;
    while (prog[pc].op != Op::kMatch) {
      const Instr& in = prog[pc];
      if (in.op == Op::kByte) s += in.byte;
      if (in.op == Op::kSpace) s += ' ';
      if (in.op == Op::kSplit || in.op == Op::kJump) {
        pc = *std::min_element(in.targets.begin(), in.targets.end(),
                               [&](int a, int b) { return dist[a] < dist[b]; });
      } else {
        ++pc;
      }
    }
    return s;
  }
};

FormatConstraint::FormatConstraint(const FormatNode& root, std::string quote_source)
    : impl_(std::make_unique<Impl>(quote_source)) {
  impl_->compile(root);
  impl_->emit(Instr{.op = Op::kMatch});
  impl_->compute_distances();
}
FormatConstraint::~FormatConstraint() = default;
FormatConstraint::FormatConstraint(FormatConstraint&&) noexcept = default;

bool FormatConstraint::accepts_prefix(std::string_view text) const { return !impl_->run(text).empty(); }

bool FormatConstraint::is_complete(std::string_view text) const {
  const auto ts = impl_->run(text);
  return std::any_of(ts.begin(), ts.end(), [&](const Thread& t) { return impl_->prog[t.pc].op == Op::kMatch; });
}

std::string FormatConstraint::cheapest_completion(std::string_view text) const {
  const auto ts = impl_->run(text);
  if (ts.empty()) return {};
  const Thread* best = &ts[0];
  for (const Thread& t : ts)
    if (impl_->dist[t.pc] < impl_->dist[best->pc]) best = &t;
  return impl_->completion_from(best->pc);
}

std::vector<std::string> FormatConstraint::choices(std::string_view text) const {
  const auto ts = impl_->run(text);
  if (ts.size() < 2) return {};
  const int alt = impl_->prog[ts[0].pc].alt;
  std::vector<std::pair<int, std::string>> rest;  // (branch, remaining leading literal)
  for (const Thread& t : ts) {
    const Instr& in = impl_->prog[t.pc];
    if (in.op != Op::kByte || in.alt < 0 || in.alt != alt) return {};
    const std::string& lead = impl_->alt_branches[alt][in.branch];
    if (std::none_of(rest.begin(), rest.end(), [&](const auto& r) { return r.first == in.branch; }))
      rest.emplace_back(in.branch, lead.substr(in.offset));
  }
  if (rest.size() < 2) return {};
  std::sort(rest.begin(), rest.end());
  std::vector<std::string> out;
  for (auto& r : rest) out.push_back(std::move(r.second));
  return out;
}

FormatConstraint one_of(const OneOfArgs& a) {
  std::vector<FormatNode> branches;
  for (const std::string& o : a.options) branches.push_back(fmt::lit(o));
  std::vector<FormatNode> parts;
  if (a.leading_whitespace > 0) parts.push_back(fmt::ws(a.leading_whitespace));
  parts.push_back(fmt::lit(a.prefix));
  parts.push_back(fmt::alt(std::move(branches)));
  parts.push_back(fmt::lit(a.suffix));
  return FormatConstraint(fmt::seq(std::move(parts)), "");
}

std::vector<std::string> label_line_alternatives(const LabelLinesArgs& a) {
  std::vector<std::string> out;
  for (const std::string& v : a.values) {
    const bool quoted = std::find(a.quoted_values.begin(), a.quoted_values.end(), v) != a.quoted_values.end();
    // The value carries its leading space so BPE vocabularies see their usual " word" token.
    out.push_back(quoted ? " " + v + " \"" : " " + v + "\n");
  }
  return out;
}

FormatConstraint label_lines(const LabelLinesArgs& a) { return FormatConstraint(label_lines_format(a), a.quote_source); }

FormatNode label_lines_format(const LabelLinesArgs& a) {
  std::vector<FormatNode> parts;
  if (a.leading_whitespace > 0) parts.push_back(fmt::ws(a.leading_whitespace));
  parts.push_back(fmt::lit(a.prefix));
  const std::vector<std::string> alternatives = label_line_alternatives(a);
  for (const std::string& name : a.names) {
    std::vector<FormatNode> values;
    for (const std::string& v : alternatives) {
      if (v.back() == '"') {
        values.push_back(fmt::seq({fmt::lit(v), fmt::quote(a.max_quote_bytes), fmt::lit("\"\n")}));
      } else {
        values.push_back(fmt::lit(v));
      }
    }
    parts.push_back(fmt::lit(name + ":"));
    parts.push_back(fmt::alt(std::move(values)));
  }
  parts.push_back(fmt::lit(a.suffix));
  return fmt::seq(std::move(parts));
}

ConstrainedDecoder::ConstrainedDecoder(ConstrainedDecoderOptions o) : o_(std::move(o)) {
  RADSEEK_CHECK(o_.constraint != nullptr && o_.tokenizer != nullptr && o_.vocab_size > 0,
                "ConstrainedDecoder needs a constraint, a tokenizer and the vocabulary size");
}

bool ConstrainedDecoder::complete() const { return o_.constraint->is_complete(text_); }

void ConstrainedDecoder::sync(std::span<const int32_t> ids) {
  if (start_ < 0) start_ = static_cast<int64_t>(ids.size());
  for (int64_t i = start_ + consumed_; i < static_cast<int64_t>(ids.size()); ++i, ++consumed_)
    text_ += o_.tokenizer->token_bytes(ids[i]).value_or("");
}

bool ConstrainedDecoder::observe(int32_t id) {
  if (start_ < 0) return true;
  text_ += o_.tokenizer->token_bytes(id).value_or("");
  ++consumed_;
  return !complete();
}

int32_t ConstrainedDecoder::first_token(const std::string& s) const {
  auto it = first_token_cache_.find(s);
  if (it != first_token_cache_.end()) return it->second;
  // Plain text: a format literal such as "<think>" must never become a special token.
  auto ids = o_.tokenizer->encode(s, tokenizer::EncodeOptions{.add_bos = false, .match_added_tokens = false});
  RADSEEK_CHECK(ids.ok() && !ids->empty(), "format text does not encode to tokens");
  first_token_cache_.emplace(s, ids->front());
  return ids->front();
}

// The candidate text still completes within the budget: every token adds at least one byte, so a
// completion of n bytes needs at most n tokens.
bool ConstrainedDecoder::fits(std::string_view candidate_text, int64_t remaining_after) const {
  if (o_.max_tokens <= 0) return true;
  return static_cast<int64_t>(o_.constraint->cheapest_completion(candidate_text).size()) <= remaining_after;
}

void ConstrainedDecoder::keep_only(float* logits, const std::vector<int32_t>& allowed) const {
  std::vector<float> keep(allowed.size());
  for (size_t i = 0; i < allowed.size(); ++i) keep[i] = logits[allowed[i]];
  std::fill(logits, logits + o_.vocab_size, -1e30f);
  for (size_t i = 0; i < allowed.size(); ++i) logits[allowed[i]] = keep[i];
}

void ConstrainedDecoder::apply(std::span<const int32_t> ids, float* logits) {
  sync(ids);
  const int64_t used = consumed_;
  const int64_t remaining = o_.max_tokens > 0 ? o_.max_tokens - used : std::numeric_limits<int64_t>::max() / 2;
  if (complete()) {
    // Any of the model's end ids (a Llama 3 instruct turn ends at <|eot_id|>, not config's first id).
    if (!o_.end_ids.empty()) keep_only(logits, o_.end_ids);
    return;
  }
  const std::vector<std::string> ch = o_.constraint->choices(text_);
  if (!ch.empty()) return decide(ch, logits, remaining);
  pick_candidates(logits, remaining);
}

// Right after a decision whose token several alternatives shared, only those alternatives remain
// open: the others were not taken (their other tokenizations are not offered again).
std::vector<std::string> ConstrainedDecoder::still_open(const std::vector<std::string>& choices) const {
  if (decisions_.empty()) return choices;
  const Decision& last = decisions_.back();
  std::vector<std::string> open;
  for (size_t c = 0; c < last.choices.size(); ++c) {
    const std::string& tb = last.token_bytes[c];
    if (text_.size() != last.pos + tb.size() || text_.compare(last.pos, tb.size(), tb) != 0) continue;
    const std::string rest = last.choices[c].substr(std::min(tb.size(), last.choices[c].size()));
    if (std::find(choices.begin(), choices.end(), rest) != choices.end()) open.push_back(rest);
  }
  return open.size() >= 2 ? open : choices;
}

void ConstrainedDecoder::decide(const std::vector<std::string>& all_choices, float* logits, int64_t remaining) {
  const std::vector<std::string> choices = still_open(all_choices);
  Decision d{.pos = text_.size(), .choices = choices, .token_bytes = {}, .group_probability = {}, .group_size = {}};
  std::vector<int32_t> tokens;
  std::vector<int32_t> allowed;
  for (const std::string& c : choices) {
    const int32_t t = first_token(c);
    tokens.push_back(t);
    d.token_bytes.emplace_back(o_.tokenizer->token_bytes(t).value_or(""));
    // Alternatives that could not finish within the budget are not offered.
    if (fits(text_ + std::string(d.token_bytes.back()), remaining - 1) &&
        std::find(allowed.begin(), allowed.end(), t) == allowed.end())
      allowed.push_back(t);
  }
  if (allowed.empty()) allowed.push_back(fallback_token());
  record(std::move(d), tokens, allowed, logits);
}

// Softmax restricted to the distinct first tokens of the alternatives (the model's confidence),
// then only those tokens stay possible.
void ConstrainedDecoder::record(Decision d, const std::vector<int32_t>& tokens, const std::vector<int32_t>& allowed,
                                float* logits) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int32_t t : allowed) mx = std::max(mx, logits[t]);
  double z = 0.0;
  for (int32_t t : allowed) z += std::exp(static_cast<double>(logits[t]) - mx);
  for (size_t i = 0; i < d.choices.size(); ++i) {
    const bool on = std::find(allowed.begin(), allowed.end(), tokens[i]) != allowed.end();
    d.group_probability.push_back(on ? std::exp(static_cast<double>(logits[tokens[i]]) - mx) / z : 0.0);
    d.group_size.push_back(static_cast<int>(std::count(tokens.begin(), tokens.end(), tokens[i])));
  }
  decisions_.push_back(std::move(d));
  keep_only(logits, allowed);
}

void ConstrainedDecoder::pick_candidates(float* logits, int64_t remaining) {
  const int n = static_cast<int>(std::min<int64_t>(std::max(o_.top_n, 1), o_.vocab_size));
  order_.resize(static_cast<size_t>(o_.vocab_size));
  for (int64_t i = 0; i < o_.vocab_size; ++i) order_[i] = static_cast<int32_t>(i);
  std::partial_sort(order_.begin(), order_.begin() + n, order_.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  std::vector<int32_t> allowed;
  for (int i = 0; i < n; ++i) {
    const int32_t id = order_[i];
    if (o_.tokenizer->is_special(id)) continue;
    const auto bytes = o_.tokenizer->token_bytes(id);
    if (!bytes || bytes->empty()) continue;
    const std::string cand = text_ + std::string(*bytes);
    if (!o_.constraint->accepts_prefix(cand) || !fits(cand, remaining - 1)) continue;
    // A token may not jump over a decision: alternatives are chosen by decide(), with confidence.
    size_t cross = 0;
    for (size_t k = 1; k < bytes->size() && cross == 0; ++k)
      if (!o_.constraint->choices(std::string_view(cand).substr(0, text_.size() + k)).empty()) cross = k;
    if (cross > 0) {
      // Unless it is the model's own best way forward: then decide there, among the tokens that
      // write the forced bytes and each alternative's start together, as training text did.
      if (allowed.empty() && decide_across(std::string(bytes->substr(0, cross)), logits, remaining)) return;
      continue;
    }
    allowed.push_back(id);
    if (o_.first_acceptable_only) break;
  }
  if (allowed.empty()) {
    allowed.push_back(fallback_token());
    ++forced_steps_;
  }
  keep_only(logits, allowed);
}

// BPE merges a short forced run with what follows ("<answer" then ">D", not ">" then "D"), so a
// decoder that stops at every decision point would hand the model a split it never saw and read its
// choice from the wrong distribution. Here the decision happens one token early: each alternative's
// first token is the one that spells `forced` + its start; when every alternative has such a token,
// the choice is made among them (recorded at the decision point, the bytes after `forced`).
bool ConstrainedDecoder::decide_across(const std::string& forced, float* logits, int64_t remaining) {
  const std::string at = text_ + forced;
  const std::vector<std::string> choices = o_.constraint->choices(at);
  if (choices.size() < 2) return false;
  Decision d{.pos = at.size(), .choices = choices, .token_bytes = {}, .group_probability = {}, .group_size = {}};
  std::vector<int32_t> tokens, allowed;
  for (const std::string& c : choices) {
    const int32_t t = first_token(forced + c);
    const std::string bytes(o_.tokenizer->token_bytes(t).value_or(""));
    if (bytes.size() <= forced.size() || bytes.compare(0, forced.size(), forced) != 0) return false;
    tokens.push_back(t);
    d.token_bytes.push_back(bytes.substr(forced.size()));
    if (fits(text_ + bytes, remaining - 1) && std::find(allowed.begin(), allowed.end(), t) == allowed.end())
      allowed.push_back(t);
  }
  if (allowed.empty()) return false;
  record(std::move(d), tokens, allowed, logits);
  return true;
}

// First token of the cheapest completion, cut before the next decision so forcing never decides.
int32_t ConstrainedDecoder::fallback_token() const {
  const std::string rest = o_.constraint->cheapest_completion(text_);
  RADSEEK_CHECK(!rest.empty(), "no completion for an incomplete constrained answer");
  size_t cut = rest.size();
  for (size_t k = 1; k < rest.size(); ++k) {
    if (!o_.constraint->choices(text_ + rest.substr(0, k)).empty()) {
      cut = k;
      break;
    }
  }
  return first_token(rest.substr(0, cut));
}

std::vector<double> option_probabilities(std::span<const Decision> decisions, std::string_view answer,
                                         size_t begin, const std::vector<std::string>& options) {
  std::vector<double> p(options.size(), 0.0);
  std::vector<bool> open(options.size(), false);  // still on the chosen path
  bool first = true;
  for (const Decision& d : decisions) {
    if (d.pos < begin) continue;
    const std::string_view consumed = answer.substr(begin, d.pos - begin);
    bool any = false;
    for (size_t o = 0; o < options.size(); ++o) {
      if (!first && !open[o]) continue;
      if (options[o].compare(0, consumed.size(), consumed) != 0) continue;
      const std::string rest = options[o].substr(consumed.size());
      const auto it = std::find(d.choices.begin(), d.choices.end(), rest);
      if (it == d.choices.end()) continue;
      const size_t c = static_cast<size_t>(it - d.choices.begin());
      const double base = first ? 1.0 : p[o];
      const bool taken = answer.substr(d.pos).starts_with(d.token_bytes[c]);
      p[o] = taken ? base * d.group_probability[c] : base * d.group_probability[c] / d.group_size[c];
      open[o] = taken;
      any = true;
    }
    if (!any) break;  // a decision of a later choice
    first = false;
  }
  return p;
}

}  // namespace radseek::engine
