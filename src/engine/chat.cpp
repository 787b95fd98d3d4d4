#include "engine/chat.h"

#include <algorithm>

#include "tokenizer/reasoning.h"
#include "tokenizer/stream_decoder.h"

namespace radseek::engine {

Expected<tokenizer::ChatTemplateKind> resolve_chat_template(const Engine& e,
                                                           std::optional<tokenizer::ChatTemplateKind> explicit_kind) {
  if (explicit_kind) return *explicit_kind;
  const tokenizer::Tokenizer* tok = e.tokenizer();
  if (tok && !tok->chat_template().empty()) return tokenizer::detect_chat_template(tok->chat_template());
  return e.model().config().model_type == format::ModelType::kDeepseekV2 ? tokenizer::ChatTemplateKind::kDeepSeekV2
                                                                          : tokenizer::ChatTemplateKind::kDeepSeekV3;
}

Expected<std::vector<int32_t>> encode_chat_prompt(const Engine& e, const ChatParams& p, bool* think_opened) {
  const tokenizer::Tokenizer* tok = e.tokenizer();
  if (!tok) return make_error(ErrorCode::kNotFound, e.model().checkpoint().dir() + ": no tokenizer.json, so chat needs token ids");
  auto kind = resolve_chat_template(e, p.chat_template);
  if (!kind) return kind.error();
  tokenizer::RenderOptions ro;
  ro.thinking = p.thinking;
  if (tok->bos_id()) ro.bos_token = std::string(tok->id_to_token(*tok->bos_id()).value_or(ro.bos_token));
  auto text = tokenizer::render_chat(*kind, p.messages, ro);
  if (!text) return text.error();
  if (think_opened) *think_opened = tokenizer::prompt_opens_think(*kind, ro);
  return tok->encode(*text, tokenizer::EncodeOptions{.add_bos = false});
}

namespace {

// Forces "\n</think>\n\n" once the thinking budget is spent, token by token through the logits.
struct BudgetForcer {
  std::vector<int32_t> queue;
  size_t next = 0;
  bool active() const { return next < queue.size(); }
  void force(float* logits, int64_t vocab) {
    const int32_t id = queue[next];
    for (int64_t i = 0; i < vocab; ++i)
      if (i != id) logits[i] = -1e30f;
  }
};

}  // namespace

Expected<ChatResult> chat(const Engine& e, Session& s, const ChatParams& p) {
  bool think_opened = false;
  auto prompt = encode_chat_prompt(e, p, &think_opened);
  if (!prompt) return prompt.error();
  const tokenizer::Tokenizer& tok = *e.tokenizer();
  ChatResult res;
  res.prompt_tokens = static_cast<int64_t>(prompt->size());
  tokenizer::StreamDecoder dec(tok);
  tokenizer::ReasoningStreamSplitter split({.think_opened_by_prompt = think_opened});
  BudgetForcer forcer;
  const int64_t vocab = e.model().config().vocab_size;
  std::string error;
  GenerateParams g = p.gen;
  g.logits_hook = [&](std::span<const int32_t> ids, float* logits) {
    if (forcer.active()) return forcer.force(logits, vocab);
    if (p.max_reasoning_tokens && split.in_reasoning() && res.reasoning_tokens >= *p.max_reasoning_tokens &&
        forcer.queue.empty()) {
      auto close = tok.encode("\n</think>\n\n");
      if (close.ok() && !close->empty()) {
        forcer.queue = *close;
        res.budget_forced = true;
        return forcer.force(logits, vocab);
      }
    }
    if (p.gen.logits_hook && !split.in_reasoning()) p.gen.logits_hook(ids, logits);
  };
  g.on_token = [&](int32_t id) {
    if (forcer.active()) ++forcer.next;
    if (split.in_reasoning() || (think_opened && res.ids.empty())) ++res.reasoning_tokens;
    res.ids.push_back(id);
    auto text = dec.push(id);
    if (!text) {
      error = text.error().message;
      return false;
    }
    auto d = split.push(*text);
    res.reasoning += d.reasoning;
    res.content += d.content;
    if (p.on_delta && (!d.reasoning.empty() || !d.content.empty())) p.on_delta(d.reasoning, d.content);
    for (const auto& st : p.stop) {
      const size_t at = st.empty() ? std::string::npos : res.content.find(st);
      if (at != std::string::npos) {
        res.content.resize(at);
        return false;
      }
    }
    return p.gen.on_token ? p.gen.on_token(id) : true;
  };
  auto r = e.generate(s, *prompt, g);
  if (!r) return r.error();
  if (!error.empty()) return make_error(ErrorCode::kInternal, "decoding output: " + error);
  auto tail = split.push(dec.finish());
  auto fin = split.finish();
  res.reasoning += tail.reasoning + fin.reasoning;
  res.content += tail.content + fin.content;
  if (p.on_delta && !(tail.reasoning + fin.reasoning + tail.content + fin.content).empty())
    p.on_delta(tail.reasoning + fin.reasoning, tail.content + fin.content);
  // The whole-text split is authoritative (it finds the last "</think>").
  std::string all_text;
  if (auto t = tok.decode(res.ids); t.ok()) all_text = *t;
  const auto whole = tokenizer::split_reasoning(all_text, {.think_opened_by_prompt = think_opened});
  res.reasoning_closed = whole.reasoning_closed;
  res.finish_reason = r->finish_reason;
  res.prefill_seconds = r->prefill_seconds;
  res.decode_seconds = r->decode_seconds;
  return res;
}

}  // namespace radseek::engine
