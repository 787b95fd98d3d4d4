#include "tokenizer/reasoning.h"

#include <algorithm>

namespace radseek::tokenizer {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

std::string_view skip_leading_space(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  return s.substr(i);
}

// Length of the longest suffix of s that is a proper prefix of tag (text that may become the tag).
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

}  // namespace

ReasoningSplit split_reasoning(std::string_view output, ReasoningOptions options) {
  std::string_view body = output;
  bool opened = options.think_opened_by_prompt;
  const std::string_view trimmed = skip_leading_space(output);
  if (trimmed.substr(0, kOpen.size()) == kOpen) {
    body = trimmed.substr(kOpen.size());
    opened = true;
  }
  ReasoningSplit split;
  const size_t close = body.rfind(kClose);
  if (close != std::string_view::npos) {
    // A closing tag without an opener means the template opened it.
    split.reasoning = body.substr(0, close);
    split.content = body.substr(close + kClose.size());
    split.reasoning_closed = true;
  } else if (opened) {
    split.reasoning = body;  // generation stopped while still thinking
  } else {
    split.content = body;
  }
  return split;
}

ReasoningStreamSplitter::ReasoningStreamSplitter(ReasoningOptions options)
    : state_(options.think_opened_by_prompt ? State::kReasoning : State::kStart) {}

void ReasoningStreamSplitter::route(std::string_view text, Delta& out) {
  if (state_ == State::kStart) {
    held_.append(text);
    const std::string_view rest = skip_leading_space(held_);
    // Wait while the output could still turn out to begin with "<think>".
    if (rest.size() < kOpen.size() && kOpen.substr(0, rest.size()) == rest) return;
    const std::string pending = std::move(held_);
    held_.clear();
    const std::string_view p = skip_leading_space(pending);
    if (p.substr(0, kOpen.size()) == kOpen) {
      state_ = State::kReasoning;
      route(p.substr(kOpen.size()), out);
    } else {
      state_ = State::kContent;
      out.content += pending;
    }
    return;
  }
  if (state_ == State::kContent) {
    out.content.append(text);
    return;
  }
  std::string buf = std::move(held_);
  held_.clear();
  buf.append(text);
  const size_t close = buf.find(kClose);
  if (close != std::string::npos) {
    out.reasoning.append(buf, 0, close);
    state_ = State::kContent;
    out.content.append(buf, close + kClose.size());
    return;
  }
  const size_t keep = partial_tag_suffix(buf, kClose);
  out.reasoning.append(buf, 0, buf.size() - keep);
  held_ = buf.substr(buf.size() - keep);
}

ReasoningStreamSplitter::Delta ReasoningStreamSplitter::push(std::string_view chunk) {
  Delta out;
  route(chunk, out);
  return out;
}

ReasoningStreamSplitter::Delta ReasoningStreamSplitter::finish() {
  Delta out;
  if (state_ == State::kReasoning) {
    out.reasoning = std::move(held_);
  } else {
    out.content = std::move(held_);  // kStart: an output too short to be "<think>"
  }
  held_.clear();
  return out;
}

}  // namespace radseek::tokenizer
