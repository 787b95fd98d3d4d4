#include "engine/chat.h"

#include <algorithm>

#include "base/timer.h"
#include "engine/sequence.h"
#include "engine/speculative.h"
#include "tokenizer/reasoning.h"

namespace radseek::engine {

Expected<tokenizer::ChatTemplateKind> resolve_chat_template(const Engine& e,
                                                           std::optional<tokenizer::ChatTemplateKind> explicit_kind) {
  if (explicit_kind) return *explicit_kind;
  const tokenizer::Tokenizer* tok = e.tokenizer();
  if (tok && !tok->chat_template().empty()) return tokenizer::detect_chat_template(tok->chat_template());
  // No template in the folder: the instruct format of the model's family.
  switch (e.model().config().model_type) {
    case format::ModelType::kDeepseekV2: return tokenizer::ChatTemplateKind::kDeepSeekV2;
    case format::ModelType::kDeepseekV3: return tokenizer::ChatTemplateKind::kDeepSeekV3;
    case format::ModelType::kLlama: return tokenizer::ChatTemplateKind::kLlama3;
    case format::ModelType::kQwen2: return tokenizer::ChatTemplateKind::kQwen25;
    case format::ModelType::kQwen3: return tokenizer::ChatTemplateKind::kQwen3;
  }
  return tokenizer::ChatTemplateKind::kDeepSeekV3;
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

// Adapts ChatParams::gen.logits_hook (ids so far, logits) to the sequence's answer constraint.
class HookConstraint : public AnswerConstraint {
 public:
  HookConstraint(std::function<void(std::span<const int32_t>, float*)> hook) : hook_(std::move(hook)) {}
  void set_ids(const std::vector<int32_t>* ids) { ids_ = ids; }
  void mask(float* logits, int64_t) override { hook_(*ids_, logits); }
  void advance(int32_t) override {}

 private:
  std::function<void(std::span<const int32_t>, float*)> hook_;
  const std::vector<int32_t>* ids_ = nullptr;
};

SequenceOptions chat_sequence_options(const Engine& e, const ChatParams& p, bool think_opened) {
  std::vector<int32_t> stop_ids = p.gen.stop_ids;
  if (!p.gen.ignore_eos)
    for (int32_t id : e.eos_ids()) stop_ids.push_back(id);
  return SequenceOptions{.tokenizer = e.tokenizer(),
                         .vocab = e.model().config().vocab_size,
                         .max_new_tokens = p.gen.max_new_tokens,
                         .sampling = p.gen.sampling,
                         .stop_ids = std::move(stop_ids),
                         .banned_ids = e.textless_ids(),
                         .stop = p.stop,
                         .split_reasoning = true,
                         .think_opened_by_prompt = think_opened,
                         .max_reasoning_tokens = p.max_reasoning_tokens};
}

// One emitted token's deltas to the caller; false when the turn is over.
bool deliver(const ChatParams& p, const SequenceState& seq, const SequenceStep& st, ChatResult& res) {
  if (p.on_delta && (!st.reasoning_delta.empty() || !st.content_delta.empty())) p.on_delta(st.reasoning_delta, st.content_delta);
  const bool more = p.gen.on_token ? p.gen.on_token(st.id) : true;
  if (st.done || !more) {
    res.finish_reason = st.done ? seq.finish_reason() : "stop";
    return false;
  }
  return true;
}

// The decode loop with drafts (speculative.h): every token still comes from seq.step on the main
// model's logits, so budget forcing, stops and constraints work as in the plain loop.
Status decode_speculative(const Engine& e, Session& s, const ChatParams& p, std::span<const int32_t> prompt,
                          SequenceState& seq, ChatResult& res) {
  auto spec = Speculator::make(e, s, p.gen.speculation, static_cast<int64_t>(prompt.size()));
  if (!spec) return spec.error();
  const int64_t V = e.model().config().vocab_size;
  Timer timer;
  auto logits = spec->prefill(prompt);
  if (!logits) return logits.error();
  res.prefill_seconds = timer.seconds();
  timer.reset();
  auto finish = [&]() {
    res.drafted = spec->drafted;
    res.accepted = spec->accepted;
    res.decode_seconds = timer.seconds();
    return Status{};
  };
  auto st = seq.step(*logits);
  if (!st) return st.error();
  if (!deliver(p, seq, *st, res)) return finish();
  RADSEEK_TRY(spec->start(st->id));
  while (spec->room()) {
    auto rows = spec->verify();
    if (!rows) return rows.error();
    const int32_t guess = spec->guess();
    auto x1 = seq.step(*rows);
    if (!x1) return x1.error();
    if (x1->id != guess) {
      if (!deliver(p, seq, *x1, res)) return finish();
      RADSEEK_TRY(spec->reject(x1->id));
      continue;
    }
    if (!deliver(p, seq, *x1, res)) return ++spec->accepted, finish();
    auto x2 = seq.step(*rows + V);
    if (!x2) return x2.error();
    if (!deliver(p, seq, *x2, res)) return ++spec->accepted, finish();
    RADSEEK_TRY(spec->accept(x2->id));
  }
  return finish();
}

// The result from the finished sequence state.
ChatResult finish_chat(const Engine& e, SequenceState& seq, const ChatParams& p, bool think_opened, ChatResult res) {
  const auto tail = seq.finish();
  if (p.on_delta && !(tail.reasoning + tail.content).empty()) p.on_delta(tail.reasoning, tail.content);
  res.ids = seq.ids();
  res.reasoning = seq.reasoning();
  res.content = seq.content();
  res.reasoning_tokens = seq.reasoning_tokens();
  res.budget_forced = seq.budget_forced();
  // The whole-text split is authoritative for whether the reasoning closed (it finds the last "</think>").
  std::string all_text;
  if (auto t = e.tokenizer()->decode(res.ids); t.ok()) all_text = *t;
  res.reasoning_closed = tokenizer::split_reasoning(all_text, {.think_opened_by_prompt = think_opened}).reasoning_closed;
  return res;
}

}  // namespace

Expected<ChatResult> chat(const Engine& e, Session& s, const ChatParams& p) {
  bool think_opened = false;
  auto prompt = encode_chat_prompt(e, p, &think_opened);
  if (!prompt) return prompt.error();
  if (prompt->empty()) return make_error(ErrorCode::kInvalidArgument, "chat: the prompt encodes to no tokens");
  ChatResult res;
  res.prompt_tokens = static_cast<int64_t>(prompt->size());
  SequenceOptions so = chat_sequence_options(e, p, think_opened);
  std::shared_ptr<HookConstraint> hook;
  if (p.gen.logits_hook) so.answer_constraint = hook = std::make_shared<HookConstraint>(p.gen.logits_hook);
  SequenceState seq(std::move(so));
  if (hook) hook->set_ids(&seq.ids());
  res.finish_reason = "length";
  if (p.gen.speculation != GenerateParams::Speculation::kNone) {
    RADSEEK_TRY(decode_speculative(e, s, p, *prompt, seq, res));
    return finish_chat(e, seq, p, think_opened, std::move(res));
  }
  Timer timer;
  RADSEEK_TRY(e.feed(s, *prompt));
  res.prefill_seconds = timer.seconds();
  timer.reset();
  for (int64_t i = 0; i < p.gen.max_new_tokens; ++i) {
    auto st = seq.step(s.logits_buffer().data());
    if (!st) return st.error();
    if (!deliver(p, seq, *st, res)) break;
    if (s.length() >= s.capacity()) break;
    const int32_t one[1] = {st->id};
    RADSEEK_TRY(e.feed(s, one));
  }
  res.decode_seconds = timer.seconds();
  return finish_chat(e, seq, p, think_opened, std::move(res));
}

}  // namespace radseek::engine
