#include "engine/sequence.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace radseek::engine {

namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

void force_token(float* logits, int64_t vocab, int32_t id) {
  for (int64_t i = 0; i < vocab; ++i)
    if (i != id) logits[i] = kMasked;
}

// Length of the longest suffix of `text` that is a proper prefix of some stop string: those bytes
// may still become a stop string, so they are not streamed yet.
size_t stop_prefix_suffix(std::string_view text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const std::string& s : stops) {
    const size_t max_len = std::min(text.size(), s.size() - 1);
    for (size_t len = max_len; len > best; --len)
      if (text.substr(text.size() - len) == std::string_view(s).substr(0, len)) {
        best = len;
        break;
      }
  }
  return best;
}

}  // namespace

SequenceState::SequenceState(SequenceOptions options)
    : o_(std::move(options)),
      sampler_(o_.sampling, o_.vocab),
      split_(tokenizer::ReasoningOptions{.think_opened_by_prompt = o_.split_reasoning && o_.think_opened_by_prompt}) {
  std::erase_if(o_.stop, [](const std::string& s) { return s.empty(); });
  if (o_.tokenizer) {
    dec_.emplace(*o_.tokenizer);
    think_open_id_ = o_.tokenizer->token_to_id("<think>");
  }
}

bool SequenceState::answer_phase() const {
  if (!o_.split_reasoning) return true;
  return !split_.in_reasoning() && !(o_.think_opened_by_prompt && ids_.empty());
}

void SequenceState::apply_budget(float* logits) {
  if (forced_.empty() && o_.max_reasoning_tokens && o_.tokenizer && o_.split_reasoning && split_.in_reasoning() &&
      reasoning_tokens_ >= *o_.max_reasoning_tokens) {
    auto close = o_.tokenizer->encode("\n</think>\n\n");
    if (close.ok() && !close->empty()) {
      forced_ = std::move(*close);
      budget_forced_ = true;
    }
  }
  if (forced_next_ < forced_.size()) force_token(logits, o_.vocab, forced_[forced_next_]);
}

void SequenceState::apply_constraint(float* logits) {
  // A reasoning model may open its own "<think>" as the very first token; the constraint only
  // governs the answer after the reasoning.
  const bool may_open = ids_.empty() && o_.split_reasoning && think_open_id_ && *think_open_id_ < o_.vocab;
  const float open_logit = may_open ? logits[*think_open_id_] : kMasked;
  o_.answer_constraint->mask(logits, o_.vocab);
  if (may_open) logits[*think_open_id_] = open_logit;
}

TokenLogprob SequenceState::logprob_of(const float* logits, int32_t id) const {
  const double lse = log_sum_exp(logits, o_.vocab);
  TokenLogprob lp{.id = id, .logprob = logits[id] - lse, .top = {}};
  const int64_t n = std::min<int64_t>(o_.top_logprobs, o_.vocab);
  if (n <= 0) return lp;
  std::vector<int32_t> order(static_cast<size_t>(o_.vocab));
  for (int64_t i = 0; i < o_.vocab; ++i) order[i] = static_cast<int32_t>(i);
  std::partial_sort(order.begin(), order.begin() + n, order.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  for (int64_t i = 0; i < n; ++i) lp.top.push_back(TopToken{order[i], logits[order[i]] - lse});
  return lp;
}

Expected<SequenceStep> SequenceState::step(float* logits) {
  SequenceStep out;
  apply_budget(logits);
  const bool forcing = forced_next_ < forced_.size();
  out.in_answer = answer_phase();
  if (!forcing)
    for (int32_t id : o_.banned_ids) logits[id] = -std::numeric_limits<float>::infinity();
  if (!forcing && out.in_answer && o_.answer_constraint) apply_constraint(logits);
  out.id = sampler_.sample(logits);
  if (o_.top_logprobs >= 0) out.logprob = logprob_of(logits, out.id);
  if (forcing) ++forced_next_;
  if (out.in_answer && o_.answer_constraint) o_.answer_constraint->advance(out.id);
  if (o_.split_reasoning && (split_.in_reasoning() || (o_.think_opened_by_prompt && ids_.empty())))
    ++reasoning_tokens_;
  ids_.push_back(out.id);
  // A stop id (EOS) ends the output; its text ("<｜end▁of▁sentence｜>") is not part of it.
  const bool stop_id = std::find(o_.stop_ids.begin(), o_.stop_ids.end(), out.id) != o_.stop_ids.end();
  if (!stop_id) RADSEEK_TRY(consume_text(out.id, out));
  if (stop_id || stopped_by_string_)
    finish_with("stop", out);
  else if (static_cast<int64_t>(ids_.size()) >= o_.max_new_tokens)
    finish_with("length", out);
  return out;
}

Status SequenceState::consume_text(int32_t id, SequenceStep& out) {
  if (!dec_) return {};
  auto text = dec_->push(id);
  if (!text) return make_error(ErrorCode::kInternal, "decoding output: " + text.error().message);
  if (!o_.split_reasoning) {
    route_content(*text, out);
    return {};
  }
  auto d = split_.push(*text);
  reasoning_ += d.reasoning;
  out.reasoning_delta = std::move(d.reasoning);
  route_content(d.content, out);
  return {};
}

void SequenceState::route_content(const std::string& text, SequenceStep& out) {
  if (stopped_by_string_ || text.empty()) return;
  // Only a match ending in the new text is new: start just before it.
  size_t max_stop = 0;
  for (const auto& s : o_.stop) max_stop = std::max(max_stop, s.size());
  const size_t from = content_.size() > max_stop ? content_.size() - max_stop : 0;
  content_ += text;
  size_t cut = std::string::npos;
  for (const auto& s : o_.stop) cut = std::min(cut, content_.find(s, from));
  if (cut != std::string::npos) {
    content_.resize(cut);
    stopped_by_string_ = true;
  }
  const size_t hold = stopped_by_string_ ? 0 : stop_prefix_suffix(content_, o_.stop);
  const size_t end = content_.size() - hold;
  if (end > content_emitted_) {
    out.content_delta += content_.substr(content_emitted_, end - content_emitted_);
    content_emitted_ = end;
  }
}

void SequenceState::finish_with(const char* reason, SequenceStep& out) {
  out.done = true;
  finish_reason_ = reason;
}

tokenizer::ReasoningStreamSplitter::Delta SequenceState::finish() {
  tokenizer::ReasoningStreamSplitter::Delta out;
  if (dec_ && !stopped_by_string_) {
    SequenceStep tail;
    const std::string rest = dec_->finish();
    if (o_.split_reasoning) {
      auto d = split_.push(rest);
      auto f = split_.finish();
      reasoning_ += d.reasoning + f.reasoning;
      out.reasoning = d.reasoning + f.reasoning;
      route_content(d.content + f.content, tail);
    } else {
      route_content(rest, tail);
    }
    out.content = std::move(tail.content_delta);
  }
  // Held-back bytes that never became a stop string are answer text after all.
  if (content_emitted_ < content_.size()) {
    out.content += content_.substr(content_emitted_);
    content_emitted_ = content_.size();
  }
  return out;
}

}  // namespace radseek::engine
